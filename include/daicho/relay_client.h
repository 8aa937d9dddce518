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
// first PC of a contract creates it (InitOfficeKey, which returns the
// printable recovery code); every other PC unlocks it with the office
// passphrase (UnlockOfficeKey, or SyncOptions::passphrase) or the recovery
// code (RecoverOfficeKey). The unlocked key is kept in the replica directory
// (`office.key`, owner-only) or, with store_key = false, only in this
// client's memory. Login passwords never protect data: a relay password
// reset leaves the office key untouched.
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
// Office key: kFailedPrecondition (not set up yet, already set up, rotated
// on another PC and not unlocked here, changed by another PC meanwhile),
// kUnauthenticated (wrong passphrase or recovery code), kInvalidArgument (a
// passphrase or recovery code breaking the rules), kCorruption (a change from
// the relay that does not open: it is refused and nothing is applied).
#ifndef DAICHO_RELAY_CLIENT_H_
#define DAICHO_RELAY_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "daicho/replica.h"
#include "daicho/status.h"
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

// Progress of one sync, for progress bars. The totals are known once the
// relay answered the login; "changes" are committed transactions.
struct SyncProgress {
  uint64_t changes_up = 0;
  uint64_t changes_down = 0;
  uint64_t changes_to_send = 0;
  uint64_t changes_to_receive = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
};

// What one completed sync moved.
struct SyncSummary {
  uint64_t changes_up = 0;
  uint64_t changes_down = 0;  // duplicates included
  uint64_t bytes_up = 0;      // all protocol bytes, both ways
  uint64_t bytes_down = 0;
  std::chrono::milliseconds elapsed{0};
  // A sync sends what the replica held when it began: changes committed (or
  // received from elsewhere) while it ran, which the peer still lacks; the
  // next sync sends them.
  uint64_t changes_left = 0;
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
  // Where a key unlocked with `passphrase` is kept (see OfficeKeyOptions).
  bool store_key = true;
  // Called between frames on the syncing thread.
  std::function<void(const SyncProgress&)> on_progress;
};

struct WatchOptions {
  SyncOptions sync;
  // Local commits (of any process) are pushed within this interval.
  std::chrono::milliseconds poll_interval{500};
  // After a cut connection: first wait before reconnecting, doubled up to
  // max_retry_delay while the relay stays unreachable.
  std::chrono::milliseconds retry_delay{1000};
  std::chrono::milliseconds max_retry_delay{60000};
  // A connection ended and Watch will reconnect after the retry delay: ok
  // when the relay closed it cleanly, the reason otherwise (for a status line
  // or log). Not called when Watch returns instead.
  std::function<void(const Status&)> on_connection_end;
};

// Options of the office key calls.
struct OfficeKeyOptions {
  // Login when no device token is saved.
  std::string password;
  // Keep the key in the replica directory (office.key, readable by its owner
  // only) so that later syncs need no passphrase. false: keep it only in this
  // RelayClient's memory (and remove a stored one).
  bool store_key = true;
};

// What this PC holds of the office key (no network).
struct OfficeKeyStatus {
  // The newest key id held here (0: none); older ids are held too.
  uint32_t key_id = 0;
  size_t keys_held = 0;
  // Kept in the replica directory (false: in memory only, or none).
  bool stored = false;
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
  // what the relay acknowledged as it goes (BackupStatus).
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

  // ---- Office key ----
  // First PC of a contract: creates the office's random data key, publishes
  // it wrapped under `passphrase` and under a new recovery code, keeps it
  // here, and returns the recovery code (to print once and keep offline).
  // kFailedPrecondition if the contract already has an office key.
  Result<std::string> InitOfficeKey(const std::string& passphrase, const OfficeKeyOptions& options = {});
  // Unlocks the contract's office key (all its ids) from the relay's envelope.
  Status UnlockOfficeKey(const std::string& passphrase, const OfficeKeyOptions& options = {});
  // The same with the recovery code (for a forgotten passphrase; set a new
  // one with ChangeOfficePassphrase afterwards).
  Status RecoverOfficeKey(const std::string& recovery_code, const OfficeKeyOptions& options = {});
  // Makes a new data key for changes from now on (after a PC is lost or a
  // member leaves), protected by `passphrase` (the current one or a new one)
  // and a new recovery code, which is returned; older keys stay readable to
  // holders of the new one. PCs still holding only older keys can no longer
  // sync until they unlock again. Needs the current key here, or a newer
  // one: a relay restored from a backup taken before a rotation is brought
  // past every key a PC holds this way (docs/operations.md "Restore").
  Result<std::string> RotateOfficeKey(const std::string& passphrase, const OfficeKeyOptions& options = {});
  // Replaces the office passphrase (the key and recovery code stay). Needs
  // the current key here.
  Status ChangeOfficePassphrase(const std::string& new_passphrase, const OfficeKeyOptions& options = {});
  // What this PC holds (no network); without relay settings, the key it
  // got from a peer or a file (daicho/peer_sync.h).
  Result<OfficeKeyStatus> GetOfficeKeyStatus() const;
  // Removes the key from this PC (memory and office.key).
  Status ForgetOfficeKey();

  // Reads the backup state (no network). Counting unsynced records reads the
  // changes the relay lacks: fast when little is unsynced.
  Result<BackupStatus> GetBackupStatus() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho

#endif  // DAICHO_RELAY_CLIENT_H_
