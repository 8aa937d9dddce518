#include "relay/password_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

// Whether `count` callers came to be queued at `gate` (a generous bound,
// so that a gate that never queues fails instead of hanging).
bool AwaitQueued(const PasswordGate& gate, size_t count) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (gate.stats().queued < count) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(PasswordGateTest, NeverRunsMoreChecksAtOnceThanItsCap) {
  PasswordGateOptions options;
  options.max_concurrent = 2;
  options.max_queued = 64;
  options.max_wait = std::chrono::minutes(5);
  PasswordGate gate(options);
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  threads.reserve(16);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto slot = gate.Enter();
        ASSERT_DAICHO_OK(slot);
        const int now = ++inside;
        int seen = most_inside.load();
        while (now > seen && !most_inside.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
        ++done;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(done.load(), 16 * 20);
  EXPECT_LE(most_inside.load(), 2);
  EXPECT_EQ(gate.stats().entered, 16u * 20u);
  EXPECT_LE(gate.stats().peak_running, 2u);
  EXPECT_EQ(gate.stats().running, 0u);
}

TEST(PasswordGateTest, AFullQueueIsRefusedAtOnceAndWaitersGetTheirTurn) {
  PasswordGateOptions options;
  options.max_concurrent = 1;
  options.max_queued = 1;
  options.max_wait = std::chrono::minutes(5);
  PasswordGate gate(options);
  std::optional<PasswordGate::Slot> held;
  {
    auto slot = gate.Enter();
    ASSERT_DAICHO_OK(slot);
    held.emplace(std::move(*slot));
  }
  Status waiter_status(Code::kInternal, "not run");
  std::thread waiter([&] { waiter_status = gate.Enter().status(); });
  const bool queued = AwaitQueued(gate, 1);
  EXPECT_TRUE(queued) << "a caller beyond the cap was not queued";
  // Running one, queueing one: the next caller is told to retry, not kept.
  Status refused = gate.Enter().status();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("busy checking logins; retry in a moment"), std::string::npos) << refused;
  held.reset();  // the queued caller takes over the slot
  waiter.join();
  EXPECT_DAICHO_OK(waiter_status);
  EXPECT_EQ(gate.stats().entered, 2u);
  EXPECT_EQ(gate.stats().refused, 1u);
  EXPECT_EQ(gate.stats().running, 0u);
}

TEST(PasswordGateTest, AWaitLongerThanMaxWaitIsRefused) {
  PasswordGateOptions options;
  options.max_concurrent = 1;
  options.max_queued = 4;
  options.max_wait = std::chrono::milliseconds(20);
  PasswordGate gate(options);
  auto held = gate.Enter();
  ASSERT_DAICHO_OK(held);
  auto refused = gate.Enter();  // nobody releases: it must not hang
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_EQ(gate.stats().queued, 0u);
}

}  // namespace
}  // namespace daicho::relay
