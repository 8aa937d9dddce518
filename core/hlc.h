// HybridClock: issues HlcTime stamps for local changes and learns from remote
// ones. Stamps are strictly increasing across Now() calls, even when the wall
// clock steps back. A remote stamp further ahead than `max_skew_ms` of the wall
// clock is not adopted (a PC with a wrong date must not drag everyone's clock
// into the future); Observe reports that so the caller can log it.
// Not thread-safe: the owner serializes calls.
#ifndef DAICHO_CORE_HLC_H_
#define DAICHO_CORE_HLC_H_

#include <memory>

#include "daicho/clock.h"
#include "daicho/hlc_time.h"

namespace daicho::core {

class HybridClock {
 public:
  HybridClock(std::shared_ptr<Clock> clock, uint64_t max_skew_ms);

  // A new stamp greater than every stamp issued or adopted before.
  HlcTime Now();
  // Adopts a remote stamp so later local stamps sort after it. Returns false
  // (and adopts nothing) if it lies more than max_skew_ms in the future.
  bool Observe(HlcTime remote);

  // The last stamp issued or adopted, to persist; Restore sets it on open.
  HlcTime last() const { return last_; }
  void Restore(HlcTime last) { last_ = last; }

 private:
  std::shared_ptr<Clock> clock_;
  uint64_t max_skew_ms_;
  HlcTime last_;
};

}  // namespace daicho::core

#endif  // DAICHO_CORE_HLC_H_
