// RelayBackend: where the relay keeps its entities (contracts, accounts,
// devices, panel sessions, reset codes, audit logs, office keys, the login
// generation, each contract's change log and version vector). A seam, not
// a rule book: every rule (who may log in, when logins end, which changes
// are accepted, what an office key may replace, who may manage users) is
// RelayService's (relay_service.h); a backend only stores and finds what it
// is told, so a second backend (relay/lmdb/ is the first) is a new folder. The interface is entity-level so that a SQL
// backend maps it to tables.
//
// Keys: a contract is its ContractNumber; an account is (contract, folded
// id, id as added), where `folded` is FoldUserId(id) (password.h) computed
// by the service: ids that fold equal are one account except case conflicts
// kept from stores written before ids were folded; a device or a panel
// session is (contract, token hash); a reset code is its account's.
//
// Transactions: Read runs its function in one consistent snapshot; Write in
// one write transaction committed iff the function returns ok, serialized
// with every other writer of the contracts it locks (LMDB: one writer at a
// time; SQL: READ COMMITTED, writers of a contract serialize on
// LockContract, and the rows a write reads of contracts, accounts and the
// global meta are share-locked until it commits, so what it read cannot
// change under it). A rule that writes a contract's rows therefore calls
// LockContract first. A Write's function MAY RUN AGAIN from the start on a
// fresh transaction (LMDB: a full map grows and the body is re-run; SQL: a
// deadlock, a lock timeout, a racing first insert, a connection lost before
// the commit), so it must only stage its effects in the transaction and
// apply anything in memory after Write returned. Transactions are used by
// the thread that runs the function and never outlive it.
//
// Codes of every method: kCorruption (stored data does not decode),
// kIoError, and kResourceExhausted (the store cannot grow); Read and Write
// also return the function's own status.
#ifndef DAICHO_RELAY_RELAY_BACKEND_H_
#define DAICHO_RELAY_RELAY_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/change_log.h"
#include "crypto/office_key.h"
#include "daicho/change_blob.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "relay/entitlements/entitlements.h"
#include "sync/contract_number.h"

namespace daicho::relay {

using sync::ContractNumber;

struct ContractRecord {
  ContractNumber number;
  bool disabled = false;
};

struct AccountRecord {
  std::string user_id;        // as added
  std::string password_hash;  // Argon2id (password.h)
  bool disabled = false;
  bool admin = false;  // manages the contract's users in the panel
  // The user's last sync by any login (password or saved login): Unix ms,
  // 0 if none recorded; and the address it came from.
  uint64_t last_sync_ms = 0;
  std::string last_address;
};

struct DeviceRecord {
  std::string token_hash;  // HashDeviceToken of the device's token
  ReplicaId replica;       // zero: issued before v3, bound on its next use
  std::string user_id;     // the account's id as added
  std::string name;
  uint64_t last_sync_ms = 0;  // Unix ms of its last login; 0: none recorded
  std::string last_address;   // the address of that login
  // Records not yet backed up, as the PC last reported; nullopt: unknown
  // (never reported).
  std::optional<uint64_t> unsynced_records;
};

// A browser's login to the admin panel. The token itself is never stored.
struct PanelSessionRecord {
  std::string token_hash;  // crypto::TokenHash of the session token
  std::string user_id;     // the account's id as added
  uint64_t created_ms = 0;
  uint64_t last_seen_ms = 0;  // last use, to about a minute
  std::string address;        // where it was last used from
};

// A password-reset code waiting for its confirmation; one per account.
struct ResetCodeRecord {
  std::string user_id;    // the account's id as added
  std::string code_hash;  // crypto::KeyedTokenHash(salt, what the service hashes)
  std::string salt;
  uint64_t created_ms = 0;
  uint64_t expires_ms = 0;
  uint32_t tries_left = 0;
};

// One row of a contract's audit log: who did what to whom, when, from where.
struct AuditRecord {
  uint64_t time_ms = 0;
  std::string actor;    // the acting user's id; empty: the vendor's operator
  std::string address;  // the actor's IP address; empty for a local command
  std::string via;      // "cli", "panel", "api"
  std::string action;   // e.g. "user.add" (RelayService names them)
  std::string target;   // the user id acted on, if any
  std::string detail;   // e.g. the device revoked
};

// When the contract's office key was made and last changed; 0: unknown
// (published before the relay recorded it).
struct OfficeKeyTimes {
  uint64_t created_ms = 0;
  uint64_t changed_ms = 0;
};

// One filing the vendor made for the office (imported from the vendor's
// records): what the entitlement rules count. A filing is its company, day
// and the vendor's filing id, so importing a file again adds nothing.
struct FilingRecord {
  std::string company_id;  // 1-64 bytes, no control characters
  entitlements::Date date;
  std::string filing_id;  // the vendor's own id; empty if the file had none
  uint64_t imported_ms = 0;
};

// Money the vendor received for an option (or the base licence) of one
// licence year. Payments are only ever added; a refund is a negative one.
struct PaymentRecord {
  uint64_t time_ms = 0;  // when it was recorded
  entitlements::Line line = entitlements::Line::kBase;
  entitlements::Date licence_year;  // the first day of the licence year it pays for
  int64_t amount_yen = 0;
  std::string reference;  // the vendor's receipt or transfer id; empty: none
  std::string note;
  std::string actor;  // who recorded it; empty: the operator
};

// One snapshot.
class RelayReadTxn {
 public:
  virtual ~RelayReadTxn() = default;
  virtual Result<std::optional<ContractRecord>> GetContract(const ContractNumber& contract) = 0;
  // Every contract, by number.
  virtual Result<std::vector<ContractRecord>> ListContracts() = 0;
  // The accounts whose id folds to `folded` (several only for case conflicts
  // from before v3), by id.
  virtual Result<std::vector<AccountRecord>> FindAccounts(const ContractNumber& contract, std::string_view folded) = 0;
  // The contract's accounts by folded id, then id.
  virtual Result<std::vector<AccountRecord>> ListAccounts(const ContractNumber& contract) = 0;
  // The panel session whose token hash is `token_hash`, if any.
  virtual Result<std::optional<PanelSessionRecord>> FindPanelSession(const ContractNumber& contract,
                                                                     std::string_view token_hash) = 0;
  // The contract's panel sessions (of all its users), by token hash.
  virtual Result<std::vector<PanelSessionRecord>> ListPanelSessions(const ContractNumber& contract) = 0;
  // The account's pending reset code, if any.
  virtual Result<std::optional<ResetCodeRecord>> GetResetCode(const ContractNumber& contract, std::string_view folded,
                                                              std::string_view user_id) = 0;
  // Up to `limit` audit rows of the contract older than `before_ms`, newest
  // first (rows of one millisecond in the reverse order they were appended).
  virtual Result<std::vector<AuditRecord>> ListAudit(const ContractNumber& contract, uint64_t before_ms,
                                                     size_t limit) = 0;
  virtual Result<OfficeKeyTimes> GetOfficeKeyTimes(const ContractNumber& contract) = 0;
  // The contract's licence facts; nullopt: the vendor does not manage its
  // licence (nothing is enforced).
  virtual Result<std::optional<entitlements::Licence>> GetLicence(const ContractNumber& contract) = 0;
  // The contract's filings by company id, then day, then filing id.
  virtual Result<std::vector<FilingRecord>> ListFilings(const ContractNumber& contract) = 0;
  // The contract's payments, oldest first.
  virtual Result<std::vector<PaymentRecord>> ListPayments(const ContractNumber& contract) = 0;
  // The device whose token hash is `token_hash`, if any.
  virtual Result<std::optional<DeviceRecord>> FindDevice(const ContractNumber& contract,
                                                         std::string_view token_hash) = 0;
  // The contract's devices (of all its users), by token hash.
  virtual Result<std::vector<DeviceRecord>> ListDevices(const ContractNumber& contract) = 0;
  // The contract's office key envelopes; empty (id 0) before `key init`.
  virtual Result<crypto::WrappedOfficeKey> GetOfficeKey(const ContractNumber& contract) = 0;
  // The counter raised by every commit that ends logins; 0 before the first.
  virtual Result<uint64_t> GetLoginGeneration() = 0;
  // The vendor's staff contract (its users log in to the panel's vendor
  // view); nullopt until the operator names one.
  virtual Result<std::optional<ContractNumber>> GetVendorContract() = 0;
  // The highest seq held per origin of the contract's change log.
  virtual Result<VersionVector> GetVersionVector(const ContractNumber& contract) = 0;
  // The payload of the contract's change (origin, seq), if held.
  virtual Result<std::optional<std::string>> GetChange(const ContractNumber& contract, const ReplicaId& origin,
                                                       uint64_t seq) = 0;
  // The contract's change log, for core::ForEachChangeSince and
  // CollectChangesSince (core/change_log.h).
  virtual Result<std::unique_ptr<core::ChangeLogReader>> OpenChangeLog(const ContractNumber& contract) = 0;
};

// One write transaction; it also reads what it wrote.
class RelayWriteTxn : public RelayReadTxn {
 public:
  // Serializes this transaction with the other writers of the contract
  // (a SQL backend locks its row; LMDB has one writer anyway). false if the
  // contract does not exist: nothing of a removed contract may be written.
  virtual Result<bool> LockContract(const ContractNumber& contract) = 0;
  virtual Status PutContract(const ContractNumber& contract) = 0;
  virtual Status SetContractDisabled(const ContractNumber& contract, bool disabled) = 0;
  // Deletes the contract and everything of it: accounts and their marks,
  // devices, panel sessions, reset codes, audit log, changes, version
  // vector, office key and its times, licence, filings and payments.
  virtual Status DeleteContract(const ContractNumber& contract) = 0;
  // Inserts or replaces the account (its id as added and hash; `disabled`,
  // `admin` and the last sync are ignored: the Set* below set them).
  virtual Status PutAccount(const ContractNumber& contract, std::string_view folded, const AccountRecord& account) = 0;
  virtual Status SetAccountDisabled(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                                    bool disabled) = 0;
  virtual Status SetAccountAdmin(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                                 bool admin) = 0;
  virtual Status SetAccountLastSync(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                                    uint64_t time_ms, std::string_view address) = 0;
  // Deletes the account with its marks, last sync, panel sessions and reset
  // code (not its devices, nor audit rows naming it).
  virtual Status DeleteAccount(const ContractNumber& contract, std::string_view folded, std::string_view user_id) = 0;
  // Inserts or replaces the device with its token hash.
  virtual Status PutDevice(const ContractNumber& contract, const DeviceRecord& device) = 0;
  virtual Status DeleteDevice(const ContractNumber& contract, std::string_view token_hash) = 0;
  virtual Status PutOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys) = 0;
  virtual Status PutOfficeKeyTimes(const ContractNumber& contract, const OfficeKeyTimes& times) = 0;
  // Inserts or replaces the session with its token hash.
  virtual Status PutPanelSession(const ContractNumber& contract, const PanelSessionRecord& session) = 0;
  // Deletes the session if it is there.
  virtual Status DeletePanelSession(const ContractNumber& contract, std::string_view token_hash) = 0;
  // Inserts or replaces the account's reset code.
  virtual Status PutResetCode(const ContractNumber& contract, std::string_view folded, const ResetCodeRecord& code) = 0;
  // Deletes the account's reset code if there is one.
  virtual Status DeleteResetCode(const ContractNumber& contract, std::string_view folded, std::string_view user_id) = 0;
  // Appends a row to the contract's audit log, after every row of its
  // millisecond.
  virtual Status AppendAudit(const ContractNumber& contract, const AuditRecord& record) = 0;
  // Deletes the contract's oldest audit rows beyond the newest `keep`.
  virtual Status TrimAudit(const ContractNumber& contract, size_t keep) = 0;
  virtual Status BumpLoginGeneration() = 0;
  // Names the vendor's staff contract (replacing an earlier one).
  virtual Status SetVendorContract(const ContractNumber& contract) = 0;
  // Inserts or replaces the contract's licence facts.
  virtual Status PutLicence(const ContractNumber& contract, const entitlements::Licence& licence) = 0;
  // Deletes them if they are there (the contract is unmanaged again).
  virtual Status DeleteLicence(const ContractNumber& contract) = 0;
  // Inserts the filing unless one with its company, day and filing id is
  // there: true if it was inserted.
  virtual Result<bool> PutFiling(const ContractNumber& contract, const FilingRecord& filing) = 0;
  // Appends a payment after every one recorded in its millisecond.
  virtual Status AppendPayment(const ContractNumber& contract, const PaymentRecord& payment) = 0;
  // Stores `changes` (new to the log) and sets the version vector entries of
  // `advanced` (entries not named keep their value): both in this
  // transaction, so the log and its vector always agree.
  virtual Status AppendChanges(const ContractNumber& contract, std::span<const ChangeBlob* const> changes,
                               const VersionVector& advanced) = 0;
};

class RelayBackend {
 public:
  virtual ~RelayBackend() = default;
  virtual Status Read(const std::function<Status(RelayReadTxn&)>& fn) const = 0;
  virtual Status Write(const std::function<Status(RelayWriteTxn&)>& fn) = 0;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_RELAY_BACKEND_H_
