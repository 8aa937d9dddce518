// The watching PC's reconnect waits (client/reconnect_backoff.h): doubling
// from the first wait to the cap, each drawn between half its step and the
// step, back to the start after a connection got through, and spread out
// between PCs (issue 16: many offices reconnecting at once).
#include "client/reconnect_backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

namespace daicho::client {
namespace {

using std::chrono::milliseconds;

std::vector<milliseconds> Waits(ReconnectBackoff& backoff, size_t n) {
  std::vector<milliseconds> waits;
  for (size_t i = 0; i < n; ++i) waits.push_back(backoff.Next());
  return waits;
}

TEST(ReconnectBackoffTest, WaitsDoubleToTheCapEachBetweenHalfItsStepAndTheStep) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ReconnectBackoff backoff(milliseconds(500), milliseconds(30000), seed);
    const std::vector<milliseconds> waits = Waits(backoff, 10);
    int64_t step = 500;
    for (const milliseconds wait : waits) {
      EXPECT_GE(wait.count(), step / 2) << "seed " << seed;
      EXPECT_LE(wait.count(), step) << "seed " << seed;
      step = std::min<int64_t>(step * 2, 30000);
    }
    EXPECT_GE(waits.back().count(), 15000) << "capped at 30 s, never below half of it";
  }
}

TEST(ReconnectBackoffTest, AConnectionThatGotThroughStartsOverFromTheFirstWait) {
  ReconnectBackoff backoff(milliseconds(500), milliseconds(30000), 7);
  Waits(backoff, 8);
  backoff.Reset();
  const milliseconds wait = backoff.Next();
  EXPECT_GE(wait.count(), 250);
  EXPECT_LE(wait.count(), 500);
}

TEST(ReconnectBackoffTest, PcsCutOffTogetherComeBackSpreadOut) {
  std::set<int64_t> first_waits;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    ReconnectBackoff backoff(milliseconds(500), milliseconds(30000), seed);
    Waits(backoff, 5);  // the fifth wait is drawn from [4 s, 8 s]
    first_waits.insert(backoff.Next().count());
  }
  EXPECT_GT(first_waits.size(), 50u) << "100 PCs should not pick a handful of instants";
  ReconnectBackoff same_a(milliseconds(500), milliseconds(30000), 42);
  ReconnectBackoff same_b(milliseconds(500), milliseconds(30000), 42);
  EXPECT_EQ(Waits(same_a, 6), Waits(same_b, 6)) << "the seed alone decides";
}

}  // namespace
}  // namespace daicho::client
