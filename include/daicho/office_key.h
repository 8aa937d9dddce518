// The office key: the data key every change is sealed with before it leaves
// a PC (end-to-end encryption, docs/security.md). The relay and the network
// never see it; only the office's PCs hold it.
//
// Life of a key:
// - The first PC of a contract creates it (InitOfficeKey), which publishes
//   it on the relay wrapped under the office passphrase and under a recovery
//   code, and returns the printable recovery code.
// - Every other PC unlocks it once: from the relay with the passphrase
//   (UnlockOfficeKey, or SyncOptions::passphrase) or the recovery code
//   (RecoverOfficeKey); without the relay, from a PC serving on the LAN
//   (UnlockOfficeKeyFromPeer) or from a file (ExportOfficeKey on a PC that
//   has it, ImportOfficeKey here).
// - After a PC is lost or a member leaves, RotateOfficeKey makes a new key
//   for changes from then on; ChangeOfficePassphrase replaces the passphrase.
// The unlocked key is kept in the replica directory (`office.key`, readable
// by its owner only) or, with store_key = false, only in the RelayClient's
// memory. Login passwords never protect data: a relay password reset leaves
// the office key untouched. Argon2id makes each call that takes a passphrase
// or recovery code cost about a second and 256 MiB: call it off the UI
// thread.
//
// Ownership and threading: the calls borrow the RelayClient or Replica for
// their duration; calls on one RelayClient follow its threading rule (any
// one thread at a time).
//
// Codes: kFailedPrecondition (no relay configured; the key is not set up
// yet, already set up, rotated on another PC and not unlocked here, or
// changed by another PC meanwhile; this PC holds a newer key than the relay,
// which was restored from an older backup: the message says what to do),
// kUnauthenticated (wrong passphrase or recovery code, or wrong relay login),
// kInvalidArgument (a passphrase or recovery code breaking the rules),
// kUnavailable (relay or peer unreachable), kCorruption (an envelope or file
// that does not decode), kIoError, and the replica's own codes.
#ifndef DAICHO_OFFICE_KEY_H_
#define DAICHO_OFFICE_KEY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho {

// Options of the office key calls over the relay.
struct OfficeKeyOptions {
  // Login when no device token is saved.
  std::string password;
  // Keep the key in the replica directory (office.key, readable by its owner
  // only) so that later syncs need no passphrase. false: keep it only in the
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

// ---- Over the relay (RelayClient::Connect first) ----

// First PC of a contract: creates the office's random data key, publishes
// it wrapped under `passphrase` and under a new recovery code, keeps it
// here, and returns the recovery code (to print once and keep offline).
// kFailedPrecondition if the contract already has an office key.
Result<std::string> InitOfficeKey(RelayClient& client, const std::string& passphrase,
                                  const OfficeKeyOptions& options = {});
// Unlocks the contract's office key (all its ids) from the relay's envelope.
Status UnlockOfficeKey(RelayClient& client, const std::string& passphrase, const OfficeKeyOptions& options = {});
// The same with the recovery code (for a forgotten passphrase; set a new one
// with ChangeOfficePassphrase afterwards).
Status RecoverOfficeKey(RelayClient& client, const std::string& recovery_code, const OfficeKeyOptions& options = {});
// Makes a new data key for changes from now on, protected by `passphrase`
// (the current one or a new one) and a new recovery code, which is returned;
// older keys stay readable to holders of the new one. PCs still holding only
// older keys can no longer sync until they unlock again. Needs the current
// key here, or a newer one: a relay restored from a backup taken before a
// rotation is brought past every key a PC holds this way
// (docs/operations.md "Restore").
Result<std::string> RotateOfficeKey(RelayClient& client, const std::string& passphrase,
                                    const OfficeKeyOptions& options = {});
// Replaces the office passphrase (the key and recovery code stay). Needs the
// current key here.
Status ChangeOfficePassphrase(RelayClient& client, const std::string& new_passphrase,
                              const OfficeKeyOptions& options = {});

// ---- On this PC (no network) ----

// What this PC holds: for the contract of the relay settings, or, without
// them, the key got from a peer or a file, whatever its contract.
Result<OfficeKeyStatus> GetOfficeKeyStatus(const RelayClient& client);
// Removes the key from this PC (the client's memory and office.key).
Status ForgetOfficeKey(RelayClient& client);

// ---- For PCs that never reach the relay ----

// Asks the PC at `url` ("ws://host:port/", serving with
// PeerServerOptions::share_key_envelope) for the office key's
// passphrase-wrapped envelope (no office key is needed for this; nothing
// else is handed out) and unlocks it with `passphrase`. `store_key`: keep it
// in office.key (else only the envelope is kept and later calls need the
// passphrase).
Status UnlockOfficeKeyFromPeer(Replica& replica, const std::string& url, const std::string& passphrase,
                               bool store_key = true);
// Writes the office key's passphrase-wrapped envelope (never the bare key,
// nor the recovery-code envelope) to `path` (created owner-only, replacing
// any file there), for carrying to another PC. kFailedPrecondition if this
// PC never saw the envelopes (unlock the key from the relay or a peer
// first). Format: docs/formats.md.
Status ExportOfficeKey(Replica& replica, const std::string& path);
// Reads a file written by ExportOfficeKey and unlocks it with `passphrase`.
Status ImportOfficeKey(Replica& replica, const std::string& path, const std::string& passphrase, bool store_key = true);

}  // namespace daicho

#endif  // DAICHO_OFFICE_KEY_H_
