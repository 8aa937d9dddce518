// Clock: the wall-clock seam. The replica stamps every change with a hybrid
// logical clock built on this; tests inject a fake to control time.
// Implementations must be thread-safe.
#ifndef DAICHO_CLOCK_H_
#define DAICHO_CLOCK_H_

#include <cstdint>
#include <memory>

namespace daicho {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual uint64_t NowMillis() const = 0;
};

// The system clock (std::chrono::system_clock).
std::shared_ptr<Clock> SystemClock();

}  // namespace daicho

#endif  // DAICHO_CLOCK_H_
