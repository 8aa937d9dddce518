// RelayService, the licence part: licence facts, filings, payments and their
// evaluation by the rules engine (the rules of relay_service.h's "Licences
// and entitlements" section).
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "relay/entitlements_view.h"
#include "relay/relay_service.h"
#include "relay/relay_service_impl.h"
#include "text/date_text.h"
#include "text/number_text.h"

namespace daicho::relay {

using namespace service_detail;  // the rules shared with relay_service.cc

namespace {

using entitlements::Date;

constexpr size_t kMaxCompanyIdBytes = 64;
constexpr size_t kMaxFilingIdBytes = 64;
constexpr size_t kMaxPaymentTextBytes = 200;
// Filings older than this are typing mistakes, not history.
constexpr Date kFirstFilingDay{std::chrono::year{2000}, std::chrono::January, std::chrono::day{1}};

// Visible text without control characters (ids land in logs and pages).
bool IsPlainText(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

std::string LicenceDetail(const entitlements::Licence& licence) {
  std::string detail =
      "licences " + std::to_string(licence.licences) + ", renews " + text::FormatIsoDate(licence.first_renewal);
  if (licence.installed) detail += ", installed " + text::FormatIsoDate(*licence.installed);
  detail += ", options ";
  if (!licence.backup_applied && !licence.billing_applied) detail += "none";
  if (licence.backup_applied) detail += "backup";
  if (licence.backup_applied && licence.billing_applied) detail += ",";
  if (licence.billing_applied) detail += "billing";
  return detail;
}

// The problem of one filing row, or empty.
std::string FilingRowProblem(const RelayService::FilingRow& row, Date tomorrow) {
  if (row.company_id.empty() || row.company_id.size() > kMaxCompanyIdBytes || !IsPlainText(row.company_id)) {
    return "the company id must be 1-" + std::to_string(kMaxCompanyIdBytes) + " bytes without control characters";
  }
  if (row.filing_id.size() > kMaxFilingIdBytes || !IsPlainText(row.filing_id)) {
    return "the filing id must be at most " + std::to_string(kMaxFilingIdBytes) + " bytes without control characters";
  }
  if (!row.date.ok() || row.date < kFirstFilingDay || row.date > tomorrow) {
    return "the filing day " + (row.date.ok() ? text::FormatIsoDate(row.date) : std::string("(not a day)")) +
           " is before 2000-01-01 or in the future";
  }
  return {};
}

// The whole list of bad rows (in line order) as one message, the first
// kMaxReportedRows.
Status BadRows(const std::vector<RelayService::RowProblem>& problems) {
  std::string message =
      std::to_string(problems.size()) + (problems.size() == 1 ? " bad row" : " bad rows") + ", nothing was imported:";
  const size_t shown = std::min(problems.size(), RelayService::kMaxReportedRows);
  for (size_t i = 0; i < shown; ++i) {
    message += "\nline " + std::to_string(problems[i].line) + ": " + problems[i].message;
  }
  if (problems.size() > shown) message += "\nand " + std::to_string(problems.size() - shown) + " more";
  return InvalidArgument(message);
}

Result<entitlements::Licence> RequireLicence(RelayReadTxn& txn, const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(auto licence, txn.GetLicence(contract));
  if (!licence) {
    return Status(Code::kFailedPrecondition,
                  "contract " + contract.str() + " has no licence recorded: record it first (contract licence)");
  }
  return *licence;
}

// The evaluation of the contract's stored facts on `day`; nullopt if
// unmanaged.
Result<std::optional<entitlements::Evaluation>> EvaluateStored(RelayReadTxn& txn, const ContractNumber& contract,
                                                               Date day) {
  DAICHO_ASSIGN_OR_RETURN(auto licence, txn.GetLicence(contract));
  if (!licence) return std::optional<entitlements::Evaluation>();
  DAICHO_ASSIGN_OR_RETURN(auto records, txn.ListFilings(contract));
  std::vector<entitlements::Filing> filings;
  filings.reserve(records.size());
  for (FilingRecord& record : records) filings.push_back({std::move(record.company_id), record.date});
  DAICHO_ASSIGN_OR_RETURN(auto paid, txn.ListPayments(contract));
  std::vector<entitlements::Payment> payments;
  payments.reserve(paid.size());
  for (const PaymentRecord& record : paid) payments.push_back({record.line, record.licence_year, record.amount_yen});
  DAICHO_ASSIGN_OR_RETURN(entitlements::Evaluation evaluation,
                          entitlements::Evaluate(*licence, filings, payments, day));
  return std::optional<entitlements::Evaluation>(std::move(evaluation));
}

sync::OptionEntitlement ForSync(const entitlements::LineResult& line) {
  sync::OptionState state = sync::OptionState::kFree;
  switch (line.status) {
    case entitlements::LineStatus::kFree:
      state = sync::OptionState::kFree;
      break;
    case entitlements::LineStatus::kPaid:
      state = sync::OptionState::kPaid;
      break;
    case entitlements::LineStatus::kNeedsFilings:
      state = sync::OptionState::kNeedsFilings;
      break;
    case entitlements::LineStatus::kNeedsPayment:
      state = sync::OptionState::kRefused;
      break;
    case entitlements::LineStatus::kNotApplied:
      state = sync::OptionState::kNotApplied;
      break;
  }
  return sync::OptionEntitlement{state, line.shortfall, static_cast<uint64_t>(std::max<int64_t>(0, line.fee_yen)),
                                 line.reason.ja, line.reason.en};
}

// 00:00 in Japan on `day`, as Unix ms.
int64_t JapanMidnightMs(Date day) {
  constexpr int64_t kJapanOffsetMs = 9 * 3600 * 1000;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::sys_days(day).time_since_epoch()).count() -
         kJapanOffsetMs;
}

}  // namespace

Date RelayService::Today() const {
  return text::JapanDay(std::chrono::system_clock::time_point(std::chrono::milliseconds(impl_->Now())));
}

Status RelayService::SetLicence(const ContractNumber& contract, const entitlements::Licence& licence,
                                const Actor& actor) {
  // The engine's own checks, before anything is stored.
  DAICHO_RETURN_IF_ERROR(entitlements::Evaluate(licence, {}, {}, licence.first_renewal).status());
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireVendor(txn, actor));
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_RETURN_IF_ERROR(RefuseVendorContract(txn, contract, "licence"));
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetLicence(contract));
    entitlements::Licence facts = licence;
    if (stored) facts.free_choice = stored->free_choice;
    DAICHO_RETURN_IF_ERROR(txn.PutLicence(contract, facts));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "licence.set", {}, LicenceDetail(facts));
  });
}

Status RelayService::ClearLicence(const ContractNumber& contract, const Actor& actor) {
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireVendor(txn, actor));
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetLicence(contract));
    if (!stored) return NotFound("contract " + contract.str() + " has no licence recorded");
    DAICHO_RETURN_IF_ERROR(txn.DeleteLicence(contract));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "licence.clear", {});
  });
}

Result<std::optional<entitlements::Licence>> RelayService::GetLicence(const ContractNumber& contract) const {
  std::optional<entitlements::Licence> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, txn.GetLicence(contract));
    return Status::Ok();
  }));
  return out;
}

Status RelayService::SetFreeOption(const ContractNumber& contract, entitlements::Option option, const Actor& actor) {
  if (option != entitlements::Option::kBackup && option != entitlements::Option::kBilling) {
    return InvalidArgument("the free option is backup or billing");
  }
  const uint64_t now = impl_->Now();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_RETURN_IF_ERROR(Authorize(txn, contract, actor, "choose its free option"));
    DAICHO_ASSIGN_OR_RETURN(entitlements::Licence licence, RequireLicence(txn, contract));
    if (licence.free_choice == option) return Status::Ok();
    licence.free_choice = option;
    DAICHO_RETURN_IF_ERROR(txn.PutLicence(contract, licence));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "entitlement.free_option", {},
                 std::string(LineName(static_cast<entitlements::Line>(option))));
  });
}

Result<RelayService::FilingImport> RelayService::ImportFilings(std::span<const FilingRow> rows,
                                                               std::span<const RowProblem> unreadable, bool dry_run,
                                                               const Actor& actor, std::vector<RowProblem>* bad_rows) {
  const uint64_t now = impl_->Now();
  const Date tomorrow{std::chrono::sys_days(Today()) + std::chrono::days(1)};
  FilingImport result;
  // A dry run checks and counts everything in the one write, then ends it
  // with this status so the backend rolls it back.
  const Status kDryRunEnd(Code::kFailedPrecondition, "dry run: nothing is written");
  Status written = impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireVendor(txn, actor));
    result = FilingImport{rows.size() + unreadable.size(), 0, 0, {}};
    std::vector<RowProblem> problems(unreadable.begin(), unreadable.end());
    DAICHO_ASSIGN_OR_RETURN(const std::optional<ContractNumber> vendor, txn.GetVendorContract());
    std::map<ContractNumber, bool> known;  // contract -> exists
    for (const FilingRow& row : rows) {
      std::string problem = FilingRowProblem(row, tomorrow);
      auto [it, inserted] = known.try_emplace(row.contract, false);
      if (inserted) {
        DAICHO_ASSIGN_OR_RETURN(it->second, txn.LockContract(row.contract));
      }
      if (problem.empty() && !it->second) problem = "no contract " + row.contract.str() + " on this relay";
      if (problem.empty() && row.contract == vendor) {
        problem = "contract " + row.contract.str() + " is the vendor's staff contract, not an office's";
      }
      if (!problem.empty()) problems.push_back({row.line, std::move(problem)});
    }
    if (!problems.empty()) {
      std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
      if (bad_rows != nullptr) *bad_rows = problems;
      return BadRows(problems);
    }
    std::map<ContractNumber, std::pair<size_t, size_t>> per_contract;  // added, present
    for (const FilingRow& row : rows) {
      DAICHO_ASSIGN_OR_RETURN(bool added,
                              txn.PutFiling(row.contract, FilingRecord{row.company_id, row.date, row.filing_id, now}));
      auto& [contract_added, contract_present] = per_contract[row.contract];
      ++(added ? contract_added : contract_present);
      ++(added ? result.added : result.present);
    }
    if (result.added > 0) DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    for (const auto& [contract, counts] : per_contract) {
      if (counts.first == 0) continue;
      result.contracts.push_back(contract);
      DAICHO_RETURN_IF_ERROR(
          Audit(txn, contract, now, actor, "filings.import", {},
                std::to_string(counts.first) + " new, " + std::to_string(counts.second) + " already imported"));
    }
    return dry_run ? kDryRunEnd : Status::Ok();
  });
  if (dry_run && written.code() == kDryRunEnd.code() && written.message() == kDryRunEnd.message()) return result;
  DAICHO_RETURN_IF_ERROR(written);
  return result;
}

Result<std::vector<FilingRecord>> RelayService::ListFilings(const ContractNumber& contract) const {
  std::vector<FilingRecord> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, txn.ListFilings(contract));
    return Status::Ok();
  }));
  return out;
}

Status RelayService::RecordPayment(const ContractNumber& contract, const PaymentInput& payment, const Actor& actor) {
  if (payment.amount_yen == 0 || payment.amount_yen > kMaxPaymentYen || payment.amount_yen < -kMaxPaymentYen) {
    return InvalidArgument("a payment is a non-zero amount of at most " + text::GroupThousands(kMaxPaymentYen) +
                           " yen (a refund is negative)");
  }
  if (payment.reference.size() > kMaxPaymentTextBytes || payment.note.size() > kMaxPaymentTextBytes ||
      !IsPlainText(payment.reference) || !IsPlainText(payment.note)) {
    return InvalidArgument("a payment's reference and note are at most " + std::to_string(kMaxPaymentTextBytes) +
                           " bytes each, without control characters");
  }
  const uint64_t now = impl_->Now();
  const Date today = Today();
  return impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireVendor(txn, actor));
    DAICHO_RETURN_IF_ERROR(LockExisting(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(entitlements::Licence licence, RequireLicence(txn, contract));
    // The licence year of a day is the one the engine judges on it.
    const Date day = payment.licence_year.value_or(today);
    DAICHO_ASSIGN_OR_RETURN(entitlements::Evaluation on_day, entitlements::Evaluate(licence, {}, {}, day));
    if (payment.licence_year && on_day.current.year_start != *payment.licence_year) {
      return InvalidArgument("contract " + contract.str() + " has no licence year starting " +
                             text::FormatIsoDate(day) + " (the year of that day starts " +
                             text::FormatIsoDate(on_day.current.year_start) + ")");
    }
    DAICHO_ASSIGN_OR_RETURN(auto earlier, txn.ListPayments(contract));
    if (!payment.reference.empty() && std::any_of(earlier.begin(), earlier.end(), [&](const PaymentRecord& record) {
          return record.reference == payment.reference;
        })) {
      return Status(Code::kAlreadyExists, "a payment with reference " + payment.reference +
                                              " is already recorded for contract " + contract.str());
    }
    PaymentRecord record{now,          payment.line, on_day.current.year_start, payment.amount_yen, payment.reference,
                         payment.note, actor.user_id};
    DAICHO_RETURN_IF_ERROR(txn.AppendPayment(contract, record));
    DAICHO_RETURN_IF_ERROR(txn.BumpLoginGeneration());
    return Audit(txn, contract, now, actor, "payment.record", {},
                 std::string(LineName(payment.line)) + " " + text::GroupThousands(payment.amount_yen) +
                     " yen for the licence year from " + text::FormatIsoDate(record.licence_year));
  });
}

Result<std::vector<PaymentRecord>> RelayService::ListPayments(const ContractNumber& contract) const {
  std::vector<PaymentRecord> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, txn.ListPayments(contract));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<entitlements::Evaluation>> RelayService::EvaluateEntitlements(const ContractNumber& contract,
                                                                                   std::optional<Date> on) const {
  const Date day = on.value_or(Today());
  std::optional<entitlements::Evaluation> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(out, EvaluateStored(txn, contract, day));
    return Status::Ok();
  }));
  return out;
}

Result<RelayService::SyncTerms> RelayService::SyncTermsFor(const ContractNumber& contract) const {
  const uint64_t now = impl_->Now();
  const Date today = Today();
  // Read before evaluating: a change committed in between raises it, so a
  // cached answer is never older than its key.
  DAICHO_ASSIGN_OR_RETURN(uint64_t generation, LoginGeneration());
  {
    std::lock_guard lock(impl_->terms_mutex);
    auto cached = impl_->terms_cache.find(contract);
    if (cached != impl_->terms_cache.end() && cached->second.generation == generation && cached->second.day == today) {
      return cached->second.terms;
    }
  }
  DAICHO_ASSIGN_OR_RETURN(auto evaluation, EvaluateEntitlements(contract, today));
  SyncTerms terms;
  if (evaluation) {
    const entitlements::YearEvaluation& year = evaluation->current;
    terms.entitlements = sync::Entitlements{true, static_cast<int64_t>(now), JapanMidnightMs(year.year_end),
                                            ForSync(year.backup), ForSync(year.billing)};
    terms.uploads_refused = !year.backup.allowed();
  }
  std::lock_guard lock(impl_->terms_mutex);
  impl_->terms_cache[contract] = Impl::CachedTerms{generation, today, terms};
  return terms;
}

}  // namespace daicho::relay
