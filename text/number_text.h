// Whole numbers as people type and read them in Japan: digits grouped by
// commas ("11,000"), full-width digits accepted (１１，０００). For amounts of
// yen and counts typed on a command line or found in an imported file. Pure.
#ifndef DAICHO_TEXT_NUMBER_TEXT_H_
#define DAICHO_TEXT_NUMBER_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::text {

// A whole number of 0 or more: ASCII or full-width digits, optionally
// grouped by commas after the first digit ("11,000", "11000"); nothing else
// (no sign, no spaces, no unit). kInvalidArgument saying that `what` (e.g.
// "the amount") must be a whole number, or is too large for int64.
Result<int64_t> ParseWholeNumber(std::string_view text, std::string_view what);

// 11000 -> "11,000"; a negative number keeps its sign ("-5,500").
std::string GroupThousands(int64_t n);

}  // namespace daicho::text

#endif  // DAICHO_TEXT_NUMBER_TEXT_H_
