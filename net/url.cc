#include "net/url.h"

namespace daicho::net {

Result<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kWs = "ws://";
  constexpr std::string_view kWss = "wss://";
  Url out;
  std::string_view rest;
  if (url.substr(0, kWs.size()) == kWs) {
    rest = url.substr(kWs.size());
  } else if (url.substr(0, kWss.size()) == kWss) {
    out.tls = true;
    rest = url.substr(kWss.size());
  } else {
    return Status(Code::kInvalidArgument, "URL must start with ws:// or wss://: " + std::string(url));
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) {
    return Status(Code::kInvalidArgument, "URL needs host:port: " + std::string(url));
  }
  std::string_view host = authority.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  out.port = std::string(authority.substr(colon + 1));
  return out;
}

}  // namespace daicho::net
