// The credential rules of relay/password.h as the panel's forms state them:
// the same limits as HTML constraints (minlength, maxlength, pattern) with
// the same sentences the server answers (data-msg-* attributes, which the
// panel's script puts in the browser's bubble), and the server's own check
// worded for a person. One rule, three places, no second copy.
#ifndef DAICHO_RELAY_ADMIN_FORM_RULES_H_
#define DAICHO_RELAY_ADMIN_FORM_RULES_H_

#include <optional>
#include <string>
#include <string_view>

#include "relay/admin/html.h"
#include "relay/admin/messages.h"

namespace daicho::relay::admin {

// Why `user_id` is not a valid id, in `lang`; nullopt when it is.
std::optional<std::string> UserIdProblem(std::string_view user_id, Lang lang);
// Why `password` is not a valid password, in `lang`; nullopt when it is.
std::optional<std::string> PasswordProblem(std::string_view password, Lang lang);

// A required user-id input named `name` (its element id too) holding `value`.
SafeHtml UserIdInput(std::string_view name, std::string_view value, Lang lang);
// A required password input named `name`; `same_as` (an input's id, or
// empty) makes it the confirmation of that input. `autocomplete` is
// "current-password" or "new-password".
SafeHtml PasswordInput(std::string_view name, std::string_view autocomplete, Lang lang, std::string_view same_as = {});

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_FORM_RULES_H_
