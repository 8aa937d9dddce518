// The day in Japan (client/japan_date.h): the calendar of invoices and of the
// billing gate's messages.
#include "client/japan_date.h"

#include <gtest/gtest.h>

#include <chrono>

namespace daicho::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using std::chrono::year_month_day;
using namespace std::chrono_literals;

TEST(JapanDateTest, TheDayTurnsAtMidnightInJapanNotUtc) {
  // 2026-03-31 15:00 UTC is 2026-04-01 00:00 in Japan.
  const system_clock::time_point midnight_jst{milliseconds(1'774'969'200'000)};
  EXPECT_EQ(JapanDay(midnight_jst), year_month_day(2026y / 4 / 1));
  EXPECT_EQ(JapanDay(midnight_jst - milliseconds(1)), year_month_day(2026y / 3 / 31));
  EXPECT_EQ(JapanDay(system_clock::time_point{}), year_month_day(1970y / 1 / 1));
  EXPECT_EQ(JapanDay(system_clock::time_point{} - 9h - 1ms), year_month_day(1969y / 12 / 31));
}

}  // namespace
}  // namespace daicho::client
