// Url: a relay's or an office PC's WebSocket address, split for connecting.
// "wss://host[:port]/path" (TLS) or "ws://host[:port]/path"; an IPv6 address
// goes in brackets ("ws://[::1]:47480/"). Without a port, wss uses 443 and ws
// 80, as a browser would. Pure string work: no I/O, no name lookup.
#ifndef DAICHO_TRANSPORT_URL_H_
#define DAICHO_TRANSPORT_URL_H_

#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::transport {

struct Url {
  bool tls = false;    // wss://
  std::string host;    // a name or an address, without the IPv6 brackets
  std::string port;    // decimal, 1..65535
  std::string target;  // the path, "/" when the URL has none

  // "host:port" as an HTTP Host header and logs write it: an IPv6 address
  // in brackets ("[::1]:47480"), which proxies require.
  std::string Authority() const;
};

// kInvalidArgument, naming the URL and what a good one looks like, when it
// is not such a URL.
Result<Url> ParseUrl(std::string_view url);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_URL_H_
