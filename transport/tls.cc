#include "transport/tls.h"

#include "transport/errors.h"

namespace daicho::transport {

namespace ssl = boost::asio::ssl;

Status ConfigureTls(ssl::context& context, TlsRole role, const TlsFiles& files) {
  boost::system::error_code ec;
  // Cannot fail for these flags; a file error below would overwrite `ec` anyway.
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
  if (role == TlsRole::kServer) {
    context.use_certificate_chain_file(files.cert_file, ec);
    if (ec) return StatusFromError(ec, "TLS certificate " + files.cert_file, ErrorSite::kSetup);
    context.use_private_key_file(files.key_file, ssl::context::pem, ec);
    if (ec) return StatusFromError(ec, "TLS key " + files.key_file, ErrorSite::kSetup);
    return Status::Ok();
  }
  if (files.ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(files.ca_file, ec);
  }
  if (ec) return StatusFromError(ec, "TLS CA file " + files.ca_file, ErrorSite::kSetup);
  context.set_verify_mode(ssl::verify_peer, ec);
  return Status::Ok();
}

}  // namespace daicho::transport
