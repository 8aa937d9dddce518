// Discovery and direct sync between two PCs on a real (virtual) LAN: two
// network namespaces joined by a veth pair, created by this test (as root),
// each PC a forked process inside its namespace. Skipped, saying why, where
// namespaces cannot be created.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "crypto/key_file.h"
#include "daicho/peer_sync.h"
#include "daicho/replica.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "transport/lan_discovery.h"

namespace daicho {
namespace {

using ::daicho::testing::ForkAndRun;
using ::daicho::testing::WaitExitCode;
using ::daicho::testing::WaitFor;

// Names unique to this process, so parallel runs do not collide.
const std::string kSuffix = std::to_string(getpid() % 100000);
const std::string kNsA = "daicho-a-" + kSuffix;
const std::string kNsB = "daicho-b-" + kSuffix;
const std::string kVethA = "dva" + kSuffix;
const std::string kVethB = "dvb" + kSuffix;
constexpr char kAddressA[] = "10.213.77.1";
constexpr char kAddressB[] = "10.213.77.2";
constexpr char kContract[] = "2718-2818-2845";

bool Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

class LanNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
    if (!Shell("ip netns add " + kNsA)) GTEST_SKIP() << "cannot create network namespaces here (ip netns add failed)";
    created_ = true;
    ASSERT_TRUE(Shell("ip netns add " + kNsB));
    ASSERT_TRUE(Shell("ip link add " + kVethA + " type veth peer name " + kVethB));
    ASSERT_TRUE(Shell("ip link set " + kVethA + " netns " + kNsA));
    ASSERT_TRUE(Shell("ip link set " + kVethB + " netns " + kNsB));
    for (const auto& [ns, dev, address] : {std::tuple{kNsA, kVethA, kAddressA}, std::tuple{kNsB, kVethB, kAddressB}}) {
      ASSERT_TRUE(Shell("ip -n " + ns + " addr add " + std::string(address) + "/24 dev " + dev));
      ASSERT_TRUE(Shell("ip -n " + ns + " link set " + dev + " up"));
      ASSERT_TRUE(Shell("ip -n " + ns + " link set lo up"));
      // As on an office PC, whose multicast goes where its default route does.
      ASSERT_TRUE(Shell("ip -n " + ns + " route add default dev " + dev));
    }
  }
  void TearDown() override {
    if (!created_) return;
    Shell("ip netns del " + kNsA);  // takes the veth pair with it
    Shell("ip netns del " + kNsB);
  }

  // Runs `body` in a child process inside namespace `ns`; its exit code
  // (0: success) is returned by WaitExitCode().
  static pid_t InNamespace(const std::string& ns, const std::function<int()>& body) {
    return ForkAndRun([&] {
      const int fd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) return 90;
      return body();
    });
  }

  std::unique_ptr<Replica> Open(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    return std::move(Replica::Open(dir_.Sub(name), options).value());
  }

  // New replicas `names` of one office (key `ring_`), each with one record.
  void NewOfficePcs(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      auto replica = Open(name);
      ASSERT_DAICHO_OK(crypto::SaveOfficeKey(crypto::OfficeKeyPath(replica->path()), kContract, ring_));
      WriteTransaction txn = replica->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set("customers", "of-" + name, "name", name));
      ASSERT_DAICHO_OK(txn.Commit());
    }
  }

  // In a child process inside `ns`: serves each replica of `names` as a
  // `daicho serve` would (PeerServer on `host`, default LAN options), writes
  // the file `ready` and serves until the file `done` exists.
  pid_t ServeUntilDone(const std::string& ns, const std::vector<std::string>& names, const std::string& host) {
    std::vector<std::string> dirs;
    dirs.reserve(names.size());
    for (const std::string& name : names) dirs.push_back(dir_.Sub(name));
    const std::string ready = dir_.Sub("ready");
    const std::string done = dir_.Sub("done");
    return InNamespace(ns, [&] {
      std::vector<std::unique_ptr<Replica>> replicas;
      std::vector<std::unique_ptr<PeerServer>> servers;
      for (size_t i = 0; i < dirs.size(); ++i) {
        auto replica = Replica::Open(dirs[i], ReplicaOptions());
        if (!replica.ok()) return 1;
        PeerServerOptions server;
        server.host = host;
        server.port = 0;
        server.device_name = names[i];
        auto started = PeerServer::Start(**replica, server);
        if (!started.ok()) {
          std::fprintf(stderr, "serve: %s\n", started.status().ToString().c_str());
          return 2;
        }
        replicas.push_back(std::move(replica).value());
        servers.push_back(std::move(started).value());
      }
      std::fclose(std::fopen(ready.c_str(), "w"));
      return WaitForFile(done, std::chrono::seconds(60)) ? 0 : 3;
    });
  }

  static bool WaitForFile(const std::string& path, std::chrono::seconds limit) {
    return WaitFor([&] { return std::filesystem::exists(path); }, limit, std::chrono::milliseconds(10));
  }

  // Ends a ServeUntilDone child; its exit code.
  int Done(pid_t serving) {
    std::fclose(std::fopen(dir_.Sub("done").c_str(), "w"));
    return WaitExitCode(serving);
  }

  bool created_ = false;
  testing::TempDir dir_;
  const crypto::KeyRing ring_ = std::move(crypto::KeyRing::Create().value());
};

TEST_F(LanNetnsTest, APcInAnotherNamespaceIsFoundAcrossTheVethAndSyncedWith) {
  const crypto::KeyRing& ring = ring_;
  {
    auto a = Open("a");
    auto b = Open("b");
    ASSERT_DAICHO_OK(crypto::SaveOfficeKey(crypto::OfficeKeyPath(a->path()), kContract, ring));
    ASSERT_DAICHO_OK(crypto::SaveOfficeKey(crypto::OfficeKeyPath(b->path()), kContract, ring));
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", "across the LAN"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  LanOptions lan;
  lan.interface_address = kAddressA;
  lan.announce_interval = std::chrono::milliseconds(300);
  const std::string dir_a = dir_.Sub("a");
  const std::string dir_b = dir_.Sub("b");
  // PC A serves in its namespace for a few seconds.
  const pid_t serving = InNamespace(kNsA, [&] {
    ReplicaOptions options;
    auto a = Replica::Open(dir_a, options);
    if (!a.ok()) return 1;
    PeerServerOptions server;
    server.host = kAddressA;
    server.port = 0;
    server.device_name = "reception";
    server.lan = lan;
    auto started = PeerServer::Start(**a, server);
    if (!started.ok()) {
      std::fprintf(stderr, "serve: %s\n", started.status().ToString().c_str());
      return 2;
    }
    std::this_thread::sleep_for(std::chrono::seconds(6));
    return 0;
  });
  // PC B, in the other namespace, finds A and syncs with it.
  const pid_t finding = InNamespace(kNsB, [&] {
    ReplicaOptions options;
    auto b = Replica::Open(dir_b, options);
    if (!b.ok()) return 1;
    FindPeersOptions find;
    find.lan = lan;
    find.lan.interface_address = kAddressB;
    find.listen_for = std::chrono::milliseconds(2500);
    auto peers = FindPeers(**b, find);
    if (!peers.ok() || peers->size() != 1) {
      std::fprintf(stderr, "peers: %s, found %zu\n", peers.status().ToString().c_str(), peers.ok() ? peers->size() : 0);
      return 3;
    }
    const PeerInfo& peer = peers->front();
    if (peer.device_name != "reception" || peer.url.find(kAddressA) == std::string::npos || peer.changes_we_lack != 1) {
      std::fprintf(stderr, "unexpected peer %s %s lack=%llu\n", peer.device_name.c_str(), peer.url.c_str(),
                   static_cast<unsigned long long>(peer.changes_we_lack));
      return 4;
    }
    auto synced = SyncWithPeer(**b, peer.url);
    if (!synced.ok()) {
      std::fprintf(stderr, "sync: %s\n", synced.status().ToString().c_str());
      return 5;
    }
    return (*b)->Get("customers", "c1").ok() ? 0 : 6;
  });
  EXPECT_EQ(WaitExitCode(finding), 0);
  EXPECT_EQ(WaitExitCode(serving), 0);
}

// Issue 12 item 13: a clerk on PC B repeating `daicho peers` finds both PCs
// serving in the other namespace (as `daicho serve` does: 0.0.0.0, default
// LAN options and announce interval) in at least 99 of 100 lookups within
// the default wait, each at its veth address. A lookup ends as soon as both
// are found; the wait is only its bound.
TEST_F(LanNetnsTest, RepeatedLookupsAcrossTheVethFindEveryServingPcWithinTheDefaultWait) {
  NewOfficePcs({"reception", "director", "b"});
  const pid_t serving = ServeUntilDone(kNsA, {"reception", "director"}, "0.0.0.0");
  const std::string ready = dir_.Sub("ready");
  const std::string dir_b = dir_.Sub("b");
  const pid_t looking = InNamespace(kNsB, [&] {
    if (!WaitForFile(ready, std::chrono::seconds(20))) return 1;
    auto b = Replica::Open(dir_b, ReplicaOptions());
    if (!b.ok()) return 2;
    const auto wait = FindPeersOptions().listen_for;
    constexpr int kLookups = 100;
    int complete = 0;
    int incomplete = 0;
    for (int run = 0; run < kLookups && incomplete <= kLookups / 100; ++run) {
      // What FindPeers does, with the office key and this PC's replica id,
      // but returning as soon as both PCs are listed.
      transport::LanDiscoveryOptions options;
      options.contract = kContract;
      options.keys = ring_.Clone();
      options.replica_id = (*b)->id();
      options.device_name = "listener";
      options.version_vector = [] { return VersionVector(); };
      const auto deadline = std::chrono::steady_clock::now() + wait;
      auto d = transport::LanDiscovery::Start(std::move(options));
      if (!d.ok()) {
        std::fprintf(stderr, "discovery: %s\n", d.status().ToString().c_str());
        return 3;
      }
      const bool found = WaitFor(
          [&] {
            const auto peers = (*d)->Peers();
            return peers.size() == 2 && peers[0].address == kAddressA && peers[1].address == kAddressA;
          },
          deadline - std::chrono::steady_clock::now(), std::chrono::milliseconds(5));
      (*d)->Stop();
      found ? ++complete : ++incomplete;
    }
    std::fprintf(stderr, "%d of %d lookups found both serving PCs\n", complete, complete + incomplete);
    return complete >= kLookups - kLookups / 100 ? 0 : 4;
  });
  EXPECT_EQ(WaitExitCode(looking), 0);
  EXPECT_EQ(Done(serving), 0);
}

// Issue 12 item 13: `daicho serve --listen 127.0.0.1:P` on PC A is announced
// with an address that reaches it: a lookup on A lists ws://127.0.0.1:P/ and
// syncs through it; PC B, which cannot reach A's loopback, does not list it.
TEST_F(LanNetnsTest, ServingOnLoopbackIsAnnouncedAsLoopbackAndOnlyToThisPc) {
  NewOfficePcs({"reception", "a2", "b"});
  const pid_t serving = ServeUntilDone(kNsA, {"reception"}, "127.0.0.1");
  const std::string ready = dir_.Sub("ready");
  const std::string dir_a2 = dir_.Sub("a2");
  const std::string dir_b = dir_.Sub("b");
  const pid_t same_pc = InNamespace(kNsA, [&] {
    if (!WaitForFile(ready, std::chrono::seconds(20))) return 1;
    auto a2 = Replica::Open(dir_a2, ReplicaOptions());
    if (!a2.ok()) return 2;
    auto peers = FindPeers(**a2);
    if (!peers.ok() || peers->size() != 1 || peers->front().url.rfind("ws://127.0.0.1:", 0) != 0) {
      std::fprintf(stderr, "on A: %s, found %zu %s\n", peers.status().ToString().c_str(),
                   peers.ok() ? peers->size() : 0, peers.ok() && !peers->empty() ? peers->front().url.c_str() : "");
      return 3;
    }
    auto synced = SyncWithPeer(**a2, peers->front().url);
    if (!synced.ok()) {
      std::fprintf(stderr, "sync: %s\n", synced.status().ToString().c_str());
      return 4;
    }
    return (*a2)->Get("customers", "of-reception").ok() ? 0 : 5;
  });
  const pid_t other_pc = InNamespace(kNsB, [&] {
    if (!WaitForFile(ready, std::chrono::seconds(20))) return 1;
    auto b = Replica::Open(dir_b, ReplicaOptions());
    if (!b.ok()) return 2;
    auto peers = FindPeers(**b);
    if (!peers.ok() || !peers->empty()) {
      std::fprintf(stderr, "on B: %s, found %zu %s\n", peers.status().ToString().c_str(),
                   peers.ok() ? peers->size() : 0, peers.ok() && !peers->empty() ? peers->front().url.c_str() : "");
      return 3;
    }
    return 0;
  });
  EXPECT_EQ(WaitExitCode(same_pc), 0);
  EXPECT_EQ(WaitExitCode(other_pc), 0);
  EXPECT_EQ(Done(serving), 0);
}

}  // namespace
}  // namespace daicho
