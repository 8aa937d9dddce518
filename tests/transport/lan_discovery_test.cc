#include "transport/lan_discovery.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "daicho/peer_sync.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::transport {
namespace {

using ::daicho::testing::WaitFor;

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kGroup = "239.255.42.99";
constexpr const char* kLoopback = "127.0.0.1";
constexpr const char* kContract = "CN-8472-1193";

// A port of its own per test, so parallel ctest runs do not hear each other.
uint16_t RandomPort() {
  std::random_device rd;
  return static_cast<uint16_t>(20000 + rd() % 40000);
}

uint64_t NowMillis() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

crypto::KeyRing NewRing() {
  auto ring = crypto::KeyRing::Create();
  EXPECT_TRUE(ring.ok()) << ring.status();
  return std::move(ring).value();
}

VersionVector SomeVersionVector(uint64_t counter) {
  VersionVector vv;
  vv.Advance(ReplicaId::Random().value(), counter);
  vv.Advance(ReplicaId::Random().value(), counter + 1);
  return vv;
}

// A plain UDP socket on the loopback multicast group: sends hand-made
// datagrams to it, and (once Join()ed) captures what others send.
class PlainSocket {
 public:
  explicit PlainSocket(uint16_t port) : port_(port) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    in_addr iface{};
    inet_pton(AF_INET, kLoopback, &iface);
    setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface);
    const unsigned char loop = 1;
    const unsigned char ttl = 0;
    setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
    setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  }
  ~PlainSocket() { close(fd_); }
  PlainSocket(const PlainSocket&) = delete;
  PlainSocket& operator=(const PlainSocket&) = delete;

  // Binds the group and port and joins the group on loopback.
  bool Join() {
    const int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in addr = GroupAddress();
    if (bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return false;
    ip_mreq mreq{};
    inet_pton(AF_INET, kGroup, &mreq.imr_multiaddr);
    inet_pton(AF_INET, kLoopback, &mreq.imr_interface);
    return setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) == 0;
  }

  bool Send(const std::string& bytes) {
    const sockaddr_in addr = GroupAddress();
    return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
           static_cast<ssize_t>(bytes.size());
  }

  // The next datagram, or nullopt after `limit`.
  std::optional<std::string> Receive(milliseconds limit = milliseconds(5000)) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
    std::string buf(65536, '\0');
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }

 private:
  sockaddr_in GroupAddress() const {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    inet_pton(AF_INET, kGroup, &addr.sin_addr);
    return addr;
  }

  uint16_t port_;
  int fd_ = -1;
};

class LanDiscoveryTest : public ::testing::Test {
 protected:
  LanDiscoveryOptions Options(const crypto::KeyRing& ring, const std::string& name, uint16_t sync_port,
                              VersionVector vv = {}, std::string contract = kContract) {
    LanDiscoveryOptions o;
    o.port = port_;
    o.interface_address = kLoopback;
    o.announce_interval = milliseconds(50);
    o.peer_expiry = milliseconds(2000);
    o.contract = std::move(contract);
    o.keys = ring.Clone();
    o.replica_id = ReplicaId::Random().value();
    o.device_name = name;
    o.sync_port = sync_port;
    o.version_vector = [vv] { return vv; };
    return o;
  }

  std::unique_ptr<LanDiscovery> StartOrDie(LanDiscoveryOptions options) {
    auto d = LanDiscovery::Start(std::move(options));
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? std::move(d).value() : nullptr;
  }

  static bool Sees(const LanDiscovery& d, const std::string& name) {
    const auto peers = d.Peers();
    return std::any_of(peers.begin(), peers.end(), [&](const DiscoveredPeer& p) { return p.device_name == name; });
  }

  // A valid announcement of a stranger PC of `ring_`'s office, at `unix_ms`.
  std::string Crafted(uint64_t unix_ms, const std::string& name = "crafted-pc") {
    Announcement a;
    a.replica_id = ReplicaId::Random().value();
    a.device_name = name;
    a.sync_port = 9999;
    a.unix_ms = unix_ms;
    auto packet = EncodeAnnouncement(ring_, kContract, a);
    EXPECT_TRUE(packet.ok()) << packet.status();
    return packet.ok() ? *packet : std::string();
  }

  uint16_t port_ = RandomPort();
  crypto::KeyRing ring_ = NewRing();
};

TEST_F(LanDiscoveryTest, TwoPcsOfOneOfficeSeeEachOther) {
  const VersionVector vv_a = SomeVersionVector(7);
  const VersionVector vv_b = SomeVersionVector(42);
  auto a_options = Options(ring_, "reception-pc", 8101, vv_a);
  auto b_options = Options(ring_, "back-office", 8102, vv_b);
  const ReplicaId a_id = a_options.replica_id;
  const ReplicaId b_id = b_options.replica_id;
  auto a = StartOrDie(std::move(a_options));
  auto b = StartOrDie(std::move(b_options));
  ASSERT_TRUE(a && b);

  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "back-office") && Sees(*b, "reception-pc"); }));

  const auto a_peers = a->Peers();
  ASSERT_EQ(a_peers.size(), 1u);
  const DiscoveredPeer& seen_by_a = a_peers[0];
  EXPECT_EQ(seen_by_a.replica_id, b_id);
  EXPECT_EQ(seen_by_a.device_name, "back-office");
  EXPECT_EQ(seen_by_a.address, "127.0.0.1");
  EXPECT_EQ(seen_by_a.port, 8102);
  EXPECT_EQ(seen_by_a.version_vector, vv_b);
  const auto age = std::chrono::system_clock::now() - seen_by_a.last_seen;
  EXPECT_LT(age, std::chrono::seconds(2));
  EXPECT_GT(age, -std::chrono::seconds(1));

  const auto b_peers = b->Peers();
  ASSERT_EQ(b_peers.size(), 1u);
  EXPECT_EQ(b_peers[0].replica_id, a_id);
  EXPECT_EQ(b_peers[0].port, 8101);
  EXPECT_EQ(b_peers[0].version_vector, vv_a);

  // Each also hears itself (multicast loop) and leaves itself out.
  EXPECT_GT(a->stats().ignored_own, 0u);
  EXPECT_GT(a->stats().sent, 0u);
  EXPECT_EQ(a->stats().rejected_auth, 0u);
}

TEST_F(LanDiscoveryTest, PeersAreSortedByDeviceName) {
  auto listener = Options(ring_, "m-listener", 8100);
  auto l = StartOrDie(std::move(listener));
  auto z = StartOrDie(Options(ring_, "zeta", 8103));
  auto al = StartOrDie(Options(ring_, "alpha", 8104));
  ASSERT_TRUE(l && z && al);
  ASSERT_TRUE(WaitFor([&] { return l->Peers().size() == 2; }));
  const auto peers = l->Peers();
  EXPECT_EQ(peers[0].device_name, "alpha");
  EXPECT_EQ(peers[1].device_name, "zeta");
}

TEST_F(LanDiscoveryTest, AnotherOfficesPcNeitherAppearsNorSeesUs) {
  auto a = StartOrDie(Options(ring_, "ours-1", 8101));
  auto b = StartOrDie(Options(ring_, "ours-2", 8102));
  const crypto::KeyRing other_office = NewRing();
  auto stranger = StartOrDie(Options(other_office, "stranger", 8103));
  ASSERT_TRUE(a && b && stranger);

  ASSERT_TRUE(WaitFor(
      [&] { return Sees(*a, "ours-2") && a->stats().rejected_auth >= 3 && stranger->stats().rejected_auth >= 3; }));
  EXPECT_FALSE(Sees(*a, "stranger"));
  EXPECT_FALSE(Sees(*b, "stranger"));
  EXPECT_TRUE(stranger->Peers().empty());
  EXPECT_EQ(stranger->stats().accepted, 0u);
}

TEST_F(LanDiscoveryTest, SameKeyUnderAnotherContractNeverAppears) {
  auto a = StartOrDie(Options(ring_, "ours", 8101));
  auto other = StartOrDie(Options(ring_, "other-contract", 8102, {}, "CN-0000-0001"));
  ASSERT_TRUE(a && other);

  ASSERT_TRUE(WaitFor([&] { return a->stats().rejected_auth >= 3 && other->stats().rejected_auth >= 3; }));
  EXPECT_TRUE(a->Peers().empty());
  EXPECT_TRUE(other->Peers().empty());
  EXPECT_EQ(a->stats().accepted, 0u);
}

TEST_F(LanDiscoveryTest, GarbageTruncatedAndWrongMagicDatagramsAreIgnored) {
  auto listener_options = Options(ring_, "listener", 8100);
  listener_options.announce_interval = milliseconds(60000);  // keep its own traffic out of the counts
  auto a = StartOrDie(std::move(listener_options));
  ASSERT_TRUE(a);
  ASSERT_TRUE(WaitFor([&] { return a->stats().ignored_own == 1; }));

  const std::string valid = Crafted(NowMillis());
  std::string wrong_magic = valid;
  wrong_magic[3] = '2';
  std::string flipped = valid;
  flipped[flipped.size() / 2] ^= 0x01;
  std::string unknown_key = valid;
  unknown_key[4] = 0x7F;  // key id 127, which the ring does not hold

  PlainSocket s(port_);
  const std::vector<std::string> malformed = {
      std::string(), "garbage", "DLA1", valid.substr(0, 20), wrong_magic, std::string(9000, 'D'),
  };
  for (const auto& bytes : malformed) ASSERT_TRUE(s.Send(bytes));
  ASSERT_TRUE(s.Send(flipped));
  ASSERT_TRUE(s.Send(unknown_key));
  ASSERT_TRUE(s.Send(valid.substr(0, valid.size() - 1)));  // truncated tag: fails authentication

  ASSERT_TRUE(WaitFor([&] { return a->stats().received == 1 + malformed.size() + 3; }));
  const LanDiscoveryStats stats = a->stats();
  EXPECT_EQ(stats.rejected_malformed, malformed.size());
  EXPECT_EQ(stats.rejected_auth, 3u);
  EXPECT_EQ(stats.accepted, 0u);
  EXPECT_TRUE(a->Peers().empty());

  // Still listening.
  ASSERT_TRUE(s.Send(valid));
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "crafted-pc"); }));
  auto b = StartOrDie(Options(ring_, "late-pc", 8102));
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "late-pc"); }));
}

TEST_F(LanDiscoveryTest, CapturedAnnouncementReplayedIsRejected) {
  auto a = StartOrDie(Options(ring_, "listener", 8100));
  PlainSocket capture(port_);
  ASSERT_TRUE(capture.Join());
  auto b_options = Options(ring_, "announcer", 8102);
  b_options.announce_interval = milliseconds(60000);  // exactly one announcement, at Start
  auto b = StartOrDie(std::move(b_options));
  ASSERT_TRUE(a && b);

  std::optional<std::string> packet;
  for (;;) {  // skip the listener's own announcements
    packet = capture.Receive();
    ASSERT_TRUE(packet.has_value());
    auto decoded = DecodeAnnouncement(ring_, kContract, *packet);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    if (decoded->device_name == "announcer") break;
  }
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "announcer"); }));
  const uint64_t accepted = a->stats().accepted;

  PlainSocket replayer(port_);
  ASSERT_TRUE(replayer.Send(*packet));
  ASSERT_TRUE(replayer.Send(*packet));
  ASSERT_TRUE(WaitFor([&] { return a->stats().rejected_replay == 2; }));
  EXPECT_EQ(a->stats().accepted, accepted);
}

TEST_F(LanDiscoveryTest, StaleOrFutureTimestampIsRejected) {
  auto listener_options = Options(ring_, "listener", 8100);
  listener_options.announce_interval = milliseconds(60000);
  auto a = StartOrDie(std::move(listener_options));
  ASSERT_TRUE(a);
  PlainSocket s(port_);
  ASSERT_TRUE(s.Send(Crafted(NowMillis() - 60000, "stale-pc")));
  ASSERT_TRUE(s.Send(Crafted(NowMillis() + 60000, "future-pc")));
  ASSERT_TRUE(WaitFor([&] { return a->stats().rejected_stale == 2; }));
  EXPECT_TRUE(a->Peers().empty());

  // Within the allowed skew it is accepted: the crafted packets were valid.
  ASSERT_TRUE(s.Send(Crafted(NowMillis() - 20000, "slow-clock-pc")));
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "slow-clock-pc"); }));
}

TEST_F(LanDiscoveryTest, PacketRevealsNeitherContractNorDeviceName) {
  PlainSocket capture(port_);
  ASSERT_TRUE(capture.Join());
  auto options = Options(ring_, "Front-Desk-PC-Tanaka", 8101, SomeVersionVector(5));
  const ReplicaId id = options.replica_id;
  auto a = StartOrDie(std::move(options));
  ASSERT_TRUE(a);
  const auto packet = capture.Receive();
  ASSERT_TRUE(packet.has_value());

  EXPECT_EQ(packet->substr(0, 4), "DLA1");
  EXPECT_EQ(packet->find(kContract), std::string::npos);
  EXPECT_EQ(packet->find("Front-Desk-PC-Tanaka"), std::string::npos);
  EXPECT_EQ(packet->find("Tanaka"), std::string::npos);
  EXPECT_EQ(packet->find(std::string(id.AsStringView())), std::string::npos);
  EXPECT_EQ(packet->find(id.ToHex()), std::string::npos);
  EXPECT_LE(packet->size(), kMaxAnnouncementBytes);

  auto decoded = DecodeAnnouncement(ring_, kContract, *packet);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->device_name, "Front-Desk-PC-Tanaka");
  EXPECT_EQ(decoded->replica_id, id);
  EXPECT_EQ(decoded->sync_port, 8101);
}

TEST_F(LanDiscoveryTest, PeerThatStopsAnnouncingDisappearsAfterExpiry) {
  auto a_options = Options(ring_, "stays", 8101);
  a_options.peer_expiry = milliseconds(400);
  auto a = StartOrDie(std::move(a_options));
  auto b = StartOrDie(Options(ring_, "leaves", 8102));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor([&] { return Sees(*a, "leaves"); }));

  b->Stop();
  const auto stopped = SteadyClock::now();
  ASSERT_TRUE(WaitFor([&] { return !Sees(*a, "leaves"); }));
  EXPECT_GE(SteadyClock::now() - stopped, milliseconds(250));
}

TEST_F(LanDiscoveryTest, StopIsIdempotentAndJoins) {
  auto a = StartOrDie(Options(ring_, "pc", 8101));
  ASSERT_TRUE(a);
  a->Stop();
  const LanDiscoveryStats after_stop = a->stats();
  a->Stop();
  a->AnnounceNow();  // no-op once stopped
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(a->stats().sent, after_stop.sent);
  EXPECT_EQ(a->stats().received, after_stop.received);
  EXPECT_TRUE(a->Peers().empty());
  a.reset();  // destructor after Stop

  // And a destructor without Stop joins too; the port is free again.
  auto b = StartOrDie(Options(ring_, "pc2", 8102));
  ASSERT_TRUE(b);
  b.reset();
  auto c = StartOrDie(Options(ring_, "pc3", 8103));
  ASSERT_TRUE(c);
}

TEST_F(LanDiscoveryTest, AnnounceNowSendsAtOnce) {
  auto a_options = Options(ring_, "pc", 8101);
  a_options.announce_interval = milliseconds(60000);
  auto a = StartOrDie(std::move(a_options));
  ASSERT_TRUE(a);
  ASSERT_TRUE(WaitFor([&] { return a->stats().sent == 1; }));
  a->AnnounceNow();
  ASSERT_TRUE(WaitFor([&] { return a->stats().sent == 2; }));
}

TEST_F(LanDiscoveryTest, ListenForPeersFindsRunningPcsBeforeTheirNextInterval) {
  auto running_options = Options(ring_, "running-pc", 8101, SomeVersionVector(3));
  running_options.announce_interval = milliseconds(60000);  // only answers could reach a newcomer
  auto running = StartOrDie(std::move(running_options));
  ASSERT_TRUE(running);
  std::this_thread::sleep_for(milliseconds(100));  // its Start announcement has gone by

  auto peers = ListenForPeers(Options(ring_, "cli", 0), milliseconds(1500));
  ASSERT_DAICHO_OK(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].device_name, "running-pc");
  EXPECT_EQ((*peers)[0].port, 8101);
}

// Issue 12 item 13: one PC looking (`daicho peers`, the same replica id run
// after run, as a clerk repeating the command) finds every serving PC, each
// announcing only at the default interval, in at least 99 of 100 lookups
// within the default wait. A lookup ends as soon as all are found; the wait
// is only its bound.
TEST_F(LanDiscoveryTest, RepeatedLookupsFindEveryServingPcWithinTheDefaultWait) {
  const milliseconds wait = FindPeersOptions().listen_for;
  const std::vector<std::string> names = {"reception", "back-office", "director"};
  std::vector<std::unique_ptr<LanDiscovery>> serving;
  for (size_t i = 0; i < names.size(); ++i) {
    auto options = Options(ring_, names[i], static_cast<uint16_t>(8101 + i));
    options.announce_interval = LanDiscoveryOptions().announce_interval;
    serving.push_back(StartOrDie(std::move(options)));
    ASSERT_TRUE(serving.back());
  }
  // The looking PC: its own replica id, the same in every lookup.
  const ReplicaId looking_id = ReplicaId::Random().value();
  auto looking = [&] {
    auto options = Options(ring_, "listener", 0);
    options.replica_id = looking_id;
    options.announce_interval = LanDiscoveryOptions().announce_interval;
    return options;
  };

  constexpr int kLookups = 100;
  int complete = 0;
  int incomplete = 0;
  std::vector<std::string> last_miss;
  for (int run = 0; run < kLookups && incomplete <= kLookups / 100; ++run) {
    const auto deadline = SteadyClock::now() + wait;
    auto d = StartOrDie(looking());
    ASSERT_TRUE(d);
    std::vector<DiscoveredPeer> peers;
    WaitFor(
        [&] {
          if (SteadyClock::now() <= deadline) peers = d->Peers();
          return peers.size() == names.size();
        },
        deadline - SteadyClock::now(), milliseconds(10));
    const bool all = peers.size() == names.size();
    d->Stop();
    if (all) {
      ++complete;
      continue;
    }
    ++incomplete;
    last_miss.clear();
    for (const DiscoveredPeer& p : peers) last_miss.push_back(p.device_name);
  }
  EXPECT_GE(complete, kLookups - kLookups / 100)
      << incomplete << " lookups missed a serving PC; the last found only " << ::testing::PrintToString(last_miss);
}

TEST_F(LanDiscoveryTest, ListenOnlyFindsPeersWithoutAnnouncing) {
  auto running = StartOrDie(Options(ring_, "running-pc", 8101));
  ASSERT_TRUE(running);
  auto options = Options(ring_, "", 0);
  options.replica_id = ReplicaId();
  options.version_vector = nullptr;
  auto peers = ListenForPeers(std::move(options), milliseconds(300));
  ASSERT_DAICHO_OK(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].device_name, "running-pc");
}

TEST_F(LanDiscoveryTest, VersionVectorTooLargeForOneDatagramIsNotAnnounced) {
  Announcement big;
  big.replica_id = ReplicaId::Random().value();
  big.device_name = "big";
  for (int i = 0; i < 600; ++i) big.version_vector.Advance(ReplicaId::Random().value(), 1000000);
  auto packet = EncodeAnnouncement(ring_, kContract, big);
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.status().code(), Code::kResourceExhausted);

  auto options = Options(ring_, "big", 8101, big.version_vector);
  auto a = StartOrDie(std::move(options));
  auto listener = StartOrDie(Options(ring_, "listener", 8102));
  ASSERT_TRUE(a && listener);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(a->stats().sent, 0u);
  EXPECT_FALSE(Sees(*listener, "big"));
  EXPECT_TRUE(Sees(*a, "listener"));  // it still listens
}

TEST_F(LanDiscoveryTest, AnnouncementsUnderAnOlderKeyOfTheRingAreAccepted) {
  auto rotated = ring_.Rotated();
  ASSERT_DAICHO_OK(rotated);
  auto new_key_pc = StartOrDie(Options(*rotated, "rotated-pc", 8101));
  auto old_key_pc = StartOrDie(Options(ring_, "old-key-pc", 8102));
  ASSERT_TRUE(new_key_pc && old_key_pc);
  // The rotated PC still holds key 1 and hears the old one; the old PC lacks key 2.
  ASSERT_TRUE(WaitFor([&] { return Sees(*new_key_pc, "old-key-pc") && old_key_pc->stats().rejected_auth >= 2; }));
  EXPECT_FALSE(Sees(*old_key_pc, "rotated-pc"));
}

// A PC serving on one address announces on it, so the URL others list
// reaches it; a LAN interface naming another address is refused.
TEST(AnnounceInterfaceForTest, ServingAddressIsTheAnnouncedOne) {
  EXPECT_EQ(AnnounceInterfaceFor("127.0.0.1", "0.0.0.0").value(), "127.0.0.1");
  EXPECT_EQ(AnnounceInterfaceFor("127.0.0.1", "").value(), "127.0.0.1");
  EXPECT_EQ(AnnounceInterfaceFor("127.0.0.1", "127.0.0.1").value(), "127.0.0.1");
  EXPECT_EQ(AnnounceInterfaceFor("192.168.1.10", "0.0.0.0").value(), "192.168.1.10");
  EXPECT_EQ(AnnounceInterfaceFor("0.0.0.0", "0.0.0.0").value(), "0.0.0.0");
  EXPECT_EQ(AnnounceInterfaceFor("0.0.0.0", "192.168.1.10").value(), "192.168.1.10");
  EXPECT_EQ(AnnounceInterfaceFor("::", "192.168.1.10").value(), "192.168.1.10");

  const auto mismatch = AnnounceInterfaceFor("127.0.0.1", "192.168.1.10");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), Code::kInvalidArgument);
  EXPECT_NE(mismatch.status().message().find("cannot reach"), std::string::npos) << mismatch.status();
  EXPECT_EQ(AnnounceInterfaceFor("::1", "0.0.0.0").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(AnnounceInterfaceFor("localhost", "0.0.0.0").status().code(), Code::kInvalidArgument);
}

TEST_F(LanDiscoveryTest, StartRefusesBadOptions) {
  auto bad_group = Options(ring_, "pc", 8101);
  bad_group.group = "10.1.2.3";
  EXPECT_EQ(LanDiscovery::Start(std::move(bad_group)).status().code(), Code::kInvalidArgument);
  auto no_key = Options(ring_, "pc", 8101);
  no_key.keys = crypto::KeyRing();
  EXPECT_EQ(LanDiscovery::Start(std::move(no_key)).status().code(), Code::kInvalidArgument);
  auto no_contract = Options(ring_, "pc", 8101, {}, "");
  EXPECT_EQ(LanDiscovery::Start(std::move(no_contract)).status().code(), Code::kInvalidArgument);
  auto bad_iface = Options(ring_, "pc", 8101);
  bad_iface.interface_address = "not-an-address";
  EXPECT_EQ(LanDiscovery::Start(std::move(bad_iface)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::transport
