// Tests of storage/codec/names.h: the one name rule that the replica's API
// and the decoders map to their own codes and messages.
#include "storage/codec/names.h"

#include <gtest/gtest.h>

#include <string>

namespace daicho::storage {
namespace {

using namespace std::string_literals;

TEST(NamesTest, EachProblemIsFound) {
  struct Case {
    std::string name;
    size_t max_bytes;
    NameProblem problem;
  };
  const Case cases[] = {
      {"customers", 64, NameProblem::kNone}, {"顧客", 6, NameProblem::kNone},  // 6 bytes of UTF-8: at the limit
      {"顧客", 5, NameProblem::kTooLong},    {"", 64, NameProblem::kEmpty},
      {"a\0b"s, 64, NameProblem::kNul},      {"\0"s, 64, NameProblem::kNul},
      {"\xff", 64, NameProblem::kNotUtf8},   {"\xe9\xa1", 64, NameProblem::kNotUtf8},  // a truncated 3-byte sequence
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckNameBytes(c.name, c.max_bytes), c.problem) << "name of " << c.name.size() << " bytes";
  }
}

// The API maps kTooLong to kResourceExhausted and the others to
// kInvalidArgument, so which problem comes first is part of the behaviour.
TEST(NamesTest, TheFirstProblemInCheckOrderIsReported) {
  EXPECT_EQ(CheckNameBytes("a\0\xff"s, 2), NameProblem::kTooLong);
  EXPECT_EQ(CheckNameBytes("a\0\xff"s, 3), NameProblem::kNul);
  EXPECT_EQ(CheckNameBytes("\xff\xff", 1), NameProblem::kTooLong);
  EXPECT_EQ(CheckNameBytes("", 0), NameProblem::kEmpty);
}

TEST(NamesTest, RecordKeysFitLmdbsKeyLimit) {
  // collection + NUL + id, at most kMaxRecordKeyBytes.
  const std::string collection(10, 'c');
  EXPECT_FALSE(RecordKeyTooLong(collection, std::string(kMaxRecordKeyBytes - 11, 'i')));
  EXPECT_TRUE(RecordKeyTooLong(collection, std::string(kMaxRecordKeyBytes - 10, 'i')));
}

}  // namespace
}  // namespace daicho::storage
