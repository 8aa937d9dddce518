#include "client/relay_sync_url.h"

namespace daicho::client {

std::string RelaySyncUrl(std::string_view url, std::string_view contract) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || contract.empty()) return std::string(url);
  const size_t path = url.find('/', scheme + 3);
  if (path == std::string_view::npos) return std::string(url);
  const size_t query = url.find('?', path);
  const std::string_view path_only = url.substr(path, query == std::string_view::npos ? query : query - path);
  constexpr std::string_view kSync = "/sync";
  if (!path_only.ends_with(kSync)) return std::string(url);
  const size_t end = path + path_only.size();
  std::string out(url.substr(0, end));
  out += '/';
  out += contract;
  out += url.substr(end);
  return out;
}

}  // namespace daicho::client
