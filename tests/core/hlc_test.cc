#include "core/hlc.h"

#include <gtest/gtest.h>

#include <memory>

#include "memory_replica.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using testing::FakeClock;
using testing::kDayMs;
using testing::kTestEpochMs;

class HybridClockTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeClock> wall_ = std::make_shared<FakeClock>(kTestEpochMs);
  HybridClock clock_{wall_, kDayMs};
};

TEST_F(HybridClockTest, NowFollowsTheWallClockWhenItMovesForward) {
  EXPECT_EQ(clock_.Now(), (HlcTime{kTestEpochMs, 0}));
  wall_->Advance(5);
  EXPECT_EQ(clock_.Now(), (HlcTime{kTestEpochMs + 5, 0}));
  EXPECT_EQ(clock_.last(), (HlcTime{kTestEpochMs + 5, 0}));
}

TEST_F(HybridClockTest, NowIsStrictlyIncreasingWhenTheWallClockStalls) {
  const HlcTime a = clock_.Now();
  const HlcTime b = clock_.Now();
  const HlcTime c = clock_.Now();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(c, (HlcTime{kTestEpochMs, 2}));
}

TEST_F(HybridClockTest, NowStaysMonotoneWhenTheWallClockStepsBack) {
  wall_->Advance(10'000);
  const HlcTime before = clock_.Now();
  wall_->StepBack(3'600'000);  // NTP or the user moved the clock back an hour
  const HlcTime after1 = clock_.Now();
  const HlcTime after2 = clock_.Now();
  EXPECT_LT(before, after1);
  EXPECT_LT(after1, after2);
  EXPECT_EQ(after1.wall_ms, before.wall_ms);
  // Once the wall clock passes the old stamp again, it is used again.
  wall_->Set(before.wall_ms + 1);
  EXPECT_EQ(clock_.Now(), (HlcTime{before.wall_ms + 1, 0}));
}

TEST_F(HybridClockTest, ObserveAdoptsARemoteStampSoTheNextNowSortsAfterIt) {
  const HlcTime local = clock_.Now();
  const HlcTime remote{kTestEpochMs + 60'000, 7};  // a peer a minute ahead
  EXPECT_TRUE(clock_.Observe(remote));
  EXPECT_EQ(clock_.last(), remote);
  const HlcTime next = clock_.Now();
  EXPECT_GT(next, remote);
  EXPECT_GT(next, local);
  EXPECT_EQ(next, (HlcTime{remote.wall_ms, 8}));
}

TEST_F(HybridClockTest, ObserveOfAnOlderStampKeepsTheLocalClock) {
  wall_->Advance(1000);
  const HlcTime local = clock_.Now();
  EXPECT_TRUE(clock_.Observe(HlcTime{kTestEpochMs, 3}));
  EXPECT_EQ(clock_.last(), local);
  EXPECT_GT(clock_.Now(), local);
}

TEST_F(HybridClockTest, ObserveOfAStampBeyondMaxSkewIsNotAdopted) {
  const HlcTime local = clock_.Now();
  const HlcTime wrong_date{kTestEpochMs + kDayMs + 1, 0};  // a PC set a day and a bit ahead
  EXPECT_FALSE(clock_.Observe(wrong_date));
  EXPECT_EQ(clock_.last(), local);
  const HlcTime next = clock_.Now();
  EXPECT_LT(next, wrong_date);
  EXPECT_EQ(next, (HlcTime{kTestEpochMs, 1}));
}

TEST_F(HybridClockTest, ObserveOfAStampExactlyAtMaxSkewIsAdopted) {
  const HlcTime edge{kTestEpochMs + kDayMs, 0};
  EXPECT_TRUE(clock_.Observe(edge));
  EXPECT_GT(clock_.Now(), edge);
}

TEST_F(HybridClockTest, RestoreContinuesAfterThePersistedStamp) {
  const HlcTime persisted{kTestEpochMs + 500, 4};
  clock_.Restore(persisted);
  EXPECT_EQ(clock_.last(), persisted);
  EXPECT_EQ(clock_.Now(), (HlcTime{kTestEpochMs + 500, 5}));
}

TEST(HybridClockSystemTest, NullClockFallsBackToTheSystemClock) {
  HybridClock clock(nullptr, kDayMs);
  const HlcTime now = clock.Now();
  EXPECT_GT(now.wall_ms, kTestEpochMs);  // later than 2024-01-01
  EXPECT_GT(clock.Now(), now);
}

}  // namespace
}  // namespace daicho::core
