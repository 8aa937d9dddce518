// The one Origin rule of the server, for WebSocket upgrades (transport/) and
// state-changing panel requests alike: a browser names in `Origin` the site
// whose page made the request, so a page elsewhere cannot drive the panel
// (CSRF) or open a sync WebSocket with the visitor's credentials. Pure,
// thread-safe.
#ifndef DAICHO_WEB_ORIGIN_H_
#define DAICHO_WEB_ORIGIN_H_

#include <span>
#include <string>
#include <string_view>

namespace daicho::web {

// Whether a request carrying `Origin: origin` may proceed.
// - `allowed_origins` not empty: `origin` must equal one of them
//   ("scheme://host[:port]"; scheme and host compared case-insensitively, a
//   default port (80 for http, 443 for https) written or not).
// - `allowed_origins` empty: same origin as the request itself: the
//   origin's host[:port] equals the request's `host` (its Host header) and
//   its scheme is https when the request came over TLS (`tls`), http when
//   not.
// "null" (sandboxed pages, some redirects), anything that is not exactly
// "http(s)://host[:port]" (a path, user info, an empty host, a bad port) and
// an empty string are refused. A request without an Origin header is the
// caller's decision: this function is only asked about one that has it.
bool OriginAllowed(std::string_view origin, std::string_view host, bool tls,
                   std::span<const std::string> allowed_origins);

}  // namespace daicho::web

#endif  // DAICHO_WEB_ORIGIN_H_
