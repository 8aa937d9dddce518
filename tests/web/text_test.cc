#include "web/text.h"

#include <gtest/gtest.h>

namespace daicho::web {
namespace {

TEST(TextTest, AsciiLowerTouchesOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Content-TYPE"), "content-type");
  EXPECT_EQ(AsciiLower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // "Été": UTF-8 bytes untouched
}

TEST(TextTest, EqualsIgnoreCaseComparesLengthsAndLetters) {
  EXPECT_TRUE(EqualsIgnoreCase("HTTPS", "https"));
  EXPECT_FALSE(EqualsIgnoreCase("https", "http"));
  EXPECT_FALSE(EqualsIgnoreCase("a-b", "a_b"));
}

TEST(TextTest, IsTokenRefusesSeparatorsAndEmpty) {
  EXPECT_TRUE(IsToken("X-CSRF-Token"));
  EXPECT_TRUE(IsToken("__Host-session"));
  EXPECT_FALSE(IsToken(""));
  EXPECT_FALSE(IsToken("a b"));
  EXPECT_FALSE(IsToken("a:b"));
  EXPECT_FALSE(IsToken("a\r\nb"));
}

TEST(TextTest, TrimOwsDropsSpacesAndTabsAtBothEnds) {
  EXPECT_EQ(TrimOws(" \t ja \t"), "ja");
  EXPECT_EQ(TrimOws("a b"), "a b");
  EXPECT_EQ(TrimOws("  "), "");
}

}  // namespace
}  // namespace daicho::web
