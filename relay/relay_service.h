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
// outside every backend transaction, each holding a slot of the password
// gate (at most a few at once, whoever asks: a login, a new user, a reset).
//
// Who may change what (the admin panel, issue 14): every call that changes
// an account or a device takes the Actor doing it, last (default: the
// vendor's operator, who may do anything). A user may change only their
// own password and sessions; managing users takes an enabled admin of the
// contract, checked in the same backend write as the change, and that
// write also appends the audit row saying who did it (ListAudit). Nothing
// of another contract is ever found: every call names its contract.
//
// Codes: kInvalidArgument (malformed user id, password or device name),
// kPermissionDenied (a right login of a disabled contract or user; an
// actor who is not an enabled admin of the contract),
// kFailedPrecondition (a change not sealed under the current office key;
// an ambiguous device name; a user's change that would leave the contract
// without an enabled admin), kNotFound (unknown contract, user or device),
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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/office_key.h"
#include "daicho/clock.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "relay/entitlements/entitlements.h"
#include "relay/login_throttle.h"
#include "relay/password_gate.h"
#include "relay/relay_backend.h"
#include "sync/change_store.h"
#include "sync/contract_number.h"
#include "sync/messages.h"
#include "sync/wire_codec.h"

namespace daicho::relay {

using sync::ContractNumber;

// Who makes a change: for the audit log and the permission check.
struct Actor {
  std::string user_id;  // the acting user as added; empty: the vendor's operator (daicho-relay CLI)
  std::string address;  // the actor's IP address; empty for a local command
  std::string via;      // "cli", "panel" or "api"
  // A user of the vendor's staff contract (the panel's vendor view): may
  // record licences, filings and payments of every office while that user
  // and contract are enabled, checked in the write of each change.
  bool vendor = false;
  // The vendor's operator at the relay's command line: may do anything.
  static Actor Operator();
  bool is_operator() const { return user_id.empty(); }
};

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
  // A panel session ends after this long unused (its use is recorded to
  // about a minute, so it may live up to a minute longer) ...
  uint64_t panel_idle_ms = 30 * 60 * 1000;
  // ... and this long after its login however much it is used: a stolen
  // cookie does not work forever.
  uint64_t panel_absolute_ms = 12 * 60 * 60 * 1000;
  // A password-reset code is valid this long, for this many tries (at most
  // 255): 8 digits cannot be guessed online in 5 tries, and a code that
  // leaks from a mailbox later is dead.
  uint64_t reset_code_ms = 30 * 60 * 1000;
  uint32_t reset_code_tries = 5;
  // Time source for throttling, last syncs, sessions, codes and the audit
  // log; nullptr means the system clock.
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
  // end (login generation), its panel sessions are refused and nothing is
  // deleted; saved logins work again once it is enabled. Idempotent.
  // kNotFound.
  Status SetContractDisabled(const ContractNumber& contract, bool disabled);
  // Deletes a disabled contract and everything of it: users, saved logins,
  // panel sessions, reset codes, audit log, changes, version vector, office
  // key envelopes. kFailedPrecondition if
  // it is not disabled (disable first: its sessions end then), kNotFound.
  Status RemoveContract(const ContractNumber& contract);

  // ---- Users ----
  // User ids are compared case-folded (FoldUserId): any spelling of an id
  // names its account; the store keeps and lists the spelling it was added
  // with.
  //
  // Adds a user (not an admin) with an Argon2id hash of `password` (one
  // slow hash, through the password gate). kInvalidArgument (bad id or
  // password), kNotFound (contract), kPermissionDenied (actor),
  // kAlreadyExists (the id, in any letter case), kUnavailable (gate full).
  Status AddUser(const ContractNumber& contract, std::string_view user_id, std::string_view password,
                 const Actor& actor = Actor::Operator());
  // Replaces a user's password (hashed through the gate), lifts a login
  // throttle on the account and signs the user out everywhere: the user's
  // device tokens are revoked, panel sessions and reset code deleted and
  // live sessions end (login generation). kInvalidArgument, kNotFound
  // (contract or user), kPermissionDenied (actor), kUnavailable (gate full).
  Status SetPassword(const ContractNumber& contract, std::string_view user_id, std::string_view password,
                     const Actor& actor = Actor::Operator());
  // Removes a user with the user's device tokens, panel sessions and reset
  // code; live sessions end (login generation). kNotFound (contract or
  // user), kPermissionDenied (actor), kFailedPrecondition (a user's
  // removal of the last enabled admin).
  Status RemoveUser(const ContractNumber& contract, std::string_view user_id, const Actor& actor = Actor::Operator());
  // What `user list` and the panel's user list show of each user.
  struct UserInfo {
    std::string user_id;  // as added
    bool admin = false;
    bool disabled = false;
    size_t devices = 0;         // saved logins of PCs
    uint64_t last_sync_ms = 0;  // the last sync by any login; 0: none recorded (or before v5)
    std::string last_address;   // where it came from
  };
  // The contract's users (ids as added), ordered by folded id. kNotFound.
  Result<std::vector<UserInfo>> ListUserInfo(const ContractNumber& contract) const;
  // Disables (or enables again) one user, as SetContractDisabled does for a
  // contract: logins refused with kPermissionDenied, live sessions end,
  // panel sessions and reset code deleted, saved logins kept. Idempotent.
  // kNotFound (contract or user), kPermissionDenied (actor),
  // kFailedPrecondition (a user disabling the last enabled admin).
  Status SetUserDisabled(const ContractNumber& contract, std::string_view user_id, bool disabled,
                         const Actor& actor = Actor::Operator());
  // Makes a user an admin of the contract (or a plain user again): admins
  // manage the contract's users in the panel. A store upgraded to v5 has no
  // admin until the operator names one. Idempotent. kNotFound (contract or
  // user), kPermissionDenied (actor), kFailedPrecondition (a user demoting
  // the last enabled admin, themselves included).
  Status SetUserAdmin(const ContractNumber& contract, std::string_view user_id, bool admin,
                      const Actor& actor = Actor::Operator());

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
    // Records not yet backed up as the PC last reported; nullopt: unknown.
    std::optional<uint64_t> unsynced_records;
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
  // the ids to choose from), kPermissionDenied (actor).
  Status RevokeDevice(const ContractNumber& contract, std::string_view user_id, std::string_view device,
                      const Actor& actor = Actor::Operator());
  // Records that the user logged in now from `address` with the PC
  // `replica` (any login: the user's last sync in ListUserInfo; a PC with
  // a saved login: its last sync in ListDevices, and `unsynced_records`
  // when the PC reported it), to the minute: a login within a minute of the
  // recorded one from the same address writes nothing unless the reported
  // count changed. kNotFound (contract or user).
  Status RecordDeviceSync(const ContractNumber& contract, std::string_view user_id, const ReplicaId& replica,
                          std::string_view address, std::optional<uint64_t> unsynced_records = {});
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
  // The same write records when the key was made (a first key or a
  // rotation) and last changed (any publication), for GetOfficeKeyStatus.
  Status PublishOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys,
                          crypto::KeyId replaces_key_id);
  // What the panel shows of the office key: never key material.
  struct OfficeKeyStatus {
    crypto::KeyId key_id = 0;  // 0: no key yet
    uint64_t created_ms = 0;   // the current key's first publication; 0: unknown (before v5)
    uint64_t changed_ms = 0;   // its last publication (a new passphrase too); 0: unknown
  };
  // kNotFound (contract).
  Result<OfficeKeyStatus> GetOfficeKeyStatus(const ContractNumber& contract) const;

  // ---- Admin panel: sessions, own password, password reset, audit ----
  // A panel login. `token` is kPanelTokenBytes random bytes returned only
  // here (the store keeps its hash): the browser's cookie. In this part,
  // `via` ("panel" or "api") is what the audit rows say the call came by.
  struct PanelSession {
    std::string token;
    std::string user_id;  // as added
    bool admin = false;
    bool vendor = false;  // a user of the vendor's staff contract
  };
  // Who a valid panel session belongs to, as it is now.
  struct PanelCaller {
    std::string user_id;  // as added
    bool admin = false;
    std::string address;  // of this request
    bool vendor = false;  // a user of the vendor's staff contract (VendorContract)
    // The caller as the actor of a change made through `via`.
    Actor actor(std::string_view via = "panel") const;
  };
  static constexpr size_t kPanelTokenBytes = 32;
  // LogIn (its throttle, gate, messages and codes) and a new panel session.
  // Logins that were checked are audited, refused ("login.failed", naming
  // the id tried if the contract exists) or accepted ("login"); throttled
  // and busy refusals are not (nothing was checked).
  Result<PanelSession> OpenPanelSession(const ContractNumber& contract, std::string_view user_id,
                                        std::string_view password, std::string_view address,
                                        std::string_view via = "panel");
  // The session's user if `token` is a live session of the contract: not
  // idle for panel_idle_ms, younger than panel_absolute_ms, its user and
  // contract present and enabled. Its last use and `address` are recorded
  // to the minute. kUnauthenticated, with one message, for anything else
  // (an expired session is deleted then).
  Result<PanelCaller> CheckPanelSession(const ContractNumber& contract, std::string_view token,
                                        std::string_view address);
  // Logs the session out (deletes it). Ok also if it is unknown.
  Status ClosePanelSession(const ContractNumber& contract, std::string_view token);
  // A user changes their own password: `current` checked as LogIn checks it
  // (throttled, gated, same messages and codes), then SetPassword's effects
  // (every panel session, device token and live session of the user ends),
  // audited. Returns a new panel session for the browser that asked, so it
  // stays logged in. kInvalidArgument (new password) before any check.
  Result<PanelSession> ChangeOwnPassword(const ContractNumber& contract, std::string_view user_id,
                                         std::string_view current_password, std::string_view new_password,
                                         std::string_view address, std::string_view via = "panel");
  // A code to mail for a forgotten password.
  struct IssuedResetCode {
    std::string code;     // kResetCodeDigits decimal digits
    std::string user_id;  // the account's id as added: the mail address
    uint64_t expires_ms = 0;
  };
  static constexpr int kResetCodeDigits = 8;
  // How long a reset code is valid (RelayServiceOptions::reset_code_ms), in
  // whole minutes: what the page and the mail announcing it say.
  uint64_t ResetCodeValidMinutes() const;
  // A new reset code for the account (replacing an earlier one), valid
  // reset_code_ms for reset_code_tries tries, stored salted and hashed;
  // audited. nullopt, and nothing written, for an unknown or disabled
  // contract or user, or an id that is not a mail address (IsMailAddress).
  // The caller answers the requester the same either way and mails the code
  // (rate limits on requests are the caller's too).
  Result<std::optional<IssuedResetCode>> IssueResetCode(const ContractNumber& contract, std::string_view user_id,
                                                        std::string_view address, std::string_view via = "panel");
  // Sets a new password with a reset code: kInvalidArgument for a malformed
  // new password (checked first), then kUnauthenticated with one message
  // for an unknown account, no code, an expired, wrong or used-up one. A try
  // is counted (in the store) before the code is compared; a right code is
  // used once. Then SetPassword's effects (device tokens, panel sessions,
  // live sessions end), audited. Never throttled by LoginThrottle, so an
  // owner whose account is throttled by someone's guesses can reset; the new
  // password lifts that throttle. kUnavailable (password gate full).
  Status ConfirmPasswordReset(const ContractNumber& contract, std::string_view user_id, std::string_view code,
                              std::string_view new_password, std::string_view address, std::string_view via = "panel");
  // An audit row: who did what to whom, when and from where.
  using AuditEntry = AuditRecord;
  // How many rows each contract keeps (the oldest go first).
  static constexpr size_t kAuditRowsKept = 10'000;
  // Up to `limit` rows of the contract older than `before_ms` (UINT64_MAX:
  // the newest), newest first. kNotFound (contract).
  Result<std::vector<AuditEntry>> ListAudit(const ContractNumber& contract, uint64_t before_ms, size_t limit) const;

  // ---- Licences and entitlements (issue 15) ----
  // The vendor records each office's licence facts, imports the filings it
  // made for the office and records payments; the rules engine
  // (relay/entitlements/) judges them. A contract without a licence is
  // unmanaged: nothing is enforced. Licences, filings and payments are the
  // vendor's to change: the operator, or an enabled user of the enabled
  // vendor staff contract acting with Actor::vendor (the panel's vendor
  // view), checked in the backend write of the change; kPermissionDenied
  // for anyone else (an office's admin too). Each change is audited in the
  // office contract's log, naming the staff user (empty: the operator).
  //
  // The vendor's staff contract: its users log in to the panel like an
  // office's and see the vendor view. It holds no office data: its PCs may
  // not sync (AdmitSession), it has no licence and no filings. Named once
  // by the operator (`daicho-relay vendor init`), created if missing; true
  // if it was created. Naming it again is a no-op; naming another while the
  // first still exists is kFailedPrecondition, as is naming a contract with
  // a licence (an office's).
  Result<bool> InitVendorContract(const ContractNumber& contract);
  // The vendor's staff contract; nullopt before InitVendorContract.
  Result<std::optional<ContractNumber>> VendorContract() const;
  //
  // Sets the contract's licence facts (replacing earlier ones). The office's
  // free-option choice is kept from the stored facts when there are any.
  // kInvalidArgument (no licence, a first renewal before the installation),
  // kNotFound, kPermissionDenied.
  Status SetLicence(const ContractNumber& contract, const entitlements::Licence& licence,
                    const Actor& actor = Actor::Operator());
  // Makes the contract unmanaged again; its filings and payments stay.
  // kNotFound (contract or licence), kPermissionDenied.
  Status ClearLicence(const ContractNumber& contract, const Actor& actor = Actor::Operator());
  // The contract's licence facts; nullopt: unmanaged. kNotFound.
  Result<std::optional<entitlements::Licence>> GetLicence(const ContractNumber& contract) const;
  // The option an office with 40 to 49 filings keeps free: chosen by an
  // enabled admin of the contract (or the operator). kFailedPrecondition if
  // the contract is unmanaged, kPermissionDenied, kNotFound.
  Status SetFreeOption(const ContractNumber& contract, entitlements::Option option,
                       const Actor& actor = Actor::Operator());

  // One row of a filings file, checked by ImportFilings.
  struct FilingRow {
    size_t line = 0;  // in the file, for error messages
    ContractNumber contract;
    std::string company_id;
    entitlements::Date date;
    std::string filing_id;
  };
  // A row that cannot be imported, and why.
  struct RowProblem {
    size_t line = 0;
    std::string message;
  };
  struct FilingImport {
    size_t rows = 0;
    size_t added = 0;
    size_t present = 0;                     // already imported before
    std::vector<ContractNumber> contracts;  // that gained filings, by number
  };
  // Imports filings: all rows or none. Every bad row (unknown contract,
  // malformed company id, a day before 2000 or after tomorrow, and the
  // `unreadable` rows a file reader could not make sense of) is reported in
  // one kInvalidArgument, a line each in line order ("line 17: ..."; the
  // first kMaxReportedRows, then how many more), and nothing is written. A
  // filing already imported is counted as present, so importing a file
  // again changes nothing. With `dry_run` nothing is written either way.
  // `bad_rows`, if given, receives every bad row in line order when the
  // import is refused (for a table of them). kPermissionDenied.
  static constexpr size_t kMaxReportedRows = 100;
  Result<FilingImport> ImportFilings(std::span<const FilingRow> rows, std::span<const RowProblem> unreadable,
                                     bool dry_run, const Actor& actor = Actor::Operator(),
                                     std::vector<RowProblem>* bad_rows = nullptr);
  // The contract's filings by company, then day. kNotFound.
  Result<std::vector<FilingRecord>> ListFilings(const ContractNumber& contract) const;

  struct PaymentInput {
    entitlements::Line line = entitlements::Line::kBase;
    // The licence year paid for (its first day); nullopt: the one of today.
    std::optional<entitlements::Date> licence_year;
    int64_t amount_yen = 0;  // a refund is negative
    std::string reference;   // a repeated non-empty reference is refused
    std::string note;
  };
  static constexpr int64_t kMaxPaymentYen = 10'000'000;
  // Records a payment for a managed contract. kInvalidArgument (amount 0 or
  // beyond kMaxPaymentYen either way, a licence year that is not one of the
  // contract's, text fields too long), kAlreadyExists (reference),
  // kFailedPrecondition (unmanaged), kNotFound, kPermissionDenied.
  Status RecordPayment(const ContractNumber& contract, const PaymentInput& payment,
                       const Actor& actor = Actor::Operator());
  // The contract's payments, oldest first. kNotFound.
  Result<std::vector<PaymentRecord>> ListPayments(const ContractNumber& contract) const;
  // The contract's evaluation on `on` (default: today in Japan by the
  // service's clock); nullopt: unmanaged. kNotFound.
  Result<std::optional<entitlements::Evaluation>> EvaluateEntitlements(const ContractNumber& contract,
                                                                       std::optional<entitlements::Date> on = {}) const;
  // Today in Japan by the service's clock.
  entitlements::Date Today() const;
  // What a PC's sync session is told and held to: the contract's
  // entitlements (empty for an unmanaged contract) and whether its uploads
  // are refused (Internet backup neither free nor paid). Every change that
  // can move them (licence, free option, filings, payments) raises the
  // login generation, so a serving relay rechecks its sessions. kNotFound.
  struct SyncTerms {
    sync::Entitlements entitlements;
    bool uploads_refused = false;
  };
  Result<SyncTerms> SyncTermsFor(const ContractNumber& contract) const;

  // ---- Changes ----
  // The contract's change store for sync sessions (opaque blobs; see
  // sync/change_store.h). Each call returns a new lightweight handle; all of
  // a contract's handles see the same data and may be used concurrently. A
  // handle can only ever read and write its own contract's keys.
  // kNotFound (contract).
  Result<std::unique_ptr<sync::ChangeStore>> ContractChanges(const ContractNumber& contract);

  // The gate of every password hash and check (to count its entries in tests).
  PasswordGate& TEST_password_gate();

  struct Impl;

 private:
  explicit RelayService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_RELAY_SERVICE_H_
