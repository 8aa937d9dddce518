#include "web/accept_language.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace daicho::web {
namespace {

const std::vector<std::string> kJaEn = {"ja", "en"};

std::string Pick(std::string_view header) { return PickLanguage(header, kJaEn, "ja"); }

TEST(AcceptLanguageTest, PicksTheHighestQValueThatIsSupported) {
  EXPECT_EQ(Pick("en-US,en;q=0.9,ja;q=0.8"), "en");
  EXPECT_EQ(Pick("fr;q=1, ja;q=0.5, en;q=0.7"), "en");
  EXPECT_EQ(Pick("ja-JP"), "ja");
}

TEST(AcceptLanguageTest, RegionalRangesMatchTheirLanguageCaseInsensitively) {
  EXPECT_EQ(Pick("EN-gb"), "en");
  EXPECT_EQ(Pick("english"), "ja") << "a longer word is not a longer form of en";
}

TEST(AcceptLanguageTest, EqualQValuesKeepTheHeadersOrder) {
  EXPECT_EQ(Pick("en;q=0.5, ja;q=0.5"), "en");
  EXPECT_EQ(Pick("ja, en"), "ja");
}

TEST(AcceptLanguageTest, QZeroRefusesALanguage) {
  EXPECT_EQ(Pick("en;q=0, fr"), "ja");
  EXPECT_EQ(Pick("*, ja;q=0"), "en");
  EXPECT_EQ(Pick("en-US, en;q=0"), "ja") << "en;q=0 refuses en-US too";
  EXPECT_EQ(Pick("en, en-GB;q=0"), "en") << "en-GB;q=0 leaves plain en acceptable";
}

TEST(AcceptLanguageTest, AStarPicksTheFirstSupportedLanguage) {
  EXPECT_EQ(PickLanguage("fr, *;q=0.1", kJaEn, "en"), "ja");
}

TEST(AcceptLanguageTest, MalformedRangesAreIgnoredAndEmptyFallsBack) {
  EXPECT_EQ(Pick("ja;q=2, en;q=0.3"), "en");
  EXPECT_EQ(PickLanguage("ja;q=abc", kJaEn, "en"), "en");
  EXPECT_EQ(PickLanguage("ja;q=0.1234", kJaEn, "en"), "en");
  EXPECT_EQ(PickLanguage("ja;level=1", kJaEn, "en"), "en");
  EXPECT_EQ(PickLanguage("", kJaEn, "en"), "en");
  EXPECT_EQ(PickLanguage(" , ;q=1", kJaEn, "en"), "en");
  EXPECT_EQ(PickLanguage("de", kJaEn, "en"), "en");
}

}  // namespace
}  // namespace daicho::web
