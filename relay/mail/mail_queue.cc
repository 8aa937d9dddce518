#include "relay/mail/mail_queue.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace daicho::relay::mail {

using SteadyClock = std::chrono::steady_clock;

struct MailQueue::Pending {
  MailMessage message;
  std::string bytes;  // composed once: a retry sends the same Message-ID
  size_t attempts = 0;
  SteadyClock::time_point due;
};

namespace {

std::string NewMessageId(uint64_t unix_ms, std::string_view from_address) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char id[64];
  std::snprintf(id, sizeof id, "%llu.%016llx", static_cast<unsigned long long>(unix_ms),
                static_cast<unsigned long long>(random()));
  return std::string(id) + std::string(from_address.substr(from_address.find('@')));
}

}  // namespace

Result<std::unique_ptr<MailQueue>> MailQueue::Start(std::unique_ptr<MailTransport> transport,
                                                    MailQueueOptions options) {
  if (!IsMailAddress(options.from.address)) {
    return Status(Code::kInvalidArgument, "the sender address \"" + options.from.address + "\" is not a mail address");
  }
  if (!options.clock) options.clock = SystemClock();
  std::unique_ptr<MailQueue> queue(new MailQueue(std::move(transport), std::move(options)));
  queue->worker_ = std::thread([q = queue.get()] { q->Run(); });
  return queue;
}

MailQueue::MailQueue(std::unique_ptr<MailTransport> transport, MailQueueOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

MailQueue::~MailQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
  for (const Pending& pending : pending_) Report(MailEvent::Kind::kDropped, pending, "the relay stopped");
}

std::string MailQueue::Describe() const { return transport_->Describe(); }

void MailQueue::Post(MailMessage message) {
  Pending pending;
  const uint64_t now_ms = options_.clock->NowMillis();
  Result<std::string> bytes =
      ComposeMessage(options_.from, message, now_ms, NewMessageId(now_ms, options_.from.address));
  pending.message = std::move(message);
  if (!bytes.ok()) {
    Report(MailEvent::Kind::kDropped, pending, bytes.status().message());
    return;
  }
  pending.bytes = std::move(*bytes);
  pending.due = SteadyClock::now();
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() < options_.max_queued && !stopping_) {
      pending_.push_back(std::move(pending));
      wake_.notify_one();
      return;
    }
  }
  Report(MailEvent::Kind::kDropped, pending, "the mail queue is full");
}

void MailQueue::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto next = std::min_element(pending_.begin(), pending_.end(),
                                 [](const Pending& a, const Pending& b) { return a.due < b.due; });
    if (next->due > SteadyClock::now()) {
      wake_.wait_until(lock, next->due);
      continue;
    }
    Pending pending = std::move(*next);
    pending_.erase(next);
    lock.unlock();
    ++pending.attempts;
    const Status delivered = transport_->Deliver(options_.from.address, pending.message.to, pending.bytes);
    if (delivered.ok()) {
      Report(MailEvent::Kind::kSent, pending);
    } else if (pending.attempts > options_.retry_delays.size()) {
      Report(MailEvent::Kind::kGaveUp, pending, delivered.message());
    } else {
      const std::chrono::milliseconds delay = options_.retry_delays[pending.attempts - 1];
      Report(MailEvent::Kind::kRetry, pending, delivered.message(), delay);
      pending.due = SteadyClock::now() + delay;
      lock.lock();
      pending_.push_back(std::move(pending));
      continue;
    }
    lock.lock();
  }
}

void MailQueue::Report(MailEvent::Kind kind, const Pending& pending, std::string error,
                       std::chrono::milliseconds retry_in) const {
  if (!options_.log) return;
  options_.log(
      MailEvent{kind, pending.message.to, pending.message.subject, pending.attempts, std::move(error), retry_in});
}

}  // namespace daicho::relay::mail
