#include "relay/entitlements/licence_calendar.h"

namespace daicho::entitlements {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year;

bool IsSupportedDay(Date d) {
  return d.ok() && d.year() >= year{kFirstSupportedYear} && d.year() <= year{kLastSupportedYear};
}

Date AddYears(Date d, int years) {
  const Date moved{d.year() + std::chrono::years{years}, d.month(), d.day()};
  if (moved.ok()) return moved;
  // Only 02-29 into a common year lands on no day: the month's last day it is.
  return Date{std::chrono::year_month_day_last{moved.year(), std::chrono::month_day_last{d.month()}}};
}

Date AddDays(Date d, int n) { return Date{sys_days{d} + days{n}}; }

Date DayBefore(Date d) { return AddDays(d, -1); }

Date RenewalDay(Date first_renewal, int n) { return AddYears(first_renewal, n); }

int LicenceYearIndex(Date first_renewal, Date d) {
  // Renewal n falls in the year first_renewal.year + n, so only the renewal in
  // d's own year needs comparing.
  int n = static_cast<int>(d.year()) - static_cast<int>(first_renewal.year());
  if (RenewalDay(first_renewal, n) > d) --n;
  return n;
}

}  // namespace daicho::entitlements
