// WatchLogins: how a serving process learns that an administration command
// (another process) ended logins or changed a contract's entitlements: it
// polls the service's login generation and reports every move, so the
// server rechecks its sessions.
#ifndef DAICHO_RELAY_LOGIN_WATCHER_H_
#define DAICHO_RELAY_LOGIN_WATCHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>

#include "daicho/status.h"
#include "relay/relay_service.h"

namespace daicho::relay {

// Reads service.LoginGeneration() every `interval` until `stop` (which ends
// the wait early) and calls `on_moved` whenever it differs from the last
// value read or the day in Japan changed (a renewal may change what a
// contract's sessions may do), starting from `seen` (the caller's read before the watch
// began; an error reads as unknown, so the first good read reports a move).
// `on_unreadable` is called once per outage with the read's status:
// sessions go on meanwhile, and revocations wait for the store. Both
// callbacks run on the calling thread; the call blocks until `stop`.
void WatchLogins(std::stop_token stop, const RelayService& service, Result<uint64_t> seen,
                 std::chrono::milliseconds interval, const std::function<void()>& on_moved,
                 const std::function<void(const Status&)>& on_unreadable);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_LOGIN_WATCHER_H_
