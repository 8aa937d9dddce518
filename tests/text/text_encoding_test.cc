#include "text/text_encoding.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::text {
namespace {

// Shift_JIS (CP932) bytes as Excel writes them, and the same text in UTF-8.
// "\x.." escapes are split where a hex digit follows.
constexpr char kKabushikiGaishaSjis[] = "\x8A\x94\x8E\xAE\x89\xEF\x8E\xD0";  // 株式会社
constexpr char kKabushikiGaisha[] = "株式会社";

std::string Decoded(std::string_view bytes, TextEncoding encoding, TextEncoding expect_used) {
  Result<DecodedText> text = DecodeText(bytes, encoding);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return "";
  EXPECT_EQ(text->encoding, expect_used);
  return text->utf8;
}

TEST(TextEncodingTest, ShiftJisIsReadWhenAskedFor) {
  const std::string sjis = std::string("id,name\r\nc1,") + kKabushikiGaishaSjis + "\r\n";
  EXPECT_EQ(Decoded(sjis, TextEncoding::kCp932, TextEncoding::kCp932),
            std::string("id,name\r\nc1,") + kKabushikiGaisha + "\r\n");
}

TEST(TextEncodingTest, ShiftJisIsDetectedWhenTheFileIsNotUtf8) {
  const std::string sjis = std::string("id,name\nc1,") + kKabushikiGaishaSjis + "\n";
  Result<DecodedText> text = DecodeText(sjis, TextEncoding::kAuto);
  ASSERT_DAICHO_OK(text);
  EXPECT_EQ(text->encoding, TextEncoding::kCp932);
  EXPECT_TRUE(text->detected);
  EXPECT_EQ(text->utf8, std::string("id,name\nc1,") + kKabushikiGaisha + "\n");
}

TEST(TextEncodingTest, WindowsExtensionsDecode) {
  // ① ㈱ (NEC row 13), 髙 (IBM extension FBFC and its NEC-selected copy
  // EEE0), ～ (Windows' wave dash, U+FF5E), ｱ (half-width katakana).
  EXPECT_EQ(Decoded("\x87\x40\x87\x8A\xFB\xFC\xEE\xE0\x81\x60\xB1", TextEncoding::kCp932, TextEncoding::kCp932),
            "①㈱髙髙～ｱ");
}

TEST(TextEncodingTest, Utf8StaysUtf8WithOrWithoutAByteOrderMark) {
  EXPECT_EQ(Decoded("id,名前\nc1,山田\n", TextEncoding::kAuto, TextEncoding::kUtf8), "id,名前\nc1,山田\n");
  EXPECT_EQ(Decoded("\xEF\xBB\xBFid,名前\r\n", TextEncoding::kAuto, TextEncoding::kUtf8), "\xEF\xBB\xBFid,名前\r\n");
  EXPECT_EQ(Decoded("id,name\n", TextEncoding::kUtf8, TextEncoding::kUtf8), "id,name\n");
  // Plain ASCII is both: read as UTF-8.
  EXPECT_EQ(Decoded("id,name\n", TextEncoding::kAuto, TextEncoding::kUtf8), "id,name\n");
}

TEST(TextEncodingTest, BytesThatAreNotShiftJisNameTheirLineAndColumn) {
  // Line 2, the second cell, after 株: 0x85 0x40 is an unassigned code.
  const std::string bad = std::string("id,name\r\nc1,\x8A\x94\x85") + "\x40\r\n";
  for (TextEncoding encoding : {TextEncoding::kCp932, TextEncoding::kAuto}) {
    Result<DecodedText> text = DecodeText(bad, encoding);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
    EXPECT_NE(text.status().message().find("line 2, column 2"), std::string::npos) << text.status();
    EXPECT_NE(text.status().message().find("85 40"), std::string::npos) << text.status();
  }
  // Quoted commas and line breaks are inside a cell: line 3, third column.
  Result<DecodedText> quoted = DecodeText("id,a,b\r\nc1,\"x,\r\ny\",\x8A\x94\x85\x40\r\n", TextEncoding::kCp932);
  ASSERT_FALSE(quoted.ok());
  EXPECT_NE(quoted.status().message().find("line 3, column 3"), std::string::npos) << quoted.status();
  // A lead byte cut off by the end of the file.
  Result<DecodedText> cut = DecodeText("id\nc1\n\x8A", TextEncoding::kCp932);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("line 3, column 1"), std::string::npos) << cut.status();
}

TEST(TextEncodingTest, DamagedUtf8IsReportedNotReadAsShiftJis) {
  const std::string damaged = "id,name\nc1,山田建設\xFF\nc2,佐藤\n";
  for (TextEncoding encoding : {TextEncoding::kUtf8, TextEncoding::kAuto}) {
    Result<DecodedText> text = DecodeText(damaged, encoding);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.status().message().find("line 2, column 2"), std::string::npos) << text.status();
    EXPECT_NE(text.status().message().find("UTF-8"), std::string::npos) << text.status();
  }
}

TEST(TextEncodingTest, EncodingNamesParse) {
  EXPECT_EQ(ParseTextEncoding("cp932"), TextEncoding::kCp932);
  EXPECT_EQ(ParseTextEncoding("Shift_JIS"), TextEncoding::kCp932);
  EXPECT_EQ(ParseTextEncoding("UTF-8"), TextEncoding::kUtf8);
  EXPECT_EQ(ParseTextEncoding("auto"), TextEncoding::kAuto);
  EXPECT_EQ(ParseTextEncoding("latin1"), std::nullopt);
}

}  // namespace
}  // namespace daicho::text
