// WebSocketClient: a bare blocking WebSocket client (binary frames, ws://
// only) without a session, for tests and tools that speak the wire by hand
// (hostile frames, idle peers), with the transport's default WebSocketOptions.
// Errors as in transport/websocket_options.h.
#ifndef DAICHO_TESTS_TESTING_WEBSOCKET_CLIENT_H_
#define DAICHO_TESTS_TESTING_WEBSOCKET_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::testing {

// Not thread-safe.
class WebSocketClient {
 public:
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects and completes the WebSocket handshake. A `source_address`
  // (e.g. "127.0.0.7") is bound first: tests play many PCs on loopback. An
  // `origin` is sent as the upgrade's Origin header, as a browser page's
  // would be (the desktop PCs send none).
  static Result<std::unique_ptr<WebSocketClient>> Connect(std::string_view url, std::string_view source_address = {},
                                                          std::string_view origin = {});
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

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_WEBSOCKET_CLIENT_H_
