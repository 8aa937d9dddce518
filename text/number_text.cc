#include "text/number_text.h"

#include <limits>

#include "text/half_width.h"

namespace daicho::text {

Result<int64_t> ParseWholeNumber(std::string_view text, std::string_view what) {
  const std::string ascii = HalfWidth(text);
  const auto refused = [&](std::string_view why) {
    return InvalidArgument(std::string(what) + " " + std::string(why) + ", not '" + std::string(text) + "'");
  };
  int64_t value = 0;
  bool digits = false;
  for (char c : ascii) {
    if (c == ',' && digits) continue;
    if (c < '0' || c > '9') return refused("must be a whole number (digits, commas allowed)");
    if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return refused("is too large");
    value = value * 10 + (c - '0');
    digits = true;
  }
  if (!digits) return refused("must be a whole number (digits, commas allowed)");
  return value;
}

std::string GroupThousands(int64_t n) {
  // The magnitude as unsigned, so that INT64_MIN has one too.
  const uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace daicho::text
