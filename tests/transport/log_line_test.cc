#include "transport/log_line.h"

#include <gtest/gtest.h>

namespace daicho::transport {
namespace {

TEST(LogLineTest, PlainValuesStayBareAndEmptyOnesAreDashes) {
  LogLine line("session_end");
  line.Add("contract", "1234-5678-9012").Add("user", "").Add("changes_uploaded", uint64_t{3});
  EXPECT_EQ(line.str(), "event=session_end contract=1234-5678-9012 user=- changes_uploaded=3");
}

TEST(LogLineTest, ValuesWithSpacesQuotesOrEqualsAreQuoted) {
  LogLine line("login_refused");
  line.Add("device", "Yamada PC").Add("user", "a\"b=c");
  EXPECT_EQ(line.str(), R"(event=login_refused device="Yamada PC" user="a\"b=c")");
}

TEST(LogLineTest, AHostileValueCannotForgeASecondLine) {
  LogLine line("login_refused");
  line.Add("contract", "1\nevent=session_end outcome=ok\r\x01");
  EXPECT_EQ(line.str().find('\n'), std::string::npos);
  EXPECT_EQ(line.str(), R"(event=login_refused contract="1\nevent=session_end outcome=ok\x0d\x01")");
}

TEST(LogLineTest, AddQuotedAlwaysQuotes) {
  LogLine line("session_end");
  line.AddQuoted("outcome", "ok");
  EXPECT_EQ(line.str(), R"(event=session_end outcome="ok")");
}

TEST(LogLineTest, TimestampsAreIsoUtcWithMilliseconds) {
  using std::chrono::milliseconds;
  const std::chrono::system_clock::time_point when(milliseconds(1'796'631'302'123));
  EXPECT_EQ(LogTimestamp(when), "2026-12-07T08:15:02.123Z");
  EXPECT_EQ(LogTimestamp(std::chrono::system_clock::time_point(milliseconds(5))), "1970-01-01T00:00:00.005Z");
}

TEST(LogLineTest, DevicesAreNamedByTheirShortIdAsDeviceListShowsThem) {
  ReplicaId::Bytes bytes{};
  bytes[0] = 0x3f;
  bytes[1] = 0x9a;
  bytes[15] = 1;
  EXPECT_EQ(ShortDeviceId(ReplicaId(bytes)), "3f9a0000");
  EXPECT_EQ(ShortDeviceId(ReplicaId()), "");
}

}  // namespace
}  // namespace daicho::transport
