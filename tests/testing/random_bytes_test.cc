#include "tests/testing/random_bytes.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

namespace daicho::testing {
namespace {

TEST(RandomBytesTest, ASeedNamesTheSameBytes) {
  std::mt19937 rng(42);
  const std::string drawn = RandomBytes(rng, 64);
  EXPECT_EQ(drawn.size(), 64u);
  EXPECT_EQ(RandomBytes(64, 42), drawn);
  EXPECT_NE(RandomBytes(rng, 64), drawn) << "the generator did not move on";
  EXPECT_EQ(RandomBytes(0, 42), "");
}

TEST(RandomBytesTest, MutationsAreRepeatableForASeed) {
  const std::string valid = "a valid encoding";
  for (ByteEdits edits : {ByteEdits::kReplaceFlipInsert, ByteEdits::kReplaceFlipInsertErase}) {
    std::mt19937 first(7);
    std::mt19937 second(7);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(MutateBytes(valid, first, edits), MutateBytes(valid, second, edits));
  }
}

TEST(RandomBytesTest, MutationsWithoutEraseNeverShortenAndAddAtMostThreeBytes) {
  const std::string valid = "0123456789";
  std::mt19937 rng(1);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string bytes = MutateBytes(valid, rng, ByteEdits::kReplaceFlipInsert);
    EXPECT_GE(bytes.size(), valid.size());
    EXPECT_LE(bytes.size(), valid.size() + 3);
    seen.insert(bytes);
  }
  EXPECT_GT(seen.size(), 1000u) << "the edits hardly vary";
}

TEST(RandomBytesTest, MutationsWithEraseShortenButNeverEmpty) {
  std::mt19937 rng(3);
  bool shorter = false;
  for (int i = 0; i < 2000; ++i) {
    const std::string bytes = MutateBytes("ab", rng, ByteEdits::kReplaceFlipInsertErase);
    EXPECT_FALSE(bytes.empty());
    shorter = shorter || bytes.size() < 2;
  }
  EXPECT_TRUE(shorter) << "no edit erased";
}

}  // namespace
}  // namespace daicho::testing
