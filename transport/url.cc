#include "transport/url.h"

#include <algorithm>

namespace daicho::transport {
namespace {

Status Bad(std::string_view url, std::string_view why) {
  return Status(Code::kInvalidArgument,
                std::string(why) + ": " + std::string(url) +
                    " (write it as wss://relay.example.jp/sync, with :PORT after the host when it is not 443, or as "
                    "ws://192.168.1.10:47480/ for an office PC)");
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string Url::Authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + port;
}

Result<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kWs = "ws://";
  constexpr std::string_view kWss = "wss://";
  Url out;
  std::string_view rest;
  if (url.starts_with(kWs)) {
    rest = url.substr(kWs.size());
  } else if (url.starts_with(kWss)) {
    out.tls = true;
    rest = url.substr(kWss.size());
  } else {
    return Bad(url, "the address must start with wss:// (or ws://)");
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    // An IPv6 address: its colons are not the port's.
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "the address has '[' without ']'");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(url, "only ':PORT' may follow ']'");
      port = after.substr(1);
      has_port = true;
    }
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    if (authority.find(':', colon + 1) != std::string_view::npos) {
      return Bad(url, "an IPv6 address goes in brackets, as in ws://[::1]:47480/");
    }
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return Bad(url, "the address names no host");
  if (has_port) {
    if (!AllDigits(port) || port.size() > 5 || std::stoi(std::string(port)) < 1 ||
        std::stoi(std::string(port)) > 65535) {
      return Bad(url, "the port must be a number from 1 to 65535");
    }
    out.port = std::string(port);
  } else {
    // The scheme's own port, as browsers do: the README's wss://relay.example.jp/sync.
    out.port = out.tls ? "443" : "80";
  }
  out.host = std::string(host);
  return out;
}

}  // namespace daicho::transport
