// The bytes of one mail as RFC 5322 + MIME want them: UTF-8 plain text in
// base64, the subject and the sender's name as RFC 2047 encoded words, CRLF
// line ends. The outbox stores exactly these bytes and SMTP sends them, so a
// test reading the outbox reads what a person would receive.
#ifndef DAICHO_RELAY_MAIL_MIME_H_
#define DAICHO_RELAY_MAIL_MIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "relay/mailer.h"
#include "relay/password.h"

namespace daicho::relay::mail {

// Who mails: the From header and the SMTP envelope sender.
struct MailSender {
  std::string address;       // a mail address (relay/password.h IsMailAddress)
  std::string display_name;  // UTF-8; may be empty
};

// `text` as RFC 2047 encoded words (`=?UTF-8?B?...?=`), each at most 75
// characters, split only between UTF-8 characters; pure ASCII printable text
// is returned as is. Encoded words are joined by CRLF + space (a folded
// header line).
std::string EncodeHeaderText(std::string_view text);

// The whole message. `date_unix_ms` becomes the Date header (UTC) and
// `message_id` (without angle brackets) the Message-ID.
// kInvalidArgument if the sender or recipient is not a mail address (IsMailAddress).
Result<std::string> ComposeMessage(const MailSender& from, const MailMessage& message, uint64_t date_unix_ms,
                                   std::string_view message_id);

// "Mon, 07 Dec 2026 16:05:09 +0000", whatever the process locale.
std::string MailDate(uint64_t unix_ms);

}  // namespace daicho::relay::mail

#endif  // DAICHO_RELAY_MAIL_MIME_H_
