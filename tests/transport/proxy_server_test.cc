// SyncServer behind a load balancer speaking the PROXY protocol v2 (HAProxy's
// send-proxy-v2), played by a forwarder on loopback that prepends the header:
// the client's address reaches the store factory, the HTTP handler, the log
// and the per-address cap; a trusted address without a good header is
// closed; other addresses are served as they come; TLS follows the header.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "sync/replica_change_store.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tls_certificate.h"
#include "tests/testing/websocket_client.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/served_test_util.h"
#include "tests/transport/tcp_forwarder.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace daicho::transport {
namespace {

using daicho::testing::ConnectFrom;
using daicho::testing::HttpExchange;
using daicho::testing::LogIn;
using daicho::testing::MakeSelfSignedCertificate;
using daicho::testing::OpenReplica;
using daicho::testing::PeerClosed;
using daicho::testing::Served;
using daicho::testing::TcpForwarder;
using daicho::testing::TempDir;
using daicho::testing::WaitFor;
using daicho::testing::WebSocketClient;
using daicho::testing::Write;
using daicho::testing::WriteAll;
using sync::AcceptedSession;

const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// A PROXY v2 header for TCP over IPv4 from `client`:`port` (to 10.0.0.11:8080).
std::string ProxyV4(const std::string& client, uint16_t port) {
  std::string header = kSignature + std::string("\x21\x11\x00\x0C", 4);
  in_addr address{};
  ::inet_pton(AF_INET, client.c_str(), &address);
  header.append(reinterpret_cast<const char*>(&address), 4);
  header += std::string("\x0A\x00\x00\x0B", 4);
  header += static_cast<char>(port >> 8);
  header += static_cast<char>(port & 0xFF);
  return header + std::string("\x1F\x90", 2);
}

// A LOCAL header: the balancer's own health check.
std::string ProxyLocal() { return kSignature + std::string("\x20\x00\x00\x00", 4); }

// What the server's callbacks were told about the peer.
struct SeenAddresses {
  std::mutex mu;
  std::vector<std::string> factory;
  std::vector<std::string> http;
};

SyncServerOptions Trusting(Replica& served, SeenAddresses& seen, std::vector<std::string> trusted) {
  SyncServerOptions options;
  options.trusted_proxies = std::move(trusted);
  options.store_factory = [&served, &seen](const sync::Hello&,
                                           const std::string& peer_address) -> Result<AcceptedSession> {
    std::lock_guard lock(seen.mu);
    seen.factory.push_back(peer_address);
    return AcceptedSession{std::make_unique<sync::ReplicaChangeStore>(served), "", {}, {}};
  };
  options.http_prefixes = {"/who"};
  options.http_handler = [&seen](const web::HttpRequest& request) {
    std::lock_guard lock(seen.mu);
    seen.http.push_back(request.peer_address);
    return web::HttpResponse{200, {{"Content-Type", "text/plain"}}, request.peer_address, {}};
  };
  return options;
}

TEST(ProxyServerTest, AProxiedConnectionIsTheClientItNamesEverywhere) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  Write(*a, "a1", "name", "from A");
  SeenAddresses seen;
  Served served(*s, Trusting(*s, seen, {"127.0.0.0/8"}));
  TcpForwarder proxy(served.server->port(), ProxyV4("203.0.113.7", 51000));

  sync::ReplicaChangeStore store(*a);
  ASSERT_DAICHO_OK(SyncOnce(proxy.url(), store, a->id(), sync::SessionOptions{}));
  EXPECT_EQ(s->GetVersionVector()->Get(a->id()), 1u);
  const std::string answer = HttpExchange(proxy.port(), "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("\r\n\r\n203.0.113.7"), std::string::npos) << answer;
  {
    std::lock_guard lock(seen.mu);
    EXPECT_EQ(seen.factory, std::vector<std::string>{"203.0.113.7"});
    EXPECT_EQ(seen.http, std::vector<std::string>{"203.0.113.7"});
  }
  ASSERT_TRUE(served.log.WaitFor(1));
  EXPECT_TRUE(served.log.Has("event=session_end peer=203.0.113.7:51000 ")) << served.log.lines().front();
}

TEST(ProxyServerTest, ThePerAddressCapCountsTheClientsBehindTheProxy) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  SeenAddresses seen;
  SyncServerOptions options = Trusting(*s, seen, {"127.0.0.1"});
  options.max_connections_per_address = 1;
  Served served(*s, std::move(options));
  TcpForwarder first(served.server->port(), ProxyV4("198.51.100.1", 40001));
  TcpForwarder second(served.server->port(), ProxyV4("198.51.100.2", 40002));

  // Two clients through one balancer address: one connection each is theirs.
  auto one = WebSocketClient::Connect(first.url());
  ASSERT_DAICHO_OK(one);
  LogIn(**one);
  auto two = WebSocketClient::Connect(second.url());
  ASSERT_DAICHO_OK(two);
  LogIn(**two);
  EXPECT_EQ(served.server->Stats().logged_in_connections, 2u);
  // The first client's second connection is over its cap (its first is
  // logged in), whatever the balancer's own address holds.
  EXPECT_FALSE(WebSocketClient::Connect(first.url()).ok());
  EXPECT_EQ(served.server->Stats().refused_connections, 1u);
  EXPECT_TRUE((*two)->Ping().ok());

  // The balancer's health check (LOCAL) is answered under its own address.
  TcpForwarder check(served.server->port(), ProxyLocal());
  const std::string answer = HttpExchange(check.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

TEST(ProxyServerTest, ATrustedAddressWithoutAGoodHeaderIsClosedAndLoggedOnce) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  SeenAddresses seen;
  SyncServerOptions options = Trusting(*s, seen, {"127.0.0.1/32"});
  options.websocket.handshake_timeout = std::chrono::milliseconds(300);
  Served served(*s, std::move(options));
  const uint16_t port = served.server->port();

  // No header: the request is no signature.
  EXPECT_EQ(HttpExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  ASSERT_TRUE(WaitFor([&] { return served.log.Has("event=connection_closed"); }));
  EXPECT_TRUE(served.log.Has("no version 2 signature")) << served.log.lines().front();
  // Oversized, then cut short and silent (closed at the handshake timeout).
  std::string oversized = ProxyV4("198.51.100.1", 1).substr(0, 14) + "\xFF\xFF";
  EXPECT_EQ(HttpExchange(port, oversized + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  const int fd = ConnectFrom("127.0.0.1", port);
  ASSERT_GE(fd, 0);
  const std::string part = ProxyV4("198.51.100.1", 1).substr(0, 20);
  ASSERT_TRUE(WriteAll(fd, part.data(), part.size()));
  EXPECT_TRUE(PeerClosed(fd));
  ::close(fd);
  // Each kind is one line at most a second: three closes, at most three lines.
  size_t closed = 0;
  for (const std::string& line : served.log.lines()) closed += line.find("event=connection_closed") == 0 ? 1 : 0;
  EXPECT_LE(closed, 3u);
  std::lock_guard lock(seen.mu);
  EXPECT_TRUE(seen.factory.empty());
  EXPECT_TRUE(seen.http.empty());
}

TEST(ProxyServerTest, UntrustedAddressesAreServedAsTheyComeAndTheirHeaderIsGarbage) {
  TempDir dir;
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  SeenAddresses seen;
  Served served(*s, Trusting(*s, seen, {"127.0.0.2/32", "::1/128"}));
  const uint16_t port = served.server->port();

  std::string answer = HttpExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  answer = HttpExchange(port, ProxyV4("198.51.100.1", 1) + "GET /who HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.find("198.51.100.1"), std::string::npos) << answer;
  sync::ReplicaChangeStore store(*a);
  ASSERT_DAICHO_OK(SyncOnce(served.url(), store, a->id(), sync::SessionOptions{}));
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.factory, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(seen.http.empty());
}

TEST(ProxyServerTest, TheHeaderComesBeforeTheTlsHandshake) {
  TempDir dir;
  auto [cert, key] = MakeSelfSignedCertificate(dir);
  auto s = OpenReplica(dir, "server");
  auto a = OpenReplica(dir, "a");
  Write(*a, "a1", "name", "from A");
  SeenAddresses seen;
  SyncServerOptions options = Trusting(*s, seen, {"127.0.0.1"});
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  Served served(*s, std::move(options));
  TcpForwarder proxy(served.server->port(), ProxyV4("203.0.113.9", 443));

  WebSocketOptions trusting;
  trusting.tls_ca_file = cert;
  sync::ReplicaChangeStore store(*a);
  ASSERT_DAICHO_OK(SyncOnce(proxy.url("wss"), store, a->id(), sync::SessionOptions{}, trusting));
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.factory, std::vector<std::string>{"203.0.113.9"});
}

TEST(ProxyServerTest, AMalformedTrustedRangeKeepsTheServerFromStarting) {
  SyncServerOptions options;
  options.store_factory = [](const sync::Hello&, const std::string&) -> Result<AcceptedSession> {
    return Status(Code::kUnauthenticated, "no");
  };
  options.trusted_proxies = {"10.0.0.0/33"};
  SyncServer server(std::move(options));
  EXPECT_EQ(server.Start().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::transport
