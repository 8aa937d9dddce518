// RelayService's licence part over every backend: licence facts, the
// office's free option, filings imports (all or nothing, idempotent),
// payments, and the evaluation they feed (issue 15). The rules themselves are
// tested row by row in tests/relay/entitlements/.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "relay/relay_admission.h"
#include "relay/relay_service.h"
#include "tests/relay/relay_service_fixture.h"

namespace daicho::relay {
namespace {

using entitlements::Date;
using entitlements::LineStatus;
using entitlements::Option;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

Date Day(int y, unsigned m, unsigned d) { return Date{year{y}, month{m}, day{d}}; }

// Noon in Japan on `date`, as Unix ms.
uint64_t JapanNoonMs(Date date) {
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return (static_cast<uint64_t>(days) * 86400 + 3 * 3600) * 1000;
}

// One licence, both options, renewing every 1 April; judged on 2026-05-10,
// so the year counted is 2025-04-01 .. 2026-03-31.
entitlements::Licence BothOptions() {
  entitlements::Licence licence;
  licence.first_renewal = Day(2025, 4, 1);
  licence.licences = 1;
  licence.backup_applied = true;
  licence.billing_applied = true;
  return licence;
}

RelayService::FilingRow Row(size_t line, const ContractNumber& contract, std::string company, Date date,
                            std::string filing_id = {}) {
  return RelayService::FilingRow{line, contract, std::move(company), date, std::move(filing_id)};
}

// `count` filings in the counted year for companies that are not new: each
// was filed for two years earlier too (its run starts within 5 years of an
// earlier filing).
std::vector<RelayService::FilingRow> OldCompanyFilings(const ContractNumber& contract, int count, int first = 0) {
  std::vector<RelayService::FilingRow> rows;
  for (int i = first; i < first + count; ++i) {
    const std::string company = "C" + std::to_string(i);
    rows.push_back(Row(rows.size() + 2, contract, company, Day(2023, 6, 1)));
    rows.push_back(Row(rows.size() + 2, contract, company, Day(2025, 6, 1)));
  }
  return rows;
}

template <typename Factory>
class RelayEntitlementsTest : public RelayServiceTest<Factory> {
 protected:
  void SetUp() override {
    this->clock_->Set(JapanNoonMs(Day(2026, 5, 10)));
    RelayServiceTest<Factory>::SetUp();
    this->AddContractWithUsers(this->a_, {"admin@example.jp", "clerk@example.jp"});
    ASSERT_DAICHO_OK(this->store_->SetUserAdmin(this->a_, "admin@example.jp", true));
    ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  }

  RelayService& store() { return *this->store_; }

  entitlements::Evaluation Evaluate(const ContractNumber& contract) {
    auto evaluation = store().EvaluateEntitlements(contract);
    EXPECT_DAICHO_OK(evaluation);
    EXPECT_TRUE(evaluation.ok() && evaluation->has_value());
    return evaluation.ok() && evaluation->has_value() ? **evaluation : entitlements::Evaluation{};
  }

  void Import(const std::vector<RelayService::FilingRow>& rows) {
    ASSERT_DAICHO_OK(store().ImportFilings(rows, {}, /*dry_run=*/false));
  }

  Actor Office(const std::string& user) const { return Actor{user, "192.0.2.1", "panel"}; }
  // A staff user of the vendor's contract acting in the panel's vendor view.
  Actor Staff(const std::string& user) const { return Actor{user, "192.0.2.9", "panel", /*vendor=*/true}; }
};
TYPED_TEST_SUITE(RelayEntitlementsTest, Backends, BackendNames);

TYPED_TEST(RelayEntitlementsTest, ALicenceIsTheVendorsAndMakesAContractManaged) {
  RelayService& store = this->store();
  EXPECT_EQ(*store.EvaluateEntitlements(this->a_), std::nullopt) << "no licence: unmanaged";
  EXPECT_EQ(store.SetLicence(this->a_, BothOptions(), this->Office("admin@example.jp")).code(),
            Code::kPermissionDenied);
  entitlements::Licence none = BothOptions();
  none.licences = 0;
  EXPECT_EQ(store.SetLicence(this->a_, none).code(), Code::kInvalidArgument);
  EXPECT_EQ(store.SetLicence(Contract("0000-0000-0099"), BothOptions()).code(), Code::kNotFound);
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  auto stored = store.GetLicence(this->a_);
  ASSERT_DAICHO_OK(stored);
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->first_renewal, Day(2025, 4, 1));
  EXPECT_TRUE((*stored)->backup_applied && (*stored)->billing_applied);
  EXPECT_EQ(*store.GetLicence(this->b_), std::nullopt) << "other contracts stay unmanaged";
  entitlements::Evaluation evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.today, Day(2026, 5, 10)) << "today is the day in Japan by the service's clock";
  EXPECT_EQ(evaluation.current.year_start, Day(2026, 4, 1));
  EXPECT_EQ(evaluation.current.backup.status, LineStatus::kNeedsPayment) << "no filings at all";

  this->Reopen();
  ASSERT_TRUE(this->store().GetLicence(this->a_)->has_value()) << "kept in the store";
  ASSERT_DAICHO_OK(this->store().ClearLicence(this->a_));
  EXPECT_EQ(*this->store().EvaluateEntitlements(this->a_), std::nullopt);
  EXPECT_EQ(this->store().ClearLicence(this->a_).code(), Code::kNotFound);
  auto audit = this->store().ListAudit(this->a_, UINT64_MAX, 10);
  ASSERT_DAICHO_OK(audit);
  ASSERT_GE(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "licence.clear");
  EXPECT_EQ((*audit)[1].action, "licence.set");
  EXPECT_EQ((*audit)[1].actor, "") << "the operator";
}

TYPED_TEST(RelayEntitlementsTest, FilingsAndPaymentsDecideTheEvaluation) {
  RelayService& store = this->store();
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  this->Import(OldCompanyFilings(this->a_, 39));
  entitlements::Evaluation evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.current.filings, 39u);
  EXPECT_EQ(evaluation.current.new_filings, 0u);
  for (const entitlements::LineResult* line : {&evaluation.current.backup, &evaluation.current.billing}) {
    EXPECT_EQ(line->status, LineStatus::kNeedsPayment);
    EXPECT_EQ(line->shortfall, 2u);
    EXPECT_EQ(line->fee_yen, 11000);
    EXPECT_NE(line->reason.ja.find("新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"),
              std::string::npos)
        << line->reason.ja;
  }

  RelayService::PaymentInput payment;
  payment.line = entitlements::Line::kBackup;
  payment.amount_yen = 11000;
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, payment));
  evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.current.backup.status, LineStatus::kPaid);
  EXPECT_EQ(evaluation.current.backup.paid_yen, 11000);
  EXPECT_EQ(evaluation.current.billing.status, LineStatus::kNeedsPayment) << "a payment covers its own line";

  // The 40th filing makes the chosen option (backup by default) free; the
  // office admin then picks billing instead.
  this->Import(OldCompanyFilings(this->a_, 1, 39));
  evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.current.filings, 40u);
  EXPECT_EQ(evaluation.current.backup.status, LineStatus::kFree);
  EXPECT_EQ(evaluation.current.billing.status, LineStatus::kNeedsPayment);
  EXPECT_EQ(store.SetFreeOption(this->a_, Option::kBilling, this->Office("clerk@example.jp")).code(),
            Code::kPermissionDenied);
  ASSERT_DAICHO_OK(store.SetFreeOption(this->a_, Option::kBilling, this->Office("admin@example.jp")));
  evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.current.billing.status, LineStatus::kFree);
  EXPECT_EQ(evaluation.current.backup.status, LineStatus::kPaid) << "the payment still counts";
  // Recording the licence again keeps the office's choice.
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  EXPECT_EQ((*store.GetLicence(this->a_))->free_choice, Option::kBilling);
  EXPECT_EQ(store.SetFreeOption(this->b_, Option::kBilling).code(), Code::kFailedPrecondition) << "unmanaged";
}

TYPED_TEST(RelayEntitlementsTest, AnImportIsAllOrNothingAndImportingAgainAddsNothing) {
  RelayService& store = this->store();
  std::vector<RelayService::FilingRow> rows = {
      Row(2, this->a_, "K-001", Day(2025, 6, 1), "F1"), Row(3, Contract("0000-0000-0099"), "K-002", Day(2025, 6, 2)),
      Row(5, this->b_, "K-003", Day(2025, 6, 3)),       Row(6, this->a_, "bad\tid", Day(2025, 6, 4)),
      Row(7, this->a_, "K-004", Day(2026, 5, 12)),
  };
  const std::vector<RelayService::RowProblem> unreadable = {{4, "filing day 'x' is not a date"}};
  std::vector<RelayService::RowProblem> bad_rows;
  auto refused = store.ImportFilings(rows, unreadable, false, Actor::Operator(), &bad_rows);
  ASSERT_EQ(refused.status().code(), Code::kInvalidArgument);
  ASSERT_EQ(bad_rows.size(), 4u) << "every bad row, for a table of them";
  EXPECT_EQ(bad_rows[0].line, 3u);
  EXPECT_EQ(bad_rows[1].line, 4u);
  EXPECT_EQ(bad_rows[1].message, "filing day 'x' is not a date");
  EXPECT_EQ(bad_rows[3].line, 7u);
  const std::string message = refused.status().message();
  EXPECT_NE(message.find("4 bad rows, nothing was imported"), std::string::npos) << message;
  const size_t line3 = message.find("line 3: no contract 0000-0000-0099");
  const size_t line4 = message.find("line 4: filing day 'x' is not a date");
  const size_t line6 = message.find("line 6: the company id");
  const size_t line7 = message.find("line 7: the filing day 2026-05-12");
  EXPECT_TRUE(line3 < line4 && line4 < line6 && line6 < line7) << "in line order: " << message;
  EXPECT_TRUE(store.ListFilings(this->a_)->empty()) << "nothing half-imported";
  EXPECT_TRUE(store.ListFilings(this->b_)->empty());

  rows = {Row(2, this->a_, "K-001", Day(2025, 6, 1), "F1"), Row(3, this->a_, "K-001", Day(2025, 6, 1), "F2"),
          Row(4, this->b_, "K-003", Day(2025, 6, 3)), Row(5, this->b_, "K-003", Day(2025, 6, 3))};
  auto dry = store.ImportFilings(rows, {}, /*dry_run=*/true);
  ASSERT_DAICHO_OK(dry);
  EXPECT_EQ(dry->added, 3u) << "the same company, day and id twice in one file is one filing";
  EXPECT_EQ(dry->present, 1u);
  EXPECT_TRUE(store.ListFilings(this->a_)->empty()) << "a dry run writes nothing";
  auto imported = store.ImportFilings(rows, {}, false);
  ASSERT_DAICHO_OK(imported);
  EXPECT_EQ(imported->rows, 4u);
  EXPECT_EQ(imported->added, 3u);
  EXPECT_EQ(imported->contracts, (std::vector<ContractNumber>{this->a_, this->b_}));
  auto filings = store.ListFilings(this->a_);
  ASSERT_DAICHO_OK(filings);
  ASSERT_EQ(filings->size(), 2u);
  EXPECT_EQ((*filings)[0].filing_id, "F1");
  EXPECT_EQ((*filings)[1].filing_id, "F2");
  EXPECT_EQ((*filings)[0].date, Day(2025, 6, 1));

  auto again = store.ImportFilings(rows, {}, false);
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(again->added, 0u);
  EXPECT_EQ(again->present, 4u);
  EXPECT_TRUE(again->contracts.empty());
  EXPECT_EQ(store.ListFilings(this->a_)->size(), 2u);
  auto audit = store.ListAudit(this->a_, UINT64_MAX, 10);
  ASSERT_DAICHO_OK(audit);
  ASSERT_EQ(std::count_if(audit->begin(), audit->end(), [](const auto& row) { return row.action == "filings.import"; }),
            1)
      << "an import that added nothing to the contract is not audited there";
  EXPECT_EQ(store.ImportFilings(rows, {}, false, this->Office("admin@example.jp")).status().code(),
            Code::kPermissionDenied);
}

TYPED_TEST(RelayEntitlementsTest, PaymentsAreCheckedAndAReferenceIsRecordedOnce) {
  RelayService& store = this->store();
  RelayService::PaymentInput payment;
  payment.line = entitlements::Line::kBilling;
  payment.amount_yen = 5500;
  payment.reference = "R-1";
  EXPECT_EQ(store.RecordPayment(this->a_, payment).code(), Code::kFailedPrecondition) << "unmanaged";
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  EXPECT_EQ(store.RecordPayment(this->a_, payment, this->Office("admin@example.jp")).code(), Code::kPermissionDenied);
  RelayService::PaymentInput bad = payment;
  for (int64_t amount : {int64_t{0}, RelayService::kMaxPaymentYen + 1, -RelayService::kMaxPaymentYen - 1}) {
    bad.amount_yen = amount;
    EXPECT_EQ(store.RecordPayment(this->a_, bad).code(), Code::kInvalidArgument) << amount;
  }
  bad = payment;
  bad.licence_year = Day(2026, 4, 2);
  Status not_a_year = store.RecordPayment(this->a_, bad);
  EXPECT_EQ(not_a_year.code(), Code::kInvalidArgument);
  EXPECT_NE(not_a_year.message().find("starts 2026-04-01"), std::string::npos) << not_a_year.message();

  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, payment));
  EXPECT_EQ(store.RecordPayment(this->a_, payment).code(), Code::kAlreadyExists) << "a retried payment";
  RelayService::PaymentInput last_year = payment;
  last_year.reference = "R-2";
  last_year.licence_year = Day(2025, 4, 1);
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, last_year));
  RelayService::PaymentInput refund = payment;
  refund.reference.clear();
  refund.amount_yen = -5500;
  refund.note = "paid twice";
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, refund));

  auto payments = store.ListPayments(this->a_);
  ASSERT_DAICHO_OK(payments);
  ASSERT_EQ(payments->size(), 3u);
  EXPECT_EQ((*payments)[0].licence_year, Day(2026, 4, 1)) << "default: the current licence year";
  EXPECT_EQ((*payments)[0].reference, "R-1");
  EXPECT_EQ((*payments)[1].licence_year, Day(2025, 4, 1));
  EXPECT_EQ((*payments)[2].amount_yen, -5500);
  EXPECT_EQ((*payments)[2].note, "paid twice");
  // 5,500 paid and 5,500 refunded this year: billing still lacks 2 filings;
  // last year's payment does not count now.
  entitlements::Evaluation evaluation = this->Evaluate(this->a_);
  EXPECT_EQ(evaluation.current.billing.paid_yen, 0);
  EXPECT_EQ(evaluation.current.billing.shortfall, 2u);
}

// What a PC's session is told: nothing for an unmanaged contract; a refused
// Internet backup refuses its uploads; every change that can move that
// raises the login generation, so a serving relay rechecks its sessions.
TYPED_TEST(RelayEntitlementsTest, SyncTermsFollowTheEvaluationAndEveryChangeRaisesTheLoginGeneration) {
  RelayService& store = this->store();
  auto terms = store.SyncTermsFor(this->a_);
  ASSERT_DAICHO_OK(terms);
  EXPECT_FALSE(terms->entitlements.managed);
  EXPECT_FALSE(terms->uploads_refused);
  EXPECT_EQ(store.SyncTermsFor(Contract("0000-0000-0099")).status().code(), Code::kNotFound);

  uint64_t generation = *store.LoginGeneration();
  const auto raised = [&] {
    const uint64_t now = *store.LoginGeneration();
    const bool moved = now > generation;
    generation = now;
    return moved;
  };
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  EXPECT_TRUE(raised());
  terms = store.SyncTermsFor(this->a_);
  ASSERT_DAICHO_OK(terms);
  EXPECT_TRUE(terms->entitlements.managed);
  EXPECT_TRUE(terms->uploads_refused);
  EXPECT_EQ(terms->entitlements.backup.state, sync::OptionState::kRefused);
  EXPECT_EQ(terms->entitlements.backup.shortfall, 2u);
  EXPECT_EQ(terms->entitlements.backup.fee_yen, 11000u);
  EXPECT_NE(terms->entitlements.backup.message_en.find("Internet backup: available with 2 more new filings"),
            std::string::npos);
  EXPECT_EQ(terms->entitlements.evaluated_ms, static_cast<int64_t>(JapanNoonMs(Day(2026, 5, 10))));
  // Valid until the next renewal begins: 2027-04-01 00:00 in Japan.
  EXPECT_EQ(terms->entitlements.valid_until_ms, static_cast<int64_t>(JapanNoonMs(Day(2027, 4, 1))) - 12 * 3600 * 1000);

  this->Import(OldCompanyFilings(this->a_, 3));
  EXPECT_TRUE(raised());
  this->Import(OldCompanyFilings(this->a_, 3));
  EXPECT_FALSE(raised()) << "an import that added nothing changes nothing";
  RelayService::PaymentInput payment;
  payment.line = entitlements::Line::kBackup;
  payment.amount_yen = 11000;
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, payment));
  EXPECT_TRUE(raised());
  terms = store.SyncTermsFor(this->a_);
  EXPECT_FALSE(terms->uploads_refused);
  EXPECT_EQ(terms->entitlements.backup.state, sync::OptionState::kPaid);
  EXPECT_EQ(terms->entitlements.billing.state, sync::OptionState::kRefused) << "billing is the PCs' gate, not uploads";
  ASSERT_DAICHO_OK(store.SetFreeOption(this->a_, Option::kBilling));
  EXPECT_TRUE(raised());
  ASSERT_DAICHO_OK(store.ClearLicence(this->a_));
  EXPECT_TRUE(raised());
  EXPECT_FALSE(store.SyncTermsFor(this->a_)->entitlements.managed);
}

// The answer is kept per contract until something changes it: a change in
// the store (the login generation) or a new day in Japan, when a licence year
// may begin with nothing written at all.
TYPED_TEST(RelayEntitlementsTest, SyncTermsFollowARenewalThatBeginsOvernight) {
  RelayService& store = this->store();
  entitlements::Licence licence = BothOptions();
  licence.first_renewal = Day(2025, 5, 11);  // the next renewal is tomorrow
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, licence));
  // Two new companies filed for after this year's counting ended: they
  // count for tomorrow's renewal.
  this->Import({Row(2, this->a_, "N-1", Day(2025, 6, 1)), Row(3, this->a_, "N-2", Day(2025, 7, 1))});
  EXPECT_TRUE(store.SyncTermsFor(this->a_)->uploads_refused);
  EXPECT_TRUE(store.SyncTermsFor(this->a_)->uploads_refused) << "asked again: the same answer";
  this->clock_->Advance(24 * 3600 * 1000);
  auto renewed = store.SyncTermsFor(this->a_);
  ASSERT_DAICHO_OK(renewed);
  EXPECT_FALSE(renewed->uploads_refused) << "judged on the year the new companies were filed in";
  EXPECT_EQ(renewed->entitlements.backup.state, sync::OptionState::kFree);
  EXPECT_EQ(renewed->entitlements.billing.state, sync::OptionState::kRefused);
}

TYPED_TEST(RelayEntitlementsTest, RemovingAContractRemovesItsLicenceFilingsAndPayments) {
  RelayService& store = this->store();
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions()));
  ASSERT_DAICHO_OK(store.SetLicence(this->b_, BothOptions()));
  this->Import(OldCompanyFilings(this->a_, 2));
  this->Import(OldCompanyFilings(this->b_, 2));
  RelayService::PaymentInput payment;
  payment.amount_yen = 5500;
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, payment));
  ASSERT_DAICHO_OK(store.RecordPayment(this->b_, payment));
  ASSERT_DAICHO_OK(store.SetContractDisabled(this->a_, true));
  ASSERT_DAICHO_OK(store.RemoveContract(this->a_));
  ASSERT_DAICHO_OK(store.AddContract(this->a_));
  EXPECT_EQ(*store.GetLicence(this->a_), std::nullopt);
  EXPECT_TRUE(store.ListFilings(this->a_)->empty());
  EXPECT_TRUE(store.ListPayments(this->a_)->empty());
  EXPECT_EQ(store.ListFilings(this->b_)->size(), 4u) << "another contract's data stays";
  EXPECT_EQ(store.ListPayments(this->b_)->size(), 1u);
}

// The vendor's staff work in the panel as users of the vendor's contract:
// an enabled one records licences, filings and payments of every office
// (audited in the office's log under the staff user's id); an office's own
// admin, a disabled staff user, or a claim of the vendor role by anyone
// else cannot. The vendor's contract itself never syncs and has no licence.
TYPED_TEST(RelayEntitlementsTest, TheVendorsStaffRecordForEveryOfficeAndNobodyElseDoes) {
  RelayService& store = this->store();
  const ContractNumber vendor = Contract("9999-0000-0001");
  EXPECT_EQ(*store.VendorContract(), std::nullopt);
  auto created = store.InitVendorContract(vendor);
  ASSERT_DAICHO_OK(created);
  EXPECT_TRUE(*created);
  EXPECT_FALSE(*store.InitVendorContract(vendor)) << "naming it again changes nothing";
  EXPECT_EQ(store.InitVendorContract(this->b_).status().code(), Code::kFailedPrecondition) << "one vendor contract";
  EXPECT_EQ(*store.VendorContract(), vendor);
  ASSERT_DAICHO_OK(store.AddUser(vendor, "staff@vendor.jp", "Password1"));
  ASSERT_DAICHO_OK(store.AddUser(vendor, "former@vendor.jp", "Password1"));
  ASSERT_DAICHO_OK(store.SetUserDisabled(vendor, "former@vendor.jp", true));

  // The office's admin, even claiming the vendor role, may not.
  for (const Actor& actor :
       {this->Office("admin@example.jp"), this->Staff("admin@example.jp"), this->Office("staff@vendor.jp"),
        this->Staff("former@vendor.jp"), this->Staff("nobody@vendor.jp")}) {
    SCOPED_TRACE(actor.user_id + (actor.vendor ? " (vendor)" : ""));
    EXPECT_EQ(store.SetLicence(this->a_, BothOptions(), actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.ImportFilings(OldCompanyFilings(this->a_, 1), {}, false, actor).status().code(),
              Code::kPermissionDenied);
    EXPECT_EQ(store.ImportFilings(OldCompanyFilings(this->a_, 1), {}, true, actor).status().code(),
              Code::kPermissionDenied)
        << "not even a dry run";
  }
  EXPECT_TRUE(store.ListFilings(this->a_)->empty());

  const Actor staff = this->Staff("staff@vendor.jp");
  ASSERT_DAICHO_OK(store.SetLicence(this->a_, BothOptions(), staff));
  ASSERT_DAICHO_OK(store.ImportFilings(OldCompanyFilings(this->a_, 2), {}, false, staff).status());
  RelayService::PaymentInput payment;
  payment.line = entitlements::Line::kBackup;
  payment.amount_yen = 11000;
  EXPECT_EQ(store.RecordPayment(this->a_, payment, this->Office("admin@example.jp")).code(), Code::kPermissionDenied);
  ASSERT_DAICHO_OK(store.RecordPayment(this->a_, payment, staff));
  EXPECT_EQ(this->Evaluate(this->a_).current.backup.status, LineStatus::kPaid);
  EXPECT_EQ((*store.ListPayments(this->a_))[0].actor, "staff@vendor.jp");
  auto audit = store.ListAudit(this->a_, UINT64_MAX, 3);
  ASSERT_DAICHO_OK(audit);
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ((*audit)[0].action, "payment.record");
  EXPECT_EQ((*audit)[1].action, "filings.import");
  EXPECT_EQ((*audit)[2].action, "licence.set");
  for (const auto& row : *audit) {
    EXPECT_EQ(row.actor, "staff@vendor.jp");
    EXPECT_EQ(row.via, "panel");
  }
  auto vendor_log = store.ListAudit(vendor, UINT64_MAX, 10);
  ASSERT_DAICHO_OK(vendor_log);
  for (const auto& row : *vendor_log) {
    EXPECT_TRUE(row.action.starts_with("user.")) << row.action << ": the office's log, not the vendor's";
  }

  // Disabled meanwhile: refused in the write itself.
  ASSERT_DAICHO_OK(store.SetUserDisabled(vendor, "staff@vendor.jp", true));
  EXPECT_EQ(store.RecordPayment(this->a_, payment, staff).code(), Code::kPermissionDenied);
  ASSERT_DAICHO_OK(store.SetUserDisabled(vendor, "staff@vendor.jp", false));
  ASSERT_DAICHO_OK(store.SetContractDisabled(vendor, true));
  EXPECT_EQ(store.RecordPayment(this->a_, payment, staff).code(), Code::kPermissionDenied) << "the vendor contract off";
  ASSERT_DAICHO_OK(store.SetContractDisabled(vendor, false));

  // The vendor's contract has no licence, no filings and no sync.
  EXPECT_EQ(store.SetLicence(vendor, BothOptions()).code(), Code::kFailedPrecondition);
  const std::vector<RelayService::FilingRow> own_rows = {Row(2, vendor, "C1", Day(2026, 1, 5))};
  auto own = store.ImportFilings(own_rows, {}, false);
  EXPECT_EQ(own.status().code(), Code::kInvalidArgument);
  EXPECT_NE(own.status().message().find("line 2: contract 9999-0000-0001 is the vendor's staff contract"),
            std::string::npos)
      << own.status().message();
  EXPECT_EQ(*store.EvaluateEntitlements(vendor), std::nullopt) << "never evaluated";
  sync::Hello hello;
  hello.contract = vendor.str();
  hello.user = "staff@vendor.jp";
  hello.credentials = sync::PasswordCredential{"Password1"};
  auto admitted = AdmitSession(store, hello, "192.0.2.9");
  EXPECT_EQ(admitted.status().code(), Code::kPermissionDenied);
  EXPECT_NE(admitted.status().message().find("vendor's staff contract"), std::string::npos);
  hello.contract = this->a_.str();
  hello.user = "clerk@example.jp";
  EXPECT_DAICHO_OK(AdmitSession(store, hello, "192.0.2.1").status());  // offices still sync

  // An office contract with a licence cannot become the vendor's.
  ASSERT_DAICHO_OK(store.SetContractDisabled(vendor, true));
  ASSERT_DAICHO_OK(store.RemoveContract(vendor));
  EXPECT_EQ(store.InitVendorContract(this->a_).status().code(), Code::kFailedPrecondition);
  ASSERT_DAICHO_OK(store.InitVendorContract(this->b_));
  EXPECT_EQ(*store.VendorContract(), this->b_) << "the removed one's successor";
}

}  // namespace
}  // namespace daicho::relay
