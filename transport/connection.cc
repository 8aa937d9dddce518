#include "transport/connection.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/peer_channel.h"
#include "transport/errors.h"
#include "transport/log_line.h"
#include "transport/proxy_protocol.h"
#include "transport/server_hub.h"
#include "transport/stream.h"
#include "web/http_message.h"
#include "web/origin.h"
#include "web/text.h"

namespace daicho::transport::detail {
namespace {

// Small frames (an Ack, the last batch, the close) must go out at once:
// with Nagle's algorithm and delayed ACKs each round trip could wait ~40 ms.
void SetNoDelay(tcp::socket& socket) {
  error_code ignored;  // only a latency optimisation
  socket.set_option(tcp::no_delay(true), ignored);
}

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
// How often a server connection's watchdog looks whether the WebSocket
// stream is closing (Watchdog): the closing handshake's deadline is kept to
// within this.
constexpr std::chrono::milliseconds kClosingCheck{1000};

// Beast's string_view (boost::string_view in 1.74) as a std::string_view.
std::string_view ViewOf(beast::string_view text) { return std::string_view(text.data(), text.size()); }

// The request's target ("/path?query") as a std::string_view.
std::string_view TargetOf(const http::request<http::empty_body>& request) { return ViewOf(request.target()); }

std::string Seconds(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// One WebSocket connection running one SyncSession. Everything here runs on
// the connection's strand (the stream's executor); the shared_ptr keeps it
// alive while its reader and writer coroutines are pending.
template <class Stream>
class Connection final : public ConnectionBase, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  // `store` is synced; `owned_store` (may be null) lives as long as the
  // connection (a server's store, bound at the Hello).
  Connection(Stream ws, sync::ChangeStore& store, std::unique_ptr<sync::ChangeStore> owned_store,
             ConnectionOptions options)
      : ws_(std::move(ws)),
        signal_(ws_.get_executor()),
        poll_(ws_.get_executor()),
        deadline_(ws_.get_executor()),
        store_done_(ws_.get_executor()),
        owned_store_(std::move(owned_store)),
        session_(store, std::move(options.session), options.local_id),
        options_(std::move(options.websocket)),
        peer_(std::move(options.peer)),
        log_(std::move(options.log)),
        hub_(std::move(options.hub)),
        hooks_(std::move(options.hooks)) {
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
      // Admitted read-only: the contract's Internet backup is not entitled.
      if (session_.uploads_refused()) line.Add("uploads", "refused");
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
  void StartServer() override { asio::co_spawn(executor(), RunServer(this->shared_from_this()), asio::detached); }
  const sync::SyncSession& session() const override { return session_; }

  Status Outcome() const override {
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
    store_done_.cancel();
  }

  void EndSession(Status why, sync::ErrorReason reason) override {
    if (stopped_ || close_after_queue_) return;
    std::vector<std::string> error = session_.End(std::move(why), reason);
    queue_.clear();  // nothing more moves on this session
    if (Enqueue(std::move(error))) RequestClose();
  }

  void GoAway() override {
    if (stopped_) return;
    if (!session_started_) {
      Abort(Status(Code::kUnavailable, "server going away"));
      return;
    }
    going_away_ = true;
    if (!store_busy_) CloseGoingAway();
  }

  void PushLocalChanges() override {
    if (stopped_ || close_after_queue_) return;
    if (!StoreOffStrand()) {
      ApplyPush(session_.OnLocalCommit());
      return;
    }
    push_pending_ = true;  // one push covers every notification until it runs
    RunPendingStoreWork();
  }

  void RecheckLogin() override {
    if (!recheck_login) return;
    if (!StoreOffStrand()) {
      ApplyRecheck(recheck_login());
      return;
    }
    recheck_pending_ = true;
    RunPendingStoreWork();
  }

  static awaitable<void> RunServer(std::shared_ptr<Connection> self) {
    try {
      error_code ec;
      auto& layer = beast::get_lowest_layer(self->ws_);
      // The PROXY header, TLS and the first HTTP request share the handshake timeout.
      layer.expires_after(self->options_.handshake_timeout);
      if (self->proxied) {
        const bool forwarded = co_await self->ReadProxyHeader();
        if (!forwarded) co_return;
      }
      if constexpr (kIsTls<Stream>) {
        co_await self->ws_.next_layer().async_handshake(ssl::stream_base::server,
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
          self->Abort(StatusFromError(ec, "TLS handshake"));
          co_return;
        }
      }
      // Requests are read here, not by the WebSocket layer, so that a path
      // can be refused, a health check answered and an HTTP route served
      // without an upgrade. Only the header first: a body is read (and
      // limited) on the HTTP routes only. HTTP keep-alive loops here, one
      // request at a time.
      beast::flat_buffer request_buffer;
      for (size_t served = 0;; ++served) {
        if (served > 0) layer.expires_after(self->hub_->options().http_idle_timeout);
        http::request_parser<http::empty_body> parser;
        parser.header_limit(kMaxRequestHeaderBytes);
        // A large Content-Length is answered (413, 404), not failed while
        // reading the header. (Not boost::none: Beast 1.74 then refuses
        // every Content-Length above 0.)
        parser.body_limit(std::numeric_limits<uint64_t>::max());
        co_await http::async_read_header(self->ws_.next_layer(), request_buffer, parser,
                                         asio::redirect_error(use_awaitable, ec));
        if (ec) {
          self->Abort(StatusFromError(ec, "HTTP request"));
          co_return;
        }
        const http::request<http::empty_body>& request = parser.get();
        if (websocket::is_upgrade(request) && self->hub_->PathAccepted(TargetOf(request), self->path_key)) {
          layer.expires_never();
          co_await RunSession(self, parser.release());
          co_return;
        }
        const std::string_view target = TargetOf(request);
        if (!self->hub_->HttpRouted(target.substr(0, target.find('?')))) {
          co_await self->AnswerHttp(request);
          co_return;
        }
        const bool more = co_await self->ServeHttpRoute(parser, request_buffer, served + 1);
        if (!more) co_return;
      }
    } catch (const std::exception& e) {
      self->Abort(Status(Code::kInternal, std::string("server connection: ") + e.what()));
    }
  }

  // The WebSocket upgrade `request` on an accepted path, then the session.
  static awaitable<void> RunSession(std::shared_ptr<Connection> self, http::request<http::empty_body> request) {
    self->quiet = false;  // a session after keep-alive HTTP requests is logged like any other
    const auto origin = request.find(http::field::origin);
    if (origin != request.end() && !web::OriginAllowed(ViewOf(origin->value()), ViewOf(request[http::field::host]),
                                                       kIsTls<Stream>, self->hub_->options().allowed_origins)) {
      // A page elsewhere must not open a session with what the browser
      // holds; the desktop PCs send no Origin.
      self->quiet = true;
      LogLine line = ConnectionEvent("request_refused", "origin not allowed", self->peer_);
      line.AddQuoted("origin", ViewOf(origin->value()));
      self->hub_->events().Write("origin_refused", std::move(line));
      co_await self->AnswerAndClose(request.version(), http::status::forbidden, "forbidden");
      co_return;
    }
    error_code ec;
    co_await self->ws_.async_accept(request, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      self->Abort(StatusFromError(ec, "websocket accept"));
      co_return;
    }
    self->session_started_ = true;
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
        if (ec == websocket::error::closed && ws_.reason().code == websocket::close_code::going_away) {
          // A relay node restarting or leaving its load balancer: not a
          // failure of this PC's; it connects again (to another node).
          Abort(Status(Code::kUnavailable,
                       "the peer is going away (WebSocket close code 1001: restarting or draining); connect again"));
        } else {
          Abort(StatusFromError(ec, "read"));
        }
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

  // Server, from a trusted proxy: the PROXY protocol v2 header, exactly its
  // bytes (the TLS handshake or HTTP request follows), before anything else;
  // the connection then counts as the client it names. False (closed, one
  // log line) when it is missing, malformed or refused at the cap.
  awaitable<bool> ReadProxyHeader() {
    std::string header(kProxyV2PreludeBytes, '\0');
    error_code ec = co_await ReadExactly(header.data(), header.size());
    Result<ProxyHeader> parsed = Status(Code::kUnavailable, "");
    if (ec) {
      parsed = StatusFromError(ec, "PROXY protocol header");
    } else if (auto size = ProxyV2HeaderSize(header); !size.ok()) {
      parsed = size.status();
    } else {
      header.resize(*size);
      ec = co_await ReadExactly(header.data() + kProxyV2PreludeBytes, *size - kProxyV2PreludeBytes);
      parsed = ec ? Result<ProxyHeader>(StatusFromError(ec, "PROXY protocol header")) : ParseProxyV2Header(header);
    }
    if (!parsed.ok()) {
      quiet = true;
      hub_->events().Write("proxy_header", ConnectionEvent("connection_closed", parsed.status().message(), peer_));
      Abort(parsed.status());
      co_return false;
    }
    std::string client = parsed->local ? address : parsed->address;
    std::string text = parsed->local ? peer_ : client + ":" + std::to_string(parsed->port);
    if (!hub_->Readdress(*this, client, text)) {
      quiet = true;  // logged as refused
      Abort(Status(Code::kResourceExhausted, "connection cap reached"));
      co_return false;
    }
    peer_ = std::move(text);
    co_return true;
  }

  // Exactly `size` bytes from the socket, below TLS and HTTP (none more: what
  // follows is theirs).
  awaitable<error_code> ReadExactly(char* data, size_t size) {
    auto& layer = beast::get_lowest_layer(ws_);
    error_code ec;
    for (size_t got = 0; got < size && !ec;) {
      got +=
          co_await layer.async_read_some(asio::buffer(data + got, size - got), asio::redirect_error(use_awaitable, ec));
    }
    co_return ec;
  }

  // Server: closes the connection at the first deadline it misses (login,
  // unfinished message, closing handshake); woken early whenever a
  // deadline is set.
  //
  // Beast answers a broken rule (a bad frame, a message over the limit)
  // with a close frame, then waits for the client to end the closing
  // handshake, and bounds that wait only by its idle timer (half the idle
  // timeout from the last read), not by the handshake timeout: a client
  // that breaks a rule after its login and never closes would hold the
  // connection for 30 s and more. The stream is therefore looked at every
  // kClosingCheck and cut once it has been closing for handshake_timeout.
  static awaitable<void> Watchdog(std::shared_ptr<Connection> self) {
    try {
      Clock::time_point closing_since = kNever;
      while (!self->stopped_) {
        const auto next = std::min(
            {self->hello_deadline_, self->login_deadline_, self->message_deadline_, Clock::now() + kClosingCheck});
        self->deadline_.expires_at(next);
        error_code ec;
        co_await self->deadline_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (self->stopped_) co_return;
        const auto now = Clock::now();
        if (self->ws_.is_open()) {
          closing_since = kNever;
        } else if (closing_since == kNever) {
          closing_since = now;
        }
        if (now >= self->hello_deadline_) {
          self->CloseForDeadline("no Hello within " + Seconds(self->options_.hello_timeout) +
                                 " of the WebSocket upgrade");
        } else if (now >= self->login_deadline_) {
          self->CloseForDeadline("login not complete within " + Seconds(self->options_.login_timeout) +
                                 " of the WebSocket upgrade");
        } else if (now >= self->message_deadline_) {
          self->CloseForDeadline("a message was not finished within " + Seconds(self->options_.message_timeout));
        } else if (closing_since != kNever && now - closing_since >= self->options_.handshake_timeout) {
          self->CloseForDeadline("the closing handshake did not finish within " +
                                 Seconds(self->options_.handshake_timeout));
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

  // A plain HTTP request outside the HTTP routes (no upgrade, or not on an
  // accepted path): health checks are answered, anything else is 404 (a
  // body is not read); then the connection closes.
  awaitable<void> AnswerHttp(const http::request<http::empty_body>& request) {
    quiet = true;  // not a sync session
    const std::string_view target = TargetOf(request);
    const std::string_view path = target.substr(0, target.find('?'));
    if (request.method() == http::verb::get && path == "/healthz") {
      co_await AnswerAndClose(request.version(), http::status::ok, "ok");
    } else if (request.method() == http::verb::get && path == "/readyz") {
      const bool ready = hub_->Ready();
      co_await AnswerAndClose(request.version(), ready ? http::status::ok : http::status::service_unavailable,
                              ready ? "ready" : "not ready");
    } else {
      LogLine line = ConnectionEvent("request_refused", "no such path", peer_);
      line.AddQuoted("path", target);
      hub_->events().Write("request_refused", std::move(line));
      co_await AnswerAndClose(request.version(), http::status::not_found, "not found");
    }
  }

  // Writes a short plain-text answer, then closes the connection.
  // (A view, not a string: GCC 12 destroys temporaries inside a co_await
  // expression twice, and callers pass literals.)
  awaitable<void> AnswerAndClose(unsigned version, http::status status, std::string_view body) {
    http::response<http::string_body> response(status, version);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(false);
    response.body() = std::string(body);
    response.prepare_payload();
    error_code ec;
    beast::get_lowest_layer(ws_).expires_after(options_.handshake_timeout);
    co_await http::async_write(ws_.next_layer(), response, asio::redirect_error(use_awaitable, ec));
    Abort(Status(Code::kUnavailable, "HTTP request answered"));
  }

  // A request on an HTTP route (`header` read, its body not yet), the
  // connection's `served`-th: reads the body, has the handler answer on the
  // HTTP pool, waits out the answer's min_latency and writes it. True when
  // the connection stays open for another request.
  // (`header` by reference: parsers cannot move, and the caller awaits this.)
  awaitable<bool> ServeHttpRoute(http::request_parser<http::empty_body>& header, beast::flat_buffer& buffer,
                                 size_t served) {
    quiet = true;  // not a sync session
    const SyncServerOptions& options = hub_->options();
    const unsigned version = header.get().version();
    const auto length = header.content_length();  // boost::optional
    const std::string_view target = TargetOf(header.get());
    const size_t limit = hub_->HttpBodyLimit(target.substr(0, target.find('?')));
    if (length && *length > limit) {
      co_await AnswerAndClose(version, http::status::payload_too_large, "request body too large");
      co_return false;
    }
    // An upload's body is in the input budget until it is answered.
    const bool upload = limit > options.max_http_body_bytes;
    if (upload && !hub_->Account(*this, length ? static_cast<size_t>(*length) : limit, true)) {
      Abort(Status(Code::kResourceExhausted, "closed to make room for others (input budget)"));
      co_return false;
    }
    // Beast's converting constructor takes the header over (body not begun).
    http::request_parser<http::string_body> parser(std::move(header));
    parser.body_limit(limit);  // a chunked body has no length up front
    error_code ec;
    co_await http::async_read(ws_.next_layer(), buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::body_limit) {
      co_await AnswerAndClose(version, http::status::payload_too_large, "request body too large");
      co_return false;
    }
    if (ec) {
      Abort(StatusFromError(ec, "HTTP request body"));
      co_return false;
    }
    auto& layer = beast::get_lowest_layer(ws_);
    layer.expires_never();  // the handler may take its time; the write gets a deadline of its own
    const auto read_at = Clock::now();
    http::request<http::string_body> request = parser.release();
    const bool head = request.method() == http::verb::head;
    const bool keep_alive = request.keep_alive() && served < options.max_requests_per_connection;
    auto call = CallHandler(hub_, ToWebRequest(std::move(request)), peer_);
    web::HttpResponse answer = co_await asio::co_spawn(hub_->http_executor(), std::move(call), use_awaitable);
    if (stopped_) co_return false;  // closed meanwhile (cap, stop)
    if (upload) (void)hub_->Account(*this, 0, false);
    if (answer.min_latency.count() > 0) {
      // deadline_ (the Watchdog's, idle before an upgrade): Abort cancels it.
      deadline_.expires_at(read_at + answer.min_latency);
      co_await deadline_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped_) co_return false;
    }
    http::response<http::string_body> response(static_cast<http::status>(answer.status), version);
    for (const auto& [name, value] : answer.headers) response.insert(name, value);
    response.body() = std::move(answer.body);
    response.prepare_payload();
    response.keep_alive(keep_alive);
    if (head) {
      // The length of what a GET would get, and no body.
      const size_t size = response.body().size();
      response.body().clear();
      response.content_length(size);
    }
    layer.expires_after(options_.handshake_timeout);
    co_await http::async_write(ws_.next_layer(), response, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      Abort(StatusFromError(ec, "HTTP answer"));
      co_return false;
    }
    if (!keep_alive) Abort(Status(Code::kUnavailable, "HTTP request answered"));
    co_return keep_alive;
  }

  web::HttpRequest ToWebRequest(http::request<http::string_body> request) const {
    web::HttpRequest out;
    out.method = std::string(ViewOf(request.method_string()));
    out.target = std::string(ViewOf(request.target()));
    const size_t query = out.target.find('?');
    out.path = out.target.substr(0, query);
    if (query != std::string::npos) out.query = out.target.substr(query + 1);
    for (const auto& field : request) {
      out.headers.emplace_back(web::AsciiLower(ViewOf(field.name_string())), std::string(ViewOf(field.value())));
    }
    out.body = std::move(request.body());
    out.peer_address = address;
    out.tls = kIsTls<Stream>;
    return out;
  }

  // Runs on the HTTP pool. Whatever the handler does wrong (throws, or
  // answers what cannot be written) becomes a 500 and a log line: one bad
  // request never ends the server or another connection.
  static awaitable<web::HttpResponse> CallHandler(std::shared_ptr<ServerHub> hub, web::HttpRequest request,
                                                  std::string peer) {
    web::HttpResponse answer;
    Status failure;
    try {
      answer = hub->options().http_handler(request);
      failure = web::CheckResponse(answer);
    } catch (const std::exception& e) {
      failure = Status(Code::kInternal, std::string("HTTP handler threw: ") + e.what());
    } catch (...) {
      failure = Status(Code::kInternal, "HTTP handler threw a non-standard exception");
    }
    if (!failure.ok()) {
      LogLine line = ConnectionEvent("http_handler_failed", failure.message(), peer);
      line.AddQuoted("path", request.path);
      hub->events().Write("http_handler_failed", std::move(line));
      answer = web::HttpResponse{500, {{"Content-Type", "text/plain; charset=utf-8"}}, "internal error", {}};
    }
    co_return answer;
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
      store_busy_ = true;
      co_await asio::co_spawn(hub_->admission_executor(), std::move(admit), use_awaitable);
      store_busy_ = false;
    } else if (StoreOffStrand()) {
      // One store call at a time: a push or recheck under way finishes
      // first. (The frame stays in read_buffer_, which nothing else touches
      // while the reader waits.)
      while (store_busy_) {
        error_code ec;
        store_done_.expires_at(asio::steady_timer::time_point::max());
        co_await store_done_.async_wait(asio::redirect_error(use_awaitable, ec));  // woken by cancel()
        if (stopped_) co_return false;
      }
      auto frame = OnFrameOffStrand(this, message);
      store_busy_ = true;
      co_await asio::co_spawn(hub_->store_executor(), std::move(frame), use_awaitable);
      store_busy_ = false;
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
    RunPendingStoreWork();
    co_return true;
  }

  // Draining: what is queued goes out, then the close says 1001. A session
  // already closing (an Error, a clean end) keeps its own close.
  void CloseGoingAway() {
    if (stopped_ || close_after_queue_) return;
    close_code_ = websocket::close_code::going_away;
    Finish(Status(Code::kUnavailable, "server going away"));
    RequestClose();
  }

  static awaitable<void> Admit(Connection* self, std::string hello) {
    self->admission_out_.emplace(self->session_.OnFrame(hello));
    co_return;
  }

  // On the store pool while the reader waits (so `frame`, in its buffer,
  // stays put).
  static awaitable<void> OnFrameOffStrand(Connection* self, std::string_view frame) {
    self->admission_out_.emplace(self->session_.OnFrame(frame));
    co_return;
  }

  // Server with SyncServerOptions::store_threads: store calls of a logged-in
  // session run on the store pool, one at a time (the session is not
  // thread-safe); results are applied here, on the strand.
  bool StoreOffStrand() const { return hub_ && hub_->store_off_strand(); }

  // Strand. Starts the pending store work (a login recheck before a push)
  // unless a store call is under way; its end calls this again. Draining
  // closes once no call is under way, leaving pushes that wait.
  void RunPendingStoreWork() {
    if (store_busy_ || stopped_) return;
    if (going_away_) {
      CloseGoingAway();
      return;
    }
    if (!recheck_pending_ && !push_pending_) return;
    store_busy_ = true;
    asio::co_spawn(executor(), PendingStoreCall(this->shared_from_this()), asio::detached);
  }

  static awaitable<void> PendingStoreCall(std::shared_ptr<Connection> self) {
    try {
      const bool recheck = self->recheck_pending_;
      if (recheck) {
        self->recheck_pending_ = false;
        auto call = RecheckOffStrand(self.get());
        co_await asio::co_spawn(self->hub_->store_executor(), std::move(call), use_awaitable);
      } else {
        self->push_pending_ = false;
        auto call = PushOffStrand(self.get());
        co_await asio::co_spawn(self->hub_->store_executor(), std::move(call), use_awaitable);
      }
      self->store_busy_ = false;
      self->store_done_.cancel();  // a frame waiting for the store goes next
      if (recheck) {
        self->ApplyRecheck(*self->recheck_out_);
      } else {
        self->ApplyPush(std::move(*self->admission_out_));
      }
      self->admission_out_.reset();
      self->recheck_out_.reset();
      // The rest after that frame: posted, so the waiting reader runs first.
      asio::post(self->executor(), [self] { self->RunPendingStoreWork(); });
    } catch (const std::exception& e) {
      self->store_busy_ = false;
      self->Abort(Status(Code::kInternal, std::string("store call: ") + e.what()));
    }
  }

  static awaitable<void> RecheckOffStrand(Connection* self) {
    self->recheck_out_.emplace(self->recheck_login());
    co_return;
  }

  static awaitable<void> PushOffStrand(Connection* self) {
    self->admission_out_.emplace(self->session_.OnLocalCommit());
    co_return;
  }

  // What a push produced, queued (strand).
  void ApplyPush(Result<std::vector<std::string>> out) {
    if (stopped_ || close_after_queue_) return;
    if (!out.ok()) return;  // the session already failed; its reader ends it
    if (!Enqueue(std::move(out).value())) return;
    if (session_.state() == sync::SessionState::kFailed) RequestClose();
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
        co_await ws_.async_close(close_code_, asio::redirect_error(use_awaitable, ec));
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
  asio::steady_timer deadline_;                     // server: the login and message deadlines, HTTP min_latency
  asio::steady_timer store_done_;                   // wakes the reader when a push's or recheck's store call is back
  std::unique_ptr<sync::ChangeStore> owned_store_;  // before session_, which borrows it
  sync::SyncSession session_;
  std::optional<crypto::PeerChannel> channel_;  // PeerAuth: the office-key channel
  const WebSocketOptions options_;
  std::string peer_;  // address:port; a proxied connection's client once its header is read
  const std::function<void(const std::string&)> log_;
  const std::shared_ptr<ServerHub> hub_;
  const SyncHooks hooks_;
  beast::flat_buffer read_buffer_;  // the message being read
  // Server deadlines (kNever: none): the first message, the login, the
  // message whose first bytes arrived.
  Clock::time_point hello_deadline_ = kNever;
  Clock::time_point login_deadline_ = kNever;
  Clock::time_point message_deadline_ = kNever;
  // The session's answer to a frame or a push (computed off the strand with
  // an admission or a store pool), and a recheck's.
  std::optional<Result<std::vector<std::string>>> admission_out_;
  std::optional<Status> recheck_out_;
  uint64_t batches_reported_ = 0;
  std::optional<VersionVector> peer_holds_reported_;
  std::deque<std::string> queue_;
  bool close_after_queue_ = false;
  bool stopped_ = false;
  // Server: past the WebSocket upgrade (GoAway closes such a connection with
  // a close frame, any other at once).
  bool session_started_ = false;
  // A store call (the admission, or with a store pool a frame's, a push's or
  // a recheck's) runs off the strand for this connection; the session is
  // touched by nothing else meanwhile.
  bool store_busy_ = false;
  // Arrived while a store call was under way; run (once each) after it.
  bool push_pending_ = false;
  bool recheck_pending_ = false;
  // GoAway arrived: close once the store call under way is back.
  bool going_away_ = false;
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::optional<Status> outcome_;
};

// Runs the initiator over `ws` on the calling thread until it ends.
template <class Stream>
std::shared_ptr<ConnectionBase> RunClientOver(asio::io_context& ioc, Stream ws, Url url, sync::ChangeStore& store,
                                              ConnectionOptions options) {
  auto conn = std::make_shared<Connection<Stream>>(std::move(ws), store, nullptr, std::move(options));
  // Return as soon as the connection is over: Beast's idle-ping timer of a
  // stream whose peer vanished would otherwise keep run() going until it fires.
  asio::co_spawn(conn->executor(), Connection<Stream>::RunClient(conn, std::move(url)),
                 [&ioc](std::exception_ptr) { ioc.stop(); });
  ioc.run();
  return conn;
}

}  // namespace

std::shared_ptr<ConnectionBase> RunClientConnection(asio::io_context& ioc, ssl::context* tls, Url url,
                                                    sync::ChangeStore& store, ConnectionOptions options) {
  tcp::socket socket(asio::any_io_executor(asio::make_strand(ioc)));
  if (tls) return RunClientOver(ioc, TlsStream(std::move(socket), *tls), std::move(url), store, std::move(options));
  return RunClientOver(ioc, PlainStream(std::move(socket)), std::move(url), store, std::move(options));
}

std::shared_ptr<ConnectionBase> MakeServerConnection(tcp::socket socket, ssl::context* tls, sync::ChangeStore& store,
                                                     std::unique_ptr<sync::ChangeStore> owned_store,
                                                     ConnectionOptions options) {
  SetNoDelay(socket);
  if (tls) {
    return std::make_shared<Connection<TlsStream>>(TlsStream(std::move(socket), *tls), store, std::move(owned_store),
                                                   std::move(options));
  }
  return std::make_shared<Connection<PlainStream>>(PlainStream(std::move(socket)), store, std::move(owned_store),
                                                   std::move(options));
}

}  // namespace daicho::transport::detail
