// Helpers shared by the WebSocket server tests (websocket_test,
// hostile_client_test, http_routing_test): on-disk replicas to serve and
// sync, a sink that collects the server's log lines from its threads, a
// served replica and a bare login.
#ifndef DAICHO_TESTS_TRANSPORT_SERVED_TEST_UTIL_H_
#define DAICHO_TESTS_TRANSPORT_SERVED_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "sync/wire_codec.h"
#include "tests/testing/test_util.h"
#include "tests/testing/websocket_client.h"
#include "transport/sync_server.h"

namespace daicho::testing {

inline std::unique_ptr<Replica> OpenReplica(const TempDir& dir, const std::string& name) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto r = Replica::Open(dir.Sub(name), options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Sets customers/`id`.`field` to `value` in one committed transaction.
inline void Write(Replica& r, const std::string& id, const std::string& field, const std::string& value) {
  auto txn = r.BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", id, field, Value(value)));
  ASSERT_DAICHO_OK(txn.Commit());
}

// Server log lines, collected from the server's threads.
class LogSink {
 public:
  void Add(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(line);
    cv_.notify_all();
  }
  // Waits until `n` lines were logged; false on timeout.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // Whether a line logged so far contains `part`.
  bool Has(const std::string& part) {
    for (const std::string& line : lines()) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// A replica served on an ephemeral loopback port; every Hello is admitted.
struct Served {
  Served(Replica& replica, transport::SyncServerOptions options) {
    options.local_id = replica.id();
    if (!options.store_factory) {
      options.store_factory = [r = &replica](const sync::Hello&, const std::string&) -> Result<sync::AcceptedSession> {
        return sync::AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "", {}, {}};
      };
    }
    options.log = [this](const std::string& line) { log.Add(line); };
    server = std::make_unique<transport::SyncServer>(std::move(options));
    EXPECT_DAICHO_OK(server->Start());
  }
  std::string url(const std::string& path = "/") const {
    return "ws://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  LogSink log;  // before server: the server logs until it is destroyed
  std::unique_ptr<transport::SyncServer> server;
};

// Logs in over a bare client with a Hello (no password needed by Served).
inline void LogIn(WebSocketClient& client) {
  sync::Hello hello;
  hello.replica_id = ReplicaId::Random().value();
  ASSERT_DAICHO_OK(client.Send(sync::EncodeFrame(hello)));
  auto welcome = client.Receive();
  ASSERT_DAICHO_OK(welcome);
  auto decoded = sync::DecodeFrame(*welcome);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<sync::Welcome>(*decoded));
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TRANSPORT_SERVED_TEST_UTIL_H_
