// MailQueue: the relay's Mailer (relay/mailer.h). Post composes the message
// (mime.h) and queues it; one thread delivers the queue through a
// MailTransport, retrying a failed delivery after each of retry_delays and
// then giving up. Every delivery, retry, give-up and drop is reported to
// `log` (without the text: it may hold a reset code), never to the caller
// of Post. The queue is in memory: mail still queued when the relay stops is
// reported as dropped (a reset code it held stays valid; the user asks for
// a new one).
//
// Thread-safety: Post may be called from any thread. The destructor stops
// the thread, waiting for a delivery under way (bounded by the transport's
// timeouts).
#ifndef DAICHO_RELAY_MAIL_MAIL_QUEUE_H_
#define DAICHO_RELAY_MAIL_MAIL_QUEUE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daicho/clock.h"
#include "relay/mail/mail_transport.h"
#include "relay/mail/mime.h"
#include "relay/mailer.h"

namespace daicho::relay::mail {

struct MailEvent {
  enum class Kind {
    kSent,     // delivered
    kRetry,    // a delivery failed; tried again after retry_in
    kGaveUp,   // the last retry failed
    kDropped,  // never tried: the queue was full, the message could not be
               // composed, or the relay stopped first
  };
  Kind kind;
  std::string to;
  std::string subject;
  size_t attempt = 0;  // deliveries tried so far
  std::string error;
  std::chrono::milliseconds retry_in{0};
};

struct MailQueueOptions {
  MailSender from;
  // Waits before the 2nd, 3rd, ... delivery of a message that failed.
  std::vector<std::chrono::milliseconds> retry_delays = {std::chrono::seconds(10), std::chrono::minutes(1),
                                                         std::chrono::minutes(5), std::chrono::minutes(30)};
  // Messages waiting at most; more are dropped (and logged), so a flood of
  // reset requests cannot fill the relay's memory.
  size_t max_queued = 1000;
  std::function<void(const MailEvent&)> log;
  std::shared_ptr<Clock> clock;  // Date headers; nullptr: the system clock
};

class MailQueue : public Mailer {
 public:
  // kInvalidArgument if options.from is not a mail address (IsMailAddress).
  static Result<std::unique_ptr<MailQueue>> Start(std::unique_ptr<MailTransport> transport, MailQueueOptions options);
  ~MailQueue() override;
  MailQueue(const MailQueue&) = delete;
  MailQueue& operator=(const MailQueue&) = delete;

  void Post(MailMessage message) override;

  // Where mail goes (the transport's Describe), for the startup log.
  std::string Describe() const;

 private:
  struct Pending;
  MailQueue(std::unique_ptr<MailTransport> transport, MailQueueOptions options);
  void Run();
  void Report(MailEvent::Kind kind, const Pending& pending, std::string error = {},
              std::chrono::milliseconds retry_in = {}) const;

  const std::unique_ptr<MailTransport> transport_;
  const MailQueueOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Pending> pending_;  // unordered; the worker picks the earliest due
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace daicho::relay::mail

#endif  // DAICHO_RELAY_MAIL_MAIL_QUEUE_H_
