// Direct sync between office PCs (include/daicho/peer_sync.h) beside a real
// `daicho-relay serve` process: a chain relay-A-B-C where every replica ends
// up with every change and B's edit reaches the relay through A; concurrent
// edits over mixed paths in random order converge with conflicts kept;
// strangers are refused while the serving PC keeps serving; discovery on
// loopback; the office key from a peer or a carried file.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crypto/key_file.h"
#include "daicho/office_key.h"
#include "daicho/peer_sync.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "relay/relay_service.h"
#include "sync/wire_codec.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/websocket_client.h"

namespace daicho::relay {
namespace {

using testing::CreateRelayStoreWithUser;
using testing::RelayProcess;

constexpr char kContract[] = "3141-5926-5358";
constexpr char kUser[] = "office@example.jp";
constexpr char kPassword[] = "Office2024";
constexpr char kPassphrase[] = "the office passphrase";

// Loopback announcements on a port of this test process's own.
LanOptions Lan() {
  LanOptions lan;
  lan.interface_address = "127.0.0.1";
  lan.port = static_cast<uint16_t>(40000 + std::random_device()() % 20000);
  lan.announce_interval = std::chrono::milliseconds(200);
  return lan;
}

class PeerSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_DAICHO_OK(CreateRelayStoreWithUser(dir_.Sub("relay"), kContract, kUser, kPassword));
    relay_ = std::make_unique<RelayProcess>(dir_.Sub("relay"));
    ASSERT_GT(relay_->port(), 0);
  }

  std::unique_ptr<Replica> Open(const std::string& name, Limits limits = {}) {
    ReplicaOptions options;
    options.create_if_missing = true;
    options.limits = limits;
    auto replica = Replica::Open(dir_.Sub(name), options);
    EXPECT_DAICHO_OK(replica);
    return std::move(replica).value();
  }

  // Connects `replica` to the relay; the first PC sets up the office key.
  void ConnectToRelay(Replica& replica, bool first) {
    RelayClient client(replica);
    RelaySettings settings{relay_->url(), kContract, kUser, "", "", replica.id().ToHex().substr(0, 8)};
    ASSERT_DAICHO_OK(client.Connect(settings, kPassword, /*save_password=*/true));
    if (first) {
      ASSERT_DAICHO_OK(InitOfficeKey(client, kPassphrase));
    } else {
      ASSERT_DAICHO_OK(UnlockOfficeKey(client, kPassphrase));
    }
  }

  static Status RelaySync(Replica& replica) { return RelayClient(replica).Sync().status(); }

  static void Set(Replica& replica, const std::string& id, const std::string& field, const std::string& value) {
    WriteTransaction txn = replica.BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", id, field, value));
    ASSERT_DAICHO_OK(txn.Commit());
  }

  static std::unique_ptr<PeerServer> Serve(Replica& replica, bool share_key = false, bool announce = false,
                                           LanOptions lan = {}) {
    PeerServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.device_name = "pc-" + replica.id().ToHex().substr(0, 4);
    options.announce = announce;
    options.lan = lan;
    options.share_key_envelope = share_key;
    auto server = PeerServer::Start(replica, options);
    EXPECT_DAICHO_OK(server);
    return server.ok() ? std::move(server).value() : nullptr;
  }

  static std::string Url(const PeerServer& server) { return "ws://127.0.0.1:" + std::to_string(server.port()) + "/"; }

  // Every record with every field's siblings, for comparing replicas.
  static std::string Snapshot(Replica& replica) {
    auto page = replica.List("customers", {});
    EXPECT_DAICHO_OK(page);
    std::string out;
    for (const Record& record : page->records) {
      out += record.id + ":";
      for (const FieldView& field : record.fields) {
        out += field.name + "=";
        for (const Sibling& sibling : field.siblings) out += sibling.value.ToDisplayString() + "|";
      }
      out += "\n";
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<RelayProcess> relay_;
};

TEST_F(PeerSyncTest, AChainRelayABCCarriesEveryChangeAndBsEditReachesTheRelayThroughA) {
  auto a = Open("a");
  auto b = Open("b");
  auto c = Open("c");
  ConnectToRelay(*a, /*first=*/true);
  // B never reaches the relay: it gets the key from A on the LAN.
  auto a_server = Serve(*a, /*share_key=*/true);
  ASSERT_DAICHO_OK(UnlockOfficeKeyFromPeer(*b, Url(*a_server), kPassphrase));
  auto b_key = GetOfficeKeyStatus(RelayClient(*b));
  ASSERT_DAICHO_OK(b_key);
  EXPECT_EQ(b_key->key_id, 1u);
  EXPECT_TRUE(b_key->stored);
  // C gets it on a carried file (exported by B, which got it from A).
  ASSERT_DAICHO_OK(ExportOfficeKey(*b, dir_.Sub("office-key.dat")));
  EXPECT_EQ(std::filesystem::status(dir_.Sub("office-key.dat")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_DAICHO_OK(ImportOfficeKey(*c, dir_.Sub("office-key.dat"), kPassphrase));
  auto b_server = Serve(*b);

  Set(*a, "from-a", "name", "A");
  Set(*b, "from-b", "name", "B");
  Set(*c, "from-c", "name", "C");
  // A pushed something to the relay before, as another office PC would have.
  auto d = Open("d");
  ConnectToRelay(*d, /*first=*/false);
  Set(*d, "from-relay", "name", "D");
  ASSERT_DAICHO_OK(RelaySync(*d));

  // One round: A-relay, B-A, C-B, then back up the chain.
  ASSERT_DAICHO_OK(RelaySync(*a));
  ASSERT_DAICHO_OK(SyncWithPeer(*b, Url(*a_server)));
  ASSERT_DAICHO_OK(SyncWithPeer(*c, Url(*b_server)));
  ASSERT_DAICHO_OK(SyncWithPeer(*b, Url(*a_server)));
  ASSERT_DAICHO_OK(RelaySync(*a));
  ASSERT_DAICHO_OK(SyncWithPeer(*b, Url(*a_server)));
  ASSERT_DAICHO_OK(SyncWithPeer(*c, Url(*b_server)));
  ASSERT_DAICHO_OK(RelaySync(*d));

  for (Replica* r : {a.get(), b.get(), c.get(), d.get()}) {
    for (const char* id : {"from-a", "from-b", "from-c", "from-relay"}) {
      EXPECT_TRUE(r->Get("customers", id).ok()) << id << " missing on " << r->path();
    }
  }
  // B never talked to the relay, yet it knows its edit is backed up.
  auto backup = RelayClient(*b).GetBackupStatus();
  ASSERT_DAICHO_OK(backup);
  EXPECT_EQ(backup->unsynced_records, 0u);
  EXPECT_FALSE(backup->configured);
}

TEST_F(PeerSyncTest, ConcurrentEditsOverMixedPathsInRandomOrderConvergeWithConflictsKept) {
  auto a = Open("a");
  auto b = Open("b");
  auto c = Open("c");
  ConnectToRelay(*a, true);
  ConnectToRelay(*c, false);
  auto a_server = Serve(*a, /*share_key=*/true);
  ASSERT_DAICHO_OK(UnlockOfficeKeyFromPeer(*b, Url(*a_server), kPassphrase));
  auto b_server = Serve(*b);
  auto c_server = Serve(*c);
  Replica* pcs[] = {a.get(), b.get(), c.get()};

  std::mt19937 rng(20261129);
  // The ways changes can move: two PCs reach the relay, all three see each
  // other on the LAN.
  const std::vector<std::function<Status()>> paths = {
      [&] { return RelaySync(*a); },
      [&] { return RelaySync(*c); },
      [&] { return SyncWithPeer(*b, Url(*a_server)).status(); },
      [&] { return SyncWithPeer(*c, Url(*b_server)).status(); },
      [&] { return SyncWithPeer(*a, Url(*c_server)).status(); },
  };
  for (int round = 0; round < 6; ++round) {
    for (Replica* pc : pcs) {
      // Few ids and fields, so the same field is often written concurrently.
      for (int edit = 0; edit < 3; ++edit) {
        Set(*pc, "c" + std::to_string(rng() % 4), "f" + std::to_string(rng() % 2),
            pc->id().ToHex().substr(0, 4) + "-" + std::to_string(round) + "-" + std::to_string(edit));
      }
    }
    std::vector<size_t> order = {0, 1, 2, 3, 4};
    std::shuffle(order.begin(), order.end(), rng);
    // Some paths stay unused each round, so replicas drift apart meanwhile.
    for (size_t i = 0; i < order.size() - 2; ++i) {
      const Status moved = paths[order[i]]();
      ASSERT_TRUE(moved.ok()) << "path " << order[i] << ": " << moved;
    }
  }
  // Two quiet passes over every path: everything reaches everyone.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& path : paths) ASSERT_DAICHO_OK(path());
  }
  EXPECT_EQ(*a->GetVersionVector(), *b->GetVersionVector());
  EXPECT_EQ(*a->GetVersionVector(), *c->GetVersionVector());
  const std::string snapshot = Snapshot(*a);
  EXPECT_EQ(Snapshot(*b), snapshot);
  EXPECT_EQ(Snapshot(*c), snapshot);
  EXPECT_NE(snapshot.find('|'), std::string::npos);
  auto conflicts = a->ListConflicts();
  ASSERT_DAICHO_OK(conflicts);
  EXPECT_FALSE(conflicts->empty()) << "concurrent writes of one field must stay visible";
}

// Issue 11 item 2: an import of 20 rows of 900 KB committed one 18 MB change
// (as daicho did before commits were limited to one frame); every later sync
// failed with "exceeds the frame limit of 16777216", on the relay path and on
// the LAN. Such a change now travels in parts, sealed to the relay and over
// the peer channel, in both directions of each.
TEST_F(PeerSyncTest, AnEighteenMegabyteChangeOfAnOlderDaichoSyncsThroughTheRelayAndOnTheLan) {
  Limits older;
  older.max_commit_bytes = older.max_change_bytes;  // what daicho allowed before
  auto a = Open("a", older);
  ConnectToRelay(*a, /*first=*/true);
  const std::string scan(900 * 1000, 's');
  {
    WriteTransaction txn = a->BeginWrite();
    for (int i = 0; i < 20; ++i) {
      ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i), "scan", Value(scan + std::to_string(i))));
    }
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto held = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(held);
  ASSERT_EQ(held->size(), 1u);
  ASSERT_GT(held->front().payload.size(), size_t{sync::CodecLimits{}.max_frame_bytes});

  auto expect_all = [&](Replica& pc) {
    for (int i = 0; i < 20; ++i) {
      auto record = pc.Get("customers", "c" + std::to_string(i));
      ASSERT_DAICHO_OK(record);
      EXPECT_EQ(record->Find("scan")->value, Value(scan + std::to_string(i))) << pc.path();
    }
  };
  // Up to the relay (sealed), and down to another PC.
  ASSERT_DAICHO_OK(RelaySync(*a));
  auto d = Open("d");
  ConnectToRelay(*d, /*first=*/false);
  ASSERT_DAICHO_OK(RelaySync(*d));
  expect_all(*d);
  // On the LAN: pushed by the connecting PC, then served to another one.
  auto b = Open("b");
  ASSERT_DAICHO_OK(ExportOfficeKey(*a, dir_.Sub("office-key.dat")));
  ASSERT_DAICHO_OK(ImportOfficeKey(*b, dir_.Sub("office-key.dat"), kPassphrase));
  auto b_server = Serve(*b);
  ASSERT_DAICHO_OK(SyncWithPeer(*a, Url(*b_server)));
  expect_all(*b);
  auto c = Open("c");
  ASSERT_DAICHO_OK(ImportOfficeKey(*c, dir_.Sub("office-key.dat"), kPassphrase));
  ASSERT_DAICHO_OK(SyncWithPeer(*c, Url(*b_server)));
  expect_all(*c);
  // And the backup of A is complete.
  auto backup = RelayClient(*a).GetBackupStatus();
  ASSERT_DAICHO_OK(backup);
  EXPECT_EQ(backup->unsynced_records, 0u);
}

TEST_F(PeerSyncTest, StrangersAreRefusedAndTheServingPcKeepsServingItsOffice) {
  auto a = Open("a");
  auto b = Open("b");
  ConnectToRelay(*a, true);
  ConnectToRelay(*b, false);
  Set(*a, "c1", "name", "kept in the office");
  auto a_server = Serve(*a);  // no key hand-out

  // A PC of another office: its own contract and key.
  auto stranger = Open("stranger");
  const auto stranger_ring = std::move(crypto::KeyRing::Create().value());
  ASSERT_DAICHO_OK(crypto::SaveOfficeKey(crypto::OfficeKeyPath(stranger->path()), "9999-0000-1111", stranger_ring));
  auto refused = SyncWithPeer(*stranger, Url(*a_server));
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  // A PC with no key cannot even start, and cannot fetch one here.
  auto keyless = Open("keyless");
  EXPECT_EQ(SyncWithPeer(*keyless, Url(*a_server)).status().code(), Code::kFailedPrecondition);
  EXPECT_NE(UnlockOfficeKeyFromPeer(*keyless, Url(*a_server), kPassphrase).code(), Code::kOk);
  // Garbage frames.
  auto raw = testing::WebSocketClient::Connect(Url(*a_server));
  ASSERT_DAICHO_OK(raw);
  ASSERT_DAICHO_OK((*raw)->Send(std::string("\x08\x01garbage", 9)));
  (void)(*raw)->Receive();
  EXPECT_TRUE(stranger->GetVersionVector()->empty());
  EXPECT_TRUE(keyless->GetVersionVector()->empty());

  ASSERT_DAICHO_OK(SyncWithPeer(*b, Url(*a_server)));
  EXPECT_DAICHO_OK(b->Get("customers", "c1"));
}

TEST_F(PeerSyncTest, AWrongPassphraseFromAPeerGetsNoKey) {
  auto a = Open("a");
  auto b = Open("b");
  ConnectToRelay(*a, true);
  auto a_server = Serve(*a, /*share_key=*/true);
  EXPECT_EQ(UnlockOfficeKeyFromPeer(*b, Url(*a_server), "a wrong passphrase").code(), Code::kUnauthenticated);
  EXPECT_FALSE(std::filesystem::exists(crypto::OfficeKeyPath(b->path())));
  EXPECT_EQ(SyncWithPeer(*b, Url(*a_server)).status().code(), Code::kFailedPrecondition);
}

TEST_F(PeerSyncTest, ServingPcsAreFoundOnTheLanWithHowFarBehindTheyAre) {
  auto a = Open("a");
  auto b = Open("b");
  ConnectToRelay(*a, true);
  ConnectToRelay(*b, false);
  Set(*a, "c1", "name", "only on A");
  Set(*a, "c2", "name", "only on A");
  const LanOptions lan = Lan();
  auto a_server = Serve(*a, false, /*announce=*/true, lan);
  FindPeersOptions find;
  find.lan = lan;
  find.listen_for = std::chrono::milliseconds(1500);
  auto peers = FindPeers(*b, find);
  ASSERT_DAICHO_OK(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].url, Url(*a_server));
  EXPECT_EQ((*peers)[0].replica_id, a->id().ToHex());
  EXPECT_EQ((*peers)[0].changes_we_lack, 2u);
  EXPECT_EQ((*peers)[0].changes_peer_lacks, 0u);
  ASSERT_DAICHO_OK(SyncWithPeer(*b, (*peers)[0].url));
  EXPECT_DAICHO_OK(b->Get("customers", "c2"));
}

}  // namespace
}  // namespace daicho::relay
