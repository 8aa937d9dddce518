#include "daicho/relay_client.h"

#include <algorithm>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "net/contract_number.h"
#include "net/proto/relay_settings.pb.h"
#include "net/replica_change_store.h"
#include "net/websocket.h"

namespace daicho {
namespace {

// Local setting names (see Replica::SetLocalSetting). The backup state is
// kept apart from the settings so a watching process recording acks and a
// `backup disable` from another process never overwrite each other.
constexpr std::string_view kSettingsKey = "daicho.relay.settings";
constexpr std::string_view kBackupKey = "daicho.relay.backup";        // "off" when disabled
constexpr std::string_view kHoldsKey = "daicho.relay.holds";          // VersionVector::ToString
constexpr std::string_view kLastSyncKey = "daicho.relay.last_sync";  // Unix ms, decimal

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

SyncProgress ToProgress(const net::SessionStats& s) {
  return SyncProgress{s.changes_sent,    s.changes_received,  s.changes_to_send,
                      s.changes_to_receive, s.frame_bytes_sent, s.frame_bytes_received};
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

}  // namespace

struct RelayClient::Impl {
  explicit Impl(Replica& r) : replica(r) {}

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
    DAICHO_RETURN_IF_ERROR(replica.SetLocalSetting(kHoldsKey, holds.ToString()));
    if (!in_sync) return Status::Ok();
    return replica.SetLocalSetting(kLastSyncKey, std::to_string(UnixMillis(std::chrono::system_clock::now())));
  }

  // One connection: a sync, a watch or a connect test.
  // `request_token`: ask for a device token named settings.device_name.
  Result<net::SyncReport> RunSession(const RelaySettings& settings, net::Purpose purpose, const std::string& password,
                                     bool request_token,
                                     const std::function<void(const SyncProgress&)>& on_progress,
                                     std::stop_token stop, std::chrono::milliseconds poll_interval,
                                     std::function<void()> on_connected) {
    net::SessionOptions session;
    session.purpose = purpose;
    session.contract = settings.contract;
    session.user = settings.user;
    if (request_token) session.device_name = settings.device_name;
    if (!password.empty()) {
      session.credentials = net::PasswordCredential{password};
    } else if (!settings.device_token.empty()) {
      session.credentials = net::DeviceTokenCredential{settings.device_token};
    } else {
      return Status(Code::kFailedPrecondition, "no saved login for the relay: a password is needed");
    }
    net::WebSocketOptions websocket;
    websocket.tls_ca_file = settings.tls_ca_file;
    net::SyncHooks hooks;
    if (on_progress) {
      hooks.on_progress = [&on_progress](const net::SessionStats& s) { on_progress(ToProgress(s)); };
    }
    if (purpose != net::Purpose::kConnectTest) {
      hooks.on_peer_holds = [this, &on_connected](const VersionVector& holds) {
        if (on_connected) on_connected();
        auto local = replica.GetVersionVector();
        // A failed write here only makes `status` more cautious (it shows
        // more as not backed up); the sync itself goes on.
        (void)RecordRelayHolds(holds, local.ok() && holds.Dominates(*local));
      };
    }
    hooks.stop = std::move(stop);
    hooks.poll_interval = poll_interval;
    net::ReplicaChangeStore store(replica);
    return net::SyncOnce(settings.url, store, replica.id(), std::move(session), websocket, std::move(hooks));
  }

  Replica& replica;
};

RelayClient::RelayClient(Replica& replica) : impl_(std::make_unique<Impl>(replica)) {}
RelayClient::~RelayClient() = default;

Status RelayClient::Connect(RelaySettings settings, const std::string& password, bool save_password) {
  auto contract = net::ContractNumber::Parse(settings.contract);
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
  DAICHO_ASSIGN_OR_RETURN(
      net::SyncReport report,
      impl_->RunSession(test, net::Purpose::kConnectTest, password, save_password, nullptr, {}, std::chrono::milliseconds(500),
                        nullptr));
  if (save_password) {
    if (report.device_token.empty()) return Status(Code::kProtocolError, "the relay issued no device token");
    settings.device_token = report.device_token;
  } else if (!password.empty()) {
    settings.device_token.clear();  // a password login replaces a saved one
  }
  DAICHO_ASSIGN_OR_RETURN(auto previous, impl_->LoadSettings());
  if (!previous || previous->url != settings.url || previous->contract != settings.contract) {
    // Acknowledgements of another relay or contract say nothing about this one.
    DAICHO_RETURN_IF_ERROR(impl_->replica.EraseLocalSetting(kHoldsKey));
    DAICHO_RETURN_IF_ERROR(impl_->replica.EraseLocalSetting(kLastSyncKey));
  }
  return impl_->replica.SetLocalSetting(kSettingsKey, EncodeSettings(settings));
}

Result<std::optional<RelaySettings>> RelayClient::Settings() const { return impl_->LoadSettings(); }

Result<SyncSummary> RelayClient::Sync(const SyncOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, impl_->RequireSyncable());
  const auto start = std::chrono::steady_clock::now();
  DAICHO_ASSIGN_OR_RETURN(net::SyncReport report,
                          impl_->RunSession(settings, net::Purpose::kSync, options.password, false, options.on_progress, {},
                                            std::chrono::milliseconds(500), nullptr));
  DAICHO_RETURN_IF_ERROR(impl_->RecordRelayHolds(report.peer_version_vector, /*in_sync=*/true));
  SyncSummary summary;
  summary.changes_up = report.changes_up;
  summary.changes_down = report.changes_down;
  summary.bytes_up = report.bytes_up;
  summary.bytes_down = report.bytes_down;
  summary.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return summary;
}

Status RelayClient::Watch(const WatchOptions& options, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any wake;
  auto delay = options.retry_delay;
  while (!stop.stop_requested()) {
    DAICHO_ASSIGN_OR_RETURN(RelaySettings settings, impl_->RequireSyncable());
    bool connected = false;
    auto report = impl_->RunSession(settings, net::Purpose::kWatch, options.sync.password, false,
                                    options.sync.on_progress,
                                    stop, options.poll_interval, [&connected] { connected = true; });
    const Status outcome = report.ok() ? Status::Ok() : report.status();
    if (stop.stop_requested()) break;
    if (!outcome.ok() && !Retryable(outcome)) return outcome;
    if (options.on_connection_end) options.on_connection_end(outcome);
    // A connection that got through the login resets the back-off.
    if (connected) delay = options.retry_delay;
    std::unique_lock lock(mu);
    wake.wait_for(lock, stop, delay, [] { return false; });  // returns early on stop
    if (!connected) delay = std::min(delay * 2, options.max_retry_delay);
  }
  return Status::Ok();
}

Status RelayClient::SetBackupEnabled(bool enabled) {
  if (enabled) return impl_->replica.EraseLocalSetting(kBackupKey);
  return impl_->replica.SetLocalSetting(kBackupKey, "off");
}

Result<BackupStatus> RelayClient::GetBackupStatus() const {
  BackupStatus status;
  DAICHO_ASSIGN_OR_RETURN(auto settings, impl_->LoadSettings());
  status.configured = settings.has_value();
  DAICHO_ASSIGN_OR_RETURN(status.enabled, impl_->BackupEnabled());
  DAICHO_ASSIGN_OR_RETURN(auto holds, impl_->replica.GetLocalSetting(kHoldsKey));
  if (holds) {
    auto parsed = VersionVector::Parse(*holds);
    if (!parsed.ok()) return Status(Code::kCorruption, "saved relay state does not parse: " + parsed.status().message());
    status.relay_holds = std::move(parsed).value();
  }
  DAICHO_ASSIGN_OR_RETURN(auto last_sync, impl_->replica.GetLocalSetting(kLastSyncKey));
  if (last_sync) {
    char* end = nullptr;
    const long long ms = std::strtoll(last_sync->c_str(), &end, 10);
    if (last_sync->empty() || *end != '\0') return Status(Code::kCorruption, "saved last sync time does not parse");
    status.last_sync = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }
  DAICHO_ASSIGN_OR_RETURN(auto records, impl_->replica.RecordsChangedSince(status.relay_holds));
  status.unsynced_records = records.size();
  return status;
}

}  // namespace daicho
