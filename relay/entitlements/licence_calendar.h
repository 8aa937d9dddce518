// The licence calendar: licence years, renewal days and days in Japan, for the
// entitlement rules (entitlements.h declares AddYears, which is
// defined here with the rest of the calendar).
//
// A licence renews on each anniversary of its first renewal day. Every
// renewal day is computed from that anchor (never from the previous renewal),
// so an anchor on 02-29 renews on 02-28 in common years and on 02-29 again in
// leap years: it never drifts. Renewal days tile time: licence year n is
// [RenewalDay(n), RenewalDay(n + 1)), for every integer n (negative n are the
// years before the first renewal).
#ifndef DAICHO_RELAY_ENTITLEMENTS_LICENCE_CALENDAR_H_
#define DAICHO_RELAY_ENTITLEMENTS_LICENCE_CALENDAR_H_

#include "relay/entitlements/entitlements.h"

namespace daicho::entitlements {

// The years a date of the rules may fall in. Before 1970 nothing was filed
// through the vendor; the bounds also keep year arithmetic far from the
// limits of std::chrono::year.
inline constexpr int kFirstSupportedYear = 1970;
inline constexpr int kLastSupportedYear = 9999;

// True for a real calendar day within the supported years.
bool IsSupportedDay(Date day);

// `day` moved by `days` (negative: earlier).
Date AddDays(Date day, int days);

// Renewal day `n` of a licence first renewed on `first_renewal`: n = 0 is
// `first_renewal` itself, n = -1 the anniversary a year before it.
Date RenewalDay(Date first_renewal, int n);

// The licence year holding `day`: the largest n with
// RenewalDay(first_renewal, n) <= day.
int LicenceYearIndex(Date first_renewal, Date day);

}  // namespace daicho::entitlements

#endif  // DAICHO_RELAY_ENTITLEMENTS_LICENCE_CALENDAR_H_
