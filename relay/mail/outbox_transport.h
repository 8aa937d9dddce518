// OutboxTransport: mail kept as files instead of sent, one `.eml` per
// message in a directory, for a relay without an SMTP server (the operator
// reads or forwards them) and for tests that read a reset code. A file
// appears whole (written aside, flushed, then renamed) and is readable by
// its owner only: reset codes are secrets.
#ifndef DAICHO_RELAY_MAIL_OUTBOX_TRANSPORT_H_
#define DAICHO_RELAY_MAIL_OUTBOX_TRANSPORT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "daicho/clock.h"
#include "relay/mail/mail_transport.h"

namespace daicho::relay::mail {

class OutboxTransport : public MailTransport {
 public:
  // Creates `directory` (mode 0700) if missing. kIoError if it cannot.
  static Result<std::unique_ptr<OutboxTransport>> Open(const std::string& directory,
                                                       std::shared_ptr<Clock> clock = nullptr);

  // Writes `<unix ms, 13 digits>-<pid>-<sequence>.eml`: names sort by the
  // time the messages were delivered.
  Status Deliver(std::string_view from, std::string_view to, std::string_view message) override;
  std::string Describe() const override;

 private:
  OutboxTransport(std::string directory, std::shared_ptr<Clock> clock);
  std::string directory_;
  std::shared_ptr<Clock> clock_;
  std::atomic<uint64_t> sequence_{0};
};

}  // namespace daicho::relay::mail

#endif  // DAICHO_RELAY_MAIL_OUTBOX_TRANSPORT_H_
