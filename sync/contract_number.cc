#include "sync/contract_number.h"

namespace daicho::sync {

Result<ContractNumber> ContractNumber::Parse(std::string_view text) {
  // The message never echoes the input verbatim beyond its length: it may
  // come from an unauthenticated client and end up in a log line.
  const std::string expected = "a contract number must be 12 digits written NNNN-NNNN-NNNN (half-width)";
  if (text.size() != kSize) {
    return InvalidArgument(expected + "; got " + std::to_string(text.size()) + " bytes");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 4 || i == 9) {
      if (c != '-') return InvalidArgument(expected + "; a hyphen is missing at position " + std::to_string(i + 1));
    } else if (c < '0' || c > '9') {
      return InvalidArgument(expected + "; position " + std::to_string(i + 1) + " is not a digit 0-9");
    }
  }
  return ContractNumber(std::string(text));
}

}  // namespace daicho::sync
