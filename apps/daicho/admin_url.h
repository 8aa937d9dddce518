// Where the office's admin panel is: on the relay's own host and port.
#ifndef DAICHO_APPS_DAICHO_ADMIN_URL_H_
#define DAICHO_APPS_DAICHO_ADMIN_URL_H_

#include <string>
#include <string_view>

namespace daicho::cli {

// The admin panel of the relay `relay_url` names: ws://HOST[:PORT]/... gives
// http://HOST[:PORT]/admin/, wss:// gives https://; "" for any other URL.
std::string AdminPanelUrl(std::string_view relay_url);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_ADMIN_URL_H_
