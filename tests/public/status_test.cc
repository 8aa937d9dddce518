#include "daicho/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace daicho {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

Result<int> Doubled(int v) {
  DAICHO_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

Status CheckBoth(int a, int b) {
  DAICHO_RETURN_IF_ERROR(ParsePositive(a).status());
  DAICHO_RETURN_IF_ERROR(ParsePositive(b).status());
  return Status::Ok();
}

TEST(StatusTest, DefaultIsOkAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = NotFound("record customers/c1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: record customers/c1");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = IoError("disk full").WithContext("commit");
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "commit: disk full");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) names.insert(CodeName(static_cast<Code>(c)));
  EXPECT_EQ(names.size(), static_cast<size_t>(Code::kInternal) + 1);
  EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(StatusTest, EveryErrorCodeHasAFactoryThatKeepsTheMessage) {
  struct Factory {
    Status (*make)(std::string);
    Code code;
  };
  const Factory factories[] = {
      {InvalidArgument, Code::kInvalidArgument},
      {NotFound, Code::kNotFound},
      {AlreadyExists, Code::kAlreadyExists},
      {Corruption, Code::kCorruption},
      {IoError, Code::kIoError},
      {Busy, Code::kBusy},
      {FailedPrecondition, Code::kFailedPrecondition},
      {ProtocolError, Code::kProtocolError},
      {ResourceExhausted, Code::kResourceExhausted},
      {Unauthenticated, Code::kUnauthenticated},
      {PermissionDenied, Code::kPermissionDenied},
      {Unavailable, Code::kUnavailable},
      {Internal, Code::kInternal},
  };
  std::set<Code> covered;
  for (const Factory& f : factories) {
    const Status s = f.make("what went wrong");
    EXPECT_EQ(s.code(), f.code) << CodeName(f.code);
    EXPECT_FALSE(s.ok()) << CodeName(f.code);
    EXPECT_EQ(s.message(), "what went wrong") << CodeName(f.code);
    EXPECT_EQ(s.ToString(), std::string(CodeName(f.code)) + ": what went wrong");
    covered.insert(f.code);
  }
  // Every Code but kOk, each once.
  EXPECT_EQ(covered.size(), static_cast<size_t>(Code::kInternal));
  EXPECT_EQ(covered.count(Code::kOk), 0u);
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = Doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "not positive: -1");
}

TEST(ResultTest, MoveOnlyValuesMoveOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ReturnIfErrorStopsAtTheFirstFailure) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  Status s = CheckBoth(1, -5);
  EXPECT_EQ(s.message(), "not positive: -5");
}

}  // namespace
}  // namespace daicho
