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

Result<ContractNumber> ContractNumber::ParseTyped(std::string_view typed) {
  std::string ascii;
  for (size_t i = 0; i < typed.size();) {
    const auto c = static_cast<unsigned char>(typed[i]);
    // U+FF10-FF19 (full-width digits) are EF BC 90-99; U+FF0D (full-width
    // hyphen) EF BC 8D; U+2010-2015 (hyphens, dashes) E2 80 90-95; U+2212
    // (minus) E2 88 92; U+30FC (long vowel mark, typed for a hyphen) E3 83 BC.
    const std::string_view rest = typed.substr(i);
    if (rest.size() >= 3 && c == 0xEF && static_cast<unsigned char>(rest[1]) == 0xBC) {
      const auto d = static_cast<unsigned char>(rest[2]);
      if (d >= 0x90 && d <= 0x99)
        ascii += static_cast<char>('0' + (d - 0x90));
      else if (d == 0x8D)
        ascii += '-';
      else
        ascii.append(rest.substr(0, 3));
      i += 3;
    } else if (rest.size() >= 3 &&
               ((c == 0xE2 && static_cast<unsigned char>(rest[1]) == 0x80 &&
                 static_cast<unsigned char>(rest[2]) >= 0x90 && static_cast<unsigned char>(rest[2]) <= 0x95) ||
                rest.substr(0, 3) == "\xE2\x88\x92" || rest.substr(0, 3) == "\xE3\x83\xBC")) {
      ascii += '-';
      i += 3;
    } else if (c == ' ' || c == '\t') {
      ++i;
    } else {
      ascii += static_cast<char>(c);
      ++i;
    }
  }
  if (ascii.size() == 12 && ascii.find_first_not_of("0123456789") == std::string::npos) {
    ascii = ascii.substr(0, 4) + "-" + ascii.substr(4, 4) + "-" + ascii.substr(8);
  }
  return Parse(ascii);
}

}  // namespace daicho::sync
