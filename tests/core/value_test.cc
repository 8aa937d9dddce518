#include "daicho/value.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho {
namespace {

TEST(Utf8Test, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Yamada Construction Co., Ltd."));
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));
}

// ASCII is checked eight bytes at a time: a multi-byte or bad sequence is
// found wherever it falls relative to those words.
TEST(Utf8Test, FindsSequencesAtEveryOffsetInAsciiRuns) {
  for (size_t at = 0; at <= 20; ++at) {
    std::string text(20, 'a');
    EXPECT_TRUE(IsValidUtf8(text.substr(0, at) + "é" + text.substr(at))) << at;
    EXPECT_TRUE(IsValidUtf8(text.substr(0, at) + "𠮷" + text.substr(at))) << at;
    EXPECT_FALSE(IsValidUtf8(text.substr(0, at) + "\xff" + text.substr(at))) << at;
    EXPECT_FALSE(IsValidUtf8(text.substr(0, at) + "\xc3" + text.substr(at))) << at;          // cut short
    EXPECT_FALSE(IsValidUtf8(text.substr(0, at) + "\xed\xa0\x80" + text.substr(at))) << at;  // surrogate
  }
}

TEST(Utf8Test, AcceptsJapaneseText) {
  EXPECT_TRUE(IsValidUtf8("株式会社山田建設"));
  EXPECT_TRUE(IsValidUtf8("ﾔﾏﾀﾞｹﾝｾﾂ"));                        // half-width katakana
  EXPECT_TRUE(IsValidUtf8("東京都千代田区丸の内１－１－１"));  // full-width digits
  EXPECT_TRUE(IsValidUtf8("𠮷野家"));                          // U+20BB7, four bytes
}

TEST(Utf8Test, AcceptsEveryEncodingLengthAtItsBounds) {
  EXPECT_TRUE(IsValidUtf8("\x7F"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8Test, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // NUL in two bytes (modified UTF-8)
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair
}

TEST(Utf8Test, RejectsCodePointsPastU10FFFF) {
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF7\xBF\xBF\xBF"));
}

TEST(Utf8Test, RejectsTruncatedSequences) {
  const std::string name = "株式会社山田建設";
  // Cutting anywhere inside the last character leaves an incomplete sequence.
  EXPECT_FALSE(IsValidUtf8(std::string_view(name).substr(0, name.size() - 1)));
  EXPECT_FALSE(IsValidUtf8(std::string_view(name).substr(0, name.size() - 2)));
  EXPECT_TRUE(IsValidUtf8(std::string_view(name).substr(0, name.size() - 3)));
  EXPECT_FALSE(IsValidUtf8("\xE6\xA0"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  // A lead byte followed by ASCII instead of continuation bytes.
  EXPECT_FALSE(
      IsValidUtf8("\xE6\xA0"
                  "a"));
}

TEST(Utf8Test, RejectsStrayAndInvalidBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));  // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("abc\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));  // five-byte form
  EXPECT_FALSE(IsValidUtf8("\x82\xA0\x82\xA2"));      // Shift_JIS "あい" is not UTF-8
}

TEST(ValueTest, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.type(), Value::Type::kNull);
  EXPECT_EQ(v.ToDisplayString(), "null");
  EXPECT_EQ(Value(nullptr), Value());
}

TEST(ValueTest, HoldsEachType) {
  EXPECT_EQ(Value(true).type(), Value::Type::kBool);
  EXPECT_TRUE(Value(true).as_bool());
  EXPECT_EQ(Value(42).type(), Value::Type::kInt);
  EXPECT_EQ(Value(int64_t{-7}).as_int(), -7);
  EXPECT_EQ(Value(1.5).type(), Value::Type::kDouble);
  EXPECT_EQ(Value(1.5).as_double(), 1.5);
  EXPECT_TRUE(Value("株式会社山田建設").is_string());
  EXPECT_EQ(Value(std::string_view("山田")).as_string(), "山田");
  const Value bytes(Bytes{std::string("\x01\xff")});
  EXPECT_EQ(bytes.type(), Value::Type::kBytes);
  EXPECT_EQ(bytes.as_bytes().data, "\x01\xff");
}

TEST(ValueTest, JapaneseStringRoundTripsExactly) {
  const std::string name = "株式会社山田建設";
  Value v(name);
  EXPECT_EQ(v.as_string(), name);
  EXPECT_EQ(v.ToDisplayString(), name);
}

TEST(ValueTest, DisplayStrings) {
  EXPECT_EQ(Value(false).ToDisplayString(), "false");
  EXPECT_EQ(Value(int64_t{-9223372036854775807LL - 1}).ToDisplayString(), "-9223372036854775808");
  EXPECT_EQ(Value(0.5).ToDisplayString(), "0.5");
  EXPECT_EQ(Value(Bytes{std::string("\x00\xab\x10", 3)}).ToDisplayString(), "00ab10");
}

TEST(ValueTest, EqualityDistinguishesTypes) {
  EXPECT_EQ(Value("1"), Value(std::string("1")));
  EXPECT_NE(Value("1"), Value(1));
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value("ab"), Value(Bytes{"ab"}));
  EXPECT_NE(Value(false), Value());
  EXPECT_NE(Value(0), Value(false));
}

}  // namespace
}  // namespace daicho
