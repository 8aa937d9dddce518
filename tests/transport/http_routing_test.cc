// SyncServer's HTTP routes (SyncServerOptions::http_handler) beside the
// WebSocket sync on one port, with a fake handler and no relay: what reaches
// the handler, body limits, keep-alive and its limits, the Origin rule on
// upgrades, a slow or failing handler. The only time bound asserted is a
// lower one (min_latency); "closed" waits are generous caps.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sync/replica_change_store.h"
#include "tests/testing/test_util.h"
#include "tests/testing/websocket_client.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/served_test_util.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"
#include "web/http_message.h"
#include "web/text.h"

namespace daicho::testing {
namespace {

using std::chrono::milliseconds;
using transport::SyncOnce;
using transport::SyncServerOptions;

struct HttpAnswer {
  int status = 0;
  std::string head;  // status line and headers, names lower-cased
  std::string body;
  bool HasHeader(const std::string& lower_line) const { return head.find("\r\n" + lower_line + "\r\n") != head.npos; }
};

// One HTTP/1.1 client connection over raw loopback TCP, reading answers
// framed by their Content-Length.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port, const char* source = "127.0.0.1") : fd_(ConnectFrom(source, port)) {}
  ~HttpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool Send(const std::string& bytes) { return fd_ >= 0 && WriteAll(fd_, bytes.data(), bytes.size()); }

  // The next answer; nullopt when the server closed or was silent for 5 s
  // first. `head_request`: the answer to a HEAD has no body whatever its
  // Content-Length says.
  std::optional<HttpAnswer> Read(bool head_request = false) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    HttpAnswer answer;
    answer.head = web::AsciiLower(buffer_.substr(0, end + 2));
    buffer_.erase(0, end + 4);
    answer.status = std::stoi(answer.head.substr(9, 3));
    size_t length = 0;
    if (const size_t at = answer.head.find("\r\ncontent-length: "); at != std::string::npos) {
      length = std::stoul(answer.head.substr(at + 18));
    }
    if (head_request) length = 0;
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    answer.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return answer;
  }

  // Whether the server closed the connection (within 2 s) with nothing
  // more to read.
  bool Closed() { return buffer_.empty() && PeerClosed(fd_); }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || ::poll(&p, 1, 5000) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// A handler that records every request and answers 200 with the path as
// body, or what `answer` says when set. Thread-safe.
class Recorder {
 public:
  std::function<web::HttpResponse(const web::HttpRequest&)> answer;

  web::HttpHandler Handler() {
    return [this](const web::HttpRequest& request) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(request);
      }
      if (answer) return answer(request);
      web::HttpResponse response;
      response.headers = {{"Content-Type", "text/plain"}};
      response.body = request.path;
      return response;
    };
  }
  std::vector<web::HttpRequest> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<web::HttpRequest> seen_;
};

class HttpRoutingTest : public ::testing::Test {
 protected:
  // Starts the served replica's server with `options` plus /admin and /api/
  // routed to recorder_.
  Served& Serve(SyncServerOptions options = {}) {
    options.http_handler = recorder_.Handler();
    options.http_prefixes = {"/admin", "/api/"};
    return served_.emplace(*b_, std::move(options));
  }

  TempDir dir_;
  std::unique_ptr<Replica> b_ = OpenReplica(dir_, "b");
  Recorder recorder_;
  std::optional<Served> served_;
};

// ---------------------------------------------------------------------------
// 1. What reaches the handler.

TEST_F(HttpRoutingTest, GetAndPostReachTheHandlerWithEveryPartOfTheRequest) {
  Served& served = Serve();

  HttpConnection http(served.server->port(), "127.0.0.9");
  ASSERT_TRUE(http.Send(Get("/admin?lang=en", "X-Custom: Some Value\r\n")));
  auto got = http.Read();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "/admin");
  const std::string form = "user=taro%40example.jp&password=a+b";
  ASSERT_TRUE(
      http.Send("POST /admin/users?page=2&q=a%20b HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                std::to_string(form.size()) + "\r\n\r\n" + form));
  got = http.Read();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "/admin/users");

  const auto seen = recorder_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/admin?lang=en");
  EXPECT_EQ(seen[0].path, "/admin");
  EXPECT_EQ(seen[0].query, "lang=en");
  EXPECT_EQ(seen[0].Header("x-custom"), "Some Value") << "header names arrive lower-cased";
  EXPECT_EQ(seen[0].Header("host"), "127.0.0.1");
  EXPECT_EQ(seen[0].body, "");
  EXPECT_EQ(seen[0].peer_address, "127.0.0.9") << "the address without the port";
  EXPECT_FALSE(seen[0].tls);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].path, "/admin/users");
  EXPECT_EQ(seen[1].query, "page=2&q=a%20b") << "the query arrives undecoded";
  EXPECT_EQ(seen[1].Header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[1].body, form);
  EXPECT_EQ(seen[1].peer_address, "127.0.0.9");
}

TEST_F(HttpRoutingTest, AHandlersStatusAndHeadersAreSentAndHeadGetsNoBody) {
  recorder_.answer = [](const web::HttpRequest&) {
    web::HttpResponse response;
    response.status = 303;
    response.headers = {{"Location", "/admin/users"}, {"X-Frame-Options", "DENY"}};
    response.body = "see other";
    return response;
  };
  Served& served = Serve();

  HttpConnection http(served.server->port());
  ASSERT_TRUE(http.Send("HEAD /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto head = http.Read(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 303);
  EXPECT_TRUE(head->HasHeader("content-length: 9")) << head->head;
  // Had the body been sent, it would stand where the next answer's status line is read.
  ASSERT_TRUE(http.Send(Get("/admin")));
  auto get = http.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 303);
  EXPECT_TRUE(get->HasHeader("location: /admin/users")) << get->head;
  EXPECT_TRUE(get->HasHeader("x-frame-options: deny")) << get->head;
  EXPECT_EQ(get->body, "see other");
}

// ---------------------------------------------------------------------------
// 2. Routes and bodies.

TEST_F(HttpRoutingTest, OnlyPathsUnderThePrefixesReachTheHandlerAndHealthChecksStay) {
  Served& served = Serve();
  const uint16_t port = served.server->port();

  for (const char* routed : {"/admin", "/admin/", "/admin/users/x?y=1", "/api/", "/api/users"}) {
    const std::string answer = HttpExchange(port, Get(routed, "Connection: close\r\n"));
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << routed << ": " << answer;
  }
  for (const char* other : {"/administrator", "/api", "/", "/sync", "/Admin", "/elsewhere/admin"}) {
    const std::string answer = HttpExchange(port, Get(other));
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 404")) << other << ": " << answer;
  }
  EXPECT_EQ(recorder_.seen().size(), 5u);

  std::string answer = HttpExchange(port, Get("/healthz"));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200") && answer.ends_with("\r\n\r\nok")) << answer;
  answer = HttpExchange(port, Get("/readyz"));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200") && answer.ends_with("\r\n\r\nready")) << answer;
}

TEST_F(HttpRoutingTest, WithoutAHandlerThePrefixesRouteNothing) {
  SyncServerOptions options;
  options.http_prefixes = {"/admin"};
  Served served(*b_, options);
  const std::string answer = HttpExchange(served.server->port(), Get("/admin"));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 404")) << answer;
}

TEST_F(HttpRoutingTest, ARequestWithABodyOutsideTheRoutesIsRefusedAndClosed) {
  Served& served = Serve();

  HttpConnection http(served.server->port());
  ASSERT_TRUE(http.Send("POST /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n\r\nabc"));
  auto got = http.Read();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 404);
  EXPECT_TRUE(http.Closed());
  EXPECT_TRUE(recorder_.seen().empty());
}

TEST_F(HttpRoutingTest, ABodyAboveTheLimitIsAnswered413AndNeverReachesTheHandler) {
  SyncServerOptions options;
  options.max_http_body_bytes = 16;
  Served& served = Serve(options);
  const uint16_t port = served.server->port();
  const std::string post = "POST /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n";

  {
    HttpConnection http(port);
    ASSERT_TRUE(http.Send(post + "Content-Length: 16\r\n\r\n" + std::string(16, 'a')));
    auto got = http.Read();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 200) << "a body of exactly the limit is fine";
  }
  {
    HttpConnection http(port);
    ASSERT_TRUE(http.Send(post + "Content-Length: 17\r\n\r\n" + std::string(17, 'a')));
    auto got = http.Read();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 413);
    EXPECT_TRUE(http.Closed());
  }
  {
    // Chunked: no length up front, refused once the chunks pass the limit.
    HttpConnection http(port);
    ASSERT_TRUE(http.Send(post + "Transfer-Encoding: chunked\r\n\r\n10\r\n" + std::string(16, 'a') +
                          "\r\n1\r\na\r\n0\r\n\r\n"));
    auto got = http.Read();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 413);
    EXPECT_TRUE(http.Closed());
  }
  const auto seen = recorder_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, std::string(16, 'a'));
}

// An upload path named in http_upload_paths takes a body up to its own cap
// (other paths keep max_http_body_bytes), and such a body is held in the
// input budget: one beyond what the budget has room for is closed, not read.
TEST_F(HttpRoutingTest, AnUploadPathTakesALargerBodyWithinTheInputBudget) {
  SyncServerOptions options;
  options.max_http_body_bytes = 16;
  options.http_upload_paths = {{"/admin/upload", 64}};
  options.max_buffered_bytes = 100;
  Served& served = Serve(options);
  const uint16_t port = served.server->port();
  auto post = [&](const std::string& target, size_t bytes) {
    HttpConnection http(port);
    EXPECT_TRUE(http.Send("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                          std::to_string(bytes) + "\r\n\r\n" + std::string(bytes, 'u')));
    std::optional<HttpAnswer> got = http.Read();
    return got ? got->status : 0;
  };
  EXPECT_EQ(post("/admin/upload?dry_run=1", 64), 200) << "the query string is not part of the path";
  EXPECT_EQ(post("/admin/upload", 65), 413);
  EXPECT_EQ(post("/admin/other", 17), 413) << "other paths keep the small cap";
  const auto seen = recorder_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body.size(), 64u);

  SyncServerOptions tight = options;
  tight.http_upload_paths = {{"/admin/upload", 1000}};
  Served& small_budget = Serve(tight);
  HttpConnection http(small_budget.server->port());
  ASSERT_TRUE(http.Send("POST /admin/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n" +
                        std::string(500, 'u')));
  EXPECT_FALSE(http.Read()) << "500 bytes do not fit a budget of 100: closed, never handled";
  EXPECT_EQ(recorder_.seen().size(), 1u);
}

// ---------------------------------------------------------------------------
// 3. Keep-alive.

// GETs /admin/1, then /admin/2 with `second_headers`, on one connection of
// `served`: both reach the handler and are answered in order, the first
// kept open, the second with Connection: close, after which the server
// closes.
void ExpectTwoAnswersThenClose(Served& served, Recorder& recorder, const std::string& second_headers) {
  HttpConnection http(served.server->port());
  ASSERT_TRUE(http.Send(Get("/admin/1")));
  auto first = http.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "/admin/1");
  EXPECT_FALSE(first->HasHeader("connection: close")) << first->head;
  ASSERT_TRUE(http.Send(Get("/admin/2", second_headers)));
  auto second = http.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "/admin/2");
  EXPECT_TRUE(second->HasHeader("connection: close")) << second->head;
  EXPECT_TRUE(http.Closed());
  EXPECT_EQ(recorder.seen().size(), 2u);
}

TEST_F(HttpRoutingTest, KeepAliveServesRequestsOneAfterAnotherUntilTheClientSaysClose) {
  Served& served = Serve();
  ExpectTwoAnswersThenClose(served, recorder_, "Connection: close\r\n");
}

TEST_F(HttpRoutingTest, AConnectionServesAtMostMaxRequestsPerConnection) {
  SyncServerOptions options;
  options.max_requests_per_connection = 2;
  Served& served = Serve(options);
  ExpectTwoAnswersThenClose(served, recorder_, "");
}

TEST_F(HttpRoutingTest, AnIdleKeepAliveConnectionIsClosedAtTheIdleTimeout) {
  SyncServerOptions options;
  options.http_idle_timeout = milliseconds(200);
  Served& served = Serve(options);

  HttpConnection http(served.server->port());
  ASSERT_TRUE(http.Send(Get("/admin")));
  auto got = http.Read();
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->HasHeader("connection: close")) << got->head;
  EXPECT_TRUE(http.Closed()) << "an idle keep-alive connection was never closed";
}

// ---------------------------------------------------------------------------
// 4. The Origin rule on WebSocket upgrades.

TEST_F(HttpRoutingTest, AForeignOriginIsRefusedTheUpgradeAndNoOriginOrTheSameOriginSync) {
  auto a = OpenReplica(dir_, "a");
  Write(*a, "x", "name", "from a");
  Served served(*b_, SyncServerOptions{});
  const std::string self = "http://127.0.0.1:" + std::to_string(served.server->port());

  auto foreign = WebSocketClient::Connect(served.url("/sync"), {}, "http://evil.example");
  EXPECT_FALSE(foreign.ok()) << "the upgrade was accepted from a foreign origin";
  const std::string answer =
      HttpExchange(served.server->port(),
                   "GET /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: null\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 403")) << answer;
  EXPECT_TRUE(served.log.Has("origin not allowed")) << ::testing::PrintToString(served.log.lines());

  auto same = WebSocketClient::Connect(served.url("/sync"), {}, self);
  ASSERT_DAICHO_OK(same);
  LogIn(**same);

  // The desktop PCs' client sends no Origin.
  sync::ReplicaChangeStore store(*a);
  auto synced = SyncOnce(served.url("/sync"), store, a->id(), sync::SessionOptions{});
  ASSERT_DAICHO_OK(synced);
  EXPECT_EQ(synced->changes_up, 1u);
  EXPECT_EQ(b_->GetVersionVector()->Get(a->id()), 1u);
}

TEST_F(HttpRoutingTest, ConfiguredOriginsReplaceTheSameOriginRuleOnUpgrades) {
  SyncServerOptions options;
  options.allowed_origins = {"https://panel.example"};
  Served served(*b_, options);
  const std::string self = "http://127.0.0.1:" + std::to_string(served.server->port());

  auto listed = WebSocketClient::Connect(served.url(), {}, "https://panel.example");
  ASSERT_DAICHO_OK(listed);
  LogIn(**listed);
  EXPECT_FALSE(WebSocketClient::Connect(served.url(), {}, self).ok()) << "the own origin is not listed";
  EXPECT_DAICHO_OK(WebSocketClient::Connect(served.url()));
}

// ---------------------------------------------------------------------------
// 5. Slow and failing handlers.

// Holds whoever calls Enter() until Open(). Thread-safe.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [this] { return entered_; });
  }
  bool Closed() {
    std::lock_guard lock(mu_);
    return !open_;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

TEST_F(HttpRoutingTest, ABlockedHandlerDoesNotStallASyncOnTheSameServer) {
  auto a = OpenReplica(dir_, "a");
  Write(*a, "x", "name", "from a");
  Gate gate;
  recorder_.answer = [&gate](const web::HttpRequest&) {
    gate.Enter();
    return web::HttpResponse{200, {}, "done", {}};
  };
  SyncServerOptions options;
  options.threads = 1;  // one frame thread: a handler run on it would stall everything
  Served& served = Serve(options);

  std::optional<HttpAnswer> slow_answer;
  std::thread slow([&] {
    HttpConnection http(served.server->port());
    if (http.Send(Get("/admin/slow"))) slow_answer = http.Read();
  });
  const bool entered = gate.WaitEntered();
  // While the handler holds its HTTP thread, a PC syncs (the default
  // handshake timeout ends it if the frame thread is stalled).
  sync::ReplicaChangeStore store(*a);
  auto synced = entered ? SyncOnce(served.url(), store, a->id(), sync::SessionOptions{})
                        : Result<transport::SyncReport>(Status(Code::kInternal, "the handler was never called"));
  const bool handler_still_blocked = gate.Closed();
  gate.Open();
  slow.join();
  ASSERT_DAICHO_OK(synced);
  EXPECT_EQ(synced->changes_up, 1u);
  EXPECT_TRUE(handler_still_blocked);
  ASSERT_TRUE(slow_answer);
  EXPECT_EQ(slow_answer->body, "done");
}

TEST_F(HttpRoutingTest, TheAnswerWaitsForTheHandlersMinLatency) {
  recorder_.answer = [](const web::HttpRequest&) {
    web::HttpResponse response;
    response.body = "floored";
    response.min_latency = milliseconds(300);
    return response;
  };
  Served& served = Serve();

  HttpConnection http(served.server->port());
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_TRUE(http.Send(Get("/admin/reset")));
  auto got = http.Read();
  const auto waited = std::chrono::steady_clock::now() - sent;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "floored");
  EXPECT_GE(waited, milliseconds(300));
}

TEST_F(HttpRoutingTest, AThrowingOrMalformedHandlerGets500AndTheServerKeepsServing) {
  recorder_.answer = [](const web::HttpRequest& request) {
    if (request.path == "/admin/throw") throw std::runtime_error("handler bug");
    web::HttpResponse response;
    response.body = "fine";
    if (request.path == "/admin/forge") response.headers = {{"Location", "/x\r\nSet-Cookie: s=forged"}};
    return response;
  };
  Served& served = Serve();

  HttpConnection http(served.server->port());
  for (const char* path : {"/admin/throw", "/admin/forge"}) {
    ASSERT_TRUE(http.Send(Get(path)));
    auto got = http.Read();
    ASSERT_TRUE(got) << path;
    EXPECT_EQ(got->status, 500) << path;
    EXPECT_EQ(got->head.find("set-cookie"), std::string::npos) << got->head;
  }
  ASSERT_TRUE(http.Send(Get("/admin/ok")));
  auto ok = http.Read();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "fine");
  EXPECT_TRUE(served.log.Has("event=http_handler_failed")) << ::testing::PrintToString(served.log.lines());
  EXPECT_TRUE(served.log.Has("handler bug")) << ::testing::PrintToString(served.log.lines());
}

}  // namespace
}  // namespace daicho::testing
