// Full-width (zenkaku) characters as a Japanese input method types them,
// read as their ASCII forms: ２０２６／４／１ is 2026/4/1, １１，０００ is
// 11,000. One rule for every parser of typed or imported text (dates,
// amounts). Pure.
#ifndef DAICHO_TEXT_HALF_WIDTH_H_
#define DAICHO_TEXT_HALF_WIDTH_H_

#include <string>
#include <string_view>

namespace daicho::text {

// Full-width forms U+FF01..U+FF5E become their ASCII characters, the
// ideographic space U+3000 a space; every other byte is kept.
std::string HalfWidth(std::string_view text);

}  // namespace daicho::text

#endif  // DAICHO_TEXT_HALF_WIDTH_H_
