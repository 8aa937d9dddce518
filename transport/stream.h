// The WebSocket streams of the transport and their set-up, shared by the
// connections and the test client (tests/testing/websocket_client.h).
// Internal to transport/.
#ifndef DAICHO_TRANSPORT_STREAM_H_
#define DAICHO_TRANSPORT_STREAM_H_

#include <type_traits>

#include "transport/asio.h"
#include "transport/websocket_options.h"

namespace daicho::transport::detail {

namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// Timeouts, keep-alive pings, no compression, the frame limit, binary frames.
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

}  // namespace daicho::transport::detail

#endif  // DAICHO_TRANSPORT_STREAM_H_
