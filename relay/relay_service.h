// RelayService: the relay's rules over a RelayBackend (relay_backend.h)
// that keeps contracts, users with Argon2id password hashes, device tokens
// (stored hashed), office key envelopes and each contract's changes as
// opaque blobs. Everything a rule decides is written here once, whatever
// the backend: login throttling and the password gate, password hashing,
// the device-token lifecycle, disabling, which commits end logins (the
// login generation), the office key's compare-and-swap, and which changes a
// contract accepts (only sealed under its current office key). relay/lmdb/
// is the embedded backend (its on-disk layout: lmdb_backend.h).
//
// Two ids of one contract that fold equal (possible in stores from before
// ids were folded) stay two accounts, each logging in only with its exact
// spelling, and are reported by CaseConflicts() until the operator removes
// one. A contract's changes and its version vector are written in one
// backend write. Payloads are sealed by the PCs (end-to-end encryption):
// the relay reads only their clear header (the key id) and can open
// nothing.
//
// Ownership: the service shares the backend with the change stores from
// ContractChanges(), which stay usable even if the service is destroyed
// first.
//
// Thread-safety: every method may be called concurrently from any thread.
// Password hashing and verification (slow by design, see password.h) run
// outside every backend transaction.
//
// Codes: kInvalidArgument (malformed user id, password or device name),
// kPermissionDenied (a right login of a disabled contract or user),
// kFailedPrecondition (a change not sealed under the current office key;
// an ambiguous device name), kNotFound (unknown contract, user or device),
// kAlreadyExists, kUnauthenticated (wrong credentials, never saying which
// part was wrong), kUnavailable (login throttled, or too many password
// checks at once), kProtocolError (a gap in applied changes),
// kResourceExhausted (a size limit, or the store cannot grow), and the
// backend's (kCorruption, kIoError).
#ifndef DAICHO_RELAY_RELAY_SERVICE_H_
#define DAICHO_RELAY_RELAY_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/office_key.h"
#include "daicho/clock.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "relay/login_throttle.h"
#include "relay/password_gate.h"
#include "relay/relay_backend.h"
#include "sync/change_store.h"
#include "sync/contract_number.h"
#include "sync/wire_codec.h"

namespace daicho::relay {

using sync::ContractNumber;

struct RelayServiceOptions {
  // Largest payload of one change accepted by Apply: a replica's largest
  // change (Limits::max_change_bytes) sealed, what sync carries at most.
  size_t max_change_bytes = sync::kMaxWireChangeBytes;
  // Accept only changes sealed under the contract's current office key
  // (and none before the key is set up). Off only to measure what sealing
  // costs (bench/); a relay in service never turns it off.
  bool require_sealed_changes = true;
  // Login throttling per account and per source address (login_throttle.h).
  LoginThrottleOptions throttle;
  // Cap and queue of concurrent Argon2id password checks (password_gate.h).
  PasswordGateOptions password_checks;
  // Time source for throttling and the devices' last sync; nullptr means the
  // system clock.
  std::shared_ptr<Clock> clock;
};

class RelayService {
 public:
  ~RelayService();
  RelayService(const RelayService&) = delete;
  RelayService& operator=(const RelayService&) = delete;

  // The service over `backend` (not null). Codes: kInternal if libsodium
  // cannot start.
  static Result<std::unique_ptr<RelayService>> Create(std::shared_ptr<RelayBackend> backend,
                                                      const RelayServiceOptions& options = {});

  // ---- Contracts ----
  Status AddContract(const ContractNumber& contract);  // kAlreadyExists
  Result<bool> HasContract(const ContractNumber& contract) const;
  struct ContractInfo {
    ContractNumber number;
    bool disabled = false;
    size_t users = 0;
    size_t devices = 0;        // saved logins of PCs
    crypto::KeyId key_id = 0;  // the office key's id; 0 before `key init`
  };
  // Every contract, by number.
  Result<std::vector<ContractInfo>> ListContracts() const;
  // Disables (or enables again) a contract: while disabled, a right login of
  // any of its users gets kPermissionDenied ("disabled"), its live sessions
  // end (login generation) and nothing is deleted; saved logins work again
  // once it is enabled. Idempotent. kNotFound.
  Status SetContractDisabled(const ContractNumber& contract, bool disabled);
  // Deletes a disabled contract and everything of it: users, saved logins,
  // changes, version vector, office key envelopes. kFailedPrecondition if
  // it is not disabled (disable first: its sessions end then), kNotFound.
  Status RemoveContract(const ContractNumber& contract);

  // ---- Users ----
  // User ids are compared case-folded (FoldUserId): any spelling of an id
  // names its account; the store keeps and lists the spelling it was added
  // with.
  //
  // Adds a user with an Argon2id hash of `password` (one slow hash).
  // kInvalidArgument (bad id or password), kNotFound (contract),
  // kAlreadyExists (the id, in any letter case).
  Status AddUser(const ContractNumber& contract, std::string_view user_id, std::string_view password);
  // Replaces a user's password, lifts a login throttle on the account and
  // signs the user out everywhere: the user's device tokens are revoked and
  // live sessions end (login generation). kInvalidArgument, kNotFound
  // (contract or user).
  Status SetPassword(const ContractNumber& contract, std::string_view user_id, std::string_view password);
  // Removes a user and the user's device tokens; live sessions end (login
  // generation). kNotFound (contract or user).
  Status RemoveUser(const ContractNumber& contract, std::string_view user_id);
  // The contract's user ids as added, ordered by folded id. kNotFound.
  Result<std::vector<std::string>> ListUsers(const ContractNumber& contract) const;
  // Disables (or enables again) one user, as SetContractDisabled does for a
  // contract: logins refused with kPermissionDenied, live sessions end,
  // saved logins kept. Idempotent. kNotFound (contract or user).
  Status SetUserDisabled(const ContractNumber& contract, std::string_view user_id, bool disabled);
  // The contract's disabled user ids as added. kNotFound.
  Result<std::vector<std::string>> DisabledUsers(const ContractNumber& contract) const;

  // Ids that differ only in letter case, from a store written before ids
  // were folded: each group stays separate accounts (exact spelling needed
  // to log in) until the operator removes all but one (RemoveUser with the
  // exact spelling).
  struct CaseConflict {
    ContractNumber contract;
    std::vector<std::string> user_ids;
  };
  Result<std::vector<CaseConflict>> CaseConflicts() const;

  // What a password login proved, to check later that it still holds (a
  // live session ends when its login no longer would be accepted).
  struct PasswordLogin {
    std::string user_id;  // the account's id as added
    std::string stamp;    // changes whenever the password changes
  };
  // Checks a password login from `peer_address` (the peer's IP address;
  // empty for a local caller such as a test). The login, or
  // kUnauthenticated with the same message for an unknown contract, an
  // unknown user and a wrong password: all three cost one Argon2id check
  // through the password gate (ids cannot be probed by timing). Throttled
  // (LoginThrottle: per account and per address; the owner at an address
  // with no recent failures is never locked out by others' guesses):
  // kUnavailable "too many failed logins ..., retry in N s" without a
  // check. Too many checks at once: kUnavailable "the relay is busy checking
  // logins; retry in a moment" (PasswordGate). A success restarts the
  // account's count. A right password of a disabled contract or user gets
  // kPermissionDenied saying so (checked after the password, so it tells a
  // guesser nothing).
  Result<PasswordLogin> LogIn(const ContractNumber& contract, std::string_view user_id, std::string_view password,
                              std::string_view peer_address = {});
  // Ok while `login` would still be accepted (same password, user present);
  // kUnauthenticated otherwise, kPermissionDenied once the contract or user
  // is disabled. A read, no hashing.
  Status CheckPasswordLogin(const ContractNumber& contract, const PasswordLogin& login) const;

  // ---- Devices ("save password") ----
  // A device is one PC's replica (`replica`, the id in its Hello); its name
  // is only a label, and two PCs may carry the same one.
  struct Device {
    std::string name;
    ReplicaId replica;          // zero: issued before v3 and not used since
    uint64_t last_sync_ms = 0;  // Unix ms of its last login (0: none since v4)
    std::string last_address;   // the IP address it last logged in from
    // The first 8 hex digits of the replica id (what `device list` shows and
    // `device revoke` accepts), or "--------" for a zero id.
    std::string ShortId() const;
  };
  // A new random token (kDeviceTokenBytes raw bytes, returned only here; the
  // store keeps its hash) for the user's device `replica`, labelled
  // `device_name` (1-100 bytes, no NUL). A previous token of the same user
  // and replica is revoked (a rename replaces the label); other replicas'
  // tokens are untouched whatever their names. kInvalidArgument (name, zero
  // replica), kNotFound (contract or user).
  Result<std::string> IssueDeviceToken(const ContractNumber& contract, std::string_view user_id,
                                       const ReplicaId& replica, std::string_view device_name);
  // Ok if `token` is a live token of the account `user_id` names; a token
  // issued before v3 is bound to `replica` on its first use here.
  // kUnauthenticated (unknown, revoked or replaced, another contract's or
  // user's token, or its user no longer exists), kPermissionDenied (the
  // contract or user is disabled).
  Status AuthenticateDevice(const ContractNumber& contract, std::string_view user_id, std::string_view token,
                            const ReplicaId& replica);
  // A device-token login from `peer_address`: AuthenticateDevice, refused
  // with kUnavailable while the address is throttled, and a refused token
  // counting against the address (a token is too long to guess, but a
  // scanner's other guesses are slowed). No password check, so no gate.
  Status LogInWithDevice(const ContractNumber& contract, std::string_view user_id, std::string_view token,
                         const ReplicaId& replica, std::string_view peer_address);
  // Revokes the token of the user's device `device`: its replica id (the
  // first 8 or more hex digits) or its name when no other device of the user
  // has that name. Live sessions on it end (login generation). kNotFound if
  // none, kFailedPrecondition if the name is ambiguous (the message lists
  // the ids to choose from).
  Status RevokeDevice(const ContractNumber& contract, std::string_view user_id, std::string_view device);
  // Records that the user's device `replica` logged in now from `address`
  // (what `device list` shows as its last sync), to the minute: a login
  // within a minute of the recorded one from the same address writes
  // nothing. A replica without a saved login is not recorded. kNotFound
  // (contract or user).
  Status RecordDeviceSync(const ContractNumber& contract, std::string_view user_id, const ReplicaId& replica,
                          std::string_view address);
  // The user's devices holding a token, by name then replica id.
  // kNotFound (contract).
  Result<std::vector<Device>> ListDevices(const ContractNumber& contract, std::string_view user_id) const;

  // ---- Ending live sessions ----
  // A counter in the store that every commit ending logins raises (device
  // revoke or replace, password change, user removal), also when another
  // process (an administration command) commits it: a serving process polls
  // it and rechecks its sessions' logins when it moved. Disabling a contract
  // or user raises it too. A cheap read.
  Result<uint64_t> LoginGeneration() const;

  // ---- Office key (end-to-end encryption) ----
  // The contract's office key envelopes (empty before the first PC's `key
  // init`). The relay cannot open them. kNotFound (contract).
  Result<crypto::WrappedOfficeKey> GetOfficeKey(const ContractNumber& contract) const;
  // Stores `keys` if the stored key id is still `replaces_key_id` (0: none
  // yet): keys.current_key_id equal to it re-wraps the current key (new
  // passphrase), a higher one is a rotation (usually one more; further after
  // a restore from a backup older than the PCs' key). kFailedPrecondition if another PC
  // changed the key first; kInvalidArgument for other ids; kNotFound.
  Status PublishOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys,
                          crypto::KeyId replaces_key_id);

  // ---- Changes ----
  // The contract's change store for sync sessions (opaque blobs; see
  // sync/change_store.h). Each call returns a new lightweight handle; all of
  // a contract's handles see the same data and may be used concurrently. A
  // handle can only ever read and write its own contract's keys.
  // kNotFound (contract).
  Result<std::unique_ptr<sync::ChangeStore>> ContractChanges(const ContractNumber& contract);

  // The gate of LogIn's password checks (to count its entries in tests).
  PasswordGate& TEST_password_gate();

  struct Impl;

 private:
  explicit RelayService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_RELAY_SERVICE_H_
