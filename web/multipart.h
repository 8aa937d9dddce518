// multipart/form-data (RFC 7578), what an HTML form with a file input
// posts: the boundary from the Content-Type header, then the parts, one
// file and plain fields, with caps. Enough for the panel's one upload form,
// not a general MIME reader: no nested multiparts, no transfer encodings
// (browsers send neither). Pure functions, thread-safe.
#ifndef DAICHO_WEB_MULTIPART_H_
#define DAICHO_WEB_MULTIPART_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "web/form.h"

namespace daicho::web {

// What a posted form may hold at most: posted bytes are untrusted.
struct MultipartLimits {
  size_t max_parts = 16;
  size_t max_part_header_bytes = 1 << 10;  // one part's header block
  size_t max_name_bytes = 64;              // a field's name
  size_t max_value_bytes = 4 << 10;        // a plain field's value
  size_t max_file_bytes = 8 << 20;         // the file's content
};

// The file part: its field name, the file name the browser gave (without
// any folder; may be empty when no file was chosen), its Content-Type
// ("" if none was sent) and its bytes, as sent.
struct MultipartFile {
  std::string field;
  std::string filename;
  std::string content_type;
  std::string data;
};

struct MultipartForm {
  FormFields fields;                  // plain fields in the order sent
  std::optional<MultipartFile> file;  // at most one
};

// The boundary of a Content-Type header value such as
// `multipart/form-data; boundary=----x` (quoted or not). kInvalidArgument
// for another media type, a missing boundary, or one longer than RFC
// 2046's 70 characters.
Result<std::string> MultipartBoundary(std::string_view content_type);

// Parses `body` delimited by `boundary`: lines end in CRLF; each part has a
// `Content-Disposition: form-data; name="..."` header (with `filename` for
// the file). kInvalidArgument for a malformed body (no opening or closing
// delimiter, a part without a name, a second file), kResourceExhausted
// above `limits`; the message says what was wrong.
Result<MultipartForm> ParseMultipart(std::string_view body, std::string_view boundary,
                                     const MultipartLimits& limits = {});

}  // namespace daicho::web

#endif  // DAICHO_WEB_MULTIPART_H_
