// Whole numbers as people type and read them (text/number_text.h) and the
// full-width forms under them (text/half_width.h).
#include "text/number_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "text/half_width.h"

namespace daicho::text {
namespace {

TEST(HalfWidthTest, FullWidthFormsBecomeAsciiAndTheRestStays) {
  EXPECT_EQ(HalfWidth("２０２６／４／１"), "2026/4/1");
  EXPECT_EQ(HalfWidth("１１，０００円"), "11,000円");
  EXPECT_EQ(HalfWidth("ＡＢＣ！～\xE3\x80\x80x"), "ABC!~ x");  // U+3000: a space
  EXPECT_EQ(HalfWidth("株式会社ｱｲｳ"), "株式会社ｱｲｳ");          // half-width kana are not full-width forms
  EXPECT_EQ(HalfWidth("\xEF\xBC"), "\xEF\xBC");                // a cut character is kept as it is
  EXPECT_EQ(HalfWidth(""), "");
}

TEST(NumberTextTest, ReadsDigitsGroupedOrNotInEitherWidth) {
  EXPECT_EQ(ParseWholeNumber("11000", "the amount").value(), 11'000);
  EXPECT_EQ(ParseWholeNumber("11,000", "the amount").value(), 11'000);
  EXPECT_EQ(ParseWholeNumber("１１，０００", "the amount").value(), 11'000);
  EXPECT_EQ(ParseWholeNumber("0", "the amount").value(), 0);
  EXPECT_EQ(ParseWholeNumber("9223372036854775807", "n").value(), std::numeric_limits<int64_t>::max());
}

TEST(NumberTextTest, RefusesAnythingElseNamingWhatAndTheText) {
  for (const std::string bad : {"", ",100", "-5", "+5", "10円", "1.5", "¥100", " 1", "1 000", "9223372036854775808"}) {
    Result<int64_t> n = ParseWholeNumber(bad, "the amount");
    EXPECT_EQ(n.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(n.status().message().rfind("the amount ", 0), 0u) << n.status();
    EXPECT_NE(n.status().message().find("'" + bad + "'"), std::string::npos) << n.status();
  }
  EXPECT_NE(ParseWholeNumber("99999999999999999999", "n").status().message().find("too large"), std::string::npos);
}

TEST(NumberTextTest, GroupsThousands) {
  EXPECT_EQ(GroupThousands(0), "0");
  EXPECT_EQ(GroupThousands(999), "999");
  EXPECT_EQ(GroupThousands(1'000), "1,000");
  EXPECT_EQ(GroupThousands(1'234'567), "1,234,567");
  EXPECT_EQ(GroupThousands(-5'500), "-5,500");
  EXPECT_EQ(GroupThousands(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

}  // namespace
}  // namespace daicho::text
