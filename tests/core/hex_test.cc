#include "core/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace daicho::core {
namespace {

TEST(HexTest, EncodesEveryByteAsTwoLowerCaseDigits) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
}

TEST(HexTest, DecodesEitherCaseAndRoundTrips) {
  EXPECT_EQ(HexDecode("000fa5ff"), std::string("\x00\x0f\xa5\xff", 4));
  EXPECT_EQ(HexDecode("000FA5FF"), std::string("\x00\x0f\xa5\xff", 4));
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(HexDecode(HexEncode(all)), all);
}

TEST(HexTest, RefusesOddLengthsAndOtherCharacters) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode("0 ").has_value());
  EXPECT_FALSE(HexDecode("０1").has_value());
  EXPECT_EQ(HexDecode(""), std::string());
}

}  // namespace
}  // namespace daicho::core
