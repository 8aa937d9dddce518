// The sentences of the entitlement rules, in Japanese and English. This file
// and entitlement_text.cc are the only place they are written: the relay's
// CLI, the panel, the JSON API and the PCs all show these (the PCs receive
// them from the relay), so an office reads the same words everywhere.
//
// Dates are written YYYY/MM/DD in Japanese and YYYY-MM-DD in English; amounts
// with thousands separators ("11,000", text::GroupThousands). Each sentence carries the same figures in both
// languages.
#ifndef DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENT_TEXT_H_
#define DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENT_TEXT_H_

#include <cstdint>
#include <optional>

#include "relay/entitlements/entitlements.h"

namespace daicho::entitlements {

// What a line's sentence says beyond the line's own figures (LineResult's
// required, counted, shortfall, fee_yen and paid_yen).
struct ReasonFacts {
  uint32_t filings = 0;           // filings in the counting window
  uint32_t licences = 1;          // the base line's "L licences x 3"
  bool both_applied = false;      // a ">= 40" sentence says the office chose the option
  std::optional<Date> installed;  // a first year: the installation day, if one
  Date free_until;                // a first year: the last free day
  Date count_from;                // the first day counted
  Date count_last;                // the last day counted
  Date renewal;                   // the renewal judged (a forecast's "by" day)
};

// The sentence for `line` (its status and basis pick it; a forecast's lines
// are kNeedsFilings where a judged renewal's would be kNeedsPayment).
Text LineReason(const LineResult& line, const ReasonFacts& facts);

}  // namespace daicho::entitlements

#endif  // DAICHO_RELAY_ENTITLEMENTS_ENTITLEMENT_TEXT_H_
