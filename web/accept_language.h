// Choosing the page language from a request's Accept-Language header
// (RFC 9110 section 12.5.4, RFC 4647 basic filtering). Pure, thread-safe.
#ifndef DAICHO_WEB_ACCEPT_LANGUAGE_H_
#define DAICHO_WEB_ACCEPT_LANGUAGE_H_

#include <span>
#include <string>
#include <string_view>

namespace daicho::web {

// The first of `supported` (language tags such as {"ja", "en"}) that the
// header asks for, the ranges taken by falling q-value (ties in header
// order): a range matches a supported tag equal to it or of which it is a
// longer form ("en-US" and "EN" match "en"; case-insensitive); "*" matches
// the first supported tag not refused. q=0 refuses a tag ("*, en;q=0" never
// picks en). A range with a malformed q-value is ignored. `fallback` when
// nothing matches, or the header is empty.
std::string PickLanguage(std::string_view accept_language, std::span<const std::string> supported,
                         std::string_view fallback);

}  // namespace daicho::web

#endif  // DAICHO_WEB_ACCEPT_LANGUAGE_H_
