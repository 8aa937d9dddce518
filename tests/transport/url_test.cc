// ParseUrl: the relay and office PC addresses people type, starting with the
// ones the README and docs show (read from the files themselves, so an
// example that stops working fails here).
#include "transport/url.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/testing/test_util.h"

namespace daicho::transport {
namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(DAICHO_SOURCE_DIR) + "/" + relative);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every ws:// or wss:// address written out in a document (a bare "ws://"
// in prose is not an address).
std::set<std::string> UrlsIn(const std::string& text) {
  static const std::regex kUrl(R"(wss?://[A-Za-z0-9.\[\]:_-]+[^\s`'"()]*)");
  std::set<std::string> urls;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kUrl); it != std::sregex_iterator(); ++it) {
    urls.insert(it->str());
  }
  return urls;
}

TEST(UrlTest, EveryAddressTheReadmeAndDocsShowParses) {
  // A port written as a placeholder (ws://127.0.0.1:P/, :PORT) stands for a number.
  static const std::regex kPlaceholderPort(R"(:[A-Z]+(/|$))");
  for (const char* doc : {"README.md", "docs/embedding.md", "docs/lan-sync.md", "docs/operations.md"}) {
    const std::string text = ReadSource(doc);
    ASSERT_FALSE(text.empty()) << doc;
    for (const std::string& url : UrlsIn(text)) {
      auto parsed = ParseUrl(std::regex_replace(url, kPlaceholderPort, ":47480$1"));
      EXPECT_TRUE(parsed.ok()) << doc << ": " << parsed.status();
    }
  }
}

TEST(UrlTest, TheReadmesRelayAddressUsesTheHttpsPort) {
  const std::set<std::string> urls = UrlsIn(ReadSource("README.md"));
  ASSERT_EQ(urls.count("wss://relay.example.jp/sync"), 1u) << "the README's relay example changed";
  auto relay = ParseUrl("wss://relay.example.jp/sync");
  ASSERT_DAICHO_OK(relay);
  EXPECT_TRUE(relay->tls);
  EXPECT_EQ(relay->host, "relay.example.jp");
  EXPECT_EQ(relay->port, "443");
  EXPECT_EQ(relay->target, "/sync");

  ASSERT_EQ(urls.count("ws://192.168.1.10:47480/"), 1u) << "the README's office PC example changed";
  auto peer = ParseUrl("ws://192.168.1.10:47480/");
  ASSERT_DAICHO_OK(peer);
  EXPECT_FALSE(peer->tls);
  EXPECT_EQ(peer->host, "192.168.1.10");
  EXPECT_EQ(peer->port, "47480");
  EXPECT_EQ(peer->target, "/");
}

TEST(UrlTest, WithoutAPortWsUsesTheHttpPort) {
  auto url = ParseUrl("ws://relay.example.jp");
  ASSERT_DAICHO_OK(url);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "relay.example.jp");
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->target, "/");
}

TEST(UrlTest, IPv6AddressesGoInBracketsWithOrWithoutAPort) {
  auto with_port = ParseUrl("ws://[::1]:47480/sync/1234-5678-9012");
  ASSERT_DAICHO_OK(with_port);
  EXPECT_EQ(with_port->host, "::1");
  EXPECT_EQ(with_port->port, "47480");
  EXPECT_EQ(with_port->target, "/sync/1234-5678-9012");
  auto without_port = ParseUrl("wss://[2001:db8::7]/sync");
  ASSERT_DAICHO_OK(without_port);
  EXPECT_EQ(without_port->host, "2001:db8::7");
  EXPECT_EQ(without_port->port, "443");
  // The Host header keeps the brackets (a proxy refuses "::1:47480").
  EXPECT_EQ(with_port->Authority(), "[::1]:47480");
  EXPECT_EQ(without_port->Authority(), "[2001:db8::7]:443");
  EXPECT_EQ(ParseUrl("wss://relay.example.jp/sync")->Authority(), "relay.example.jp:443");
}

TEST(UrlTest, MalformedAddressesAreRefusedNamingTheUrl) {
  for (const char* bad : {"https://relay.example.jp/", "relay.example.jp:443", "wss://", "wss:///sync", "ws://:47480/",
                          "ws://host:/", "ws://host:http/", "ws://host:0/", "ws://host:65536/", "ws://host:4748O/",
                          "ws://[::1/", "ws://[::1]x/", "ws://::1:47480/", "ws://[]:80/"}) {
    auto url = ParseUrl(bad);
    EXPECT_EQ(url.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(url.status().message().find(bad), std::string::npos) << url.status();
  }
}

}  // namespace
}  // namespace daicho::transport
