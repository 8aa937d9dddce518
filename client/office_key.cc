#include "daicho/office_key.h"

#include <fstream>
#include <iterator>
#include <utility>

#include "client/pc_state.h"
#include "client/relay_client_access.h"
#include "crypto/key_file.h"
#include "crypto/office_key.h"
#include "sync/replica_change_store.h"
#include "transport/sync_client.h"

namespace daicho {
namespace {

// An exported office key file: magic, contract, serialized envelopes.
constexpr std::string_view kExportMagic = "daicho office key envelope v1\n";

// Fetches the envelopes and requires that this PC holds their current key
// (or, with `newer_ok`, a newer one: a relay restored from a backup taken
// before a rotation, which a rotation from this PC brings forward).
Result<std::pair<crypto::WrappedOfficeKey, crypto::KeyRing>> RequireCurrentKey(RelayClient& client,
                                                                               const RelaySettings& settings,
                                                                               const std::string& password,
                                                                               bool newer_ok = false) {
  DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey published,
                          RelayClientAccess::FetchOfficeKey(client, settings, password));
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring, RelayClientAccess::Pc(client).HeldRing(settings.contract));
  const bool newer = newer_ok && ring.current_id() > published.current_key_id;
  if (published.empty() && !newer) {
    return Status(Code::kFailedPrecondition, "the office key is not set up: run `daicho key init` first");
  }
  if (ring.current_id() != published.current_key_id && !newer) {
    return Status(Code::kFailedPrecondition, "this PC does not hold the office's current key (key " +
                                                 std::to_string(published.current_key_id) +
                                                 "): unlock it first (daicho key unlock)");
  }
  return std::make_pair(std::move(published), std::move(ring));
}

// Unlock and recover: the relay's envelopes opened with `open`.
template <typename Open>
Status UnlockWith(RelayClient& client, const OfficeKeyOptions& options, Open open) {
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, RelayClientAccess::RequireConnected(client));
  DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey published,
                          RelayClientAccess::FetchOfficeKey(client, settings, options.password));
  if (published.empty()) {
    return Status(Code::kFailedPrecondition, "the office key of contract " + settings.contract +
                                                 " is not set up: run `daicho key init` on the office's first PC");
  }
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring, open(published, settings.contract));
  return RelayClientAccess::Pc(client).KeepRing(settings.contract, ring, options.store_key);
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

Result<std::string> InitOfficeKey(RelayClient& client, const std::string& passphrase, const OfficeKeyOptions& options) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(passphrase));
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, RelayClientAccess::RequireConnected(client));
  DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey published,
                          RelayClientAccess::FetchOfficeKey(client, settings, options.password));
  if (!published.empty()) {
    return Status(Code::kFailedPrecondition, "the office key of contract " + settings.contract +
                                                 " is already set up: unlock it with the office passphrase "
                                                 "(daicho key unlock)");
  }
  // A second key 1 beside the one the office's PCs hold would let them seal
  // changes the others cannot open.
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing held, RelayClientAccess::Pc(client).HeldRing(settings.contract));
  if (!held.empty()) return RelayClientAccess::RelayKeyOlder(published, held);
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring, crypto::KeyRing::Create());
  DAICHO_ASSIGN_OR_RETURN(std::string recovery_code, crypto::NewRecoveryCode());
  DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey wrapped,
                          crypto::WrapOfficeKey(ring, settings.contract, passphrase, recovery_code));
  DAICHO_RETURN_IF_ERROR(
      RelayClientAccess::PublishOfficeKey(client, settings, options.password, std::move(wrapped), 0));
  DAICHO_RETURN_IF_ERROR(RelayClientAccess::Pc(client).KeepRing(settings.contract, ring, options.store_key));
  return recovery_code;
}

Status UnlockOfficeKey(RelayClient& client, const std::string& passphrase, const OfficeKeyOptions& options) {
  return UnlockWith(client, options,
                    [&passphrase](const crypto::WrappedOfficeKey& published, const std::string& contract) {
                      return crypto::UnwrapWithPassphrase(published, contract, passphrase);
                    });
}

Status RecoverOfficeKey(RelayClient& client, const std::string& recovery_code, const OfficeKeyOptions& options) {
  DAICHO_RETURN_IF_ERROR(crypto::NormalizeRecoveryCode(recovery_code).status());
  return UnlockWith(client, options,
                    [&recovery_code](const crypto::WrappedOfficeKey& published, const std::string& contract) {
                      return crypto::UnwrapWithRecoveryCode(published, contract, recovery_code);
                    });
}

Result<std::string> RotateOfficeKey(RelayClient& client, const std::string& passphrase,
                                    const OfficeKeyOptions& options) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(passphrase));
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, RelayClientAccess::RequireConnected(client));
  DAICHO_ASSIGN_OR_RETURN(auto current, RequireCurrentKey(client, settings, options.password, /*newer_ok=*/true));
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing rotated, current.second.Rotated());
  DAICHO_ASSIGN_OR_RETURN(std::string recovery_code, crypto::NewRecoveryCode());
  DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey wrapped,
                          crypto::WrapOfficeKey(rotated, settings.contract, passphrase, recovery_code));
  DAICHO_RETURN_IF_ERROR(RelayClientAccess::PublishOfficeKey(client, settings, options.password, std::move(wrapped),
                                                             current.first.current_key_id));
  DAICHO_RETURN_IF_ERROR(RelayClientAccess::Pc(client).KeepRing(settings.contract, rotated, options.store_key));
  return recovery_code;
}

Status ChangeOfficePassphrase(RelayClient& client, const std::string& new_passphrase, const OfficeKeyOptions& options) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(new_passphrase));
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, RelayClientAccess::RequireConnected(client));
  DAICHO_ASSIGN_OR_RETURN(auto current, RequireCurrentKey(client, settings, options.password));
  DAICHO_ASSIGN_OR_RETURN(
      crypto::WrappedOfficeKey rewrapped,
      crypto::RewrapWithPassphrase(current.first, current.second, settings.contract, new_passphrase));
  return RelayClientAccess::PublishOfficeKey(client, settings, options.password, std::move(rewrapped),
                                             current.first.current_key_id);
}

Result<OfficeKeyStatus> GetOfficeKeyStatus(const RelayClient& client) {
  OfficeKeyStatus status;
  DAICHO_ASSIGN_OR_RETURN(auto settings, client.Settings());
  DAICHO_ASSIGN_OR_RETURN(auto stored, crypto::LoadOfficeKey(RelayClientAccess::Pc(client).KeyPath()));
  // Without relay settings: the key got from a peer or a file, whatever its contract.
  const std::string contract = settings ? settings->contract : stored ? stored->contract : std::string();
  status.stored = stored && stored->contract == contract;
  DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring, RelayClientAccess::Pc(client).HeldRing(contract));
  status.key_id = ring.current_id();
  status.keys_held = ring.ids().size();
  return status;
}

Status ForgetOfficeKey(RelayClient& client) { return RelayClientAccess::Pc(client).ForgetRing(); }

Status UnlockOfficeKeyFromPeer(Replica& replica, const std::string& url, const std::string& passphrase,
                               bool store_key) {
  DAICHO_RETURN_IF_ERROR(crypto::ValidatePassphrase(passphrase));
  sync::SessionOptions session;
  session.purpose = sync::Purpose::kConnectTest;
  sync::ReplicaChangeStore store(replica);
  DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report,
                          transport::SyncOnce(url, store, replica.id(), std::move(session)));
  sync::Admission granted = std::move(report.granted).value_or(sync::Admission{});
  return UnlockEnvelope(replica, client::OfficeEnvelopes{std::move(granted.contract), std::move(granted.office_keys)},
                        passphrase, store_key);
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
