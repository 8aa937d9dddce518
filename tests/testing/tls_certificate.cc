#include "tests/testing/tls_certificate.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace daicho::testing {

std::pair<std::string, std::string> MakeSelfSignedCertificate(const TempDir& dir) {
  const std::string cert = dir.Sub("cert.pem");
  const std::string key = dir.Sub("key.pem");
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return {cert, key};
}

}  // namespace daicho::testing
