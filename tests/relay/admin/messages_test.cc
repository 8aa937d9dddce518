#include "relay/admin/messages.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace daicho::relay::admin {
namespace {

std::set<std::string> Holes(std::string_view text) {
  std::set<std::string> holes;
  const std::string s(text);
  const std::regex hole(R"(\{[0-9]\})");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), hole); it != std::sregex_iterator(); ++it) {
    holes.insert(it->str());
  }
  return holes;
}

TEST(MessagesTest, EveryMessageHasAUniqueIdAndBothLanguagesWithTheSameHoles) {
  std::set<std::string_view> ids;
  for (const Msg msg : AllMessages()) {
    const std::string_view id = MessageId(msg);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
    EXPECT_FALSE(Text(msg, Lang::kJa).empty()) << id;
    EXPECT_FALSE(Text(msg, Lang::kEn).empty()) << id;
    EXPECT_EQ(Holes(Text(msg, Lang::kJa)), Holes(Text(msg, Lang::kEn))) << id;
  }
  EXPECT_GT(ids.size(), 50u);
}

TEST(MessagesTest, JapaneseIsTheClerksLanguageAndEnglishIsAscii) {
  EXPECT_EQ(Text(Msg::kForgotPassword, Lang::kJa), "パスワードを忘れた方");
  EXPECT_EQ(Text(Msg::kForgotPassword, Lang::kEn), "Forgot your password?");
  EXPECT_EQ(MessageId(Msg::kUserIdTooShort), "user_id.too_short");
  for (const Msg msg : AllMessages()) {
    if (msg == Msg::kOtherLanguage) continue;  // the switch names the other language in its own script
    for (const char c : Text(msg, Lang::kEn)) {
      EXPECT_LT(static_cast<unsigned char>(c), 0x80) << MessageId(msg);
    }
  }
}

TEST(MessagesTest, FormatFillsNumberedHolesInAnyOrderAndLeavesOtherBracesAlone) {
  EXPECT_EQ(Format(Msg::kUserIdTooShort, Lang::kJa, {"3"}), "ユーザーIDは 3 文字以上で入力してください。");
  EXPECT_EQ(Format(Msg::kLoggedInAs, Lang::kEn, {"taro@example.jp", "1234-5678-9012"}),
            "taro@example.jp (contract 1234-5678-9012)");
  EXPECT_EQ(Format(Msg::kPasswordChangedFor, Lang::kEn, {"<x>"}),
            "Changed the password of <x>. Their PCs sync again once connected with the new password.");
  // A missing argument leaves the hole visible rather than reading past the list.
  EXPECT_EQ(Format(Msg::kUserAdded, Lang::kEn), "Added {0}.");
}

}  // namespace
}  // namespace daicho::relay::admin
