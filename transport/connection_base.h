// ConnectionBase: what the rest of the transport (ServerHub, SyncServer,
// SyncOnce) sees of a connection of either stream type (transport/connection.h):
// enough to start, stop, push to and account for it, and to read its session
// once it is over. Internal to transport/.
#ifndef DAICHO_TRANSPORT_CONNECTION_BASE_H_
#define DAICHO_TRANSPORT_CONNECTION_BASE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daicho/status.h"
#include "sync/messages.h"
#include "sync/sync_session.h"
#include "transport/asio.h"

namespace daicho::transport::detail {

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual asio::any_io_executor executor() = 0;
  // Server: starts the connection (TLS, the HTTP upgrade, the session) once
  // the ServerHub registered it.
  virtual void StartServer() = 0;
  virtual const sync::SyncSession& session() const = 0;
  // Why the connection ended: the session's failure first (sent or
  // received Error), then the first transport event.
  virtual Status Outcome() const = 0;
  // Strand only.
  virtual void Abort(Status why) = 0;
  // The shared store gained changes through another connection: push them.
  // Strand only.
  virtual void PushLocalChanges() = 0;

  // The peer proved the office key (PeerAuth handshake). Strand only.
  virtual bool peer_authenticated() const = 0;
  // Ends the session with an Error carrying `reason`; frames not yet written
  // are dropped. Strand only.
  virtual void EndSession(Status why, sync::ErrorReason reason) = 0;

  // Server draining (SyncServer::GoAway): a sync session finishes the store
  // call under way and writes what is queued, then closes with WebSocket
  // close code 1001 (going away); a connection without a session yet (plain
  // HTTP, handshakes) is closed at once. Strand only.
  virtual void GoAway() = 0;

  // A server connection whose login no longer holds (sync::AcceptedSession::
  // recheck_login) ends, telling the peer why. The check reads the store: with
  // a store pool it runs there, after the store call under way (rechecks
  // arriving meanwhile run once). Strand only.
  virtual void RecheckLogin() = 0;

  // sync::AcceptedSession::recheck_login, set at the Hello. Strand only.
  std::function<Status()> recheck_login;
  // What the admission (store_factory, run off the strand while the reader
  // waits for it) granted, taken over on the strand once it is back.
  std::function<Status()> admitted_recheck_login;
  std::string admitted_group;

  // The KEY of the keyed upgrade path ("/sync/<KEY>"), empty on a plain
  // path. Set on the strand before the Hello; read by the admission.
  std::string path_key;

  // sync::AcceptedSession::group, set once at the Hello; guarded by the hub's groups
  // mutex.
  std::string group;

  // Server bookkeeping (ServerHub), guarded by the hub's mutex.
  std::weak_ptr<ConnectionBase> self;
  std::string address;      // the peer's IP address (caps per address)
  std::string peer_text;    // address:port, for log lines
  uint64_t serial = 0;      // accept order: lower is older
  size_t buffered = 0;      // input buffered now (counted in the budget)
  bool unfinished = false;  // part of a message: the buffer may be shed
  bool counted = false;     // holds a place under the caps
  bool logged_in = false;   // past the Welcome: shed last
  // From a trusted proxy (SyncServerOptions::trusted_proxies): a PROXY
  // header comes first, and the connection counts under an address only
  // once it has named one (address_counted). Set before it starts.
  bool proxied = false;
  bool address_counted = false;
  std::string contract;  // the Hello's, once logged in
  std::string user;
  std::string device;

  // No session line when it ends: it was a plain HTTP request or refused
  // at a cap (logged as such). Set before it starts or on its strand.
  bool quiet = false;

 protected:
  // What RecheckLogin found (`still`: recheck_login's answer). Strand only.
  void ApplyRecheck(const Status& still) {
    if (still.ok()) return;
    // Only a refused login ends the session; a storage hiccup does not. A
    // login no longer allowed (a disabled contract or user) is not revoked:
    // the PC keeps its saved login for when it is enabled again.
    if (still.code() == Code::kPermissionDenied) {
      EndSession(Status(Code::kPermissionDenied, "login no longer allowed while connected: " + still.message()),
                 sync::ErrorReason::kNone);
      return;
    }
    // The terms it was admitted under changed (a relay: the contract's
    // entitlements): the PC reconnects at once and syncs under the new ones.
    if (still.code() == Code::kFailedPrecondition) {
      EndSession(Status(Code::kUnavailable, still.message()), sync::ErrorReason::kEntitlementChanged);
      return;
    }
    if (still.code() != Code::kUnauthenticated) return;
    EndSession(Status(Code::kUnauthenticated, "login revoked while connected: " + still.message()),
               sync::ErrorReason::kLoginRevoked);
  }
};

}  // namespace daicho::transport::detail

#endif  // DAICHO_TRANSPORT_CONNECTION_BASE_H_
