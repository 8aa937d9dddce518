// How the relay's front ends (daicho-relay's commands, the admin panel, the
// JSON API) name and show an entitlement evaluation: one vocabulary and one
// JSON shape for all of them (docs/admin-api.md).
#ifndef DAICHO_RELAY_ENTITLEMENTS_VIEW_H_
#define DAICHO_RELAY_ENTITLEMENTS_VIEW_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "relay/entitlements/entitlements.h"

namespace daicho::relay {

// "base", "backup", "billing".
std::string_view LineName(entitlements::Line line);
std::optional<entitlements::Line> ParseLineName(std::string_view name);
// "free", "paid", "needs_filings", "needs_payment", "not_applied".
std::string_view LineStatusName(entitlements::LineStatus status);
// "first_year", "fifty_or_more", "forty_or_more_chosen", "new_filings",
// "base_filings", "payment", "shortfall", "not_applied".
std::string_view BasisName(entitlements::Basis basis);

// {"today", "current": {year...}, "forecast": {...} or null}; a year is
// {"year_start", "next_renewal", "count_from", "count_last" (inclusive),
// "first_year", "filings", "new_filings", "new_companies", "base", "backup",
// "billing"}, a line {"status", "basis", "allowed", "required", "counted",
// "shortfall", "fee_yen", "paid_yen", "reason_ja", "reason_en"}.
nlohmann::json EvaluationJson(const entitlements::Evaluation& evaluation);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_ENTITLEMENTS_VIEW_H_
