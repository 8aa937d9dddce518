#include "crypto/secret_token.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

#include "core/hex.h"

namespace daicho::crypto {
namespace {

TEST(SecretTokenTest, RandomTokensHaveTheirSizeAndDiffer) {
  EXPECT_EQ(RandomToken(32).size(), 32u);
  EXPECT_EQ(RandomToken(16).size(), 16u);
  EXPECT_TRUE(RandomToken(0).empty());
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(RandomToken(32));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SecretTokenTest, TokenHashIsBlake2b256) {
  // The BLAKE2b-256 test vector of the empty message (RFC 7693's algorithm).
  EXPECT_EQ(core::HexEncode(TokenHash("")), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(TokenHash("token").size(), kTokenHashBytes);
  EXPECT_EQ(TokenHash("token"), TokenHash("token"));
  EXPECT_NE(TokenHash("token"), TokenHash("tokem"));
}

TEST(SecretTokenTest, KeyedHashDependsOnKeyAndMessageForAnyKeySize) {
  const std::string salt = RandomToken(16);
  EXPECT_EQ(KeyedTokenHash(salt, "12345678").size(), kTokenHashBytes);
  EXPECT_EQ(KeyedTokenHash(salt, "12345678"), KeyedTokenHash(salt, "12345678"));
  EXPECT_NE(KeyedTokenHash(salt, "12345678"), KeyedTokenHash(salt, "12345679"));
  EXPECT_NE(KeyedTokenHash(salt, "12345678"), KeyedTokenHash(RandomToken(16), "12345678"));
  EXPECT_NE(KeyedTokenHash(salt, "12345678"), TokenHash("12345678"));
  // Keys libsodium would refuse (shorter than 16, longer than 64 bytes).
  EXPECT_EQ(KeyedTokenHash("k", "m").size(), kTokenHashBytes);
  EXPECT_NE(KeyedTokenHash("k", "m"), KeyedTokenHash("j", "m"));
  EXPECT_NE(KeyedTokenHash(std::string(65, 'k'), "m"), KeyedTokenHash(std::string(66, 'k'), "m"));
  EXPECT_NE(KeyedTokenHash("", "m"), TokenHash("m"));
}

TEST(SecretTokenTest, DecimalCodesAreDigitsWithEveryDigitInEveryPlace) {
  constexpr int kCodes = 2000;
  std::array<std::array<int, 10>, 8> counts{};
  for (int i = 0; i < kCodes; ++i) {
    const std::string code = RandomDecimalCode(8);
    ASSERT_EQ(code.size(), 8u);
    for (size_t place = 0; place < code.size(); ++place) {
      ASSERT_TRUE(code[place] >= '0' && code[place] <= '9') << code;
      ++counts[place][static_cast<size_t>(code[place] - '0')];
    }
  }
  // Each digit is expected 200 times per place; a digit missing (or a
  // leading zero never drawn) would be a broken generator, not chance.
  for (const auto& place : counts) {
    for (int count : place) EXPECT_GT(count, 100);
  }
  EXPECT_TRUE(RandomDecimalCode(0).empty());
}

TEST(SecretTokenTest, SecretEqualsComparesContentAndLength) {
  const std::string a = RandomToken(32);
  EXPECT_TRUE(SecretEquals(a, std::string(a)));
  std::string b = a;
  b[31] = static_cast<char>(b[31] ^ 1);
  EXPECT_FALSE(SecretEquals(a, b));
  EXPECT_FALSE(SecretEquals(a, a.substr(0, 31)));
  EXPECT_TRUE(SecretEquals("", ""));
}

}  // namespace
}  // namespace daicho::crypto
