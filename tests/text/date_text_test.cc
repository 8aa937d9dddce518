#include "text/date_text.h"

#include <gtest/gtest.h>

#include <string>

namespace daicho::text {
namespace {

// "2026-04-01", or "none" when the text is refused.
std::string Parsed(std::string_view text) {
  const std::optional<std::chrono::year_month_day> day = ParseDate(text);
  return day ? FormatIsoDate(*day) : "none";
}

TEST(DateTextTest, ReadsIsoAndExcelForms) {
  EXPECT_EQ(Parsed("2026-04-01"), "2026-04-01");
  EXPECT_EQ(Parsed("2026-4-1"), "2026-04-01");
  EXPECT_EQ(Parsed("2026/04/01"), "2026-04-01");
  EXPECT_EQ(Parsed("2026/4/1"), "2026-04-01");
  EXPECT_EQ(Parsed("2026/12/31"), "2026-12-31");
  EXPECT_EQ(Parsed("2028/2/29"), "2028-02-29");
}

TEST(DateTextTest, ReadsFullWidthDigitsAndSeparators) {
  EXPECT_EQ(Parsed("２０２６／４／１"), "2026-04-01");
  EXPECT_EQ(Parsed("２０２６－０４－０１"), "2026-04-01");
  EXPECT_EQ(Parsed("2026／04/01"), "2026-04-01");  // one separator, in either width
  EXPECT_EQ(Parsed("２０２６年４月１日"), "2026-04-01");
  EXPECT_EQ(Parsed("令和８年４月１日"), "2026-04-01");
  EXPECT_EQ(Parsed("Ｒ８．４．１"), "2026-04-01");
}

TEST(DateTextTest, ReadsKanjiDates) {
  EXPECT_EQ(Parsed("2026年4月1日"), "2026-04-01");
  EXPECT_EQ(Parsed("2026年04月01日"), "2026-04-01");
}

TEST(DateTextTest, ReadsJapaneseEras) {
  EXPECT_EQ(Parsed("令和8年4月1日"), "2026-04-01");
  EXPECT_EQ(Parsed("R8.4.1"), "2026-04-01");
  EXPECT_EQ(Parsed("R08.04.01"), "2026-04-01");
  EXPECT_EQ(Parsed("令和元年5月1日"), "2019-05-01");
  EXPECT_EQ(Parsed("令和1年5月1日"), "2019-05-01");
  EXPECT_EQ(Parsed("R1.5.1"), "2019-05-01");
  EXPECT_EQ(Parsed("令和2年2月29日"), "2020-02-29");
  EXPECT_EQ(Parsed("平成31年4月30日"), "2019-04-30");
  EXPECT_EQ(Parsed("H31.4.30"), "2019-04-30");
  EXPECT_EQ(Parsed("平成25年9月1日"), "2013-09-01");
  EXPECT_EQ(Parsed("平成元年1月8日"), "1989-01-08");
}

TEST(DateTextTest, RefusesEraDatesOutsideTheirEra) {
  EXPECT_EQ(Parsed("平成31年5月1日"), "none");  // Reiwa by then
  EXPECT_EQ(Parsed("H31.5.1"), "none");
  EXPECT_EQ(Parsed("平成32年1月1日"), "none");
  EXPECT_EQ(Parsed("令和元年4月30日"), "none");  // still Heisei
  EXPECT_EQ(Parsed("R1.4.30"), "none");
  EXPECT_EQ(Parsed("平成元年1月7日"), "none");  // still Showa
  EXPECT_EQ(Parsed("令和0年5月1日"), "none");
  EXPECT_EQ(Parsed("R0.5.1"), "none");
}

TEST(DateTextTest, TrimsSurroundingSpaces) {
  EXPECT_EQ(Parsed("  2026-04-01 "), "2026-04-01");
  EXPECT_EQ(Parsed("\t2026/4/1\r\n"), "2026-04-01");
  EXPECT_EQ(Parsed("　令和8年4月1日　"), "2026-04-01");  // full-width spaces
  EXPECT_EQ(Parsed("2026 /4/1"), "none");                // inside, a space is no separator
}

TEST(DateTextTest, RefusesDaysThatDoNotExist) {
  EXPECT_EQ(Parsed("2026-02-29"), "none");
  EXPECT_EQ(Parsed("2026-13-01"), "none");
  EXPECT_EQ(Parsed("2026/4/31"), "none");
  EXPECT_EQ(Parsed("2026-00-10"), "none");
  EXPECT_EQ(Parsed("2026-04-00"), "none");
  EXPECT_EQ(Parsed("2026年2月30日"), "none");
  EXPECT_EQ(Parsed("R7.2.29"), "none");
}

TEST(DateTextTest, RefusesEveryOtherForm) {
  for (const char* text : {"", "   ", "26/4/1", "26-04-01", "02026-04-01", "2026-004-01", "2026-04-001",
                           "20260401", "2026.04.01", "2026-04/01", "2026/04-01", "2026-04-01x", "x2026-04-01",
                           "2026-04", "2026/4/", "2026年4月1", "2026年4月1日 午前", "令和八年四月一日",
                           "R8/4/1", "r8.4.1", "S64.1.7", "昭和64年1月7日", "2026-04-01T00:00",
                           "99999999999999999999-1-1"}) {
    EXPECT_EQ(Parsed(text), "none") << text;
  }
}

TEST(DateTextTest, FormatsIsoWithLeadingZeros) {
  EXPECT_EQ(FormatIsoDate(std::chrono::year_month_day{std::chrono::year{2026}, std::chrono::April, std::chrono::day{1}}),
            "2026-04-01");
  EXPECT_EQ(FormatIsoDate(std::chrono::year_month_day{std::chrono::year{987}, std::chrono::December, std::chrono::day{31}}),
            "0987-12-31");
}

}  // namespace
}  // namespace daicho::text
