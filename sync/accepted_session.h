// AcceptedSession: what a server's store factory grants a connection whose
// Hello it accepted (transport/sync_server.h, relay/relay_admission.h): the
// store the session syncs and what the Welcome carries.
#ifndef DAICHO_SYNC_ACCEPTED_SESSION_H_
#define DAICHO_SYNC_ACCEPTED_SESSION_H_

#include <functional>
#include <memory>
#include <string>

#include "daicho/status.h"
#include "sync/change_store.h"
#include "sync/sync_session.h"

namespace daicho::sync {

struct AcceptedSession {
  // The store the session syncs (owned by the connection).
  std::unique_ptr<ChangeStore> store;
  // Connections in the same non-empty group share one store: after one of
  // them applies a batch, the others push the new changes to their peers at
  // once (a relay groups by contract). Empty: no live pushes.
  std::string group;
  // Sent in the Welcome (a device token issued on the Hello's request, a
  // relay's office key, what a PC knows the relay holds, ...).
  Admission admission;
  // Whether the login that admitted the session still holds: called right
  // after admission and on every SyncServer::RecheckLogins(), never during
  // another store call of its session; kUnauthenticated ends the session
  // with an Error (reason kLoginRevoked), kPermissionDenied with one saying the
  // login is no longer allowed, kFailedPrecondition (the terms the session
  // was admitted under changed, e.g. a relay's entitlements) with an Error
  // unavailable (reason kEntitlementChanged: reconnect at once); other
  // codes (a storage hiccup) keep it. Must be quick (no password hashing).
  // Empty: never rechecked.
  std::function<Status()> recheck_login;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_ACCEPTED_SESSION_H_
