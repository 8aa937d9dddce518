#include "web/form.h"

#include <gtest/gtest.h>

namespace daicho::web {
namespace {

FormFields Parse(std::string_view body, FormLimits limits = {}) {
  auto fields = ParseForm(body, limits);
  EXPECT_TRUE(fields.ok()) << fields.status();
  return fields.ok() ? *fields : FormFields{};
}

TEST(FormTest, DecodesPlusAndPercentEscapesInOrder) {
  EXPECT_EQ(Parse("user=taro%40example.jp&password=a+b%2Bc&lang=ja"),
            (FormFields{{"user", "taro@example.jp"}, {"password", "a b+c"}, {"lang", "ja"}}));
}

TEST(FormTest, DecodesMultiByteUtf8AndLowerCaseHex) {
  EXPECT_EQ(Parse("name=%E5%B1%B1%e7%94%b0"), (FormFields{{"name", "\xE5\xB1\xB1\xE7\x94\xB0"}}));  // 山田
}

TEST(FormTest, KeepsRepeatsSkipsEmptyPiecesAndAllowsMissingValues) {
  EXPECT_EQ(Parse("a=1&&a=2&flag&=v&"), (FormFields{{"a", "1"}, {"a", "2"}, {"flag", ""}, {"", "v"}}));
  EXPECT_EQ(Parse(""), FormFields{});
  EXPECT_EQ(Parse("x=a=b"), (FormFields{{"x", "a=b"}}));
}

TEST(FormTest, RefusesMalformedEscapes) {
  for (const char* body : {"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=1&b=100%"}) {
    auto fields = ParseForm(body, FormLimits{});
    ASSERT_FALSE(fields.ok()) << body;
    EXPECT_EQ(fields.status().code(), Code::kInvalidArgument) << body;
  }
}

TEST(FormTest, RefusesMoreFieldsOrLongerFieldsThanTheLimits) {
  FormLimits limits;
  limits.max_fields = 2;
  limits.max_name_bytes = 4;
  limits.max_value_bytes = 3;
  EXPECT_EQ(Parse("a=1&b=2", limits).size(), 2u);
  EXPECT_EQ(ParseForm("a=1&b=2&c=3", limits).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ParseForm("named=1", limits).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ParseForm("a=1234", limits).status().code(), Code::kResourceExhausted);
  // The caps apply to decoded bytes: three escapes are three bytes.
  EXPECT_EQ(Parse("a=%41%42%43", limits), (FormFields{{"a", "ABC"}}));
}

TEST(FormTest, PercentEncodeKeepsOnlyUnreservedBytes) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b&c=d/e?f+g%"), "a%20b%26c%3Dd%2Fe%3Ff%2Bg%25");
  EXPECT_EQ(PercentEncode("\xE5\xB1\xB1"), "%E5%B1%B1");
  EXPECT_EQ(PercentEncode(std::string("\0\n", 2)), "%00%0A");
}

TEST(FormTest, PercentEncodedTextParsesBackToItself) {
  const std::string value = "<script>alert('x')</script> & 100% \xE5\xB1\xB1";
  EXPECT_EQ(Parse("v=" + PercentEncode(value)), (FormFields{{"v", value}}));
}

}  // namespace
}  // namespace daicho::web
