#include "relay/postgres/pg_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "relay/postgres/pg_change_feed.h"
#include "relay/postgres/pg_connection.h"
#include "relay/postgres/pg_statements.h"

namespace daicho::relay::pg {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

TEST(PgCodecTest, IntegersAreBigEndianAndSignExtended) {
  PgParams params;
  params.I16(-2).I32(0x01020304).I64(-1);
  ASSERT_EQ(params.size(), 3);
  EXPECT_EQ(std::string(params.values()[0], 2), std::string("\xff\xfe", 2));
  EXPECT_EQ(std::string(params.values()[1], 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(params.lengths()[2], 8);
  EXPECT_EQ(DecodeInt(std::string("\xff\xfe", 2)), -2);
  EXPECT_EQ(DecodeInt(std::string("\x01\x02\x03\x04", 4)), 0x01020304);
  EXPECT_EQ(DecodeInt(std::string(8, '\xff')), -1);
  EXPECT_EQ(DecodeInt("abc"), std::nullopt);
}

TEST(PgCodecTest, U64AboveInt64MaxIsRefused) {
  PgParams fits;
  fits.U64(static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  EXPECT_TRUE(fits.status().ok());
  EXPECT_EQ(DecodeInt(std::string(fits.values()[0], 8)), std::numeric_limits<int64_t>::max());
  PgParams too_big;
  too_big.U64(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(too_big.status().code(), Code::kInvalidArgument);
}

TEST(PgCodecTest, NullsBoolsBytesAndTextFormat) {
  PgParams params;
  params.Null().Bool(true).Bytes(std::string("a\0b", 3)).TextFormat("{x}");
  const char* const* values = params.values();
  EXPECT_EQ(values[0], nullptr);
  EXPECT_EQ(std::string(values[1], 1), "\x01");
  EXPECT_EQ(std::string(values[2], 3), std::string("a\0b", 3));
  EXPECT_EQ(params.formats()[2], 1);
  EXPECT_EQ(params.formats()[3], 0);
  EXPECT_EQ(DecodeBool("\x01"), true);
  EXPECT_EQ(DecodeBool(std::string(1, '\0')), false);
  EXPECT_EQ(DecodeBool("ab"), std::nullopt);
}

TEST(PgCodecTest, DatesCountDaysFrom2000) {
  EXPECT_EQ(EncodeDate(year{2000} / month{1} / day{1}), std::string(4, '\0'));
  EXPECT_EQ(EncodeDate(year{2000} / month{1} / day{2}), std::string("\0\0\0\x01", 4));
  EXPECT_EQ(EncodeDate(year{1999} / month{12} / day{31}), std::string(4, '\xff'));
  for (const entitlements::Date date :
       {year{2013} / month{9} / day{1}, year{2024} / month{2} / day{29}, year{1970} / month{1} / day{1}}) {
    EXPECT_EQ(DecodeDate(EncodeDate(date)), date);
  }
  EXPECT_EQ(DecodeDate("\x7f\xff\xff\xff"), std::nullopt);  // PostgreSQL's 'infinity'
  EXPECT_EQ(DecodeDate("abc"), std::nullopt);
}

TEST(PgSqlStateTest, MapsClassesToCodes) {
  EXPECT_EQ(StatusFromSqlState("08006", "x").code(), Code::kUnavailable);
  EXPECT_EQ(StatusFromSqlState("57P01", "x").code(), Code::kUnavailable);
  EXPECT_EQ(StatusFromSqlState("25006", "x").code(), Code::kUnavailable);  // read-only: a standby
  EXPECT_EQ(StatusFromSqlState("53100", "x").code(), Code::kResourceExhausted);
  EXPECT_EQ(StatusFromSqlState("22P02", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(StatusFromSqlState("23503", "x").code(), Code::kInternal);
  EXPECT_EQ(StatusFromSqlState("42P01", "x").code(), Code::kNotFound);
  EXPECT_EQ(StatusFromSqlState("XX000", "x").code(), Code::kIoError);
  for (const char* retry : {"40001", "40P01", "23505", "55P03"}) EXPECT_TRUE(RetryableSqlState(retry)) << retry;
  for (const char* no : {"23503", "08006", "22P02", ""}) EXPECT_FALSE(RetryableSqlState(no)) << no;
}

TEST(PgStatementsTest, EveryStatementHasANameAndSql) {
  const auto statements = Statements();
  ASSERT_EQ(statements.size(), static_cast<size_t>(Stmt::kCount));
  for (const auto& [name, sql] : statements) {
    ASSERT_NE(name, nullptr);
    ASSERT_NE(sql, nullptr);
    EXPECT_TRUE(std::string(sql).find("daicho.") != std::string::npos ||
                std::string(sql).find("pg_notify") != std::string::npos)
        << sql;
  }
  EXPECT_STREQ(StmtName(Stmt::kChangeCounts), statements.back().first);
}

TEST(PgChangeNoticeTest, SplitsContractAndNode) {
  const auto notice = ParseChangeNotice("0000-0000-0001 node-a");
  ASSERT_TRUE(notice.has_value());
  EXPECT_EQ(notice->first.str(), "0000-0000-0001");
  EXPECT_EQ(notice->second, "node-a");
  EXPECT_FALSE(ParseChangeNotice("0000-0000-0001").has_value());
  EXPECT_FALSE(ParseChangeNotice("nonsense node").has_value());
}

}  // namespace
}  // namespace daicho::relay::pg
