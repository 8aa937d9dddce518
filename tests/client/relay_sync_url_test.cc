#include "client/relay_sync_url.h"

#include <gtest/gtest.h>

namespace daicho::client {
namespace {

constexpr char kContract[] = "1234-5678-9012";

TEST(RelaySyncUrlTest, ASyncPathGetsTheContractAppended) {
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp/sync", kContract), "wss://relay.example.jp/sync/1234-5678-9012");
  EXPECT_EQ(RelaySyncUrl("ws://127.0.0.1:8080/sync", kContract), "ws://127.0.0.1:8080/sync/1234-5678-9012");
  EXPECT_EQ(RelaySyncUrl("ws://[::1]:8080/sync", kContract), "ws://[::1]:8080/sync/1234-5678-9012");
}

TEST(RelaySyncUrlTest, APathEndingInSyncGetsItAndTheQueryStaysLast) {
  EXPECT_EQ(RelaySyncUrl("wss://example.jp/daicho/sync", kContract), "wss://example.jp/daicho/sync/1234-5678-9012");
  EXPECT_EQ(RelaySyncUrl("wss://example.jp/sync?x=1", kContract), "wss://example.jp/sync/1234-5678-9012?x=1");
}

TEST(RelaySyncUrlTest, OtherPathsAreLeftAsTyped) {
  EXPECT_EQ(RelaySyncUrl("ws://192.168.1.10:47480/", kContract), "ws://192.168.1.10:47480/");
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp", kContract), "wss://relay.example.jp");
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp/sync/", kContract), "wss://relay.example.jp/sync/");
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp/async", kContract), "wss://relay.example.jp/async");
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp/sync/1234-5678-9012", kContract),
            "wss://relay.example.jp/sync/1234-5678-9012");
  EXPECT_EQ(RelaySyncUrl("wss://relay.example.jp/x?to=/sync", kContract), "wss://relay.example.jp/x?to=/sync");
}

}  // namespace
}  // namespace daicho::client
