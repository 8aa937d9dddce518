#include "text/date_text.h"

#include <cstdio>

#include "text/half_width.h"

namespace daicho::text {

namespace {

using std::chrono::year_month_day;

std::string_view Trimmed(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// Reads the text from left to right; every step fails once one has.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  // A number of `min` to `max` ASCII digits, no more following.
  std::optional<int> Digits(size_t min, size_t max) {
    size_t n = 0;
    while (n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9') ++n;
    if (n < min || n > max) return std::nullopt;
    int value = 0;
    for (char c : rest_.substr(0, n)) value = value * 10 + (c - '0');
    rest_.remove_prefix(n);
    return value;
  }

  bool Take(std::string_view literal) {
    if (!rest_.starts_with(literal)) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }

  bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::optional<year_month_day> Day(int year, int month, int day) {
  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

// Month and day after the year: "4月1日" (with `kanji`) or "-4-1", "/4/1",
// ".4.1" with `separator`; nothing may follow.
std::optional<year_month_day> MonthAndDay(Cursor& in, int year, bool kanji, std::string_view separator) {
  if (!kanji && !in.Take(separator)) return std::nullopt;
  const std::optional<int> month = in.Digits(1, 2);
  if (!month || !in.Take(kanji ? "月" : separator)) return std::nullopt;
  const std::optional<int> day = in.Digits(1, 2);
  if (!day || (kanji && !in.Take("日")) || !in.AtEnd()) return std::nullopt;
  return Day(year, *month, *day);
}

struct Era {
  std::string_view name;    // 令和
  std::string_view letter;  // R
  int year_before_first;    // the Gregorian year of the era's year 0
  year_month_day first, last;
};

constexpr std::chrono::year_month_day kNoEnd{std::chrono::year{9999}, std::chrono::December, std::chrono::day{31}};
constexpr Era kEras[] = {
    {"令和", "R", 2018, {std::chrono::year{2019}, std::chrono::May, std::chrono::day{1}}, kNoEnd},
    {"平成",
     "H",
     1988,
     {std::chrono::year{1989}, std::chrono::January, std::chrono::day{8}},
     {std::chrono::year{2019}, std::chrono::April, std::chrono::day{30}}},
};

std::optional<year_month_day> EraDate(std::string_view text) {
  for (const Era& era : kEras) {
    Cursor in(text);
    std::optional<year_month_day> day;
    if (in.Take(era.name)) {
      const std::optional<int> n = in.Take("元") ? std::optional<int>(1) : in.Digits(1, 2);
      if (!n || *n == 0 || !in.Take("年")) return std::nullopt;
      day = MonthAndDay(in, era.year_before_first + *n, true, {});
    } else if (in.Take(era.letter)) {
      const std::optional<int> n = in.Digits(1, 2);
      if (!n || *n == 0) return std::nullopt;
      day = MonthAndDay(in, era.year_before_first + *n, false, ".");
    } else {
      continue;
    }
    if (!day || *day < era.first || *day > era.last) return std::nullopt;
    return day;
  }
  return std::nullopt;
}

}  // namespace

std::optional<year_month_day> ParseDate(std::string_view text) {
  const std::string half_width = HalfWidth(text);
  const std::string_view trimmed = Trimmed(half_width);
  if (std::optional<year_month_day> era = EraDate(trimmed)) return era;
  Cursor in(trimmed);
  const std::optional<int> year = in.Digits(4, 4);
  if (!year) return std::nullopt;
  if (in.Take("年")) return MonthAndDay(in, *year, true, {});
  for (std::string_view separator : {"-", "/"}) {
    Cursor attempt = in;
    if (std::optional<year_month_day> day = MonthAndDay(attempt, *year, false, separator)) return day;
  }
  return std::nullopt;
}

namespace {

std::string FormatDay(year_month_day day, char separator) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d%c%02u%c%02u", static_cast<int>(day.year()), separator,
                static_cast<unsigned>(day.month()), separator, static_cast<unsigned>(day.day()));
  return out;
}

}  // namespace

std::string FormatIsoDate(year_month_day day) { return FormatDay(day, '-'); }

std::string FormatJapaneseDate(year_month_day day) { return FormatDay(day, '/'); }

}  // namespace daicho::text
