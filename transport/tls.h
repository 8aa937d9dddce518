// TLS set-up of the WebSocket transport, the same for client and server:
// TLS 1.2 or later only. A client verifies the server's certificate chain
// against a CA file or the system's trust store (the host name is checked
// per connection); a server presents its certificate chain and key. Internal
// to transport/.
#ifndef DAICHO_TRANSPORT_TLS_H_
#define DAICHO_TRANSPORT_TLS_H_

#include <string>

#include "daicho/status.h"
#include "transport/asio.h"

namespace daicho::transport {

enum class TlsRole { kClient, kServer };

// PEM files. Client: ca_file (empty: the system's default trust store).
// Server: cert_file (the chain) and key_file.
struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// Sets `context` up for `role`. kInvalidArgument (naming the file) when a
// file cannot be read or used.
Status ConfigureTls(boost::asio::ssl::context& context, TlsRole role, const TlsFiles& files);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_TLS_H_
