// WatchChanges: how a relay node that shares its store with other nodes
// (PostgreSQL) learns that they committed changes of a contract this node
// has live sessions of, so those sessions push at once. Notifications from
// the ChangeFeed push straight away; because a notification can be lost (a
// dropped listener connection, a notify that failed after its commit), the
// watcher also compares the contracts' change counters after every
// reconnect of the feed and every `interval`, and pushes those that moved.
// A push that finds nothing new sends nothing, so pushing too often costs
// a store read, never a wrong frame.
#ifndef DAICHO_RELAY_CHANGE_WATCHER_H_
#define DAICHO_RELAY_CHANGE_WATCHER_H_

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "daicho/status.h"
#include "relay/change_feed.h"

namespace daicho::relay {

struct ChangeWatch {
  // The contracts (as ContractNumber::str()) this node has live sessions of
  // now; other strings are ignored.
  std::function<std::vector<std::string>()> live_contracts;
  // Has this node's live sessions of the contract push what they lack. Also
  // called on the feed's thread: must be quick.
  std::function<void(const std::string& contract)> push;
  // Called once per outage when the change counters cannot be read; pushes
  // of notified changes go on meanwhile.
  std::function<void(const Status&)> on_unreadable;
  // Called on the feed's thread each time it (re)connected (for the log).
  std::function<void()> on_listening;
  // How often the counters are compared when nothing else asks for it.
  std::chrono::milliseconds interval{10000};
};

// Starts `feed` (it must not be started yet) and runs until `stop`, then
// stops it. The counters of a contract are compared from the first time it
// is seen live (that first reading pushes too: the sessions may have
// started just before a lost notification). Blocks the calling thread;
// returns the feed's Start error at once if it cannot start.
Status WatchChanges(std::stop_token stop, ChangeFeed& feed, const ChangeWatch& watch);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_CHANGE_WATCHER_H_
