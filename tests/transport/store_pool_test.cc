// SyncServerOptions::store_threads: store calls after the login run on a
// pool of their own, one at a time per connection, so a connection whose
// store call blocks (a slow commit) stalls no other connection even on a
// single I/O thread; a push and a login recheck arriving meanwhile are
// coalesced and run once after the call.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "tests/transport/served_test_util.h"
#include "tests/transport/watch_client.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace daicho::transport {
namespace {

using daicho::testing::LogSink;
using daicho::testing::OpenReplica;
using daicho::testing::TempDir;
using daicho::testing::VersionVectorOf;
using daicho::testing::WaitFor;
using daicho::testing::WatchClient;
using daicho::testing::Write;
using sync::AcceptedSession;

// Holds the first Apply that reaches it until Release(); later ones pass.
class Gate {
 public:
  void Pass() {
    std::unique_lock lock(mu_);
    if (used_) return;
    used_ = true;
    holding_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    holding_ = false;
  }
  bool holding() {
    std::lock_guard lock(mu_);
    return holding_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool used_ = false;
  bool holding_ = false;
  bool released_ = false;
};

// A replica's store whose Apply goes through the gate.
class GatedStore final : public sync::ChangeStore {
 public:
  GatedStore(Replica& replica, Gate& gate) : store_(replica), gate_(gate) {}
  Result<VersionVector> GetVersionVector() override { return store_.GetVersionVector(); }
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override {
    return store_.ChangesSince(other, max_bytes, upto);
  }
  Status Apply(std::span<const ChangeBlob> changes) override {
    gate_.Pass();
    return store_.Apply(changes);
  }

 private:
  sync::ReplicaChangeStore store_;
  Gate& gate_;
};

TEST(StorePoolTest, ABlockedStoreCallStallsNoOtherConnectionAndWhatArrivesMeanwhileRunsOnceAfter) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  auto c = OpenReplica(dir, "c");
  Write(*s, "s1", "name", "on the server");
  Gate gate;
  std::atomic<int> rechecks_of_a{0};
  SyncServerOptions options;
  options.threads = 1;  // one I/O thread: a call blocking on it would stall every connection
  options.store_threads = 2;
  options.local_id = s->id();
  options.store_factory = [&](const sync::Hello& hello, const std::string&) -> Result<AcceptedSession> {
    AcceptedSession accepted{std::make_unique<GatedStore>(*s, gate), hello.contract, {}, {}};
    if (hello.user == "a")
      accepted.recheck_login = [&rechecks_of_a] {
        ++rechecks_of_a;
        return Status::Ok();
      };
    return accepted;
  };
  LogSink log;
  options.log = [&log](const std::string& line) { log.Add(line); };
  SyncServer server(std::move(options));
  ASSERT_DAICHO_OK(server.Start());
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";

  sync::SessionOptions as_a;
  as_a.contract = "slow";
  as_a.user = "a";
  WatchClient wa(url, *a, as_a);
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*a).Total() == 1; }));
  // The admission's check and the one right after the Welcome.
  ASSERT_TRUE(WaitFor([&] { return rechecks_of_a.load() == 2; }));
  const int rechecks_at_login = rechecks_of_a.load();
  // A's next upload blocks in the store.
  Write(*a, "a1", "name", "held in the store");
  ASSERT_TRUE(WaitFor([&] { return gate.holding(); })) << "A's upload never reached the store";

  // Meanwhile: another contract's PC syncs in full, a PC of A's contract
  // uploads (a push for A), and the logins are rechecked twice.
  std::atomic<bool> b_done{false};
  Result<SyncReport> b_report = Status(Code::kInternal, "not run");
  std::thread b_sync([&] {
    Write(*b, "b1", "name", "from B");
    sync::ReplicaChangeStore store(*b);
    sync::SessionOptions session;
    session.contract = "fast";
    b_report = SyncOnce(url, store, b->id(), session);
    b_done = true;
  });
  const bool b_finished_while_held = WaitFor([&] { return b_done.load(); });
  Write(*c, "c1", "name", "from C");
  sync::ReplicaChangeStore c_store(*c);
  sync::SessionOptions as_c;
  as_c.contract = "slow";
  auto c_report = SyncOnce(url, c_store, c->id(), as_c);
  server.RecheckLogins();
  server.RecheckLogins();
  const bool still_held = gate.holding();
  const int rechecks_while_held = rechecks_of_a.load();
  gate.Release();
  b_sync.join();
  ASSERT_TRUE(b_finished_while_held) << "a blocked store call stalled another connection";
  ASSERT_DAICHO_OK(b_report);
  ASSERT_DAICHO_OK(c_report);
  EXPECT_TRUE(still_held);
  EXPECT_EQ(rechecks_while_held, rechecks_at_login) << "a recheck ran while A's store call was under way";

  // Afterwards: A's batch is stored, C's change is pushed to A, and the two
  // rechecks ran as one.
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*s).Get(a->id()) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*a).Get(c->id()) == 1; })) << "the push to A never ran";
  EXPECT_TRUE(WaitFor([&] { return rechecks_of_a.load() == rechecks_at_login + 1; }));
  EXPECT_EQ(rechecks_of_a.load(), rechecks_at_login + 1);
  EXPECT_FALSE(wa.ended());
  ASSERT_DAICHO_OK(wa.Stop());
}

// Draining waits for the store call under way: its Ack goes out before the
// close with 1001.
TEST(StorePoolTest, GoAwayFinishesTheStoreCallUnderWayBeforeClosing) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  Gate gate;
  SyncServerOptions options;
  options.store_threads = 1;
  options.local_id = s->id();
  options.store_factory = [&](const sync::Hello& hello, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<GatedStore>(*s, gate), hello.contract, {}, {}};
  };
  SyncServer server(std::move(options));
  ASSERT_DAICHO_OK(server.Start());
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  WatchClient wa(url, *a, sync::SessionOptions{});
  ASSERT_TRUE(WaitFor([&] { return wa.progress_calls() > 0; }));
  Write(*a, "a1", "name", "held in the store");
  ASSERT_TRUE(WaitFor([&] { return gate.holding(); }));

  std::thread going_away([&] { server.GoAway(std::chrono::seconds(10)); });
  EXPECT_FALSE(wa.ended());
  gate.Release();
  going_away.join();
  EXPECT_EQ(server.Stats().open_connections, 0u);
  ASSERT_TRUE(WaitFor([&] { return wa.ended(); }));
  EXPECT_EQ(wa.peer_holds().Get(a->id()), 1u) << "the Ack of the batch under way was not sent before the close";
  auto result = wa.Stop();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("1001"), std::string::npos) << result.status();
}

}  // namespace
}  // namespace daicho::transport
