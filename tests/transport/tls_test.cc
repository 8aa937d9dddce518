// ConfigureTls: one TLS set-up for client and server.
#include "transport/tls.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::transport {
namespace {

namespace ssl = boost::asio::ssl;
using daicho::testing::TempDir;

// TLS 1.0 and 1.1 (and SSL) are refused in both roles.
void ExpectOldProtocolsOff(ssl::context& context) {
  const uint64_t options = SSL_CTX_get_options(context.native_handle());
  for (const uint64_t off : {uint64_t{SSL_OP_NO_SSLv3}, uint64_t{SSL_OP_NO_TLSv1}, uint64_t{SSL_OP_NO_TLSv1_1}}) {
    EXPECT_NE(options & off, 0u) << off;
  }
  EXPECT_EQ(options & SSL_OP_NO_TLSv1_2, 0u);
}

TEST(TlsTest, ClientTrustsTheSystemStoreAndVerifiesThePeer) {
  ssl::context context(ssl::context::tls_client);
  ASSERT_DAICHO_OK(ConfigureTls(context, TlsRole::kClient, TlsFiles{}));
  ExpectOldProtocolsOff(context);
  EXPECT_EQ(SSL_CTX_get_verify_mode(context.native_handle()) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST(TlsTest, ClientWithAnUnreadableCaFileIsRefusedNamingIt) {
  ssl::context context(ssl::context::tls_client);
  TlsFiles files;
  files.ca_file = "/nonexistent/ca.pem";
  const Status status = ConfigureTls(context, TlsRole::kClient, files);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_NE(status.message().find("TLS CA file /nonexistent/ca.pem"), std::string::npos) << status;
}

TEST(TlsTest, ServerWithAnUnreadableCertificateOrKeyIsRefusedNamingIt) {
  TempDir dir;
  ssl::context context(ssl::context::tls_server);
  TlsFiles files;
  files.cert_file = dir.Sub("missing-cert.pem");
  files.key_file = dir.Sub("missing-key.pem");
  const Status status = ConfigureTls(context, TlsRole::kServer, files);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_NE(status.message().find("TLS certificate " + files.cert_file), std::string::npos) << status;
  ExpectOldProtocolsOff(context);
}

}  // namespace
}  // namespace daicho::transport
