#include "transport/sync_server.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sync/contract_number.h"
#include "transport/address_range.h"
#include "transport/asio.h"
#include "transport/connection.h"
#include "transport/errors.h"
#include "transport/log_line.h"
#include "transport/server_hub.h"
#include "transport/tls.h"

namespace daicho::transport {
namespace {

namespace asio = detail::asio;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;
using detail::ConnectionBase;
using detail::ServerHub;
using detail::tcp;

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

// A session upgraded on "/sync/<KEY>" must log in to the contract KEY: a
// load balancer routed it by the path, so a Hello for another contract would
// reach a node the balancer did not pick for that contract. Refused as a bad
// request, not as a failed login: a PC's saved login (device token) must
// survive a URL typed wrong.
Status CheckPathContract(const std::string& key, const std::string& contract) {
  auto in_path = sync::ContractNumber::Parse(key);
  auto in_hello = sync::ContractNumber::Parse(contract);
  if (in_path.ok() && in_hello.ok() && *in_path == *in_hello) return Status::Ok();
  return Status(Code::kInvalidArgument, "the URL names contract " + key + " but the login names contract " + contract);
}

}  // namespace

class SyncServer::Impl {
 public:
  explicit Impl(SyncServerOptions options) : options_(std::move(options)) {
    options_.session.role = sync::SessionRole::kAcceptor;
  }
  ~Impl() { Stop(); }

  Status Start() {
    if (started_) return Status(Code::kFailedPrecondition, "SyncServer already started");
    if (!options_.store_factory) return Status(Code::kInvalidArgument, "SyncServer needs a store_factory");
    std::vector<AddressRange> trusted;
    for (const std::string& cidr : options_.trusted_proxies) {
      DAICHO_ASSIGN_OR_RETURN(AddressRange range, AddressRange::Parse(cidr));
      trusted.push_back(range);
    }
    trusted_proxies_ = std::move(trusted);
    DAICHO_RETURN_IF_ERROR(SetUpTls());
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
    http_pool_.emplace(options_.http_threads == 0 ? 1 : options_.http_threads);
    store_pool_.emplace(options_.store_threads == 0 ? 1 : options_.store_threads);  // idle with 0
    hub_ = std::make_shared<ServerHub>(options_, pool_->get_executor(), http_pool_->get_executor(),
                                       store_pool_->get_executor());
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
    // A connection waiting for its admission, HTTP handler or store call keeps the
    // io_context running, so the pools have nothing left to do once the
    // threads are joined.
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    pool_->join();
    http_pool_->join();
    store_pool_->join();
  }

  void GoAway(std::chrono::milliseconds wait) {
    if (!started_ || stopped_) return;
    const auto until = std::chrono::steady_clock::now() + wait;
    asio::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
    });
    for (auto& conn : hub_->Stopping()) asio::post(conn->executor(), [conn] { conn->GoAway(); });
    hub_->WaitForNone(until);
  }

  uint16_t port() const { return port_; }

  SyncServerStats Stats() { return hub_ ? hub_->Stats() : SyncServerStats{}; }

  void PushToGroup(const std::string& group) {
    if (hub_) hub_->PushToGroup(group);
  }

  std::vector<std::string> LiveGroups() const { return hub_ ? hub_->Groups() : std::vector<std::string>{}; }

  void RecheckLogins() {
    if (!hub_) return;
    for (auto& conn : hub_->Live()) asio::post(conn->executor(), [conn] { conn->RecheckLogin(); });
  }

 private:
  // Both files or none: wss:// only, or ws:// only.
  Status SetUpTls() {
    if (options_.tls_cert_file.empty() && options_.tls_key_file.empty()) return Status::Ok();
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      return Status(Code::kInvalidArgument, "TLS needs both a certificate and a key file");
    }
    tls_.emplace(ssl::context::tls_server);
    TlsFiles files;
    files.cert_file = options_.tls_cert_file;
    files.key_file = options_.tls_key_file;
    return ConfigureTls(*tls_, TlsRole::kServer, files);
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
    const PeerEndpoint peer = RemoteEndpoint(socket);
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
    session.authenticate = [this, &borrowed, self](const sync::Hello& hello) -> Result<sync::Admission> {
      auto conn = self->lock();
      if (!conn) return Status(Code::kUnavailable, "connection closed");
      // The client's, once a trusted proxy's header named it (written on the
      // strand before the Hello was read).
      const std::string address = conn->address;
      const bool unproven = options_.websocket.peer_auth && !conn->peer_authenticated();
      if (!conn->path_key.empty()) DAICHO_RETURN_IF_ERROR(CheckPathContract(conn->path_key, hello.contract));
      if (unproven && !options_.unauthenticated_store_factory) {
        return Status(Code::kUnauthenticated, "this PC syncs only with PCs holding the office key");
      }
      DAICHO_ASSIGN_OR_RETURN(
          sync::AcceptedSession accepted,
          unproven ? options_.unauthenticated_store_factory(hello, address) : options_.store_factory(hello, address));
      if (accepted.recheck_login) {
        // A login ended while it was being admitted is caught here, a later
        // end by the strand's check and RecheckLogins.
        DAICHO_RETURN_IF_ERROR(accepted.recheck_login());
      }
      conn->admitted_recheck_login = std::move(accepted.recheck_login);
      conn->admitted_group = std::move(accepted.group);
      borrowed.Bind(std::move(accepted.store));
      return std::move(accepted.admission);
    };
    detail::ConnectionOptions connection;
    connection.session = std::move(session);
    connection.local_id = options_.local_id;
    connection.websocket = options_.websocket;
    connection.peer = peer.text;
    connection.log = options_.log;
    connection.hub = hub_;
    std::shared_ptr<ConnectionBase> conn = detail::MakeServerConnection(
        std::move(socket), tls_ ? &*tls_ : nullptr, borrowed, std::move(store), std::move(connection));
    *self = conn;
    conn->address = peer.address;
    conn->peer_text = peer.text;
    conn->proxied = std::any_of(trusted_proxies_.begin(), trusted_proxies_.end(),
                                [&peer](const AddressRange& range) { return range.Contains(peer.address); });
    if (!hub_->Register(conn)) {
      conn->quiet = true;  // logged as refused; the socket closes with it
      return;
    }
    conn->StartServer();
  }

  // Declared before ioc_: connections still pending when the io_context is
  // destroyed log through options_ and must find it alive.
  SyncServerOptions options_;
  std::optional<ssl::context> tls_;              // set: wss:// only
  std::vector<AddressRange> trusted_proxies_;    // set by Start
  std::shared_ptr<ServerHub> hub_;               // set by Start
  std::optional<asio::thread_pool> pool_;        // runs store_factory; set by Start
  std::optional<asio::thread_pool> http_pool_;   // runs http_handler; set by Start
  std::optional<asio::thread_pool> store_pool_;  // runs sessions' store calls (store_threads); set by Start
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
void SyncServer::PushToGroup(const std::string& group) { impl_->PushToGroup(group); }
std::vector<std::string> SyncServer::LiveGroups() const { return impl_->LiveGroups(); }
void SyncServer::GoAway(std::chrono::milliseconds wait) { impl_->GoAway(wait); }
uint16_t SyncServer::port() const { return impl_->port(); }
SyncServerStats SyncServer::Stats() const { return impl_->Stats(); }

}  // namespace daicho::transport
