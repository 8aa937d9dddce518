// The day in Japan (UTC+9, no daylight saving time) at a moment: the
// calendar of invoices (issue day, overdue) and of the billing gate's
// messages. Dates are parsed and written by text/date_text.h.
#ifndef DAICHO_CLIENT_JAPAN_DATE_H_
#define DAICHO_CLIENT_JAPAN_DATE_H_

#include <chrono>

namespace daicho::client {

inline std::chrono::year_month_day JapanDay(std::chrono::system_clock::time_point t) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9)));
}

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_JAPAN_DATE_H_
