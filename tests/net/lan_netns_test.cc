// Discovery and direct sync between two PCs on a real (virtual) LAN: two
// network namespaces joined by a veth pair, created by this test (as root),
// each PC a forked process inside its namespace. Skipped, saying why, where
// namespaces cannot be created.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <functional>
#include <memory>
#include <thread>
#include <tuple>

#include "crypto/key_file.h"
#include "daicho/peer_sync.h"
#include "daicho/replica.h"
#include "test_util.h"

namespace daicho {
namespace {

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
    }
  }
  void TearDown() override {
    if (!created_) return;
    Shell("ip netns del " + kNsA);  // takes the veth pair with it
    Shell("ip netns del " + kNsB);
  }

  // Runs `body` in a child process inside namespace `ns`; its exit code
  // (0: success) is returned by Wait().
  static pid_t InNamespace(const std::string& ns, const std::function<int()>& body) {
    const pid_t pid = fork();
    if (pid != 0) return pid;
    const int fd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(90);
    _exit(body());
  }
  static int Wait(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  }

  std::unique_ptr<Replica> Open(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    return std::move(Replica::Open(dir_.Sub(name), options).value());
  }

  bool created_ = false;
  testing::TempDir dir_;
};

TEST_F(LanNetnsTest, APcInAnotherNamespaceIsFoundAcrossTheVethAndSyncedWith) {
  const auto ring = std::move(crypto::KeyRing::Create().value());
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
  EXPECT_EQ(Wait(finding), 0);
  EXPECT_EQ(Wait(serving), 0);
}

}  // namespace
}  // namespace daicho
