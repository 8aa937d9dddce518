// The mail the panel sends: a reset code and a "your password was changed"
// notice, in Japanese with an English paragraph (one mail serves a clerk
// and an English reader alike, whatever the panel's language was).
#ifndef DAICHO_RELAY_ADMIN_MAIL_TEXT_H_
#define DAICHO_RELAY_ADMIN_MAIL_TEXT_H_

#include <cstdint>
#include <string_view>

#include "relay/mailer.h"

namespace daicho::relay::admin {

MailMessage ResetCodeMail(std::string_view to, std::string_view contract, std::string_view code,
                          uint64_t valid_minutes);
MailMessage PasswordChangedMail(std::string_view to, std::string_view contract, uint64_t changed_unix_ms);

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_MAIL_TEXT_H_
