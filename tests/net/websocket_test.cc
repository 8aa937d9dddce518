#include "net/websocket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daicho/replica.h"
#include "net/replica_change_store.h"
#include "net/wire_codec.h"
#include "test_util.h"

namespace daicho::net {
namespace {

using daicho::testing::TempDir;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::unique_ptr<Replica> OpenReplica(const TempDir& dir, const std::string& name) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto r = Replica::Open(dir.Sub(name), options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(r).value() : nullptr;
}

void Write(Replica& r, const std::string& id, const std::string& field, const std::string& value) {
  auto txn = r.BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", id, field, Value(value)));
  ASSERT_DAICHO_OK(txn.Commit());
}

// Server lines, collected from the server's threads.
class LogSink {
 public:
  void Add(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(line);
    cv_.notify_all();
  }
  // Waits until `n` lines were logged; false on timeout.
  bool WaitFor(size_t n, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return lines_.size() >= n; });
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// Replica B served over WebSocket on an ephemeral loopback port.
struct Served {
  explicit Served(Replica& replica, WebSocketOptions websocket = {}, SessionOptions session = {},
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
    options.store_factory = [r, password](const Hello& hello) -> Result<AcceptedSession> {
      const auto* given = std::get_if<PasswordCredential>(&hello.credentials);
      if (!password.empty() && (given == nullptr || given->password != password)) {
        return Status(Code::kUnauthenticated, "wrong user or password");
      }
      return AcceptedSession{std::make_unique<ReplicaChangeStore>(*r), "", "replica"};
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
  ReplicaChangeStore store(*a);

  SessionOptions wrong;
  wrong.credentials = PasswordCredential{"Wrong1234"};
  auto refused = SyncOnce(served.url(), store, a->id(), wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  EXPECT_EQ(b->GetVersionVector()->Get(a->id()), 0u);

  SessionOptions right;
  right.credentials = PasswordCredential{"Secret123"};
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

  ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), SessionOptions{});
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
  EXPECT_TRUE(Contains(line, "outcome=ok")) << line;
  EXPECT_TRUE(Contains(line, "changes_up=21")) << line;

  // A second sync has nothing to move.
  auto again = SyncOnce(served.url(), store, a->id(), SessionOptions{});
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(again->changes_up, 0u);
  EXPECT_EQ(again->changes_down, 0u);
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
  SessionOptions session;
  session.max_batch_bytes = 64u << 10;  // several batches, two in flight
  session.max_in_flight_batches = 2;
  Served served(*b, WebSocketOptions{}, session);

  ReplicaChangeStore store(*a);
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
  ReplicaChangeStore store(*a);
  const auto start = Clock::now();
  auto report = SyncOnce(url, store, a->id(), SessionOptions{});
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::kUnavailable) << report.status();
  EXPECT_TRUE(Contains(report.status().message(), "connect")) << report.status();

  auto bad = SyncOnce("http://127.0.0.1:1/", store, a->id(), SessionOptions{});
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
  auto decoded = DecodeFrame(*error_frame);
  ASSERT_DAICHO_OK(decoded);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*decoded));
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
    saw_exhausted |= Contains(line, "outcome=resource_exhausted");
    saw_bad_frame |= Contains(line, "outcome=corruption") || Contains(line, "outcome=protocol_error");
  }
  EXPECT_TRUE(saw_exhausted) << ::testing::PrintToString(lines);
  EXPECT_TRUE(saw_bad_frame) << ::testing::PrintToString(lines);

  // The server still syncs a proper client.
  ReplicaChangeStore store(*a);
  auto report = SyncOnce(served.url(), store, a->id(), SessionOptions{});
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
  EXPECT_TRUE(Contains(line, "outcome=unavailable")) << line;
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

// A self-signed certificate for 127.0.0.1 (and localhost), made by the
// openssl CLI in `dir`: {certificate, key}.
std::pair<std::string, std::string> MakeCertificate(const TempDir& dir) {
  const std::string cert = dir.Sub("cert.pem");
  const std::string key = dir.Sub("key.pem");
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
                              "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
                              key + "' -out '" + cert + "' >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return {cert, key};
}

TEST(WebSocketTest, WssSyncsWithAVerifiedSelfSignedCertificate) {
  TempDir dir;
  auto [cert, key] = MakeCertificate(dir);
  auto a = OpenReplica(dir, "a");
  auto b = OpenReplica(dir, "b");
  Write(*a, "x", "name", "from a");
  Write(*b, "y", "name", "from b");
  Served served(*b, WebSocketOptions{}, SessionOptions{}, cert, key);
  ASSERT_EQ(served.url().substr(0, 6), "wss://");
  ReplicaChangeStore store(*a);

  // Not trusted by the system's CAs: refused, saying why.
  auto untrusted = SyncOnce(served.url(), store, a->id(), SessionOptions{});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable) << untrusted.status();
  EXPECT_TRUE(Contains(untrusted.status().message(), "TLS")) << untrusted.status();

  // Plain ws:// to a wss:// server fails, and the server goes on serving.
  const std::string plain = "ws://127.0.0.1:" + std::to_string(served.server->port()) + "/";
  WebSocketOptions quick;
  quick.handshake_timeout = milliseconds(1000);
  EXPECT_FALSE(SyncOnce(plain, store, a->id(), SessionOptions{}, quick).ok());

  WebSocketOptions trusting;
  trusting.tls_ca_file = cert;
  auto report = SyncOnce(served.url(), store, a->id(), SessionOptions{}, trusting);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_up, 1u);
  EXPECT_EQ(report->changes_down, 1u);
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());

  // An unreadable CA file is the caller's mistake, not an unreachable peer.
  WebSocketOptions missing_ca;
  missing_ca.tls_ca_file = dir.Sub("no-such-ca.pem");
  EXPECT_EQ(SyncOnce(served.url(), store, a->id(), SessionOptions{}, missing_ca).status().code(),
            Code::kInvalidArgument);
}

TEST(WebSocketTest, ServerWithUnreadableCertificateDoesNotStart) {
  TempDir dir;
  auto b = OpenReplica(dir, "b");
  SyncServerOptions options;
  options.local_id = b->id();
  options.store_factory = [r = b.get()](const Hello&) -> Result<AcceptedSession> {
    return AcceptedSession{std::make_unique<ReplicaChangeStore>(*r), "", ""};
  };
  options.tls_cert_file = dir.Sub("missing-cert.pem");
  options.tls_key_file = dir.Sub("missing-key.pem");
  SyncServer server(std::move(options));
  EXPECT_EQ(server.Start().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::net
