// Internal to RelayService (relay_service.cc, relay_service_panel.cc): its
// state and the rules both files apply inside backend transactions. Not for
// other code: RelayService's header is the interface.
#ifndef DAICHO_RELAY_RELAY_SERVICE_IMPL_H_
#define DAICHO_RELAY_RELAY_SERVICE_IMPL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "relay/login_throttle.h"
#include "relay/password_gate.h"
#include "relay/relay_backend.h"
#include "relay/relay_service.h"

namespace daicho::relay {

struct RelayService::Impl {
  std::shared_ptr<RelayBackend> backend;
  RelayServiceOptions options;
  LoginThrottle throttle;
  PasswordGate password_gate;

  Impl(std::shared_ptr<RelayBackend> b, const RelayServiceOptions& o);

  // SyncTermsFor's answers, each valid while the login generation (which
  // every change of a licence, filing, payment or free option raises) and
  // the day in Japan are those it was computed under: admissions and the
  // rechecks of every live session cost an evaluation per contract and
  // change, not per session.
  struct CachedTerms {
    uint64_t generation = 0;
    entitlements::Date day;
    SyncTerms terms;
  };
  std::mutex terms_mutex;
  std::map<ContractNumber, CachedTerms> terms_cache;

  uint64_t Now() const { return options.clock->NowMillis(); }
  // HashPassword holding a gate slot: every slow hash is capped like LogIn's
  // checks. kUnavailable when the gate is full.
  Result<std::string> HashGated(std::string_view password);
};

namespace service_detail {

// Last syncs and panel-session uses are recorded to about this precision:
// PCs syncing more often from one address, or a busy browser, do not each
// cost a write (an fsync).
inline constexpr uint64_t kUseResolutionMs = 60'000;

// Whether a use at `now` from `address` is worth recording after one at
// `last_ms` from `last_address` (a clock that stepped back counts as news).
bool UseIsNews(uint64_t last_ms, std::string_view last_address, uint64_t now, std::string_view address);

// The one refusal of a password login, whatever was wrong.
Status Unauthenticated();
Status RequireContract(RelayReadTxn& txn, const ContractNumber& contract);
// The account `user_id` names: the one id that folds equal to it, or,
// among ids folding equal (case conflicts kept from before v3), the one
// spelled exactly so. nullopt if none.
Result<std::optional<AccountRecord>> FindAccount(RelayReadTxn& txn, const ContractNumber& contract,
                                                 std::string_view user_id);
// kPermissionDenied if the contract or the account is disabled.
Status RequireEnabled(RelayReadTxn& txn, const ContractNumber& contract, const AccountRecord& account);
// The contract under a write's lock, or kNotFound.
Status LockExisting(RelayWriteTxn& txn, const ContractNumber& contract);
// LockExisting and the account `user_id` names, or kNotFound.
Result<AccountRecord> LockAccount(RelayWriteTxn& txn, const ContractNumber& contract, std::string_view user_id);
// Stores the new password `hash` of `account` and signs the user out
// everywhere, in this write: device tokens revoked, panel sessions and reset
// code deleted, the login generation raised (live sessions end).
Status ReplacePassword(RelayWriteTxn& txn, const ContractNumber& contract, const AccountRecord& account,
                       const std::string& hash);
// Whether `actor` may do `what` ("manage its users") to the contract: the
// operator always, a user only as an enabled admin of the enabled contract.
// Asked inside the write of the change, so a demotion committed just before
// is seen. kPermissionDenied otherwise.
Status Authorize(RelayReadTxn& txn, const ContractNumber& contract, const Actor& actor, std::string_view what);
// Whether `actor` may record licences, filings and payments: the operator,
// or (Actor::vendor) an enabled user of the enabled vendor staff contract.
// Asked inside the write of the change. kPermissionDenied otherwise.
Status RequireVendor(RelayReadTxn& txn, const Actor& actor);
// kFailedPrecondition if `contract` is the vendor's staff contract: it has
// no licence, filings or sync (`what` says what was refused).
Status RefuseVendorContract(RelayReadTxn& txn, const ContractNumber& contract, std::string_view what);
// Appends the audit row of a change to the write that makes it, and keeps
// the contract's newest kAuditRowsKept rows.
Status Audit(RelayWriteTxn& txn, const ContractNumber& contract, uint64_t time_ms, const Actor& actor,
             std::string_view action, std::string_view target, std::string_view detail = {});

}  // namespace service_detail
}  // namespace daicho::relay

#endif  // DAICHO_RELAY_RELAY_SERVICE_IMPL_H_
