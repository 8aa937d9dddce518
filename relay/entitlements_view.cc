#include "relay/entitlements_view.h"

#include <array>
#include <utility>

#include "text/date_text.h"

namespace daicho::relay {
namespace {

using entitlements::Basis;
using entitlements::Line;
using entitlements::LineStatus;
using nlohmann::json;

constexpr std::array<std::pair<Line, std::string_view>, 3> kLines = {
    {{Line::kBase, "base"}, {Line::kBackup, "backup"}, {Line::kBilling, "billing"}}};

json LineJson(const entitlements::LineResult& line) {
  return json{{"status", LineStatusName(line.status)},
              {"basis", BasisName(line.basis)},
              {"allowed", line.allowed()},
              {"required", line.required},
              {"counted", line.counted},
              {"shortfall", line.shortfall},
              {"fee_yen", line.fee_yen},
              {"paid_yen", line.paid_yen},
              {"reason_ja", line.reason.ja},
              {"reason_en", line.reason.en}};
}

json YearJson(const entitlements::YearEvaluation& year) {
  return json{{"year_start", text::FormatIsoDate(year.year_start)},
              {"next_renewal", text::FormatIsoDate(year.year_end)},
              {"count_from", text::FormatIsoDate(year.count_from)},
              {"count_last", text::FormatIsoDate(entitlements::DayBefore(year.count_to))},
              {"first_year", year.first_year},
              {"filings", year.filings},
              {"new_filings", year.new_filings},
              {"new_companies", year.new_companies},
              {"base", LineJson(year.base)},
              {"backup", LineJson(year.backup)},
              {"billing", LineJson(year.billing)}};
}

}  // namespace

std::string_view LineName(Line line) {
  for (const auto& [known, name] : kLines) {
    if (known == line) return name;
  }
  return "unknown";
}

std::optional<Line> ParseLineName(std::string_view name) {
  for (const auto& [line, known] : kLines) {
    if (known == name) return line;
  }
  return std::nullopt;
}

std::string_view LineStatusName(LineStatus status) {
  switch (status) {
    case LineStatus::kFree:
      return "free";
    case LineStatus::kPaid:
      return "paid";
    case LineStatus::kNeedsFilings:
      return "needs_filings";
    case LineStatus::kNeedsPayment:
      return "needs_payment";
    case LineStatus::kNotApplied:
      return "not_applied";
  }
  return "unknown";
}

std::string_view BasisName(Basis basis) {
  switch (basis) {
    case Basis::kFirstYear:
      return "first_year";
    case Basis::kFiftyOrMore:
      return "fifty_or_more";
    case Basis::kFortyOrMoreChosen:
      return "forty_or_more_chosen";
    case Basis::kNewFilings:
      return "new_filings";
    case Basis::kBaseFilings:
      return "base_filings";
    case Basis::kPayment:
      return "payment";
    case Basis::kShortfall:
      return "shortfall";
    case Basis::kNotApplied:
      return "not_applied";
  }
  return "unknown";
}

json EvaluationJson(const entitlements::Evaluation& evaluation) {
  return json{{"today", text::FormatIsoDate(evaluation.today)},
              {"current", YearJson(evaluation.current)},
              {"forecast", evaluation.forecast ? YearJson(*evaluation.forecast) : json(nullptr)}};
}

}  // namespace daicho::relay
