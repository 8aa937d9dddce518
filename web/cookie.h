// Cookies: reading a request's Cookie header and writing a Set-Cookie value
// (RFC 6265). Pure functions, thread-safe.
#ifndef DAICHO_WEB_COOKIE_H_
#define DAICHO_WEB_COOKIE_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/status.h"

namespace daicho::web {

using CookiePairs = std::vector<std::pair<std::string, std::string>>;

// The name=value pairs of a Cookie header, in order, parsed leniently as
// browsers send them (RFC 6265 section 5.4 and what user agents do beyond
// it): pairs split at ';', whitespace around names and values dropped, a
// value in double quotes unquoted, a piece without '=' or with an empty name
// skipped. Values are not decoded.
CookiePairs ParseCookies(std::string_view header);

// The value of the first cookie named `name` (case-sensitive, as browsers
// treat names); nullopt if none. The first wins: a browser sends the cookie
// with the most specific path first, and a sibling subdomain's planted
// cookie of the same name must not override ours by coming later.
std::optional<std::string> FindCookie(const CookiePairs& cookies, std::string_view name);

enum class SameSite { kStrict, kLax };

// One Set-Cookie header value.
struct SetCookie {
  std::string name;
  std::string value;
  std::string path = "/";
  // Lifetime; unset: a session cookie (gone when the browser closes).
  std::optional<std::chrono::seconds> max_age;
  bool http_only = true;  // out of reach of page scripts
  bool secure = false;    // only over https (set under TLS)
  SameSite same_site = SameSite::kStrict;
  // Deletes the browser's cookie of this name and path: the value and
  // max_age are ignored, Max-Age=0 and a past Expires are written.
  bool expire_now = false;
};

// "name=value; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict".
// kInvalidArgument when the name is not an RFC 9110 token, or the value or
// path holds a byte a cookie may not carry (controls, space, '"', ',', ';',
// '\\', non-ASCII): they would break or forge the header.
Result<std::string> BuildSetCookie(const SetCookie& cookie);

}  // namespace daicho::web

#endif  // DAICHO_WEB_COOKIE_H_
