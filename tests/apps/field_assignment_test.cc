#include "apps/daicho/field_assignment.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/testing/test_util.h"

namespace daicho::cli {
namespace {

FieldAssignment Parse(std::string_view arg) {
  Result<FieldAssignment> a = ParseFieldAssignment(arg);
  EXPECT_TRUE(a.ok()) << arg << ": " << a.status();
  return a.ok() ? *a : FieldAssignment{};
}

void ExpectInvalid(std::string_view arg) {
  Result<FieldAssignment> a = ParseFieldAssignment(arg);
  ASSERT_FALSE(a.ok()) << "accepted: " << arg;
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(a.status().message().empty());
}

TEST(FieldAssignmentTest, PlainAssignmentSetsText) {
  FieldAssignment a = Parse("trade_name=株式会社山田建設");
  EXPECT_EQ(a.op, AssignmentOp::kSetText);
  EXPECT_EQ(a.field, "trade_name");
  EXPECT_EQ(a.value, Value("株式会社山田建設"));
}

TEST(FieldAssignmentTest, SplitsAtTheFirstEqualsSign) {
  FieldAssignment a = Parse("note=a=b==c");
  EXPECT_EQ(a.field, "note");
  EXPECT_EQ(a.value, Value("a=b==c"));
  FieldAssignment typed = Parse("note:=\"x=y\"");
  EXPECT_EQ(typed.value, Value("x=y"));
}

TEST(FieldAssignmentTest, EmptyValueIsAnEmptyString) {
  FieldAssignment a = Parse("memo=");
  EXPECT_EQ(a.op, AssignmentOp::kSetText);
  EXPECT_EQ(a.value, Value(""));
}

TEST(FieldAssignmentTest, TypedAssignmentParsesJsonScalars) {
  EXPECT_EQ(Parse("n:=42").value, Value(int64_t{42}));
  EXPECT_EQ(Parse("n:=-7").value, Value(int64_t{-7}));
  EXPECT_EQ(Parse("n:=1.5").value, Value(1.5));
  EXPECT_EQ(Parse("n:=1e3").value, Value(1000.0));
  EXPECT_EQ(Parse("b:=true").value, Value(true));
  EXPECT_EQ(Parse("b:=false").value, Value(false));
  EXPECT_EQ(Parse("z:=null").value, Value());
  EXPECT_EQ(Parse("s:=\"東京\"").value, Value("東京"));
  EXPECT_EQ(Parse("s:=\"\\u6771\"").value, Value("東"));
  EXPECT_EQ(Parse("big:=9223372036854775807").value, Value(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(Parse("n:=42").op, AssignmentOp::kSetTyped);
}

TEST(FieldAssignmentTest, TypedAssignmentRejectsNonScalarsAndGarbage) {
  ExpectInvalid("x:=[1,2]");
  ExpectInvalid("x:={\"a\":1}");
  ExpectInvalid("x:=unquoted");
  ExpectInvalid("x:=");
  ExpectInvalid("x:=9223372036854775808");
  ExpectInvalid("x:=1 2");
}

TEST(FieldAssignmentTest, CounterAddTakesSignedIntegers) {
  FieldAssignment a = Parse("filings+=3");
  EXPECT_EQ(a.op, AssignmentOp::kCounterAdd);
  EXPECT_EQ(a.field, "filings");
  EXPECT_EQ(a.delta, 3);
  EXPECT_EQ(Parse("filings+=-1").delta, -1);
  EXPECT_EQ(Parse("filings+=+2").delta, 2);
  ExpectInvalid("filings+=");
  ExpectInvalid("filings+=1.5");
  ExpectInvalid("filings+=abc");
  ExpectInvalid("filings+=++1");
  ExpectInvalid("filings+=99999999999999999999");
}

TEST(FieldAssignmentTest, SetAddAndRemove) {
  FieldAssignment add = Parse("trades[]+=土木工事業");
  EXPECT_EQ(add.op, AssignmentOp::kSetAdd);
  EXPECT_EQ(add.field, "trades");
  EXPECT_EQ(add.element, "土木工事業");
  FieldAssignment remove = Parse("trades[]-=建築工事業");
  EXPECT_EQ(remove.op, AssignmentOp::kSetRemove);
  EXPECT_EQ(remove.element, "建築工事業");
  EXPECT_EQ(Parse("tags[]+=a=b").element, "a=b");
  ExpectInvalid("trades[]+=");
}

TEST(FieldAssignmentTest, RejectsBadSyntax) {
  ExpectInvalid("no_operator");
  ExpectInvalid("=value");
  ExpectInvalid(":=1");
  ExpectInvalid("+=1");
  ExpectInvalid("[]+=x");
  ExpectInvalid("x-=1");
  ExpectInvalid("trades[]=x");
  ExpectInvalid("a[b=c");
  ExpectInvalid("");
}

TEST(FieldAssignmentTest, RejectsInvalidUtf8) {
  ExpectInvalid("name=\xff\xfe");
  ExpectInvalid("name=\xE6\x9D");  // truncated multi-byte sequence
  ExpectInvalid("name=\xC0\xAF");  // overlong
  ExpectInvalid("\xff=value");
  ExpectInvalid("tags[]+=\xff");
  Result<FieldAssignment> a = ParseFieldAssignment("name=\xff");
  ASSERT_FALSE(a.ok());
  // The message escapes the bad byte instead of echoing it.
  EXPECT_NE(a.status().message().find("\\xff"), std::string::npos) << a.status();
  EXPECT_TRUE(IsValidUtf8(a.status().message()));
}

TEST(FieldAssignmentTest, ParseInt64Bounds) {
  EXPECT_EQ(*ParseInt64("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*ParseInt64("0"), 0);
  EXPECT_FALSE(ParseInt64("-").ok());
  EXPECT_FALSE(ParseInt64(" 1").ok());
  EXPECT_FALSE(ParseInt64("1 ").ok());
}

// Counter totals wrap; the add between two totals wraps the same way.
TEST(FieldAssignmentTest, CounterDeltaTakesATotalToAnotherWrapping) {
  EXPECT_EQ(CounterDelta(3, 5), 2);
  EXPECT_EQ(CounterDelta(5, 3), -2);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CounterDelta(-1, kMax), kMin);  // kMax - (-1) wraps to kMin
  EXPECT_EQ(CounterDelta(kMax, kMin), 1);
  EXPECT_EQ(CounterDelta(kMin, kMax), -1);
}

}  // namespace
}  // namespace daicho::cli
