// Hostile clients against SyncServer (the relay's and `daicho serve`'s
// endpoint): login and message deadlines, the small message limit before
// login, the buffered-input budget, connection caps, admission off the frame
// threads, upgrade paths and HTTP health checks. Deadlines are set to
// fractions of a second; the only time bounds asserted are generous "closed
// before" caps.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_ring.h"
#include "crypto/peer_channel.h"
#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "sync/wire_codec.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/raw_websocket.h"
#include "tests/testing/test_util.h"
#include "tests/testing/websocket_client.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/served_test_util.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace daicho::transport {
namespace {

using daicho::testing::ConnectFrom;
using daicho::testing::HoldingChild;
using daicho::testing::HttpExchange;
using daicho::testing::LogIn;
using daicho::testing::LogSink;
using daicho::testing::OpenReplica;
using daicho::testing::PeerClosed;
using daicho::testing::Served;
using daicho::testing::TempDir;
using daicho::testing::WaitFor;
using daicho::testing::WebSocketClient;
using daicho::testing::Write;
using sync::AcceptedSession;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Pings every 20 ms (which keeps a connection alive as far as Beast's idle
// timeout goes) until the server has closed the connection; false if it
// is still open after `bound`.
bool ClosedWhilePinging(WebSocketClient& client, milliseconds bound = milliseconds(5000)) {
  return WaitFor([&] { return !client.Ping().ok(); }, bound);
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---------------------------------------------------------------------------
// 1. Login deadlines.

TEST(HostileClientTest, AClientThatOnlyPingsIsClosedAtTheHelloDeadline) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.websocket.hello_timeout = milliseconds(300);
  Served served(*b, options);

  auto pinger = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(pinger);
  EXPECT_TRUE(ClosedWhilePinging(**pinger)) << "a client sending only pings was never closed";
  EXPECT_TRUE(served.log.Has("event=connection_closed")) << ::testing::PrintToString(served.log.lines());
}

TEST(HostileClientTest, AnOfficeKeyHandshakeLeftUnfinishedIsClosedAtTheLoginDeadline) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  auto ring = std::move(crypto::KeyRing::Create().value());
  SyncServerOptions options;
  options.websocket.peer_auth = std::make_shared<const PeerAuth>(PeerAuth{"1234-5678-9012", ring.Clone()});
  options.websocket.hello_timeout = milliseconds(300);
  options.websocket.login_timeout = milliseconds(800);
  Served served(*b, options);

  // The first handshake message arrives in time (the Hello deadline holds),
  // the third never does.
  crypto::PeerChannel channel(crypto::PeerChannel::Role::kInitiator, "1234-5678-9012", ring);
  auto stalling = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(stalling);
  ASSERT_DAICHO_OK((*stalling)->Send(channel.Start().value()));
  ASSERT_DAICHO_OK((*stalling)->Receive());
  EXPECT_TRUE(ClosedWhilePinging(**stalling)) << "an unfinished office-key handshake was never closed";
}

// ---------------------------------------------------------------------------
// 2. Unfinished messages.

TEST(HostileClientTest, ALargeFirstFragmentBeforeLoginIsRefusedAtOnce) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  Served served(*b, SyncServerOptions{});  // default deadlines: seconds away

  auto hostile = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(hostile);
  (void)(*hostile)->SendFragment(std::string(200u << 10, 'x'), /*last=*/false);  // fails once closed
  EXPECT_TRUE(ClosedWhilePinging(**hostile, milliseconds(3000))) << "a 200 KiB message before the login was held";
  EXPECT_EQ(served.server->Stats().buffered_bytes, 0u);
}

TEST(HostileClientTest, AnUnfinishedMessageIsClosedAtTheMessageDeadlineDespitePings) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.websocket.message_timeout = milliseconds(400);
  Served served(*b, options);

  auto hostile = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(hostile);
  LogIn(**hostile);
  ASSERT_DAICHO_OK((*hostile)->SendFragment(std::string(100u << 10, 'x'), /*last=*/false));
  EXPECT_TRUE(ClosedWhilePinging(**hostile)) << "an unfinished message was held while the client pinged";
  EXPECT_TRUE(served.log.Has("event=connection_closed")) << ::testing::PrintToString(served.log.lines());
  EXPECT_EQ(served.server->Stats().buffered_bytes, 0u);
}

TEST(HostileClientTest, BufferedInputStaysWithinTheBudgetShedsNotLoggedInFirstAndLargestNext) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  SyncServerOptions options;
  options.threads = 2;
  options.websocket.max_frame_bytes = 4u << 20;
  options.max_buffered_bytes = 2u << 20;
  Served served(*b, options);

  // Within the budget: a logged-in client with 300 KiB and two others with
  // 40 KiB each (under the limit before login) unfinished.
  auto kept = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(kept);
  LogIn(**kept);
  ASSERT_DAICHO_OK((*kept)->SendFragment(std::string(300u << 10, 'k'), /*last=*/false));
  std::vector<std::unique_ptr<WebSocketClient>> anonymous;
  for (int i = 0; i < 2; ++i) {
    auto client = WebSocketClient::Connect(served.url());
    ASSERT_DAICHO_OK(client);
    ASSERT_DAICHO_OK((*client)->SendFragment(std::string(40u << 10, 'a'), /*last=*/false));
    anonymous.push_back(std::move(client).value());
  }
  WaitFor([&] { return served.server->Stats().buffered_bytes >= (380u << 10); }, milliseconds(3000), milliseconds(10));
  SyncServerStats stats = served.server->Stats();
  EXPECT_GE(stats.buffered_bytes, 380u << 10);
  EXPECT_EQ(stats.open_connections, 3u);
  EXPECT_EQ(stats.shed_connections, 0u);

  // A second logged-in client pushes past the budget with 3 MiB: the two
  // not logged in go first, then the largest buffer, its own.
  auto greedy = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(greedy);
  LogIn(**greedy);
  (void)(*greedy)->SendFragment(std::string(3u << 20, 'g'), /*last=*/false);  // cut once shed
  EXPECT_TRUE(ClosedWhilePinging(**greedy)) << "the largest buffer was not shed";
  for (auto& client : anonymous) EXPECT_TRUE(ClosedWhilePinging(*client)) << "a client not logged in was kept";
  stats = served.server->Stats();
  EXPECT_LE(stats.peak_buffered_bytes, options.max_buffered_bytes);
  EXPECT_EQ(stats.shed_connections, 3u);
  EXPECT_EQ(stats.open_connections, 1u);
  EXPECT_EQ(stats.logged_in_connections, 1u);
  EXPECT_TRUE(served.log.Has("event=connection_shed")) << ::testing::PrintToString(served.log.lines());

  // The kept connection was never cut: it finishes its message and the
  // server reads it (not a sync frame, so the answer is an Error).
  ASSERT_DAICHO_OK((*kept)->SendFragment("end", /*last=*/true));
  bool answered = false;
  while (!answered) {
    auto answer = (*kept)->Receive();
    ASSERT_DAICHO_OK(answer);
    auto decoded = sync::DecodeFrame(*answer);
    ASSERT_DAICHO_OK(decoded);
    answered = std::holds_alternative<sync::ErrorMessage>(*decoded);
  }

  // And a sync goes through.
  sync::ReplicaChangeStore store(*a);
  ASSERT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}));
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());
}

// Beast answers a rule broken after the login with a close frame, then
// waits for the client's end of the closing handshake. That wait is bounded
// by the handshake timeout, not by Beast's idle timer (half the idle
// timeout from the last read: 30 s by default): a client that breaks a rule
// and never closes does not keep its connection.
TEST(HostileClientTest, ARuleBrokenAfterTheLoginIsClosedAtTheClosingHandshakeTimeout) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.websocket.handshake_timeout = milliseconds(500);
  Served served(*b, options);
  const uint16_t port = served.server->port();

  daicho::testing::RawConnection conn("127.0.0.1", port);
  ASSERT_TRUE(conn.Send(daicho::testing::UpgradeRequest(port, "/")));
  ASSERT_TRUE(StartsWith(conn.ReadResponseHeader(), "HTTP/1.1 101"));
  sync::Hello hello;
  hello.replica_id = ReplicaId::Random().value();
  ASSERT_TRUE(conn.Send(
      daicho::testing::EncodeRawFrame({daicho::testing::kOpBinary, true, 0, true, sync::EncodeFrame(hello)})));
  const std::optional<std::string> welcome = conn.ReadMessage();
  ASSERT_TRUE(welcome.has_value());
  auto decoded = sync::DecodeFrame(*welcome);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<sync::Welcome>(*decoded));

  // An unmasked frame (clients must mask): a close frame comes back at
  // once; this client never closes its end.
  ASSERT_TRUE(conn.Send(daicho::testing::EncodeRawFrame({daicho::testing::kOpBinary, true, 0, /*masked=*/false, "x"})));
  EXPECT_TRUE(
      WaitFor([&] { return served.server->Stats().open_connections == 0; }, milliseconds(5000), milliseconds(10)))
      << "a client that broke a rule after its login kept its connection";
  EXPECT_TRUE(served.log.Has("closing handshake did not finish")) << ::testing::PrintToString(served.log.lines());
}

// ---------------------------------------------------------------------------
// 3. Connection caps.

// Lowers this process's soft open-file limit for a test; restores it after.
class FileLimit {
 public:
  explicit FileLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~FileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// The number of file descriptors this process has open.
rlim_t OpenFiles() {
  rlim_t n = 0;
  for (int fd = 0; fd < 65536; ++fd) n += ::fcntl(fd, F_GETFD) != -1 ? 1 : 0;
  return n;
}

// A child process holding `n` idle TCP connections to 127.0.0.1:port (as a
// flood from elsewhere would: its descriptors are not this process's) until
// destroyed.
HoldingChild HoldConnections(uint16_t port, int n) {
  return HoldingChild([port, n] {
    rlimit files{};  // not the parent's lowered limit
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
    for (int i = 0; i < n; ++i) (void)ConnectFrom("127.0.0.1", port);
  });
}

TEST(HostileClientTest, HeldConnectionsAtTheOpenFileLimitDoNotKeepALegitimateSyncOut) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  SyncServerOptions options;
  options.max_connections = 8;
  options.max_connections_per_address = 8;
  Served served(*b, options);
  // Room for the caps and the client's own few descriptors, not for the
  // flood: at the limit the server could not accept the sync's connection.
  FileLimit limit(OpenFiles() + 24);

  HoldingChild flood = HoldConnections(served.server->port(), 60);
  WaitFor([&] { return served.server->Stats().shed_connections >= 50; }, milliseconds(3000), milliseconds(10));
  EXPECT_LE(served.server->Stats().open_connections, 8u);

  sync::ReplicaChangeStore store(*a);
  WebSocketOptions quick;
  quick.handshake_timeout = milliseconds(3000);
  auto report = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}, quick);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 1u);
  EXPECT_TRUE(served.log.Has("event=connection_shed")) << ::testing::PrintToString(served.log.lines());
}

TEST(HostileClientTest, AFloodFromOneAddressDoesNotCloseAnotherAddresssConnections) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.max_connections_per_address = 3;
  Served served(*b, options);
  const uint16_t port = served.server->port();

  std::vector<int> neighbours;
  neighbours.reserve(2);
  for (int i = 0; i < 2; ++i) neighbours.push_back(ConnectFrom("127.0.0.2", port));
  std::vector<int> flood;
  flood.reserve(10);
  for (int i = 0; i < 10; ++i) flood.push_back(ConnectFrom("127.0.0.1", port));
  WaitFor([&] { return served.server->Stats().open_connections == 5; }, milliseconds(3000), milliseconds(10));
  EXPECT_EQ(served.server->Stats().open_connections, 5u);  // 3 of the flood, both neighbours
  for (int fd : neighbours) {
    ASSERT_GE(fd, 0);
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "a neighbour's connection was closed";
  }
  // The oldest of the flood made room for the newest.
  EXPECT_TRUE(PeerClosed(flood.front()));
  for (int fd : neighbours) ::close(fd);
  for (int fd : flood) ::close(fd);
}

TEST(HostileClientTest, AtTheCapWithEveryoneLoggedInANewConnectionIsRefused) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.max_connections = 2;
  Served served(*b, options);

  std::vector<std::unique_ptr<WebSocketClient>> logged_in;
  for (int i = 0; i < 2; ++i) {
    auto client = WebSocketClient::Connect(served.url());
    ASSERT_DAICHO_OK(client);
    LogIn(**client);
    logged_in.push_back(std::move(client).value());
  }
  const int late = ConnectFrom("127.0.0.1", served.server->port());
  ASSERT_GE(late, 0);
  EXPECT_TRUE(PeerClosed(late));
  ::close(late);
  EXPECT_EQ(served.server->Stats().refused_connections, 1u);
  EXPECT_EQ(served.server->Stats().logged_in_connections, 2u);
  EXPECT_TRUE(served.log.Has("event=connection_refused")) << ::testing::PrintToString(served.log.lines());
}

// ---------------------------------------------------------------------------
// 4. Admission off the frame threads.

TEST(HostileClientTest, ASlowStoreFactoryDoesNotHoldUpAnotherConnectionsSync) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto c = OpenReplica(dir, "c");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  Write(*c, "y", "name", "from c");

  std::mutex mu;
  std::condition_variable cv;
  bool slow_entered = false;
  bool released = false;
  SyncServerOptions options;
  options.threads = 1;  // one frame thread: a blocking factory would stall it
  options.store_factory = [&, r = b.get()](const sync::Hello& hello, const std::string&) -> Result<AcceptedSession> {
    if (hello.user == "slow") {
      std::unique_lock lock(mu);
      slow_entered = true;
      cv.notify_all();
      cv.wait(lock, [&] { return released; });
    }
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "", {}, {}};
  };
  Served served(*b, options);
  auto release = [&] {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  };

  std::thread slow([&] {
    sync::ReplicaChangeStore store(*a);
    sync::SessionOptions session;
    session.user = "slow";
    EXPECT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), session));
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return slow_entered; }));
  }
  // While the slow login is still inside the factory, another PC syncs.
  sync::ReplicaChangeStore store(*c);
  WebSocketOptions quick;
  quick.handshake_timeout = milliseconds(3000);
  quick.idle_timeout = milliseconds(3000);
  auto fast = SyncOnce(served.url(), store, c->id(), sync::SessionOptions{}, quick);
  bool slow_still_blocked;
  {
    std::lock_guard lock(mu);
    slow_still_blocked = !released;
  }
  release();
  slow.join();
  ASSERT_DAICHO_OK(fast);
  EXPECT_EQ(fast->changes_up, 1u);
  EXPECT_TRUE(slow_still_blocked);
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 1u) << "the slow login's sync did not complete";
}

// ---------------------------------------------------------------------------
// 5. Upgrade paths; 6. health checks.

TEST(HostileClientTest, TheUpgradeIsAcceptedOnlyOnTheDocumentedPaths) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  Served served(*b, SyncServerOptions{});

  EXPECT_DAICHO_OK(WebSocketClient::Connect(served.url("/")));
  EXPECT_DAICHO_OK(WebSocketClient::Connect(served.url("/sync")));
  auto traversal = WebSocketClient::Connect(served.url("/admin/../../etc/passwd"));
  EXPECT_FALSE(traversal.ok()) << "the upgrade was accepted on /admin/../../etc/passwd";

  const std::string answer =
      HttpExchange(served.server->port(),
                   "GET /admin/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_TRUE(StartsWith(answer, "HTTP/1.1 404")) << answer;
}

// "/sync/<contract>" (what a load balancer routes by) admits only logins of
// that contract, refused before the store factory runs and as a bad request
// (a PC keeps its saved login); plain "/sync" is as before.
TEST(HostileClientTest, TheContractPathAdmitsOnlyLoginsOfItsContract) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  auto a = OpenReplica(dir, "a");
  Write(*a, "a1", "name", "from A");
  std::atomic<int> factory_calls{0};
  SyncServerOptions options;
  options.store_factory = [&factory_calls, r = b.get()](const sync::Hello&,
                                                        const std::string&) -> Result<AcceptedSession> {
    ++factory_calls;
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "", {}, {}};
  };
  Served served(*b, options);
  sync::ReplicaChangeStore a_store(*a);
  sync::SessionOptions session;
  session.contract = "1234-5678-9012";

  ASSERT_DAICHO_OK(SyncOnce(served.url("/sync/1234-5678-9012"), a_store, a->id(), session));
  EXPECT_EQ(factory_calls.load(), 1);
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 1u);

  // Another contract's login on this contract's path, with a saved login.
  Write(*a, "a2", "name", "not delivered");
  sync::SessionOptions other = session;
  other.contract = "9999-0000-1111";
  other.credentials = sync::DeviceTokenCredential{"saved-token"};
  std::optional<sync::ErrorMessage> told;
  SyncHooks hooks;
  hooks.on_peer_error = [&told](const sync::ErrorMessage& error) { told = error; };
  auto refused = SyncOnce(served.url("/sync/1234-5678-9012"), a_store, a->id(), other, {}, std::move(hooks));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("1234-5678-9012"), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("9999-0000-1111"), std::string::npos) << refused.status();
  ASSERT_TRUE(told.has_value());
  EXPECT_EQ(told->reason, sync::ErrorReason::kNone) << "the PC would drop its saved login";
  EXPECT_EQ(factory_calls.load(), 1) << "the store factory ran for a login of another contract";
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 1u);

  // A malformed contract in the Hello is refused the same way.
  sync::SessionOptions malformed = session;
  malformed.contract = "1234-5678-901";
  auto bad = SyncOnce(served.url("/sync/1234-5678-9012"), a_store, a->id(), malformed);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument) << bad.status();
  EXPECT_EQ(factory_calls.load(), 1);

  // Plain /sync names no contract: any login goes to the factory.
  ASSERT_DAICHO_OK(SyncOnce(served.url("/sync"), a_store, a->id(), other));
  EXPECT_EQ(factory_calls.load(), 2);
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 2u);

  // Keys that are empty, too long or of other characters are no path.
  const std::vector<std::string> refused_paths = {"/sync/", "/sync/" + std::string(33, '1'), "/sync/12%2F34",
                                                  "/sync/a/b"};
  for (const std::string& path : refused_paths) {
    EXPECT_FALSE(WebSocketClient::Connect(served.url(path)).ok()) << "the upgrade was accepted on " << path;
  }
  EXPECT_DAICHO_OK(WebSocketClient::Connect(served.url("/sync/" + std::string(32, 'x') + "?v=1")));
}

TEST(HostileClientTest, HealthAndReadinessChecksAnswerOverPlainHttp) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  std::atomic<bool> ready{false};
  SyncServerOptions options;
  options.ready = [&ready] { return ready.load(); };
  Served served(*b, options);
  const uint16_t port = served.server->port();

  std::string answer = HttpExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StartsWith(answer, "HTTP/1.1 200")) << answer;
  EXPECT_TRUE(EndsWith(answer, "\r\n\r\nok")) << answer;
  answer = HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StartsWith(answer, "HTTP/1.1 503")) << answer;
  ready = true;
  answer = HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StartsWith(answer, "HTTP/1.1 200")) << answer;
  EXPECT_TRUE(EndsWith(answer, "\r\n\r\nready")) << answer;
  answer = HttpExchange(port, "GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(StartsWith(answer, "HTTP/1.1 404")) << answer;

  // Health checks are not failed sync sessions.
  for (const std::string& line : served.log.lines()) {
    EXPECT_EQ(line.find("protocol_error"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace daicho::transport
