#include "transport/sync_client.h"
#include "transport/sync_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/key_ring.h"
#include "crypto/peer_channel.h"
#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "sync/wire_codec.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tls_certificate.h"
#include "tests/testing/websocket_client.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/served_test_util.h"
#include "tests/transport/watch_client.h"

namespace daicho::transport {
namespace {

using daicho::testing::LogSink;
using daicho::testing::MakeSelfSignedCertificate;
using daicho::testing::OpenReplica;
using daicho::testing::TempDir;
using daicho::testing::VersionVectorOf;
using daicho::testing::WaitFor;
using daicho::testing::WatchClient;
using daicho::testing::WebSocketClient;
using daicho::testing::Write;
using sync::AcceptedSession;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Replica B served over WebSocket on an ephemeral loopback port.
struct Served {
  explicit Served(Replica& replica, WebSocketOptions websocket = {}, sync::SessionOptions session = {},
                  std::string cert = "", std::string key = "", std::string password = "")
      : scheme(cert.empty() ? "ws" : "wss") {
    SyncServerOptions options;
    options.threads = 2;  // connections on two threads, serialized per strand
    options.tls_cert_file = std::move(cert);
    options.tls_key_file = std::move(key);
    options.websocket = websocket;
    options.session = session;
    options.local_id = replica.id();
    Replica* r = &replica;
    // With a password set, a Hello must carry it, as a relay's login would.
    options.store_factory = [r, password](const sync::Hello& hello, const std::string&) -> Result<AcceptedSession> {
      const auto* given = std::get_if<sync::PasswordCredential>(&hello.credentials);
      if (!password.empty() && (given == nullptr || given->password != password)) {
        return Status(Code::kUnauthenticated, "wrong user or password");
      }
      return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "replica", {}, {}};
    };
    options.log = [this](const std::string& line) { log.Add(line); };
    server = std::make_unique<SyncServer>(std::move(options));
    EXPECT_DAICHO_OK(server->Start());
  }
  std::string url() const { return scheme + "://127.0.0.1:" + std::to_string(server->port()) + "/"; }

  std::string scheme;
  LogSink log;  // before server: the server logs until it is destroyed
  std::unique_ptr<SyncServer> server;
};

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(WebSocketTest, StoreFactoryRefusalReachesTheClientAndChangesNothing) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "c1", "name", "from A");
  Served served(*b, {}, {}, "", "", "Secret123");
  sync::ReplicaChangeStore store(*a);

  sync::SessionOptions wrong;
  wrong.contract = "1234-5678-9012";
  wrong.user = "tanaka@example.jp";
  wrong.credentials = sync::PasswordCredential{"Wrong1234"};
  auto refused = SyncOnce(served.url(), store, a->id(), wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 0u);
  // Issue 12 item 6: the refusal's log line names whom the Hello named.
  ASSERT_TRUE(served.log.WaitFor(1));
  const std::string line = served.log.lines()[0];
  EXPECT_EQ(line.rfind("event=session_end peer=127.0.0.1:", 0), 0u) << line;
  EXPECT_TRUE(Contains(line, " contract=1234-5678-9012 user=tanaka@example.jp device=" + a->id().ToHex().substr(0, 8) +
                                 " outcome=\"unauthenticated: wrong user or password\""))
      << line;

  sync::SessionOptions right;
  right.credentials = sync::PasswordCredential{"Secret123"};
  ASSERT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), right));
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 1u);
}

TEST(WebSocketTest, TwoReplicasWithEditsOnBothSidesConverge) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  for (int i = 0; i < 20; ++i) {
    Write(*a, "a" + std::to_string(i), "name", "A-" + std::to_string(i));
    Write(*b, "b" + std::to_string(i), "name", "B-" + std::to_string(i));
  }
  Write(*a, "shared", "phone", "03-1111");
  Write(*b, "shared", "phone", "06-2222");
  Served served(*b);

  sync::ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{});
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 21u);
  EXPECT_EQ(report->changes_down, 21u);
  EXPECT_GT(report->bytes_up, 0u);
  EXPECT_GT(report->bytes_down, 0u);

  auto va = a->GetVersionVector();
  auto vb = b->GetVersionVector();
  ASSERT_DAICHO_OK(va);
  ASSERT_DAICHO_OK(vb);
  EXPECT_EQ(*va, *vb);
  auto shared = a->Get("customers", "shared");
  ASSERT_DAICHO_OK(shared);
  ASSERT_NE(shared->Find("phone"), nullptr);
  EXPECT_TRUE(shared->Find("phone")->conflict);

  // The server logs the session once the client has closed it.
  ASSERT_TRUE(served.log.WaitFor(1));
  const std::string line = served.log.lines()[0];
  EXPECT_TRUE(Contains(line, "outcome=\"ok\"")) << line;
  // Directions as the connecting PC sees them.
  EXPECT_TRUE(Contains(line, "changes_uploaded=21 changes_downloaded=21")) << line;

  // A second sync has nothing to move.
  auto again = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{});
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(again->changes_up, 0u);
  EXPECT_EQ(again->changes_down, 0u);
}

// A one-shot sync sends what the replica held when it began; commits made
// while it runs (here after every frame) do not keep it going, the report
// counts them and the next sync sends them.
TEST(WebSocketTest, ASyncEndsDespiteCommitsWhileItRunsAndSaysWhatIsLeft) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  for (int i = 0; i < 5; ++i) Write(*a, "a" + std::to_string(i), "name", "A");
  Served served(*b);
  sync::ReplicaChangeStore store(*a);
  SyncHooks hooks;
  uint64_t late = 0;
  hooks.on_progress = [&](const sync::SessionStats&) { Write(*a, "late" + std::to_string(late++), "name", "L"); };
  auto report = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}, WebSocketOptions{}, hooks);
  ASSERT_DAICHO_OK(report);
  ASSERT_GT(late, 0u);
  EXPECT_EQ(report->changes_up, 5u);
  EXPECT_EQ(report->changes_left, late);
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 5u);

  auto rest = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{});
  ASSERT_DAICHO_OK(rest);
  EXPECT_EQ(rest->changes_up, late);
  EXPECT_EQ(rest->changes_left, 0u);
  EXPECT_EQ(*b->GetVersionVector(), *a->GetVersionVector());
}

TEST(WebSocketTest, LargeSyncGoesInManyBatches) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  // 2,000 records of 12 fields, committed 100 records per change.
  for (int chunk = 0; chunk < 20; ++chunk) {
    auto txn = a->BeginWrite();
    for (int i = chunk * 100; i < (chunk + 1) * 100; ++i) {
      for (int f = 0; f < 12; ++f) {
        ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i), "field" + std::to_string(f),
                                 Value("value of field " + std::to_string(f) + " of customer " + std::to_string(i))));
      }
    }
    ASSERT_DAICHO_OK(txn.Commit());
  }
  sync::SessionOptions session;
  session.max_batch_bytes = 64u << 10;  // several batches, two in flight
  session.max_in_flight_batches = 2;
  Served served(*b, WebSocketOptions{}, session);

  sync::ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), session);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 20u);
  EXPECT_GT(report->bytes_up, 256u << 10);  // more than 4 batches' worth
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());
  auto rec = b->Get("customers", "c1999");
  ASSERT_DAICHO_OK(rec);
  EXPECT_NE(rec->Find("field11"), nullptr);
}

TEST(WebSocketTest, UnreachablePortIsUnavailableQuickly) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  std::string url;
  {
    Served served(*a);
    url = served.url();
  }  // nothing listens there now
  sync::ReplicaChangeStore store(*a);
  const auto start = Clock::now();
  auto report = SyncOnce(url, store, a->id(), sync::SessionOptions{});
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kUnavailable) << report.status();
  EXPECT_TRUE(Contains(report.status().message(), "connect")) << report.status();

  auto bad = SyncOnce("http://127.0.0.1:1/", store, a->id(), sync::SessionOptions{});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(WebSocketTest, GarbageAndOversizedFramesEndOnlyTheirConnection) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  WebSocketOptions websocket;
  websocket.max_frame_bytes = 64u << 10;
  Served served(*b, websocket);

  // A bystander connection stays open throughout.
  auto bystander = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(bystander);

  auto garbage = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(garbage);
  ASSERT_DAICHO_OK((*garbage)->Send(std::string("\xff\x00garbage\x13\x37", 11)));
  auto error_frame = (*garbage)->Receive();
  ASSERT_DAICHO_OK(error_frame);
  auto decoded = sync::DecodeFrame(*error_frame);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<sync::ErrorMessage>(*decoded));
  EXPECT_FALSE((*garbage)->Receive().ok());  // then closed

  auto oversized = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(oversized);
  (void)(*oversized)->Send(std::string(100u << 10, 'x'));  // may fail once the server closes
  EXPECT_FALSE((*oversized)->Receive().ok());

  ASSERT_TRUE(served.log.WaitFor(2));
  const auto lines = served.log.lines();
  bool saw_exhausted = false;
  bool saw_bad_frame = false;
  for (const std::string& line : lines) {
    saw_exhausted |= Contains(line, "outcome=\"resource_exhausted");
    saw_bad_frame |= Contains(line, "outcome=\"corruption") || Contains(line, "outcome=\"protocol_error");
  }
  EXPECT_TRUE(saw_exhausted) << ::testing::PrintToString(lines);
  EXPECT_TRUE(saw_bad_frame) << ::testing::PrintToString(lines);

  // The server still syncs a proper client.
  sync::ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{});
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 1u);
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());
}

// A TCP connection to 127.0.0.1:port that never speaks; reports how long
// until the server hung up (or the 5 s cap).
Clock::duration TimeUntilHangUp(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{};
  tv.tv_sec = 5;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const auto start = Clock::now();
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, 0);
  const auto elapsed = Clock::now() - start;
  EXPECT_LE(n, 0);
  ::close(fd);
  return elapsed;
}

TEST(WebSocketTest, SilentClientsAreDroppedAfterTheTimeouts) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  WebSocketOptions websocket;
  websocket.handshake_timeout = milliseconds(300);
  websocket.idle_timeout = milliseconds(400);
  Served served(*b, websocket);

  // No WebSocket handshake at all.
  EXPECT_LT(TimeUntilHangUp(served.server->port()), milliseconds(2000));
  ASSERT_TRUE(served.log.WaitFor(1));

  // Handshake done, then silence (it never reads, so never answers a ping).
  auto silent = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(silent);
  ASSERT_TRUE(served.log.WaitFor(2, milliseconds(2000)));
  const std::string line = served.log.lines()[1];
  EXPECT_TRUE(Contains(line, "outcome=\"unavailable")) << line;
}

TEST(WebSocketTest, StopWithAnOpenConnectionReturnsPromptly) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  Served served(*b);
  auto client = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(client);
  const auto start = Clock::now();
  served.server->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  EXPECT_FALSE((*client)->Receive().ok());
  served.server->Stop();  // idempotent
}

TEST(WebSocketTest, WssSyncsWithAVerifiedSelfSignedCertificate) {
  TempDir dir;
  auto [cert, key] = MakeSelfSignedCertificate(dir);
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  Write(*b, "y", "name", "from b");
  Served served(*b, WebSocketOptions{}, sync::SessionOptions{}, cert, key);
  ASSERT_EQ(served.url().substr(0, 6), "wss://");
  sync::ReplicaChangeStore store(*a);

  // Not trusted by the system's CAs: refused, saying why.
  auto untrusted = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable) << untrusted.status();
  EXPECT_TRUE(Contains(untrusted.status().message(), "TLS")) << untrusted.status();

  // Plain ws:// to a wss:// server fails, and the server goes on serving.
  const std::string plain = "ws://127.0.0.1:" + std::to_string(served.server->port()) + "/";
  WebSocketOptions quick;
  quick.handshake_timeout = milliseconds(1000);
  EXPECT_FALSE(SyncOnce(plain, store, a->id(), sync::SessionOptions{}, quick).ok());

  WebSocketOptions trusting;
  trusting.tls_ca_file = cert;
  auto report = SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}, trusting);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 1u);
  EXPECT_EQ(report->changes_down, 1u);
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());

  // An unreadable CA file is the caller's mistake, not an unreachable peer.
  WebSocketOptions missing_ca;
  missing_ca.tls_ca_file = dir.Sub("no-such-ca.pem");
  EXPECT_EQ(SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}, missing_ca).status().code(),
            Code::kInvalidArgument);
}

TEST(WebSocketTest, ServerWithUnreadableCertificateDoesNotStart) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.local_id = b->id();
  options.store_factory = [r = b.get()](const sync::Hello&, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "", {}, {}};
  };
  options.tls_cert_file = dir.Sub("missing-cert.pem");
  options.tls_key_file = dir.Sub("missing-key.pem");
  SyncServer server(std::move(options));
  EXPECT_EQ(server.Start().code(), Code::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Live sync, slow peers and cut connections.

// A SyncServer with the given options (ws://, loopback, ephemeral port) whose
// log lines are collected.
struct LoggedServer {
  explicit LoggedServer(SyncServerOptions options) {
    options.log = [this](const std::string& line) { log.Add(line); };
    server = std::make_unique<SyncServer>(std::move(options));
    EXPECT_DAICHO_OK(server->Start());
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server->port()) + "/"; }

  LogSink log;  // before server: the server logs until it is destroyed
  std::unique_ptr<SyncServer> server;
};

// Options of a server over `shared` that groups its connections by the
// Hello's contract field, as a relay groups them by contract.
SyncServerOptions GroupedByContract(Replica& shared) {
  SyncServerOptions options;
  options.threads = 2;
  options.local_id = shared.id();
  options.store_factory = [r = &shared](const sync::Hello& hello, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), hello.contract, {}, {}};
  };
  return options;
}

TEST(WebSocketTest, WatchClientsOfOneGroupGetEachOthersCommitsLiveAndAnotherGroupGetsNothing) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  auto c = OpenReplica(dir, "c");
  Write(*s, "s1", "name", "on the server");
  Write(*a, "a1", "name", "from A");
  Write(*b, "b1", "name", "from B");
  LoggedServer served(GroupedByContract(*s));

  sync::SessionOptions office;
  office.contract = "office";
  WatchClient wa(served.url(), *a, office);
  WatchClient wb(served.url(), *b, office);
  // Catch-up: the server and both clients hold s1, a1 and b1.
  ASSERT_TRUE(WaitFor([&] {
    const VersionVector vs = VersionVectorOf(*s);
    return vs.Total() == 3 && VersionVectorOf(*a) == vs && VersionVectorOf(*b) == vs;
  })) << "catch-up did not finish: server "
      << VersionVectorOf(*s).ToString();
  // Same store, another group: it catches up too, but must get no pushes.
  sync::SessionOptions elsewhere;
  elsewhere.contract = "elsewhere";
  WatchClient wc(served.url(), *c, elsewhere);
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*c) == VersionVectorOf(*s); }));

  // A commits while everyone stays connected: A's poll pushes it, the server
  // applies it and pushes it on B's connection.
  Write(*a, "live", "phone", "03-1234-5678");
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*b).Get(a->id()) == 2; })) << "A's commit never reached B";
  EXPECT_EQ(VersionVectorOf(*s).Get(a->id()), 2u);
  EXPECT_FALSE(wb.ended()) << "B's watch ended instead of staying connected";
  auto live = b->Get("customers", "live");
  ASSERT_DAICHO_OK(live);
  ASSERT_NE(live->Find("phone"), nullptr);
  EXPECT_EQ(live->Find("phone")->value, Value("03-1234-5678"));

  // What the hooks say each peer holds ends at the server's VV.
  const VersionVector server_vv = VersionVectorOf(*s);
  EXPECT_TRUE(WaitFor([&] { return wa.peer_holds() == server_vv && wb.peer_holds() == server_vv; }))
      << "A sees " << wa.peer_holds().ToString() << ", B sees " << wb.peer_holds().ToString() << ", server has "
      << server_vv.ToString();
  EXPECT_GT(wa.progress_calls(), 0);
  EXPECT_GT(wb.progress_calls(), 0);

  // A push to C would have been posted together with B's; give it many of
  // C's poll intervals to (wrongly) arrive.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(VersionVectorOf(*c).Get(a->id()), 1u) << "a change was pushed across groups";
  EXPECT_EQ(c->Get("customers", "live").status().code(), Code::kNotFound);

  const auto stop_requested = Clock::now();
  auto ra = wa.Stop();
  auto rb = wb.Stop();
  auto rc = wc.Stop();
  EXPECT_LT(Clock::now() - stop_requested, milliseconds(3000));
  ASSERT_DAICHO_OK(ra);
  ASSERT_DAICHO_OK(rb);
  ASSERT_DAICHO_OK(rc);
  EXPECT_EQ(ra->changes_up, 2u);    // a1, live
  EXPECT_EQ(ra->changes_down, 2u);  // s1, b1
  EXPECT_EQ(rb->changes_up, 1u);    // b1
  EXPECT_EQ(rb->changes_down, 3u);  // s1, a1, live
  EXPECT_EQ(rc->changes_up, 0u);
  EXPECT_EQ(rc->changes_down, 3u);  // the catch-up only
  EXPECT_EQ(ra->peer_version_vector, server_vv);
  EXPECT_EQ(rb->peer_version_vector, server_vv);
  EXPECT_EQ(VersionVectorOf(*a), server_vv);
  EXPECT_EQ(VersionVectorOf(*b), server_vv);

  // The server ends each watch session as a clean close.
  ASSERT_TRUE(served.log.WaitFor(3));
  for (const std::string& line : served.log.lines()) EXPECT_TRUE(Contains(line, "outcome=\"ok\"")) << line;
}

// Changes another relay node committed to the shared store reach a group's
// live sessions when the server is told (PushToGroup); LiveGroups names the
// groups with sessions open.
TEST(WebSocketTest, PushToGroupSendsWhatTheStoreGainedElsewhereToThatGroupOnly) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  auto c = OpenReplica(dir, "c");
  auto elsewhere = OpenReplica(dir, "elsewhere");
  Write(*s, "s1", "name", "on the server");
  LoggedServer served(GroupedByContract(*s));
  EXPECT_TRUE(served.server->LiveGroups().empty());
  sync::SessionOptions office;
  office.contract = "office";
  sync::SessionOptions other;
  other.contract = "other";
  WatchClient wa(served.url(), *a, office);
  WatchClient wb(served.url(), *b, office);
  WatchClient wc(served.url(), *c, other);
  ASSERT_TRUE(WaitFor([&] {
    return VersionVectorOf(*a).Total() == 1 && VersionVectorOf(*b).Total() == 1 && VersionVectorOf(*c).Total() == 1;
  }));
  auto groups = served.server->LiveGroups();
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{"office", "other"}));

  // Another node's commit lands in the shared store behind the server's back.
  Write(*elsewhere, "e1", "name", "committed through another node");
  sync::ReplicaChangeStore to_server(*s);
  sync::ReplicaChangeStore from_elsewhere(*elsewhere);
  auto blobs = from_elsewhere.ChangesSince(VersionVector{}, size_t{1} << 20, nullptr);
  ASSERT_DAICHO_OK(blobs);
  ASSERT_DAICHO_OK(to_server.Apply(*blobs));
  served.server->PushToGroup("office");
  served.server->PushToGroup("office");
  ASSERT_TRUE(WaitFor([&] {
    return VersionVectorOf(*a).Get(elsewhere->id()) == 1 && VersionVectorOf(*b).Get(elsewhere->id()) == 1;
  })) << "the group's sessions did not push what the store gained";
  EXPECT_EQ(VersionVectorOf(*c).Get(elsewhere->id()), 0u) << "another group got the push";
  served.server->PushToGroup("no such group");
  served.server->PushToGroup("other");
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*c).Get(elsewhere->id()) == 1; }));

  ASSERT_DAICHO_OK(wa.Stop());
  ASSERT_DAICHO_OK(wb.Stop());
  ASSERT_TRUE(WaitFor([&] { return served.server->LiveGroups() == std::vector<std::string>{"other"}; }));
  ASSERT_DAICHO_OK(wc.Stop());
  EXPECT_TRUE(WaitFor([&] { return served.server->LiveGroups().empty(); }));
}

// Logins a test can end, as a relay's `device revoke` ends a device's.
class EndableLogins {
 public:
  void End(const std::string& user) {
    std::lock_guard<std::mutex> lock(mu_);
    ended_.insert(user);
  }
  Status Check(const std::string& user) {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_.count(user) ? Status(Code::kUnauthenticated, "device of " + user + " revoked") : Status::Ok();
  }

 private:
  std::mutex mu_;
  std::set<std::string> ended_;
};

// RecheckLogins ends exactly the live sessions whose login no longer holds,
// with an Error the client gets, and nothing more reaches them; a login that
// ended while it was being admitted is refused by the check at admission.
TEST(WebSocketTest, RecheckLoginsEndsOnlyTheSessionsWhoseLoginEnded) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*s, "s1", "name", "on the server");
  auto logins = std::make_shared<EndableLogins>();
  SyncServerOptions options = GroupedByContract(*s);
  // Admits everyone; only the recheck looks at the logins, so the admission
  // check is what refuses an ended one.
  options.store_factory = [r = s.get(), logins](const sync::Hello& hello,
                                                const std::string&) -> Result<AcceptedSession> {
    AcceptedSession accepted{std::make_unique<sync::ReplicaChangeStore>(*r), hello.contract, {}, {}};
    accepted.recheck_login = [logins, user = hello.user] { return logins->Check(user); };
    return accepted;
  };
  LoggedServer served(std::move(options));
  sync::SessionOptions as_a;
  as_a.contract = "office";
  as_a.user = "a";
  sync::SessionOptions as_b = as_a;
  as_b.user = "b";
  WatchClient wa(served.url(), *a, as_a);
  WatchClient wb(served.url(), *b, as_b);
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*a).Total() == 1 && VersionVectorOf(*b).Total() == 1; }));

  logins->End("a");
  served.server->RecheckLogins();
  ASSERT_TRUE(WaitFor([&] { return wa.ended(); })) << "a's session went on after its login ended";
  auto ra = wa.Stop();
  ASSERT_FALSE(ra.ok());
  EXPECT_EQ(ra.status().code(), Code::kUnauthenticated) << ra.status();
  EXPECT_TRUE(Contains(ra.status().message(), "login revoked while connected: device of a revoked")) << ra.status();
  EXPECT_FALSE(wb.ended()) << "b's session ended too";

  // b's commit still reaches the server, and no longer a.
  Write(*b, "b1", "name", "from B");
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*s).Get(b->id()) == 1; }));
  EXPECT_EQ(VersionVectorOf(*a).Get(b->id()), 0u);

  // a again: admitted by the factory, refused by the check that follows.
  sync::ReplicaChangeStore a_store(*a);
  auto again = SyncOnce(served.url(), a_store, a->id(), as_a);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kUnauthenticated) << again.status();
  EXPECT_EQ(VersionVectorOf(*a).Get(b->id()), 0u);
  ASSERT_DAICHO_OK(wb.Stop());
}

// Draining: each sync session closes with 1001 (its client is told to
// connect again, not that it failed), a connection without a session is
// closed at once, GoAway returns once none is left, and nobody new gets in.
TEST(WebSocketTest, GoAwayClosesEverySessionWith1001AndWaitsForThem) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*s, "s1", "name", "on the server");
  LoggedServer served(GroupedByContract(*s));
  sync::SessionOptions office;
  office.contract = "office";
  WatchClient wa(served.url(), *a, office);
  WatchClient wb(served.url(), *b, office);
  ASSERT_TRUE(WaitFor([&] { return VersionVectorOf(*a).Total() == 1 && VersionVectorOf(*b).Total() == 1; }));
  const int idle = testing::ConnectFrom("127.0.0.1", served.server->port());
  ASSERT_GE(idle, 0);
  ASSERT_TRUE(WaitFor([&] { return served.server->Stats().open_connections == 3; }));

  served.server->GoAway(milliseconds(10000));
  EXPECT_EQ(served.server->Stats().open_connections, 0u);
  EXPECT_TRUE(testing::PeerClosed(idle));
  ::close(idle);
  ASSERT_TRUE(WaitFor([&] { return wa.ended() && wb.ended(); }));
  for (WatchClient* watch : {&wa, &wb}) {
    auto result = watch->Stop();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Code::kUnavailable) << result.status();
    EXPECT_TRUE(Contains(result.status().message(), "close code 1001")) << result.status();
  }
  EXPECT_FALSE(WebSocketClient::Connect(served.url()).ok()) << "a new connection got in while going away";
  // A connection's line is written as it is torn down, which may come just
  // after GoAway saw it closed.
  auto sessions_gone_away = [&] {
    size_t going_away = 0;
    for (const std::string& line : served.log.lines()) {
      if (Contains(line, "event=session_end") && Contains(line, "contract=office") &&
          Contains(line, "server going away")) {
        ++going_away;
      }
    }
    return going_away;
  };
  EXPECT_TRUE(WaitFor([&] { return sessions_gone_away() == 2; })) << sessions_gone_away();
  served.server->Stop();
}

// `n` changes of about `bytes` each (one record per commit) made on `r`.
void CommitChanges(Replica& r, int n, size_t bytes) {
  const std::string filler(bytes, 'x');
  for (int i = 0; i < n; ++i) {
    ASSERT_NO_FATAL_FAILURE(Write(r, "c" + std::to_string(i), "note", filler + std::to_string(i)));
  }
}

TEST(WebSocketTest, StopRequestedDuringASyncEndsItUnavailableAndTheNextSyncSendsOnlyTheRest) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  constexpr int kChanges = 300;
  ASSERT_NO_FATAL_FAILURE(CommitChanges(*a, kChanges, 100));
  Served served(*b);
  sync::ReplicaChangeStore store(*a);
  sync::SessionOptions session;
  session.max_batch_bytes = 1;  // one change per batch, acknowledged one by one
  session.max_in_flight_batches = 1;

  std::stop_source stop;
  SyncHooks hooks;
  hooks.stop = stop.get_token();
  hooks.poll_interval = milliseconds(2);
  // Early: after the third acknowledgment, with hundreds still to go.
  hooks.on_progress = [&stop](const sync::SessionStats& stats) {
    if (stats.batches_acked >= 3) stop.request_stop();
  };
  auto stopped = SyncOnce(served.url(), store, a->id(), session, WebSocketOptions{}, hooks);
  ASSERT_FALSE(stopped.ok()) << "the sync finished before the stop took effect";
  EXPECT_EQ(stopped.status().code(), Code::kUnavailable) << stopped.status();
  EXPECT_TRUE(Contains(stopped.status().message(), "stopped")) << stopped.status();

  // Once the server's side has ended, it holds an intact prefix.
  ASSERT_TRUE(served.log.WaitFor(1));
  const uint64_t held = VersionVectorOf(*b).Get(a->id());
  EXPECT_GE(held, 3u);
  EXPECT_LT(held, static_cast<uint64_t>(kChanges));
  for (uint64_t i = 0; i < held; ++i) {
    auto rec = b->Get("customers", "c" + std::to_string(i));
    ASSERT_DAICHO_OK(rec);
  }
  EXPECT_EQ(b->Get("customers", "c" + std::to_string(held)).status().code(), Code::kNotFound);

  auto rest = SyncOnce(served.url(), store, a->id(), session);
  ASSERT_DAICHO_OK(rest);
  EXPECT_EQ(rest->changes_up, kChanges - held);
  EXPECT_EQ(VersionVectorOf(*a), VersionVectorOf(*b));
  auto last = b->Get("customers", "c" + std::to_string(kChanges - 1));
  ASSERT_DAICHO_OK(last);
  EXPECT_EQ(last->Find("note")->value, Value(std::string(100, 'x') + std::to_string(kChanges - 1)));
}

TEST(WebSocketTest, ClientThatNeverReadsDoesNotHoldUpOthersAndIsDroppedAtTheIdleTimeout) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  constexpr int kChanges = 2000;
  ASSERT_NO_FATAL_FAILURE(CommitChanges(*s, kChanges, 1500));
  const milliseconds idle(1500);
  SyncServerOptions options;
  options.threads = 1;  // one thread: anything blocking in it would stall every client
  options.websocket.idle_timeout = idle;
  options.local_id = s->id();
  options.store_factory = [r = s.get()](const sync::Hello&, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*r), "", {}, {}};
  };
  LoggedServer served(std::move(options));

  // A peer lacking all 2,000 changes (3 MB) asks for them, then never reads.
  auto slow = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(slow);
  sync::Hello hello;
  hello.replica_id = ReplicaId::Random().value();
  ASSERT_DAICHO_OK((*slow)->Send(sync::EncodeFrame(hello)));
  const auto hello_sent = Clock::now();

  // Meanwhile two other replicas download everything, at the same time.
  auto c1 = OpenReplica(dir, "c1");
  auto c2 = OpenReplica(dir, "c2");
  std::optional<Result<SyncReport>> r1, r2;
  {
    std::jthread t1([&] {
      sync::ReplicaChangeStore store(*c1);
      r1.emplace(SyncOnce(served.url(), store, c1->id(), sync::SessionOptions{}));
    });
    std::jthread t2([&] {
      sync::ReplicaChangeStore store(*c2);
      r2.emplace(SyncOnce(served.url(), store, c2->id(), sync::SessionOptions{}));
    });
  }
  const auto others_done = Clock::now();
  ASSERT_DAICHO_OK(*r1);
  ASSERT_DAICHO_OK(*r2);
  EXPECT_EQ((*r1)->changes_down, static_cast<uint64_t>(kChanges));
  EXPECT_EQ((*r2)->changes_down, static_cast<uint64_t>(kChanges));
  EXPECT_EQ(VersionVectorOf(*c1), VersionVectorOf(*s));
  EXPECT_EQ(VersionVectorOf(*c2), VersionVectorOf(*s));
  // ... while the slow one was still connected (so they did not just wait
  // for it to be dropped).
  ASSERT_LT(others_done - hello_sent, idle) << "the other syncs took longer than the idle timeout";
  for (const std::string& line : served.log.lines()) EXPECT_TRUE(Contains(line, "outcome=\"ok\"")) << line;

  // Its pings unanswered, the slow peer is dropped between 1 and 1.5 idle
  // timeouts after its last frame (the ping timer runs in half periods).
  ASSERT_TRUE(served.log.WaitFor(3, idle * 3));
  const auto dropped = Clock::now() - hello_sent;
  EXPECT_LT(dropped, idle * 3 / 2 + milliseconds(1000));
  EXPECT_GE(dropped, idle * 3 / 4);
  std::vector<std::string> failed;
  for (const std::string& line : served.log.lines()) {
    if (!Contains(line, "outcome=\"ok\"")) failed.push_back(line);
  }
  ASSERT_EQ(failed.size(), 1u) << ::testing::PrintToString(served.log.lines());
  EXPECT_TRUE(Contains(failed[0], "outcome=\"unavailable")) << failed[0];
  EXPECT_TRUE(Contains(failed[0], "changes_uploaded=0")) << failed[0];
  EXPECT_FALSE(Contains(failed[0], "changes_downloaded=0 ")) << failed[0];  // it was sent some

  // The slow client finds its connection gone after what made it over.
  bool closed = false;
  for (int i = 0; i <= kChanges + 8 && !closed; ++i) closed = !(*slow)->Receive().ok();
  EXPECT_TRUE(closed);
}

// Counts how often each change reached a store's Apply, across all the
// server's connections: proves that no change was sent twice.
class ApplyCounter {
 public:
  void Add(std::span<const ChangeBlob> changes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ChangeBlob& c : changes) ++counts_[{c.origin.ToHex(), c.seq}];
  }
  size_t distinct() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_.size();
  }
  int most() {
    std::lock_guard<std::mutex> lock(mu_);
    int most = 0;
    for (const auto& [change, n] : counts_) most = std::max(most, n);
    return most;
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, uint64_t>, int> counts_;
};

class CountingStore final : public sync::ChangeStore {
 public:
  CountingStore(Replica& replica, ApplyCounter& counter) : inner_(replica), counter_(counter) {}
  Result<VersionVector> GetVersionVector() override { return inner_.GetVersionVector(); }
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override {
    return inner_.ChangesSince(other, max_bytes, upto);
  }
  Status Apply(std::span<const ChangeBlob> changes) override {
    Status status = inner_.Apply(changes);
    if (status.ok()) counter_.Add(changes);
    return status;
  }

 private:
  sync::ReplicaChangeStore inner_;
  ApplyCounter& counter_;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    data += sent;
    n -= static_cast<size_t>(sent);
  }
  return true;
}

// A TCP forwarder from an ephemeral loopback port to 127.0.0.1:target, for
// one connection. It copies both ways until `cut_after` bytes went from the
// client to the server, forwards exactly up to that byte (mid-frame, as a
// rule), then shuts both sockets: the connection drops, both ends live on.
class CuttingProxy {
 public:
  CuttingProxy(uint16_t target, size_t cut_after) : target_(target), cut_after_(cut_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  }
  ~CuttingProxy() {
    thread_ = {};  // stop and join
    ::close(listen_fd_);
  }
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  // The cut happened (rather than either end closing first).
  bool cut() const { return cut_; }

 private:
  void Run(std::stop_token stop) {
    int client = -1;
    while (!stop.stop_requested() && client < 0) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) client = ::accept(listen_fd_, nullptr, nullptr);
    }
    if (client < 0) return;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(target_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) Forward(stop, client, server);
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(server, SHUT_RDWR);
    ::close(client);
    ::close(server);
  }

  void Forward(const std::stop_token& stop, int client, int server) {
    std::vector<char> buffer(64u << 10);
    size_t up = 0;
    while (!stop.stop_requested()) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 20) <= 0) continue;
      if (fds[0].revents != 0) {
        const ssize_t n = ::recv(client, buffer.data(), buffer.size(), 0);
        if (n <= 0) return;
        const size_t pass = std::min(static_cast<size_t>(n), cut_after_ - up);
        if (!SendAll(server, buffer.data(), pass)) return;
        up += pass;
        if (up >= cut_after_) {
          cut_ = true;
          return;
        }
      }
      if (fds[1].revents != 0) {
        const ssize_t n = ::recv(server, buffer.data(), buffer.size(), 0);
        if (n <= 0 || !SendAll(client, buffer.data(), static_cast<size_t>(n))) return;
      }
    }
  }

  const uint16_t target_;
  const size_t cut_after_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> cut_{false};
  std::jthread thread_;
};

TEST(WebSocketTest, ConnectionDroppedMidUploadResumesWithoutResendingAcknowledgedChanges) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  constexpr int kChanges = 300;
  ASSERT_NO_FATAL_FAILURE(CommitChanges(*a, kChanges, 4000));  // 1.2 MB
  ApplyCounter counter;
  SyncServerOptions options;
  options.threads = 2;
  options.local_id = b->id();
  options.store_factory = [r = b.get(), &counter](const sync::Hello&, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<CountingStore>(*r, counter), "", {}, {}};
  };
  LoggedServer served(std::move(options));

  sync::ReplicaChangeStore store(*a);
  sync::SessionOptions session;
  session.max_batch_bytes = 1;  // one change per batch, each acknowledged on its own
  VersionVector acked;          // what the server had acknowledged when the cut came
  SyncHooks hooks;
  hooks.on_peer_holds = [&acked](const VersionVector& vv) { acked = vv; };
  {
    CuttingProxy proxy(served.server->port(), 400u << 10);  // a third of the upload
    auto cut = SyncOnce(proxy.url(), store, a->id(), session, WebSocketOptions{}, hooks);
    ASSERT_TRUE(proxy.cut()) << "the proxy did not cut: " << cut.status();
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.status().code(), Code::kUnavailable) << cut.status();
  }
  // The server's side of the dropped connection has ended (it logs then).
  ASSERT_TRUE(served.log.WaitFor(1));
  EXPECT_FALSE(Contains(served.log.lines()[0], "outcome=\"ok\"")) << served.log.lines()[0];

  const uint64_t acked_seq = acked.Get(a->id());
  const uint64_t held = VersionVectorOf(*b).Get(a->id());
  EXPECT_GT(acked_seq, 0u) << "the cut came before any acknowledgment";
  EXPECT_LT(held, static_cast<uint64_t>(kChanges)) << "the cut came after the upload";
  // Everything acknowledged is held; beyond it, at most the batches whose
  // acks were lost in the cut (the in-flight window).
  EXPECT_GE(held, acked_seq);
  EXPECT_LE(held - acked_seq, session.max_in_flight_batches);

  auto resumed = SyncOnce(served.url(), store, a->id(), session);
  ASSERT_DAICHO_OK(resumed);
  // Only what the server lacks goes again: nothing acknowledged, nor
  // anything applied whose ack was lost.
  EXPECT_EQ(resumed->changes_up + held, static_cast<uint64_t>(kChanges));
  EXPECT_LE(resumed->changes_up + acked_seq, static_cast<uint64_t>(kChanges));
  EXPECT_EQ(VersionVectorOf(*b), VersionVectorOf(*a));
  EXPECT_EQ(VersionVectorOf(*b).Get(a->id()), static_cast<uint64_t>(kChanges));
  EXPECT_EQ(counter.distinct(), static_cast<size_t>(kChanges));
  EXPECT_EQ(counter.most(), 1) << "a change reached the server's store twice";
  auto last = b->Get("customers", "c" + std::to_string(kChanges - 1));
  ASSERT_DAICHO_OK(last);
  EXPECT_EQ(last->Find("note")->value, Value(std::string(4000, 'x') + std::to_string(kChanges - 1)));
}

// ---- PC to PC: the office-key channel (WebSocketOptions::peer_auth) ----

std::shared_ptr<const PeerAuth> OfficeAuth(const crypto::KeyRing& ring, std::string contract = "1234-5678-9012") {
  return std::make_shared<const PeerAuth>(PeerAuth{std::move(contract), ring.Clone()});
}

TEST(WebSocketPeerTest, PcsOfOneOfficeSyncOverTheOfficeKeyChannel) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "c1", "name", "株式会社 山田建設");
  Write(*b, "c2", "name", "from B");
  auto ring = std::move(crypto::KeyRing::Create().value());
  WebSocketOptions secured;
  secured.peer_auth = OfficeAuth(ring);
  Served served(*b, secured);
  sync::ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), {}, secured);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(VersionVectorOf(*a), VersionVectorOf(*b));
  EXPECT_EQ(b->Get("customers", "c1")->Find("name")->value.as_string(), "株式会社 山田建設");
}

TEST(WebSocketPeerTest, PeersWithoutTheOfficeKeyAreRefusedAndLearnNothing) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*b, "c1", "name", "secret of B");
  auto ring = std::move(crypto::KeyRing::Create().value());
  WebSocketOptions secured;
  secured.peer_auth = OfficeAuth(ring);
  Served served(*b, secured);
  sync::ReplicaChangeStore store(*a);

  // Another office's key.
  WebSocketOptions other_office;
  other_office.peer_auth = OfficeAuth(crypto::KeyRing::Create().value());
  auto refused = SyncOnce(served.url(), store, a->id(), {}, other_office);
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  // Same key bytes, other contract.
  WebSocketOptions other_contract;
  other_contract.peer_auth = OfficeAuth(ring, "9999-9999-9999");
  EXPECT_EQ(SyncOnce(served.url(), store, a->id(), {}, other_contract).status().code(), Code::kUnauthenticated);
  // No key at all: a plain session is refused before anything moves.
  auto plain = SyncOnce(served.url(), store, a->id(), {});
  EXPECT_EQ(plain.status().code(), Code::kUnauthenticated) << plain.status();
  // Garbage where the handshake belongs.
  auto raw = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(raw);
  ASSERT_DAICHO_OK((*raw)->Send("DPC1 this is not a handshake"));
  auto answer = (*raw)->Receive();
  ASSERT_DAICHO_OK(answer);
  auto decoded = sync::DecodeFrame(*answer);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<sync::ErrorMessage>(*decoded));
  EXPECT_EQ(std::get<sync::ErrorMessage>(*decoded).code, Code::kProtocolError);

  EXPECT_TRUE(a->GetVersionVector()->empty());
  EXPECT_EQ(VersionVectorOf(*b).size(), 1u);
  // The serving PC keeps serving its real peers.
  WebSocketOptions same_office;
  same_office.peer_auth = OfficeAuth(ring);
  ASSERT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), {}, same_office));
  EXPECT_EQ(a->Get("customers", "c1")->Find("name")->value.as_string(), "secret of B");
}

TEST(WebSocketPeerTest, AKeyIdMismatchTellsTheInitiatorWhoMustUnlock) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  auto ring = std::move(crypto::KeyRing::Create().value());
  WebSocketOptions rotated;
  rotated.peer_auth = OfficeAuth(ring.Rotated().value());
  Served served(*b, rotated);
  sync::ReplicaChangeStore store(*a);
  WebSocketOptions old_key;
  old_key.peer_auth = OfficeAuth(ring);
  auto refused = SyncOnce(served.url(), store, a->id(), {}, old_key);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(Contains(refused.status().message(), "unlock")) << refused.status();
}

TEST(WebSocketPeerTest, AnUnprovenConnectionReachesOnlyTheUnauthenticatedFactory) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*b, "c1", "name", "kept from strangers");
  auto ring = std::move(crypto::KeyRing::Create().value());
  SyncServerOptions options;
  options.websocket.peer_auth = OfficeAuth(ring);
  options.local_id = b->id();
  Replica* served = b.get();
  options.store_factory = [served](const sync::Hello&, const std::string&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(*served), "", {}, {}};
  };
  // A PC without the key may only fetch the passphrase-wrapped key.
  options.unauthenticated_store_factory = [served](const sync::Hello& hello,
                                                   const std::string&) -> Result<AcceptedSession> {
    if (hello.purpose != sync::Purpose::kConnectTest) {
      return Status(Code::kUnauthenticated, "prove the office key first");
    }
    return AcceptedSession{
        std::make_unique<sync::ReplicaChangeStore>(*served),
        "",
        sync::Admission{
            "", crypto::WrappedOfficeKey{1, "passphrase-envelope", "recovery-envelope", ""}, {}, "", {}, false},
        {}};
  };
  SyncServer server(std::move(options));
  ASSERT_DAICHO_OK(server.Start());
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  sync::ReplicaChangeStore store(*a);
  sync::SessionOptions fetch;
  fetch.purpose = sync::Purpose::kConnectTest;
  auto fetched = SyncOnce(url, store, a->id(), fetch);
  ASSERT_DAICHO_OK(fetched);
  ASSERT_TRUE(fetched->granted.has_value());
  EXPECT_EQ(fetched->granted->office_keys.current_key_id, 1u);
  EXPECT_EQ(SyncOnce(url, store, a->id(), {}).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(a->GetVersionVector()->empty());
}

TEST(WebSocketPeerTest, AReplayedHandshakeIsRefusedAndTheServerKeepsServing) {
  TempDir dir;
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*b, "c1", "name", "kept from replayers");
  auto ring = std::move(crypto::KeyRing::Create().value());
  WebSocketOptions secured;
  secured.peer_auth = OfficeAuth(ring);
  Served served(*b, secured);

  // A genuine office PC's handshake, recorded off the wire.
  crypto::PeerChannel genuine(crypto::PeerChannel::Role::kInitiator, "1234-5678-9012", ring);
  const std::string m1 = genuine.Start().value();
  auto first = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(first);
  ASSERT_DAICHO_OK((*first)->Send(m1));
  auto m2 = (*first)->Receive();
  ASSERT_DAICHO_OK(m2);
  const std::string m3 = genuine.OnHandshakeMessage(*m2).value().value();
  ASSERT_DAICHO_OK((*first)->Send(m3));

  // The recording replayed by someone without the key: the server answers a
  // fresh M2, and the old M3 does not fit it.
  auto replay = WebSocketClient::Connect(served.url());
  ASSERT_DAICHO_OK(replay);
  ASSERT_DAICHO_OK((*replay)->Send(m1));
  ASSERT_DAICHO_OK((*replay)->Receive());
  ASSERT_DAICHO_OK((*replay)->Send(m3));
  auto refused = (*replay)->Receive();
  ASSERT_DAICHO_OK(refused);
  auto decoded = sync::DecodeFrame(*refused);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<sync::ErrorMessage>(*decoded));
  EXPECT_EQ(std::get<sync::ErrorMessage>(*decoded).code, Code::kUnauthenticated);

  sync::ReplicaChangeStore store(*a);
  ASSERT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), {}, secured));
  EXPECT_EQ(a->Get("customers", "c1")->Find("name")->value.as_string(), "kept from replayers");
}

}  // namespace
}  // namespace daicho::transport
