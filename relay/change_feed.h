// ChangeFeed: news of changes committed by other relay nodes that share one
// store, so that this node's live sessions of those contracts push at once
// (DESIGN.md "Relay"; docs/operations.md "Several nodes"). A backend that
// only one process can open (LMDB) needs none: the node's own sessions
// already push to each other (transport ServerHub groups).
//
// Notifications may be lost (the feed's connection drops, a notify fails
// after its commit): `resync` says so after every (re)connect, and
// ChangeCounts lets a watcher (change_watcher.h) compare counters on its
// own schedule, so a lost notification delays a push, never loses changes.
//
// Thread-safety: every method may be called from any thread; the handlers
// run on the feed's own thread, one at a time, and must be quick.
#ifndef DAICHO_RELAY_CHANGE_FEED_H_
#define DAICHO_RELAY_CHANGE_FEED_H_

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "daicho/status.h"
#include "sync/contract_number.h"

namespace daicho::relay {

class ChangeFeed {
 public:
  struct Handlers {
    // Another node committed changes of `contract`.
    std::function<void(const sync::ContractNumber& contract)> changed;
    // The feed (re)connected: notifications since the last call may be lost.
    std::function<void()> resync;
  };

  virtual ~ChangeFeed() = default;
  // Starts listening (returns at once; connecting and reconnecting happen on
  // the feed's thread). kFailedPrecondition if already started.
  virtual Status Start(Handlers handlers) = 0;
  // Stops listening and joins the feed's thread; no handler runs after it
  // returns. Idempotent.
  virtual void Stop() = 0;
  // Whether the feed is listening now (part of the node's readiness).
  virtual bool connected() const = 0;
  // How many changes the store holds of each of `contracts` (those it does
  // not know are left out): a counter that only grows, to compare with an
  // earlier reading.
  virtual Result<std::vector<std::pair<sync::ContractNumber, uint64_t>>> ChangeCounts(
      std::span<const sync::ContractNumber> contracts) = 0;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_CHANGE_FEED_H_
