#include "transport/address_range.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace daicho::transport {
namespace {

struct Address {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes{};
};

// `text` as an address; an IPv4-mapped IPv6 address as IPv4.
bool ParseAddress(std::string_view text, Address& out) {
  const std::string copy(text);  // inet_pton needs a terminated string
  if (inet_pton(AF_INET, copy.c_str(), out.bytes.data()) == 1) {
    out.ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), out.bytes.data()) != 1) return false;
  constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::equal(kMapped.begin(), kMapped.end(), out.bytes.begin())) {
    std::copy(out.bytes.begin() + 12, out.bytes.end(), out.bytes.begin());
    std::fill(out.bytes.begin() + 4, out.bytes.end(), 0);
    out.ipv6 = false;
    return true;
  }
  out.ipv6 = true;
  return true;
}

}  // namespace

Result<AddressRange> AddressRange::Parse(std::string_view cidr) {
  const auto bad = [cidr] {
    return Status(Code::kInvalidArgument,
                  "not an address range (write 10.0.0.5, 10.0.0.0/24 or 2001:db8::/32): " + std::string(cidr));
  };
  const size_t slash = cidr.find('/');
  Address address;
  if (!ParseAddress(cidr.substr(0, slash), address)) return bad();
  const int bits = address.ipv6 ? 128 : 32;
  int prefix = bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = cidr.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad();
    }
    prefix = std::stoi(std::string(digits));
    if (prefix > bits) return bad();
  }
  AddressRange range;
  range.ipv6_ = address.ipv6;
  range.bytes_ = address.bytes;
  range.prefix_ = prefix;
  return range;
}

bool AddressRange::Contains(std::string_view text) const {
  Address address;
  if (!ParseAddress(text, address) || address.ipv6 != ipv6_) return false;
  const int whole = prefix_ / 8;
  if (!std::equal(bytes_.begin(), bytes_.begin() + whole, address.bytes.begin())) return false;
  const int rest = prefix_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (bytes_[whole] & mask) == (address.bytes[whole] & mask);
}

}  // namespace daicho::transport
