#include "core/hlc.h"

#include <algorithm>

namespace daicho::core {

HybridClock::HybridClock(std::shared_ptr<Clock> clock, uint64_t max_skew_ms)
    : clock_(clock ? std::move(clock) : SystemClock()), max_skew_ms_(max_skew_ms) {}

HlcTime HybridClock::Now() {
  const uint64_t wall = clock_->NowMillis();
  if (wall > last_.wall_ms) {
    last_ = HlcTime{wall, 0};
  } else {
    ++last_.logical;  // wall clock stalled or stepped back: stay monotone
  }
  return last_;
}

bool HybridClock::Observe(HlcTime remote) {
  const uint64_t wall = clock_->NowMillis();
  if (remote.wall_ms > wall + max_skew_ms_) return false;
  last_ = std::max(last_, remote);
  return true;
}

}  // namespace daicho::core
