#include "relay/login_watcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/relay/relay_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::TempDir;

// Counts the watcher's reports; a test waits for the count it expects.
class Reports {
 public:
  void Moved() {
    std::lock_guard lock(mu_);
    ++moved_;
    changed_.notify_all();
  }
  // False if `count` moves were not reported within a minute (a failure,
  // not a measurement: the watcher polls every millisecond).
  bool WaitForMoves(int count) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::minutes(1), [&] { return moved_ >= count; });
  }
  int moved() {
    std::lock_guard lock(mu_);
    return moved_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int moved_ = 0;
};

TEST(LoginWatcherTest, EveryCommitThatEndsLoginsIsReportedUntilStopped) {
  TempDir dir;
  auto service = std::move(OpenLmdbRelay(dir.Sub("relay")).value());
  const ContractNumber a = Contract("0000-0000-0001");
  ASSERT_DAICHO_OK(service->AddContract(a));
  Reports reports;
  int unreadable = 0;
  {
    std::jthread watcher([&, seen = service->LoginGeneration()](std::stop_token stop) {
      WatchLogins(
          stop, *service, seen, std::chrono::milliseconds(1), [&] { reports.Moved(); },
          [&](const Status&) { ++unreadable; });
    });
    ASSERT_DAICHO_OK(service->SetContractDisabled(a, true));
    ASSERT_TRUE(reports.WaitForMoves(1));
    ASSERT_DAICHO_OK(service->SetContractDisabled(a, false));  // ends no logins
    ASSERT_DAICHO_OK(service->SetContractDisabled(a, true));
    ASSERT_TRUE(reports.WaitForMoves(2));
  }  // the watcher is asked to stop and joined here
  EXPECT_EQ(reports.moved(), 2);
  EXPECT_EQ(unreadable, 0);
}

// A serving process that could not read the generation before the watch
// began rechecks its sessions at the first good read.
TEST(LoginWatcherTest, AnUnknownStartIsReportedAsAMove) {
  TempDir dir;
  auto service = std::move(OpenLmdbRelay(dir.Sub("relay")).value());
  Reports reports;
  {
    std::jthread watcher([&](std::stop_token stop) {
      WatchLogins(
          stop, *service, Status(Code::kIoError, "not read yet"), std::chrono::milliseconds(1),
          [&] { reports.Moved(); }, [](const Status&) {});
    });
    ASSERT_TRUE(reports.WaitForMoves(1));
  }
  EXPECT_EQ(reports.moved(), 1);
}

}  // namespace
}  // namespace daicho::relay
