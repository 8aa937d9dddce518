// A relay node leaving a load balancer (`serve --drain-seconds`), driven as an
// app embeds RelayClient: on SIGTERM /readyz turns 503 at once, the watching
// PC's session ends with WebSocket close code 1001 after the drain, and the PC
// carries on through the balancer with the node that replaces it. The
// balancer is a forwarder on loopback; the PC's URL ends in /sync, so it
// connects to /sync/<contract>.
#include <signal.h>

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "daicho/office_key.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/relay/office_pc.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/tcp_forwarder.h"

namespace daicho {
namespace {

using testing::CreateRelayStoreWithUser;
using testing::HttpExchange;
using testing::RelayProcess;
using testing::TcpForwarder;
using testing::TempDir;
using testing::WaitFor;

constexpr char kContract[] = "2468-1357-0000";
constexpr char kUser[] = "office@example.jp";
constexpr char kPassword[] = "Office2024";
constexpr char kPassphrase[] = "drain test passphrase 2024";

using Pc = testing::OfficePc;
using testing::SetName;

Pc ConnectedPc(const TempDir& dir, const std::string& name, const std::string& url) {
  RelaySettings settings;
  settings.url = url;
  settings.contract = kContract;
  settings.user = kUser;
  settings.device_name = name;
  return testing::ConnectedOfficePc(dir.Sub(name), settings, kPassword);
}

bool Holds(Replica& replica, const std::string& id) { return replica.Get("customers", id).ok(); }

std::string Readyz(int port) { return HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: relay\r\n\r\n"); }

TEST(RelayDrainTest, ADrainedRelayTurnsUnreadyClosesWith1001AndTheWatchingPcMovesOn) {
  TempDir dir;
  ASSERT_DAICHO_OK(CreateRelayStoreWithUser(dir.Sub("relay"), kContract, kUser, kPassword));
  auto first = std::make_unique<RelayProcess>(dir.Sub("relay"), dir.Sub("first.log"),
                                              std::vector<std::string>{"--drain-seconds", "1"});
  ASSERT_GT(first->port(), 0);
  TcpForwarder balancer(first->port());
  Pc a = ConnectedPc(dir, "a", balancer.url("ws", "/sync"));
  ASSERT_DAICHO_OK(InitOfficeKey(*a.client, kPassphrase));
  Pc b = ConnectedPc(dir, "b", first->url());
  SyncOptions unlock;
  unlock.passphrase = kPassphrase;

  std::mutex mu;
  std::vector<Status> ends;
  Status watched;
  WatchOptions watch;
  watch.poll_interval = std::chrono::milliseconds(50);
  watch.on_connection_end = [&](const Status& status) {
    std::lock_guard lock(mu);
    ends.push_back(status);
  };
  std::jthread watcher([&](std::stop_token stop) { watched = a.client->Watch(watch, stop); });
  SetName(*a.replica, "before", "pushed live through the first node");
  ASSERT_TRUE(WaitFor([&] { return b.client->Sync(unlock).ok() && Holds(*b.replica, "before"); }))
      << "A's watch never reached the first node";
  EXPECT_EQ(Readyz(first->port()).rfind("HTTP/1.1 200", 0), 0u);

  ASSERT_EQ(::kill(first->pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitFor([&] { return Readyz(first->port()).rfind("HTTP/1.1 503", 0) == 0; }))
      << "readyz did not turn 503 on SIGTERM";
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return !ends.empty();
  })) << "the watching PC's session did not end after the drain";
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(ends.front().code(), Code::kUnavailable) << ends.front();
    EXPECT_NE(ends.front().message().find("1001"), std::string::npos) << ends.front();
  }
  EXPECT_EQ(first->Stop(), 0);
  const std::string log = first->log();
  EXPECT_NE(log.find("event=relay_draining seconds=1"), std::string::npos) << log;
  EXPECT_NE(log.find("event=relay_stopped"), std::string::npos) << log;

  // The balancer sends new connections to the node that replaces it; the
  // PC's back-off brings it there by itself.
  RelayProcess second(dir.Sub("relay"), dir.Sub("second.log"));
  ASSERT_GT(second.port(), 0);
  balancer.SetUpstream(static_cast<uint16_t>(second.port()));
  SetName(*a.replica, "after", "pushed live through the second node");
  Pc c = ConnectedPc(dir, "c", second.url());
  EXPECT_TRUE(WaitFor([&] { return c.client->Sync(unlock).ok() && Holds(*c.replica, "after"); }))
      << "A did not reconnect through the balancer";
  watcher.request_stop();
  watcher.join();
  EXPECT_DAICHO_OK(watched);
}

}  // namespace
}  // namespace daicho
