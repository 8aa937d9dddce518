#include "text/date_text.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace daicho::text {
namespace {

// Each text with the ISO day it names, or "none" where it must be refused.
void ExpectParsed(const std::vector<std::pair<std::string, std::string>>& cases) {
  for (const auto& [text, iso] : cases) {
    const std::optional<std::chrono::year_month_day> day = ParseDate(text);
    EXPECT_EQ(day ? FormatIsoDate(*day) : "none", iso) << text;
  }
}

TEST(DateTextTest, ReadsIsoAndExcelForms) {
  ExpectParsed({{"2026-04-01", "2026-04-01"},
                {"2026-4-1", "2026-04-01"},
                {"2026/04/01", "2026-04-01"},
                {"2026/4/1", "2026-04-01"},
                {"2026/12/31", "2026-12-31"},
                {"2028/2/29", "2028-02-29"},
                {"2026年4月1日", "2026-04-01"},
                {"2026年04月01日", "2026-04-01"}});
}

TEST(DateTextTest, ReadsFullWidthDigitsAndSeparators) {
  ExpectParsed({{"２０２６／４／１", "2026-04-01"},
                {"２０２６－０４－０１", "2026-04-01"},
                {"2026／04/01", "2026-04-01"},  // one separator, in either width
                {"２０２６年４月１日", "2026-04-01"},
                {"令和８年４月１日", "2026-04-01"},
                {"Ｒ８．４．１", "2026-04-01"}});
}

TEST(DateTextTest, ReadsJapaneseEras) {
  ExpectParsed({{"令和8年4月1日", "2026-04-01"},
                {"R8.4.1", "2026-04-01"},
                {"R08.04.01", "2026-04-01"},
                {"令和元年5月1日", "2019-05-01"},
                {"令和1年5月1日", "2019-05-01"},
                {"R1.5.1", "2019-05-01"},
                {"令和2年2月29日", "2020-02-29"},
                {"平成31年4月30日", "2019-04-30"},
                {"H31.4.30", "2019-04-30"},
                {"平成25年9月1日", "2013-09-01"},
                {"平成元年1月8日", "1989-01-08"}});
}

TEST(DateTextTest, RefusesEraDatesOutsideTheirEra) {
  ExpectParsed({{"平成31年5月1日", "none"},  // Reiwa by then
                {"H31.5.1", "none"},
                {"平成32年1月1日", "none"},
                {"令和元年4月30日", "none"},  // still Heisei
                {"R1.4.30", "none"},
                {"平成元年1月7日", "none"},  // still Showa
                {"令和0年5月1日", "none"},
                {"R0.5.1", "none"}});
}

TEST(DateTextTest, TrimsSurroundingSpaces) {
  ExpectParsed({{"  2026-04-01 ", "2026-04-01"},
                {"\t2026/4/1\r\n", "2026-04-01"},
                {"　令和8年4月1日　", "2026-04-01"},  // full-width spaces
                {"2026 /4/1", "none"}});              // inside, a space is no separator
}

TEST(DateTextTest, RefusesDaysThatDoNotExist) {
  ExpectParsed({{"2026-02-29", "none"},
                {"2026-13-01", "none"},
                {"2026/4/31", "none"},
                {"2026-00-10", "none"},
                {"2026-04-00", "none"},
                {"2026年2月30日", "none"},
                {"R7.2.29", "none"}});
}

TEST(DateTextTest, RefusesEveryOtherForm) {
  for (const char* text : {"",
                           "   ",
                           "26/4/1",
                           "26-04-01",
                           "02026-04-01",
                           "2026-004-01",
                           "2026-04-001",
                           "20260401",
                           "2026.04.01",
                           "2026-04/01",
                           "2026/04-01",
                           "2026-04-01x",
                           "x2026-04-01",
                           "2026-04",
                           "2026/4/",
                           "2026年4月1",
                           "2026年4月1日 午前",
                           "令和八年四月一日",
                           "R8/4/1",
                           "r8.4.1",
                           "S64.1.7",
                           "昭和64年1月7日",
                           "2026-04-01T00:00",
                           "99999999999999999999-1-1"}) {
    EXPECT_FALSE(ParseDate(text).has_value()) << text;
  }
}

TEST(DateTextTest, FormatsIsoWithLeadingZeros) {
  using std::chrono::year;
  EXPECT_EQ(FormatIsoDate({year{2026}, std::chrono::April, std::chrono::day{1}}), "2026-04-01");
  EXPECT_EQ(FormatIsoDate({year{987}, std::chrono::December, std::chrono::day{31}}), "0987-12-31");
}

}  // namespace

TEST(JapanDayTest, TheDayTurnsAtMidnightInJapanNotUtc) {
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  using std::chrono::year_month_day;
  using namespace std::chrono_literals;
  // 2026-03-31 15:00 UTC is 2026-04-01 00:00 in Japan.
  const system_clock::time_point midnight_jst{milliseconds(1'774'969'200'000)};
  EXPECT_EQ(JapanDay(midnight_jst), year_month_day(2026y / 4 / 1));
  EXPECT_EQ(JapanDay(midnight_jst - milliseconds(1)), year_month_day(2026y / 3 / 31));
  EXPECT_EQ(JapanDay(system_clock::time_point{}), year_month_day(1970y / 1 / 1));
  EXPECT_EQ(JapanDay(system_clock::time_point{} + 15h - 1ms), year_month_day(1970y / 1 / 1));
  EXPECT_EQ(JapanDay(system_clock::time_point{} + 15h), year_month_day(1970y / 1 / 2));
  EXPECT_EQ(JapanDay(system_clock::time_point{} - 9h), year_month_day(1970y / 1 / 1));
  EXPECT_EQ(JapanDay(system_clock::time_point{} - 9h - 1ms), year_month_day(1969y / 12 / 31));
}

}  // namespace daicho::text
