#include "transport/errors.h"

#include <string>
#include <utility>

#include "transport/asio.h"

namespace daicho::transport {

namespace asio = detail::asio;
namespace beast = detail::beast;
namespace websocket = detail::websocket;

Status StatusFromError(const boost::system::error_code& ec, std::string_view what, ErrorSite site) {
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

}  // namespace daicho::transport
