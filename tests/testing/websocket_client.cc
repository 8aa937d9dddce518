#include "tests/testing/websocket_client.h"

#include <exception>
#include <string>
#include <utility>

#include "transport/errors.h"
#include "transport/stream.h"
#include "transport/url.h"

namespace daicho::testing {

namespace asio = transport::detail::asio;
namespace beast = transport::detail::beast;
namespace http = transport::detail::http;
namespace websocket = transport::detail::websocket;
using transport::ErrorSite;
using transport::ParseUrl;
using transport::StatusFromError;
using transport::Url;
using transport::WebSocketOptions;
using transport::detail::ConfigureStream;
using transport::detail::error_code;
using transport::detail::PlainStream;
using transport::detail::tcp;

class WebSocketClient::Impl {
 public:
  explicit Impl(const WebSocketOptions& options) : ws_(ioc_) { ConfigureStream(ws_, options); }
  ~Impl() {
    error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  Status Connect(const Url& url, std::string_view source_address, std::string_view origin) {
    error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return StatusFromError(ec, "resolve " + url.host);
    tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
    if (!source_address.empty()) {
      const auto source = asio::ip::make_address(std::string(source_address), ec);
      if (ec) return StatusFromError(ec, "source address " + std::string(source_address), ErrorSite::kSetup);
      socket.open(source.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
      if (ec) return StatusFromError(ec, "bind " + std::string(source_address), ErrorSite::kSetup);
    }
    if (source_address.empty()) {
      asio::connect(socket, endpoints, ec);
    } else {
      // The range form of connect closes the socket first, losing the bind.
      socket.connect(endpoints.begin()->endpoint(), ec);
    }
    if (ec) return StatusFromError(ec, "connect " + url.Authority());
    if (!origin.empty()) {
      ws_.set_option(
          websocket::stream_base::decorator([origin = std::string(origin)](websocket::request_type& request) {
            request.set(http::field::origin, origin);
          }));
    }
    ws_.handshake(url.Authority(), url.target, ec);
    if (ec) return StatusFromError(ec, "websocket handshake");
    return Status::Ok();
  }

  Status Send(std::string_view frame) {
    error_code ec;
    ws_.write(asio::buffer(frame.data(), frame.size()), ec);
    return ec ? StatusFromError(ec, "write") : Status::Ok();
  }

  Status SendFragment(std::string_view part, bool last) {
    error_code ec;
    ws_.auto_fragment(false);
    ws_.write_some(last, asio::buffer(part.data(), part.size()), ec);
    return ec ? StatusFromError(ec, "write") : Status::Ok();
  }

  Status Ping() {
    error_code ec;
    ws_.ping({}, ec);
    return ec ? StatusFromError(ec, "ping") : Status::Ok();
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

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(std::string_view url, std::string_view source_address,
                                                                  std::string_view origin) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  if (parsed.tls) return Status(Code::kInvalidArgument, "WebSocketClient speaks ws:// only");
  try {
    auto impl = std::make_unique<Impl>(WebSocketOptions{});
    DAICHO_RETURN_IF_ERROR(impl->Connect(parsed, source_address, origin));
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

Status WebSocketClient::SendFragment(std::string_view part, bool last) {
  try {
    return impl_->SendFragment(part, last);
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::SendFragment: ") + e.what());
  }
}

Status WebSocketClient::Ping() {
  try {
    return impl_->Ping();
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Ping: ") + e.what());
  }
}

Result<std::string> WebSocketClient::Receive() {
  try {
    return impl_->Receive();
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("WebSocketClient::Receive: ") + e.what());
  }
}

}  // namespace daicho::testing
