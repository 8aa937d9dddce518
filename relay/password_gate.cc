#include "relay/password_gate.h"

#include <algorithm>
#include <utility>

namespace daicho::relay {
namespace {

Status Busy() { return Status(Code::kUnavailable, "the relay is busy checking logins; retry in a moment"); }

}  // namespace

PasswordGate::PasswordGate(const PasswordGateOptions& options) : options_(options) {}

PasswordGate::Slot PasswordGate::Admit() {
  ++stats_.entered;
  stats_.peak_running = std::max(stats_.peak_running, stats_.running);
  return Slot(this);
}

Result<PasswordGate::Slot> PasswordGate::Enter() {
  std::unique_lock lock(mu_);
  if (queue_.empty() && stats_.running < std::max<size_t>(options_.max_concurrent, 1)) {
    ++stats_.running;
    return Admit();
  }
  if (queue_.size() >= options_.max_queued) {
    ++stats_.refused;
    return Busy();
  }
  Waiter waiter;
  queue_.push_back(&waiter);
  stats_.queued = queue_.size();
  const auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
  if (!admitted_.wait_until(lock, deadline, [&] { return waiter.admitted; })) {
    queue_.erase(std::find(queue_.begin(), queue_.end(), &waiter));
    stats_.queued = queue_.size();
    ++stats_.refused;
    return Busy();
  }
  return Admit();  // Release handed its slot over: running is unchanged
}

void PasswordGate::Release() {
  std::lock_guard lock(mu_);
  if (queue_.empty()) {
    --stats_.running;
    return;
  }
  queue_.front()->admitted = true;
  queue_.pop_front();
  stats_.queued = queue_.size();
  admitted_.notify_all();
}

PasswordGate::Stats PasswordGate::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace daicho::relay
