// Who may sync with the relay: turns a session's Hello into the contract's
// change store, or refuses it. Shared by `daicho-relay serve` and the
// benchmarks so both log in exactly as a vendor's relay does.
#ifndef DAICHO_RELAY_RELAY_ADMISSION_H_
#define DAICHO_RELAY_RELAY_ADMISSION_H_

#include <string>

#include "daicho/status.h"
#include "relay/relay_service.h"
#include "sync/accepted_session.h"
#include "sync/messages.h"

namespace daicho::relay {

// Admits a Hello that proves a login of its contract — a user's password,
// or a device token the relay issued to that user — to the contract's
// change store, grouped by contract for live pushes. A password login whose
// Hello names a device gets a new device token for its replica (replacing
// that replica's earlier one, never another PC's). The session's
// recheck_login asks the store again whether the login still holds (the
// token not revoked, the password unchanged, the user present, the contract
// and user enabled). A device's login is recorded as its last sync from
// `peer_address` (RelayService::RecordDeviceSync). Every Welcome carries the
// contract's entitlements (RelayService::SyncTermsFor): a contract whose
// Internet backup is neither free nor paid is admitted read-only (the PC
// downloads, uploads are refused), and a live session ends (Error
// unavailable, reason kEntitlementChanged) when that changes, so the PC
// reconnects under the new terms. Every Welcome carries the contract's office key
// envelopes; a Purpose::kPublishKeys Hello stores its envelopes first (see
// RelayService::PublishOfficeKey). Codes: kFailedPrecondition (the office key
// changed meanwhile), kUnauthenticated (malformed or unknown
// contract, unknown user, wrong password or token, no credentials),
// kPermissionDenied (contract or user disabled; the vendor's staff contract,
// whose users work in the panel only and never sync), kInvalidArgument (bad device name),
// kUnavailable (throttled, or too many password checks at once: see
// RelayService::LogIn), store errors. `peer_address` is the peer's IP address
// (transport::SyncServerOptions::store_factory's second argument): logins are
// throttled per address as well as per account.
Result<sync::AcceptedSession> AdmitSession(RelayService& store, const sync::Hello& hello,
                                           const std::string& peer_address);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_RELAY_ADMISSION_H_
