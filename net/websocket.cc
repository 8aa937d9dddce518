#include "net/websocket.h"

#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/peer_channel.h"
#include "net/asio.h"
#include "net/log_line.h"
#include "net/url.h"

namespace daicho::net {
namespace {

using detail::tcp;
namespace asio = detail::asio;
namespace beast = detail::beast;
namespace websocket = detail::websocket;
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
  virtual void EndSession(Status why, ErrorReason reason) = 0;

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
                 ErrorReason::kNone);
      return;
    }
    if (still.code() != Code::kUnauthenticated) return;
    EndSession(Status(Code::kUnauthenticated, "login revoked while connected: " + still.message()),
               ErrorReason::kLoginRevoked);
  }

  // AcceptedSession::recheck_login, set at the Hello. Strand only.
  std::function<Status()> recheck_login;

  // AcceptedSession::group, set once at the Hello; guarded by the server's mutex.
  std::string group;
};

constexpr std::string_view kPeerChannelMagic = "DPC1";

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
  // `on_applied` (server) is called on the strand after the session applied
  // a batch; `hooks` are the client's.
  Connection(Stream ws, std::unique_ptr<ChangeStore> owned_store, ChangeStore& store, SessionOptions session,
             ReplicaId local_id, WebSocketOptions options, std::string peer,
             std::function<void(const std::string&)> log, std::function<void(ConnectionBase&)> on_applied,
             SyncHooks hooks)
      : ws_(std::move(ws)),
        signal_(ws_.get_executor()),
        poll_(ws_.get_executor()),
        owned_store_(std::move(owned_store)),
        session_(store, std::move(session), local_id),
        options_(options),
        peer_(std::move(peer)),
        log_(std::move(log)),
        on_applied_(std::move(on_applied)),
        hooks_(std::move(hooks)) {
    ConfigureStream(ws_, options_);
    if (options_.peer_auth) {
      channel_.emplace(session_.options().role == SessionRole::kInitiator ? crypto::PeerChannel::Role::kInitiator
                                                                          : crypto::PeerChannel::Role::kAcceptor,
                       options_.peer_auth->contract, options_.peer_auth->ring);
      // Sealed frames carry a tag more than the session's frame limit.
      ws_.read_message_max(options_.max_frame_bytes + crypto::kFrameOverheadBytes);
    }
  }

  bool peer_authenticated() const override { return channel_ && channel_->established(); }

  ~Connection() override {
    if (!log_) return;
    try {
      const SessionStats& s = session_.stats();
      const std::optional<Hello>& hello = session_.peer_hello();
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
  const SyncSession& session() const { return session_; }

  // Why the connection ended: the session's failure first (sent or
  // received Error), then the first transport event.
  Status Outcome() const {
    if (session_.state() == SessionState::kFailed) return session_.status();
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
  }

  void EndSession(Status why, ErrorReason reason) override {
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
    if (session_.state() == SessionState::kFailed) RequestClose();
  }

  static awaitable<void> RunServer(std::shared_ptr<Connection> self) {
    try {
      error_code ec;
      if constexpr (kIsTls<Stream>) {
        auto& layer = beast::get_lowest_layer(self->ws_);
        layer.expires_after(self->options_.handshake_timeout);
        co_await self->ws_.next_layer().async_handshake(ssl::stream_base::server,
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
          self->Abort(StatusFromError(ec, "TLS handshake"));
          co_return;
        }
        layer.expires_never();
      }
      co_await self->ws_.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "websocket accept"));
        co_return;
      }
      std::optional<std::string> first;
      if (self->channel_) {
        first = co_await self->ReadMessage();
        if (!first) co_return;
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
      if (first && !self->HandleFrame(*first)) co_return;
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
        self->Abort(StatusFromError(ec, "connect " + url.host + ":" + url.port));
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
          self->Abort(StatusFromError(ec, "TLS handshake with " + url.host + ":" + url.port));
          co_return;
        }
      }
      // From here the WebSocket timeouts (stream_base::timeout) apply.
      layer.expires_never();
      co_await self->ws_.async_handshake(url.host + ":" + url.port, url.target,
                                         asio::redirect_error(use_awaitable, ec));
      if (ec) {
        self->Abort(StatusFromError(ec, "websocket handshake with " + url.host + ":" + url.port));
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

  bool client() const { return session_.options().role == SessionRole::kInitiator; }
  bool watching() const { return client() && session_.options().purpose == Purpose::kWatch; }
  // A connect test or key publish moves no changes: the Welcome alone is the success.
  bool ConnectTestDone() const {
    return !ExchangesChanges(session_.options().purpose) && session_.state() == SessionState::kOpen;
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

  // One whole message, or nullopt once the connection was aborted.
  awaitable<std::optional<std::string>> ReadMessage() {
    beast::flat_buffer buffer;
    error_code ec;
    co_await ws_.async_read(buffer, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      Abort(StatusFromError(ec, "read"));
      co_return std::nullopt;
    }
    const auto data = buffer.data();
    co_return std::string(static_cast<const char*>(data.data()), data.size());
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
    const std::string frame = EncodeFrame(ErrorForPeer(why));
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
    auto confirm = co_await ReadMessage();
    if (!confirm) co_return false;
    auto done = channel_->OnHandshakeMessage(*confirm);
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
    auto reply = co_await ReadMessage();
    if (!reply) co_return false;
    if (!reply->starts_with(kPeerChannelMagic)) {
      auto refused = DecodeFrame(*reply, session_.options().limits);
      const auto* error = refused.ok() ? std::get_if<ErrorMessage>(&*refused) : nullptr;
      Abort(error ? Status(error->code, "the peer refused the office key check: " + error->message)
                  : Status(Code::kProtocolError, "the peer does not speak the office key handshake"));
      co_return false;
    }
    auto confirm = channel_->OnHandshakeMessage(*reply);
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
    beast::flat_buffer buffer;
    for (;;) {
      error_code ec;
      buffer.clear();
      co_await ws_.async_read(buffer, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == websocket::error::closed && !client()) {
          Finish(Status::Ok());  // the client ends a session by closing
        }
        Abort(StatusFromError(ec, "read"));
        co_return;
      }
      // Once closing, later frames are neither applied nor answered; keep
      // reading so the peer's close frame completes the close handshake.
      if (close_after_queue_ || stopped_) continue;
      const auto data = buffer.data();
      if (!HandleFrame(std::string_view(static_cast<const char*>(data.data()), data.size()))) co_return;
    }
  }

  // One message from the peer through the session; false once the
  // connection is over.
  bool HandleFrame(std::string_view message) {
    std::string opened;
    if (peer_authenticated()) {
      auto plain = channel_->Open(message);
      if (!plain.ok()) {
        Abort(plain.status().WithContext("frame from the peer"));
        return false;
      }
      opened = std::move(plain).value();
      message = opened;
    }
    auto out = session_.OnFrame(message);
    if (!out.ok()) {
      Abort(out.status());
      return false;
    }
    if (!Enqueue(std::move(out).value())) return false;
    ReportProgress();
    if (session_.state() == SessionState::kFailed) {
      RequestClose();  // the Error frame (if any) goes out first
    } else if (client() && !watching() && (session_.InSync() || ConnectTestDone())) {
      Finish(Status::Ok());
      RequestClose();
    }
    return true;
  }

  // After each frame: the client's hooks, and the server's live fan-out.
  void ReportProgress() {
    const SessionStats& stats = session_.stats();
    if (stats.batches_received != batches_reported_) {
      batches_reported_ = stats.batches_received;
      if (on_applied_) on_applied_(*this);
    }
    if (hooks_.on_progress) hooks_.on_progress(stats);
    // The first report comes right after the handshake even when the peer
    // holds nothing: an empty relay and an empty replica are in sync too.
    if (hooks_.on_peer_holds && session_.state() == SessionState::kOpen &&
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
  asio::steady_timer signal_;  // wakes the writer
  asio::steady_timer poll_;    // client: stop checks and watch polling
  std::unique_ptr<ChangeStore> owned_store_;  // before session_, which borrows it
  SyncSession session_;
  std::optional<crypto::PeerChannel> channel_;  // PeerAuth: the office-key channel
  const WebSocketOptions options_;
  const std::string peer_;
  const std::function<void(const std::string&)> log_;
  const std::function<void(ConnectionBase&)> on_applied_;
  const SyncHooks hooks_;
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
class StoreBoundAtHello final : public ChangeStore {
 public:
  void Bind(std::unique_ptr<ChangeStore> store) { store_ = std::move(store); }

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
  std::unique_ptr<ChangeStore> store_;
};

// Runs the initiator over `ws` on the calling thread until it ends.
template <class Stream>
Result<SyncReport> RunSync(asio::io_context& ioc, Stream ws, Url url, ChangeStore& store, ReplicaId local_id,
                           SessionOptions session, const WebSocketOptions& websocket, SyncHooks hooks) {
  std::string peer = url.host + ":" + url.port;
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
  const SessionStats& s = conn->session().stats();
  SyncReport report;
  report.changes_up = s.changes_sent;
  report.changes_down = s.changes_received;
  report.bytes_up = s.frame_bytes_sent;
  report.bytes_down = s.frame_bytes_received;
  report.peer_version_vector = conn->session().peer_version_vector();
  if (ExchangesChanges(conn->session().options().purpose)) {
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

Result<SyncReport> SyncOnce(std::string_view url, ChangeStore& store, ReplicaId local_id, SessionOptions session,
                            WebSocketOptions websocket, SyncHooks hooks) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  session.role = SessionRole::kInitiator;
  try {
    asio::io_context ioc;
    tcp::socket socket(asio::any_io_executor(asio::make_strand(ioc)));
    if (parsed.tls) {
      ssl::context ctx(ssl::context::tls_client);
      DAICHO_RETURN_IF_ERROR(ConfigureClientTls(ctx, websocket));
      return RunSync(ioc, TlsStream(std::move(socket), ctx), std::move(parsed), store, local_id,
                     std::move(session), websocket, std::move(hooks));
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
    options_.session.role = SessionRole::kAcceptor;
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
    std::vector<std::weak_ptr<ConnectionBase>> connections;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      connections.swap(connections_);
    }
    for (auto& weak : connections) {
      if (auto conn = weak.lock()) {
        asio::post(conn->executor(), [conn] { conn->Abort(Status(Code::kUnavailable, "server stopping")); });
      }
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  uint16_t port() const { return port_; }

  void RecheckLogins() {
    std::vector<std::shared_ptr<ConnectionBase>> live;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& weak : connections_) {
        if (auto conn = weak.lock()) live.push_back(std::move(conn));
      }
    }
    for (auto& conn : live) asio::post(conn->executor(), [conn] { conn->RecheckLogin(); });
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
        Log(std::string("sync server: internal error: ") + e.what());
      }
    }
  }

  void Log(const std::string& line) {
    if (!options_.log) return;
    try {
      options_.log(line);
    } catch (...) {
      // A throwing logger must not end the server thread.
    }
  }

  static awaitable<void> AcceptLoop(Impl* impl) {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await impl->acceptor_.async_accept(
          asio::any_io_executor(asio::make_strand(impl->ioc_)), asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!impl->acceptor_.is_open()) co_return;
        // E.g. out of file descriptors: keep listening, but without spinning.
        asio::steady_timer pause(impl->acceptor_.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      try {
        impl->Serve(std::move(socket));
      } catch (const std::exception& e) {
        impl->Log(std::string("sync server: connection not started: ") + e.what());
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
    // The connection, for joining its group once the Hello names it.
    auto self = std::make_shared<std::weak_ptr<ConnectionBase>>();
    SessionOptions session = options_.session;
    session.authenticate = [this, &borrowed, self, address = peer.address](const Hello& hello) -> Result<Admission> {
      auto conn = self->lock();
      const bool unproven = options_.websocket.peer_auth && (!conn || !conn->peer_authenticated());
      if (unproven && !options_.unauthenticated_store_factory) {
        return Status(Code::kUnauthenticated, "this PC syncs only with PCs holding the office key");
      }
      DAICHO_ASSIGN_OR_RETURN(AcceptedSession accepted,
                              unproven ? options_.unauthenticated_store_factory(hello, address)
                                       : options_.store_factory(hello, address));
      if (accepted.recheck_login && conn) {
        // Checked once more now that RecheckLogins can reach this connection:
        // a login ended while it was being admitted is caught here, a later
        // end by RecheckLogins (both run on this strand).
        conn->recheck_login = std::move(accepted.recheck_login);
        DAICHO_RETURN_IF_ERROR(conn->recheck_login());
      }
      borrowed.Bind(std::move(accepted.store));
      if (!accepted.group.empty()) JoinGroup(std::move(accepted.group), *self);
      return Admission{std::move(accepted.device_token), std::move(accepted.office_keys),
                       std::move(accepted.relay_holds), std::move(accepted.contract)};
    };
    auto conn = std::make_shared<Connection<Stream>>(
        std::move(ws), std::move(store), borrowed, std::move(session), options_.local_id, options_.websocket, peer.text,
        options_.log, [this](ConnectionBase& from) { PushToGroup(from); }, SyncHooks{});
    *self = conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      std::erase_if(connections_, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
      connections_.push_back(conn);
    }
    asio::co_spawn(conn->executor(), Connection<Stream>::RunServer(conn), asio::detached);
  }

  void JoinGroup(std::string group, const std::weak_ptr<ConnectionBase>& weak) {
    auto conn = weak.lock();
    if (!conn) return;
    std::lock_guard<std::mutex> lock(mu_);
    conn->group = group;
    auto& members = groups_[group];
    std::erase_if(members, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
    members.push_back(weak);
  }

  // `from` applied a batch to its group's store: every other member pushes.
  void PushToGroup(ConnectionBase& from) {
    std::lock_guard<std::mutex> lock(mu_);
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

  // Declared before ioc_: connections still pending when the io_context is
  // destroyed log through options_ and must find it alive.
  SyncServerOptions options_;
  std::optional<ssl::context> tls_;  // set: wss:// only
  std::mutex mu_;
  std::vector<std::weak_ptr<ConnectionBase>> connections_;  // guarded by mu_
  std::unordered_map<std::string, std::vector<std::weak_ptr<ConnectionBase>>> groups_;  // guarded by mu_
  bool stopping_ = false;                               // guarded by mu_
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

// ---------------------------------------------------------------------------

class WebSocketClient::Impl {
 public:
  explicit Impl(const WebSocketOptions& options) : ws_(ioc_) { ConfigureStream(ws_, options); }
  ~Impl() {
    error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  Status Connect(const Url& url) {
    error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return StatusFromError(ec, "resolve " + url.host);
    asio::connect(beast::get_lowest_layer(ws_).socket(), endpoints, ec);
    if (ec) return StatusFromError(ec, "connect " + url.host + ":" + url.port);
    ws_.handshake(url.host + ":" + url.port, url.target, ec);
    if (ec) return StatusFromError(ec, "websocket handshake");
    return Status::Ok();
  }

  Status Send(std::string_view frame) {
    error_code ec;
    ws_.write(asio::buffer(frame.data(), frame.size()), ec);
    return ec ? StatusFromError(ec, "write") : Status::Ok();
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

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(std::string_view url, WebSocketOptions options) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  if (parsed.tls) return Status(Code::kInvalidArgument, "WebSocketClient speaks ws:// only");
  try {
    auto impl = std::make_unique<Impl>(options);
    DAICHO_RETURN_IF_ERROR(impl->Connect(parsed));
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

Result<std::string> WebSocketClient::Receive() {
  try {
    return impl_->Receive();
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Receive: ") + e.what());
  }
}

}  // namespace daicho::net
