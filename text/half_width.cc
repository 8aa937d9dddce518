#include "text/half_width.h"

namespace daicho::text {

// In UTF-8: U+FF01..U+FF5E are EF BC 81..EF BD 9E, U+3000 is E3 80 80.
std::string HalfWidth(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    if (i + 2 < text.size() && byte(i) == 0xEF && byte(i + 1) == 0xBC && byte(i + 2) >= 0x81) {
      out += static_cast<char>(byte(i + 2) - 0x60);
      i += 2;
    } else if (i + 2 < text.size() && byte(i) == 0xEF && byte(i + 1) == 0xBD && byte(i + 2) <= 0x9E) {
      out += static_cast<char>(byte(i + 2) - 0x20);
      i += 2;
    } else if (i + 2 < text.size() && byte(i) == 0xE3 && byte(i + 1) == 0x80 && byte(i + 2) == 0x80) {
      out += ' ';
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace daicho::text
