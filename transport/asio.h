// The one header through which daicho includes Asio and Beast.
//
// Boost 1.74's <boost/asio/awaitable.hpp> uses std::exchange without
// including <utility>, so <utility> must come first. Asio and Beast are
// compiled once (transport/asio_impl.cc) under BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION, which daicho_transport defines publicly so every
// includer agrees. Only transport/ (its .cc files and internal headers such as
// connection.h and stream.h) and the tests include this header: the headers other
// modules include (sync_client.h, sync_server.h, websocket_options.h, url.h,
// lan_discovery.h) expose no Boost types.
#ifndef DAICHO_TRANSPORT_ASIO_H_
#define DAICHO_TRANSPORT_ASIO_H_

#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

namespace daicho::transport::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using udp = boost::asio::ip::udp;

}  // namespace daicho::transport::detail

#endif  // DAICHO_TRANSPORT_ASIO_H_
