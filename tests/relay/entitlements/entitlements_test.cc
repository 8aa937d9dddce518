// The entitlement rules, one table row per case of the plan of issue 15
// (section 2.4), the calendar they stand on, their sentences, and properties
// over seeded random filing histories.
#include "relay/entitlements/entitlements.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "relay/entitlements/entitlement_text.h"
#include "relay/entitlements/licence_calendar.h"
#include "tests/testing/test_util.h"

namespace daicho::entitlements {
namespace {

constexpr Date D(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

std::string Iso(Date d) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return out;
}

// The plan's base fixture: one licence, both options applied, Internet backup
// chosen, installed 2020-04-01, renewing each 04-01 since 2025, judged on
// 2026-05-10: licence year [2026-04-01, 2027-04-01), counting window
// [2025-04-01, 2026-04-01).
Licence BaseLicence() {
  Licence licence;
  licence.installed = D(2020, 4, 1);
  licence.first_renewal = D(2025, 4, 1);
  licence.licences = 1;
  licence.backup_applied = true;
  licence.billing_applied = true;
  return licence;
}
constexpr Date kToday = D(2026, 5, 10);

// `count` companies filed for on `day`, each also filed for two years before
// with no filing in the licence year between: a run that starts on `day` with
// a filing in the quiet years before it, so never new.
void AddOld(std::vector<Filing>& filings, int count, Date day = D(2025, 6, 1), const std::string& prefix = "old") {
  for (int i = 0; i < count; ++i) {
    filings.push_back({prefix + std::to_string(i), day});
    filings.push_back({prefix + std::to_string(i), AddYears(day, -2)});
  }
}

// `count` companies filed for once, on `day`: new additional companies.
void AddNew(std::vector<Filing>& filings, int count, Date day = D(2025, 7, 1), const std::string& prefix = "new") {
  for (int i = 0; i < count; ++i) filings.push_back({prefix + std::to_string(i), day});
}

struct LineExpect {
  LineStatus status = LineStatus::kFree;
  Basis basis = Basis::kFirstYear;
  uint32_t shortfall = 0;
  int64_t fee_yen = 0;
};

LineExpect FreeBy(Basis basis) { return {LineStatus::kFree, basis}; }
LineExpect Refused(uint32_t shortfall, int64_t fee_yen) {
  return {LineStatus::kNeedsPayment, Basis::kShortfall, shortfall, fee_yen};
}
LineExpect Forecast(uint32_t shortfall, int64_t fee_yen) {
  return {LineStatus::kNeedsFilings, Basis::kShortfall, shortfall, fee_yen};
}
const LineExpect kBaseMet = FreeBy(Basis::kBaseFilings);
const LineExpect kFirstYear = FreeBy(Basis::kFirstYear);
const LineExpect kNotApplied{LineStatus::kNotApplied, Basis::kNotApplied};

struct Window {
  Date year_start, year_end, count_from, count_to;
};

struct Row {
  std::string name;
  Licence licence = BaseLicence();
  std::vector<Filing> filings;
  std::vector<Payment> payments;
  Date today = kToday;
  LineExpect base, backup, billing;
  std::optional<uint32_t> filings_counted;
  std::optional<std::vector<std::string>> new_companies;
  std::optional<Window> window;
  std::optional<int64_t> backup_paid;
  std::optional<Window> forecast_window;
  std::optional<LineExpect> forecast_backup, forecast_billing;
  std::optional<Text> backup_reason, billing_reason;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

Row Named(std::string name, Date today = kToday, Licence licence = BaseLicence()) {
  Row row;
  row.name = std::move(name);
  row.today = today;
  row.licence = licence;
  return row;
}

// F filings in the counting window, N of them by new companies.
Row Counts(std::string name, int filings, int new_companies) {
  Row row;
  row.name = std::move(name);
  AddOld(row.filings, filings - new_companies);
  AddNew(row.filings, new_companies);
  row.filings_counted = static_cast<uint32_t>(filings);
  row.base = kBaseMet;
  return row;
}

// Three old companies (the base is met) and company "x" filed for on `days`.
Row CompanyX(std::string name, std::vector<Date> days, bool x_is_new, Date old_day = D(2025, 6, 1)) {
  Row row;
  row.name = std::move(name);
  AddOld(row.filings, 3, old_day);
  for (Date d : days) row.filings.push_back({"x", d});
  row.base = kBaseMet;
  row.new_companies = x_is_new ? std::vector<std::string>{"x"} : std::vector<std::string>{};
  row.backup = x_is_new ? Refused(1, 5'500) : Refused(2, 11'000);
  row.billing = Refused(2, 11'000);
  return row;
}

// A judged year in which nothing was filed: every line lacks all it needs.
Row NothingFiled(std::string name, Date today, Licence licence, Window window) {
  Row row = Named(std::move(name), today, std::move(licence));
  row.base = Refused(3, 16'500);
  row.backup = row.billing = Refused(2, 11'000);
  row.window = window;
  return row;
}

// A first year: every line free.
Row FirstYear(std::string name, Date today, Licence licence, std::optional<Window> window = std::nullopt) {
  Row row = Named(std::move(name), today, std::move(licence));
  row.base = row.backup = row.billing = kFirstYear;
  row.window = window;
  return row;
}

// 39 filings, none new (so both options lack 2), and `payments`; billing
// stays refused.
Row Paid(std::string name, std::vector<Payment> payments, LineExpect backup, int64_t backup_paid) {
  Row row = Counts(std::move(name), 39, 0);
  row.payments = std::move(payments);
  row.backup = backup;
  row.backup_paid = backup_paid;
  row.billing = Refused(2, 11'000);
  return row;
}

std::vector<Date> Yearly(int first_year, int last_year, unsigned month, unsigned day, int skip_year = 0) {
  std::vector<Date> days;
  for (int y = first_year; y <= last_year; ++y) {
    if (y != skip_year) days.push_back(D(y, month, day));
  }
  return days;
}

std::vector<Row> Rows() {
  std::vector<Row> rows;
  const LineExpect chosen = FreeBy(Basis::kFortyOrMoreChosen);
  const LineExpect by_new = FreeBy(Basis::kNewFilings);
  const LineExpect fifty = FreeBy(Basis::kFiftyOrMore);
  auto add = [&rows](Row row) { rows.push_back(std::move(row)); };

  // 1-4: the thresholds.
  Row r = Counts("Row01_F39_N0_BothRefused", 39, 0);
  r.backup = r.billing = Refused(2, 11'000);
  r.window = Window{D(2026, 4, 1), D(2027, 4, 1), D(2025, 4, 1), D(2026, 4, 1)};
  add(r);
  r = Counts("Row02_F40_N0_ChosenBackupFree", 40, 0);
  r.backup = chosen;
  r.billing = Refused(2, 11'000);
  add(r);
  r = Counts("Row03_F49_N0_ChosenBackupFree", 49, 0);
  r.backup = chosen;
  r.billing = Refused(2, 11'000);
  add(r);
  r = Counts("Row04_F50_N0_BothFree", 50, 0);
  r.backup = r.billing = fifty;
  add(r);
  // 5-6: the office's choice, one option applied.
  r = Counts("Row05_F40_ChoiceBilling", 40, 0);
  r.licence.free_choice = Option::kBilling;
  r.billing = chosen;
  r.backup = Refused(2, 11'000);
  add(r);
  r = Counts("Row06_F40_OnlyBackupApplied", 40, 0);
  r.licence.billing_applied = false;
  r.backup = chosen;
  r.billing = kNotApplied;
  add(r);
  // 7-11: new additional filings, allocated to the options first.
  r = Counts("Row07_F45_N2_ChosenAndNew", 45, 2);
  r.backup = chosen;
  r.billing = by_new;
  add(r);
  r = Counts("Row08_F5_N4_OptionsFreeBaseShort", 5, 4);
  r.backup = r.billing = by_new;
  r.base = Refused(2, 11'000);
  add(r);
  r = Counts("Row09_F5_N3_BillingShortOne", 5, 3);
  r.backup = by_new;
  r.billing = Refused(1, 5'500);
  r.base = Refused(1, 5'500);
  add(r);
  r = Counts("Row10_F5_N1_BackupShortOne", 5, 1);
  r.backup = Refused(1, 5'500);
  r.billing = Refused(2, 11'000);
  add(r);
  r = Counts("Row11_F3_N0_BaseMetOptionsShort", 3, 0);
  r.backup = r.billing = Refused(2, 11'000);
  add(r);
  // 12-14: several licences.
  r = Counts("Row12_L2_F6_N0", 6, 0);
  r.licence.licences = 2;
  r.backup = r.billing = Refused(2, 11'000);
  add(r);
  r = Counts("Row13_L5_F16_N4", 16, 4);
  r.licence.licences = 5;
  r.backup = r.billing = by_new;
  r.base = Refused(3, 16'500);
  add(r);
  r = Counts("Row14_L14_F40_N0", 40, 0);
  r.licence.licences = 14;
  r.backup = chosen;
  r.billing = Refused(2, 11'000);
  r.base = Refused(2, 11'000);
  add(r);
  // 15-16: the five quiet years before a run, to the day.
  add(CompanyX("Row15_FiledFiveYearsBeforeToTheDay_NotNew", {D(2020, 6, 1), D(2025, 6, 1)}, false));
  add(CompanyX("Row16_FiledFiveYearsAndADayBefore_New", {D(2020, 5, 31), D(2025, 6, 1)}, true));
  // 17-18: the 2013-09-01 cut-off, for a run filed for every licence year since.
  add(CompanyX("Row17_RunFrom20130831_NotNew", Yearly(2013, 2025, 8, 31), false));
  add(CompanyX("Row18_RunFrom20130901_New", Yearly(2013, 2025, 9, 1), true));
  // 19-21: companies that stopped being filed for.
  add(CompanyX("Row19_StoppedThenBackTooSoon_NotNew", {D(2021, 5, 1), D(2025, 6, 1)}, false));
  add(CompanyX("Row20_BackAfterFiveQuietYears_New", {D(2019, 3, 31), D(2024, 4, 1), D(2025, 5, 1)}, true));
  add(CompanyX("Row21a_RunEveryYearSince2016_New", Yearly(2016, 2025, 5, 1), true));
  add(CompanyX("Row21b_RunMissingLicenceYear2022_NotNew", Yearly(2016, 2025, 5, 1, 2022), false));
  // 22: the counting window's edges.
  r = CompanyX("Row22a_FiledOnFirstDayOfWindow_Counted", {D(2025, 4, 1)}, true);
  r.filings_counted = 4;
  add(r);
  r = CompanyX("Row22b_FiledOnLastDayOfWindow_Counted", {D(2026, 3, 31)}, true);
  r.filings_counted = 4;
  add(r);
  r = CompanyX("Row22c_FiledOnRenewalDay_NotCounted", {D(2026, 4, 1)}, false);
  r.filings_counted = 3;
  add(r);
  // 23: a new company counts once, its filings all count.
  r = CompanyX("Row23_NewCompanyWithThreeFilings", {D(2025, 5, 1), D(2025, 8, 1), D(2025, 11, 1)}, true);
  r.filings_counted = 6;
  add(r);
  // 24-28: first years.
  add(FirstYear("Row24_DayBeforeFirstRenewal_Free", D(2025, 3, 31), BaseLicence(),
                Window{D(2024, 4, 1), D(2025, 4, 1), D(2024, 4, 1), D(2024, 4, 1)}));
  add(NothingFiled("Row25_OnFirstRenewal_Evaluated", D(2025, 4, 1), BaseLicence(),
                   Window{D(2025, 4, 1), D(2026, 4, 1), D(2024, 4, 1), D(2025, 4, 1)}));
  Licence mid_year = BaseLicence();
  mid_year.installed = D(2025, 4, 15);
  mid_year.first_renewal = D(2026, 4, 1);
  add(FirstYear("Row26a_InstalledMidYear_FreeUntilAFullYearIsCounted", D(2026, 4, 5), mid_year,
                Window{D(2026, 4, 1), D(2027, 4, 1), D(2026, 4, 1), D(2026, 4, 1)}));
  Licence same_day = BaseLicence();
  same_day.installed = D(2025, 4, 1);
  add(FirstYear("Row26b_InstalledOnFirstRenewalDay_Free", D(2025, 6, 1), same_day));
  add(NothingFiled("Row27_InstalledMidYear_EvaluatedAtTheNextRenewal", D(2027, 4, 1), mid_year,
                   Window{D(2027, 4, 1), D(2028, 4, 1), D(2026, 4, 1), D(2027, 4, 1)}));
  Licence existing = BaseLicence();
  existing.installed.reset();
  add(FirstYear("Row28_ExistingCustomerBeforeFirstRenewal_Free", D(2025, 1, 10), existing));
  // 29-32: leap days.
  Licence leap = existing;
  leap.first_renewal = D(2024, 2, 29);
  r = CompanyX("Row29_LeapAnchor_FiledOnFeb28_Counted", {D(2028, 2, 28)}, true, D(2027, 6, 1));
  r.licence = leap;
  r.today = D(2028, 3, 10);
  r.filings_counted = 4;
  r.window = Window{D(2028, 2, 29), D(2029, 2, 28), D(2027, 2, 28), D(2028, 2, 29)};
  add(r);
  r = CompanyX("Row30_LeapAnchor_FiledOnFeb29_NotCounted", {D(2028, 2, 29)}, false, D(2027, 6, 1));
  r.licence = leap;
  r.today = D(2028, 3, 10);
  r.filings_counted = 3;
  add(r);
  r = CompanyX("Row31a_QuietYearsFromFeb29_EndOnFeb28_NotNew", {D(2023, 2, 28), D(2028, 2, 29)}, false, D(2028, 6, 1));
  r.licence = leap;
  r.today = D(2029, 3, 10);
  r.window = Window{D(2029, 2, 28), D(2030, 2, 28), D(2028, 2, 29), D(2029, 2, 28)};
  add(r);
  r = CompanyX("Row31b_QuietYearsFromFeb29_FiledFeb27_New", {D(2023, 2, 27), D(2028, 2, 29)}, true, D(2028, 6, 1));
  r.licence = leap;
  r.today = D(2029, 3, 10);
  add(r);
  Licence on_feb29 = BaseLicence();
  on_feb29.installed = D(2024, 2, 29);
  on_feb29.first_renewal = AddYears(D(2024, 2, 29), 1);
  add(FirstYear("Row32a_InstalledFeb29_DayBeforeRenewal_Free", D(2025, 2, 27), on_feb29,
                Window{D(2024, 2, 28), D(2025, 2, 28), D(2024, 2, 28), D(2024, 2, 28)}));
  add(NothingFiled("Row32b_InstalledFeb29_OnRenewal_Evaluated", D(2025, 2, 28), on_feb29,
                   Window{D(2025, 2, 28), D(2026, 2, 28), D(2024, 2, 28), D(2025, 2, 28)}));
  // 33-36: payments, for the licence year that began 2026-04-01.
  const Date year = D(2026, 4, 1);
  add(Paid("Row33_PaidInFull", {{Line::kBackup, year, 11'000}}, {LineStatus::kPaid, Basis::kPayment, 0, 0}, 11'000));
  add(Paid("Row34a_PaidForOneFiling", {{Line::kBackup, year, 5'500}}, Refused(1, 5'500), 5'500));
  add(Paid("Row34b_RemainderBelowOneFilingCoversNone", {{Line::kBackup, year, 8'000}, {Line::kBilling, year, 5'499}},
           Refused(1, 5'500), 8'000));
  add(Paid("Row34c_CorrectionsAreSummed", {{Line::kBackup, year, 11'000}, {Line::kBackup, year, -5'500}},
           Refused(1, 5'500), 5'500));
  add(Paid("Row35_PaidForAnotherLicenceYear_Ignored",
           {{Line::kBackup, D(2025, 4, 1), 11'000}, {Line::kBilling, D(2027, 4, 1), 11'000}}, Refused(2, 11'000), 0));
  r = Counts("Row36_PaidAndQualified_FreeWithPaymentShown", 5, 2);
  r.payments = {{Line::kBackup, year, 11'000}};
  r.backup = by_new;
  r.backup_paid = 11'000;
  r.billing = Refused(2, 11'000);
  add(r);
  // 37: the forecast for 2027-04-01 counts [2026-04-01, today].
  r = Named("Row37_Forecast_OneNewSinceRenewal");
  AddOld(r.filings, 39, D(2026, 4, 20), "p");
  AddNew(r.filings, 1, D(2026, 5, 1), "q");
  r.base = Refused(3, 16'500);
  r.backup = r.billing = Refused(2, 11'000);
  r.filings_counted = 0;
  r.forecast_window = Window{D(2027, 4, 1), D(2028, 4, 1), D(2026, 4, 1), D(2026, 5, 11)};
  r.forecast_backup = chosen;
  r.forecast_billing = Forecast(1, 5'500);
  add(r);
  // 38: the refusal sentence of the issue, with its figures.
  r = Counts("Row38_RefusalSentences", 39, 0);
  r.backup = r.billing = Refused(2, 11'000);
  r.backup_reason = Text{
      "インターネットバックアップ: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"
      "（2025/04/01〜2026/03/31 の申請で判定）",
      "Internet backup: available with 2 more new filings, or an extra fee of ¥11,000 (tax included) "
      "(judged on filings 2025-04-01 to 2026-03-31)"};
  r.billing_reason = Text{
      "請求管理: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"
      "（2025/04/01〜2026/03/31 の申請で判定）",
      "Billing management: available with 2 more new filings, or an extra fee of ¥11,000 (tax included) "
      "(judged on filings 2025-04-01 to 2026-03-31)"};
  add(r);
  return rows;
}

void ExpectLine(const LineResult& got, const LineExpect& want, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.basis, want.basis);
  EXPECT_EQ(got.shortfall, want.shortfall);
  EXPECT_EQ(got.fee_yen, want.fee_yen);
  EXPECT_EQ(got.allowed(), want.status != LineStatus::kNeedsPayment);
  EXPECT_FALSE(got.reason.ja.empty());
  EXPECT_FALSE(got.reason.en.empty());
}

void ExpectWindow(const YearEvaluation& year, const Window& want) {
  EXPECT_EQ(Iso(year.year_start), Iso(want.year_start));
  EXPECT_EQ(Iso(year.year_end), Iso(want.year_end));
  EXPECT_EQ(Iso(year.count_from), Iso(want.count_from));
  EXPECT_EQ(Iso(year.count_to), Iso(want.count_to));
}

class EntitlementRowTest : public ::testing::TestWithParam<Row> {};

TEST_P(EntitlementRowTest, JudgesAsTheRowSays) {
  const Row& row = GetParam();
  Result<Evaluation> evaluation = Evaluate(row.licence, row.filings, row.payments, row.today);
  ASSERT_DAICHO_OK(evaluation);
  const YearEvaluation& year = evaluation->current;
  ExpectLine(year.base, row.base, "base");
  ExpectLine(year.backup, row.backup, "backup");
  ExpectLine(year.billing, row.billing, "billing");
  EXPECT_EQ(year.first_year, row.base.basis == Basis::kFirstYear);
  if (row.filings_counted) {
    EXPECT_EQ(year.filings, *row.filings_counted);
  }
  if (row.new_companies) {
    EXPECT_EQ(year.new_companies, *row.new_companies);
    EXPECT_EQ(year.new_filings, row.new_companies->size());
  }
  if (row.window) ExpectWindow(year, *row.window);
  if (row.backup_paid) {
    EXPECT_EQ(year.backup.paid_yen, *row.backup_paid);
  }
  if (row.forecast_backup || row.forecast_billing || row.forecast_window) {
    ASSERT_TRUE(evaluation->forecast.has_value());
    const YearEvaluation& forecast = *evaluation->forecast;
    EXPECT_FALSE(forecast.first_year);
    if (row.forecast_window) ExpectWindow(forecast, *row.forecast_window);
    if (row.forecast_backup) ExpectLine(forecast.backup, *row.forecast_backup, "forecast backup");
    if (row.forecast_billing) ExpectLine(forecast.billing, *row.forecast_billing, "forecast billing");
  }
  if (row.backup_reason) {
    EXPECT_EQ(year.backup.reason.ja, row.backup_reason->ja);
    EXPECT_EQ(year.backup.reason.en, row.backup_reason->en);
  }
  if (row.billing_reason) {
    EXPECT_EQ(year.billing.reason.ja, row.billing_reason->ja);
    EXPECT_EQ(year.billing.reason.en, row.billing_reason->en);
  }
}

INSTANTIATE_TEST_SUITE_P(Plan, EntitlementRowTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// --- Inputs the rules refuse.

Status EvaluateStatus(const Licence& licence, std::vector<Filing> filings = {}, std::vector<Payment> payments = {},
                      Date today = kToday) {
  return Evaluate(licence, filings, payments, today).status();
}

TEST(EntitlementInputTest, RefusesWhatIsNotALicence) {
  Licence licence = BaseLicence();
  licence.licences = 0;
  EXPECT_EQ(EvaluateStatus(licence).code(), Code::kInvalidArgument);
  licence.licences = kMaxLicences + 1;
  EXPECT_EQ(EvaluateStatus(licence).code(), Code::kInvalidArgument);
  licence.licences = kMaxLicences;
  EXPECT_DAICHO_OK(EvaluateStatus(licence));

  licence = BaseLicence();
  licence.installed = D(2025, 4, 2);  // after the first renewal
  EXPECT_EQ(EvaluateStatus(licence).code(), Code::kInvalidArgument);
  licence.installed = D(2025, 4, 1);
  EXPECT_DAICHO_OK(EvaluateStatus(licence));

  licence = BaseLicence();
  licence.free_choice = static_cast<Option>(3);
  EXPECT_EQ(EvaluateStatus(licence).code(), Code::kInvalidArgument);
  licence = BaseLicence();
  licence.first_renewal = D(2025, 2, 30);
  EXPECT_EQ(EvaluateStatus(licence).code(), Code::kInvalidArgument);
}

TEST(EntitlementInputTest, RefusesDatesThatAreNoDays) {
  const Licence licence = BaseLicence();
  EXPECT_EQ(EvaluateStatus(licence, {}, {}, D(1969, 12, 31)).code(), Code::kInvalidArgument);
  EXPECT_EQ(EvaluateStatus(licence, {}, {}, D(2026, 2, 29)).code(), Code::kInvalidArgument);
  EXPECT_EQ(EvaluateStatus(licence, {{"a", D(2025, 13, 1)}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(EvaluateStatus(licence, {}, {{Line::kBackup, D(2026, 4, 31), 5'500}}).code(), Code::kInvalidArgument);
  EXPECT_DAICHO_OK(EvaluateStatus(licence, {{"a", D(1970, 1, 1)}}, {}, D(9999, 12, 31)));
}

TEST(EntitlementInputTest, RefusesUnknownLinesAndPaymentsBeyondInt64) {
  const Licence licence = BaseLicence();
  EXPECT_EQ(EvaluateStatus(licence, {}, {{static_cast<Line>(3), D(2026, 4, 1), 5'500}}).code(), Code::kInvalidArgument);
  const std::vector<Payment> huge = {{Line::kBackup, D(2026, 4, 1), INT64_MAX}, {Line::kBackup, D(2026, 4, 1), 1}};
  EXPECT_EQ(EvaluateStatus(licence, {}, huge).code(), Code::kInvalidArgument);
  // The sum decides, whatever the order: back within range is accepted.
  const std::vector<Payment> back = {
      {Line::kBackup, D(2026, 4, 1), INT64_MAX}, {Line::kBackup, D(2026, 4, 1), 1}, {Line::kBackup, D(2026, 4, 1), -2}};
  EXPECT_DAICHO_OK(EvaluateStatus(licence, {}, back));
}

TEST(EntitlementForecastTest, FirstYearWhoseNextRenewalIsFreeHasNoForecast) {
  Licence licence = BaseLicence();
  licence.installed = D(2025, 4, 15);
  licence.first_renewal = D(2025, 5, 1);  // too soon: 2025-05-01 is free, 2026-05-01 judged
  Result<Evaluation> before = Evaluate(licence, {}, {}, D(2025, 4, 20));
  ASSERT_DAICHO_OK(before);
  EXPECT_TRUE(before->current.first_year);
  EXPECT_FALSE(before->forecast.has_value());
  Result<Evaluation> after = Evaluate(licence, {}, {}, D(2025, 5, 1));
  ASSERT_DAICHO_OK(after);
  EXPECT_TRUE(after->current.first_year);
  ASSERT_TRUE(after->forecast.has_value());
  EXPECT_EQ(Iso(after->forecast->year_start), "2026-05-01");
  EXPECT_EQ(after->forecast->backup.status, LineStatus::kNeedsFilings);
  // The first-year sentence names the last free day: the day before 2026-05-01.
  EXPECT_EQ(after->current.backup.reason.ja, "導入後1年目のため無料です（2025/04/15 導入、2026/04/30 まで）");
  EXPECT_EQ(after->current.backup.reason.en,
            "Free in the first year after installation (installed 2025-04-15, free until 2026-04-30)");
}

TEST(EntitlementForecastTest, LongBeforeTheFirstRenewalTheForecastCountsNothingYet) {
  Licence licence = BaseLicence();
  licence.installed.reset();
  licence.first_renewal = D(2027, 4, 1);
  std::vector<Filing> filings;
  AddNew(filings, 2, D(2025, 6, 1));
  Result<Evaluation> evaluation = Evaluate(licence, filings, {}, D(2025, 6, 1));
  ASSERT_DAICHO_OK(evaluation);
  EXPECT_TRUE(evaluation->current.first_year);
  ASSERT_TRUE(evaluation->forecast.has_value());
  // The first renewal counts [2026-04-01, 2027-04-01): nothing of it has passed.
  EXPECT_EQ(Iso(evaluation->forecast->count_from), "2026-04-01");
  EXPECT_EQ(Iso(evaluation->forecast->count_to), "2026-04-01");
  EXPECT_EQ(evaluation->forecast->filings, 0u);
  EXPECT_EQ(evaluation->forecast->backup.shortfall, 2u);
}

// --- The calendar.

TEST(LicenceCalendarTest, AddYearsClampsFeb29ToFeb28InCommonYears) {
  EXPECT_EQ(Iso(AddYears(D(2024, 2, 29), 1)), "2025-02-28");
  EXPECT_EQ(Iso(AddYears(D(2024, 2, 29), 4)), "2028-02-29");
  EXPECT_EQ(Iso(AddYears(D(2024, 2, 29), -1)), "2023-02-28");
  EXPECT_EQ(Iso(AddYears(D(2024, 2, 29), -5)), "2019-02-28");
  EXPECT_EQ(Iso(AddYears(D(2000, 2, 29), 100)), "2100-02-28");
  EXPECT_EQ(Iso(AddYears(D(2025, 4, 1), -5)), "2020-04-01");
  EXPECT_EQ(Iso(AddYears(D(2025, 12, 31), 1)), "2026-12-31");
  EXPECT_EQ(Iso(AddYears(D(2025, 2, 28), 3)), "2028-02-28");
}

TEST(LicenceCalendarTest, Feb29AnchorRenewsOnFeb29InEveryLeapYearWithoutDrift) {
  const Date anchor = D(2000, 2, 29);
  for (int n = 0; n <= 100; ++n) {
    const Date renewal = RenewalDay(anchor, n);
    const std::chrono::year y{2000 + n};
    EXPECT_EQ(renewal.year(), y);
    EXPECT_EQ(renewal.month(), std::chrono::February);
    EXPECT_EQ(static_cast<unsigned>(renewal.day()), y.is_leap() ? 29u : 28u) << Iso(renewal);
  }
}

TEST(LicenceCalendarTest, LicenceYearsTileEveryDayFrom2000To2100) {
  using std::chrono::sys_days;
  for (Date anchor : {D(2000, 2, 29), D(2000, 1, 1), D(2001, 3, 31), D(2004, 12, 31), D(2025, 4, 1)}) {
    SCOPED_TRACE(Iso(anchor));
    int previous = LicenceYearIndex(anchor, D(1999, 12, 31));
    for (sys_days d = sys_days{D(2000, 1, 1)}; d <= sys_days{D(2100, 12, 31)}; d += std::chrono::days{1}) {
      const Date day{d};
      const int index = LicenceYearIndex(anchor, day);
      ASSERT_LE(RenewalDay(anchor, index), day) << Iso(day);
      ASSERT_LT(day, RenewalDay(anchor, index + 1)) << Iso(day);
      // One year after another, each starting on its renewal day: no gap, no overlap.
      ASSERT_EQ(index, day == RenewalDay(anchor, index) ? previous + 1 : previous) << Iso(day);
      previous = index;
    }
  }
}

TEST(EntitlementTextTest, OptionNames) {
  EXPECT_EQ(OptionName(Option::kBackup).ja, "インターネットバックアップ");
  EXPECT_EQ(OptionName(Option::kBackup).en, "Internet backup");
  EXPECT_EQ(OptionName(Option::kBilling).ja, "請求管理");
  EXPECT_EQ(OptionName(Option::kBilling).en, "Billing management");
}

// Every sentence carries its figures in both languages. The facts use figures
// that appear nowhere else, so a missing hole cannot pass by accident.
TEST(EntitlementTextTest, EverySentenceCarriesItsFiguresInBothLanguages) {
  ReasonFacts facts;
  facts.filings = 44;
  facts.licences = 6;
  facts.both_applied = true;
  facts.installed = D(2023, 7, 9);
  facts.free_until = D(2024, 8, 30);
  facts.count_from = D(2021, 11, 12);
  facts.count_last = D(2022, 10, 13);
  facts.renewal = D(2027, 6, 14);
  struct Case {
    Line line;
    LineStatus status;
    Basis basis;
    std::vector<std::string> ja, en;
  };
  auto line = [](const Case& c) {
    LineResult r;
    r.line = c.line;
    r.status = c.status;
    r.basis = c.basis;
    r.required = 18;
    r.counted = 16;
    r.shortfall = 7;
    r.fee_yen = 38'500;
    r.paid_yen = 12'345;
    return r;
  };
  const std::vector<Case> cases = {
      {Line::kBackup, LineStatus::kFree, Basis::kFirstYear, {"2023/07/09", "2024/08/30"}, {"2023-07-09", "2024-08-30"}},
      {Line::kBackup, LineStatus::kFree, Basis::kFiftyOrMore, {"44件", "50件"}, {"44 filings", "50 or more"}},
      {Line::kBilling,
       LineStatus::kFree,
       Basis::kFortyOrMoreChosen,
       {"44件", "40件", "選択"},
       {"44 filings", "40 or more", "chose"}},
      {Line::kBilling,
       LineStatus::kFree,
       Basis::kNewFilings,
       {"16件", "必要 18件"},
       {"16 new additional filings", "18 needed"}},
      {Line::kBackup, LineStatus::kPaid, Basis::kPayment, {"12,345円 (税込)"}, {"¥12,345 (tax included)"}},
      {Line::kBase,
       LineStatus::kPaid,
       Basis::kPayment,
       {"基本更新", "12,345円 (税込)", "6本 × 3件"},
       {"Base renewal", "¥12,345 (tax included)", "6 licences × 3"}},
      {Line::kBase,
       LineStatus::kFree,
       Basis::kBaseFilings,
       {"基本更新", "16件", "6本 × 3件"},
       {"Base renewal", "16 filings", "6 licences × 3"}},
      {Line::kBase,
       LineStatus::kNeedsPayment,
       Basis::kShortfall,
       {"基本更新", "あと7件", "38,500円 (税込)", "6本 × 3件"},
       {"Base renewal", "7 more filings", "¥38,500 (tax included)", "6 licences × 3"}},
      {Line::kBase,
       LineStatus::kNeedsFilings,
       Basis::kShortfall,
       {"基本更新", "2027/06/14", "あと7件", "6本 × 3件"},
       {"Base renewal", "2027-06-14", "7 more filings", "6 licences × 3"}},
      {Line::kBilling,
       LineStatus::kNeedsPayment,
       Basis::kShortfall,
       {"請求管理: ", "あと7件", "38,500円 (税込)", "2021/11/12〜2022/10/13"},
       {"Billing management: ", "7 more new filings", "¥38,500 (tax included)", "2021-11-12 to 2022-10-13"}},
      {Line::kBackup,
       LineStatus::kNeedsFilings,
       Basis::kShortfall,
       {"2027/06/14", "あと7件"},
       {"2027-06-14", "7 more new filings"}},
      {Line::kBilling, LineStatus::kNotApplied, Basis::kNotApplied, {"お申し込み"}, {"Not applied"}},
  };
  for (const Case& c : cases) {
    const Text text = LineReason(line(c), facts);
    SCOPED_TRACE(text.ja + " / " + text.en);
    for (const std::string& part : c.ja) EXPECT_NE(text.ja.find(part), std::string::npos) << part;
    for (const std::string& part : c.en) EXPECT_NE(text.en.find(part), std::string::npos) << part;
  }
}

TEST(EntitlementTextTest, EnglishCountsOneFilingAndOneLicenceInTheSingular) {
  ReasonFacts facts;
  facts.licences = 1;
  facts.count_from = D(2025, 4, 1);
  facts.count_last = D(2026, 3, 31);
  LineResult r;
  r.line = Line::kBackup;
  r.status = LineStatus::kNeedsPayment;
  r.basis = Basis::kShortfall;
  r.shortfall = 1;
  r.fee_yen = 5'500;
  EXPECT_EQ(LineReason(r, facts).en,
            "Internet backup: available with 1 more new filing, or an extra fee of ¥5,500 (tax included) "
            "(judged on filings 2025-04-01 to 2026-03-31)");
  r.line = Line::kBase;
  EXPECT_EQ(LineReason(r, facts).en,
            "Base renewal: 1 more filing or an extra fee of ¥5,500 (tax included) needed "
            "(1 licence × 3)");
  EXPECT_EQ(LineReason(r, facts).ja,
            "基本更新: 申請があと1件、または追加料金 5,500円 (税込) が必要です（ライセンス 1本 × 3件）");
}

TEST(EntitlementTextTest, FortyOrMoreWithOneOptionAppliedSaysNoChoice) {
  ReasonFacts facts;
  facts.filings = 41;
  facts.both_applied = false;
  LineResult r;
  r.line = Line::kBackup;
  r.basis = Basis::kFortyOrMoreChosen;
  EXPECT_EQ(LineReason(r, facts).ja, "年間の申請 41件（40件以上）のため無料です");
  EXPECT_EQ(LineReason(r, facts).en, "Free: 41 filings in the year (40 or more)");
}

// --- Properties over seeded random histories.

std::string Dump(const LineResult& r) {
  return std::to_string(static_cast<int>(r.line)) + "/" + std::to_string(static_cast<int>(r.status)) + "/" +
         std::to_string(static_cast<int>(r.basis)) + "/" + std::to_string(r.required) + "/" +
         std::to_string(r.counted) + "/" + std::to_string(r.shortfall) + "/" + std::to_string(r.fee_yen) + "/" +
         std::to_string(r.paid_yen) + "/" + r.reason.ja + "/" + r.reason.en + "\n";
}

std::string Dump(const YearEvaluation& y) {
  std::string out = Iso(y.year_start) + " " + Iso(y.year_end) + " " + Iso(y.count_from) + " " + Iso(y.count_to) +
                    " first=" + std::to_string(y.first_year) + " F=" + std::to_string(y.filings) +
                    " N=" + std::to_string(y.new_filings) + ":";
  for (const std::string& c : y.new_companies) out += " " + c;
  return out + "\n" + Dump(y.base) + Dump(y.backup) + Dump(y.billing);
}

std::string Dump(const Evaluation& e) {
  return Iso(e.today) + "\n" + Dump(e.current) + (e.forecast ? Dump(*e.forecast) : std::string("no forecast\n"));
}

struct Scenario {
  Licence licence;
  std::vector<Filing> filings;
  std::vector<Payment> payments;
  Date today;
};

int DayNumber(Date d) { return std::chrono::sys_days{d}.time_since_epoch().count(); }

Date RandomDay(std::mt19937& rng, Date first, Date last) {
  std::uniform_int_distribution<int> pick(DayNumber(first), DayNumber(last));
  return Date{std::chrono::sys_days{std::chrono::days{pick(rng)}}};
}

int RandomInt(std::mt19937& rng, int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); }

// An office with a history of one-off companies and of companies filed for
// every year for a while, renewal days anywhere (02-29 too), and payments
// for this year or the one before.
Scenario RandomScenario(uint32_t seed) {
  std::mt19937 rng(seed);
  auto chance = [&rng](double p) { return std::bernoulli_distribution(p)(rng); };
  Scenario s;
  s.licence.first_renewal = chance(0.2) ? D(2016, 2, 29) : RandomDay(rng, D(2014, 1, 1), D(2020, 12, 31));
  if (chance(0.5)) s.licence.installed = RandomDay(rng, AddYears(s.licence.first_renewal, -3), s.licence.first_renewal);
  s.licence.licences = static_cast<uint32_t>(RandomInt(rng, 1, 6));
  s.licence.backup_applied = chance(0.8);
  s.licence.billing_applied = chance(0.8);
  s.licence.free_choice = chance(0.5) ? Option::kBackup : Option::kBilling;
  s.today = RandomDay(rng, D(2015, 1, 1), D(2030, 12, 31));
  const int companies = RandomInt(rng, 0, 70);
  for (int c = 0; c < companies; ++c) {
    const std::string id = "c" + std::to_string(c);
    if (chance(0.5)) {
      for (int i = RandomInt(rng, 1, 3); i > 0; --i)
        s.filings.push_back({id, RandomDay(rng, D(2008, 1, 1), D(2030, 12, 31))});
    } else {
      const int first_year = RandomInt(rng, 2008, 2028);
      for (int y = first_year; y < first_year + RandomInt(rng, 1, 10); ++y) {
        if (!chance(0.1)) s.filings.push_back({id, RandomDay(rng, D(y, 1, 1), D(y, 12, 31))});
      }
    }
  }
  const int year = LicenceYearIndex(s.licence.first_renewal, s.today);
  for (int i = RandomInt(rng, 0, 3); i > 0; --i) {
    const int64_t amounts[] = {5'500, 8'000, 11'000, 16'500};
    s.payments.push_back({static_cast<Line>(RandomInt(rng, 0, 2)),
                          RenewalDay(s.licence.first_renewal, year - RandomInt(rng, 0, 1)),
                          amounts[RandomInt(rng, 0, 3)]});
  }
  return s;
}

Evaluation MustEvaluate(const Scenario& s) {
  Result<Evaluation> evaluation = Evaluate(s.licence, s.filings, s.payments, s.today);
  EXPECT_TRUE(evaluation.ok()) << evaluation.status();
  return evaluation.ok() ? *std::move(evaluation) : Evaluation{};
}

// `after` has no line of the judged year in a worse state than `before`.
void ExpectNoLineWorse(const YearEvaluation& before, const YearEvaluation& after) {
  for (auto line : {&YearEvaluation::base, &YearEvaluation::backup, &YearEvaluation::billing}) {
    const LineResult& b = before.*line;
    const LineResult& a = after.*line;
    SCOPED_TRACE(Dump(b) + Dump(a));
    EXPECT_LE(a.shortfall, b.shortfall);
    EXPECT_LE(a.fee_yen, b.fee_yen);
    EXPECT_TRUE(a.allowed() || !b.allowed());
  }
}

constexpr uint32_t kSeeds = 300;

TEST(EntitlementPropertyTest, InputOrderDoesNotMatter) {
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    Scenario s = RandomScenario(seed);
    const std::string first = Dump(MustEvaluate(s));
    std::mt19937 rng(seed);
    std::shuffle(s.filings.begin(), s.filings.end(), rng);
    std::shuffle(s.payments.begin(), s.payments.end(), rng);
    EXPECT_EQ(Dump(MustEvaluate(s)), first);
  }
}

TEST(EntitlementPropertyTest, AnotherFilingInTheCountedYearNeverMakesALineWorse) {
  int judged = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    Scenario s = RandomScenario(seed);
    const YearEvaluation before = MustEvaluate(s).current;
    if (before.first_year) continue;
    ++judged;
    std::mt19937 rng(seed);
    const Date last_counted = Date{std::chrono::sys_days{before.count_to} - std::chrono::days{1}};
    // A company never filed for before.
    Scenario with_new = s;
    with_new.filings.push_back({"brand-new", RandomDay(rng, before.count_from, last_counted)});
    const YearEvaluation after_new = MustEvaluate(with_new).current;
    EXPECT_EQ(after_new.filings, before.filings + 1);
    ExpectNoLineWorse(before, after_new);
    // A company of the counted year, on or after its first filing in it.
    for (const Filing& f : s.filings) {
      if (f.date < before.count_from || f.date >= before.count_to) continue;
      Date earliest = f.date;
      for (const Filing& g : s.filings) {
        if (g.company_id == f.company_id && g.date >= before.count_from && g.date < earliest) earliest = g.date;
      }
      Scenario again = s;
      again.filings.push_back({f.company_id, RandomDay(rng, earliest, last_counted)});
      const YearEvaluation after_again = MustEvaluate(again).current;
      EXPECT_EQ(after_again.new_filings, before.new_filings);
      ExpectNoLineWorse(before, after_again);
      break;
    }
  }
  EXPECT_GT(judged, 100);  // the seeds must reach judged years, not only first years
}

TEST(EntitlementPropertyTest, APaymentNeverMakesALineWorse) {
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    Scenario s = RandomScenario(seed);
    const YearEvaluation before = MustEvaluate(s).current;
    std::mt19937 rng(seed);
    const Line line = static_cast<Line>(RandomInt(rng, 0, 2));
    const int64_t amount = RandomInt(rng, 1, 30'000);
    s.payments.push_back({line, before.year_start, amount});
    const YearEvaluation after = MustEvaluate(s).current;
    ExpectNoLineWorse(before, after);
    const LineResult& b = line == Line::kBase ? before.base : line == Line::kBackup ? before.backup : before.billing;
    const LineResult& a = line == Line::kBase ? after.base : line == Line::kBackup ? after.backup : after.billing;
    EXPECT_EQ(a.paid_yen, b.paid_yen + amount);
    if (b.status == LineStatus::kNeedsPayment && b.paid_yen >= 0 && amount >= kYenPerMissingFiling) {
      EXPECT_LT(a.shortfall, b.shortfall);
    }
  }
}

// Plan 2.5-b: new companies go to the options first. Had the base taken its
// filings first (the ordinary ones, then new companies' if it still lacked),
// the lines would carry the shortfall differently, but the total missing
// would be the same: so the allocation never costs an office more.
TEST(EntitlementPropertyTest, TotalMissingIsTheSameAsWithBaseFirstAllocation) {
  int checked = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    Scenario s = RandomScenario(seed);
    s.payments.clear();
    const YearEvaluation year = MustEvaluate(s).current;
    if (year.first_year) continue;
    int64_t judged_options = 0, engine_total = year.base.shortfall;
    for (const LineResult* r : {&year.backup, &year.billing}) {
      if (r->required > 0) {
        ++judged_options;
        engine_total += r->shortfall;
      }
    }
    const int64_t base_needs = int64_t{3} * s.licence.licences;
    const int64_t filings = year.filings, fresh = year.new_filings, ordinary = filings - fresh;
    const int64_t fresh_to_base = std::clamp<int64_t>(base_needs - ordinary, 0, fresh);
    const int64_t base_first_total =
        std::max<int64_t>(0, base_needs - filings) + std::max<int64_t>(0, 2 * judged_options - (fresh - fresh_to_base));
    EXPECT_EQ(engine_total, base_first_total) << Dump(year);
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace daicho::entitlements
