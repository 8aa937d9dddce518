#include "text/csv.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace daicho::text {
namespace {

using Cells = std::vector<std::string>;

std::vector<Cells> CellsOf(std::string_view text) {
  Result<std::vector<CsvRow>> rows = ParseCsv(text);
  EXPECT_TRUE(rows.ok()) << rows.status();
  std::vector<Cells> out;
  if (rows.ok()) {
    for (const CsvRow& r : *rows) out.push_back(r.cells);
  }
  return out;
}

TEST(CsvTest, ParsesPlainFieldsWithLfAndCrlf) {
  EXPECT_EQ(CellsOf("a,b\n1,2\n"), (std::vector<Cells>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(CellsOf("a,b\r\n1,2\r\n"), (std::vector<Cells>{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(CellsOf("a,b\r1,2"), (std::vector<Cells>{{"a", "b"}, {"1", "2"}}));
}

TEST(CsvTest, LastLineWithoutLineBreakIsARecord) {
  EXPECT_EQ(CellsOf("a,b\n1,2"), (std::vector<Cells>{{"a", "b"}, {"1", "2"}}));
}

TEST(CsvTest, EmptyInputHasNoRecords) {
  EXPECT_TRUE(CellsOf("").empty());
  EXPECT_TRUE(CellsOf("\xEF\xBB\xBF").empty());
}

TEST(CsvTest, EmptyFieldsAreKept) {
  EXPECT_EQ(CellsOf(",a,,\n"), (std::vector<Cells>{{"", "a", "", ""}}));
  EXPECT_EQ(CellsOf("a\n\nb\n"), (std::vector<Cells>{{"a"}, {""}, {"b"}}));
}

TEST(CsvTest, QuotedFieldsHoldCommasQuotesAndLineBreaks) {
  EXPECT_EQ(CellsOf("\"a,b\",\"say \"\"hi\"\"\",\"line1\nline2\",\"cr\r\nlf\"\r\nx,\"\",y\r\n"),
            (std::vector<Cells>{{"a,b", "say \"hi\"", "line1\nline2", "cr\r\nlf"}, {"x", "", "y"}}));
}

TEST(CsvTest, ByteOrderMarkIsSkipped) {
  EXPECT_EQ(CellsOf("\xEF\xBB\xBFid,name\r\n1,株式会社山田建設\r\n"),
            (std::vector<Cells>{{"id", "name"}, {"1", "株式会社山田建設"}}));
}

TEST(CsvTest, QuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_EQ(CellsOf("a\"b,c\n"), (std::vector<Cells>{{"a\"b", "c"}}));
}

TEST(CsvTest, RowsRememberTheLineTheyStartOn) {
  Result<std::vector<CsvRow>> rows = ParseCsv("h\n\"multi\nline\"\r\nlast\n");
  ASSERT_DAICHO_OK(rows);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].line, 1u);
  EXPECT_EQ((*rows)[1].line, 2u);
  EXPECT_EQ((*rows)[2].line, 4u);
}

TEST(CsvTest, UnterminatedQuoteIsAnErrorNamingItsLine) {
  Result<std::vector<CsvRow>> rows = ParseCsv("id,name\n1,ok\n2,\"never closed\n3,x\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Code::kInvalidArgument);
  EXPECT_NE(rows.status().message().find("line 3"), std::string::npos) << rows.status();
}

TEST(CsvTest, TextAfterClosingQuoteIsAnError) {
  Result<std::vector<CsvRow>> rows = ParseCsv("\"a\"b,c\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Code::kInvalidArgument);
}

TEST(CsvTest, EscapeQuotesOnlyWhenNeeded) {
  EXPECT_EQ(EscapeCsvField("plain"), "plain");
  EXPECT_EQ(EscapeCsvField("東京都千代田区"), "東京都千代田区");
  EXPECT_EQ(EscapeCsvField(""), "");
  EXPECT_EQ(EscapeCsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(EscapeCsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(EscapeCsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(EscapeCsvField("cr\r"), "\"cr\r\"");
}

TEST(CsvTest, FormattedRowsParseBackToTheSameCells) {
  std::vector<Cells> rows = {{"id", "name", "note"}, {"c1", "株式会社山田建設", "a,b \"q\"\nnext"}, {"c2", "", "\r\n"}};
  std::string text;
  for (const Cells& r : rows) text += FormatCsvRow(r);
  EXPECT_EQ(CellsOf(text), rows);
  EXPECT_TRUE(text.ends_with("\r\n"));
}

}  // namespace
}  // namespace daicho::text
