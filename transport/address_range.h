// AddressRange: an IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8",
// "2001:db8::/32", or one address without a prefix), and whether an address
// lies in it: SyncServerOptions::trusted_proxies. Pure; internal to
// transport/.
#ifndef DAICHO_TRANSPORT_ADDRESS_RANGE_H_
#define DAICHO_TRANSPORT_ADDRESS_RANGE_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "daicho/status.h"

namespace daicho::transport {

class AddressRange {
 public:
  // kInvalidArgument (naming the text) for anything but an address with an
  // optional "/PREFIX" of 0-32 (IPv4, IPv4-mapped IPv6 included) or 0-128
  // (IPv6).
  static Result<AddressRange> Parse(std::string_view cidr);

  // `address` as text (no port, no brackets). An IPv4-mapped IPv6 address
  // ("::ffff:10.0.0.5", what a dual-stack socket reports) counts as its
  // IPv4 address. Anything that is not an address is outside.
  bool Contains(std::string_view address) const;

 private:
  AddressRange() = default;
  bool ipv6_ = false;
  std::array<uint8_t, 16> bytes_{};  // the first 4 for IPv4
  int prefix_ = 0;                   // bits that must match
};

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_ADDRESS_RANGE_H_
