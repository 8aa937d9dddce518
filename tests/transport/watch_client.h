// Test helpers for live sync: a Purpose::kWatch client running SyncOnce on
// its own std::jthread until stopped, and a replica's version vector.
// Header-only; used by tests/transport/websocket_test.cc and
// tests/relay/relay_sync_test.cc.
#ifndef DAICHO_TESTS_TRANSPORT_WATCH_CLIENT_H_
#define DAICHO_TESTS_TRANSPORT_WATCH_CLIENT_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "crypto/key_ring.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "transport/sync_client.h"

namespace daicho::testing {

// The replica's version vector, or an empty one (and a test failure).
inline VersionVector VersionVectorOf(const Replica& replica) {
  auto vv = replica.GetVersionVector();
  EXPECT_TRUE(vv.ok()) << vv.status();
  return vv.ok() ? std::move(vv).value() : VersionVector{};
}

// SyncOnce with Purpose::kWatch over `replica` on its own thread, recording
// what its hooks report. Stop() (or the destructor) requests the stop and
// joins. The replica must outlive this object. Accessors are thread-safe.
// With a non-empty `office_key` (a relay), changes travel sealed under it.
class WatchClient {
 public:
  WatchClient(std::string url, Replica& replica, sync::SessionOptions session,
              std::chrono::milliseconds poll_interval = std::chrono::milliseconds(20), crypto::KeyRing office_key = {})
      : replica_store_(replica), sealed_store_(replica_store_, session.contract, std::move(office_key)) {
    sync::ChangeStore* store =
        sealed_store_.key_ring().empty() ? static_cast<sync::ChangeStore*>(&replica_store_) : &sealed_store_;
    session.purpose = sync::Purpose::kWatch;
    thread_ = std::jthread([this, store, url = std::move(url), session = std::move(session), id = replica.id(),
                            poll_interval](std::stop_token stop) {
      transport::SyncHooks hooks;
      hooks.stop = stop;
      hooks.poll_interval = poll_interval;
      hooks.on_progress = [this](const sync::SessionStats& stats) {
        ++progress_calls_;
        batches_received_ = stats.batches_received;
      };
      hooks.on_peer_holds = [this](const VersionVector& vv) {
        std::lock_guard<std::mutex> lock(mu_);
        peer_holds_ = vv;
      };
      auto result = transport::SyncOnce(url, *store, id, session, transport::WebSocketOptions{}, std::move(hooks));
      std::lock_guard<std::mutex> lock(mu_);
      result_.emplace(std::move(result));
    });
  }
  ~WatchClient() { thread_.request_stop(); }
  WatchClient(const WatchClient&) = delete;
  WatchClient& operator=(const WatchClient&) = delete;

  // Requests the stop and returns SyncOnce's result once it has returned.
  Result<transport::SyncReport> Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return *result_;
  }
  // SyncOnce has returned (it must not before Stop() in watch mode).
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_.has_value();
  }
  // What the last on_peer_holds call reported.
  VersionVector peer_holds() {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_holds_;
  }
  int progress_calls() const { return progress_calls_; }
  uint64_t batches_received() const { return batches_received_; }

 private:
  sync::ReplicaChangeStore replica_store_;
  sync::SealedChangeStore sealed_store_;
  std::mutex mu_;
  std::optional<Result<transport::SyncReport>> result_;  // guarded by mu_
  VersionVector peer_holds_;                             // guarded by mu_
  std::atomic<int> progress_calls_{0};
  std::atomic<uint64_t> batches_received_{0};
  std::jthread thread_;  // last: stopped and joined before the members above go
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TRANSPORT_WATCH_CLIENT_H_
