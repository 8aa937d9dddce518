#include "daicho/relay_client.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <utility>

#include "client/entitlements_cache.h"
#include "client/pc_state.h"
#include "client/proto/relay_settings.pb.h"
#include "client/reconnect_backoff.h"
#include "client/relay_client_access.h"
#include "client/relay_sync_url.h"
#include "client/sync_summary.h"
#include "crypto/key_file.h"
#include "crypto/office_key.h"
#include "sync/contract_number.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "transport/sync_client.h"

namespace daicho {
namespace {

// Local setting names (see Replica::SetLocalSetting). The backup state is
// kept apart from the settings so a watching process recording acks and a
// `backup disable` from another process never overwrite each other.
constexpr std::string_view kSettingsKey = "daicho.relay.settings";
constexpr std::string_view kBackupKey = "daicho.relay.backup";       // "off" when disabled
constexpr std::string_view kLastSyncKey = "daicho.relay.last_sync";  // Unix ms, decimal
// The device token the relay refused (revoked, replaced, unknown): while the
// saved settings hold that token, the saved login is shown as no longer
// valid and not sent again. Kept apart from the settings so a `connect` in
// another process (a new token) is never overwritten by a stale watch.
constexpr std::string_view kRefusedTokenKey = "daicho.relay.refused_token";

Status SavedLoginRefused() {
  return Status(Code::kUnauthenticated, "this PC's saved login was revoked or replaced: run `daicho connect` again");
}

std::string EncodeSettings(const RelaySettings& s) {
  client::v1::RelaySettings pb;
  pb.set_url(s.url);
  pb.set_contract(s.contract);
  pb.set_user(s.user);
  pb.set_tls_ca_file(s.tls_ca_file);
  pb.set_device_token(s.device_token);
  pb.set_device_name(s.device_name);
  return pb.SerializeAsString();
}

Result<RelaySettings> DecodeSettings(const std::string& bytes) {
  client::v1::RelaySettings pb;
  if (!pb.ParseFromString(bytes)) return Status(Code::kCorruption, "saved relay settings do not decode");
  return RelaySettings{pb.url(), pb.contract(), pb.user(), pb.tls_ca_file(), pb.device_token(), pb.device_name()};
}

// Errors that a later attempt can get past without anyone acting.
bool Retryable(const Status& status) {
  switch (status.code()) {
    case Code::kUnavailable:
    case Code::kProtocolError:      // e.g. a connection cut mid-frame
    case Code::kResourceExhausted:  // a frame or queue limit of one connection
    case Code::kBusy:
      return true;
    default:
      return false;
  }
}

int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The relay's report as this PC keeps it (the state numbers are the same
// on the wire and in daicho/entitlements.h).
Entitlements FromWire(const sync::Entitlements& wire) {
  const auto option = [](const sync::OptionEntitlement& o) {
    return OptionEntitlement{static_cast<OptionStatus>(o.state), o.shortfall, static_cast<int64_t>(o.fee_yen),
                             o.message_ja, o.message_en};
  };
  Entitlements out;
  out.known = true;
  out.managed = wire.managed;
  out.evaluated_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(wire.evaluated_ms));
  out.valid_until = std::chrono::system_clock::time_point(std::chrono::milliseconds(wire.valid_until_ms));
  out.backup = option(wire.backup);
  out.billing = option(wire.billing);
  return out;
}

// What a refused upload means for the office, Japanese first.
Status UploadsRefused(const sync::OptionEntitlement& backup, uint64_t waiting_records) {
  const std::string waiting = std::to_string(waiting_records);
  return Status(
      Code::kPermissionDenied,
      backup.message_ja + "。この PC で変更された記録 " + waiting +
          " 件はこの PC に保存されており、利用できるようになると送信されます（リレーからの受信は済んでいます） / " +
          backup.message_en + ". This PC's " + waiting +
          " changed records are kept here and sent once it is available (changes from the relay were "
          "received).");
}

}  // namespace

struct RelayClient::Impl {
  explicit Impl(Replica& r) : replica(r), pc(r) {}

  Result<std::optional<RelaySettings>> LoadSettings() const {
    DAICHO_ASSIGN_OR_RETURN(auto bytes, replica.GetLocalSetting(kSettingsKey));
    if (!bytes) return std::optional<RelaySettings>();
    DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, DecodeSettings(*bytes));
    return std::optional<RelaySettings>(std::move(settings));
  }

  Result<RelaySettings> RequireSyncable() const {
    DAICHO_ASSIGN_OR_RETURN(auto enabled, BackupEnabled());
    if (!enabled) return Status(Code::kFailedPrecondition, "backup to the relay is disabled for this replica");
    DAICHO_ASSIGN_OR_RETURN(auto settings, LoadSettings());
    if (!settings) return Status(Code::kFailedPrecondition, "no relay configured: connect to one first");
    return *std::move(settings);
  }

  Result<bool> BackupEnabled() const {
    DAICHO_ASSIGN_OR_RETURN(auto value, replica.GetLocalSetting(kBackupKey));
    return !(value && *value == "off");
  }

  // What the relay is known to hold. A relay restored from an older backup
  // reports less than before: the newest report is the truth, not a join.
  Status RecordRelayHolds(const VersionVector& holds, bool in_sync) {
    DAICHO_RETURN_IF_ERROR(pc.RecordRelayReport(holds));
    if (!in_sync) return Status::Ok();
    return replica.SetLocalSetting(kLastSyncKey, std::to_string(UnixMillis(std::chrono::system_clock::now())));
  }

  // What one connection is for, and how it logs in.
  struct SessionRequest {
    sync::Purpose purpose = sync::Purpose::kSync;
    // Login: this password, else the saved device token.
    std::string password;
    // Ask for a device token named settings.device_name.
    bool request_token = false;
    std::function<void(const SyncProgress&)> on_progress;
    std::stop_token stop;
    std::chrono::milliseconds poll_interval{500};
    std::function<void()> on_connected;
    // kSync/kWatch: the relay admitted this PC read-only (Internet backup not
    // entitled); called with the refusal when the Welcome arrives.
    std::function<void(const Status&)> on_uploads_refused;
    // kSync/kWatch: unlocks the office key with this passphrase when this PC
    // lacks the relay's current key.
    std::string passphrase;
    bool store_key = true;
    // kPublishKeys: the envelopes to store in place of key `replaces`.
    crypto::WrappedOfficeKey publish;
    crypto::KeyId replaces = 0;
  };

  // What a session learned besides its report.
  struct SessionNotes {
    bool uploads_refused = false;
    sync::OptionEntitlement backup;  // the relay's word on Internet backup
    // The relay ended the session because the contract's entitlements
    // changed: reconnecting at once syncs under the new terms.
    bool entitlements_changed = false;
  };

  Result<transport::SyncReport> RunSession(const RelaySettings& settings, SessionRequest request,
                                           SessionNotes* notes = nullptr) {
    sync::SessionOptions session;
    session.purpose = request.purpose;
    session.contract = settings.contract;
    session.user = settings.user;
    if (request.request_token) session.device_name = settings.device_name;
    const bool saved_login = request.password.empty() && !settings.device_token.empty();
    if (!request.password.empty()) {
      session.credentials = sync::PasswordCredential{request.password};
    } else if (saved_login) {
      DAICHO_ASSIGN_OR_RETURN(bool refused, SavedLoginWasRefused(settings));
      if (refused) return SavedLoginRefused();
      session.credentials = sync::DeviceTokenCredential{settings.device_token};
    } else {
      return Status(Code::kFailedPrecondition, "no saved login for the relay: a password is needed");
    }
    session.publish_keys = std::move(request.publish);
    session.replaces_key_id = request.replaces;
    transport::WebSocketOptions websocket;
    websocket.tls_ca_file = settings.tls_ca_file;
    transport::SyncHooks hooks;
    if (request.on_progress) {
      hooks.on_progress = [&request](const sync::SessionStats& s) { request.on_progress(client::ToSyncProgress(s)); };
    }
    sync::ReplicaChangeStore replica_store(replica);
    sync::SealedChangeStore sealed(replica_store, settings.contract, crypto::KeyRing());
    if (sync::ExchangesChanges(request.purpose)) {
      // Reported for the office's admin panel; a PC that cannot count
      // still syncs (the relay then shows the count as unknown).
      if (auto unsynced = UnsyncedRecords(); unsynced.ok()) session.unsynced_records = *unsynced;
      // Nothing moves until this PC holds the relay's current office key.
      session.on_welcome = [this, &settings, &request, &sealed, notes](const sync::Welcome& welcome) {
        // Kept for `status` and the billing gate, whatever happens next.
        DAICHO_RETURN_IF_ERROR(client::StoreEntitlements(replica, FromWire(welcome.entitlements)));
        auto ring = RingForSync(settings.contract, welcome.office_keys, request.passphrase, request.store_key);
        if (!ring.ok()) return ring.status();
        sealed.SetKeyRing(*std::move(ring));
        if (welcome.uploads_refused) {
          if (notes != nullptr) *notes = SessionNotes{true, welcome.entitlements.backup, false};
          if (request.on_uploads_refused) {
            auto waiting = UnsyncedRecords();
            request.on_uploads_refused(UploadsRefused(welcome.entitlements.backup, waiting.ok() ? *waiting : 0));
          }
        }
        return Status::Ok();
      };
      hooks.on_peer_holds = [this, &request](const VersionVector& holds) {
        if (request.on_connected) request.on_connected();
        auto local = replica.GetVersionVector();
        // A failed write here only makes `status` more cautious (it shows
        // more as not backed up); the sync itself goes on.
        (void)RecordRelayHolds(holds, local.ok() && holds.Dominates(*local));
      };
    }
    hooks.stop = std::move(request.stop);
    hooks.poll_interval = request.poll_interval;
    bool login_revoked = false;
    hooks.on_peer_error = [&login_revoked, notes](const sync::ErrorMessage& error) {
      login_revoked = error.reason == sync::ErrorReason::kLoginRevoked;
      if (notes != nullptr && error.reason == sync::ErrorReason::kEntitlementChanged)
        notes->entitlements_changed = true;
    };
    auto report = transport::SyncOnce(client::RelaySyncUrl(settings.url, settings.contract), sealed, replica.id(),
                                      std::move(session), websocket, std::move(hooks));
    if (report.ok() || !login_revoked) return report;
    if (!saved_login) {
      return Status(Code::kUnauthenticated,
                    "the relay ended this login (the password was changed or the user "
                    "removed): run `daicho connect` again with the current password");
    }
    // Remembered so `status` shows it and nothing retries with this token.
    DAICHO_RETURN_IF_ERROR(replica.SetLocalSetting(kRefusedTokenKey, settings.device_token));
    return SavedLoginRefused();
  }

  // This PC's records the relay does not hold, as far as the PC knows.
  Result<uint64_t> UnsyncedRecords() const {
    DAICHO_ASSIGN_OR_RETURN(auto relay_holds, pc.RelayHolds());
    DAICHO_ASSIGN_OR_RETURN(auto records, replica.RecordsChangedSince(relay_holds));
    return records.size();
  }

  // The relay refused the saved device token earlier.
  Result<bool> SavedLoginWasRefused(const RelaySettings& settings) const {
    if (settings.device_token.empty()) return false;
    DAICHO_ASSIGN_OR_RETURN(auto refused, replica.GetLocalSetting(kRefusedTokenKey));
    return refused && *refused == settings.device_token;
  }

  // ---- Office key ----

  // The ring to seal and open this sync's changes with, given the relay's
  // envelopes: the held one if it has the relay's current key, else one
  // unlocked with `passphrase`.
  Result<crypto::KeyRing> RingForSync(const std::string& contract, const crypto::WrappedOfficeKey& relay_keys,
                                      const std::string& passphrase, bool store_key) {
    DAICHO_ASSIGN_OR_RETURN(crypto::KeyRing ring, pc.HeldRing(contract));
    if (relay_keys.empty()) {
      if (!ring.empty()) return RelayKeyOlder(relay_keys, ring);
      return Status(Code::kFailedPrecondition, "the office key of contract " + contract +
                                                   " is not set up: run `daicho key init` on the office's first PC");
    }
    DAICHO_RETURN_IF_ERROR(pc.SaveEnvelopes({contract, relay_keys}));
    if (ring.current_id() < relay_keys.current_key_id) {
      if (passphrase.empty()) {
        return Status(Code::kFailedPrecondition,
                      ring.empty() ? std::string("this PC does not hold the office key yet: unlock it with the "
                                                 "office passphrase (daicho key unlock)")
                                   : "the office key was rotated on another PC (the relay has key " +
                                         std::to_string(relay_keys.current_key_id) + ", this PC key " +
                                         std::to_string(ring.current_id()) +
                                         "): unlock it again with the office passphrase (daicho key unlock)");
      }
      DAICHO_ASSIGN_OR_RETURN(ring, crypto::UnwrapWithPassphrase(relay_keys, contract, passphrase));
      DAICHO_RETURN_IF_ERROR(pc.KeepRing(contract, ring, store_key));
    }
    if (ring.current_id() > relay_keys.current_key_id) return RelayKeyOlder(relay_keys, ring);
    return ring;
  }

  // This PC holds a newer office key than the relay: a relay restored from a
  // backup taken before the key was set up or rotated. Syncing would seal
  // under a key the office retired (or one the relay never had); a rotation
  // from here goes past both.
  static Status RelayKeyOlder(const crypto::WrappedOfficeKey& relay_keys, const crypto::KeyRing& ring) {
    const std::string held = std::to_string(ring.current_id());
    const std::string relay_has = relay_keys.empty()
                                      ? "the relay has no office key but this PC holds key " + held
                                      : "the relay's office key (key " + std::to_string(relay_keys.current_key_id) +
                                            ") is older than this PC's (key " + held + ")";
    return Status(Code::kFailedPrecondition,
                  relay_has +
                      ": the relay was probably restored from a backup taken before the key was set up or "
                      "rotated; nothing was synced. On this PC run `daicho key rotate` (a new passphrase and "
                      "recovery code), then unlock the new key on the office's other PCs (daicho key unlock)");
  }

  Result<RelaySettings> RequireConnected() const {
    DAICHO_ASSIGN_OR_RETURN(auto settings, LoadSettings());
    if (!settings) return Status(Code::kFailedPrecondition, "no relay configured: connect to one first");
    return *std::move(settings);
  }

  // The relay's envelopes for the connected contract (a connect test).
  Result<crypto::WrappedOfficeKey> FetchOfficeKey(const RelaySettings& settings, const std::string& password) {
    SessionRequest request;
    request.purpose = sync::Purpose::kConnectTest;
    request.password = password;
    DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report, RunSession(settings, std::move(request)));
    sync::Admission granted = std::move(report.granted).value_or(sync::Admission{});
    if (!granted.office_keys.empty())
      DAICHO_RETURN_IF_ERROR(pc.SaveEnvelopes({settings.contract, granted.office_keys}));
    return std::move(granted.office_keys);
  }

  Status PublishOfficeKey(const RelaySettings& settings, const std::string& password, crypto::WrappedOfficeKey keys,
                          crypto::KeyId replaces) {
    SessionRequest request;
    request.purpose = sync::Purpose::kPublishKeys;
    request.password = password;
    const crypto::WrappedOfficeKey expected = keys;
    request.publish = std::move(keys);
    request.replaces = replaces;
    DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report, RunSession(settings, std::move(request)));
    const sync::Admission granted = std::move(report.granted).value_or(sync::Admission{});
    if (granted.office_keys != expected) {
      return Status(Code::kProtocolError, "the relay did not store the office key it was sent");
    }
    return pc.SaveEnvelopes({settings.contract, granted.office_keys});
  }

  Replica& replica;
  // The office key (kept in memory too, for this client's later syncs), the
  // envelopes and what the relay holds.
  client::PcState pc;
};

RelayClient::RelayClient(Replica& replica) : impl_(std::make_unique<Impl>(replica)) {}
RelayClient::~RelayClient() = default;

Status RelayClient::Connect(RelaySettings settings, const std::string& password, bool save_password) {
  auto contract = sync::ContractNumber::Parse(settings.contract);
  if (!contract.ok()) return contract.status();
  if (settings.user.empty()) return Status(Code::kInvalidArgument, "a user id is needed");
  if (save_password && settings.device_name.empty()) {
    return Status(Code::kInvalidArgument, "saving the login needs a device name for this PC");
  }
  if (password.empty() && (save_password || settings.device_token.empty())) {
    return Status(Code::kInvalidArgument, "a password is needed");
  }
  RelaySettings test = settings;
  if (!password.empty()) test.device_token.clear();
  Impl::SessionRequest request;
  request.purpose = sync::Purpose::kConnectTest;
  request.password = password;
  request.request_token = save_password;
  DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report, impl_->RunSession(test, std::move(request)));
  if (save_password) {
    if (!report.granted || report.granted->device_token.empty()) {
      return Status(Code::kProtocolError, "the relay issued no device token");
    }
    settings.device_token = report.granted->device_token;
  } else if (!password.empty()) {
    settings.device_token.clear();  // a password login replaces a saved one
  }
  DAICHO_ASSIGN_OR_RETURN(auto previous, impl_->LoadSettings());
  DAICHO_RETURN_IF_ERROR(impl_->replica.EraseLocalSetting(kRefusedTokenKey));
  if (!previous || previous->url != settings.url || previous->contract != settings.contract) {
    // Acknowledgements of another relay or contract say nothing about this one.
    DAICHO_RETURN_IF_ERROR(impl_->pc.RecordRelayReport(VersionVector()));
    DAICHO_RETURN_IF_ERROR(impl_->replica.EraseLocalSetting(kLastSyncKey));
    DAICHO_RETURN_IF_ERROR(impl_->replica.EraseLocalSetting(client::kEntitlementsSetting));
  }
  return impl_->replica.SetLocalSetting(kSettingsKey, EncodeSettings(settings));
}

Result<std::optional<RelaySettings>> RelayClient::Settings() const { return impl_->LoadSettings(); }

Result<SyncSummary> RelayClient::Sync(const SyncOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, impl_->RequireSyncable());
  const auto start = std::chrono::steady_clock::now();
  Impl::SessionRequest request;
  request.password = options.password;
  request.on_progress = options.on_progress;
  request.passphrase = options.passphrase;
  request.store_key = options.store_key;
  Impl::SessionNotes notes;
  DAICHO_ASSIGN_OR_RETURN(transport::SyncReport report, impl_->RunSession(settings, std::move(request), &notes));
  if (notes.uploads_refused) {
    // Everything was received; what this PC holds that the relay lacks
    // waits here (the next sync sends it once uploads are allowed).
    DAICHO_ASSIGN_OR_RETURN(VersionVector local, impl_->replica.GetVersionVector());
    DAICHO_RETURN_IF_ERROR(
        impl_->RecordRelayHolds(report.peer_version_vector, report.peer_version_vector.Dominates(local)));
    DAICHO_ASSIGN_OR_RETURN(uint64_t waiting, impl_->UnsyncedRecords());
    if (waiting > 0) return UploadsRefused(notes.backup, waiting);
    return client::ToSyncSummary(report, start);
  }
  DAICHO_RETURN_IF_ERROR(impl_->RecordRelayHolds(report.peer_version_vector, /*in_sync=*/true));
  return client::ToSyncSummary(report, start);
}

Status RelayClient::Watch(const WatchOptions& options, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any wake;
  client::ReconnectBackoff backoff(options.retry_delay, options.max_retry_delay, std::random_device()());
  while (!stop.stop_requested()) {
    DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, impl_->RequireSyncable());
    bool connected = false;
    Impl::SessionRequest request;
    request.purpose = sync::Purpose::kWatch;
    request.password = options.sync.password;
    request.on_progress = options.sync.on_progress;
    request.passphrase = options.sync.passphrase;
    request.store_key = options.sync.store_key;
    request.stop = stop;
    request.poll_interval = options.poll_interval;
    request.on_connected = [&connected] { connected = true; };
    request.on_uploads_refused = options.on_uploads_refused;
    Impl::SessionNotes notes;
    auto report = impl_->RunSession(settings, std::move(request), &notes);
    Status outcome = report.ok() ? Status::Ok() : report.status();
    if (stop.stop_requested()) break;
    if (!outcome.ok() && !Retryable(outcome)) return outcome;
    if (options.on_connection_end) options.on_connection_end(outcome);
    // A payment or new filings (or a renewal) changed what this PC may do:
    // sync under the new terms now, not after a back-off.
    if (notes.entitlements_changed) {
      backoff.Reset();
      continue;
    }
    // A connection that got through the login resets the back-off.
    if (connected) backoff.Reset();
    std::unique_lock lock(mu);
    wake.wait_for(lock, stop, backoff.Next(), [] { return false; });  // returns early on stop
  }
  return Status::Ok();
}

Status RelayClient::SetBackupEnabled(bool enabled) {
  if (enabled) return impl_->replica.EraseLocalSetting(kBackupKey);
  return impl_->replica.SetLocalSetting(kBackupKey, "off");
}

Result<RelaySettings> RelayClientAccess::RequireConnected(const RelayClient& client) {
  return client.impl_->RequireConnected();
}

Result<crypto::WrappedOfficeKey> RelayClientAccess::FetchOfficeKey(RelayClient& client, const RelaySettings& settings,
                                                                   const std::string& password) {
  return client.impl_->FetchOfficeKey(settings, password);
}

Status RelayClientAccess::PublishOfficeKey(RelayClient& client, const RelaySettings& settings,
                                           const std::string& password, crypto::WrappedOfficeKey keys,
                                           crypto::KeyId replaces) {
  return client.impl_->PublishOfficeKey(settings, password, std::move(keys), replaces);
}

client::PcState& RelayClientAccess::Pc(RelayClient& client) { return client.impl_->pc; }

const client::PcState& RelayClientAccess::Pc(const RelayClient& client) { return client.impl_->pc; }

Status RelayClientAccess::RelayKeyOlder(const crypto::WrappedOfficeKey& relay_keys, const crypto::KeyRing& ring) {
  return RelayClient::Impl::RelayKeyOlder(relay_keys, ring);
}

Result<BackupStatus> RelayClient::GetBackupStatus() const {
  BackupStatus status;
  DAICHO_ASSIGN_OR_RETURN(auto settings, impl_->LoadSettings());
  status.configured = settings.has_value();
  if (settings) {
    DAICHO_ASSIGN_OR_RETURN(status.saved_login_refused, impl_->SavedLoginWasRefused(*settings));
  }
  DAICHO_ASSIGN_OR_RETURN(status.enabled, impl_->BackupEnabled());
  DAICHO_ASSIGN_OR_RETURN(status.relay_holds, impl_->pc.RelayHolds());
  DAICHO_ASSIGN_OR_RETURN(status.unsynced_records, impl_->UnsyncedRecords());
  DAICHO_ASSIGN_OR_RETURN(auto last_sync, impl_->replica.GetLocalSetting(kLastSyncKey));
  if (last_sync) {
    char* end = nullptr;
    const long long ms = std::strtoll(last_sync->c_str(), &end, 10);
    if (last_sync->empty() || *end != '\0') return Status(Code::kCorruption, "saved last sync time does not parse");
    status.last_sync = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }
  return status;
}

Result<Entitlements> RelayClient::GetEntitlements() const { return client::LoadEntitlements(impl_->replica); }

}  // namespace daicho
