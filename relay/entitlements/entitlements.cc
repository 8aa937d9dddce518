// Evaluate: plan of issue 15, section 2.3, with the readings of
// docs/operations.md ("Licence entitlements").
#include "relay/entitlements/entitlements.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relay/entitlements/entitlement_text.h"
#include "relay/entitlements/licence_calendar.h"

namespace daicho::entitlements {

namespace {

// Each company's filing days, sorted. Keyed by company id, so that nothing
// the evaluation returns depends on the order of its input.
using History = std::map<std::string, std::vector<Date>, std::less<>>;

History ByCompany(std::span<const Filing> filings) {
  History history;
  for (const Filing& f : filings) history[f.company_id].push_back(f.date);
  for (auto& entry : history) std::sort(entry.second.begin(), entry.second.end());
  return history;
}

bool AnyIn(const std::vector<Date>& days, Date from, Date to) {
  const auto it = std::lower_bound(days.begin(), days.end(), from);
  return it != days.end() && *it < to;
}

// Whether `company` is a new additional company for the window starting at
// renewal day `first_renewal` + `window` years: its run of filings (a filing
// in every licence year back from the window) began on or after the cut-off,
// with no filing in the quiet years before that run's first filing.
bool IsNew(const std::vector<Date>& days, Date first_renewal, int window) {
  Date run_from = RenewalDay(first_renewal, window);
  for (int k = window - 1;; --k) {
    const Date earlier = RenewalDay(first_renewal, k);
    if (!AnyIn(days, earlier, run_from)) break;  // ends once past the company's first filing
    run_from = earlier;
  }
  const Date start = *std::lower_bound(days.begin(), days.end(), run_from);
  return start >= kNewFilingCutoff && !AnyIn(days, AddYears(start, -kQuietYearsBeforeNew), start);
}

// The lines of one judged renewal, in a fixed order: base, backup, billing.
LineResult& LineOf(YearEvaluation& year, Line line) {
  switch (line) {
    case Line::kBackup:
      return year.backup;
    case Line::kBilling:
      return year.billing;
    case Line::kBase:
      break;
  }
  return year.base;
}

bool Applied(const Licence& licence, Option option) {
  return option == Option::kBackup ? licence.backup_applied : licence.billing_applied;
}

Option Other(Option option) { return option == Option::kBackup ? Option::kBilling : Option::kBackup; }

// Sums of the payments for each line of one licence year (the start of the
// year is how a payment names it).
using PaidByLine = std::array<int64_t, 3>;

Result<PaidByLine> PaidFor(std::span<const Payment> payments, Date year_start) {
  std::array<__int128, 3> sums{};
  for (const Payment& p : payments) {
    if (p.licence_year == year_start) sums[static_cast<size_t>(p.line)] += p.amount_yen;
  }
  PaidByLine paid{};
  for (size_t i = 0; i < sums.size(); ++i) {
    if (sums[i] > INT64_MAX || sums[i] < INT64_MIN) {
      return InvalidArgument("the payments for one line of one licence year add up to more than int64_t holds");
    }
    paid[i] = static_cast<int64_t>(sums[i]);
  }
  return paid;
}

// Step 6: what a line short of `missing` filings has, given its paid_yen; a
// forecast counts no payment (nothing is due before the renewal).
void Settle(LineResult& r, uint32_t missing, bool forecast) {
  const bool base = r.line == Line::kBase;
  if (missing == 0) {
    r.status = LineStatus::kFree;
    r.basis = base ? Basis::kBaseFilings : Basis::kNewFilings;
    return;
  }
  // Payments cover whole filings; a remainder below one filing's fee covers none.
  const int64_t covered_filings = forecast ? 0 : std::max<int64_t>(r.paid_yen, 0) / kYenPerMissingFiling;
  r.shortfall = static_cast<uint32_t>(std::max<int64_t>(missing - covered_filings, 0));
  r.fee_yen = static_cast<int64_t>(r.shortfall) * kYenPerMissingFiling;
  if (forecast) {
    r.status = LineStatus::kNeedsFilings;
    r.basis = Basis::kShortfall;
  } else if (r.shortfall == 0) {
    r.status = LineStatus::kPaid;
    r.basis = Basis::kPayment;
  } else {
    r.status = LineStatus::kNeedsPayment;
    r.basis = Basis::kShortfall;
  }
}

void SetLine(LineResult& r, LineStatus status, Basis basis) {
  r.status = status;
  r.basis = basis;
}

// The facts every sentence of one year draws on.
ReasonFacts FactsOf(const Licence& licence, const YearEvaluation& year, Date free_until) {
  ReasonFacts facts;
  facts.filings = year.filings;
  facts.licences = licence.licences;
  facts.both_applied = licence.backup_applied && licence.billing_applied;
  facts.installed = licence.installed;
  facts.free_until = free_until;
  facts.count_from = year.count_from;
  facts.count_last = DayBefore(year.count_to);
  facts.renewal = year.year_start;
  return facts;
}

void WriteReasons(YearEvaluation& year, const ReasonFacts& facts) {
  for (LineResult* r : {&year.base, &year.backup, &year.billing}) r->reason = LineReason(*r, facts);
}

class Evaluator {
 public:
  Evaluator(const Licence& licence, std::span<const Filing> filings)
      : licence_(licence), history_(ByCompany(filings)), free_end_(FreeEnd(licence)) {}

  // Whether renewal `index` begins a free year (the first year, or the
  // period before the first renewal).
  bool FreeRenewal(int index) const { return Renewal(index) < free_end_; }

  // Licence year `index` when it is free: nothing is counted.
  YearEvaluation FreeYear(int index, const PaidByLine& paid) const {
    YearEvaluation year = YearOf(index);
    year.first_year = true;
    year.count_from = year.count_to = year.year_start;
    for (Line line : {Line::kBase, Line::kBackup, Line::kBilling}) {
      LineResult& r = LineOf(year, line);
      r.paid_yen = paid[static_cast<size_t>(line)];
      if (line != Line::kBase && !Applied(licence_, static_cast<Option>(line))) {
        SetLine(r, LineStatus::kNotApplied, Basis::kNotApplied);
      } else {
        SetLine(r, LineStatus::kFree, Basis::kFirstYear);
      }
    }
    WriteReasons(year, FactsOf(licence_, year, DayBefore(free_end_)));
    return year;
  }

  // Renewal `index` judged on the filings of [its previous renewal day,
  // count_to) (count_to is the renewal day itself, or for a forecast the day
  // after today). `paid` empty: a forecast.
  YearEvaluation Judge(int index, Date count_to, const std::optional<PaidByLine>& paid) const {
    YearEvaluation year = YearOf(index);
    year.count_from = Renewal(index - 1);
    year.count_to = count_to;
    Count(year, index - 1);

    // Step 4: the thresholds, the office's choice first.
    std::vector<LineResult*> judged;
    bool one_free_given = false;
    for (Option option : {licence_.free_choice, Other(licence_.free_choice)}) {
      LineResult& r = LineOf(year, static_cast<Line>(option));
      if (!Applied(licence_, option)) {
        SetLine(r, LineStatus::kNotApplied, Basis::kNotApplied);
      } else if (year.filings >= kFilingsForBothFree) {
        SetLine(r, LineStatus::kFree, Basis::kFiftyOrMore);
      } else if (year.filings >= kFilingsForOneFree && !one_free_given) {
        SetLine(r, LineStatus::kFree, Basis::kFortyOrMoreChosen);
        one_free_given = true;
      } else {
        judged.push_back(&r);
      }
    }

    // Step 5: new companies serve the judged options first; every other
    // filing counts for the base.
    uint32_t new_left = year.new_filings;
    for (LineResult* r : judged) {
      r->required = kNewFilingsPerOption;
      r->counted = std::min(kNewFilingsPerOption, new_left);
      new_left -= r->counted;
    }
    const uint32_t used = year.new_filings - new_left;
    year.base.required = kBaseFilingsPerLicence * licence_.licences;
    year.base.counted = std::min(year.filings - used, year.base.required);

    // Step 6: payments, shown on every line, covering the judged ones.
    if (paid) {
      for (Line line : {Line::kBase, Line::kBackup, Line::kBilling}) {
        LineOf(year, line).paid_yen = (*paid)[static_cast<size_t>(line)];
      }
    }
    for (LineResult* r : judged) Settle(*r, r->required - r->counted, !paid);
    Settle(year.base, year.base.required - year.base.counted, !paid);

    WriteReasons(year, FactsOf(licence_, year, DayBefore(free_end_)));
    return year;
  }

  Date Renewal(int index) const { return RenewalDay(licence_.first_renewal, index); }

 private:
  // The first day that is not free: the first renewal, or for a new
  // installation the first renewal day at least a year after it (a counting
  // window never starts before the installation), whichever is later.
  static Date FreeEnd(const Licence& licence) {
    if (!licence.installed) return licence.first_renewal;
    const Date year_after = AddYears(*licence.installed, 1);
    const int index = LicenceYearIndex(licence.first_renewal, year_after);
    Date end = RenewalDay(licence.first_renewal, index);
    if (end < year_after) end = RenewalDay(licence.first_renewal, index + 1);
    return std::max(end, licence.first_renewal);
  }

  YearEvaluation YearOf(int index) const {
    YearEvaluation year;
    year.year_start = Renewal(index);
    year.year_end = Renewal(index + 1);
    year.base.line = Line::kBase;
    year.backup.line = Line::kBackup;
    year.billing.line = Line::kBilling;
    return year;
  }

  // Steps 2 and 3: the filings of the counting window, whose licence year
  // starts at renewal `window`, and the new companies among them.
  void Count(YearEvaluation& year, int window) const {
    for (const auto& [company, days] : history_) {
      const auto first = std::lower_bound(days.begin(), days.end(), year.count_from);
      const auto last = std::lower_bound(days.begin(), days.end(), year.count_to);
      if (first == last) continue;
      year.filings += static_cast<uint32_t>(last - first);
      if (IsNew(days, licence_.first_renewal, window)) year.new_companies.push_back(company);
    }
    year.new_filings = static_cast<uint32_t>(year.new_companies.size());
  }

  const Licence& licence_;
  const History history_;
  const Date free_end_;
};

Status Validate(const Licence& licence, std::span<const Filing> filings, std::span<const Payment> payments,
                Date today) {
  if (licence.licences == 0 || licence.licences > kMaxLicences) {
    return InvalidArgument("licences must be 1 to " + std::to_string(kMaxLicences) + ", not " +
                           std::to_string(licence.licences));
  }
  if (licence.free_choice != Option::kBackup && licence.free_choice != Option::kBilling) {
    return InvalidArgument("unknown option as the free choice");
  }
  if (!IsSupportedDay(today)) return InvalidArgument("today is not a day of the years 1970 to 9999");
  if (!IsSupportedDay(licence.first_renewal)) {
    return InvalidArgument("the first renewal is not a day of the years 1970 to 9999");
  }
  if (licence.installed) {
    if (!IsSupportedDay(*licence.installed)) {
      return InvalidArgument("the installation is not a day of the years 1970 to 9999");
    }
    if (licence.first_renewal < *licence.installed) {
      return InvalidArgument("the first renewal comes before the installation");
    }
  }
  for (const Filing& f : filings) {
    if (!IsSupportedDay(f.date)) {
      return InvalidArgument("a filing for " + f.company_id + " is not dated on a day of the years 1970 to 9999");
    }
  }
  for (const Payment& p : payments) {
    if (p.line != Line::kBase && p.line != Line::kBackup && p.line != Line::kBilling) {
      return InvalidArgument("a payment names an unknown line");
    }
    if (!IsSupportedDay(p.licence_year)) {
      return InvalidArgument("a payment's licence year is not a day of the years 1970 to 9999");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Evaluation> Evaluate(const Licence& licence, std::span<const Filing> filings, std::span<const Payment> payments,
                            Date today) {
  DAICHO_RETURN_IF_ERROR(Validate(licence, filings, payments, today));
  const Evaluator evaluator(licence, filings);

  Evaluation evaluation;
  evaluation.today = today;
  const int current = LicenceYearIndex(licence.first_renewal, today);
  DAICHO_ASSIGN_OR_RETURN(const PaidByLine paid, PaidFor(payments, evaluator.Renewal(current)));
  evaluation.current = evaluator.FreeRenewal(current) ? evaluator.FreeYear(current, paid)
                                                      : evaluator.Judge(current, evaluator.Renewal(current), paid);

  // The next renewal (before the first one: the first one), judged on what
  // has been filed towards it up to today.
  const int next = std::max(current + 1, 0);
  if (!evaluator.FreeRenewal(next)) {
    const Date from = evaluator.Renewal(next - 1);
    const Date count_to = std::clamp(AddDays(today, 1), from, evaluator.Renewal(next));
    evaluation.forecast = evaluator.Judge(next, count_to, std::nullopt);
  }
  return evaluation;
}

}  // namespace daicho::entitlements
