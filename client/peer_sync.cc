#include "daicho/peer_sync.h"

#include <algorithm>
#include <utility>

#include "client/pc_state.h"
#include "client/sync_summary.h"
#include "crypto/key_ring.h"
#include "sync/replica_change_store.h"
#include "transport/lan_discovery.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace daicho {
namespace {

struct Office {
  std::string contract;
  crypto::KeyRing ring;
};

// The office key this PC syncs with peers under: office.key, else the saved
// envelopes opened with `passphrase`.
Result<Office> OfficeOf(Replica& replica, const std::string& passphrase) {
  client::PcState pc(replica);
  DAICHO_ASSIGN_OR_RETURN(client::PcOffice office, pc.Office(/*relay_contract=*/"", passphrase));
  if (!office.ring.empty()) return Office{std::move(office.contract), std::move(office.ring)};
  return Status(Code::kFailedPrecondition,
                "this PC does not hold the office key: unlock it first (daicho key unlock, key unlock --peer URL, "
                "or key import FILE)");
}

std::shared_ptr<const transport::PeerAuth> AuthOf(const Office& office) {
  return std::make_shared<const transport::PeerAuth>(transport::PeerAuth{office.contract, office.ring.Clone()});
}

transport::LanDiscoveryOptions DiscoveryOptions(const LanOptions& lan, const Office& office) {
  transport::LanDiscoveryOptions options;
  options.group = lan.multicast_group;
  options.port = lan.port;
  options.interface_address = lan.interface_address;
  options.announce_interval = lan.announce_interval;
  options.peer_expiry = std::max(std::chrono::milliseconds(20000), 4 * lan.announce_interval);
  options.contract = office.contract;
  options.keys = office.ring.Clone();
  return options;
}

}  // namespace

struct PeerServer::Impl {
  Replica& replica;
  std::unique_ptr<transport::SyncServer> server;
  std::unique_ptr<transport::LanDiscovery> discovery;
};

PeerServer::PeerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PeerServer::~PeerServer() { Stop(); }

void PeerServer::Stop() {
  if (impl_->discovery) impl_->discovery->Stop();
  if (impl_->server) impl_->server->Stop();
}

uint16_t PeerServer::port() const { return impl_->server->port(); }

Result<std::unique_ptr<PeerServer>> PeerServer::Start(Replica& replica, PeerServerOptions options) {
  DAICHO_ASSIGN_OR_RETURN(Office office, OfficeOf(replica, options.passphrase));
  if (options.announce) {
    DAICHO_ASSIGN_OR_RETURN(options.lan.interface_address,
                            transport::AnnounceInterfaceFor(options.host, options.lan.interface_address));
  }
  auto impl = std::make_unique<Impl>(Impl{replica, nullptr, nullptr});
  transport::SyncServerOptions server;
  server.host = options.host;
  server.port = options.port;
  server.threads = 2;
  server.local_id = replica.id();
  server.websocket.peer_auth = AuthOf(office);
  Replica* served = &replica;
  server.store_factory = [served](const sync::Hello& hello, const std::string&) -> Result<sync::AcceptedSession> {
    client::PcState pc(*served);
    // Only ever adds to what is known; a failed write merely leaves "not
    // backed up" more cautious.
    (void)pc.LearnFromPeer(hello.relay_holds);
    sync::AcceptedSession accepted;
    accepted.store = std::make_unique<sync::ReplicaChangeStore>(*served);
    accepted.group = "office";  // PCs connected at once get each other's changes live
    DAICHO_ASSIGN_OR_RETURN(accepted.admission.relay_holds, pc.RelayHolds());
    return accepted;
  };
  if (options.share_key_envelope) {
    // A PC without the key may fetch the passphrase-wrapped envelope, and
    // nothing else: never the bare key, never a change.
    server.unauthenticated_store_factory = [served](const sync::Hello& hello,
                                                    const std::string&) -> Result<sync::AcceptedSession> {
      if (hello.purpose != sync::Purpose::kConnectTest) {
        return Status(Code::kUnauthenticated, "this PC syncs only with PCs holding the office key");
      }
      client::PcState pc(*served);
      DAICHO_ASSIGN_OR_RETURN(auto envelopes, pc.LoadEnvelopes());
      if (!envelopes) return Status(Code::kFailedPrecondition, "this PC has no office key envelope to hand out");
      sync::AcceptedSession accepted;
      accepted.store = std::make_unique<sync::ReplicaChangeStore>(*served);
      accepted.admission.office_keys = envelopes->keys;
      accepted.admission.office_keys.recovery_wrapped.clear();
      accepted.admission.contract = envelopes->contract;
      return accepted;
    };
  }
  impl->server = std::make_unique<transport::SyncServer>(std::move(server));
  DAICHO_RETURN_IF_ERROR(impl->server->Start());
  if (options.announce) {
    transport::LanDiscoveryOptions lan = DiscoveryOptions(options.lan, office);
    lan.replica_id = replica.id();
    lan.device_name = options.device_name.empty() ? "daicho" : options.device_name;
    lan.sync_port = impl->server->port();
    lan.version_vector = [served] {
      auto vv = served->GetVersionVector();
      return vv.ok() ? *std::move(vv) : VersionVector();
    };
    DAICHO_ASSIGN_OR_RETURN(impl->discovery, transport::LanDiscovery::Start(std::move(lan)));
  }
  return std::unique_ptr<PeerServer>(new PeerServer(std::move(impl)));
}

Result<std::vector<PeerInfo>> FindPeers(Replica& replica, const FindPeersOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(Office office, OfficeOf(replica, options.passphrase));
  DAICHO_ASSIGN_OR_RETURN(VersionVector local, replica.GetVersionVector());
  transport::LanDiscoveryOptions lan = DiscoveryOptions(options.lan, office);
  // A looking PC: it queries, and serving PCs answer each query at once.
  lan.replica_id = replica.id();
  lan.device_name = "listener";
  lan.sync_port = transport::kLookingPort;
  lan.version_vector = [local] { return local; };
  DAICHO_ASSIGN_OR_RETURN(auto found, transport::ListenForPeers(std::move(lan), options.listen_for));
  std::vector<PeerInfo> peers;
  for (const transport::DiscoveredPeer& p : found) {
    PeerInfo info;
    info.url = "ws://" + p.address + ":" + std::to_string(p.port) + "/";
    info.device_name = p.device_name;
    info.replica_id = p.replica_id.ToHex();
    info.last_seen = p.last_seen;
    info.changes_peer_lacks = local.CountMissingFrom(p.version_vector);
    info.changes_we_lack = p.version_vector.CountMissingFrom(local);
    peers.push_back(std::move(info));
  }
  return peers;
}

Result<SyncSummary> SyncWithPeer(Replica& replica, const std::string& url, const PeerSyncOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(Office office, OfficeOf(replica, options.passphrase));
  client::PcState pc(replica);
  sync::SessionOptions session;
  DAICHO_ASSIGN_OR_RETURN(session.relay_holds, pc.RelayHolds());
  transport::WebSocketOptions websocket;
  websocket.peer_auth = AuthOf(office);
  transport::SyncHooks hooks;
  if (options.on_progress) {
    hooks.on_progress = [&options](const sync::SessionStats& s) { options.on_progress(client::ToSyncProgress(s)); };
  }
  sync::ReplicaChangeStore store(replica);
  const auto start = std::chrono::steady_clock::now();
  DAICHO_ASSIGN_OR_RETURN(
      transport::SyncReport report,
      transport::SyncOnce(url, store, replica.id(), std::move(session), websocket, std::move(hooks)));
  if (report.granted) DAICHO_RETURN_IF_ERROR(pc.LearnFromPeer(report.granted->relay_holds));
  return client::ToSyncSummary(report, start);
}

}  // namespace daicho
