// FakeClock: a wall clock that moves only when told to, for tests of time
// rules (HLC skew, login throttling windows). Thread-safe.
#ifndef DAICHO_TESTS_TESTING_FAKE_CLOCK_H_
#define DAICHO_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "daicho/clock.h"

namespace daicho::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(uint64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  uint64_t NowMillis() const override { return now_ms_.load(); }
  void Set(uint64_t ms) { now_ms_.store(ms); }
  void Advance(uint64_t ms) { now_ms_.fetch_add(ms); }
  // Moves back by `ms`, stopping at 0.
  void StepBack(uint64_t ms) {
    const uint64_t now = now_ms_.load();
    now_ms_.store(now > ms ? now - ms : 0);
  }

 private:
  std::atomic<uint64_t> now_ms_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_FAKE_CLOCK_H_
