// The PROXY protocol version 2 header (haproxy.org, "The PROXY protocol",
// section 2.2) that a load balancer such as HAProxy (`send-proxy-v2`) puts
// before a connection's first byte to say whom it forwards: parsed here, with
// no I/O, for SyncServerOptions::trusted_proxies. Internal to transport/.
#ifndef DAICHO_TRANSPORT_PROXY_PROTOCOL_H_
#define DAICHO_TRANSPORT_PROXY_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::transport {

// The fixed part: the 12-byte signature, version and command, family and
// transport, and the length of what follows.
inline constexpr size_t kProxyV2PreludeBytes = 16;
// A header at most this long (prelude, addresses and TLVs): HAProxy's own
// TLVs (unique id, TLS details) fit many times over; anything longer is not
// a header worth reading from a proxy.
inline constexpr size_t kMaxProxyV2HeaderBytes = 1024;

struct ProxyHeader {
  // LOCAL command: the proxy's own connection (a health check), which
  // forwards nobody; the address below is then empty.
  bool local = false;
  // PROXY command: the client's IP address as text ("203.0.113.7",
  // "2001:db8::1") and its port.
  std::string address;
  uint16_t port = 0;
};

// The whole header's size in bytes, read from its first kProxyV2PreludeBytes
// (`prelude` must hold exactly those). kProtocolError when they are not a
// version 2 header (signature, version, command); kResourceExhausted over
// kMaxProxyV2HeaderBytes.
Result<size_t> ProxyV2HeaderSize(std::string_view prelude);

// The header, all ProxyV2HeaderSize bytes of it. PROXY over TCP on IPv4 or
// IPv6 gives the client's address (TLVs after the addresses are skipped);
// LOCAL gives none whatever its family. kProtocolError for what
// ProxyV2HeaderSize refuses, a size that does not match, another family or
// transport (UNIX sockets, UDP, unspecified) with PROXY, or an address
// block shorter than its family needs.
Result<ProxyHeader> ParseProxyV2Header(std::string_view header);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_PROXY_PROTOCOL_H_
