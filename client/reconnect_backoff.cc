#include "client/reconnect_backoff.h"

#include <algorithm>

namespace daicho::client {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds first, std::chrono::milliseconds max, uint64_t seed)
    : first_(std::max(first, std::chrono::milliseconds(1))),
      max_(std::max(max, first_)),
      step_(first_),
      random_(seed) {}

std::chrono::milliseconds ReconnectBackoff::Next() {
  const int64_t step = step_.count();
  std::uniform_int_distribution<int64_t> jitter(step / 2, step);
  step_ = std::min(step_ * 2, max_);
  return std::chrono::milliseconds(jitter(random_));
}

void ReconnectBackoff::Reset() { step_ = first_; }

}  // namespace daicho::client
