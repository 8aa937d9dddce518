#include "relay/password.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

TEST(PasswordTest, UserIdLengthBounds) {
  EXPECT_EQ(ValidateUserId(std::string(2, 'a')).code(), Code::kInvalidArgument);
  EXPECT_DAICHO_OK(ValidateUserId(std::string(3, 'a')));
  EXPECT_DAICHO_OK(ValidateUserId(std::string(100, 'a')));
  EXPECT_EQ(ValidateUserId(std::string(101, 'a')).code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateUserId("").code(), Code::kInvalidArgument);
}

TEST(PasswordTest, UserIdAcceptsEmailAddressesOnly) {
  EXPECT_DAICHO_OK(ValidateUserId("taro.yamada+office@example.co.jp"));
  EXPECT_DAICHO_OK(ValidateUserId("a!#$%&'*/=?^_`{|}~-@b"));
  EXPECT_EQ(ValidateUserId("taro yamada@example.jp").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateUserId("taro\t@example.jp").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateUserId("山田@example.jp").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateUserId(std::string("ab\0c", 4)).code(), Code::kInvalidArgument);
}

TEST(PasswordTest, PasswordLengthBounds) {
  EXPECT_EQ(ValidatePassword(std::string(7, 'a')).code(), Code::kInvalidArgument);
  EXPECT_DAICHO_OK(ValidatePassword(std::string(8, 'a')));
  EXPECT_DAICHO_OK(ValidatePassword(std::string(100, 'Z')));
  EXPECT_EQ(ValidatePassword(std::string(101, '9')).code(), Code::kInvalidArgument);
}

TEST(PasswordTest, PasswordIsHalfWidthLettersAndDigitsOnly) {
  EXPECT_DAICHO_OK(ValidatePassword("abcXYZ0189"));
  for (const char* bad : {"abcd1234!", "abcd 1234", "abcd-1234", "パスワード1234", "ａｂｃｄ１２３４", "abcd1234\n"}) {
    Status status = ValidatePassword(bad);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(status.message().find(bad), std::string::npos) << "the password must not be echoed";
  }
}

TEST(PasswordTest, ChecksNameTheProblemForTheFrontEndsOwnWords) {
  EXPECT_EQ(CheckUserId("ab"), CredentialProblem::kTooShort);
  EXPECT_EQ(CheckUserId(""), CredentialProblem::kTooShort);
  EXPECT_EQ(CheckUserId(std::string(101, 'a')), CredentialProblem::kTooLong);
  EXPECT_EQ(CheckUserId("taro yamada@example.jp"), CredentialProblem::kBadCharacters);
  EXPECT_EQ(CheckUserId("taro@example.jp"), CredentialProblem::kNone);
  EXPECT_EQ(CheckPassword("Abc1234"), CredentialProblem::kTooShort);
  EXPECT_EQ(CheckPassword(std::string(101, 'a')), CredentialProblem::kTooLong);
  EXPECT_EQ(CheckPassword("Abcd-1234"), CredentialProblem::kBadCharacters);
  // Too short wins over bad characters: the length rule is the first one a
  // person reads.
  EXPECT_EQ(CheckPassword("a-1"), CredentialProblem::kTooShort);
  EXPECT_EQ(CheckPassword("Abcd12345"), CredentialProblem::kNone);
}

// The CLI's and the tests' texts, unchanged since before CredentialProblem.
TEST(PasswordTest, ValidationMessagesKeepTheirEnglishTexts) {
  EXPECT_EQ(ValidateUserId("ab").message(), "a user id must be 3-100 characters long; got 2 bytes");
  EXPECT_EQ(ValidateUserId(std::string(101, 'a')).message(), "a user id must be 3-100 characters long; got 101 bytes");
  EXPECT_EQ(ValidateUserId("a b@example.jp").message(),
            "a user id (an e-mail address) may only contain printable half-width ASCII characters, without spaces");
  EXPECT_EQ(ValidatePassword("short").message(), "a password must be 8-100 characters long");
  EXPECT_EQ(ValidatePassword(std::string(101, 'a')).message(), "a password must be 8-100 characters long");
  EXPECT_EQ(ValidatePassword("Abcd-1234").message(),
            "a password may only contain half-width letters (A-Z, a-z) and digits (0-9)");
}

TEST(PasswordTest, MailAddressesAreDotAtomsAtADomainWithTwoLabels) {
  for (const char* good :
       {"taro@example.jp", "Taro.Yamada+office@mail.example.co.jp", "a!#$%&'*/=?^_`{|}~-@b.c", "x@a-b.example"}) {
    EXPECT_TRUE(IsMailAddress(good)) << good;
  }
  for (const char* bad : {"taro", "@example.jp", "taro@", "taro@localhost", "taro@@example.jp", "taro@exa@mple.jp",
                          ".taro@example.jp", "taro.@example.jp", "ta..ro@example.jp", "taro@example..jp",
                          "taro@-example.jp", "taro@example.jp.", "taro@exam_ple.jp", "\"taro\"@example.jp",
                          "taro<x>@example.jp", "taro,x@example.jp", "ta ro@example.jp", "ab"}) {
    EXPECT_FALSE(IsMailAddress(bad)) << bad;
  }
}

TEST(PasswordTest, HashVerifiesOnlyTheRightPassword) {
  auto hash = HashPassword("Secret1234");
  ASSERT_DAICHO_OK(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_EQ(hash->find("Secret1234"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*hash, "Secret1234"));
  EXPECT_FALSE(VerifyPassword(*hash, "Secret1235"));
  EXPECT_FALSE(VerifyPassword("not a hash", "Secret1234"));
  EXPECT_FALSE(VerifyPassword("", "Secret1234"));
}

TEST(PasswordTest, DeviceTokensAreRandomAndHashed) {
  const std::string a = NewDeviceToken();
  const std::string b = NewDeviceToken();
  EXPECT_EQ(a.size(), kDeviceTokenBytes);
  EXPECT_NE(a, b);
  const std::string ha = HashDeviceToken(a);
  EXPECT_EQ(ha.size(), kDeviceTokenHashBytes);
  EXPECT_NE(ha, a);
  EXPECT_TRUE(TokenHashEquals(ha, HashDeviceToken(a)));
  EXPECT_FALSE(TokenHashEquals(ha, HashDeviceToken(b)));
  EXPECT_FALSE(TokenHashEquals(ha, ha.substr(1)));
}

}  // namespace
}  // namespace daicho::relay
