#include "text/text_encoding.h"

#include <iconv.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace daicho::text {
namespace {

bool IsContinuation(unsigned char b) { return b >= 0x80 && b <= 0xBF; }

// The length of the well-formed UTF-8 sequence at `i` (no overlongs, no
// surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = at(i);
  if (b < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    length = 3;
    if (b == 0xE0) low = 0xA0;
    if (b == 0xED) high = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    length = 4;
    if (b == 0xF0) low = 0x90;
    if (b == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > s.size() || at(i + 1) < low || at(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (!IsContinuation(at(i + k))) return 0;
  }
  return length;
}

struct Utf8Scan {
  size_t multibyte = 0;  // well-formed non-ASCII characters
  size_t invalid = 0;    // bytes that start none
  size_t first_invalid = std::string_view::npos;
};

Utf8Scan ScanUtf8(std::string_view s) {
  Utf8Scan scan;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    if (n == 0) {
      if (scan.invalid++ == 0) scan.first_invalid = i;
      ++i;
    } else {
      if (n > 1) ++scan.multibyte;
      i += n;
    }
  }
  return scan;
}

bool IsCp932LeadByte(unsigned char b) { return (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC); }

// "line L, column C" of byte `offset` in CSV terms, as import's other
// messages count: L the line the byte is on (lines end at CRLF, LF or a lone
// CR, as in csv.h), C the CSV column (cell) it is in. The quotes, commas and
// line breaks are found bytewise, which is right in both encodings: CP932
// trail bytes are 0x40 and above, never one of them.
std::string Position(std::string_view s, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  bool quoted = false;
  for (size_t i = 0; i < offset; ++i) {
    const char c = s[i];
    if (c == '"') quoted = !quoted;  // a doubled quote flips twice
    if (c == ',' && !quoted) ++column;
    if (c == '\n' || (c == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n'))) {
      ++line;
      if (!quoted) column = 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string HexBytes(std::string_view s, size_t offset, size_t count) {
  std::string out;
  for (size_t i = offset; i < offset + count && i < s.size(); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned char>(s[i]));
    if (!out.empty()) out += ' ';
    out += hex;
  }
  return out;
}

Status NotUtf8(std::string_view s, size_t offset) {
  return Status(Code::kInvalidArgument,
                Position(s, offset) + ": the byte " + HexBytes(s, offset, 1) + " is not UTF-8 text");
}

Result<std::string> DecodeCp932(std::string_view s) {
  // "CP932" is glibc's name for Windows-31J, Microsoft's Shift_JIS.
  iconv_t cd = iconv_open("UTF-8", "CP932");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return Status(Code::kInternal, "this system cannot read Shift_JIS (iconv has no CP932 converter)");
  }
  // One CP932 byte (half-width katakana) or two become at most 3 UTF-8 bytes.
  std::string out(s.size() * 3, '\0');
  char* in = const_cast<char*>(s.data());  // iconv's signature; the input is not written
  size_t in_left = s.size();
  char* next = out.data();
  size_t out_left = out.size();
  const size_t rc = iconv(cd, &in, &in_left, &next, &out_left);
  const int error = errno;
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) {
    const size_t offset = static_cast<size_t>(in - s.data());
    const bool pair = IsCp932LeadByte(static_cast<unsigned char>(s[offset])) && offset + 1 < s.size();
    return Status(
        Code::kInvalidArgument,
        Position(s, offset) + ": " +
            (error == EINVAL ? "the file ends inside a character (" + HexBytes(s, offset, 1) + ")"
                             : std::string(pair ? "the bytes " : "the byte ") + HexBytes(s, offset, pair ? 2 : 1) +
                                   (pair ? " are" : " is") + " not Shift_JIS (CP932) text"));
  }
  out.resize(out.size() - out_left);
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::optional<TextEncoding> ParseTextEncoding(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "auto") return TextEncoding::kAuto;
  if (n == "utf-8" || n == "utf8") return TextEncoding::kUtf8;
  if (n == "cp932" || n == "shift_jis" || n == "sjis") return TextEncoding::kCp932;
  return std::nullopt;
}

std::string TextEncodingName(TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::kAuto:
      return "auto";
    case TextEncoding::kUtf8:
      return "UTF-8";
    case TextEncoding::kCp932:
      return "Shift_JIS (CP932)";
  }
  return "?";
}

Result<DecodedText> DecodeText(std::string_view bytes, TextEncoding encoding) {
  if (encoding != TextEncoding::kCp932) {
    const Utf8Scan scan = ScanUtf8(bytes);
    if (scan.invalid == 0) return DecodedText{std::string(bytes), TextEncoding::kUtf8, encoding == TextEncoding::kAuto};
    // Shift_JIS text is almost all invalid as UTF-8; a file that is mostly
    // well-formed UTF-8 is a damaged UTF-8 file, not one to read as
    // Shift_JIS (that would turn every character into another).
    if (encoding == TextEncoding::kUtf8 || scan.multibyte > scan.invalid) return NotUtf8(bytes, scan.first_invalid);
  }
  auto utf8 = DecodeCp932(bytes);
  if (!utf8.ok()) {
    if (encoding != TextEncoding::kAuto) return utf8.status();
    return Status(utf8.status().code(), utf8.status().message() + ", and the file is not UTF-8 either");
  }
  return DecodedText{*std::move(utf8), TextEncoding::kCp932, encoding == TextEncoding::kAuto};
}

}  // namespace daicho::text
