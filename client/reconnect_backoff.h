// How long a watching PC waits before reconnecting to a relay it lost:
// exponential back-off with jitter, so that the PCs of many offices cut off
// at once (a relay node restarted, the office's line back) do not all come
// back in the same instant. Internal to client/ (RelayClient::Watch).
#ifndef DAICHO_CLIENT_RECONNECT_BACKOFF_H_
#define DAICHO_CLIENT_RECONNECT_BACKOFF_H_

#include <chrono>
#include <cstdint>
#include <random>

namespace daicho::client {

class ReconnectBackoff {
 public:
  // Waits start around `first` and double per failed attempt up to `max`;
  // `seed` picks the jitter (RelayClient seeds it at random; tests fix it).
  ReconnectBackoff(std::chrono::milliseconds first, std::chrono::milliseconds max, uint64_t seed);

  // The wait before the next attempt: uniformly in [d/2, d] for the current
  // step d ("equal jitter": never less than half, so a relay that is down
  // is not hammered), then the step doubles.
  std::chrono::milliseconds Next();
  // A connection got through: the next wait starts from `first` again.
  void Reset();

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds step_;
  std::mt19937_64 random_;
};

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_RECONNECT_BACKOFF_H_
