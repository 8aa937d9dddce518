// MailTransport: one way a composed mail (mime.h) leaves the relay: the
// outbox directory (outbox_transport.h) or an SMTP server (smtp_transport.h).
// Deliver is synchronous and may take seconds; MailQueue (mail_queue.h)
// calls it from its own thread and retries what fails.
#ifndef DAICHO_RELAY_MAIL_MAIL_TRANSPORT_H_
#define DAICHO_RELAY_MAIL_MAIL_TRANSPORT_H_

#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::relay::mail {

class MailTransport {
 public:
  virtual ~MailTransport() = default;
  // Delivers `message` (the bytes ComposeMessage made) from the envelope
  // sender `from` to `to`. An error says what failed, for the operator's log.
  virtual Status Deliver(std::string_view from, std::string_view to, std::string_view message) = 0;
  // Where mail goes, for the log ("outbox /var/lib/..." or "smtp://host:587").
  virtual std::string Describe() const = 0;
};

}  // namespace daicho::relay::mail

#endif  // DAICHO_RELAY_MAIL_MAIL_TRANSPORT_H_
