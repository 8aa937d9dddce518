#include "net/log_line.h"

#include <gtest/gtest.h>

namespace daicho::net {
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

}  // namespace
}  // namespace daicho::net
