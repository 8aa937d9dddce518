#include "transport/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::transport {
namespace {

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// A version 2 header: command byte, family byte, then `block` (addresses
// and TLVs) with its length.
std::string Header(uint8_t command, uint8_t family, const std::string& block) {
  std::string out = kSignature;
  out += static_cast<char>(command);
  out += static_cast<char>(family);
  out += static_cast<char>(block.size() >> 8);
  out += static_cast<char>(block.size() & 0xFF);
  return out + block;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

// 203.0.113.7:51000 -> 10.0.0.11:8080, then a unique-id TLV (type 0x05).
std::string Ipv4Block() {
  return Bytes({203, 0, 113, 7, 10, 0, 0, 11, 0xC7, 0x38, 0x1F, 0x90}) + Bytes({0x05, 0x00, 0x03}) + "abc";
}

Result<ProxyHeader> ParseChecked(const std::string& header) {
  auto size = ProxyV2HeaderSize(std::string_view(header).substr(0, kProxyV2PreludeBytes));
  if (!size.ok()) return size.status();
  EXPECT_EQ(*size, header.size());
  return ParseProxyV2Header(header);
}

TEST(ProxyProtocolTest, ProxyOverIpv4GivesTheClientAndSkipsTlvs) {
  auto parsed = ParseChecked(Header(0x21, 0x11, Ipv4Block()));
  ASSERT_DAICHO_OK(parsed);
  EXPECT_FALSE(parsed->local);
  EXPECT_EQ(parsed->address, "203.0.113.7");
  EXPECT_EQ(parsed->port, 51000);
}

TEST(ProxyProtocolTest, ProxyOverIpv6GivesTheClient) {
  std::string block = Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});  // 2001:db8::1
  block += std::string(16, '\0');                                                              // destination ::
  block += Bytes({0x01, 0xBB, 0x1F, 0x90});                                                    // 443 -> 8080
  auto parsed = ParseChecked(Header(0x21, 0x21, block));
  ASSERT_DAICHO_OK(parsed);
  EXPECT_EQ(parsed->address, "2001:db8::1");
  EXPECT_EQ(parsed->port, 443);
}

TEST(ProxyProtocolTest, LocalCarriesNoClientWhateverItsFamily) {
  auto bare = ParseChecked(Header(0x20, 0x00, ""));
  ASSERT_DAICHO_OK(bare);
  EXPECT_TRUE(bare->local);
  EXPECT_EQ(bare->address, "");
  auto with_addresses = ParseChecked(Header(0x20, 0x11, Ipv4Block()));
  ASSERT_DAICHO_OK(with_addresses);
  EXPECT_TRUE(with_addresses->local);
}

TEST(ProxyProtocolTest, ABadSignatureVersionOrCommandIsNoHeader) {
  std::string plain_http = "GET / HTTP/1.1\r\nHost:";  // what a client that is not a proxy sends
  EXPECT_EQ(ProxyV2HeaderSize(plain_http.substr(0, 16)).status().code(), Code::kProtocolError);
  std::string v1 = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
  EXPECT_EQ(ProxyV2HeaderSize(v1.substr(0, 16)).status().code(), Code::kProtocolError);
  for (uint8_t command : {0x11, 0x31, 0x22, 0x2F}) {
    const std::string header = Header(command, 0x11, Ipv4Block());
    EXPECT_EQ(ProxyV2HeaderSize(header.substr(0, 16)).status().code(), Code::kProtocolError) << int{command};
    EXPECT_EQ(ParseProxyV2Header(header).status().code(), Code::kProtocolError) << int{command};
  }
}

TEST(ProxyProtocolTest, TruncatedOrMismatchedHeadersAreRefused) {
  const std::string header = Header(0x21, 0x11, Ipv4Block());
  EXPECT_EQ(ProxyV2HeaderSize(header.substr(0, 15)).status().code(), Code::kProtocolError);
  EXPECT_EQ(ParseProxyV2Header(header.substr(0, 10)).status().code(), Code::kProtocolError);
  EXPECT_EQ(ParseProxyV2Header(header.substr(0, header.size() - 1)).status().code(), Code::kProtocolError);
  EXPECT_EQ(ParseProxyV2Header(header + "x").status().code(), Code::kProtocolError);
  // The length says less than IPv4 addresses take.
  EXPECT_EQ(ParseChecked(Header(0x21, 0x11, Ipv4Block().substr(0, 11))).status().code(), Code::kProtocolError);
  EXPECT_EQ(ParseChecked(Header(0x21, 0x21, std::string(35, '\0'))).status().code(), Code::kProtocolError);
}

TEST(ProxyProtocolTest, AnOversizedHeaderIsRefusedFromItsPrelude) {
  const std::string largest = Header(0x21, 0x11, Ipv4Block() + std::string(kMaxProxyV2HeaderBytes - 16 - 18, 'x'));
  ASSERT_EQ(largest.size(), kMaxProxyV2HeaderBytes);
  EXPECT_DAICHO_OK(ParseChecked(largest));
  const std::string over = Header(0x21, 0x11, std::string(kMaxProxyV2HeaderBytes - 16 + 1, 'x'));
  EXPECT_EQ(ProxyV2HeaderSize(over.substr(0, 16)).status().code(), Code::kResourceExhausted);
  const std::string most = Header(0x21, 0x11, "").substr(0, 14) + Bytes({0xFF, 0xFF});
  EXPECT_EQ(ProxyV2HeaderSize(most).status().code(), Code::kResourceExhausted);
}

TEST(ProxyProtocolTest, OtherFamiliesAndTransportsWithProxyAreRefused) {
  for (uint8_t family : {0x00, 0x12, 0x22, 0x31, 0x32, 0x41}) {
    auto parsed = ParseChecked(Header(0x21, family, std::string(216, '\0')));
    EXPECT_EQ(parsed.status().code(), Code::kProtocolError) << int{family};
  }
}

}  // namespace
}  // namespace daicho::transport
