// ASCII text helpers for HTTP's case-insensitive tokens (header names,
// schemes, host names, language tags) and its optional whitespace. Bytes
// outside ASCII pass through untouched: these are protocol tokens, not
// human text.
#ifndef DAICHO_WEB_TEXT_H_
#define DAICHO_WEB_TEXT_H_

#include <string>
#include <string_view>

namespace daicho::web {

// `text` with A-Z turned into a-z.
std::string AsciiLower(std::string_view text);

// Whether `a` and `b` are equal when A-Z and a-z are taken as the same.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Whether `text` is an RFC 9110 token (section 5.6.2): one or more of
// A-Z a-z 0-9 and !#$%&'*+-.^_`|~ , what header and cookie names are made of.
bool IsToken(std::string_view text);

// `text` without leading and trailing spaces and tabs (HTTP's OWS).
std::string_view TrimOws(std::string_view text);

}  // namespace daicho::web

#endif  // DAICHO_WEB_TEXT_H_
