// PasswordGate: a cap on the relay's concurrent Argon2id password checks.
// Each check takes one core and 64 MiB for 50-100 ms (password.h), so
// without a cap a flood of guesses takes every core and much memory from
// the syncs of everyone else. A check enters the gate (Enter) and holds its
// Slot while it runs; at most max_concurrent slots are out at once, up to
// max_queued more callers wait in arrival order, and a caller that finds
// the queue full, or waits longer than max_wait, is refused with
// kUnavailable "the relay is busy checking logins; retry in a moment"
// instead of hanging.
//
// Ownership: a Slot must not outlive its gate. Thread-safety: every method
// may be called concurrently from any thread; Enter blocks the calling
// thread while it waits.
#ifndef DAICHO_RELAY_PASSWORD_GATE_H_
#define DAICHO_RELAY_PASSWORD_GATE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>

#include "daicho/status.h"

namespace daicho::relay {

struct PasswordGateOptions {
  // Argon2id checks running at once (one core and 64 MiB each): 2 leaves a
  // 2-core relay's syncs their share of the CPU while logins still flow.
  size_t max_concurrent = 2;
  // Callers waiting beyond those; at 2 concurrent checks of ~80 ms the last
  // of 32 waits about 1.3 s.
  size_t max_queued = 32;
  // Longest wait for a slot before the caller is refused.
  std::chrono::milliseconds max_wait{5000};
};

class PasswordGate {
 public:
  // The right to run one check; gives it back when destroyed. Move-only.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (gate_) gate_->Release();
    }

   private:
    friend class PasswordGate;
    explicit Slot(PasswordGate* gate) : gate_(gate) {}
    PasswordGate* gate_;
  };

  // max_concurrent 0 is taken as 1.
  explicit PasswordGate(const PasswordGateOptions& options);
  PasswordGate(const PasswordGate&) = delete;
  PasswordGate& operator=(const PasswordGate&) = delete;

  // A slot, at once or after waiting in the queue; kUnavailable when the
  // queue is full or max_wait passed.
  Result<Slot> Enter();

  // What the gate has done, for tests and the operator.
  struct Stats {
    uint64_t entered = 0;     // slots handed out
    uint64_t refused = 0;     // callers refused as busy
    size_t running = 0;       // slots out now
    size_t queued = 0;        // callers waiting now
    size_t peak_running = 0;  // most slots ever out at once
  };
  Stats stats() const;

 private:
  struct Waiter {
    bool admitted = false;
  };

  void Release();
  Slot Admit();  // with mu_ held

  const PasswordGateOptions options_;
  mutable std::mutex mu_;
  std::condition_variable admitted_;
  std::deque<Waiter*> queue_;  // in arrival order
  Stats stats_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_PASSWORD_GATE_H_
