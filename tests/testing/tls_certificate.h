// A TLS certificate for tests of wss:// servers and clients on loopback.
#ifndef DAICHO_TESTS_TESTING_TLS_CERTIFICATE_H_
#define DAICHO_TESTS_TESTING_TLS_CERTIFICATE_H_

#include <string>
#include <utility>

#include "tests/testing/temp_dir.h"

namespace daicho::testing {

// A self-signed certificate for 127.0.0.1 (and localhost), made by the
// openssl command line as cert.pem and key.pem in `dir`: {certificate, key}.
// A failing openssl is a test failure.
std::pair<std::string, std::string> MakeSelfSignedCertificate(const TempDir& dir);

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_TLS_CERTIFICATE_H_
