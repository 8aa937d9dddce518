// The panel's static files, compiled in (no build step outside CMake): one
// style sheet and one small script. Every page works without the script;
// it only puts the server's own sentences into the browser's form bubbles.
#ifndef DAICHO_RELAY_ADMIN_ASSETS_H_
#define DAICHO_RELAY_ADMIN_ASSETS_H_

#include <string_view>

namespace daicho::relay::admin {

inline constexpr std::string_view kStylePath = "/admin/static/style.css";
inline constexpr std::string_view kScriptPath = "/admin/static/forms.js";

extern const std::string_view kStyleCss;
extern const std::string_view kFormsJs;

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_ASSETS_H_
