// StatusFromError: the one mapping of Asio/Beast errors to daicho codes.
#include "transport/errors.h"

#include <gtest/gtest.h>

#include "transport/asio.h"

namespace daicho::transport {
namespace {

namespace asio = detail::asio;
namespace beast = detail::beast;
namespace websocket = detail::websocket;

Code CodeOf(const boost::system::error_code& ec, ErrorSite site = ErrorSite::kNetwork) {
  return StatusFromError(ec, "what", site).code();
}

TEST(ErrorsTest, MessageSaysWhatFailedAndWhy) {
  const boost::system::error_code ec = asio::error::connection_refused;
  EXPECT_EQ(StatusFromError(ec, "connect 127.0.0.1:9").message(), "connect 127.0.0.1:9: " + ec.message());
}

TEST(ErrorsTest, LocalSetupIsInvalidArgumentWhateverTheError) {
  EXPECT_EQ(CodeOf(asio::error::address_in_use, ErrorSite::kSetup), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(websocket::error::message_too_big, ErrorSite::kSetup), Code::kInvalidArgument);
}

TEST(ErrorsTest, OversizedInputIsResourceExhausted) {
  EXPECT_EQ(CodeOf(websocket::error::message_too_big), Code::kResourceExhausted);
  EXPECT_EQ(CodeOf(beast::http::error::body_limit), Code::kResourceExhausted);
  EXPECT_EQ(CodeOf(beast::http::error::header_limit), Code::kResourceExhausted);
}

TEST(ErrorsTest, APeerThatDoesNotSpeakWebSocketIsAProtocolError) {
  EXPECT_EQ(CodeOf(websocket::error::bad_opcode), Code::kProtocolError);
  EXPECT_EQ(CodeOf(websocket::error::no_connection_upgrade), Code::kProtocolError);
  EXPECT_EQ(CodeOf(beast::http::error::bad_method), Code::kProtocolError);
}

TEST(ErrorsTest, CloseTimeoutAndUnreachablePeersAreUnavailable) {
  EXPECT_EQ(CodeOf(websocket::error::closed), Code::kUnavailable);
  EXPECT_EQ(CodeOf(beast::error::timeout), Code::kUnavailable);
  EXPECT_EQ(CodeOf(asio::error::operation_aborted), Code::kUnavailable);
  EXPECT_EQ(CodeOf(asio::error::connection_refused), Code::kUnavailable);
  EXPECT_EQ(CodeOf(asio::error::connection_reset), Code::kUnavailable);
  EXPECT_EQ(CodeOf(asio::error::eof), Code::kUnavailable);
  EXPECT_EQ(CodeOf(asio::error::host_not_found), Code::kUnavailable);
}

}  // namespace
}  // namespace daicho::transport
