// Direct sync between the PCs of one office, on the office LAN: the same
// protocol and merge as through the relay, so the relay becomes one peer
// among several rather than a single point of failure.
//
// - PeerServer makes a replica a sync endpoint for its office's PCs (and,
//   optionally, announces it on the LAN). It runs beside the app: the replica
//   stays usable by this and other processes while it serves.
// - FindPeers lists the office's PCs announcing themselves on the LAN.
// - SyncWithPeer syncs once with one PC, both ways.
//
// Security (docs/security.md, docs/lan-sync.md): before any change moves,
// both PCs prove they hold the office's data key (an ephemeral X25519
// exchange whose transcript is authenticated with a key derived from it);
// every frame is then encrypted. A PC of another office, or one without the
// key, is refused and learns nothing about the data. LAN announcements are
// encrypted and authenticated with the office key too; the contract number
// never travels in clear. The office key is the one unlocked through the
// relay (office.key in the replica directory) or one got from a peer or a
// file (UnlockOfficeKeyFromPeer, ImportOfficeKey: daicho/office_key.h); a PC
// keeping no key file passes the passphrase.
//
// Gossip: what a PC received from anyone it serves to everyone, so a PC that
// only sees another PC still gets the relay's changes, and its own changes
// reach the relay through a PC that syncs with it. Peers also pass on what
// they know the relay holds, so RelayClient::GetBackupStatus counts a record
// as backed up once the relay acknowledged it, whichever path it took.
//
// Ownership and threading: functions borrow the Replica for the call; a
// PeerServer borrows it until Stop()/destruction. A PeerServer's methods may
// be called from any one thread at a time.
//
// Errors: kFailedPrecondition (no office key on this PC, or the peer holds
// another key id: the message says who must unlock), kUnauthenticated (the
// peer does not hold this office's key; a wrong passphrase), kUnavailable
// (peer unreachable, connection cut), kInvalidArgument (bad URL or options),
// kCorruption, kIoError and the replica's own codes.
#ifndef DAICHO_PEER_SYNC_H_
#define DAICHO_PEER_SYNC_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/sync_types.h"

namespace daicho {

// Where the office's PCs announce themselves (UDP multicast, one hop).
struct LanOptions {
  // The local address of the LAN interface to announce and listen on;
  // "0.0.0.0": the system's choice.
  std::string interface_address = "0.0.0.0";
  std::string multicast_group = "239.255.42.99";
  uint16_t port = 47474;
  // How often a serving PC announces itself (and so how fast it is found).
  std::chrono::milliseconds announce_interval{5000};
};

struct PeerServerOptions {
  // Address and TCP port to accept the office's PCs on (port 0: any free
  // port, see PeerServer::port()). A specific IPv4 address is also the one
  // announced (lan.interface_address must then be unset or the same; on
  // 127.0.0.1 only this PC hears the announcements); Start returns
  // kInvalidArgument otherwise, and for a specific IPv6 address unless
  // `announce` is off.
  std::string host = "0.0.0.0";
  uint16_t port = 47480;
  // The name other PCs see in FindPeers (e.g. the host name).
  std::string device_name;
  // Announce this PC on the LAN (FindPeers); off: reachable by URL only.
  bool announce = true;
  LanOptions lan;
  // Hand the office key's passphrase-wrapped envelope (never the bare key,
  // never a change) to a PC that does not hold the key yet, so it can unlock
  // it without the relay (UnlockOfficeKeyFromPeer). Anyone who can reach this
  // PC can then try passphrases offline against it: leave off unless a PC is
  // being set up.
  bool share_key_envelope = false;
  // The office passphrase, only when this PC keeps no office.key: unlocks
  // the key from the envelopes saved by an earlier unlock.
  std::string passphrase;
};

class PeerServer {
 public:
  // Starts serving `replica` (which must outlive the server).
  static Result<std::unique_ptr<PeerServer>> Start(Replica& replica, PeerServerOptions options);
  ~PeerServer();  // Stop()
  PeerServer(const PeerServer&) = delete;
  PeerServer& operator=(const PeerServer&) = delete;

  // Closes the listener and every connection; idempotent.
  void Stop();
  uint16_t port() const;

 private:
  struct Impl;
  explicit PeerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An office PC found on the LAN.
struct PeerInfo {
  std::string url;  // ws://ADDRESS:PORT/ to pass to SyncWithPeer
  std::string device_name;
  std::string replica_id;  // hex
  std::chrono::system_clock::time_point last_seen;
  // How far behind the peer is: changes this PC holds that it lacks; and
  // the other way round.
  uint64_t changes_peer_lacks = 0;
  uint64_t changes_we_lack = 0;
};

struct FindPeersOptions {
  LanOptions lan;
  // How long to listen. Serving PCs answer each of the queries sent during
  // it at once (docs/lan-sync.md), so the default finds every serving PC on
  // the LAN even when some datagrams are lost.
  std::chrono::milliseconds listen_for{2000};
  std::string passphrase;  // as in PeerServerOptions
};

// The office's PCs announcing themselves on the LAN now, by device name.
Result<std::vector<PeerInfo>> FindPeers(Replica& replica, const FindPeersOptions& options = {});

struct PeerSyncOptions {
  std::function<void(const SyncProgress&)> on_progress;
  std::string passphrase;  // as in PeerServerOptions
};

// Syncs both ways with the PC at `url` ("ws://host:port/") until both hold
// the same changes.
Result<SyncSummary> SyncWithPeer(Replica& replica, const std::string& url, const PeerSyncOptions& options = {});

}  // namespace daicho

#endif  // DAICHO_PEER_SYNC_H_
