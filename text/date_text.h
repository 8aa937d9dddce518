// Dates as people and spreadsheets write them in Japan, for imports (the
// relay's filings CSV): one parser, so every import accepts the same forms.
//
// Accepted, with surrounding spaces (ASCII or full-width) trimmed and
// full-width digits, letters and separators read as their ASCII forms
// (２０２６／４／１ is 2026/4/1):
//   2026-04-01, 2026-4-1      ISO 8601 and its unpadded form
//   2026/04/01, 2026/4/1      as Excel writes dates in Japan
//   2026年4月1日
//   令和8年4月1日, 令和元年5月1日, 平成31年4月30日   Japanese eras
//   R8.4.1, H31.4.30          the eras' short form (Excel's "ge.m.d")
// Nothing else: a year has four digits (no 26/4/1), one separator throughout,
// and the day must exist (no 2026-02-29, no 2026-13-01). Heisei runs from
// 1989-01-08 to 2019-04-30 and Reiwa from 2019-05-01: an era date outside
// its era (平成31年5月1日, 令和元年4月30日) is refused, not moved. Pure.
#ifndef DAICHO_TEXT_DATE_TEXT_H_
#define DAICHO_TEXT_DATE_TEXT_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace daicho::text {

// The day `text` names, or nullopt when it is not one of the forms above.
std::optional<std::chrono::year_month_day> ParseDate(std::string_view text);

// "2026-04-01". `day` must be ok() with a year of 0 to 9999.
std::string FormatIsoDate(std::chrono::year_month_day day);
// "2026/04/01": how Japanese text writes a day (as Excel shows it in Japan).
std::string FormatJapaneseDate(std::chrono::year_month_day day);

// The calendar day in Japan (UTC+9, no daylight saving time) at `t`: the
// offices' and the vendor's calendar (renewals, invoices), whatever the
// machine's time zone.
inline std::chrono::year_month_day JapanDay(std::chrono::system_clock::time_point t) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9)));
}

}  // namespace daicho::text

#endif  // DAICHO_TEXT_DATE_TEXT_H_
