#include "transport/address_range.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace daicho::transport {
namespace {

AddressRange Range(std::string_view cidr) {
  auto range = AddressRange::Parse(cidr);
  EXPECT_TRUE(range.ok()) << cidr << ": " << range.status();
  return range.ok() ? *range : *AddressRange::Parse("255.255.255.255/32");
}

TEST(AddressRangeTest, Ipv4RangesContainTheirAddressesOnly) {
  const AddressRange net = Range("10.1.0.0/16");
  EXPECT_TRUE(net.Contains("10.1.0.0"));
  EXPECT_TRUE(net.Contains("10.1.255.7"));
  EXPECT_FALSE(net.Contains("10.2.0.1"));
  EXPECT_FALSE(net.Contains("11.1.0.1"));
  const AddressRange odd = Range("192.168.1.128/25");
  EXPECT_TRUE(odd.Contains("192.168.1.200"));
  EXPECT_FALSE(odd.Contains("192.168.1.127"));
  const AddressRange one = Range("127.0.0.1");
  EXPECT_TRUE(one.Contains("127.0.0.1"));
  EXPECT_FALSE(one.Contains("127.0.0.2"));
  EXPECT_TRUE(Range("0.0.0.0/0").Contains("203.0.113.9"));
  EXPECT_FALSE(Range("0.0.0.0/0").Contains("2001:db8::1"));
}

TEST(AddressRangeTest, Ipv6RangesAndMappedIpv4Addresses) {
  const AddressRange net = Range("2001:db8::/32");
  EXPECT_TRUE(net.Contains("2001:db8:ffff::1"));
  EXPECT_FALSE(net.Contains("2001:db9::1"));
  EXPECT_FALSE(net.Contains("10.0.0.1"));
  EXPECT_TRUE(Range("::1/128").Contains("::1"));
  EXPECT_FALSE(Range("::1/128").Contains("::2"));
  // What a dual-stack listener reports for an IPv4 peer.
  EXPECT_TRUE(Range("10.0.0.5/32").Contains("::ffff:10.0.0.5"));
  EXPECT_TRUE(Range("::ffff:10.0.0.0/24").Contains("10.0.0.77"));
}

TEST(AddressRangeTest, MalformedRangesAndAddressesAreRefused) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "host.example/8",
                          "10.0.0.0/8/8", "10.0.0.0/ 8"}) {
    auto range = AddressRange::Parse(bad);
    ASSERT_FALSE(range.ok()) << bad;
    EXPECT_EQ(range.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Range("0.0.0.0/0").Contains("not an address"));
  EXPECT_FALSE(Range("0.0.0.0/0").Contains("?"));
}

}  // namespace
}  // namespace daicho::transport
