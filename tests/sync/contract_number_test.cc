#include "sync/contract_number.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace daicho::sync {
namespace {

TEST(ContractNumberTest, AcceptsTwelveDigitsInGroupsOfFour) {
  auto parsed = ContractNumber::Parse("0123-4567-8901");
  ASSERT_DAICHO_OK(parsed);
  EXPECT_EQ(parsed->str(), "0123-4567-8901");
  ASSERT_DAICHO_OK(ContractNumber::Parse("0000-0000-0000"));
}

TEST(ContractNumberTest, RejectsWrongLengths) {
  for (const char* text : {"", "0123-4567-890", "0123-4567-89012", "012-4567-8901", "01234-567-8901"}) {
    auto parsed = ContractNumber::Parse(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << text;
    EXPECT_NE(parsed.status().message().find("NNNN-NNNN-NNNN"), std::string::npos);
  }
}

TEST(ContractNumberTest, RejectsLettersAndSpaces) {
  for (const char* text : {"0123-4567-890a", "A123-4567-8901", "0123 4567 8901", " 123-4567-8901"}) {
    EXPECT_EQ(ContractNumber::Parse(text).status().code(), Code::kInvalidArgument) << text;
  }
}

TEST(ContractNumberTest, RejectsFullWidthDigits) {
  // U+FF10..: full-width digits typed with a Japanese IME.
  EXPECT_EQ(ContractNumber::Parse("０１２３-４５６７-８９０１").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ContractNumber::Parse("０１２３-4567-89").status().code(), Code::kInvalidArgument);
}

TEST(ContractNumberTest, RejectsMissingOrMisplacedHyphens) {
  for (const char* text :
       {"012345678901", "01234567-8901", "0123-45678901", "0123_4567_8901", "01234-5678-901", "0123-4567-8901\n"}) {
    EXPECT_EQ(ContractNumber::Parse(text).status().code(), Code::kInvalidArgument) << text;
  }
  EXPECT_EQ(ContractNumber::Parse(std::string_view("0123-4567-890\0", 14)).status().code(), Code::kInvalidArgument);
}

}  // namespace
TEST(ContractNumberTest, ParseTypedAcceptsWhatAJapaneseKeyboardTypes) {
  for (const char* typed : {"1234-5678-9012", "123456789012", " 1234 5678 9012 ", "１２３４－５６７８－９０１２",
                            "１２３４ー５６７８ー９０１２", "1234−5678−9012"}) {
    Result<ContractNumber> number = ContractNumber::ParseTyped(typed);
    ASSERT_TRUE(number.ok()) << typed << ": " << number.status().ToString();
    EXPECT_EQ(number->str(), "1234-5678-9012") << typed;
  }
  for (const char* typed : {"", "1234-5678", "12345678901", "1234567890123", "abcd-efgh-ijkl", "1234--5678-9012"}) {
    EXPECT_FALSE(ContractNumber::ParseTyped(typed).ok()) << typed;
  }
}

}  // namespace daicho::sync
