// RelayClient: syncs a Replica with the office's relay (the vendor-hosted
// server that keeps every PC's changes), and answers "is my work backed up?".
//
// The relay settings (URL, contract, user, saved device token) and the sync
// state (what the relay has acknowledged, the last successful sync, backup on
// or off) are kept in the replica as local settings: they are never synced,
// and every process opening the replica sees them. A password is never
// stored: "save password" stores a device token the relay issued for this PC,
// which the relay's operator can revoke (`daicho-relay device revoke`).
//
// End-to-end encryption: every change sent to the relay is sealed with the
// office's data key, which the relay never holds (docs/security.md). The
// calls that set it up, unlock and rotate it are in daicho/office_key.h; a
// key unlocked with store_key = false lives in this client's memory.
//
// Everything works offline; only Connect, Sync, Watch and the office key
// calls that publish or fetch envelopes need the relay.
//
// Ownership and threading: borrows the Replica (it must outlive the client).
// One client per replica and process is enough; its methods may be called
// from any one thread at a time (Watch blocks its caller until stopped).
//
// Errors: kInvalidArgument (bad URL, malformed contract number, empty user),
// kFailedPrecondition (no relay configured, backup disabled, no saved login
// and no password given), kUnauthenticated (wrong contract, user or
// password: the relay does not say which; or the saved login was revoked or
// replaced, or ended while connected: the message says so and
// BackupStatus::saved_login_refused records it), kUnavailable (relay
// unreachable, TLS certificate not trusted, connection cut, login throttled;
// the message says which), kPermissionDenied, and the replica's own codes.
// Office key during Sync/Watch: kFailedPrecondition (not set up yet, rotated
// on another PC and not unlocked here), kUnauthenticated (wrong
// SyncOptions::passphrase), kCorruption (a change from the relay that does
// not open: it is refused and nothing is applied).
#ifndef DAICHO_RELAY_CLIENT_H_
#define DAICHO_RELAY_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "daicho/entitlements.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/sync_types.h"
#include "daicho/version_vector.h"

namespace daicho {

// Where and as whom a replica syncs.
struct RelaySettings {
  // "wss://host[:port]/path" (TLS, certificate verified; port 443 when
  // omitted) or "ws://..." (port 80 when omitted; only sensible on loopback or
  // inside a trusted network). An IPv6 address goes in brackets: [::1].
  std::string url;
  // The office's contract number, NNNN-NNNN-NNNN.
  std::string contract;
  // The login user id the relay's operator created.
  std::string user;
  // wss://: PEM file of the CA certificates trusted for the relay; empty: the
  // system's trust store.
  std::string tls_ca_file;
  // The saved login (see the top of this file); empty: none saved.
  std::string device_token;
  // The name the device token was issued for (as the relay lists it).
  std::string device_name;
};

// Is this replica's work on the relay?
struct BackupStatus {
  bool configured = false;  // Connect succeeded once (settings saved)
  bool enabled = true;      // backup enable/disable
  // The end of the last sync that left both sides holding the same changes.
  std::optional<std::chrono::system_clock::time_point> last_sync;
  // Records with changes the relay has not acknowledged ("not backed up"),
  // local edits and changes received from elsewhere alike.
  uint64_t unsynced_records = 0;
  // What the relay is known to hold.
  VersionVector relay_holds;
  // The relay refused the saved login (its device was revoked or replaced
  // by another login, its user removed or the password changed): Sync and
  // Watch without a password fail at once until Connect saves a new one.
  bool saved_login_refused = false;
};

struct SyncOptions {
  // Login when no device token is saved (or to replace a revoked one).
  std::string password;
  // The office passphrase: used only when this PC does not hold the office's
  // current key (first sync, after a rotation elsewhere, or store_key off),
  // to unlock it from the relay's envelope before anything is exchanged.
  std::string passphrase;
  // Where a key unlocked with `passphrase` is kept (as
  // OfficeKeyOptions::store_key, daicho/office_key.h).
  bool store_key = true;
  // Called between frames on the syncing thread.
  std::function<void(const SyncProgress&)> on_progress;
};

struct WatchOptions {
  SyncOptions sync;
  // Local commits (of any process) are pushed within this interval.
  std::chrono::milliseconds poll_interval{500};
  // After a cut connection: about retry_delay before reconnecting, doubled
  // up to max_retry_delay while the relay stays unreachable. Each wait is
  // drawn at random between half the step and the step, so the PCs of many
  // offices cut off at once (a relay node restarted) come back spread out.
  std::chrono::milliseconds retry_delay{500};
  std::chrono::milliseconds max_retry_delay{30000};
  // A connection ended and Watch will reconnect after the retry delay: ok
  // when the relay closed it cleanly, the reason otherwise (for a status line
  // or log). Not called when Watch returns instead.
  std::function<void(const Status&)> on_connection_end;
  // The relay admitted this PC read-only: the office's Internet backup is
  // neither free nor paid (daicho/entitlements.h). Changes from other PCs
  // still arrive live; this PC's wait here, and Watch reconnects by itself
  // as soon as the relay allows uploads again (a payment, new filings).
  // Called once per such connection with the relay's reason
  // (kPermissionDenied, Japanese first, then English).
  std::function<void(const Status&)> on_uploads_refused;
};

class RelayClient {
 public:
  explicit RelayClient(Replica& replica);
  ~RelayClient();
  RelayClient(const RelayClient&) = delete;
  RelayClient& operator=(const RelayClient&) = delete;

  // Logs in to the relay without exchanging changes. On success saves
  // `settings` (with save_password, the device token the relay issued for
  // `settings.device_name`, which must then be non-empty; otherwise no token,
  // dropping any saved one). Connecting to another relay or contract starts
  // the backup state afresh (nothing is acknowledged there yet). Nothing is
  // saved on failure.
  Status Connect(RelaySettings settings, const std::string& password, bool save_password);

  // The saved settings; nullopt before the first successful Connect.
  Result<std::optional<RelaySettings>> Settings() const;

  // Syncs both ways until the relay and this replica hold the same changes.
  // A cut sync resumes from the last acknowledged batch next time. Records
  // what the relay acknowledged as it goes (BackupStatus), and keeps the
  // relay's licence report (GetEntitlements). When the relay refuses this
  // PC's uploads (Internet backup neither free nor paid), everything from
  // the relay is still received, nothing of this PC's is lost, and Sync
  // returns kPermissionDenied with the relay's reason and how many records
  // wait here, unless none do.
  Result<SyncSummary> Sync(const SyncOptions& options = {});

  // Syncs, then stays connected: changes from other PCs arrive live, local
  // commits go out within poll_interval; reconnects after cuts (with
  // back-off) until `stop` is requested, then returns ok. Returns early with
  // the error when retrying cannot help (kUnauthenticated, kPermissionDenied,
  // kFailedPrecondition, kInvalidArgument, a local storage error).
  Status Watch(const WatchOptions& options, std::stop_token stop);

  // Turns relay sync off (Sync/Watch then fail with kFailedPrecondition;
  // everything else keeps working offline) or on again.
  Status SetBackupEnabled(bool enabled);

  // Reads the backup state (no network). Counting unsynced records reads the
  // changes the relay lacks: fast when little is unsynced.
  Result<BackupStatus> GetBackupStatus() const;

  // The licence entitlements the relay last reported to this PC (no
  // network); known = false before the first report. kCorruption if the
  // saved report is damaged (a sync replaces it).
  Result<Entitlements> GetEntitlements() const;

 private:
  // Lets the office key calls (daicho/office_key.h) share this client's
  // state; defined in client/relay_client_access.h.
  friend struct RelayClientAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho

#endif  // DAICHO_RELAY_CLIENT_H_
