#include "daicho/clock.h"

#include <chrono>

namespace daicho {
namespace {

class SystemClockImpl final : public Clock {
 public:
  uint64_t NowMillis() const override {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  }
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClockImpl>();
  return clock;
}

}  // namespace daicho
