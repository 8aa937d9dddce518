// Connection: one WebSocket connection running one SyncSession, for a client
// (SyncOnce) or a server (SyncServer), over a plain or a TLS stream. Internal
// to transport/.
//
// Everything runs on the connection's strand (the stream's executor): the
// SyncSession is touched only there, by one reader coroutine (frame in ->
// OnFrame -> frames queued) and one writer coroutine draining a bounded queue
// (one write in flight). A full queue fails the connection with
// kResourceExhausted instead of growing memory.
//
// The Connection class template and the WebSocket streams are instantiated in
// transport/connection.cc only, for both stream types (the costly part of
// compiling the transport); this header shows no stream type.
#ifndef DAICHO_TRANSPORT_CONNECTION_H_
#define DAICHO_TRANSPORT_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>

#include "daicho/replica_id.h"
#include "sync/change_store.h"
#include "sync/sync_session.h"
#include "transport/asio.h"
#include "transport/connection_base.h"
#include "transport/sync_client.h"
#include "transport/url.h"
#include "transport/websocket_options.h"

namespace daicho::transport::detail {

class ServerHub;

struct ConnectionOptions {
  // The session's options; its role picks client or server behaviour.
  sync::SessionOptions session;
  // Announced in the Hello (client) or the Welcome (server).
  ReplicaId local_id;
  // Limits, timeouts and the office-key check.
  WebSocketOptions websocket;
  // The peer as log lines name it ("address:port").
  std::string peer;
  // Server: where the session_end line goes. Client: empty.
  std::function<void(const std::string&)> log;
  // Server only: what the server's connections share (caps, input budget,
  // groups, the admission pool). Null for a client.
  std::shared_ptr<ServerHub> hub;
  // Client only: progress, stop and peer-error callbacks.
  SyncHooks hooks;
};

// Client: connects to `url` over a new socket on a strand of `ioc`, through
// `tls` when set (a context set up by ConfigureTls, which must outlive
// `ioc`), and runs the session over `store`, running `ioc` on the calling
// thread until the connection is over. The connection is returned for its
// session and Outcome().
std::shared_ptr<ConnectionBase> RunClientConnection(asio::io_context& ioc, asio::ssl::context* tls, Url url,
                                                    sync::ChangeStore& store, ConnectionOptions options);

// Server: a connection over an accepted `socket`, through `tls` when set (it
// must outlive the connection), syncing `store`; `owned_store` (may be null)
// lives as long as the connection. Not started: the caller registers it with
// options.hub first, then calls StartServer().
std::shared_ptr<ConnectionBase> MakeServerConnection(tcp::socket socket, asio::ssl::context* tls,
                                                     sync::ChangeStore& store,
                                                     std::unique_ptr<sync::ChangeStore> owned_store,
                                                     ConnectionOptions options);

}  // namespace daicho::transport::detail

#endif  // DAICHO_TRANSPORT_CONNECTION_H_
