#include "web/origin.h"

#include <algorithm>
#include <optional>

#include "web/text.h"

namespace daicho::web {
namespace {

// An origin in comparable form: scheme and host lower-cased, the port empty
// when it is the scheme's default.
struct Origin {
  std::string scheme;
  std::string host;
  std::string port;
  friend bool operator==(const Origin&, const Origin&) = default;
};

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool IsIpv6Char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "host", "host:port", "[v6]" or "[v6]:port" (a Host header, or an origin
// after its "scheme://") for `scheme`; nullopt when malformed.
std::optional<Origin> ParseAuthority(std::string scheme, std::string_view authority) {
  std::string_view host;
  std::string_view rest;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = authority.substr(0, close + 1);
    if (!std::all_of(host.begin() + 1, host.end() - 1, IsIpv6Char)) return std::nullopt;
    rest = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) return std::nullopt;
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  std::string_view port;
  if (!rest.empty()) {
    if (rest.front() != ':') return std::nullopt;
    port = rest.substr(1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return std::nullopt;
  }
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port = {};
  return Origin{std::move(scheme), AsciiLower(host), std::string(port)};
}

// "scheme://host[:port]" with an http or https scheme; nullopt otherwise
// ("null" included).
std::optional<Origin> ParseOrigin(std::string_view origin) {
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string scheme = AsciiLower(origin.substr(0, sep));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  return ParseAuthority(std::move(scheme), origin.substr(sep + 3));
}

}  // namespace

bool OriginAllowed(std::string_view origin, std::string_view host, bool tls,
                   std::span<const std::string> allowed_origins) {
  const std::optional<Origin> from = ParseOrigin(origin);
  if (!from) return false;
  if (!allowed_origins.empty()) {
    return std::any_of(allowed_origins.begin(), allowed_origins.end(),
                       [&](const std::string& allowed) { return ParseOrigin(allowed) == from; });
  }
  return ParseAuthority(tls ? "https" : "http", TrimOws(host)) == from;
}

}  // namespace daicho::web
