#include "daicho/replica_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/testing/test_util.h"

namespace daicho {
namespace {

TEST(ReplicaIdTest, RandomIdsAreNeverZeroAndDoNotRepeat) {
  std::set<ReplicaId> seen;
  for (int i = 0; i < 100; ++i) {
    Result<ReplicaId> id = ReplicaId::Random();
    ASSERT_DAICHO_OK(id);
    EXPECT_FALSE(id->IsZero());
    EXPECT_TRUE(seen.insert(*id).second) << id->ToHex();
  }
}

TEST(ReplicaIdTest, HexRoundTripsAndAcceptsUpperCase) {
  const std::string hex = "00112233445566778899aabbccddeeff";
  Result<ReplicaId> id = ReplicaId::FromHex(hex);
  ASSERT_DAICHO_OK(id);
  EXPECT_EQ(id->ToHex(), hex);
  Result<ReplicaId> upper = ReplicaId::FromHex("00112233445566778899AABBCCDDEEFF");
  ASSERT_DAICHO_OK(upper);
  EXPECT_EQ(*upper, *id);
  Result<ReplicaId> raw = ReplicaId::FromBytes(id->AsStringView());
  ASSERT_DAICHO_OK(raw);
  EXPECT_EQ(*raw, *id);
}

TEST(ReplicaIdTest, MalformedInputIsInvalidArgument) {
  EXPECT_EQ(ReplicaId::FromHex("0011").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReplicaId::FromHex("g0112233445566778899aabbccddeeff").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReplicaId::FromBytes("short").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ReplicaId().IsZero());
}

}  // namespace
}  // namespace daicho
