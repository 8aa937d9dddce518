#include "bench_relay.h"

#include <utility>

#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_admission.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"

namespace daicho::bench {
namespace {

constexpr char kContract[] = "1234-5678-9012";
constexpr char kUser[] = "bench@example.jp";
constexpr char kPassword[] = "Bench2024";

}  // namespace

BenchRelay::~BenchRelay() {
  if (server_) server_->Stop();
}

Result<std::unique_ptr<BenchRelay>> BenchRelay::Start(const std::string& dir, bool sealed) {
  std::unique_ptr<BenchRelay> relay(new BenchRelay());
  auto backend = relay::LmdbBackend::Open(dir);
  if (!backend.ok()) return backend.status();
  relay::RelayServiceOptions store_options;
  store_options.require_sealed_changes = sealed;
  auto store = relay::RelayService::Create(*std::move(backend), store_options);
  if (!store.ok()) return store.status();
  relay->store_ = std::move(*store);
  auto contract = relay::ContractNumber::Parse(kContract);
  if (!contract.ok()) return contract.status();
  if (Status s = relay->store_->AddContract(*contract); !s.ok()) return s;
  if (Status s = relay->store_->AddUser(*contract, kUser, kPassword); !s.ok()) return s;
  if (sealed) {
    // The PCs hold the key as after `key unlock`; what is measured is sealing
    // and opening every change, not the one-off Argon2id unlock. The relay
    // never opens the envelopes, so placeholders do.
    auto ring = crypto::KeyRing::Create();
    if (!ring.ok()) return ring.status();
    relay->office_key_ = *std::move(ring);
    if (Status s = relay->store_->PublishOfficeKey(
            *contract, crypto::WrappedOfficeKey{1, "passphrase-envelope", "recovery-envelope", ""}, 0);
        !s.ok()) {
      return s;
    }
  }

  transport::SyncServerOptions options;
  DAICHO_ASSIGN_OR_RETURN(options.local_id, ReplicaId::Random());
  relay::RelayService* raw_store = relay->store_.get();
  options.store_factory = [raw_store](const sync::Hello& hello, const std::string& peer_address) {
    return relay::AdmitSession(*raw_store, hello, peer_address);
  };
  relay->server_ = std::make_unique<transport::SyncServer>(std::move(options));
  if (Status s = relay->server_->Start(); !s.ok()) return s;
  relay->url_ = "ws://127.0.0.1:" + std::to_string(relay->server_->port()) + "/";

  relay->session_.contract = contract->str();
  relay->session_.user = kUser;
  return relay;
}

Status BenchRelay::Login(Replica& replica) {
  sync::SessionOptions login = session_;
  login.credentials = sync::PasswordCredential{kPassword};
  login.device_name = "bench-pc";
  login.purpose = sync::Purpose::kConnectTest;
  sync::ReplicaChangeStore changes(replica);
  auto report = transport::SyncOnce(url_, changes, replica.id(), std::move(login));
  if (!report.ok()) return report.status();
  session_.credentials = sync::DeviceTokenCredential{report->granted ? report->granted->device_token : ""};
  session_.purpose = sync::Purpose::kSync;
  logged_in_ = true;
  return Status();
}

Result<transport::SyncReport> BenchRelay::Sync(Replica& replica) {
  if (!logged_in_) return Status(Code::kFailedPrecondition, "BenchRelay::Sync before Login");
  sync::ReplicaChangeStore changes(replica);
  if (office_key_.empty()) return transport::SyncOnce(url_, changes, replica.id(), session_);
  sync::SealedChangeStore sealed(changes, session_.contract, office_key_.Clone());
  return transport::SyncOnce(url_, sealed, replica.id(), session_);
}

}  // namespace daicho::bench
