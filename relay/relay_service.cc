#include "relay/relay_service.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

#include "relay/contract_change_store.h"
#include "relay/password.h"
#include "relay/relay_service_impl.h"

namespace daicho::relay {

using namespace service_detail;  // the rules shared with relay_service_panel.cc

namespace {

constexpr size_t kReplicaIdBytes = sizeof(ReplicaId::Bytes);
constexpr size_t kShortIdDigits = 8;
constexpr size_t kMaxDeviceNameBytes = 100;

// Throttling counts failures per account, whatever the spelling, and per
// password: the tail of the stored hash (salted afresh by every password
// change) is part of the key, so a new password, set by `user passwd` in
// another process too, starts a fresh count.
std::string ThrottleKey(const ContractNumber& contract, std::string_view user_id, std::string_view hash) {
  constexpr size_t kStampChars = 16;
  const std::string_view stamp = hash.substr(hash.size() - std::min(hash.size(), kStampChars));
  return contract.str() + FoldUserId(user_id) + '\0' + std::string(stamp);
}

// Device::ShortId of a device with replica id `replica`.
std::string ShortReplicaId(const ReplicaId& replica) {
  return replica.IsZero() ? std::string(kShortIdDigits, '-') : replica.ToHex().substr(0, kShortIdDigits);
}

bool IsHexDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

Status CheckDeviceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameBytes || name.find('\0') != std::string_view::npos) {
    return InvalidArgument("a device name must be 1-" + std::to_string(kMaxDeviceNameBytes) + " bytes without NUL");
  }
  return Status::Ok();
}

// What PutAccount stores: an id and its password hash (the marks and the
// last sync are set apart).
AccountRecord NewAccount(std::string_view user_id, const std::string& hash) {
  AccountRecord account;
  account.user_id = std::string(user_id);
  account.password_hash = hash;
  return account;
}

Status UnknownDeviceToken() { return Status(Code::kUnauthenticated, "unknown, revoked or replaced device token"); }
Status NoContract(const ContractNumber& contract) { return NotFound("no contract " + contract.str()); }

Result<AccountRecord> RequireAccount(RelayReadTxn& txn, const ContractNumber& contract, std::string_view user_id) {
  DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
  if (!account) return NotFound("no user " + std::string(user_id) + " in contract " + contract.str());
  return *std::move(account);
}

// The devices of the account with id `user_id` (exact, as added).
Result<std::vector<DeviceRecord>> AccountDevices(RelayReadTxn& txn, const ContractNumber& contract,
                                                 std::string_view user_id) {
  DAICHO_ASSIGN_OR_RETURN(auto all, txn.ListDevices(contract));
  std::vector<DeviceRecord> out;
  for (DeviceRecord& device : all) {
    if (device.user_id == user_id) out.push_back(std::move(device));
  }
  return out;
}

// Revokes all the tokens of the account `user_id` (exact).
Status RevokeAccountDevices(RelayWriteTxn& txn, const ContractNumber& contract, std::string_view user_id) {
  DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, user_id));
  for (const DeviceRecord& device : owned) DAICHO_RETURN_IF_ERROR(txn.DeleteDevice(contract, device.token_hash));
  return Status::Ok();
}

// Ends the account's panel sessions and drops its reset code: part of every
// password change, disabling and reset.
Status EndPanelAccess(RelayWriteTxn& txn, const ContractNumber& contract, const AccountRecord& account) {
  DAICHO_ASSIGN_OR_RETURN(auto sessions, txn.ListPanelSessions(contract));
  for (const PanelSessionRecord& session : sessions) {
    if (session.user_id == account.user_id)
      DAICHO_RETURN_IF_ERROR(txn.DeletePanelSession(contract, session.token_hash));
  }
  return txn.DeleteResetCode(contract, FoldUserId(account.user_id), account.user_id);
}

RelayServiceOptions WithClock(RelayServiceOptions options) {
  if (!options.clock) options.clock = SystemClock();
  return options;
}

// The account `user_id` names, for `actor` to change: the contract exists,
// the actor may manage it (asked before the account is looked up, so a
// non-admin learns nothing about ids), the account exists.
Result<AccountRecord> AccountForActor(RelayReadTxn& txn, const ContractNumber& contract, std::string_view user_id,
                                      const Actor& actor) {
  DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
  DAICHO_RETURN_IF_ERROR(Authorize(txn, contract, actor, "manage its users"));
  return RequireAccount(txn, contract, user_id);
}

// AccountForActor under the write's lock.
Result<AccountRecord> LockForActor(RelayWriteTxn& txn, const ContractNumber& contract, std::string_view user_id,
                                   const Actor& actor) {
  DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
  return AccountForActor(txn, contract, user_id, actor);
}

// A user's change taking `account` out of the enabled admins (demoting,
// disabling or removing it) must leave another one: kFailedPrecondition
// otherwise. The operator may (and can name another admin afterwards).
Status KeepAnAdmin(RelayReadTxn& txn, const ContractNumber& contract, const AccountRecord& account,
                   const Actor& actor) {
  if (actor.is_operator() || !account.admin || account.disabled) return Status::Ok();
  DAICHO_ASSIGN_OR_RETURN(auto accounts, txn.ListAccounts(contract));
  for (const AccountRecord& other : accounts) {
    if (other.admin && !other.disabled && other.user_id != account.user_id) return Status::Ok();
  }
  return Status(Code::kFailedPrecondition, account.user_id + " is the last admin of contract " + contract.str() +
                                               ": make another user an admin first");
}

}  // namespace

namespace service_detail {

bool UseIsNews(uint64_t last_ms, std::string_view last_address, uint64_t now, std::string_view address) {
  return last_address != address || now < last_ms || now - last_ms >= kUseResolutionMs;
}

Status Unauthenticated() { return Status(Code::kUnauthenticated, "wrong contract number, user id or password"); }

Status RequireContract(RelayReadTxn& txn, const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetContract(contract));
  if (!found) return NoContract(contract);
  return Status::Ok();
}

Result<std::optional<AccountRecord>> FindAccount(RelayReadTxn& txn, const ContractNumber& contract,
                                                 std::string_view user_id) {
  DAICHO_ASSIGN_OR_RETURN(auto candidates, txn.FindAccounts(contract, FoldUserId(user_id)));
  for (AccountRecord& account : candidates) {
    if (candidates.size() == 1 || account.user_id == user_id) return std::optional<AccountRecord>(std::move(account));
  }
  return std::optional<AccountRecord>();
}

// Asked only after the credentials proved right, so a refusal tells nothing
// to someone guessing.
Status RequireEnabled(RelayReadTxn& txn, const ContractNumber& contract, const AccountRecord& account) {
  DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(contract));
  if (record && record->disabled) {
    return Status(Code::kPermissionDenied,
                  "contract " + contract.str() + " is disabled on this relay (its data is kept): ask the vendor");
  }
  if (account.disabled) {
    return Status(Code::kPermissionDenied, "user " + account.user_id + " of contract " + contract.str() +
                                               " is disabled on this relay: ask the vendor");
  }
  return Status::Ok();
}

Status LockExisting(RelayWriteTxn& txn, const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
  if (!exists) return NoContract(contract);
  return Status::Ok();
}

Result<AccountRecord> LockAccount(RelayWriteTxn& txn, const ContractNumber& contract, std::string_view user_id) {
  DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
  return RequireAccount(txn, contract, user_id);
}

Status ReplacePassword(RelayWriteTxn& txn, const ContractNumber& contract, const AccountRecord& account,
                       const std::string& hash) {
  const std::string folded = FoldUserId(account.user_id);
  DAICHO_RETURN_IF_ERROR(txn.PutAccount(contract, folded, NewAccount(account.user_id, hash)));
  // A new password signs the user out everywhere (it is what an operator
  // does when a password may be known to someone else).
  DAICHO_RETURN_IF_ERROR(RevokeAccountDevices(txn, contract, account.user_id));
  DAICHO_RETURN_IF_ERROR(EndPanelAccess(txn, contract, account));
  return txn.BumpLoginGeneration();
}

Status Authorize(RelayReadTxn& txn, const ContractNumber& contract, const Actor& actor, std::string_view what) {
  if (actor.is_operator()) return Status::Ok();
  DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(contract));
  DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, actor.user_id));
  if (!record || record->disabled || !account || account->user_id != actor.user_id || account->disabled ||
      !account->admin) {
    return Status(Code::kPermissionDenied, "only an admin of contract " + contract.str() + " may " + std::string(what));
  }
  return Status::Ok();
}

Status Audit(RelayWriteTxn& txn, const ContractNumber& contract, uint64_t time_ms, const Actor& actor,
             std::string_view action, std::string_view target, std::string_view detail) {
  DAICHO_RETURN_IF_ERROR(
      txn.AppendAudit(contract, AuditRecord{time_ms, actor.user_id, actor.address, actor.via, std::string(action),
                                            std::string(target), std::string(detail)}));
  return txn.TrimAudit(contract, RelayService::kAuditRowsKept);
}

}  // namespace service_detail

Actor Actor::Operator() { return Actor{"", "", "cli"}; }

RelayService::Impl::Impl(std::shared_ptr<RelayBackend> b, const RelayServiceOptions& o)
    : backend(std::move(b)),
      options(WithClock(o)),
      throttle(options.throttle, options.clock),
      password_gate(options.password_checks) {}

Result<std::string> RelayService::Impl::HashGated(std::string_view password) {
  DAICHO_ASSIGN_OR_RETURN(PasswordGate::Slot slot, password_gate.Enter());
  return HashPassword(password);
}

RelayService::RelayService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RelayService::~RelayService() = default;

PasswordGate& RelayService::TEST_password_gate() { return impl_->password_gate; }

Result<std::unique_ptr<RelayService>> RelayService::Create(std::shared_ptr<RelayBackend> backend,
                                                           const RelayServiceOptions& options) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  return std::unique_ptr<RelayService>(new RelayService(std::make_unique<Impl>(std::move(backend), options)));
}

Status RelayService::AddContract(const ContractNumber& contract) {
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetContract(contract));
    if (found) return Status(Code::kAlreadyExists, "contract " + contract.str() + " already exists");
    return txn.PutContract(contract);
  });
}

Result<crypto::WrappedOfficeKey> RelayService::GetOfficeKey(const ContractNumber& contract) const {
  crypto::WrappedOfficeKey out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, txn.GetOfficeKey(contract));
    return Status::Ok();
  }));
  return out;
}

Status RelayService::PublishOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys,
                                      crypto::KeyId replaces_key_id) {
  if (keys.empty() || keys.passphrase_wrapped.empty() || keys.recovery_wrapped.empty()) {
    return InvalidArgument("an office key needs a key id and both envelopes");
  }
  // The same id re-wraps the current key (a new passphrase); a higher id is
  // a rotation: the next one, or further when a PC holds keys newer than a
  // relay restored from an older backup. A lower id would strand PCs
  // holding the current key.
  if (keys.current_key_id < replaces_key_id) {
    return InvalidArgument("office key " + std::to_string(keys.current_key_id) + " cannot replace key " +
                           std::to_string(replaces_key_id));
  }
  const uint64_t now = impl_->Now();
  // Under the contract's lock, as ContractChangeStore::Apply reads the key:
  // no change sealed under the replaced key is stored after this commits.
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey stored, txn.GetOfficeKey(contract));
    if (stored.current_key_id != replaces_key_id) {
      return Status(Code::kFailedPrecondition, stored.empty()
                                                   ? std::string("the office key is not set up yet")
                                                   : "the office key changed meanwhile (the relay now has key " +
                                                         std::to_string(stored.current_key_id) + "): unlock it first");
    }
    DAICHO_RETURN_IF_ERROR(txn.PutOfficeKey(contract, keys));
    DAICHO_ASSIGN_OR_RETURN(OfficeKeyTimes times, txn.GetOfficeKeyTimes(contract));
    // A first key or a rotation makes a new key; a re-wrap only changes its
    // envelopes (a new passphrase).
    if (stored.empty() || keys.current_key_id != stored.current_key_id) times.created_ms = now;
    times.changed_ms = now;
    return txn.PutOfficeKeyTimes(contract, times);
  });
}

Result<RelayService::OfficeKeyStatus> RelayService::GetOfficeKeyStatus(const ContractNumber& contract) const {
  OfficeKeyStatus out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey keys, txn.GetOfficeKey(contract));
    DAICHO_ASSIGN_OR_RETURN(OfficeKeyTimes times, txn.GetOfficeKeyTimes(contract));
    out = OfficeKeyStatus{keys.current_key_id, times.created_ms, times.changed_ms};
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<RelayService::ContractInfo>> RelayService::ListContracts() const {
  std::vector<ContractInfo> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto contracts, txn.ListContracts());
    out.clear();
    for (const ContractRecord& contract : contracts) {
      ContractInfo info{contract.number, contract.disabled};
      DAICHO_ASSIGN_OR_RETURN(auto accounts, txn.ListAccounts(contract.number));
      info.users = accounts.size();
      DAICHO_ASSIGN_OR_RETURN(auto devices, txn.ListDevices(contract.number));
      info.devices = devices.size();
      DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey keys, txn.GetOfficeKey(contract.number));
      info.key_id = keys.current_key_id;
      out.push_back(std::move(info));
    }
    return Status::Ok();
  }));
  return out;
}

Status RelayService::SetContractDisabled(const ContractNumber& contract, bool disabled) {
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_RETURN_IF_ERROR(txn.SetContractDisabled(contract, disabled));
    // Disabling ends the contract's live sessions; enabling ends none.
    return disabled ? txn.BumpLoginGeneration() : Status::Ok();
  });
}

Status RelayService::RemoveContract(const ContractNumber& contract) {
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(contract));
    if (!record.has_value() || !record->disabled) {
      return Status(Code::kFailedPrecondition, "contract " + contract.str() +
                                                   " is not disabled: disable it first (its PCs' sessions end), "
                                                   "then remove it");
    }
    DAICHO_RETURN_IF_ERROR(txn.DeleteContract(contract));
    return txn.BumpLoginGeneration();
  });
}

Result<bool> RelayService::HasContract(const ContractNumber& contract) const {
  bool found = false;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(contract));
    found = record.has_value();
    return Status::Ok();
  }));
  return found;
}

Status RelayService::AddUser(const ContractNumber& contract, std::string_view user_id, std::string_view password,
                             const Actor& actor) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(ValidatePassword(password));
  const std::string folded = FoldUserId(user_id);
  // Fails fast before the slow hash; checked again in the write below.
  auto check = [&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_RETURN_IF_ERROR(Authorize(txn, contract, actor, "manage its users"));
    DAICHO_ASSIGN_OR_RETURN(auto existing, txn.FindAccounts(contract, folded));
    if (existing.empty()) return Status::Ok();
    const std::string& as = existing.front().user_id;
    return Status(
        Code::kAlreadyExists,
        "user " + std::string(user_id) + " already exists in contract " + contract.str() +
            (as == user_id ? std::string() : " as " + as + " (user ids are the same whatever the letter case)"));
  };
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read(check));
  DAICHO_ASSIGN_OR_RETURN(std::string hash, impl_->HashGated(password));
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_RETURN_IF_ERROR(check(txn));
    DAICHO_RETURN_IF_ERROR(txn.PutAccount(contract, folded, NewAccount(user_id, hash)));
    return Audit(txn, contract, now, actor, "user.add", user_id);
  });
}

Status RelayService::SetPassword(const ContractNumber& contract, std::string_view user_id, std::string_view password,
                                 const Actor& actor) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(ValidatePassword(password));
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read(
      [&](RelayReadTxn& txn) -> Status { return AccountForActor(txn, contract, user_id, actor).status(); }));
  DAICHO_ASSIGN_OR_RETURN(std::string hash, impl_->HashGated(password));
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockForActor(txn, contract, user_id, actor));
    DAICHO_RETURN_IF_ERROR(ReplacePassword(txn, contract, account, hash));
    return Audit(txn, contract, now, actor, "user.password", account.user_id);
  });
}

Status RelayService::RemoveUser(const ContractNumber& contract, std::string_view user_id, const Actor& actor) {
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockForActor(txn, contract, user_id, actor));
    DAICHO_RETURN_IF_ERROR(KeepAnAdmin(txn, contract, account, actor));
    // The account's sessions and reset code go with it (DeleteAccount).
    DAICHO_RETURN_IF_ERROR(txn.DeleteAccount(contract, FoldUserId(account.user_id), account.user_id));
    DAICHO_RETURN_IF_ERROR(RevokeAccountDevices(txn, contract, account.user_id));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "user.remove", account.user_id);
  });
}

Result<std::vector<RelayService::UserInfo>> RelayService::ListUserInfo(const ContractNumber& contract) const {
  std::vector<UserInfo> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto accounts, txn.ListAccounts(contract));
    DAICHO_ASSIGN_OR_RETURN(auto devices, txn.ListDevices(contract));
    out.clear();
    out.reserve(accounts.size());
    for (AccountRecord& account : accounts) {
      const auto owned = std::count_if(devices.begin(), devices.end(),
                                       [&](const DeviceRecord& device) { return device.user_id == account.user_id; });
      out.push_back(UserInfo{std::move(account.user_id), account.admin, account.disabled, static_cast<size_t>(owned),
                             account.last_sync_ms, std::move(account.last_address)});
    }
    return Status::Ok();
  }));
  return out;
}

Status RelayService::SetUserDisabled(const ContractNumber& contract, std::string_view user_id, bool disabled,
                                     const Actor& actor) {
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockForActor(txn, contract, user_id, actor));
    if (disabled) DAICHO_RETURN_IF_ERROR(KeepAnAdmin(txn, contract, account, actor));
    DAICHO_RETURN_IF_ERROR(txn.SetAccountDisabled(contract, FoldUserId(account.user_id), account.user_id, disabled));
    if (disabled) {
      // As for a contract: disabling ends the user's live sessions, and
      // here its panel sessions and reset code too.
      DAICHO_RETURN_IF_ERROR(EndPanelAccess(txn, contract, account));
      DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    }
    return Audit(txn, contract, now, actor, disabled ? "user.disable" : "user.enable", account.user_id);
  });
}

Status RelayService::SetUserAdmin(const ContractNumber& contract, std::string_view user_id, bool admin,
                                  const Actor& actor) {
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockForActor(txn, contract, user_id, actor));
    if (!admin) DAICHO_RETURN_IF_ERROR(KeepAnAdmin(txn, contract, account, actor));
    DAICHO_RETURN_IF_ERROR(txn.SetAccountAdmin(contract, FoldUserId(account.user_id), account.user_id, admin));
    return Audit(txn, contract, now, actor, admin ? "user.admin" : "user.unadmin", account.user_id);
  });
}

Result<std::vector<RelayService::CaseConflict>> RelayService::CaseConflicts() const {
  std::vector<CaseConflict> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto contracts, txn.ListContracts());
    out.clear();
    for (const ContractRecord& contract : contracts) {
      // Accounts come by folded id: ids folding equal are neighbours.
      DAICHO_ASSIGN_OR_RETURN(auto accounts, txn.ListAccounts(contract.number));
      for (size_t begin = 0; begin < accounts.size();) {
        const std::string folded = FoldUserId(accounts[begin].user_id);
        size_t end = begin + 1;
        while (end < accounts.size() && FoldUserId(accounts[end].user_id) == folded) ++end;
        if (end - begin > 1) {
          CaseConflict conflict{contract.number, {}};
          for (size_t i = begin; i < end; ++i) conflict.user_ids.push_back(std::move(accounts[i].user_id));
          out.push_back(std::move(conflict));
        }
        begin = end;
      }
    }
    return Status::Ok();
  }));
  return out;
}

Result<RelayService::PasswordLogin> RelayService::LogIn(const ContractNumber& contract, std::string_view user_id,
                                                        std::string_view password, std::string_view peer_address) {
  // A malformed id names no account: refuse it without hashing (the id
  // rules are public, so this says nothing) and without an account entry
  // (an arbitrarily long id must not be kept in memory); the address counts.
  if (!ValidateUserId(user_id).ok()) {
    DAICHO_RETURN_IF_ERROR(impl_->throttle.Check({}, peer_address));
    impl_->throttle.RecordFailure({}, peer_address);
    return Unauthenticated();
  }
  std::optional<AccountRecord> account;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(contract));
    if (record) {
      DAICHO_ASSIGN_OR_RETURN(account, FindAccount(txn, contract, user_id));
    }
    return Status::Ok();
  }));
  const std::string throttle_key = ThrottleKey(contract, user_id, account ? account->password_hash : std::string());
  // Refused here, a throttled login does not even wait for a gate slot.
  DAICHO_RETURN_IF_ERROR(impl_->throttle.Check(throttle_key, peer_address));
  // The read transaction has ended: the slow verify holds nothing but its
  // gate slot. An unknown contract or user is verified against a dummy hash,
  // through the same gate, so that its refusal costs what a wrong
  // password's does.
  bool match = false;
  {
    DAICHO_ASSIGN_OR_RETURN(PasswordGate::Slot slot, impl_->password_gate.Enter());
    // Asked again with the slot held: guesses sent in parallel waited here
    // while the earlier ones failed, and are throttled as a sequence is.
    DAICHO_RETURN_IF_ERROR(impl_->throttle.Check(throttle_key, peer_address));
    match = VerifyPassword(account ? account->password_hash : DummyPasswordHash(), password) && account.has_value();
    // Counted before the slot is given back, so the check it lets in next
    // sees this failure.
    if (!match) impl_->throttle.RecordFailure(throttle_key, peer_address);
  }
  if (!match) return Unauthenticated();
  impl_->throttle.RecordSuccess(throttle_key);
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    // The account as it is now: one disabled meanwhile is refused.
    DAICHO_ASSIGN_OR_RETURN(auto current, FindAccount(txn, contract, account->user_id));
    AccountRecord now = *account;
    now.disabled = current && current->user_id == account->user_id && current->disabled;
    return RequireEnabled(txn, contract, now);
  }));
  // The hash is salted afresh by every password change: it stamps this one.
  return PasswordLogin{std::move(account->user_id), std::move(account->password_hash)};
}

Status RelayService::CheckPasswordLogin(const ContractNumber& contract, const PasswordLogin& login) const {
  return impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, login.user_id));
    if (!account || account->user_id != login.user_id || account->password_hash != login.stamp) {
      return Status(Code::kUnauthenticated, "the password of " + login.user_id + " was changed or the user removed");
    }
    return RequireEnabled(txn, contract, *account);
  });
}

std::string RelayService::Device::ShortId() const { return ShortReplicaId(replica); }

Result<std::string> RelayService::IssueDeviceToken(const ContractNumber& contract, std::string_view user_id,
                                                   const ReplicaId& replica, std::string_view device_name) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(CheckDeviceName(device_name));
  if (replica.IsZero()) return InvalidArgument("a device token needs the PC's replica id");
  // Made outside the write, which may run again: one token per call.
  const std::string token = NewDeviceToken();
  const std::string token_hash = HashDeviceToken(token);
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, account.user_id));
    // Only this PC's earlier token goes: a PC of the same name is another device.
    bool replaced = false;
    for (const DeviceRecord& device : owned) {
      if (device.replica != replica) continue;
      DAICHO_RETURN_IF_ERROR(txn.DeleteDevice(contract, device.token_hash));
      replaced = true;
    }
    DeviceRecord issued;
    issued.token_hash = token_hash;
    issued.replica = replica;
    issued.user_id = account.user_id;
    issued.name = std::string(device_name);
    DAICHO_RETURN_IF_ERROR(txn.PutDevice(contract, issued));
    // A replaced token's live sessions end; a new device ends none.
    return replaced ? txn.BumpLoginGeneration() : Status::Ok();
  }));
  return token;
}

Status RelayService::AuthenticateDevice(const ContractNumber& contract, std::string_view user_id,
                                        std::string_view token, const ReplicaId& replica) {
  if (token.size() != kDeviceTokenBytes) return UnknownDeviceToken();
  const std::string token_hash = HashDeviceToken(token);
  // Finds the token's device, checks its account; the device if it still
  // needs its replica id.
  auto check = [&](RelayReadTxn& txn) -> Result<std::optional<DeviceRecord>> {
    DAICHO_ASSIGN_OR_RETURN(auto device, txn.FindDevice(contract, token_hash));
    // The lookup compares hashes of 256-bit random tokens, so its timing
    // says nothing useful about a token; the found hash is compared again in
    // constant time all the same.
    if (!device || !TokenHashEquals(device->token_hash, token_hash)) return UnknownDeviceToken();
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
    if (!account || account->user_id != device->user_id) return UnknownDeviceToken();
    DAICHO_RETURN_IF_ERROR(RequireEnabled(txn, contract, *account));
    if (device->replica.IsZero() && !replica.IsZero()) return device;
    return std::optional<DeviceRecord>();
  };
  bool unbound = false;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto device, check(txn));
    unbound = device.has_value();
    return Status::Ok();
  }));
  if (!unbound) return Status::Ok();
  // A token from before v3: it now belongs to the replica that used it.
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto device, check(txn));
    if (!device) return Status::Ok();
    device->replica = replica;
    return txn.PutDevice(contract, *device);
  });
}

Status RelayService::LogInWithDevice(const ContractNumber& contract, std::string_view user_id, std::string_view token,
                                     const ReplicaId& replica, std::string_view peer_address) {
  DAICHO_RETURN_IF_ERROR(impl_->throttle.Check({}, peer_address));
  Status authenticated = AuthenticateDevice(contract, user_id, token, replica);
  if (authenticated.code() == Code::kUnauthenticated) impl_->throttle.RecordFailure({}, peer_address);
  return authenticated;
}

Status RelayService::RevokeDevice(const ContractNumber& contract, std::string_view user_id, std::string_view device,
                                  const Actor& actor) {
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockForActor(txn, contract, user_id, actor));
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, account.user_id));
    // By replica id first (what `device list` shows), else by name.
    std::vector<const DeviceRecord*> matches;
    if (device.size() >= kShortIdDigits && device.size() <= 2 * kReplicaIdBytes && IsHexDigits(device)) {
      const std::string prefix = FoldUserId(device);  // hex digits: lower case
      for (const auto& entry : owned) {
        if (!entry.replica.IsZero() && entry.replica.ToHex().starts_with(prefix)) matches.push_back(&entry);
      }
    }
    if (matches.empty()) {
      for (const auto& entry : owned) {
        if (entry.name == device) matches.push_back(&entry);
      }
    }
    if (matches.empty()) {
      return NotFound("no device '" + std::string(device) + "' of user " + account.user_id + " in contract " +
                      contract.str());
    }
    if (matches.size() > 1) {
      std::string ids;
      for (const auto* entry : matches) {
        ids += (ids.empty() ? "" : ", ") + ShortReplicaId(entry->replica);
      }
      return Status(Code::kFailedPrecondition, std::to_string(matches.size()) + " devices of user " + account.user_id +
                                                   " match '" + std::string(device) + "': revoke one by its id (" +
                                                   ids + ")");
    }
    const DeviceRecord& revoked = *matches.front();
    DAICHO_RETURN_IF_ERROR(txn.DeleteDevice(contract, revoked.token_hash));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "device.revoke", account.user_id,
                 ShortReplicaId(revoked.replica) + " " + revoked.name);
  });
}

Result<std::vector<RelayService::Device>> RelayService::ListDevices(const ContractNumber& contract,
                                                                    std::string_view user_id) const {
  std::vector<Device> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
    out.clear();
    if (!account) return Status::Ok();
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, account->user_id));
    for (DeviceRecord& entry : owned) {
      out.push_back(Device{std::move(entry.name), entry.replica, entry.last_sync_ms, std::move(entry.last_address),
                           entry.unsynced_records});
    }
    return Status::Ok();
  }));
  std::sort(out.begin(), out.end(),
            [](const Device& a, const Device& b) { return std::tie(a.name, a.replica) < std::tie(b.name, b.replica); });
  return out;
}

Status RelayService::RecordDeviceSync(const ContractNumber& contract, std::string_view user_id,
                                      const ReplicaId& replica, std::string_view address,
                                      std::optional<uint64_t> unsynced_records) {
  // Read once, outside the write that may run again: one time per call.
  const uint64_t now = impl_->Now();
  // A login recorded within the last kUseResolutionMs from the same address
  // changes nothing worth a write (an fsync) on every session, unless its PC
  // reports a new unsynced count; a PC without a saved login has no device
  // entry to update.
  auto device_news = [&](const DeviceRecord& device) {
    return device.replica == replica && (UseIsNews(device.last_sync_ms, device.last_address, now, address) ||
                                         (unsynced_records.has_value() && device.unsynced_records != unsynced_records));
  };
  auto news = [&](RelayReadTxn& txn, const AccountRecord& account) -> Result<bool> {
    if (UseIsNews(account.last_sync_ms, account.last_address, now, address)) return true;
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, account.user_id));
    return std::any_of(owned.begin(), owned.end(), device_news);
  };
  bool write = false;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, RequireAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(write, news(txn, account));
    return Status::Ok();
  }));
  if (!write) return Status::Ok();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockAccount(txn, contract, user_id));
    if (UseIsNews(account.last_sync_ms, account.last_address, now, address)) {
      DAICHO_RETURN_IF_ERROR(
          txn.SetAccountLastSync(contract, FoldUserId(account.user_id), account.user_id, now, address));
    }
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, account.user_id));
    for (DeviceRecord& device : owned) {
      if (!device_news(device)) continue;
      device.last_sync_ms = now;
      device.last_address = std::string(address);
      if (unsynced_records.has_value()) device.unsynced_records = unsynced_records;
      DAICHO_RETURN_IF_ERROR(txn.PutDevice(contract, device));
    }
    return Status::Ok();
  });
}

Result<uint64_t> RelayService::LoginGeneration() const {
  uint64_t generation = 0;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(generation, txn.GetLoginGeneration());
    return Status::Ok();
  }));
  return generation;
}

Result<std::unique_ptr<sync::ChangeStore>> RelayService::ContractChanges(const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(bool exists, HasContract(contract));
  if (!exists) return NoContract(contract);
  return std::unique_ptr<sync::ChangeStore>(std::make_unique<ContractChangeStore>(
      impl_->backend, contract,
      ContractChangeRules{impl_->options.max_change_bytes, impl_->options.require_sealed_changes}));
}

}  // namespace daicho::relay
