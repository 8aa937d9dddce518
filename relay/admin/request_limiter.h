// RequestLimiter: at most `limit` requests per key in each fixed window of
// `window`, for requests that cost someone else something (a reset request
// mails a person; a reset confirmation burns a code's try). Keys are
// addresses or accounts. Memory is bounded: past max_keys, expired windows
// are dropped, and if none has expired a new key is refused (a flood of
// distinct keys is itself the attack).
//
// Thread-safety: every method may be called concurrently.
#ifndef DAICHO_RELAY_ADMIN_REQUEST_LIMITER_H_
#define DAICHO_RELAY_ADMIN_REQUEST_LIMITER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "daicho/clock.h"

namespace daicho::relay::admin {

struct RateLimit {
  size_t limit = 5;
  std::chrono::milliseconds window{std::chrono::minutes(15)};
  size_t max_keys = 100'000;
};

class RequestLimiter {
 public:
  RequestLimiter(RateLimit rate, std::shared_ptr<Clock> clock);

  // Counts a request of `key`: 0 when it is within the limit, else the
  // milliseconds until the key's window ends (the request is refused).
  uint64_t Take(std::string_view key);

 private:
  struct Window {
    uint64_t start_ms = 0;
    size_t count = 0;
  };
  const RateLimit rate_;
  const std::shared_ptr<Clock> clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_REQUEST_LIMITER_H_
