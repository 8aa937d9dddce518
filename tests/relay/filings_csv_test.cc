// Reading the vendor's filings files (relay/filings_csv.h): header names in
// English or Japanese in any order, Shift_JIS as Excel saves it, cells as
// people type them, and rows that do not read reported with their line.
#include "relay/filings_csv.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/relay/relay_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using entitlements::Date;
using text::TextEncoding;

Date Day(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

TEST(FilingsCsvTest, ReadsEnglishHeadersInAnyOrderAndIgnoresOtherColumns) {
  auto file = ReadFilingsCsv(
      "\xEF\xBB\xBF"
      "Filed_On,note,Contract,company_id,filing_id\r\n"
      "2025-06-01,first,1234-5678-9012,K-001,F-1\r\n"
      "\r\n"
      "2025/7/2,,1234-5678-9012, K-002 ,\r\n",
      TextEncoding::kAuto);
  ASSERT_DAICHO_OK(file);
  EXPECT_EQ(file->encoding, TextEncoding::kUtf8);
  EXPECT_TRUE(file->unreadable.empty());
  ASSERT_EQ(file->rows.size(), 2u);
  EXPECT_EQ(file->rows[0].line, 2u);
  EXPECT_EQ(file->rows[0].contract, Contract("1234-5678-9012"));
  EXPECT_EQ(file->rows[0].company_id, "K-001");
  EXPECT_EQ(file->rows[0].date, Day(2025, 6, 1));
  EXPECT_EQ(file->rows[0].filing_id, "F-1");
  EXPECT_EQ(file->rows[1].line, 4u) << "the blank line 3 is skipped";
  EXPECT_EQ(file->rows[1].company_id, "K-002") << "spaces around a cell are dropped";
  EXPECT_EQ(file->rows[1].date, Day(2025, 7, 2));
  EXPECT_EQ(file->rows[1].filing_id, "");
}

TEST(FilingsCsvTest, ReadsAShiftJisFileWithJapaneseHeadersAndFullWidthNumbers) {
  // 契約番号,会社ID,会社名,申請日 / １２３４－５６７８－９０１２,K-001,㈱髙橋建設,令和7年6月1日
  const std::string cp932 =
      "\x8C_\x96\xF1\x94\xD4\x8D\x86,\x89\xEF\x8E\xD0ID,\x89\xEF\x8E\xD0\x96\xBC,\x90\\\x90\xBF\x93\xFA\r\n\x82P\x82Q"
      "\x82R\x82S\x81|\x82T\x82U\x82V\x82W\x81|\x82X\x82O\x82P\x82Q,K-001,\x87\x8A\xEE\xE0\x8B\xB4\x8C\x9A\x90\xDD,"
      "\x97\xDF\x98"
      "a7\x94N6\x8C\x8E"
      "1\x93\xFA\r\n";
  auto file = ReadFilingsCsv(cp932, TextEncoding::kAuto);
  ASSERT_DAICHO_OK(file);
  EXPECT_EQ(file->encoding, TextEncoding::kCp932);
  ASSERT_EQ(file->rows.size(), 1u);
  EXPECT_EQ(file->rows[0].contract, Contract("1234-5678-9012"));
  EXPECT_EQ(file->rows[0].company_id, "K-001");
  EXPECT_EQ(file->rows[0].date, Day(2025, 6, 1));
}

TEST(FilingsCsvTest, RowsThatDoNotReadAreReportedWithTheirLine) {
  auto file = ReadFilingsCsv(
      "契約番号,会社ID,申請日\n"
      "1234-5678-9012,K-001,2025-06-01\n"
      "1234-5678,K-002,2025-06-01\n"
      "1234-5678-9012,,2025-06-01\n"
      "1234-5678-9012,K-004,2025-13-01\n"
      "1234-5678-9012,K-005\n",
      TextEncoding::kUtf8);
  ASSERT_DAICHO_OK(file);
  ASSERT_EQ(file->rows.size(), 1u);
  ASSERT_EQ(file->unreadable.size(), 4u);
  EXPECT_EQ(file->unreadable[0].line, 3u);
  EXPECT_NE(file->unreadable[0].message.find("'1234-5678' is not NNNN-NNNN-NNNN"), std::string::npos);
  EXPECT_EQ(file->unreadable[1].line, 4u);
  EXPECT_EQ(file->unreadable[1].message, "the company id is empty");
  EXPECT_EQ(file->unreadable[2].line, 5u);
  EXPECT_NE(file->unreadable[2].message.find("'2025-13-01' is not a date"), std::string::npos);
  EXPECT_EQ(file->unreadable[3].line, 6u) << "a short row lacks its day";
}

TEST(FilingsCsvTest, AFileWithoutTheNeededColumnsIsRefusedAsAWhole) {
  auto missing = ReadFilingsCsv("contract,company\n1234-5678-9012,K-1\n", TextEncoding::kUtf8);
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("no filing day column; its header may be filed_on, date, 申請日, 提出日"),
            std::string::npos)
      << missing.status().message();
  auto twice = ReadFilingsCsv("contract,契約番号,company,date\n", TextEncoding::kUtf8);
  EXPECT_NE(twice.status().message().find("two columns are the contract number"), std::string::npos);
  EXPECT_EQ(ReadFilingsCsv("", TextEncoding::kUtf8).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFilingsCsv("contract,company,date\n\"1234", TextEncoding::kUtf8).status().code(),
            Code::kInvalidArgument)
      << "broken quoting";
  EXPECT_EQ(ReadFilingsCsv("contract,company,date\n\x85\x40,K,2025-01-01\n", TextEncoding::kUtf8).status().code(),
            Code::kInvalidArgument)
      << "not UTF-8";
}

}  // namespace
}  // namespace daicho::relay
