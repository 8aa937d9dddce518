#include <gtest/gtest.h>

#include "apps/daicho/admin_url.h"

namespace daicho::cli {
namespace {

TEST(AdminPanelUrlTest, TheRelaysHostAndPortWithHttpForWsAndHttpsForWss) {
  EXPECT_EQ(AdminPanelUrl("wss://relay.example.jp/sync"), "https://relay.example.jp/admin/");
  EXPECT_EQ(AdminPanelUrl("wss://relay.example.jp:8443/sync?x=1"), "https://relay.example.jp:8443/admin/");
  EXPECT_EQ(AdminPanelUrl("ws://127.0.0.1:40123/sync"), "http://127.0.0.1:40123/admin/");
  EXPECT_EQ(AdminPanelUrl("ws://[::1]:8080"), "http://[::1]:8080/admin/");
}

TEST(AdminPanelUrlTest, AnythingElseHasNoPanel) {
  EXPECT_EQ(AdminPanelUrl(""), "");
  EXPECT_EQ(AdminPanelUrl("http://relay.example.jp/"), "");
  EXPECT_EQ(AdminPanelUrl("ws:///sync"), "");
}

}  // namespace
}  // namespace daicho::cli
