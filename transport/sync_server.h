// SyncServer: accepts WebSocket connections and runs one acceptor
// SyncSession per connection, and answers plain HTTP on the same port
// (health checks, and routes handed to an HttpHandler such as the relay's
// admin panel); errors as in transport/websocket_options.h.
#ifndef DAICHO_TRANSPORT_SYNC_SERVER_H_
#define DAICHO_TRANSPORT_SYNC_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "sync/accepted_session.h"
#include "sync/messages.h"
#include "sync/sync_session.h"
#include "transport/websocket_options.h"
#include "web/http_message.h"

namespace daicho::transport {

struct SyncServerOptions {
  // Address to listen on; port 0 picks an ephemeral port (see port()).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Threads running the io_context (connections are strand-serialized).
  size_t threads = 1;
  // PEM certificate chain and private key: when both are set the server
  // speaks wss:// only; when both are empty, ws:// only.
  std::string tls_cert_file;
  std::string tls_key_file;
  WebSocketOptions websocket;
  // Options of each acceptor session (role is forced to kAcceptor; its
  // `authenticate` is replaced by store_factory).
  sync::SessionOptions session;
  // Replica id announced in Welcome.
  ReplicaId local_id;
  // Called once per connection when its Hello arrives, on one of the
  // admission_threads (never on a thread that moves frames, so a slow
  // password check stalls no other connection; the connection waits for it),
  // with the peer's IP address (no port): checks the credentials and
  // returns the store the session syncs (a relay picks the contract's store
  // here). An error (kUnauthenticated, say) is sent to the peer as the Error
  // and ends the session. Required; may be called from several threads at
  // once.
  using StoreFactory =
      std::function<Result<sync::AcceptedSession>(const sync::Hello&, const std::string& peer_address)>;
  StoreFactory store_factory;
  // With websocket.peer_auth: admits a connection that did not prove the
  // office key (e.g. a new PC fetching the passphrase-wrapped key). Empty:
  // such connections are refused with kUnauthenticated.
  StoreFactory unauthenticated_store_factory;
  // One line per ended session (peer, outcome, frames and bytes), plus one
  // transport::LogLine per refused or closed hostile connection (caps,
  // deadlines, shed buffers; at most one a second per kind, with a count of
  // those left out), called on a server thread. Optional.
  std::function<void(const std::string&)> log;

  // WebSocket upgrades are accepted on these request paths only (a query
  // string is ignored); any other path gets HTTP 404. "/" is what `daicho
  // serve` announces, "/sync" what relay URLs name (docs/protocol.md).
  std::vector<std::string> paths = {"/", "/sync"};
  // Upgrades on P + KEY are accepted too, for each prefix P here and KEY of
  // 1 to 32 bytes of [0-9A-Za-z-]: "/sync/<contract>", which a load balancer
  // can route by. The session's Hello must then name that contract
  // (sync::ContractNumber::Parse of both equal), or it is refused with
  // kInvalidArgument before store_factory runs.
  std::vector<std::string> keyed_paths = {"/sync/"};
  // HTTP GET /readyz answers 200 "ready" when this says true (or is empty),
  // else 503 "not ready"; GET /healthz always answers 200 "ok". Called on a
  // server thread; must be quick.
  std::function<bool()> ready;
  // Open connections at most, in total and per source address. At a cap the
  // oldest connection not logged in yet is closed to make room; when every
  // connection is logged in, the new one is refused.
  size_t max_connections = 1000;
  size_t max_connections_per_address = 50;
  // Load balancers in front of this server, as address ranges ("10.0.0.5",
  // "10.0.0.0/24", "2001:db8::/64"; docs/protocol.md "PROXY protocol"). A
  // connection from one of them must begin with a PROXY protocol v2 header
  // (before TLS), read within websocket.handshake_timeout, naming the client
  // it forwards: the client's address then counts for
  // max_connections_per_address and is the peer address store_factory, the
  // http_handler and log lines get. A missing or malformed header closes the
  // connection (one log line, as other hostile input); a LOCAL header (the
  // balancer's health check) keeps the balancer's own address. Connections
  // from other addresses are served as they come (a header from them is
  // garbage). A malformed range makes Start kInvalidArgument.
  std::vector<std::string> trusted_proxies;
  // Input buffered across all connections (unfinished messages) at most;
  // above it, the connections with the largest buffers are closed, those
  // not logged in first.
  size_t max_buffered_bytes = size_t{256} << 20;
  // Threads that run store_factory (and so a relay's password checks), off
  // the threads that move frames. A factory that blocks while it waits (the
  // relay's password gate) needs a thread per waiting caller, or the
  // admissions behind it wait in this pool's queue.
  size_t admission_threads = 2;
  // Threads that run the store calls of logged-in sessions (each frame's,
  // live pushes, login rechecks), one call at a time per connection, off the
  // threads that move frames: a slow store (a database commit) then stalls
  // its own connection only. A push or recheck arriving during a call runs
  // once after it. 0: they run on the connection's I/O thread, as an
  // embedded store (LMDB) answers faster than a thread switch.
  size_t store_threads = 0;

  // Plain HTTP requests whose path is under one of http_prefixes go to
  // http_handler (docs/protocol.md "HTTP routes"): a path matches a prefix P
  // when it equals P, or starts with P and P ends in '/', or starts with
  // P + "/" ({"/admin", "/api/"} routes /admin, /admin/users and /api/x, not
  // /administrator or /api). The query string is ignored. Either empty: no
  // HTTP routes, only the health checks. The handler runs on one of the
  // http_threads and may block there.
  web::HttpHandler http_handler;
  std::vector<std::string> http_prefixes;
  // Threads that run http_handler: a pool of their own, so that a flood of
  // panel requests (each may wait for a password check) never holds the
  // admission_threads that PCs log in with.
  size_t http_threads = 4;
  // A request body on an HTTP route above this many bytes is answered 413
  // and the connection closed.
  size_t max_http_body_bytes = size_t{64} << 10;
  // Exact paths (no query string) whose bodies may be larger: a path and
  // its own cap (an upload form). Known once the request line is read; such
  // a body counts against max_buffered_bytes while it is read and handled,
  // like a sync message, so uploads at once cannot exceed the input budget.
  std::vector<std::pair<std::string, size_t>> http_upload_paths;
  // HTTP/1.1 keep-alive: a connection serves at most this many requests on
  // the HTTP routes, one at a time, and is closed when the next request
  // (header and body) does not arrive within http_idle_timeout of the last
  // answer. Such connections count against max_connections and, never
  // logged in, are the first closed to make room.
  size_t max_requests_per_connection = 100;
  std::chrono::milliseconds http_idle_timeout{15000};
  // Who may open a WebSocket (an upgrade carrying an Origin header; the
  // desktop PCs send none) and, through the handler, post to the panel: the
  // origins listed ("https://panel.example"), or with an empty list the
  // request's own origin (its Host header, https under TLS) only. The rule
  // is web::OriginAllowed; a refused upgrade gets HTTP 403.
  std::vector<std::string> allowed_origins;
};

// A server's load, for tests and health reporting.
struct SyncServerStats {
  size_t open_connections = 0;       // accepted and not yet closed
  size_t logged_in_connections = 0;  // of these, past the Welcome
  size_t buffered_bytes = 0;         // input buffered now, all connections
  // The most buffered_bytes ever reached after shedding (budget checks).
  size_t peak_buffered_bytes = 0;
  uint64_t refused_connections = 0;  // at a cap, with nobody to close instead
  uint64_t shed_connections = 0;     // closed to make room (caps or budget)
};

// Accepts WebSocket connections and runs one acceptor SyncSession per
// connection until the peer closes or the session fails.
//
// Ownership: owns its io_context, threads and connections; each connection
// owns the ChangeStore its factory returned, which is called by one thread at
// a time (a store_threads thread, or the connection's I/O thread). Thread-safety: Start/Stop/port
// may be called from any one thread at a time, RecheckLogins from any thread
// while started; the callbacks run on server threads. Start returns
// kFailedPrecondition if already started, kInvalidArgument (no factory, bad
// host, unreadable certificate or key), kUnavailable (cannot bind).
class SyncServer {
 public:
  explicit SyncServer(SyncServerOptions options);
  ~SyncServer();  // Stop()
  SyncServer(const SyncServer&) = delete;
  SyncServer& operator=(const SyncServer&) = delete;

  // Binds, listens and starts the threads; returns once connections can be
  // accepted.
  Status Start();
  // Closes the listener and every open connection, then joins the threads
  // (waiting for store_factory and http_handler calls under way). Idempotent. Must not be
  // called from the store_factory or log callbacks (it would join the thread
  // it runs on).
  void Stop();
  // Drains the server (a node leaving its load balancer): stops accepting,
  // then every sync session finishes the store call under way and writes
  // what is queued, and closes with WebSocket close code 1001 (going away),
  // which a PC takes as "connect again", not as an error; connections
  // without a session (plain HTTP, handshakes) are closed at once. Returns
  // once every connection has ended or after `wait`, whichever is first;
  // call Stop() then for what is left. Not from a server callback.
  void GoAway(std::chrono::milliseconds wait);
  // The bound port (0 before Start()).
  uint16_t port() const;
  // Has every open connection recheck its login (sync::AcceptedSession::
  // recheck_login) on its strand; a session whose login no longer holds ends
  // with an Error to its peer and moves nothing more. Returns at once. Call
  // when logins may have ended (a relay: its login generation moved).
  void RecheckLogins();
  // Every live session of `group` (sync::AcceptedSession::group; a relay's
  // contract) pushes what its store holds that its peer lacks: call when the
  // shared store gained changes other than through this server (another
  // relay node committed them). Pushes coalesce per connection (one covers
  // every call made before it runs). Returns at once; any thread while
  // started.
  void PushToGroup(const std::string& group);
  // The groups with a live session now, each once, in no particular order
  // (the contracts whose changes from elsewhere must be pushed). Any thread.
  std::vector<std::string> LiveGroups() const;
  // The current load (see SyncServerStats). Any thread.
  SyncServerStats Stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_SYNC_SERVER_H_
