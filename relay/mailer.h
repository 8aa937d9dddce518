// Mailer: how the relay's rules mail a person (a password reset code, a
// "your password was changed" notice) without knowing how mail travels.
// Post hands the message over and returns at once: it never waits on the
// network and never fails towards its caller. Delivery, retries and the log
// of failures are the implementation's (relay/mail/mail_queue.h), so a
// request that causes a mail looks the same to the requester whether or not
// the mail could be sent.
#ifndef DAICHO_RELAY_MAILER_H_
#define DAICHO_RELAY_MAILER_H_

#include <string>

namespace daicho::relay {

struct MailMessage {
  std::string to;       // one mail address (relay/password.h IsMailAddress)
  std::string subject;  // UTF-8, one line
  std::string text;     // UTF-8 plain text, lines separated by '\n'
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Thread-safe; may be called from any thread.
  virtual void Post(MailMessage message) = 0;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_MAILER_H_
