// Options of the WebSocket transport for the sync protocol (sync_client.h,
// sync_server.h): SyncSession frames as Beast WebSocket binary messages,
// ws:// (loopback, tests) or wss:// (TLS 1.2+ with OpenSSL; the client
// verifies the server's certificate and host name).
//
// Each connection has one strand, one reader and one writer draining a
// bounded queue (transport/connection.h). A full queue fails the connection
// with kResourceExhausted instead of growing memory. Frames above
// max_frame_bytes end the connection (kResourceExhausted);
// permessage-deflate is off; the WebSocket handshake and idle periods are
// bounded by the timeouts below (keep-alive pings keep a quiet but live peer
// connected). A server also bounds what hostile clients can hold: login and
// message deadlines that pings do not extend, a small message limit before
// login, a budget for input buffered across connections, and caps on open
// connections (SyncServerOptions; docs/protocol.md "Limits").
//
// Callers need no coroutines and no Boost: SyncServer runs its own
// io_context threads; SyncOnce blocks the calling thread.
//
// Status codes: kUnavailable (unreachable, reset, timed out, closed early;
// the message says why), kResourceExhausted (oversized frame, full queue),
// kProtocolError (broken WebSocket framing), kInvalidArgument (bad URL or
// options), kInternal (unexpected exception), and the session's codes (see
// sync/sync_session.h; a peer's Error arrives with the peer's code).
#ifndef DAICHO_TRANSPORT_WEBSOCKET_OPTIONS_H_
#define DAICHO_TRANSPORT_WEBSOCKET_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "crypto/key_ring.h"
#include "sync/wire_codec.h"

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
  // closing handshake (a server cuts a closing handshake its client leaves
  // unfinished, e.g. after a broken rule, within a second of this).
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

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_WEBSOCKET_OPTIONS_H_
