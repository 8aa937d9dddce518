// LanDiscovery: finds the office's other PCs on the local network for direct
// PC-to-PC sync, by UDP multicast announcements that only the office can read
// or forge.
//
// Serving PCs and looking PCs. A serving PC (sync_port != 0) sends one
// datagram to the multicast group once at Start and every
// `announce_interval` saying who it is (replica id, device name), on which
// TCP port it syncs, and its version vector; it also answers, with the same
// announcement to the group, every query and every newly heard peer, at
// most once per 100 ms (a burst of queries gets one answer). A looking PC
// (`daicho peers`, sync_port == kLookingPort) sends the same datagram with
// sync port 0: that is its query. It asks at Start and again 150, 400, 900
// and 1500 ms later (a lost query or answer costs a few hundred ms, not the
// lookup), then every announce_interval; it never answers, and looking PCs
// are not listed by Peers(). Serving PCs before issue 12 answered only a
// looking PC they had not heard in the last 20 s, so a `peers` repeated
// within that time found them only if their periodic announcement fell into
// its wait (5 of 12 runs); the format is unchanged, so they still answer a
// new looking PC's first query and old looking PCs are answered every time.
// The datagram is sealed (crypto/discovery_key.h) with a key derived from the
// office's current data key and the contract number: only the magic and the
// key id travel in clear, so the contract number, device name and version
// vector are never visible on the wire, and a PC of another office (another
// key, or the same key under another contract) can neither read our
// announcements nor make one we accept. The packet layout is in
// docs/formats.md "LAN announcements". Received announcements that do not authenticate, are our
// own, carry a clock more than 30 s from ours, or repeat a nonce seen in the
// last minute are dropped silently (counted in Stats). An announcement that
// would exceed 8 KiB (a version vector of some 250+ replicas) is not sent at
// all: the PC stays silent rather than announce a truncated vector
// (EncodeAnnouncement returns kResourceExhausted; the running instance drops
// it without logging).
//
// A peer's address is the datagram's source address (the sending
// interface's address: `interface_address` when one is set, else the one
// the kernel's multicast route picks); its port is the announced sync port.
// A PC serving on one address announces on that address's interface so the
// two agree (PeerServer does this; on loopback nothing leaves the host).
//
// Multicast on loopback (tests): Linux accepts IP_ADD_MEMBERSHIP on 127.0.0.1
// and delivers group datagrams sent with IP_MULTICAST_IF = 127.0.0.1 and
// IP_MULTICAST_LOOP on to every member socket on the host, although `lo`
// lacks the MULTICAST flag and has no multicast route (checked in the build
// container: join, send and receive all succeed, source address 127.0.0.1).
// With an interface of 127.0.0.1 the TTL is forced to 0, so nothing leaves
// the host even if a route said otherwise. Real use joins on "0.0.0.0" (the
// kernel picks the default multicast interface) with TTL 1 (the local subnet
// only; routers do not forward it).
//
// Sockets: the receiver binds the group address and port with SO_REUSEADDR
// and SO_REUSEPORT, so several processes (or instances) on one host can all
// listen; announcements go out from a second, ephemeral-port socket.
//
// Ownership and threads: a LanDiscovery owns its sockets, its io_context and
// the one thread running it; the version vector callback runs on that thread
// before each announcement. Peers(), stats(), AnnounceNow() and Stop() may be
// called from any thread. Stop() must not be called from the callback.
//
// Codes: Start returns kInvalidArgument (bad group or interface address,
// empty key ring or contract, missing callback, empty device name), and
// kUnavailable when the sockets cannot be set up (the OS reason is in the
// message). EncodeAnnouncement: kInvalidArgument, kResourceExhausted.
// DecodeAnnouncement: kCorruption (malformed), kUnauthenticated (unknown key
// id or failed authentication).
#ifndef DAICHO_TRANSPORT_LAN_DISCOVERY_H_
#define DAICHO_TRANSPORT_LAN_DISCOVERY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/discovery_key.h"
#include "crypto/key_ring.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "transport/lan_announcement.h"

namespace daicho::transport {

inline constexpr size_t kMaxAnnouncementBytes = crypto::kMaxAnnouncementPacketBytes;
// The sync port of a looking PC: its announcements are queries.
inline constexpr uint16_t kLookingPort = 0;
// How far an announcement's clock may be from ours, either way.
inline constexpr std::chrono::milliseconds kAnnouncementMaxSkew{30000};
// How long a nonce is remembered to refuse replays.
inline constexpr std::chrono::milliseconds kReplayWindow{60000};

struct LanDiscoveryOptions {
  // IPv4 multicast group (administratively scoped 239/8 by default).
  std::string group = "239.255.42.99";
  // UDP port of the group.
  uint16_t port = 47474;
  // IPv4 address of the interface to join the group on and send from;
  // "0.0.0.0" lets the kernel choose (real use); tests use "127.0.0.1".
  std::string interface_address = "0.0.0.0";
  // Time between two announcements of a serving PC (a looking PC repeats its
  // query sooner at first, see above).
  std::chrono::milliseconds announce_interval{5000};
  // A peer not heard from for this long is no longer listed.
  std::chrono::milliseconds peer_expiry{20000};
  // The office: the contract number and its data keys (cloned in). The
  // current key seals announcements; any key held opens them.
  std::string contract;
  crypto::KeyRing keys;
  // What this PC announces. A zero replica id means listen only (nothing is
  // sent; for tools that have no store).
  ReplicaId replica_id;
  std::string device_name;
  // TCP port on which this PC accepts sync connections; kLookingPort: it
  // serves none and only looks for those that do.
  uint16_t sync_port = kLookingPort;
  // Returns this PC's current version vector; called on the discovery thread
  // before each announcement. Required unless listening only.
  std::function<VersionVector()> version_vector;
  // Wall clock in Unix milliseconds (tests may fake it); empty: system clock.
  std::function<uint64_t()> now_millis;
  // Nonces remembered for replay detection, at most (oldest dropped first).
  size_t replay_cache_entries = 4096;
};

// One office PC heard on the LAN.
struct DiscoveredPeer {
  ReplicaId replica_id;
  std::string device_name;
  // The datagram's source address (dotted IPv4) and the announced sync port.
  std::string address;
  uint16_t port = 0;
  VersionVector version_vector;
  // When its latest announcement arrived (local clock).
  std::chrono::system_clock::time_point last_seen;
};

// What the receiver did with datagrams, for tests and diagnostics.
struct LanDiscoveryStats {
  uint64_t received = 0;            // every datagram read from the socket
  uint64_t accepted = 0;            // authenticated announcements of peers
  uint64_t ignored_own = 0;         // our own announcements (multicast loop)
  uint64_t rejected_auth = 0;       // unknown key id or failed AEAD
  uint64_t rejected_stale = 0;      // timestamp more than 30 s from now
  uint64_t rejected_replay = 0;     // nonce seen in the last minute
  uint64_t rejected_malformed = 0;  // bad magic, too short, bad plaintext
  uint64_t sent = 0;                // announcements sent
};

class LanDiscovery {
 public:
  ~LanDiscovery();  // Stop()
  LanDiscovery(const LanDiscovery&) = delete;
  LanDiscovery& operator=(const LanDiscovery&) = delete;

  // Opens the sockets, joins the group, starts the thread and then sends the
  // first announcement or query (unless listening only).
  static Result<std::unique_ptr<LanDiscovery>> Start(LanDiscoveryOptions options);

  // Leaves the group, closes the sockets and joins the thread. Idempotent.
  void Stop();
  // Serving peers heard within peer_expiry (looking PCs are left out),
  // sorted by device name (then replica id).
  std::vector<DiscoveredPeer> Peers() const;
  LanDiscoveryStats stats() const;
  // Sends an announcement now (asynchronously, on the discovery thread);
  // no-op when listening only or stopped.
  void AnnounceNow();

 private:
  class Impl;
  explicit LanDiscovery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The interface a PC accepting sync connections on `sync_host` announces on,
// given the `interface_address` asked for ("" or "0.0.0.0": not chosen), so
// that the announcement's source address is one the listed URL can reach:
// a PC serving on one IPv4 address announces on it (on 127.0.0.1 only to
// its own host, which is the only one that can reach it), one serving on
// 0.0.0.0 or :: on `interface_address`. kInvalidArgument when the two name
// different addresses, or `sync_host` is a specific IPv6 address or no IP
// address at all (announcements carry IPv4 sources).
Result<std::string> AnnounceInterfaceFor(std::string_view sync_host, std::string_view interface_address);

// One-shot listing for the CLI: starts a LanDiscovery with `options`, waits
// `how_long` and returns the serving peers heard. With a replica id and sync
// port kLookingPort it queries (see above) and serving PCs answer each query
// at once, so a listing of a few hundred ms finds the office without
// waiting for an announce interval. Errors as LanDiscovery::Start.
Result<std::vector<DiscoveredPeer>> ListenForPeers(LanDiscoveryOptions options, std::chrono::milliseconds how_long);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_LAN_DISCOVERY_H_
