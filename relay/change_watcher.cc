#include "relay/change_watcher.h"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace daicho::relay {

namespace {

// Compares the counters of the live contracts with their last reading and
// pushes those that moved or were not seen before; forgets contracts no
// longer live, so their next session starts afresh.
class CounterCheck {
 public:
  explicit CounterCheck(const ChangeWatch& watch) : watch_(watch) {}

  void Run(ChangeFeed& feed) {
    std::vector<sync::ContractNumber> live;
    for (const std::string& text : watch_.live_contracts()) {
      if (auto contract = sync::ContractNumber::Parse(text); contract.ok()) live.push_back(*contract);
    }
    auto counts = feed.ChangeCounts(live);
    if (!counts.ok()) {
      if (!unreadable_reported_ && watch_.on_unreadable) watch_.on_unreadable(counts.status());
      unreadable_reported_ = true;
      return;
    }
    unreadable_reported_ = false;
    std::map<sync::ContractNumber, uint64_t> now;
    for (const auto& [contract, count] : *counts) {
      now.emplace(contract, count);
      auto last = last_.find(contract);
      if (last == last_.end() || last->second != count) watch_.push(contract.str());
    }
    last_ = std::move(now);
  }

 private:
  const ChangeWatch& watch_;
  std::map<sync::ContractNumber, uint64_t> last_;
  bool unreadable_reported_ = false;
};

}  // namespace

Status WatchChanges(std::stop_token stop, ChangeFeed& feed, const ChangeWatch& watch) {
  std::mutex mu;
  std::condition_variable_any wake;
  bool resync = false;  // guarded by mu
  ChangeFeed::Handlers handlers;
  handlers.changed = [&watch](const sync::ContractNumber& contract) { watch.push(contract.str()); };
  handlers.resync = [&] {
    if (watch.on_listening) watch.on_listening();
    {
      std::lock_guard lock(mu);
      resync = true;
    }
    wake.notify_all();
  };
  if (Status started = feed.Start(std::move(handlers)); !started.ok()) return started;
  CounterCheck check(watch);
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu);
      wake.wait_for(lock, stop, watch.interval, [&] { return resync; });
      resync = false;
    }
    if (stop.stop_requested()) break;
    check.Run(feed);
  }
  // The handlers refer to this frame: no handler may run once it is gone.
  feed.Stop();
  return Status::Ok();
}

}  // namespace daicho::relay
