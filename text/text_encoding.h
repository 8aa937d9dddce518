// The text encodings CSV files are read in (`daicho import`): UTF-8 (a
// byte-order mark is allowed) and Shift_JIS as Windows and Excel write it (CP932: JIS X 0208
// plus the NEC and IBM extensions, e.g. ①, ㈱, 髙), decoded with glibc's
// iconv. Whole files in, UTF-8 out; nothing is guessed silently: the caller
// learns which encoding was used, and a byte that is not text in it is an
// error naming its line and CSV column.
#ifndef DAICHO_TEXT_TEXT_ENCODING_H_
#define DAICHO_TEXT_TEXT_ENCODING_H_

#include <optional>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::text {

enum class TextEncoding {
  kAuto,  // UTF-8 when the bytes are UTF-8, else Shift_JIS (CP932)
  kUtf8,
  kCp932,
};

// "auto", "utf-8" (or "utf8"), "cp932" (or "shift_jis", "sjis"), any case;
// nullopt for anything else.
std::optional<TextEncoding> ParseTextEncoding(std::string_view name);
// "UTF-8" or "Shift_JIS (CP932)"; "auto" for kAuto.
std::string TextEncodingName(TextEncoding encoding);

struct DecodedText {
  std::string utf8;       // valid UTF-8; a UTF-8 byte-order mark is kept
  TextEncoding encoding;  // what the bytes were read as: kUtf8 or kCp932
  bool detected = false;  // true when kAuto chose it
};

// The bytes as UTF-8. kInvalidArgument "line L, column C: ..." at the first
// byte that is not text in the encoding: L its line (lines end at CRLF, LF or
// CR), C its CSV column (cell), counted as import's other messages count. kAuto reads as UTF-8 unless the bytes
// are not UTF-8; bytes that are mostly UTF-8 with a few damaged ones are
// reported as damaged UTF-8, not read as Shift_JIS. kInternal when this
// system's iconv lacks CP932.
Result<DecodedText> DecodeText(std::string_view bytes, TextEncoding encoding);

}  // namespace daicho::text

#endif  // DAICHO_TEXT_TEXT_ENCODING_H_
