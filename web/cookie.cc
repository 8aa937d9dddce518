#include "web/cookie.h"

#include <algorithm>

#include "web/text.h"

namespace daicho::web {
namespace {

// RFC 6265 section 4.1.1: cookie-octet.
bool IsCookieOctet(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == 0x21 || (byte >= 0x23 && byte <= 0x2b) || (byte >= 0x2d && byte <= 0x3a) ||
         (byte >= 0x3c && byte <= 0x5b) || (byte >= 0x5d && byte <= 0x7e);
}

// RFC 6265 section 4.1.1: path-value is any CHAR but controls and ';'.
bool IsPathChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte < 0x7f && c != ';';
}

}  // namespace

CookiePairs ParseCookies(std::string_view header) {
  CookiePairs cookies;
  while (!header.empty()) {
    const size_t end = header.find(';');
    const std::string_view piece = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const size_t eq = piece.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = TrimOws(piece.substr(0, eq));
    std::string_view value = TrimOws(piece.substr(eq + 1));
    if (name.empty()) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    cookies.emplace_back(std::string(name), std::string(value));
  }
  return cookies;
}

std::optional<std::string> FindCookie(const CookiePairs& cookies, std::string_view name) {
  for (const auto& [n, value] : cookies) {
    if (n == name) return value;
  }
  return std::nullopt;
}

Result<std::string> BuildSetCookie(const SetCookie& cookie) {
  if (!IsToken(cookie.name)) {
    return InvalidArgument("cookie name is not a token: " + cookie.name);
  }
  const std::string& value = cookie.expire_now ? std::string() : cookie.value;
  if (!std::all_of(value.begin(), value.end(), IsCookieOctet)) {
    return InvalidArgument("cookie " + cookie.name + ": value holds a byte a cookie may not carry");
  }
  if (!std::all_of(cookie.path.begin(), cookie.path.end(), IsPathChar)) {
    return InvalidArgument("cookie " + cookie.name + ": path holds a control character or ';'");
  }
  std::string out = cookie.name + "=" + value;
  if (!cookie.path.empty()) out += "; Path=" + cookie.path;
  if (cookie.expire_now) {
    // Expires as well, for user agents older than Max-Age.
    out += "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  } else if (cookie.max_age) {
    out += "; Max-Age=" + std::to_string(std::max<int64_t>(0, cookie.max_age->count()));
  }
  if (cookie.http_only) out += "; HttpOnly";
  if (cookie.secure) out += "; Secure";
  out += cookie.same_site == SameSite::kStrict ? "; SameSite=Strict" : "; SameSite=Lax";
  return out;
}

}  // namespace daicho::web
