// RelayService, the admin panel's part: panel sessions, a user's own
// password, password reset codes and the audit log (the rules of
// relay_service.h's "Admin panel" section).
#include <optional>
#include <string>
#include <utility>

#include "crypto/secret_token.h"
#include "relay/password.h"
#include "relay/relay_service.h"
#include "relay/relay_service_impl.h"

namespace daicho::relay {

using namespace service_detail;  // the rules shared with relay_service.cc

namespace {

constexpr size_t kResetSaltBytes = 16;

// One message for every refused session, so a probe learns nothing about
// which tokens once existed.
Status BadSession() {
  return Status(Code::kUnauthenticated, "the panel session is unknown or has expired: log in again");
}

// One message for every refused reset confirmation (unknown account, no
// code, expired, wrong, used up or replaced).
Status BadResetCode() {
  return Status(Code::kUnauthenticated, "the confirmation code is wrong or has expired: request a new one");
}

// What a reset code's hash covers: the code bound to its contract and
// account, so a stored hash moved to another account matches nothing.
std::string ResetCodeMessage(const ContractNumber& contract, std::string_view user_id, std::string_view code) {
  std::string message = contract.str() + FoldUserId(user_id);
  message.push_back('\0');
  message.append(code);
  return message;
}

bool Expired(const PanelSessionRecord& session, uint64_t now, const RelayServiceOptions& options) {
  // A clock that stepped back does not revive or kill a session early.
  return (now > session.last_seen_ms && now - session.last_seen_ms >= options.panel_idle_ms) ||
         (now > session.created_ms && now - session.created_ms >= options.panel_absolute_ms);
}

// Deletes the contract's expired sessions, so sessions never used again
// (closed browsers) do not pile up: run with every new session.
Status DeleteExpiredSessions(RelayWriteTxn& txn, const ContractNumber& contract, uint64_t now,
                             const RelayServiceOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(auto sessions, txn.ListPanelSessions(contract));
  for (const PanelSessionRecord& session : sessions) {
    if (Expired(session, now, options)) DAICHO_RETURN_IF_ERROR(txn.DeletePanelSession(contract, session.token_hash));
  }
  return Status::Ok();
}

// A new session of `account` for the browser at `address`, in this write.
Status PutNewSession(RelayWriteTxn& txn, const ContractNumber& contract, const AccountRecord& account,
                     const std::string& token_hash, uint64_t now, std::string_view address,
                     const RelayServiceOptions& options) {
  DAICHO_RETURN_IF_ERROR(DeleteExpiredSessions(txn, contract, now, options));
  return txn.PutPanelSession(contract, PanelSessionRecord{token_hash, account.user_id, now, now, std::string(address)});
}

// The account a password login proved, as it is in this write: the same
// password still (not changed since), enabled.
Result<AccountRecord> LockLoggedIn(RelayWriteTxn& txn, const ContractNumber& contract,
                                   const RelayService::PasswordLogin& login) {
  DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockAccount(txn, contract, login.user_id));
  if (account.user_id != login.user_id || account.password_hash != login.stamp) return Unauthenticated();
  DAICHO_RETURN_IF_ERROR(RequireEnabled(txn, contract, account));
  return account;
}

}  // namespace

Actor RelayService::PanelCaller::actor(std::string_view via) const {
  return Actor{user_id, address, std::string(via), vendor};
}

Result<RelayService::PanelSession> RelayService::OpenPanelSession(const ContractNumber& contract,
                                                                  std::string_view user_id, std::string_view password,
                                                                  std::string_view address, std::string_view via) {
  auto login = LogIn(contract, user_id, password, address);
  const uint64_t now = impl_->Now();
  if (!login.ok()) {
    const Code code = login.status().code();
    // Only checked logins are audited; a malformed id is not stored (it may
    // be anything a client sends).
    if ((code != Code::kUnauthenticated && code != Code::kPermissionDenied) ||
        CheckUserId(user_id) != CredentialProblem::kNone) {
      return login.status();
    }
    DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
      DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
      if (!exists) return Status::Ok();
      DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
      const std::string tried = account ? account->user_id : std::string(user_id);
      return Audit(txn, contract, now, Actor{tried, std::string(address), std::string(via)}, "login.failed", tried,
                   login.status().message());
    }));
    return login.status();
  }
  const std::string token = crypto::RandomToken(kPanelTokenBytes);
  const std::string token_hash = crypto::TokenHash(token);
  PanelSession out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockLoggedIn(txn, contract, *login));
    DAICHO_RETURN_IF_ERROR(PutNewSession(txn, contract, account, token_hash, now, address, impl_->options));
    DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
    out = PanelSession{token, account.user_id, account.admin, vendor == contract};
    return Audit(txn, contract, now, Actor{account.user_id, std::string(address), std::string(via)}, "login",
                 account.user_id);
  }));
  return out;
}

Result<RelayService::PanelCaller> RelayService::CheckPanelSession(const ContractNumber& contract,
                                                                  std::string_view token, std::string_view address) {
  if (token.size() != kPanelTokenBytes) return BadSession();
  const std::string token_hash = crypto::TokenHash(token);
  const uint64_t now = impl_->Now();
  std::optional<PanelSessionRecord> session;
  AccountRecord account;
  bool expired = false;
  bool vendor = false;
  auto check = [&](RelayReadTxn& txn) -> Status {
    expired = false;
    DAICHO_ASSIGN_OR_RETURN(session, txn.FindPanelSession(contract, token_hash));
    // Found by a hash of a 256-bit random token: the lookup's timing says
    // nothing useful; the hash is compared in constant time all the same.
    if (!session || !crypto::SecretEquals(session->token_hash, token_hash)) return BadSession();
    expired = Expired(*session, now, impl_->options);
    if (expired) return BadSession();
    DAICHO_ASSIGN_OR_RETURN(auto found, FindAccount(txn, contract, session->user_id));
    if (!found || found->user_id != session->user_id || !RequireEnabled(txn, contract, *found).ok()) {
      return BadSession();
    }
    account = *std::move(found);
    DAICHO_ASSIGN_OR_RETURN(auto vendor_contract, txn.GetVendorContract());
    vendor = vendor_contract == contract;
    return Status::Ok();
  };
  Status checked = impl_->backend->Read(check);
  if (expired) {
    DAICHO_RETURN_IF_ERROR(impl_->backend->Write(
        [&](RelayWriteTxn& txn) -> Status { return txn.DeletePanelSession(contract, token_hash); }));
  }
  DAICHO_RETURN_IF_ERROR(checked);
  if (UseIsNews(session->last_seen_ms, session->address, now, address)) {
    DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
      DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
      DAICHO_RETURN_IF_ERROR(check(txn));
      session->last_seen_ms = now;
      session->address = std::string(address);
      return txn.PutPanelSession(contract, *session);
    }));
  }
  return PanelCaller{account.user_id, account.admin, std::string(address), vendor};
}

uint64_t RelayService::ResetCodeValidMinutes() const { return impl_->options.reset_code_ms / 60'000; }

Status RelayService::ClosePanelSession(const ContractNumber& contract, std::string_view token) {
  const std::string token_hash = crypto::TokenHash(token);
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
    if (!exists) return Status::Ok();
    return txn.DeletePanelSession(contract, token_hash);
  });
}

Result<RelayService::PanelSession> RelayService::ChangeOwnPassword(const ContractNumber& contract,
                                                                   std::string_view user_id,
                                                                   std::string_view current_password,
                                                                   std::string_view new_password,
                                                                   std::string_view address, std::string_view via) {
  DAICHO_RETURN_IF_ERROR(ValidatePassword(new_password));
  DAICHO_ASSIGN_OR_RETURN(PasswordLogin login, LogIn(contract, user_id, current_password, address));
  DAICHO_ASSIGN_OR_RETURN(std::string hash, impl_->HashGated(new_password));
  const std::string token = crypto::RandomToken(kPanelTokenBytes);
  const std::string token_hash = crypto::TokenHash(token);
  const uint64_t now = impl_->Now();
  PanelSession out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(AccountRecord account, LockLoggedIn(txn, contract, login));
    DAICHO_RETURN_IF_ERROR(ReplacePassword(txn, contract, account, hash));
    DAICHO_RETURN_IF_ERROR(PutNewSession(txn, contract, account, token_hash, now, address, impl_->options));
    DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
    out = PanelSession{token, account.user_id, account.admin, vendor == contract};
    return Audit(txn, contract, now, Actor{account.user_id, std::string(address), std::string(via)}, "password.change",
                 account.user_id);
  }));
  return out;
}

Result<std::optional<RelayService::IssuedResetCode>> RelayService::IssueResetCode(const ContractNumber& contract,
                                                                                  std::string_view user_id,
                                                                                  std::string_view address,
                                                                                  std::string_view via) {
  std::optional<IssuedResetCode> out;
  if (!IsMailAddress(user_id)) return out;
  // Made outside the write, which may run again: one code per call.
  const std::string code = crypto::RandomDecimalCode(kResetCodeDigits);
  const std::string salt = crypto::RandomToken(kResetSaltBytes);
  const uint64_t now = impl_->Now();
  const RelayServiceOptions& options = impl_->options;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    out.reset();
    DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
    if (!exists) return Status::Ok();
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
    if (!account || !RequireEnabled(txn, contract, *account).ok() || !IsMailAddress(account->user_id)) {
      return Status::Ok();
    }
    const ResetCodeRecord record{account->user_id,
                                 crypto::KeyedTokenHash(salt, ResetCodeMessage(contract, account->user_id, code)),
                                 salt,
                                 now,
                                 now + options.reset_code_ms,
                                 options.reset_code_tries};
    // Replaces an earlier code: only the newest mail's code works.
    DAICHO_RETURN_IF_ERROR(txn.PutResetCode(contract, FoldUserId(account->user_id), record));
    // The requester is not known: the row names the account asked for.
    DAICHO_RETURN_IF_ERROR(Audit(txn, contract, now, Actor{account->user_id, std::string(address), std::string(via)},
                                 "reset.request", account->user_id));
    out = IssuedResetCode{code, account->user_id, record.expires_ms};
    return Status::Ok();
  }));
  return out;
}

Status RelayService::ConfirmPasswordReset(const ContractNumber& contract, std::string_view user_id,
                                          std::string_view code, std::string_view new_password,
                                          std::string_view address, std::string_view via) {
  DAICHO_RETURN_IF_ERROR(ValidatePassword(new_password));
  if (CheckUserId(user_id) != CredentialProblem::kNone) return BadResetCode();
  const uint64_t now = impl_->Now();
  // First a try is spent, committed before the code is compared: guesses
  // sent at once cannot share one try.
  std::optional<ResetCodeRecord> pending;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    pending.reset();
    DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
    if (!exists) return Status::Ok();
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
    if (!account || !RequireEnabled(txn, contract, *account).ok()) return Status::Ok();
    const std::string folded = FoldUserId(account->user_id);
    DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetResetCode(contract, folded, account->user_id));
    if (!record) return Status::Ok();
    if (record->tries_left == 0 || now >= record->expires_ms) {
      return txn.DeleteResetCode(contract, folded, account->user_id);
    }
    --record->tries_left;
    DAICHO_RETURN_IF_ERROR(txn.PutResetCode(contract, folded, *record));
    pending = std::move(record);
    return Status::Ok();
  }));
  if (!pending ||
      !crypto::SecretEquals(crypto::KeyedTokenHash(pending->salt, ResetCodeMessage(contract, pending->user_id, code)),
                            pending->code_hash)) {
    return BadResetCode();
  }
  DAICHO_ASSIGN_OR_RETURN(std::string hash, impl_->HashGated(new_password));
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    auto account = LockAccount(txn, contract, pending->user_id);
    if (!account.ok()) return account.status().code() == Code::kNotFound ? BadResetCode() : account.status();
    if (account->user_id != pending->user_id || !RequireEnabled(txn, contract, *account).ok()) return BadResetCode();
    // Single use: a confirmation that got here first, or a newer request,
    // changed or deleted the code meanwhile.
    DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetResetCode(contract, FoldUserId(account->user_id), account->user_id));
    if (!record || !crypto::SecretEquals(record->code_hash, pending->code_hash)) return BadResetCode();
    // Deletes the code with the user's sessions and device tokens.
    DAICHO_RETURN_IF_ERROR(ReplacePassword(txn, contract, *account, hash));
    return Audit(txn, contract, now, Actor{account->user_id, std::string(address), std::string(via)}, "reset.done",
                 account->user_id);
  });
}

Result<std::vector<RelayService::AuditEntry>> RelayService::ListAudit(const ContractNumber& contract,
                                                                      uint64_t before_ms, size_t limit) const {
  std::vector<AuditEntry> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, txn.ListAudit(contract, before_ms, limit));
    return Status::Ok();
  }));
  return out;
}

}  // namespace daicho::relay
