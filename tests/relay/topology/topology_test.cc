// The relay as a vendor runs it on several machines (docs/operations.md
// "Several nodes with PostgreSQL"): a PostgreSQL 15 primary with a
// synchronous standby, three `daicho-relay --store` nodes, and HAProxy in
// front with deploy/haproxy.cfg as shipped (TLS, contracts hashed onto the
// nodes, /readyz checks, PROXY v2). PCs are RelayClients as an app embeds
// them. What a vendor relies on: a commit made through one node reaches a
// PC watching through another at once; a node killed mid-upload, or the
// primary failing over, loses nothing a PC was told is stored and stores
// nothing twice; office-key rotations through two nodes at once leave one
// key; PCs on different nodes converge.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <regex>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "daicho/office_key.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/relay/office_pc.h"
#include "tests/testing/pg_instance.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tls_certificate.h"
#include "tests/transport/raw_socket.h"

namespace daicho {
namespace {

using namespace std::chrono_literals;
using testing::PgInstance;
using testing::RelayProcess;
using testing::RelayStore;

constexpr char kContract[] = "2468-1357-0000";
constexpr char kUser[] = "office@example.jp";
constexpr char kPassword[] = "Office2024";
constexpr char kPassphrase[] = "桜の木の下で 2024 office";
constexpr int kNodes = 3;
// HAProxy connects to the nodes from this address, the one they trust for
// PROXY headers; PCs that connect to a node directly come from 127.0.0.1.
constexpr char kProxyAddress[] = "127.0.0.2";

using Pc = testing::OfficePc;
using testing::NameOf;
using testing::SetName;

// deploy/haproxy.cfg with the operator's parts replaced by the test's: its
// certificate, the nodes' loopback ports, the stats port, the log on
// HAProxy's stdout.
std::string TestHaproxyConfig(const std::string& shipped, const std::string& pem, int front_port, int stats_port,
                              const std::vector<int>& node_ports) {
  std::string cfg = shipped;
  auto replace = [&cfg](const std::string& from, const std::string& to) {
    const size_t at = cfg.find(from);
    EXPECT_NE(at, std::string::npos) << "deploy/haproxy.cfg no longer has: " << from;
    if (at != std::string::npos) cfg.replace(at, from.size(), to);
  };
  replace("    log /dev/log local0\n", "    log stdout format raw local0\n");
  // The shipped figure needs a raised open-file limit (systemd does that).
  replace("maxconn 20000", "maxconn 2000");
  replace("bind :443 ssl crt /etc/haproxy/certs/relay.pem",
          "bind 127.0.0.1:" + std::to_string(front_port) + " ssl crt " + pem);
  replace("bind 127.0.0.1:8404", "bind 127.0.0.1:" + std::to_string(stats_port));
  for (int i = 0; i < kNodes; ++i) {
    const std::string address = "10.0.0.1" + std::to_string(i + 1) + ":8080 check";
    const std::string local = "127.0.0.1:" + std::to_string(node_ports[i]) + " check source " + kProxyAddress;
    for (size_t at = cfg.find(address); at != std::string::npos; at = cfg.find(address, at)) {
      cfg.replace(at, address.size(), local);
    }
  }
  EXPECT_EQ(cfg.find(":8080 check"), std::string::npos) << "a node left at its shipped address:\n" << cfg;
  return cfg;
}

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::PgInstanceOptions durable;
    durable.durable = true;
    durable.settings = {"max_connections=200"};
    auto primary = PgInstance::Start(durable);
    ASSERT_DAICHO_OK(primary);
    primary_ = std::move(primary).value();
    ASSERT_DAICHO_OK(primary_->CreateDatabase("daicho"));
    auto standby = PgInstance::StartStandby(*primary_, "standby1");
    ASSERT_DAICHO_OK(standby);
    standby_ = std::move(standby).value();
    store_ = "postgresql://postgres@127.0.0.1:" + std::to_string(primary_->port()) +
             ",127.0.0.1:" + std::to_string(standby_->port()) +
             "/daicho?target_session_attrs=read-write&connect_timeout=2";
    ASSERT_DAICHO_OK(testing::CreateRelayStoreWithUser(RelayStore::Postgres(store_), dir_.Sub("setup"), kContract,
                                                       kUser, kPassword));
    std::vector<int> node_ports;
    for (int i = 0; i < kNodes; ++i) {
      nodes_.push_back(std::make_unique<RelayProcess>(
          RelayStore::Postgres(store_), dir_.Sub("node" + std::to_string(i + 1) + ".log"),
          std::vector<std::string>{"--node-name", "n" + std::to_string(i + 1), "--mail-outbox",
                                   dir_.Sub("outbox" + std::to_string(i + 1)), "--trusted-proxy",
                                   std::string(kProxyAddress) + "/32"}));
      ASSERT_GT(nodes_.back()->port(), 0) << nodes_.back()->log();
      node_ports.push_back(nodes_.back()->port());
    }
    const auto [cert, key] = testing::MakeSelfSignedCertificate(dir_);
    ca_file_ = cert;
    const std::string pem = dir_.Sub("relay.pem");
    testing::WriteFile(pem, testing::ReadFile(cert) + testing::ReadFile(key));
    front_port_ = testing::FreeLoopbackPort();
    stats_port_ = testing::FreeLoopbackPort();
    ASSERT_GT(front_port_, 0);
    ASSERT_GT(stats_port_, 0);
    const std::string cfg = dir_.Sub("haproxy.cfg");
    testing::WriteFile(cfg, TestHaproxyConfig(testing::ReadFile(DAICHO_SOURCE_DIR "/deploy/haproxy.cfg"), pem,
                                              front_port_, stats_port_, node_ports));
    haproxy_ = std::make_unique<testing::Child>("/usr/sbin/haproxy", std::vector<std::string>{"-db", "-f", cfg},
                                                testing::OutputFiles{dir_.Sub("haproxy.log"), dir_.Sub("haproxy.log")});
    ASSERT_TRUE(testing::WaitFor([&] { return HaproxyStats().find("sync_by_contract") != std::string::npos; }))
        << testing::ReadFile(dir_.Sub("haproxy.log"));
  }

  // HAProxy's stats as CSV ("" while it does not answer).
  std::string HaproxyStats() const {
    return testing::HttpExchange(static_cast<uint16_t>(stats_port_),
                                 "GET /stats;csv HTTP/1.1\r\nHost: stats\r\nConnection: close\r\n\r\n");
  }

  // The node HAProxy sends the contract's syncs to now: the one with a
  // session open in the sync backend; -1 if none.
  int ServingNode() const {
    std::istringstream lines(HaproxyStats());
    for (std::string line; std::getline(lines, line);) {
      // pxname,svname,qcur,qmax,scur,...
      std::vector<std::string> fields;
      std::istringstream cells(line);
      for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
      if (fields.size() < 5 || fields[0] != "sync_by_contract" || fields[1].size() != 2 || fields[1][0] != 'n')
        continue;
      if (fields[4] != "0") return fields[1][1] - '1';
    }
    return -1;
  }

  std::string NodeUrl(int node) const { return "ws://127.0.0.1:" + std::to_string(nodes_[node]->port()) + "/sync"; }
  std::string FrontUrl() const { return "wss://127.0.0.1:" + std::to_string(front_port_) + "/sync"; }

  // A new PC connected through `url` (saved login).
  Pc NewPc(const std::string& name, const std::string& url) {
    RelaySettings settings;
    settings.url = url;
    settings.contract = kContract;
    settings.user = kUser;
    settings.device_name = name;
    settings.tls_ca_file = ca_file_;
    return testing::ConnectedOfficePc(dir_.Sub(name), settings, kPassword);
  }

  // Sets up the office key on `first`; the others unlock it.
  static void ShareOfficeKey(Pc& first, std::vector<Pc*> others) {
    ASSERT_DAICHO_OK(InitOfficeKey(*first.client, kPassphrase));
    for (Pc* pc : others) ASSERT_DAICHO_OK(UnlockOfficeKey(*pc->client, kPassphrase));
  }

  // `count` records of about 4 KB each, in transactions of 500.
  static void WriteLargeRecords(Replica& replica, int count) {
    const std::string filler(4000, 'x');
    for (int first = 0; first < count; first += 500) {
      WriteTransaction txn = replica.BeginWrite();
      for (int i = first; i < std::min(count, first + 500); ++i) {
        ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i), "memo", filler + std::to_string(i)));
      }
      ASSERT_DAICHO_OK(txn.Commit());
    }
  }

  // The contract's version vector as `instance`'s store holds it.
  static VersionVector StoreVersionVector(const PgInstance& instance) {
    auto text = instance.Query("daicho",
                               "SELECT coalesce(string_agg(encode(origin, 'hex') || ':' || seq, ',' ORDER BY origin), "
                               "'') FROM daicho.version_vectors WHERE contract = '" +
                                   std::string(kContract) + "'");
    EXPECT_DAICHO_OK(text);
    auto parsed = VersionVector::Parse(text.ok() ? *text : "");
    EXPECT_DAICHO_OK(parsed);
    return parsed.ok() ? *parsed : VersionVector();
  }

  // The first field the query answers on `instance`'s store ("" on error).
  static std::string QueryStore(const PgInstance& instance, const std::string& sql) {
    auto answer = instance.Query("daicho", sql);
    EXPECT_DAICHO_OK(answer);
    return answer.ok() ? *answer : "";
  }

  // Nothing lost, nothing twice: the store holds exactly the PC's changes.
  static void ExpectStoreHoldsExactly(const PgInstance& instance, const VersionVector& expected) {
    EXPECT_EQ(StoreVersionVector(instance), expected);
    const std::string contract = std::string("'") + kContract + "'";
    EXPECT_EQ(QueryStore(instance, "SELECT count(*) FROM daicho.changes WHERE contract = " + contract),
              std::to_string(expected.Total()));
    EXPECT_EQ(QueryStore(instance, "SELECT change_count FROM daicho.contracts WHERE contract = " + contract),
              std::to_string(expected.Total()));
  }

  static uint64_t StoredChanges(const PgInstance& instance) {
    auto count = instance.Query(
        "daicho", std::string("SELECT change_count FROM daicho.contracts WHERE contract = '") + kContract + "'");
    return count.ok() && !count->empty() ? std::stoull(*count) : 0;
  }

  // Whether the relay holds all of `pc`'s changes, as the PC was told.
  static bool AllAcknowledged(Pc& pc) {
    RelayClient reader(*pc.replica);  // Watch owns pc.client meanwhile
    auto status = reader.GetBackupStatus();
    auto own = pc.replica->GetVersionVector();
    return status.ok() && own.ok() && status->relay_holds.Dominates(*own);
  }

  testing::TempDir dir_;
  std::unique_ptr<PgInstance> primary_;
  std::unique_ptr<PgInstance> standby_;
  std::string store_;
  std::vector<std::unique_ptr<RelayProcess>> nodes_;
  std::string ca_file_;
  int front_port_ = 0;
  int stats_port_ = 0;
  std::unique_ptr<testing::Child> haproxy_;
};

// Runs pc.client->Watch on a thread of its own until destroyed.
class Watching {
 public:
  explicit Watching(Pc& pc) {
    thread_ = std::jthread([&pc](std::stop_token stop) {
      WatchOptions options;
      options.poll_interval = 50ms;
      const Status ended = pc.client->Watch(options, stop);
      EXPECT_DAICHO_OK(ended);
    });
  }

 private:
  std::jthread thread_;
};

TEST_F(TopologyTest, ACommitThroughOneNodeReachesAPcWatchingAnotherWithinTwoSeconds) {
  Pc a = NewPc("a", NodeUrl(0));
  Pc b = NewPc("b", NodeUrl(1));
  ShareOfficeKey(a, {&b});
  SetName(*a.replica, "c0", "before");
  ASSERT_DAICHO_OK(a.client->Sync());
  Watching watching(b);
  // Once b holds c0 its session on node 2 is live.
  ASSERT_TRUE(testing::WaitFor([&] { return NameOf(*b.replica, "c0") == "before"; }));

  SetName(*a.replica, "c1", "through node 1");
  ASSERT_DAICHO_OK(a.client->Sync());
  // Node 2 learns of node 1's commit by NOTIFY; its 10 s counter check
  // would be too late for this deadline.
  EXPECT_TRUE(testing::WaitFor([&] { return NameOf(*b.replica, "c1") == "through node 1"; }, 2s));
}

TEST_F(TopologyTest, ANodeKilledMidUploadLosesNothingAndStoresNothingTwice) {
  Pc a = NewPc("a", FrontUrl());
  ShareOfficeKey(a, {});
  WriteLargeRecords(*a.replica, 5000);
  auto own = a.replica->GetVersionVector();
  ASSERT_DAICHO_OK(own);
  const uint64_t total = own->Total();
  Watching watching(a);
  uint64_t stored = 0;
  ASSERT_TRUE(testing::WaitFor([&] { return (stored = StoredChanges(*primary_)) > 0; }, testing::kDeadline, 5ms));
  const int serving = ServingNode();
  ASSERT_GE(serving, 0) << HaproxyStats();
  nodes_[serving]->Kill();
  EXPECT_LT(stored, total) << "the upload ended before the node was killed: nothing was tested";

  ASSERT_TRUE(testing::WaitFor([&] { return AllAcknowledged(a); }, 4 * testing::kDeadline, 50ms));
  ExpectStoreHoldsExactly(*primary_, *own);
}

TEST_F(TopologyTest, ThePrimaryFailingOverMidSyncLosesNothingAPcSawAcknowledged) {
  Pc a = NewPc("a", FrontUrl());
  ShareOfficeKey(a, {});
  WriteLargeRecords(*a.replica, 5000);
  auto own = a.replica->GetVersionVector();
  ASSERT_DAICHO_OK(own);
  VersionVector acknowledged;
  {
    Watching watching(a);
    ASSERT_TRUE(testing::WaitFor([&] { return StoredChanges(*primary_) > 0; }, testing::kDeadline, 5ms));
    ASSERT_DAICHO_OK(primary_->Stop(PgInstance::StopMode::kImmediate));
    // Nothing can commit now; stop the PC too, so that what it was told is
    // stored stays put while the standby takes over.
  }
  RelayClient reader(*a.replica);
  auto status = reader.GetBackupStatus();
  ASSERT_DAICHO_OK(status);
  acknowledged = status->relay_holds;
  EXPECT_LT(acknowledged.Total(), own->Total()) << "the upload ended before the failover: nothing was tested";
  ASSERT_DAICHO_OK(standby_->Promote());
  // Synchronous replication: every acknowledged change is on the standby.
  EXPECT_TRUE(StoreVersionVector(*standby_).Dominates(acknowledged));

  // The nodes find the promoted standby by themselves; the sync completes.
  {
    Watching watching(a);
    ASSERT_TRUE(testing::WaitFor([&] { return AllAcknowledged(a); }, 4 * testing::kDeadline, 50ms));
  }
  ExpectStoreHoldsExactly(*standby_, *own);
}

TEST_F(TopologyTest, TwoRotationsThroughDifferentNodesAtOnceExactlyOneWins) {
  Pc a = NewPc("a", NodeUrl(0));
  Pc b = NewPc("b", NodeUrl(2));
  ShareOfficeKey(a, {&b});
  for (int round = 0; round < 5; ++round) {
    const std::string passphrase_a = "a's passphrase, round " + std::to_string(round);
    const std::string passphrase_b = "b's passphrase, round " + std::to_string(round);
    std::latch start(2);
    Result<std::string> rotated_a = Status(Code::kInternal, "not run");
    Result<std::string> rotated_b = Status(Code::kInternal, "not run");
    {
      std::jthread first([&] {
        start.arrive_and_wait();
        rotated_a = RotateOfficeKey(*a.client, passphrase_a);
      });
      std::jthread second([&] {
        start.arrive_and_wait();
        rotated_b = RotateOfficeKey(*b.client, passphrase_b);
      });
    }
    ASSERT_NE(rotated_a.ok(), rotated_b.ok())
        << "round " << round << ": " << rotated_a.status().ToString() << " / " << rotated_b.status().ToString();
    Pc& loser = rotated_a.ok() ? b : a;
    const Status& refused = rotated_a.ok() ? rotated_b.status() : rotated_a.status();
    EXPECT_EQ(refused.code(), Code::kFailedPrecondition) << refused.ToString();
    // The winner's key is the office's: the loser unlocks it and both sync.
    ASSERT_DAICHO_OK(UnlockOfficeKey(*loser.client, rotated_a.ok() ? passphrase_a : passphrase_b));
    SetName(*a.replica, "r" + std::to_string(round), "round " + std::to_string(round));
    ASSERT_DAICHO_OK(a.client->Sync());
    ASSERT_DAICHO_OK(b.client->Sync());
    EXPECT_EQ(NameOf(*b.replica, "r" + std::to_string(round)), "round " + std::to_string(round));
  }
}

TEST_F(TopologyTest, PcsEditingTheSameRecordsThroughDifferentNodesConverge) {
  Pc a = NewPc("a", NodeUrl(0));
  Pc b = NewPc("b", NodeUrl(1));
  ShareOfficeKey(a, {&b});
  for (int i = 0; i < 20; ++i) SetName(*a.replica, "c" + std::to_string(i), "original " + std::to_string(i));
  ASSERT_DAICHO_OK(a.client->Sync());
  ASSERT_DAICHO_OK(b.client->Sync());
  // Offline: both edit every record, b also some of its own.
  for (int i = 0; i < 20; ++i) {
    SetName(*a.replica, "c" + std::to_string(i), "from a " + std::to_string(i));
    SetName(*b.replica, "c" + std::to_string(i), "from b " + std::to_string(i));
    SetName(*b.replica, "b" + std::to_string(i), "only b");
  }
  Watching watching_a(a);
  Watching watching_b(b);
  auto converged = [&] {
    auto va = a.replica->GetVersionVector();
    auto vb = b.replica->GetVersionVector();
    return va.ok() && vb.ok() && *va == *vb && va->Total() == 20 + 60;
  };
  ASSERT_TRUE(testing::WaitFor(converged, 2 * testing::kDeadline));
  auto conflicts_a = a.replica->ListConflicts();
  auto conflicts_b = b.replica->ListConflicts();
  ASSERT_DAICHO_OK(conflicts_a);
  ASSERT_DAICHO_OK(conflicts_b);
  EXPECT_EQ(conflicts_a->size(), 20u);  // every concurrent edit kept visible
  EXPECT_EQ(conflicts_b->size(), 20u);
  for (int i = 0; i < 20; ++i) {
    const std::string id = "c" + std::to_string(i);
    auto ra = a.replica->Get("customers", id);
    auto rb = b.replica->Get("customers", id);
    ASSERT_DAICHO_OK(ra);
    ASSERT_DAICHO_OK(rb);
    EXPECT_EQ(ra->Find("name")->value.as_string(), rb->Find("name")->value.as_string());
    EXPECT_EQ(ra->Find("name")->siblings.size(), 2u);
  }
}

}  // namespace
}  // namespace daicho
