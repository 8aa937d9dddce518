// SyncOnce: one sync as the connecting side (a PC syncing with a relay or
// another PC) over the WebSocket transport; errors as in
// transport/websocket_options.h.
#ifndef DAICHO_TRANSPORT_SYNC_CLIENT_H_
#define DAICHO_TRANSPORT_SYNC_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "sync/change_store.h"
#include "sync/sync_session.h"
#include "transport/websocket_options.h"

namespace daicho::transport {

// What one sync moved, from this side's point of view.
struct SyncReport {
  uint64_t changes_up = 0;    // changes sent
  uint64_t changes_down = 0;  // changes received (duplicates included)
  uint64_t bytes_up = 0;      // all frame bytes sent
  uint64_t bytes_down = 0;    // all frame bytes received
  // What the peer was last known to hold (its Welcome joined with its Acks).
  VersionVector peer_version_vector;
  // What the peer's Welcome granted besides the sync (a device token, a
  // relay's office key, ...); unset when the session ended before a Welcome.
  std::optional<sync::Admission> granted;
  // Changes the store held at the end that the peer lacks: a one-shot sync
  // sends what was held at its start, so these were committed (or received
  // from elsewhere) while it ran; the next sync sends them.
  uint64_t changes_left = 0;
};

// Client-side callbacks and controls of SyncOnce. All optional; callbacks
// run on the calling thread, between frames.
struct SyncHooks {
  // After each frame received: progress so far (for a progress bar).
  std::function<void(const sync::SessionStats&)> on_progress;
  // Whenever what the peer is known to hold grows (Welcome, each Ack,
  // each batch received): lets a client record what a relay has backed up
  // even if the connection is cut later.
  std::function<void(const VersionVector&)> on_peer_holds;
  // Purpose::kWatch: after catch-up the connection stays open, receives live
  // changes and pushes local ones (the store is polled every poll_interval,
  // so commits of other processes go out too) until `stop` is requested;
  // then it closes cleanly and SyncOnce returns ok. Without kWatch a stop
  // request ends the sync early with kUnavailable ("stopped").
  std::stop_token stop;
  std::chrono::milliseconds poll_interval{500};
  // The peer ended the session with an Error (code, message, reason): called
  // before SyncOnce returns that error, e.g. so a PC learns that its saved
  // login was refused (ErrorReason::kLoginRevoked).
  std::function<void(const sync::ErrorMessage&)> on_peer_error;
};

// Connects to `url` ("ws://host:port/path" or "wss://host:port/path"), runs
// an initiator SyncSession over `store` until each side holds what the other
// held when they met (SyncSession::InSync: commits made meanwhile do not keep
// it going; SyncReport::changes_left counts them), then closes cleanly. Blocks
// the calling thread. `session.role` is forced to kInitiator; with
// Purpose::kConnectTest it closes right after the Welcome; with Purpose::kWatch
// it stays until hooks.stop (see SyncHooks). Errors: kInvalidArgument (URL, CA
// file), kUnavailable (unreachable or cut; the message has the reason, e.g. a
// TLS certificate that does not verify), the session's or the peer's code.
// `store` must outlive the call.
Result<SyncReport> SyncOnce(std::string_view url, sync::ChangeStore& store, ReplicaId local_id,
                            sync::SessionOptions session, WebSocketOptions websocket = {}, SyncHooks hooks = {});

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_SYNC_CLIENT_H_
