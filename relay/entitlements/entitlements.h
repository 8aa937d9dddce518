// The vendor's licence entitlement rules (DOMAIN.md, "The vendor's
// entitlement rules"): may an office keep "Internet backup" and "billing
// management" this licence year, and if not, how many filings or how much
// money it lacks. Pure: no clock, no storage; the relay passes in the
// contract's facts and today's date and stores nothing here. Every reading of
// the rules that the domain text leaves open is written down in
// docs/operations.md ("Licence entitlements") and pinned by a table row in
// tests/relay/entitlements/entitlements_test.cc.
#ifndef DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENTS_H_
#define DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENTS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daicho/status.h"

namespace daicho::entitlements {

// A calendar day in Japan (the office's and the vendor's calendar).
using Date = std::chrono::year_month_day;

// The paid options. The numbers are stored and sent on the wire.
enum class Option : uint8_t { kBackup = 1, kBilling = 2 };

// The lines of a renewal: the base licence renewal and each option.
enum class Line : uint8_t { kBase = 0, kBackup = 1, kBilling = 2 };

// Each missing filing costs this at renewal (tax included).
inline constexpr int64_t kYenPerMissingFiling = 5500;
// Filings the base renewal needs per licence, and new additional filings
// (companies) each judged option needs.
inline constexpr uint32_t kBaseFilingsPerLicence = 3;
inline constexpr uint32_t kNewFilingsPerOption = 2;
// Filings in the counted year that make both options free, or one.
inline constexpr uint32_t kFilingsForBothFree = 50;
inline constexpr uint32_t kFilingsForOneFree = 40;
// A company filed for within this many years before its run of filings
// began is not new.
inline constexpr int kQuietYearsBeforeNew = 5;
// Filings for companies first filed for before this day never count as new.
inline constexpr Date kNewFilingCutoff{std::chrono::year{2013}, std::chrono::month{9}, std::chrono::day{1}};

// The contract's licence facts, as the vendor records them.
struct Licence {
  // The day of a new installation: its first licence year is free. Empty for
  // an office that was a customer before (no first-year rule).
  std::optional<Date> installed;
  // The first renewal day; licence years run from each anniversary of it to
  // the next. A 02-29 anchor renews on 02-28 in common years.
  Date first_renewal;
  // Licences (PCs) the office pays for; 1 to kMaxLicences.
  uint32_t licences = 1;
  bool backup_applied = false;
  bool billing_applied = false;
  // The option an office with 40 to 49 filings keeps free when it applied
  // for both.
  Option free_choice = Option::kBackup;
};

// One filing made through the vendor for a construction company.
struct Filing {
  std::string company_id;
  Date date;
};

// Money the vendor received for one line of one licence year.
struct Payment {
  Line line = Line::kBase;
  // The first day of the licence year the payment is for.
  Date licence_year;
  int64_t amount_yen = 0;
};

// A sentence for people, in Japanese and English.
struct Text {
  std::string ja;
  std::string en;
};

enum class LineStatus : uint8_t {
  kFree,          // qualified: first year, thresholds or enough filings
  kPaid,          // short of filings, covered by payments
  kNeedsFilings,  // forecast only: short so far, the renewal is still ahead
  kNeedsPayment,  // short at the renewal and not paid: refused
  kNotApplied,    // the office did not apply for this option
};

// Why a line has its status (lets the panel and tests tell the rules apart).
enum class Basis : uint8_t {
  kFirstYear,
  kFiftyOrMore,
  kFortyOrMoreChosen,
  kNewFilings,
  kBaseFilings,
  kPayment,
  kShortfall,
  kNotApplied,
};

struct LineResult {
  Line line = Line::kBase;
  LineStatus status = LineStatus::kFree;
  Basis basis = Basis::kFirstYear;
  uint32_t required = 0;   // filings this line needs (0 when free by year or threshold)
  uint32_t counted = 0;    // filings allocated to this line
  uint32_t shortfall = 0;  // filings still missing after payments
  int64_t fee_yen = 0;     // what paying the shortfall costs now
  int64_t paid_yen = 0;    // payments for this line and licence year
  Text reason;             // one sentence with the figures
  // Only a refused line stops anything; a forecast's kNeedsFilings does not.
  bool allowed() const { return status != LineStatus::kNeedsPayment; }
};

// One licence year judged on the filings of the year before its renewal.
struct YearEvaluation {
  Date year_start;  // the renewal day this year began with
  Date year_end;    // the next renewal day (exclusive)
  Date count_from;  // filings counted: [count_from, count_to); empty in a first year
  Date count_to;
  bool first_year = false;
  uint32_t filings = 0;      // filings in the counting window
  uint32_t new_filings = 0;  // new additional companies among them
  std::vector<std::string> new_companies;
  LineResult base;
  LineResult backup;
  LineResult billing;
};

struct Evaluation {
  Date today;
  // Enforced now.
  YearEvaluation current;
  // The next renewal judged on the filings since this year began (never
  // enforced; tells the office what it still needs). Empty in a first year
  // whose next renewal is also free.
  std::optional<YearEvaluation> forecast;
};

// More licences than any office has; keeps every figure far from overflow.
inline constexpr uint32_t kMaxLicences = 100'000;

// Judges `licence` on `today`. kInvalidArgument for licences outside 1 to
// kMaxLicences, a first renewal before the installation, an unknown
// free_choice or line, a date that is not a day (or lies outside the years
// 1970 to 9999), or payments whose sum does not fit in int64_t.
Result<Evaluation> Evaluate(const Licence& licence, std::span<const Filing> filings, std::span<const Payment> payments,
                            Date today);

// The same calendar day `years` later; 02-29 becomes 02-28 in a common year.
Date AddYears(Date day, int years);

// The day before `day`: the last day of a span that ends before `day` (a
// licence year's last day, the last day a counting window counts).
Date DayBefore(Date day);

// The option's name: インターネットバックアップ / Internet backup, 請求管理 /
// Billing management.
Text OptionName(Option option);

}  // namespace daicho::entitlements

#endif  // DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENTS_H_
