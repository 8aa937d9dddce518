#include "transport/websocket.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/peer_channel.h"
#include "transport/asio.h"
#include "transport/log_line.h"
#include "transport/url.h"

namespace daicho::transport {
namespace {

using detail::tcp;
namespace asio = detail::asio;
namespace beast = detail::beast;
namespace websocket = detail::websocket;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;
namespace ssl = boost::asio::ssl;
using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// Where an error came from: the network (peer, socket, handshake) or the
// local setup (addresses, certificate and key files) the caller gave us.
enum class ErrorSite { kNetwork, kSetup };

// The one place where Asio/Beast errors become daicho codes.
Status StatusFromError(const error_code& ec, std::string_view what, ErrorSite site = ErrorSite::kNetwork) {
  std::string message = std::string(what) + ": " + ec.message();
  if (site == ErrorSite::kSetup) return Status(Code::kInvalidArgument, std::move(message));
  if (ec == websocket::error::message_too_big || ec == beast::http::error::body_limit ||
      ec == beast::http::error::header_limit) {
    return Status(Code::kResourceExhausted, std::move(message));
  }
  if (ec == websocket::error::closed || ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Status(Code::kUnavailable, std::move(message));
  }
  // Broken framing or a bad HTTP upgrade: the peer does not speak WebSocket.
  if (ec.category() == websocket::make_error_code(websocket::error::closed).category() ||
      ec.category() == beast::http::make_error_code(beast::http::error::end_of_stream).category()) {
    return Status(Code::kProtocolError, std::move(message));
  }
  // Refused, unreachable, reset, EOF, resolver failures: the peer cannot be
  // reached now, which is what callers retry on.
  return Status(Code::kUnavailable, std::move(message));
}

template <class Stream>
void ConfigureStream(Stream& ws, const WebSocketOptions& options) {
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = options.handshake_timeout;
  timeout.idle_timeout = options.idle_timeout;
  // Pings let a live but quiet peer (live mode) survive idle_timeout while a
  // dead or stuck one is dropped.
  timeout.keep_alive_pings = true;
  ws.set_option(timeout);
  // Compression would let a small frame inflate past our memory limits and
  // costs CPU on the relay; payloads are compact already.
  websocket::permessage_deflate deflate;
  deflate.server_enable = false;
  deflate.client_enable = false;
  ws.set_option(deflate);
  ws.read_message_max(options.max_frame_bytes);
  ws.binary(true);
}

// Small frames (an Ack, the last batch, the close) must go out at once:
// with Nagle's algorithm and delayed ACKs each round trip could wait ~40 ms.
void SetNoDelay(tcp::socket& socket) {
  error_code ignored;  // only a latency optimisation
  socket.set_option(tcp::no_delay(true), ignored);
}

// The peer's address and port ("?" when the socket is already gone).
struct PeerEndpoint {
  std::string address;
  std::string text;  // address:port
};

PeerEndpoint RemoteEndpoint(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return {"?", "?"};
  std::string address = ep.address().to_string();
  return {address, address + ":" + std::to_string(ep.port())};
}

// What the server needs of a connection of either stream type to stop it.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual asio::any_io_executor executor() = 0;
  // Strand only.
  virtual void Abort(Status why) = 0;
  // The shared store gained changes through another connection: push them.
  // Strand only.
  virtual void PushLocalChanges() = 0;

  // The peer proved the office key (PeerAuth handshake). Strand only.
  virtual bool peer_authenticated() const = 0;
  // Ends the session with an Error carrying `reason`; frames not yet written
  // are dropped. Strand only.
  virtual void EndSession(Status why, sync::ErrorReason reason) = 0;

  // A server connection whose login no longer holds (AcceptedSession::
  // recheck_login) ends, telling the peer why. Strand only.
  void RecheckLogin() {
    if (!recheck_login) return;
    Status still = recheck_login();
    if (still.ok()) return;
    // Only a refused login ends the session; a storage hiccup does not. A
    // login no longer allowed (a disabled contract or user) is not revoked:
    // the PC keeps its saved login for when it is enabled again.
    if (still.code() == Code::kPermissionDenied) {
      EndSession(Status(Code::kPermissionDenied, "login no longer allowed while connected: " + still.message()),
                 sync::ErrorReason::kNone);
      return;
    }
    if (still.code() != Code::kUnauthenticated) return;
    EndSession(Status(Code::kUnauthenticated, "login revoked while connected: " + still.message()),
               sync::ErrorReason::kLoginRevoked);
  }

  // AcceptedSession::recheck_login, set at the Hello. Strand only.
  std::function<Status()> recheck_login;
  // What the admission (store_factory, run off the strand while the reader
  // waits for it) granted, taken over on the strand once it is back.
  std::function<Status()> admitted_recheck_login;
  std::string admitted_group;

  // AcceptedSession::group, set once at the Hello; guarded by the hub's groups mutex.
  std::string group;

  // Server bookkeeping (ServerHub), guarded by the hub's mutex.
  std::weak_ptr<ConnectionBase> self;
  std::string address;      // the peer's IP address (caps per address)
  std::string peer_text;    // address:port, for log lines
  uint64_t serial = 0;      // accept order: lower is older
  size_t buffered = 0;      // input buffered now (counted in the budget)
  bool unfinished = false;  // part of a message: the buffer may be shed
  bool counted = false;     // holds a place under the caps
  bool logged_in = false;   // past the Welcome: shed last
  std::string contract;     // the Hello's, once logged in
  std::string user;
  std::string device;

  // No session line when it ends: it was a plain HTTP request or refused
  // at a cap (logged as such). Set before it starts or on its strand.
  bool quiet = false;
};

// A line per hostile event, at most one a second per kind: a flood of
// connections must not become a flood of log lines. Thread-safe.
class EventLog {
 public:
  explicit EventLog(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}

  // `kind` groups events for the rate limit; the line says how many of its
  // kind were left out since the last one written.
  void Write(const std::string& kind, LogLine line) {
    if (!sink_) return;
    std::lock_guard<std::mutex> lock(mu_);
    Limit& limit = limits_[kind];
    const auto now = std::chrono::steady_clock::now();
    if (limit.written && now - limit.last < kInterval) {
      ++limit.left_out;
      return;
    }
    if (limit.left_out > 0) line.Add("left_out", limit.left_out);
    limit = Limit{true, now, 0};
    try {
      sink_(line.str());
    } catch (...) {
      // A throwing logger must not end a server thread.
    }
  }

 private:
  static constexpr auto kInterval = std::chrono::seconds(1);
  struct Limit {
    bool written = false;
    std::chrono::steady_clock::time_point last;
    uint64_t left_out = 0;
  };
  const std::function<void(const std::string&)> sink_;
  std::mutex mu_;
  std::unordered_map<std::string, Limit> limits_;  // guarded by mu_
};

// A line about one connection, with who it is as far as known.
LogLine ConnectionEvent(std::string_view event, std::string_view reason, const std::string& peer,
                        const std::string& contract = "", const std::string& user = "",
                        const std::string& device = "") {
  LogLine line(event);
  line.AddQuoted("reason", reason);
  line.Add("peer", peer).Add("contract", contract).Add("user", user).Add("device", device);
  return line;
}

std::string Mebibytes(size_t bytes) {
  const size_t tenths = (bytes * 10 + (size_t{1} << 19)) >> 20;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

// What a server's connections share: the caps on open connections, the
// budget for buffered input, the groups, the admission pool and the event
// log. Held by every server connection, so it outlives them all. Lock order:
// groups_mu_ before mu_ (a connection's last reference may drop under
// groups_mu_, and its destructor takes mu_).
class ServerHub {
 public:
  ServerHub(SyncServerOptions options, asio::any_io_executor admission)
      : options_(std::move(options)), admission_(std::move(admission)), events_(options_.log) {}

  const SyncServerOptions& options() const { return options_; }
  EventLog& events() { return events_; }
  // Where store_factory runs: off the threads that move frames.
  const asio::any_io_executor& admission_executor() const { return admission_; }

  bool PathAccepted(std::string_view target) const {
    target = target.substr(0, target.find('?'));
    for (const std::string& path : options_.paths) {
      if (target == path) return true;
    }
    return false;
  }

  bool Ready() const { return !options_.ready || options_.ready(); }

  // Gives `conn` a place under the caps, closing the oldest connection not
  // logged in (of its address, or of all) to make room; false when there is
  // none to close (or the server is stopping): refuse `conn`.
  bool Register(const std::shared_ptr<ConnectionBase>& conn) {
    std::vector<std::shared_ptr<ConnectionBase>> evicted;
    bool admitted = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      admitted = MakeRoom(conn->address, evicted);
      if (admitted) {
        conn->self = conn;
        conn->serial = ++serial_;
        conn->counted = true;
        ++open_;
        ++per_address_[conn->address];
        live_.push_back(conn.get());
      } else {
        ++refused_;
      }
    }
    for (auto& victim : evicted) {
      const std::string why = "closed to make room for a new connection: connection cap reached";
      events_.Write("shed_cap", ConnectionEvent("connection_shed", why, victim->peer_text));
      asio::post(victim->executor(), [victim, why] { victim->Abort(Status(Code::kResourceExhausted, why)); });
    }
    if (!admitted) {
      events_.Write("refused",
                    ConnectionEvent("connection_refused", "connection cap reached and every connection is logged in",
                                    conn->peer_text));
    }
    return admitted;
  }

  // The connection is gone (its destructor).
  void Release(ConnectionBase& conn) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(live_, &conn);
    Uncount(conn);
  }

  void MarkLoggedIn(ConnectionBase& conn, const sync::Hello* hello) {
    std::lock_guard<std::mutex> lock(mu_);
    conn.logged_in = true;
    if (hello) {
      conn.contract = hello->contract;
      conn.user = hello->user;
      conn.device = ShortDeviceId(hello->replica_id);
    }
  }

  // `conn` now buffers `bytes` of input, `unfinished` if part of a message.
  // Over the budget, the largest buffers of unfinished messages are shed
  // (a message being handled is on its way out), those not logged in first;
  // false when `conn` itself was (the caller closes it).
  bool Account(ConnectionBase& conn, size_t bytes, bool unfinished) {
    std::vector<std::shared_ptr<ConnectionBase>> shed;
    bool self_shed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!conn.counted) return false;  // shed already
      buffered_ = buffered_ - conn.buffered + bytes;
      conn.buffered = bytes;
      conn.unfinished = unfinished;
      while (buffered_ > options_.max_buffered_bytes) {
        ConnectionBase* largest = nullptr;
        for (ConnectionBase* c : live_) {
          if (!c->counted || !c->unfinished || c->buffered == 0) continue;
          if (!largest || (largest->logged_in && !c->logged_in) ||
              (largest->logged_in == c->logged_in && c->buffered > largest->buffered)) {
            largest = c;
          }
        }
        if (!largest) break;
        const std::string why = "closed: buffered input over the " + Mebibytes(options_.max_buffered_bytes) +
                                " budget, and this connection " + (largest->logged_in ? "logged in" : "not logged in") +
                                " held the largest (" + Mebibytes(largest->buffered) + ")";
        events_.Write(largest->logged_in ? "shed_budget_logged_in" : "shed_budget",
                      ConnectionEvent("connection_shed", why, largest->peer_text, largest->contract, largest->user,
                                      largest->device));
        Uncount(*largest);
        ++shed_;
        if (largest == &conn) {
          self_shed = true;
        } else if (auto victim = largest->self.lock()) {
          shed.push_back(std::move(victim));
        }
      }
      peak_buffered_ = std::max(peak_buffered_, buffered_);
    }
    for (auto& victim : shed) {
      asio::post(victim->executor(),
                 [victim] { victim->Abort(Status(Code::kResourceExhausted, "buffered input over the budget")); });
    }
    return !self_shed;
  }

  // Every live connection, and no new one from now on.
  std::vector<std::shared_ptr<ConnectionBase>> Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    return LiveLocked();
  }

  std::vector<std::shared_ptr<ConnectionBase>> Live() {
    std::lock_guard<std::mutex> lock(mu_);
    return LiveLocked();
  }

  SyncServerStats Stats() {
    std::lock_guard<std::mutex> lock(mu_);
    SyncServerStats stats;
    for (const ConnectionBase* c : live_) {
      if (!c->counted) continue;
      ++stats.open_connections;
      stats.logged_in_connections += c->logged_in ? 1 : 0;
    }
    stats.buffered_bytes = buffered_;
    stats.peak_buffered_bytes = peak_buffered_;
    stats.refused_connections = refused_;
    stats.shed_connections = shed_;
    return stats;
  }

  void JoinGroup(std::string group, const std::shared_ptr<ConnectionBase>& conn) {
    std::lock_guard<std::mutex> lock(groups_mu_);
    conn->group = group;
    auto& members = groups_[group];
    std::erase_if(members, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
    members.push_back(conn);
  }

  // `from` applied a batch to its group's store: every other member pushes.
  void PushToGroup(ConnectionBase& from) {
    std::lock_guard<std::mutex> lock(groups_mu_);
    if (from.group.empty()) return;
    auto it = groups_.find(from.group);
    if (it == groups_.end()) return;
    std::erase_if(it->second, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
    for (const auto& weak : it->second) {
      auto conn = weak.lock();
      if (!conn || conn.get() == &from) continue;
      asio::post(conn->executor(), [conn] { conn->PushLocalChanges(); });
    }
    if (it->second.empty()) groups_.erase(it);
  }

 private:
  // Frees a place for a connection from `address`; false if none can be.
  bool MakeRoom(const std::string& address, std::vector<std::shared_ptr<ConnectionBase>>& evicted) {
    const auto from_address = per_address_.find(address);
    const size_t open_from_address = from_address == per_address_.end() ? 0 : from_address->second;
    if (open_from_address >= options_.max_connections_per_address && !EvictOldest(&address, evicted)) {
      return false;
    }
    return open_ < options_.max_connections || EvictOldest(nullptr, evicted);
  }

  // Closes the oldest connection not logged in (of `address`, if given).
  bool EvictOldest(const std::string* address, std::vector<std::shared_ptr<ConnectionBase>>& evicted) {
    ConnectionBase* oldest = nullptr;
    for (ConnectionBase* c : live_) {
      if (!c->counted || c->logged_in || (address && c->address != *address)) continue;
      if (!oldest || c->serial < oldest->serial) oldest = c;
    }
    if (!oldest) return false;
    Uncount(*oldest);
    ++shed_;
    if (auto victim = oldest->self.lock()) evicted.push_back(std::move(victim));
    return true;
  }

  // Gives up `conn`'s place and buffer budget (once). Locked.
  void Uncount(ConnectionBase& conn) {
    if (!conn.counted) return;
    conn.counted = false;
    buffered_ -= conn.buffered;
    conn.buffered = 0;
    --open_;
    if (auto it = per_address_.find(conn.address); it != per_address_.end() && --it->second == 0) {
      per_address_.erase(it);
    }
  }

  std::vector<std::shared_ptr<ConnectionBase>> LiveLocked() {
    std::vector<std::shared_ptr<ConnectionBase>> live;
    for (ConnectionBase* c : live_) {
      if (auto conn = c->self.lock()) live.push_back(std::move(conn));
    }
    return live;
  }

  const SyncServerOptions options_;
  const asio::any_io_executor admission_;
  EventLog events_;
  std::mutex mu_;
  std::vector<ConnectionBase*> live_;                    // guarded by mu_
  std::unordered_map<std::string, size_t> per_address_;  // guarded by mu_
  size_t open_ = 0;                                      // guarded by mu_
  size_t buffered_ = 0;                                  // guarded by mu_
  size_t peak_buffered_ = 0;                             // guarded by mu_
  uint64_t serial_ = 0;                                  // guarded by mu_
  uint64_t refused_ = 0;                                 // guarded by mu_
  uint64_t shed_ = 0;                                    // guarded by mu_
  bool stopping_ = false;                                // guarded by mu_
  std::mutex groups_mu_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<ConnectionBase>>> groups_;  // guarded by groups_mu_
};

constexpr std::string_view kPeerChannelMagic = "DPC1";

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();
// Input is read (and counted against the server's budget) in pieces of at
// most this many bytes.
constexpr size_t kReadChunkBytes = size_t{64} << 10;
// A connection keeps a read buffer up to this size between messages and
// gives a larger one back.
constexpr size_t kKeptBufferBytes = size_t{64} << 10;
// The HTTP request line and headers before an upgrade, at most.
constexpr uint32_t kMaxRequestHeaderBytes = 8u << 10;

// The request's target ("/path?query") as a std::string_view.
std::string_view TargetOf(const http::request<http::empty_body>& request) {
  const auto target = request.target();
  return std::string_view(target.data(), target.size());
}

std::string Seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

Status ConfigureClientTls(ssl::context& ctx, const WebSocketOptions& options) {
  error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  if (options.tls_ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(options.tls_ca_file, ec);
  }
  if (ec) return StatusFromError(ec, "TLS CA file " + options.tls_ca_file, ErrorSite::kSetup);
  ctx.set_verify_mode(ssl::verify_peer, ec);
  return Status::Ok();
}

// One WebSocket connection running one SyncSession. Everything here runs on
// the connection's strand (the stream's executor); the shared_ptr keeps it
// alive while its reader and writer coroutines are pending.
template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  // `hub` (server only; null for a client) holds what the server's
  // connections share; `hooks` are the client's.
  Connection(Stream ws, std::unique_ptr<sync::ChangeStore> owned_store, sync::ChangeStore& store,
             sync::SessionOptions session, ReplicaId local_id, WebSocketOptions options, std::string peer,
             std::function<void(const std::string&)> log, std::shared_ptr<ServerHub> hub, SyncHooks hooks)
      : ws_(std::move(ws)),
        signal_(ws_.get_executor()),
        poll_(ws_.get_executor()),
        deadline_(ws_.get_executor()),
        owned_store_(std::move(owned_store)),
        session_(store, std::move(session), local_id),
        options_(options),
        peer_(std::move(peer)),
        log_(std::move(log)),
        hub_(std::move(hub)),
        hooks_(std::move(hooks)) {
    ConfigureStream(ws_, options_);
    if (options_.peer_auth) {
      channel_.emplace(session_.options().role == sync::SessionRole::kInitiator ? crypto::PeerChannel::Role::kInitiator
                                                                                : crypto::PeerChannel::Role::kAcceptor,
                       options_.peer_auth->contract, options_.peer_auth->ring);
      // Sealed frames carry a tag more than the session's frame limit.
      ws_.read_message_max(options_.max_frame_bytes + crypto::kFrameOverheadBytes);
    }
  }

  bool peer_authenticated() const override { return channel_ && channel_->established(); }

  ~Connection() override {
    if (hub_) hub_->Release(*this);
    if (!log_ || quiet) return;
    try {
      const sync::SessionStats& s = session_.stats();
      const std::optional<sync::Hello>& hello = session_.peer_hello();
      LogLine line("session_end");
      line.Add("peer", peer_)
          .Add("contract", hello ? hello->contract : "")
          .Add("user", hello ? hello->user : "")
          .Add("device", hello ? ShortDeviceId(hello->replica_id) : "");
      if (hello && !hello->device_name.empty()) line.Add("device_name", hello->device_name);
      // Directions as the connecting PC sees them: what it uploaded is what
      // this server received.
      line.AddQuoted("outcome", Outcome().ToString())
          .Add("changes_uploaded", s.changes_received)
          .Add("changes_downloaded", s.changes_sent)
          .Add("bytes_uploaded", s.frame_bytes_received)
          .Add("bytes_downloaded", s.frame_bytes_sent);
      log_(line.str());
    } catch (...) {
      // Logging must not throw out of a destructor.
    }
  }

  asio::any_io_executor executor() override { return ws_.get_executor(); }
  const sync::SyncSession& session() const { return session_; }

  // Why the connection ended: the session's failure first (sent or
  // received Error), then the first transport event.
  Status Outcome() const {
    if (session_.state() == sync::SessionState::kFailed) return session_.status();
    if (outcome_) return *outcome_;
    return Status(Code::kUnavailable, "connection ended before the sync completed");
  }

  // Ends the connection now (no close handshake). Strand only.
  void Abort(Status why) override {
    Finish(std::move(why));
    stopped_ = true;
    error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
    signal_.cancel();
    poll_.cancel();
    deadline_.cancel();
  }

  void EndSession(Status why, sync::ErrorReason reason) override {
    if (stopped_ || close_after_queue_) return;
    std::vector<std::string> error = session_.End(std::move(why), reason);
    queue_.clear();  // nothing more moves on this session
    if (Enqueue(std::move(error))) RequestClose();
  }

  void PushLocalChanges() override {
    if (stopped_ || close_after_queue_) return;
    auto out = session_.OnLocalCommit();
    if (!out.ok()) return;  // the session already failed; its reader ends it
    if (!Enqueue(std::move(out).value())) return;
    if (session_.state() == sync::SessionState::kFailed) RequestClose();
  }

  static awaitable<void> RunServer(std::shared_ptr<Connection> self) {
    try {
      error_code ec;
      auto& layer = beast::get_lowest_layer(self->ws_);
      // TLS and the HTTP request share the handshake timeout.
      layer.expires_after(self->options_.handshake_timeout);
      if constexpr (kIsTls<Stream>) {
        co_await self->ws_.next_layer().async_handshake(ssl::stream_base::server,
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
          self->Abort(StatusFromError(ec, "TLS handshake"));
          co_return;
        }
      }
      // The request is read here, not by the WebSocket layer, so that a path
      // can be refused and a health check answered without an upgrade.
      beast::flat_buffer request_buffer;
      http::request_parser<http::empty_body> parser;
      parser.header_limit(kMaxRequestHeaderBytes);
      co_await http::async_read(self->ws_.next_layer(), request_buffer, parser,
                                asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "HTTP request"));
        co_return;
      }
      layer.expires_never();
      http::request<http::empty_body> request = parser.release();
      if (!websocket::is_upgrade(request) || !self->hub_->PathAccepted(TargetOf(request))) {
        co_await self->AnswerHttp(request);
        co_return;
      }
      co_await self->ws_.async_accept(request, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "websocket accept"));
        co_return;
      }
      // Until the login is complete: a small message limit and the login
      // deadlines, which pings do not extend.
      self->ws_.read_message_max(self->options_.max_login_message_bytes);
      const auto upgraded = Clock::now();
      self->hello_deadline_ = upgraded + self->options_.hello_timeout;
      self->login_deadline_ = upgraded + self->options_.login_timeout;
      asio::co_spawn(self->executor(), Watchdog(self), asio::detached);
      std::optional<std::string> first;
      if (self->channel_) {
        if (!co_await self->ReadMessage()) co_return;
        first = self->ReadText();
        if (first->starts_with(kPeerChannelMagic)) {
          if (!co_await self->AcceptPeerHandshake(std::move(*first))) co_return;
          first.reset();
        } else {
          // No handshake: a plain session that may only reach the
          // unauthenticated store factory.
          self->channel_.reset();
        }
      }
      self->StartWriter();
      if (first) {
        const bool handled = co_await self->HandleMessage(*first);
        if (!handled) co_return;
      }
      co_await self->ReadFrames();
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("server connection: ") + e.what()));
    }
  }

  static awaitable<void> RunClient(std::shared_ptr<Connection> self, Url url) {
    try {
      error_code ec;
      tcp::resolver resolver(self->executor());
      const auto endpoints =
          co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "resolve " + url.host));
        co_return;
      }
      auto& layer = beast::get_lowest_layer(self->ws_);
      layer.expires_after(self->options_.handshake_timeout);
      co_await layer.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "connect " + url.Authority()));
        co_return;
      }
      SetNoDelay(layer.socket());
      if constexpr (kIsTls<Stream>) {
        auto& tls = self->ws_.next_layer();
        // SNI is for names only; an IP address is still checked against the
        // certificate by host_name_verification.
        error_code not_ip;
        asio::ip::make_address(url.host, not_ip);
        if (not_ip && !SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str())) {
          self->Abort(Status(Code::kInvalidArgument, "TLS: bad server name " + url.host));
          co_return;
        }
        tls.set_verify_callback(ssl::host_name_verification(url.host));
        co_await tls.async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
        if (ec) {
          self->Abort(StatusFromError(ec, "TLS handshake with " + url.Authority()));
          co_return;
        }
      }
      // From here the WebSocket timeouts (stream_base::timeout) apply.
      layer.expires_never();
      co_await self->ws_.async_handshake(url.Authority(), url.target, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "websocket handshake with " + url.Authority()));
        co_return;
      }
      if (self->channel_ && !co_await self->OfferPeerHandshake()) co_return;
      auto hello = self->session_.Start();
      if (!hello.ok()) {
        self->Abort(hello.status());
        co_return;
      }
      self->StartWriter();
      if (!self->Enqueue(std::move(hello).value())) co_return;
      if (self->watching() || self->hooks_.stop.stop_possible()) {
        asio::co_spawn(self->executor(), PollLoop(self), asio::detached);
      }
      co_await self->ReadFrames();
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("client connection: ") + e.what()));
    }
  }

  bool client() const { return session_.options().role == sync::SessionRole::kInitiator; }
  bool watching() const { return client() && session_.options().purpose == sync::Purpose::kWatch; }
  // A connect test or key publish moves no changes: the Welcome alone is the success.
  bool ConnectTestDone() const {
    return !sync::ExchangesChanges(session_.options().purpose) && session_.state() == sync::SessionState::kOpen;
  }

 private:
  void Finish(Status why) {
    if (!outcome_) outcome_ = std::move(why);
  }

  void StartWriter() { asio::co_spawn(executor(), WriteLoop(this->shared_from_this()), asio::detached); }

  // Queues frames for the writer. False (and the connection is aborted) when
  // the bound is reached: a peer that does not read must not grow our memory.
  bool Enqueue(std::vector<std::string> frames) {
    for (std::string& frame : frames) {
      if (queue_.size() >= options_.max_queued_frames) {
        Abort(Status(Code::kResourceExhausted,
                     "send queue full (" + std::to_string(options_.max_queued_frames) + " frames)"));
        return false;
      }
      if (peer_authenticated()) {
        // Sealed here, in queue order, which is the order they are written.
        auto sealed = channel_->Seal(frame);
        if (!sealed.ok()) {
          Abort(sealed.status());
          return false;
        }
        frame = std::move(sealed).value();
      }
      queue_.push_back(std::move(frame));
    }
    signal_.cancel();
    return true;
  }

  // Reads one whole message into read_buffer_ (see ReadView), frame by
  // frame so that a server counts the bytes as they arrive against its
  // budget and times an unfinished message. False once the connection is
  // over (aborted here). `close_is_ok`: the peer closing ends the session
  // well (a server's client closes when done).
  awaitable<bool> ReadMessage(bool close_is_ok = false) {
    read_buffer_.clear();
    for (;;) {
      error_code ec;
      co_await ws_.async_read_some(read_buffer_, kReadChunkBytes, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (close_is_ok && ec == websocket::error::closed) Finish(Status::Ok());
        Abort(StatusFromError(ec, "read"));
        co_return false;
      }
      const bool done = ws_.is_message_done();
      if (hub_) {
        if (!hub_->Account(*this, read_buffer_.capacity(), !done)) {
          Abort(Status(Code::kResourceExhausted, "closed to make room for others (connection cap or input budget)"));
          co_return false;
        }
        if (done) {
          message_deadline_ = kNever;
          hello_deadline_ = kNever;
        } else if (message_deadline_ == kNever) {
          message_deadline_ = Clock::now() + options_.message_timeout;
          deadline_.cancel();  // the watchdog rearms for it
        }
      }
      if (done) co_return true;
    }
  }

  std::string_view ReadView() const {
    const auto data = read_buffer_.data();
    return std::string_view(static_cast<const char*>(data.data()), data.size());
  }
  std::string ReadText() const { return std::string(ReadView()); }

  // The message read was handled: a large buffer is given back rather
  // than kept for a connection that may stay quiet for hours.
  void DoneWithMessage() {
    read_buffer_.clear();
    if (read_buffer_.capacity() > kKeptBufferBytes) read_buffer_.shrink_to_fit();
    if (hub_) (void)hub_->Account(*this, read_buffer_.capacity(), /*unfinished=*/false);
  }

  // Server: closes the connection at the first deadline it misses (login,
  // unfinished message); woken early whenever a deadline is set.
  static awaitable<void> Watchdog(std::shared_ptr<Connection> self) {
    try {
      while (!self->stopped_) {
        const auto next = std::min({self->hello_deadline_, self->login_deadline_, self->message_deadline_});
        self->deadline_.expires_at(next);
        error_code ec;
        co_await self->deadline_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (self->stopped_) co_return;
        const auto now = Clock::now();
        if (now >= self->hello_deadline_) {
          self->CloseForDeadline("no Hello within " + Seconds(self->options_.hello_timeout) +
                                 " of the WebSocket upgrade");
        } else if (now >= self->login_deadline_) {
          self->CloseForDeadline("login not complete within " + Seconds(self->options_.login_timeout) +
                                 " of the WebSocket upgrade");
        } else if (now >= self->message_deadline_) {
          self->CloseForDeadline("a message was not finished within " + Seconds(self->options_.message_timeout));
        }
      }
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("watchdog: ") + e.what()));
    }
  }

  void CloseForDeadline(const std::string& why) {
    std::string contract, user, device;
    if (const auto& hello = session_.peer_hello()) {
      contract = hello->contract;
      user = hello->user;
      device = ShortDeviceId(hello->replica_id);
    }
    hub_->events().Write(why, ConnectionEvent("connection_closed", why, peer_, contract, user, device));
    Abort(Status(Code::kUnavailable, why));
  }

  // A plain HTTP request (no upgrade, or not on an accepted path): health
  // checks are answered, anything else is 404; then the connection closes.
  awaitable<void> AnswerHttp(const http::request<http::empty_body>& request) {
    quiet = true;  // not a sync session
    const std::string_view target = TargetOf(request);
    const std::string_view path = target.substr(0, target.find('?'));
    http::response<http::string_body> response;
    response.version(request.version());
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(false);
    if (request.method() == http::verb::get && path == "/healthz") {
      response.result(http::status::ok);
      response.body() = "ok";
    } else if (request.method() == http::verb::get && path == "/readyz") {
      const bool ready = hub_->Ready();
      response.result(ready ? http::status::ok : http::status::service_unavailable);
      response.body() = ready ? "ready" : "not ready";
    } else {
      response.result(http::status::not_found);
      response.body() = "not found";
      LogLine line = ConnectionEvent("request_refused", "no such path", peer_);
      line.AddQuoted("path", target);
      hub_->events().Write("request_refused", std::move(line));
    }
    response.prepare_payload();
    error_code ec;
    beast::get_lowest_layer(ws_).expires_after(options_.handshake_timeout);
    co_await http::async_write(ws_.next_layer(), response, asio::redirect_error(use_awaitable, ec));
    Abort(Status(Code::kUnavailable, "HTTP request answered"));
  }

  // Writes one message outside the queue (handshake only, before the writer starts).
  awaitable<bool> WriteMessage(const std::string& message) {
    error_code ec;
    co_await ws_.async_write(asio::buffer(message), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      Abort(StatusFromError(ec, "write"));
      co_return false;
    }
    co_return true;
  }

  // A refused handshake: the peer is told why (the reasons hold no secret),
  // then the connection ends.
  awaitable<void> RefuseHandshake(Status why) {
    error_code ec;
    const std::string frame = sync::EncodeFrame(sync::ErrorForPeer(why));
    co_await ws_.async_write(asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
    Abort(std::move(why));
  }

  // Acceptor: M1 (already read) -> M2, then M3. The statuses are built
  // before each co_await: GCC 12 destroys temporaries inside a co_await
  // expression twice.
  awaitable<bool> AcceptPeerHandshake(std::string hello) {
    auto reply = channel_->OnHandshakeMessage(hello);
    if (!reply.ok() || !reply->has_value()) {
      Status why = reply.ok() ? Status(Code::kProtocolError, "peer handshake out of order") : reply.status();
      co_await RefuseHandshake(std::move(why));
      co_return false;
    }
    if (!co_await WriteMessage(**reply)) co_return false;
    if (!co_await ReadMessage()) co_return false;
    auto done = channel_->OnHandshakeMessage(ReadView());
    if (!done.ok() || !channel_->established()) {
      Status why = done.ok() ? Status(Code::kProtocolError, "peer handshake incomplete") : done.status();
      co_await RefuseHandshake(std::move(why));
      co_return false;
    }
    co_return true;
  }

  // Initiator: M1, then M2 -> M3. A refusing peer answers with an Error frame.
  awaitable<bool> OfferPeerHandshake() {
    auto hello = channel_->Start();
    if (!hello.ok()) {
      Abort(hello.status());
      co_return false;
    }
    if (!co_await WriteMessage(*hello)) co_return false;
    if (!co_await ReadMessage()) co_return false;
    const std::string reply = ReadText();
    if (!reply.starts_with(kPeerChannelMagic)) {
      auto refused = sync::DecodeFrame(reply, session_.options().limits);
      const auto* error = refused.ok() ? std::get_if<sync::ErrorMessage>(&*refused) : nullptr;
      Abort(error ? Status(error->code, "the peer refused the office key check: " + error->message)
                  : Status(Code::kProtocolError, "the peer does not speak the office key handshake"));
      co_return false;
    }
    auto confirm = channel_->OnHandshakeMessage(reply);
    if (!confirm.ok() || !confirm->has_value()) {
      Abort(confirm.ok() ? Status(Code::kProtocolError, "peer handshake out of order") : confirm.status());
      co_return false;
    }
    co_return co_await WriteMessage(**confirm);
  }

  // Sends what is queued, then closes cleanly.
  void RequestClose() {
    close_after_queue_ = true;
    signal_.cancel();
  }

  awaitable<void> ReadFrames() {
    for (;;) {
      // (No co_await inside && or ||: GCC 12 miscompiles it.)
      const bool read = co_await ReadMessage(/*close_is_ok=*/!client());
      if (!read) co_return;
      // Once closing, later frames are neither applied nor answered; keep
      // reading so the peer's close frame completes the close handshake.
      if (!close_after_queue_ && !stopped_) {
        const bool handled = co_await HandleMessage(ReadView());
        if (!handled) co_return;
      }
      DoneWithMessage();
    }
  }

  // One message from the peer through the session; false once the
  // connection is over. A server's first session frame (the Hello) is
  // handled off the strand: its store_factory may hash a password.
  awaitable<bool> HandleMessage(std::string_view message) {
    std::string opened;
    if (peer_authenticated()) {
      auto plain = channel_->Open(message);
      if (!plain.ok()) {
        Abort(plain.status().WithContext("frame from the peer"));
        co_return false;
      }
      opened = std::move(plain).value();
      message = opened;
    }
    const bool admitting = hub_ && session_.state() == sync::SessionState::kNew;
    if (admitting) {
      // Only the session and its store are touched there; the reader waits,
      // and nothing else on the strand uses the session before the Hello.
      auto admit = Admit(this, std::string(message));
      co_await asio::co_spawn(hub_->admission_executor(), std::move(admit), use_awaitable);
    } else {
      admission_out_.emplace(session_.OnFrame(message));
    }
    Result<std::vector<std::string>> out = std::move(*admission_out_);
    admission_out_.reset();
    if (stopped_) co_return false;  // closed meanwhile (deadline, cap, stop)
    if (!out.ok()) {
      Abort(out.status());
      co_return false;
    }
    if (!Enqueue(std::move(out).value())) co_return false;
    if (admitting && session_.state() == sync::SessionState::kOpen) LoggedIn();
    ReportProgress();
    if (session_.state() == sync::SessionState::kFailed) {
      RequestClose();  // the Error frame (if any) goes out first
    } else if (client() && !watching() && (session_.InSync() || ConnectTestDone())) {
      Finish(Status::Ok());
      RequestClose();
    }
    co_return true;
  }

  static awaitable<void> Admit(Connection* self, std::string hello) {
    self->admission_out_.emplace(self->session_.OnFrame(hello));
    co_return;
  }

  // Strand, right after the Welcome was queued: what the admission granted
  // takes effect, and the login limits give way to the normal ones.
  void LoggedIn() {
    login_deadline_ = kNever;
    hello_deadline_ = kNever;
    ws_.read_message_max(channel_ ? options_.max_frame_bytes + crypto::kFrameOverheadBytes : options_.max_frame_bytes);
    hub_->MarkLoggedIn(*this, session_.peer_hello() ? &*session_.peer_hello() : nullptr);
    if (!admitted_group.empty()) hub_->JoinGroup(std::move(admitted_group), this->shared_from_this());
    // Checked once more on the strand: a login ended after the admission's
    // own check, whose RecheckLogins found no recheck_login yet, ends here.
    recheck_login = std::move(admitted_recheck_login);
    RecheckLogin();
  }

  // After each frame: the client's hooks, and the server's live fan-out.
  void ReportProgress() {
    const sync::SessionStats& stats = session_.stats();
    if (stats.batches_received != batches_reported_) {
      batches_reported_ = stats.batches_received;
      if (hub_) hub_->PushToGroup(*this);
    }
    if (hooks_.on_progress) hooks_.on_progress(stats);
    // The first report comes right after the handshake even when the peer
    // holds nothing: an empty relay and an empty replica are in sync too.
    if (hooks_.on_peer_holds && session_.state() == sync::SessionState::kOpen &&
        session_.peer_version_vector() != peer_holds_reported_) {
      peer_holds_reported_ = session_.peer_version_vector();
      hooks_.on_peer_holds(*peer_holds_reported_);
    }
  }

  // Client: watches for a stop request and, in watch mode, pushes what the
  // store gained (local commits, also of other processes) every poll_interval.
  static awaitable<void> PollLoop(std::shared_ptr<Connection> self) {
    try {
      for (;;) {
        error_code ec;
        self->poll_.expires_after(self->hooks_.poll_interval);
        co_await self->poll_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (self->stopped_ || self->close_after_queue_) co_return;
        if (self->hooks_.stop.stop_requested()) {
          if (self->watching()) {
            self->Finish(Status::Ok());
            self->RequestClose();
          } else {
            self->Abort(Status(Code::kUnavailable, "stopped before the sync completed"));
          }
          co_return;
        }
        if (self->watching()) self->PushLocalChanges();
      }
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("poller: ") + e.what()));
    }
  }

  static awaitable<void> WriteLoop(std::shared_ptr<Connection> self) {
    try {
      co_await self->WriteFrames();
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("writer: ") + e.what()));
    }
  }

  awaitable<void> WriteFrames() {
    for (;;) {
      while (!queue_.empty() && !stopped_) {
        std::string frame = std::move(queue_.front());
        queue_.pop_front();
        error_code ec;
        co_await ws_.async_write(asio::buffer(frame), asio::redirect_error(use_awaitable, ec));
        if (ec) {
          Abort(StatusFromError(ec, "write"));
          co_return;
        }
      }
      if (stopped_) co_return;
      if (close_after_queue_) {
        error_code ec;
        co_await ws_.async_close(websocket::close_code::normal, asio::redirect_error(use_awaitable, ec));
        Abort(ec ? StatusFromError(ec, "close") : Status(Code::kUnavailable, "closed"));
        co_return;
      }
      error_code ec;
      signal_.expires_at(asio::steady_timer::time_point::max());
      co_await signal_.async_wait(asio::redirect_error(use_awaitable, ec));  // woken by cancel()
    }
  }

  Stream ws_;
  asio::steady_timer signal_;                       // wakes the writer
  asio::steady_timer poll_;                         // client: stop checks and watch polling
  asio::steady_timer deadline_;                     // server: the login and message deadlines
  std::unique_ptr<sync::ChangeStore> owned_store_;  // before session_, which borrows it
  sync::SyncSession session_;
  std::optional<crypto::PeerChannel> channel_;  // PeerAuth: the office-key channel
  const WebSocketOptions options_;
  const std::string peer_;
  const std::function<void(const std::string&)> log_;
  const std::shared_ptr<ServerHub> hub_;
  const SyncHooks hooks_;
  beast::flat_buffer read_buffer_;  // the message being read
  // Server deadlines (kNever: none): the first message, the login, the
  // message whose first bytes arrived.
  Clock::time_point hello_deadline_ = kNever;
  Clock::time_point login_deadline_ = kNever;
  Clock::time_point message_deadline_ = kNever;
  // The session's answer to a frame (the Hello's computed off the strand).
  std::optional<Result<std::vector<std::string>>> admission_out_;
  uint64_t batches_reported_ = 0;
  std::optional<VersionVector> peer_holds_reported_;
  std::deque<std::string> queue_;
  bool close_after_queue_ = false;
  bool stopped_ = false;
  std::optional<Status> outcome_;
};

}  // namespace

namespace {

// The store of a server connection, chosen by SyncServerOptions::store_factory
// once the Hello arrived. Before that (which the session never allows) every
// call is kFailedPrecondition.
class StoreBoundAtHello final : public sync::ChangeStore {
 public:
  void Bind(std::unique_ptr<sync::ChangeStore> store) { store_ = std::move(store); }

  Result<VersionVector> GetVersionVector() override {
    DAICHO_RETURN_IF_ERROR(CheckBound());
    return store_->GetVersionVector();
  }
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override {
    DAICHO_RETURN_IF_ERROR(CheckBound());
    return store_->ChangesSince(other, max_bytes, upto);
  }
  Status Apply(std::span<const ChangeBlob> changes) override {
    DAICHO_RETURN_IF_ERROR(CheckBound());
    return store_->Apply(changes);
  }

 private:
  Status CheckBound() const {
    return store_ ? Status::Ok() : Status(Code::kFailedPrecondition, "no store before the Hello");
  }
  std::unique_ptr<sync::ChangeStore> store_;
};

// Runs the initiator over `ws` on the calling thread until it ends.
template <class Stream>
Result<SyncReport> RunSync(asio::io_context& ioc, Stream ws, Url url, sync::ChangeStore& store, ReplicaId local_id,
                           sync::SessionOptions session, const WebSocketOptions& websocket, SyncHooks hooks) {
  std::string peer = url.Authority();
  const auto on_peer_error = hooks.on_peer_error;
  auto conn = std::make_shared<Connection<Stream>>(std::move(ws), nullptr, store, std::move(session), local_id,
                                                   websocket, std::move(peer), nullptr, nullptr, std::move(hooks));
  // Return as soon as the connection is over: Beast's idle-ping timer of a
  // stream whose peer vanished would otherwise keep run() going until it fires.
  asio::co_spawn(conn->executor(), Connection<Stream>::RunClient(conn, std::move(url)),
                 [&ioc](std::exception_ptr) { ioc.stop(); });
  ioc.run();
  if (on_peer_error && conn->session().peer_error()) on_peer_error(*conn->session().peer_error());
  DAICHO_RETURN_IF_ERROR(conn->Outcome());
  const sync::SessionStats& s = conn->session().stats();
  SyncReport report;
  report.changes_up = s.changes_sent;
  report.changes_down = s.changes_received;
  report.bytes_up = s.frame_bytes_sent;
  report.bytes_down = s.frame_bytes_received;
  report.peer_version_vector = conn->session().peer_version_vector();
  if (sync::ExchangesChanges(conn->session().options().purpose)) {
    // Only for the report: the sync itself succeeded even if this read fails.
    if (auto held = store.GetVersionVector(); held.ok()) {
      report.changes_left = held->CountMissingFrom(report.peer_version_vector);
    }
  }
  if (const auto& welcome = conn->session().welcome()) {
    report.device_token = welcome->device_token;
    report.office_keys = welcome->office_keys;
    report.peer_knows_relay_holds = welcome->relay_holds;
    report.contract = welcome->contract;
  }
  return report;
}

}  // namespace

Result<SyncReport> SyncOnce(std::string_view url, sync::ChangeStore& store, ReplicaId local_id,
                            sync::SessionOptions session, WebSocketOptions websocket, SyncHooks hooks) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  session.role = sync::SessionRole::kInitiator;
  try {
    asio::io_context ioc;
    tcp::socket socket(asio::any_io_executor(asio::make_strand(ioc)));
    if (parsed.tls) {
      ssl::context ctx(ssl::context::tls_client);
      DAICHO_RETURN_IF_ERROR(ConfigureClientTls(ctx, websocket));
      return RunSync(ioc, TlsStream(std::move(socket), ctx), std::move(parsed), store, local_id, std::move(session),
                     websocket, std::move(hooks));
    }
    return RunSync(ioc, PlainStream(std::move(socket)), std::move(parsed), store, local_id, std::move(session),
                   websocket, std::move(hooks));
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("SyncOnce: ") + e.what());
  }
}

// ---------------------------------------------------------------------------

class SyncServer::Impl {
 public:
  explicit Impl(SyncServerOptions options) : options_(std::move(options)) {
    options_.session.role = sync::SessionRole::kAcceptor;
  }
  ~Impl() { Stop(); }

  Status Start() {
    if (started_) return Status(Code::kFailedPrecondition, "SyncServer already started");
    if (!options_.store_factory) return Status(Code::kInvalidArgument, "SyncServer needs a store_factory");
    DAICHO_RETURN_IF_ERROR(ConfigureTls());
    error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return StatusFromError(ec, "listen address " + options_.host, ErrorSite::kSetup);
    const tcp::endpoint endpoint(address, options_.port);
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec) return StatusFromError(ec, "open " + where);
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec) {
      return StatusFromError(ec, "listen " + where);
    }
    if (acceptor_.bind(endpoint, ec); ec) return StatusFromError(ec, "bind " + where);
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
      return StatusFromError(ec, "listen " + where);
    }
    port_ = acceptor_.local_endpoint(ec).port();
    pool_.emplace(options_.admission_threads == 0 ? 1 : options_.admission_threads);
    hub_ = std::make_shared<ServerHub>(options_, pool_->get_executor());
    started_ = true;
    asio::co_spawn(acceptor_.get_executor(), AcceptLoop(this), asio::detached);
    const size_t n = options_.threads == 0 ? 1 : options_.threads;
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
    });
    for (auto& conn : hub_->Stopping()) {
      asio::post(conn->executor(), [conn] { conn->Abort(Status(Code::kUnavailable, "server stopping")); });
    }
    // A connection waiting for its admission keeps the io_context running,
    // so the pool has nothing left to do once the threads are joined.
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    pool_->join();
  }

  uint16_t port() const { return port_; }

  SyncServerStats Stats() { return hub_ ? hub_->Stats() : SyncServerStats{}; }

  void RecheckLogins() {
    if (!hub_) return;
    for (auto& conn : hub_->Live()) asio::post(conn->executor(), [conn] { conn->RecheckLogin(); });
  }

 private:
  Status ConfigureTls() {
    if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) return Status::Ok();
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return Status(Code::kInvalidArgument, "TLS needs both a certificate and a key file");
    }
    tls_.emplace(ssl::context::tls_server);
    error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec) return StatusFromError(ec, "TLS certificate " + options_.tls_cert_file, ErrorSite::kSetup);
    tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec) return StatusFromError(ec, "TLS key " + options_.tls_key_file, ErrorSite::kSetup);
    return Status::Ok();
  }

  void Run() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Coroutines catch their own exceptions; this is a last resort so
        // one bad handler does not take the whole server down.
        hub_->events().Write("internal_error", LogLine("internal_error").AddQuoted("error", e.what()));
      }
    }
  }

  static awaitable<void> AcceptLoop(Impl* impl) {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await impl->acceptor_.async_accept(asio::any_io_executor(asio::make_strand(impl->ioc_)),
                                                                 asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!impl->acceptor_.is_open()) co_return;
        // E.g. out of file descriptors: keep listening, but without spinning.
        impl->hub_->events().Write("accept_failed", LogLine("accept_failed").AddQuoted("error", ec.message()));
        asio::steady_timer pause(impl->acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      try {
        impl->Serve(std::move(socket));
      } catch (const std::exception& e) {
        impl->hub_->events().Write("internal_error", LogLine("connection_not_started").AddQuoted("error", e.what()));
      }
    }
  }

  void Serve(tcp::socket socket) {
    SetNoDelay(socket);
    const PeerEndpoint peer = RemoteEndpoint(socket);
    if (tls_) {
      Launch(TlsStream(std::move(socket), *tls_), peer);
    } else {
      Launch(PlainStream(std::move(socket)), peer);
    }
  }

  template <class Stream>
  void Launch(Stream ws, const PeerEndpoint& peer) {
    // The store is known only once the Hello has named (and proved) who
    // connects; the session's authenticate step binds it.
    auto store = std::make_unique<StoreBoundAtHello>();
    StoreBoundAtHello& borrowed = *store;
    // The connection, for what the admission grants it.
    auto self = std::make_shared<std::weak_ptr<ConnectionBase>>();
    sync::SessionOptions session = options_.session;
    // Runs on the admission pool (Connection::HandleMessage) while the
    // connection's reader waits; it hands the group and login check over to
    // the strand through the connection.
    session.authenticate = [this, &borrowed, self,
                            address = peer.address](const sync::Hello& hello) -> Result<sync::Admission> {
      auto conn = self->lock();
      const bool unproven = options_.websocket.peer_auth && (!conn || !conn->peer_authenticated());
      if (unproven && !options_.unauthenticated_store_factory) {
        return Status(Code::kUnauthenticated, "this PC syncs only with PCs holding the office key");
      }
      DAICHO_ASSIGN_OR_RETURN(AcceptedSession accepted, unproven
                                                            ? options_.unauthenticated_store_factory(hello, address)
                                                            : options_.store_factory(hello, address));
      if (accepted.recheck_login) {
        // A login ended while it was being admitted is caught here, a later
        // end by the strand's check and RecheckLogins.
        DAICHO_RETURN_IF_ERROR(accepted.recheck_login());
      }
      if (conn) {
        conn->admitted_recheck_login = std::move(accepted.recheck_login);
        conn->admitted_group = std::move(accepted.group);
      }
      borrowed.Bind(std::move(accepted.store));
      return sync::Admission{std::move(accepted.device_token), std::move(accepted.office_keys),
                             std::move(accepted.relay_holds), std::move(accepted.contract)};
    };
    auto conn = std::make_shared<Connection<Stream>>(std::move(ws), std::move(store), borrowed, std::move(session),
                                                     options_.local_id, options_.websocket, peer.text, options_.log,
                                                     hub_, SyncHooks{});
    *self = conn;
    conn->address = peer.address;
    conn->peer_text = peer.text;
    if (!hub_->Register(conn)) {
      conn->quiet = true;  // logged as refused; the socket closes with it
      return;
    }
    asio::co_spawn(conn->executor(), Connection<Stream>::RunServer(conn), asio::detached);
  }

  // Declared before ioc_: connections still pending when the io_context is
  // destroyed log through options_ and must find it alive.
  SyncServerOptions options_;
  std::optional<ssl::context> tls_;        // set: wss:// only
  std::shared_ptr<ServerHub> hub_;         // set by Start
  std::optional<asio::thread_pool> pool_;  // runs store_factory; set by Start
  asio::io_context ioc_;
  tcp::acceptor acceptor_{asio::make_strand(ioc_)};
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

SyncServer::SyncServer(SyncServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
SyncServer::~SyncServer() = default;
Status SyncServer::Start() { return impl_->Start(); }
void SyncServer::Stop() { impl_->Stop(); }
void SyncServer::RecheckLogins() { impl_->RecheckLogins(); }
uint16_t SyncServer::port() const { return impl_->port(); }
SyncServerStats SyncServer::Stats() const { return impl_->Stats(); }

// ---------------------------------------------------------------------------

class WebSocketClient::Impl {
 public:
  explicit Impl(const WebSocketOptions& options) : ws_(ioc_) { ConfigureStream(ws_, options); }
  ~Impl() {
    error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  Status Connect(const Url& url, std::string_view source_address) {
    error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return StatusFromError(ec, "resolve " + url.host);
    tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
    if (!source_address.empty()) {
      const auto source = asio::ip::make_address(std::string(source_address), ec);
      if (ec) return StatusFromError(ec, "source address " + std::string(source_address), ErrorSite::kSetup);
      socket.open(source.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
      if (ec) return StatusFromError(ec, "bind " + std::string(source_address), ErrorSite::kSetup);
    }
    if (source_address.empty()) {
      asio::connect(socket, endpoints, ec);
    } else {
      // The range form of connect closes the socket first, losing the bind.
      socket.connect(endpoints.begin()->endpoint(), ec);
    }
    if (ec) return StatusFromError(ec, "connect " + url.Authority());
    ws_.handshake(url.Authority(), url.target, ec);
    if (ec) return StatusFromError(ec, "websocket handshake");
    return Status::Ok();
  }

  Status Send(std::string_view frame) {
    error_code ec;
    ws_.write(asio::buffer(frame.data(), frame.size()), ec);
    return ec ? StatusFromError(ec, "write") : Status::Ok();
  }

  Status SendFragment(std::string_view part, bool last) {
    error_code ec;
    ws_.auto_fragment(false);
    ws_.write_some(last, asio::buffer(part.data(), part.size()), ec);
    return ec ? StatusFromError(ec, "write") : Status::Ok();
  }

  Status Ping() {
    error_code ec;
    ws_.ping({}, ec);
    return ec ? StatusFromError(ec, "ping") : Status::Ok();
  }

  Result<std::string> Receive() {
    error_code ec;
    beast::flat_buffer buffer;
    ws_.read(buffer, ec);
    if (ec) return StatusFromError(ec, "read");
    return beast::buffers_to_string(buffer.data());
  }

 private:
  asio::io_context ioc_;
  PlainStream ws_;
};

WebSocketClient::WebSocketClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocketClient::~WebSocketClient() = default;

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(std::string_view url, WebSocketOptions options,
                                                                  std::string_view source_address) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  if (parsed.tls) return Status(Code::kInvalidArgument, "WebSocketClient speaks ws:// only");
  try {
    auto impl = std::make_unique<Impl>(options);
    DAICHO_RETURN_IF_ERROR(impl->Connect(parsed, source_address));
    return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Connect: ") + e.what());
  }
}

Status WebSocketClient::Send(std::string_view frame) {
  try {
    return impl_->Send(frame);
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Send: ") + e.what());
  }
}

Status WebSocketClient::SendFragment(std::string_view part, bool last) {
  try {
    return impl_->SendFragment(part, last);
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::SendFragment: ") + e.what());
  }
}

Status WebSocketClient::Ping() {
  try {
    return impl_->Ping();
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Ping: ") + e.what());
  }
}

Result<std::string> WebSocketClient::Receive() {
  try {
    return impl_->Receive();
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Receive: ") + e.what());
  }
}

}  // namespace daicho::transport
