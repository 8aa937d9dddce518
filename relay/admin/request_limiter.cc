#include "relay/admin/request_limiter.h"

#include <iterator>

namespace daicho::relay::admin {

RequestLimiter::RequestLimiter(RateLimit rate, std::shared_ptr<Clock> clock)
    : rate_(rate), clock_(clock ? std::move(clock) : SystemClock()) {}

uint64_t RequestLimiter::Take(std::string_view key) {
  const uint64_t now = clock_->NowMillis();
  const auto window_ms = static_cast<uint64_t>(rate_.window.count());
  std::lock_guard lock(mutex_);
  auto it = windows_.find(std::string(key));
  if (it == windows_.end()) {
    if (windows_.size() >= rate_.max_keys) {
      for (auto w = windows_.begin(); w != windows_.end();) {
        w = now - w->second.start_ms >= window_ms ? windows_.erase(w) : std::next(w);
      }
      if (windows_.size() >= rate_.max_keys) return window_ms;
    }
    it = windows_.emplace(std::string(key), Window{now, 0}).first;
  }
  Window& window = it->second;
  if (now - window.start_ms >= window_ms) window = Window{now, 0};
  if (window.count >= rate_.limit) return window.start_ms + window_ms - now;
  ++window.count;
  return 0;
}

}  // namespace daicho::relay::admin
