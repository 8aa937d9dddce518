#include "relay/login_watcher.h"

#include <condition_variable>
#include <mutex>

namespace daicho::relay {

void WatchLogins(std::stop_token stop, const RelayService& service, Result<uint64_t> seen,
                 std::chrono::milliseconds interval, const std::function<void()>& on_moved,
                 const std::function<void(const Status&)>& on_unreadable) {
  std::mutex mu;
  std::condition_variable_any wake;
  bool reported = false;
  entitlements::Date day = service.Today();
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu);
      wake.wait_for(lock, stop, interval, [] { return false; });  // returns early on stop
    }
    if (stop.stop_requested()) return;
    Result<uint64_t> now = service.LoginGeneration();
    if (!now.ok()) {
      if (!reported) on_unreadable(now.status());
      reported = true;
      continue;
    }
    reported = false;
    // A new day in Japan may begin a licence year: entitlements may move.
    const entitlements::Date today = service.Today();
    if (!seen.ok() || *now != *seen || today != day) on_moved();
    seen = now;
    day = today;
  }
}

}  // namespace daicho::relay
