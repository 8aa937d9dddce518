#include "relay/change_watcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/relay/relay_test_util.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using namespace std::chrono_literals;

// A feed whose notifications, reconnects and counters the test drives.
class FakeFeed final : public ChangeFeed {
 public:
  Status Start(Handlers handlers) override {
    std::lock_guard lock(mu_);
    if (started_) return Status(Code::kFailedPrecondition, "already started");
    handlers_ = std::move(handlers);
    started_ = true;
    return Status::Ok();
  }
  void Stop() override {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  bool connected() const override { return true; }
  Result<std::vector<std::pair<sync::ContractNumber, uint64_t>>> ChangeCounts(
      std::span<const sync::ContractNumber> contracts) override {
    std::lock_guard lock(mu_);
    if (!readable_) return Status(Code::kUnavailable, "the store cannot be reached");
    std::vector<std::pair<sync::ContractNumber, uint64_t>> out;
    for (const auto& contract : contracts) {
      if (auto it = counts_.find(contract.str()); it != counts_.end()) out.emplace_back(contract, it->second);
    }
    return out;
  }

  void SetCount(const std::string& contract, uint64_t count) {
    std::lock_guard lock(mu_);
    counts_[contract] = count;
  }
  void SetReadable(bool readable) {
    std::lock_guard lock(mu_);
    readable_ = readable;
  }
  // What the feed's thread would do; callable once Start returned.
  Handlers handlers() {
    std::lock_guard lock(mu_);
    return handlers_;
  }
  bool WaitStarted() {
    return daicho::testing::WaitFor([&] { return Started(); }, 60s);
  }
  bool Started() {
    std::lock_guard lock(mu_);
    return started_;
  }
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }

 private:
  std::mutex mu_;
  Handlers handlers_;
  std::map<std::string, uint64_t> counts_;
  bool readable_ = true;
  bool started_ = false;
  bool stopped_ = false;
};

// The pushes and outages the watcher reported, in order.
class Record {
 public:
  void Push(const std::string& contract) {
    std::lock_guard lock(mu_);
    pushes_.push_back(contract);
    changed_.notify_all();
  }
  void Unreadable() {
    std::lock_guard lock(mu_);
    ++unreadable_;
    changed_.notify_all();
  }
  // False if fewer than `count` pushes came within a minute (a failure, not
  // a measurement).
  bool WaitForPushes(size_t count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 1min, [&] { return pushes_.size() >= count; });
  }
  bool WaitForUnreadable(int count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 1min, [&] { return unreadable_ >= count; });
  }
  std::vector<std::string> pushes() {
    std::lock_guard lock(mu_);
    return pushes_;
  }
  int unreadable() {
    std::lock_guard lock(mu_);
    return unreadable_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> pushes_;
  int unreadable_ = 0;
};

constexpr char kA[] = "0000-0000-0001";
constexpr char kB[] = "0000-0000-0002";

ChangeWatch WatchInto(Record& record, std::vector<std::string> live, std::chrono::milliseconds interval) {
  ChangeWatch watch;
  watch.live_contracts = [live] { return live; };
  watch.push = [&record](const std::string& contract) { record.Push(contract); };
  watch.on_unreadable = [&record](const Status&) { record.Unreadable(); };
  watch.interval = interval;
  return watch;
}

TEST(ChangeWatcherTest, ANotificationPushesItsContractAtOnce) {
  FakeFeed feed;
  Record record;
  const ChangeWatch watch = WatchInto(record, {kA}, 1h);
  std::jthread watcher([&](std::stop_token stop) { ASSERT_DAICHO_OK(WatchChanges(stop, feed, watch)); });
  ASSERT_TRUE(feed.WaitStarted());
  feed.handlers().changed(Contract(kB));
  ASSERT_TRUE(record.WaitForPushes(1));
  EXPECT_EQ(record.pushes(), std::vector<std::string>{kB});
  watcher.request_stop();
  watcher.join();
  EXPECT_TRUE(feed.stopped());
}

TEST(ChangeWatcherTest, AfterAReconnectOnlyContractsWhoseCountersMovedPush) {
  FakeFeed feed;
  Record record;
  feed.SetCount(kA, 5);
  feed.SetCount(kB, 7);
  // B before A: a check pushes in this order, so once A's push is seen, B's
  // of the same check would have been seen before it.
  ChangeWatch watch = WatchInto(record, {kB, kA}, 1h);
  std::atomic<int> listening = 0;
  watch.on_listening = [&listening] { ++listening; };
  std::jthread watcher([&](std::stop_token stop) { ASSERT_DAICHO_OK(WatchChanges(stop, feed, watch)); });
  ASSERT_TRUE(feed.WaitStarted());
  feed.handlers().resync();  // first sight of both: both push
  ASSERT_TRUE(record.WaitForPushes(2));
  EXPECT_EQ(record.pushes(), (std::vector<std::string>{kB, kA}));

  feed.SetCount(kA, 6);  // a commit whose notification was lost
  feed.handlers().resync();
  ASSERT_TRUE(record.WaitForPushes(3));
  EXPECT_EQ(record.pushes(), (std::vector<std::string>{kB, kA, kA}));
  EXPECT_EQ(listening, 2);
}

TEST(ChangeWatcherTest, TheCountersAreComparedEveryIntervalWithoutANotification) {
  FakeFeed feed;
  Record record;
  feed.SetCount(kA, 1);
  const ChangeWatch watch = WatchInto(record, {kA}, 1ms);
  std::jthread watcher([&](std::stop_token stop) { ASSERT_DAICHO_OK(WatchChanges(stop, feed, watch)); });
  ASSERT_TRUE(record.WaitForPushes(1));
  feed.SetCount(kA, 2);
  ASSERT_TRUE(record.WaitForPushes(2));
  EXPECT_EQ(record.pushes(), (std::vector<std::string>{kA, kA}));
}

TEST(ChangeWatcherTest, AnOutageIsReportedOnceAndCheckingResumesAfterIt) {
  FakeFeed feed;
  Record record;
  feed.SetCount(kA, 1);
  feed.SetReadable(false);
  const ChangeWatch watch = WatchInto(record, {kA}, 1ms);
  std::jthread watcher([&](std::stop_token stop) { ASSERT_DAICHO_OK(WatchChanges(stop, feed, watch)); });
  ASSERT_TRUE(record.WaitForUnreadable(1));
  // Many intervals pass in the outage; notifications still push.
  feed.handlers().changed(Contract(kA));
  ASSERT_TRUE(record.WaitForPushes(1));
  feed.SetReadable(true);
  ASSERT_TRUE(record.WaitForPushes(2));  // the first reading after the outage
  EXPECT_EQ(record.unreadable(), 1);
}

TEST(ChangeWatcherTest, AFeedThatCannotStartIsReportedAndNothingRuns) {
  FakeFeed feed;
  ASSERT_DAICHO_OK(feed.Start({}));
  Record record;
  const ChangeWatch watch = WatchInto(record, {kA}, 1ms);
  std::stop_source stop;
  EXPECT_EQ(WatchChanges(stop.get_token(), feed, watch).code(), Code::kFailedPrecondition);
  EXPECT_TRUE(record.pushes().empty());
}

}  // namespace
}  // namespace daicho::relay
