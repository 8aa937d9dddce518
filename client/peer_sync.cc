#include "daicho/peer_sync.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

#include "client/pc_state.h"
#include "client/sync_summary.h"
#include "crypto/key_file.h"
#include "crypto/office_key.h"
#include "sync/replica_change_store.h"
#include "transport/lan_discovery.h"
#include "transport/websocket.h"

namespace daicho {
namespace {

// An exported office key file: magic, contract, serialized envelopes.
constexpr std::string_view kExportMagic = "daicho office key envelope v1\n";

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

// Saves a handed-out envelope and opens it.
Status UnlockEnvelope(Replica& replica, client::OfficeEnvelopes envelopes, const std::string& passphrase,
                      bool store_key) {
  if (envelopes.keys.empty() || envelopes.contract.empty()) {
    return Status(Code::kFailedPrecondition, "the peer holds no office key to hand out");
  }
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring,
                          crypto::UnwrapWithPassphrase(envelopes.keys, envelopes.contract, passphrase));
  client::PcState pc(replica);
  DAICHO_RETURN_IF_ERROR(pc.SaveEnvelopes(envelopes));
  if (!store_key) return crypto::RemoveOfficeKey(pc.KeyPath());
  return pc.KeepRing(envelopes.contract, ring, /*store_key=*/true);
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
  server.store_factory = [served](const sync::Hello& hello, const std::string&) -> Result<transport::AcceptedSession> {
    client::PcState pc(*served);
    // Only ever adds to what is known; a failed write merely leaves "not
    // backed up" more cautious.
    (void)pc.LearnFromPeer(hello.relay_holds);
    transport::AcceptedSession accepted;
    accepted.store = std::make_unique<sync::ReplicaChangeStore>(*served);
    accepted.group = "office";  // PCs connected at once get each other's changes live
    DAICHO_ASSIGN_OR_RETURN(accepted.relay_holds, pc.RelayHolds());
    return accepted;
  };
  if (options.share_key_envelope) {
    // A PC without the key may fetch the passphrase-wrapped envelope, and
    // nothing else: never the bare key, never a change.
    server.unauthenticated_store_factory = [served](const sync::Hello& hello,
                                                    const std::string&) -> Result<transport::AcceptedSession> {
      if (hello.purpose != sync::Purpose::kConnectTest) {
        return Status(Code::kUnauthenticated, "this PC syncs only with PCs holding the office key");
      }
      client::PcState pc(*served);
      DAICHO_ASSIGN_OR_RETURN(auto envelopes, pc.LoadEnvelopes());
      if (!envelopes) return Status(Code::kFailedPrecondition, "this PC has no office key envelope to hand out");
      transport::AcceptedSession accepted;
      accepted.store = std::make_unique<sync::ReplicaChangeStore>(*served);
      accepted.office_keys = envelopes->keys;
      accepted.office_keys.recovery_wrapped.clear();
      accepted.contract = envelopes->contract;
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
  DAICHO_ASSIGN_OR_RETURN(const VersionVector local, replica.GetVersionVector());
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
  DAICHO_RETURN_IF_ERROR(pc.LearnFromPeer(report.peer_knows_relay_holds));
  return client::ToSyncSummary(report, start);
}

Status UnlockOfficeKeyFromPeer(Replica& replica, const std::string& url, const std::string& passphrase,
                               bool store_key) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(passphrase));
  sync::SessionOptions session;
  session.purpose = sync::Purpose::kConnectTest;
  sync::ReplicaChangeStore store(replica);
  DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report,
                          transport::SyncOnce(url, store, replica.id(), std::move(session)));
  return UnlockEnvelope(replica, client::OfficeEnvelopes{report.contract, report.office_keys}, passphrase, store_key);
}

Status ExportOfficeKey(Replica& replica, const std::string& path) {
  client::PcState pc(replica);
  DAICHO_ASSIGN_OR_RETURN(auto envelopes, pc.LoadEnvelopes());
  if (!envelopes) {
    return Status(Code::kFailedPrecondition,
                  "this PC has no office key envelope to export: unlock the key from the relay first");
  }
  std::string bytes(kExportMagic);
  bytes += envelopes->contract;
  bytes.push_back('\n');
  crypto::WrappedOfficeKey keys = envelopes->keys;
  keys.recovery_wrapped.clear();  // the passphrase opens it; the recovery code stays on paper
  bytes += crypto::SerializeWrappedOfficeKey(keys);
  // Only the passphrase opens it, but nobody else needs to read it.
  return crypto::WriteOwnerOnlyFile(path, bytes);
}

Status ImportOfficeKey(Replica& replica, const std::string& path, const std::string& passphrase, bool store_key) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(passphrase));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kIoError, "cannot read " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!std::string_view(bytes).starts_with(kExportMagic)) {
    return Status(Code::kCorruption, path + " is not an exported office key (daicho key export)");
  }
  const std::string_view rest = std::string_view(bytes).substr(kExportMagic.size());
  const size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) return Status(Code::kCorruption, path + " is damaged");
  auto keys = crypto::ParseWrappedOfficeKey(rest.substr(newline + 1));
  if (!keys.ok()) return Status(Code::kCorruption, path + " is damaged");
  return UnlockEnvelope(replica, client::OfficeEnvelopes{std::string(rest.substr(0, newline)), *std::move(keys)},
                        passphrase, store_key);
}

}  // namespace daicho
