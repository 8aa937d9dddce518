#include "web/origin.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace daicho::web {
namespace {

const std::vector<std::string> kNone;

TEST(OriginTest, SameOriginMatchesTheHostHeaderAndTheScheme) {
  EXPECT_TRUE(OriginAllowed("http://127.0.0.1:8080", "127.0.0.1:8080", false, kNone));
  EXPECT_TRUE(OriginAllowed("https://relay.example", "relay.example", true, kNone));
  EXPECT_TRUE(OriginAllowed("HTTPS://Relay.Example", "relay.EXAMPLE", true, kNone));
  EXPECT_TRUE(OriginAllowed("http://[::1]:9000", "[::1]:9000", false, kNone));
}

TEST(OriginTest, SameOriginRefusesAnotherHostPortOrScheme) {
  EXPECT_FALSE(OriginAllowed("http://evil.example", "relay.example", false, kNone));
  EXPECT_FALSE(OriginAllowed("http://127.0.0.1:8081", "127.0.0.1:8080", false, kNone));
  EXPECT_FALSE(OriginAllowed("http://relay.example", "relay.example", true, kNone)) << "http origin under TLS";
  EXPECT_FALSE(OriginAllowed("https://relay.example", "relay.example", false, kNone)) << "https origin without TLS";
  EXPECT_FALSE(OriginAllowed("http://relay.example.evil", "relay.example", false, kNone));
  EXPECT_FALSE(OriginAllowed("http://relay.example", "", false, kNone)) << "no Host header";
}

TEST(OriginTest, DefaultPortsMayBeWrittenOrLeftOut) {
  EXPECT_TRUE(OriginAllowed("https://relay.example", "relay.example:443", true, kNone));
  EXPECT_TRUE(OriginAllowed("http://relay.example:80", "relay.example", false, kNone));
  EXPECT_FALSE(OriginAllowed("http://relay.example:443", "relay.example", false, kNone));
}

TEST(OriginTest, NullAndMalformedOriginsAreRefused) {
  for (const char* origin :
       {"null", "", "relay.example", "ftp://relay.example", "http://", "http://relay.example/",
        "http://relay.example/admin", "http://user@relay.example", "http://relay.example:", "http://relay.example:80x",
        "http://relay.example:123456", "http://[::1", "http://[]:80", "http://a b", "http://relay.example:80:80"}) {
    EXPECT_FALSE(OriginAllowed(origin, "relay.example", false, kNone)) << origin;
  }
}

TEST(OriginTest, AConfiguredListReplacesTheSameOriginRule) {
  const std::vector<std::string> allowed = {"https://panel.example", "http://localhost:8080"};
  EXPECT_TRUE(OriginAllowed("https://panel.example", "relay.internal:9000", false, allowed));
  EXPECT_TRUE(OriginAllowed("https://PANEL.example:443", "relay.internal:9000", false, allowed));
  EXPECT_TRUE(OriginAllowed("http://localhost:8080", "anything", true, allowed));
  EXPECT_FALSE(OriginAllowed("http://panel.example", "relay.internal:9000", false, allowed));
  EXPECT_FALSE(OriginAllowed("https://panel.example:8443", "relay.internal:9000", false, allowed));
  // The request's own origin is no longer enough once a list is configured.
  EXPECT_FALSE(OriginAllowed("http://relay.internal:9000", "relay.internal:9000", false, allowed));
}

TEST(OriginTest, AMalformedConfiguredEntryMatchesNothing) {
  const std::vector<std::string> allowed = {"panel.example", "null"};
  EXPECT_FALSE(OriginAllowed("https://panel.example", "panel.example", true, allowed));
  EXPECT_FALSE(OriginAllowed("null", "panel.example", true, allowed));
}

}  // namespace
}  // namespace daicho::web
