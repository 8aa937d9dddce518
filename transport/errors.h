// The one place where Asio/Beast errors become daicho codes (a peer that
// cannot be reached is kUnavailable, one that does not speak WebSocket
// kProtocolError, a frame over the limit kResourceExhausted, a bad local
// setting kInvalidArgument). Internal to transport/.
#ifndef DAICHO_TRANSPORT_ERRORS_H_
#define DAICHO_TRANSPORT_ERRORS_H_

#include <string_view>

#include <boost/system/error_code.hpp>

#include "daicho/status.h"

namespace daicho::transport {

// Where an error came from: the network (peer, socket, handshake) or the
// local setup (addresses, certificate and key files) the caller gave us.
enum class ErrorSite { kNetwork, kSetup };

// "what: <the error's message>" with the code for `ec` from `site`.
Status StatusFromError(const boost::system::error_code& ec, std::string_view what,
                       ErrorSite site = ErrorSite::kNetwork);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_ERRORS_H_
