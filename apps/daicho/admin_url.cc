#include "apps/daicho/admin_url.h"

namespace daicho::cli {

std::string AdminPanelUrl(std::string_view relay_url) {
  std::string_view scheme;
  if (relay_url.starts_with("wss://")) {
    scheme = "https://";
  } else if (relay_url.starts_with("ws://")) {
    scheme = "http://";
  } else {
    return {};
  }
  const std::string_view rest = relay_url.substr(relay_url.find("://") + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return {};
  return std::string(scheme) + std::string(authority) + "/admin/";
}

}  // namespace daicho::cli
