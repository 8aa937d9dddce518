// WebSocket transport for the sync protocol: runs a SyncSession over Beast
// WebSocket binary frames, ws:// (loopback, tests) or wss:// (TLS 1.2+ with
// OpenSSL; the client verifies the server's certificate and host name).
//
// Each connection has one strand: the SyncSession is touched only there, by
// one reader coroutine (frame in -> OnFrame -> frames queued) and one writer
// coroutine draining a bounded queue (one write in flight). A full queue fails
// the connection with kResourceExhausted instead of growing memory. Frames
// above max_frame_bytes end the connection (kResourceExhausted);
// permessage-deflate is off; the WebSocket handshake and idle periods are
// bounded by the timeouts below (keep-alive pings keep a quiet but live peer
// connected). A server also bounds what hostile clients can hold: login and
// message deadlines that pings do not extend, a small message limit before
// login, a budget for input buffered across connections, and caps on open
// connections (SyncServerOptions; docs/protocol.md "Limits").
//
// Callers need no coroutines and no Boost: SyncServer runs its own
// io_context threads; SyncOnce and WebSocketClient block the calling thread.
//
// Status codes: kUnavailable (unreachable, reset, timed out, closed early;
// the message says why), kResourceExhausted (oversized frame, full queue),
// kProtocolError (broken WebSocket framing), kInvalidArgument (bad URL or
// options), kInternal (unexpected exception), and the session's codes (see
// sync/sync_session.h; a peer's Error arrives with the peer's code).
#ifndef DAICHO_TRANSPORT_WEBSOCKET_H_
#define DAICHO_TRANSPORT_WEBSOCKET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/key_ring.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "sync/change_store.h"
#include "sync/sync_session.h"

namespace daicho::transport {

// PC to PC: the office whose key both sides must prove (crypto/peer_channel.h)
// before any sync frame moves; every frame is then encrypted.
struct PeerAuth {
  std::string contract;
  crypto::KeyRing ring;
};

struct WebSocketOptions {
  // Largest WebSocket message accepted (read_message_max); larger ends the
  // connection with kResourceExhausted. The session's frame limit, which
  // its batches and change parts are cut to (docs/protocol.md "Change sizes").
  size_t max_frame_bytes = sync::CodecLimits{}.max_frame_bytes;
  // Time allowed for the TCP connect (client) plus the WebSocket opening or
  // closing handshake.
  std::chrono::milliseconds handshake_timeout{10000};
  // A peer silent this long (it answers no ping either) is dropped.
  std::chrono::milliseconds idle_timeout{60000};
  // Server: the first message (the Hello, or the office-key handshake's
  // first message) must arrive within hello_timeout of the WebSocket
  // upgrade, and the login must be complete (Welcome sent, the office-key
  // handshake included) within login_timeout of it; else the connection is
  // closed. Pings extend neither.
  std::chrono::milliseconds hello_timeout{10000};
  std::chrono::milliseconds login_timeout{30000};
  // Server: a message whose first bytes arrived must be complete within
  // this long (pings do not extend it), else the connection is closed: an
  // unfinished message holds memory. A 16 MiB frame needs about 1.2 Mbit/s.
  std::chrono::milliseconds message_timeout{120000};
  // Server: the largest message accepted before the login is complete (a
  // Hello and the office-key handshake messages are far smaller); after it,
  // max_frame_bytes.
  size_t max_login_message_bytes = size_t{64} << 10;
  // Frames waiting to be written, at most; more fails the connection.
  size_t max_queued_frames = 64;
  // Client, wss:// only: PEM file of the CA certificate(s) trusted to sign
  // the server's certificate. Empty: the system's default trust store.
  std::string tls_ca_file;
  // Set: run the office-key handshake first (a client requires it of the
  // server; a server lets a connection that skips it only reach
  // SyncServerOptions::unauthenticated_store_factory). Unset: none (relay).
  std::shared_ptr<const PeerAuth> peer_auth;
};

// What one sync moved, from this side's point of view.
struct SyncReport {
  uint64_t changes_up = 0;    // changes sent
  uint64_t changes_down = 0;  // changes received (duplicates included)
  uint64_t bytes_up = 0;      // all frame bytes sent
  uint64_t bytes_down = 0;    // all frame bytes received
  // What the peer was last known to hold (its Welcome joined with its Acks).
  VersionVector peer_version_vector;
  // A device token the peer issued (SessionOptions::device_name was set).
  std::string device_token;
  // A relay's copy of the contract's office key, from its Welcome.
  crypto::WrappedOfficeKey office_keys;
  // A peer PC's Welcome: what it knows the relay holds, and the contract of
  // a handed-out office key envelope.
  VersionVector peer_knows_relay_holds;
  std::string contract;
  // Changes the store held at the end that the peer lacks: a one-shot sync
  // sends what was held at its start, so these were committed (or received
  // from elsewhere) while it ran; the next sync sends them.
  uint64_t changes_left = 0;
};

// Client-side callbacks and controls of SyncOnce. All optional; callbacks
// run on the calling thread, between frames.
struct SyncHooks {
  // After each frame received: progress so far (for a progress bar).
  std::function<void(const sync::SessionStats&)> on_progress;
  // Whenever what the peer is known to hold grows (Welcome, each Ack,
  // each batch received): lets a client record what a relay has backed up
  // even if the connection is cut later.
  std::function<void(const VersionVector&)> on_peer_holds;
  // Purpose::kWatch: after catch-up the connection stays open, receives live
  // changes and pushes local ones (the store is polled every poll_interval,
  // so commits of other processes go out too) until `stop` is requested;
  // then it closes cleanly and SyncOnce returns ok. Without kWatch a stop
  // request ends the sync early with kUnavailable ("stopped").
  std::stop_token stop;
  std::chrono::milliseconds poll_interval{500};
  // The peer ended the session with an Error (code, message, reason): called
  // before SyncOnce returns that error, e.g. so a PC learns that its saved
  // login was refused (ErrorReason::kLoginRevoked).
  std::function<void(const sync::ErrorMessage&)> on_peer_error;
};

// Connects to `url` ("ws://host:port/path" or "wss://host:port/path"), runs
// an initiator SyncSession over `store` until each side holds what the other
// held when they met (SyncSession::InSync: commits made meanwhile do not keep
// it going; SyncReport::changes_left counts them), then closes cleanly. Blocks the calling
// thread. `session.role` is forced to kInitiator; with Purpose::kConnectTest
// it closes right after the Welcome; with Purpose::kWatch it stays until
// hooks.stop (see SyncHooks). Errors: kInvalidArgument (URL, CA file),
// kUnavailable (unreachable or cut; the message has the reason, e.g. a TLS
// certificate that does not verify), the session's or the peer's code.
// `store` must outlive the call.
Result<SyncReport> SyncOnce(std::string_view url, sync::ChangeStore& store, ReplicaId local_id,
                            sync::SessionOptions session, WebSocketOptions websocket = {}, SyncHooks hooks = {});

// What a server's store_factory grants an accepted connection.
struct AcceptedSession {
  // The store the session syncs (owned by the connection).
  std::unique_ptr<sync::ChangeStore> store;
  // Sent in the Welcome (a device token issued on the Hello's request).
  std::string device_token;
  // Connections in the same non-empty group share one store: after one of
  // them applies a batch, the others push the new changes to their peers at
  // once (a relay groups by contract). Empty: no live pushes.
  std::string group;
  // Sent in the Welcome: the contract's office key (a relay's).
  crypto::WrappedOfficeKey office_keys;
  // Sent in the Welcome between PCs: what this PC knows the relay holds.
  VersionVector relay_holds;
  // Sent in the Welcome with a handed-out office key envelope.
  std::string contract;
  // Whether the login that admitted the session still holds: called on the
  // connection's strand right after admission and on every RecheckLogins();
  // kUnauthenticated ends the session with an Error (reason kLoginRevoked).
  // Must be quick (no password hashing). Empty: never rechecked.
  std::function<Status()> recheck_login;
};

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
  using StoreFactory = std::function<Result<AcceptedSession>(const sync::Hello&, const std::string& peer_address)>;
  StoreFactory store_factory;
  // With websocket.peer_auth: admits a connection that did not prove the
  // office key (e.g. a new PC fetching the passphrase-wrapped key). Empty:
  // such connections are refused with kUnauthenticated.
  StoreFactory unauthenticated_store_factory;
  // One line per ended session (peer, outcome, frames and bytes), plus one
  // transport::LogLine per refused or closed hostile connection (caps, deadlines,
  // shed buffers; at most one a second per kind, with a count of those left
  // out), called on a server thread. Optional.
  std::function<void(const std::string&)> log;

  // WebSocket upgrades are accepted on these request paths only (a query
  // string is ignored); any other path gets HTTP 404. "/" is what `daicho
  // serve` announces, "/sync" what relay URLs name (docs/protocol.md).
  std::vector<std::string> paths = {"/", "/sync"};
  // HTTP GET /readyz answers 200 "ready" when this says true (or is empty),
  // else 503 "not ready"; GET /healthz always answers 200 "ok". Called on a
  // server thread; must be quick.
  std::function<bool()> ready;
  // Open connections at most, in total and per source address. At a cap the
  // oldest connection not logged in yet is closed to make room; when every
  // connection is logged in, the new one is refused.
  size_t max_connections = 1000;
  size_t max_connections_per_address = 50;
  // Input buffered across all connections (unfinished messages) at most;
  // above it, the connections with the largest buffers are closed, those
  // not logged in first.
  size_t max_buffered_bytes = size_t{256} << 20;
  // Threads that run store_factory (and so a relay's password checks), off
  // the threads that move frames. A factory that blocks while it waits (the
  // relay's password gate) needs a thread per waiting caller, or the
  // admissions behind it wait in this pool's queue.
  size_t admission_threads = 2;
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
// owns the ChangeStore its factory returned. Thread-safety: Start/Stop/port
// may be called from any one thread at a time, RecheckLogins from any thread
// while started; the callbacks run on server threads. Start returns kFailedPrecondition if already started,
// kInvalidArgument (no factory, bad host, unreadable certificate or key),
// kUnavailable (cannot bind).
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
  // (waiting for store_factory calls under way). Idempotent. Must not be
  // called from the store_factory or log callbacks (it would join the thread
  // it runs on).
  void Stop();
  // The bound port (0 before Start()).
  uint16_t port() const;
  // Has every open connection recheck its login (AcceptedSession::
  // recheck_login) on its strand; a session whose login no longer holds ends
  // with an Error to its peer and moves nothing more. Returns at once. Call
  // when logins may have ended (a relay: its login generation moved).
  void RecheckLogins();
  // The current load (see SyncServerStats). Any thread.
  SyncServerStats Stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A bare blocking WebSocket client (binary frames, ws:// only) without a
// session: for tools and tests that speak the wire by hand (hostile frames,
// idle peers).
// Not thread-safe. Errors as at the top of this file.
class WebSocketClient {
 public:
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects and completes the WebSocket handshake. A `source_address`
  // (e.g. "127.0.0.7") is bound first: tests play many PCs on loopback.
  static Result<std::unique_ptr<WebSocketClient>> Connect(std::string_view url, WebSocketOptions options = {},
                                                          std::string_view source_address = {});
  // Sends one binary message (no size limit is applied on sending).
  Status Send(std::string_view frame);
  // Sends one frame of a message: `last` false leaves the message
  // unfinished (a hostile or slow peer), true ends it.
  Status SendFragment(std::string_view part, bool last);
  // Sends a ping (answered by the peer's WebSocket layer, not its session).
  Status Ping();
  // Waits for the next message; a close by the peer is kUnavailable.
  Result<std::string> Receive();

 private:
  class Impl;
  explicit WebSocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_WEBSOCKET_H_
