// application/x-www-form-urlencoded (what an HTML form posts, and a URL's
// query string): parsing with caps, and percent-encoding for building URLs.
// Pure functions, thread-safe.
#ifndef DAICHO_WEB_FORM_H_
#define DAICHO_WEB_FORM_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/status.h"

namespace daicho::web {

// Fields in the order sent; a repeated name appears once per occurrence.
using FormFields = std::vector<std::pair<std::string, std::string>>;

// What a form may hold at most: posted bytes are untrusted.
struct FormLimits {
  size_t max_fields = 64;
  size_t max_name_bytes = 64;        // a decoded name
  size_t max_value_bytes = 4 << 10;  // a decoded value
};

// Parses "a=1&b=x+y%21" into {{"a","1"},{"b","x y!"}} (WHATWG URL standard's
// urlencoded parser, strict on escapes): '&' separates fields, the first '='
// separates name from value (none: an empty value), '+' is a space, %XX a
// byte; empty pieces ("a=1&&b=2") are skipped. Bytes are not checked for
// UTF-8: the caller validates what it uses. kInvalidArgument for a '%' not
// followed by two hex digits, kResourceExhausted above `limits`.
Result<FormFields> ParseForm(std::string_view body, const FormLimits& limits);

// `text` with every byte other than A-Z a-z 0-9 - . _ ~ (RFC 3986
// unreserved) written as %XX (upper-case hex): safe in a path segment, a
// query name or value, and a form field.
std::string PercentEncode(std::string_view text);

}  // namespace daicho::web

#endif  // DAICHO_WEB_FORM_H_
