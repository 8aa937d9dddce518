// The relay commands of `daicho`: connect, sync [--watch], status, backup
// (the office key commands are in key_commands.cc; sync --peer/--peers, serve
// and peers in peer_commands.cc), and the helpers office_key_cli.h declares.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/daicho/admin_url.h"
#include "apps/daicho/commands.h"
#include "apps/daicho/office_key_cli.h"
#include "apps/daicho/progress.h"
#include "apps/daicho/text_output.h"
#include "daicho/entitlements.h"
#include "daicho/office_key.h"
#include "daicho/relay_client.h"

namespace daicho::cli {

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "this PC";
  return name;
}

std::string Bytes(uint64_t n) {
  std::ostringstream s;
  if (n < 1024) {
    s << n << " B";
  } else {
    s << std::fixed << std::setprecision(1) << (n < (1u << 20) ? n / 1024.0 : n / 1048576.0)
      << (n < (1u << 20) ? " KiB" : " MiB");
  }
  return s.str();
}

std::string SummaryText(const SyncSummary& s) {
  std::string text = "sent " + std::to_string(s.changes_up) + " changes (" + Bytes(s.bytes_up) + "), received " +
                     std::to_string(s.changes_down) + " changes (" + Bytes(s.bytes_down) + ") in " +
                     std::to_string(s.elapsed.count()) + " ms";
  if (s.changes_left > 0) {
    text += "; " + std::to_string(s.changes_left) + " changes made while it ran go with the next sync";
  }
  return text;
}

std::string FormatTime(std::chrono::system_clock::time_point t, bool utc) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm parts{};
  if (utc) {
    gmtime_r(&seconds, &parts);
  } else {
    localtime_r(&seconds, &parts);
  }
  std::ostringstream s;
  s << std::put_time(&parts, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S");
  return s.str();
}

void SyncProgressBar::Update(const SyncProgress& p) {
  if (out_ == nullptr) return;
  const uint64_t total = p.changes_to_send + p.changes_to_receive;
  if (!bar_ || total != total_) {
    bar_.emplace("sync", total, out_);
    total_ = total;
  }
  bar_->Update(std::min(p.changes_up, p.changes_to_send) + std::min(p.changes_down, p.changes_to_receive),
               "up " + Bytes(p.bytes_up) + ", down " + Bytes(p.bytes_down));
}

void SyncProgressBar::Finish() {
  if (bar_) bar_->Finish();
}

namespace {

// Runs `xdg-open url` (the desktop's browser) and waits for it; true if it
// says it opened the URL. Its own output is not ours.
bool OpenInBrowser(const std::string& url) {
  const pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

sigset_t StopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  return stop_signals;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
}

Status RunUntilSignal(const std::function<Status(std::stop_token)>& work) {
  sigset_t stop_signals = StopSignals();
  // Blocked before the thread starts, so only this thread receives them.
  BlockStopSignals();
  std::stop_source stop;
  std::atomic<bool> done = false;
  Status result;
  std::thread worker([&] {
    result = work(stop.get_token());
    done = true;
  });
  const timespec poll{0, 100'000'000};
  while (!done) {
    if (sigtimedwait(&stop_signals, nullptr, &poll) > 0) stop.request_stop();
  }
  worker.join();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  return result;
}

Outcome ConnectCommand(const std::string& db, const ConnectArgs& args, std::ostream& out) {
  Secret password = GetSecret({args.password_file, "--password-file", "the relay password",
                               "Relay password for " + args.user + ": ", /*confirm=*/false});
  if (password.error) return *password.error;
  // Read before connecting, so that a bad file changes nothing.
  std::optional<Secret> passphrase;
  if (!args.passphrase_file.empty()) {
    passphrase = GetSecret({args.passphrase_file, "--passphrase-file", "the office passphrase", "", false});
    if (passphrase->error) return *passphrase->error;
  }
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  RelaySettings settings;
  settings.url = args.url;
  settings.contract = args.contract;
  settings.user = args.user;
  settings.tls_ca_file = args.tls_ca_file;
  settings.device_name = args.device_name.empty() ? HostName() : args.device_name;
  RelayClient client(**replica);
  Status connected = client.Connect(settings, password.value, args.save_password);
  if (!connected.ok()) return Outcome::Failed(connected, "connecting to " + args.url);
  out << "connected to " << args.url << " as " << args.user << " (contract " << args.contract << ")\n";
  if (args.save_password) {
    out << "login saved for this PC as device " << QuoteForMessage(settings.device_name)
        << " (the password itself is not stored)\n";
  } else {
    out << "settings saved; sync will ask for the password (or take --password-file); connect with "
           "--save-password to keep a login on this PC\n";
  }

  if (passphrase) {
    OfficeKeyOptions options;
    options.password = password.value;
    options.store_key = args.store_key;
    Status unlocked = UnlockOfficeKey(client, passphrase->value, options);
    if (unlocked.code() == Code::kFailedPrecondition) {
      // The contract has no office key yet: connecting still succeeded.
      out << "the contract has no office key yet: if this is the office's first PC, run `daicho key init`; "
             "otherwise run `daicho key unlock` once the first PC has set it up\n";
      return Outcome::Ok();
    }
    if (!unlocked.ok()) {
      return Outcome::Failed(unlocked,
                             "connected (settings saved), but unlocking the office key failed; "
                             "retry with `daicho key unlock`");
    }
    auto key = GetOfficeKeyStatus(client);
    out << "office key " << (key.ok() ? std::to_string(key->key_id) : std::string("?")) << " unlocked and "
        << (args.store_key ? "kept on this PC (office.key, owner-only)"
                           : "not stored (--no-store-key): sync needs --passphrase-file (or the terminal) each time")
        << '\n';
    return Outcome::Ok();
  }
  auto key = GetOfficeKeyStatus(client);
  if (key.ok() && key->key_id == 0) {
    out << "this PC does not hold the office key yet: run `daicho key unlock` "
           "(or `daicho key init` on the office's first PC)\n";
  }
  return Outcome::Ok();
}

Outcome SyncCommand(const std::string& db, const SyncArgs& args, std::ostream& out) {
  if (!args.peer_url.empty() || args.peers) return PeerSyncCommand(db, args, out);
  std::string password;
  if (!args.password_file.empty()) {
    Secret secret = GetSecret({args.password_file, "--password-file", "the relay password", "", false});
    if (secret.error) return *secret.error;
    password = std::move(secret.value);
  }
  std::string passphrase;
  if (!args.passphrase_file.empty()) {
    Secret secret = GetSecret({args.passphrase_file, "--passphrase-file", "the office passphrase", "", false});
    if (secret.error) return *secret.error;
    passphrase = std::move(secret.value);
  }
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  RelayClient client(**replica);
  auto settings = client.Settings();
  if (!settings.ok()) return Outcome::Failed(settings.status(), "reading the relay settings");
  const std::string where = *settings ? (*settings)->url : std::string("the relay");
  if (password.empty() && *settings && (*settings)->device_token.empty() && CanAskOnTerminal()) {
    // connect saved no login (no --save-password): ask, as connect did.
    Secret typed = GetSecret({"", "--password-file", "the relay password (no login is saved)",
                              "Relay password for " + (*settings)->user + ": ", /*confirm=*/false});
    if (typed.error) return *typed.error;
    password = std::move(typed.value);
  }

  // Runs `attempt` with `passphrase`; when it fails for lack of the office
  // key and no passphrase was given, asks for one on a terminal and tries
  // once more, or else adds how to give one.
  auto with_key = [&](const std::function<Status()>& attempt) {
    Status result = attempt();
    if (!NeedsOfficeKeyUnlock(result) || !passphrase.empty()) return result;
    if (!CanAskOnTerminal()) {
      return Status(result.code(),
                    result.message() + ", or give the passphrase to this command: --passphrase-file FILE");
    }
    std::cerr << "daicho: " << result.message() << '\n';
    Secret typed = GetSecret({"", "--passphrase-file", "the office passphrase", "Office passphrase: ", false});
    if (typed.error) return Status(Code::kInvalidArgument, typed.error->error);
    passphrase = std::move(typed.value);
    return attempt();
  };

  if (!args.watch) {
    SyncProgressBar bar(ProgressStream());
    Result<SyncSummary> summary = Status(Code::kInternal, "not run");
    Status synced = with_key([&] {
      SyncOptions options;
      options.password = password;
      options.passphrase = passphrase;
      options.store_key = args.store_key;
      options.on_progress = [&bar](const SyncProgress& p) { bar.Update(p); };
      summary = client.Sync(options);
      bar.Finish();
      return summary.status();
    });
    if (!synced.ok()) return Outcome::Failed(synced, "syncing with " + where);
    out << "in sync with " << where << ": " << SummaryText(*summary) << '\n';
    // In sync only because nothing waited: what is written next will.
    if (auto entitlements = client.GetEntitlements();
        entitlements.ok() && entitlements->managed && entitlements->backup.status == OptionStatus::kRefused) {
      std::cerr << "daicho: warning: " << entitlements->backup.message_ja << " / " << entitlements->backup.message_en
                << "\ndaicho: changes made on this PC from now on stay here until Internet backup is available\n";
    }
    return Outcome::Ok();
  }

  WatchOptions options;
  options.sync.password = password;
  options.sync.store_key = args.store_key;
  uint64_t received = 0;
  options.sync.on_progress = [&](const SyncProgress& p) {
    // One line per batch of live changes (a watch runs for hours: no bar).
    if (p.changes_down > received) {
      out << "received " << (p.changes_down - received) << " changes\n" << std::flush;
      received = p.changes_down;
    }
  };
  options.on_connection_end = [&received](const Status& status) {
    received = 0;
    if (!status.ok()) std::cerr << "daicho: connection ended: " << status.ToString() << "; retrying\n";
  };
  options.on_uploads_refused = [](const Status& refusal) {
    std::cerr << "daicho: this PC's changes are not sent to the relay for now: " << refusal.message()
              << "\ndaicho: still watching: changes from the other PCs arrive, and this PC's are sent as soon as "
                 "the relay allows it\n";
  };
  out << "watching " << where << " (Ctrl-C to stop)\n" << std::flush;
  Status watched = with_key([&] {
    options.sync.passphrase = passphrase;
    return RunUntilSignal([&](std::stop_token stop) { return client.Watch(options, stop); });
  });
  if (!watched.ok()) return Outcome::Failed(watched, "watching " + where);
  out << "stopped\n";
  return Outcome::Ok();
}

namespace {

std::string_view OptionStatusName(OptionStatus status) {
  switch (status) {
    case OptionStatus::kFree:
      return "free";
    case OptionStatus::kPaid:
      return "paid";
    case OptionStatus::kNeedsFilings:
      return "needs_filings";
    case OptionStatus::kRefused:
      return "refused";
    case OptionStatus::kNotApplied:
      return "not_applied";
  }
  return "unknown";
}

// What the clerk reads first: can the option be used?
std::string_view OptionStatusText(OptionStatus status) {
  switch (status) {
    case OptionStatus::kFree:
      return "無料 / free";
    case OptionStatus::kPaid:
      return "お支払い済み / paid";
    case OptionStatus::kNeedsFilings:
      return "利用できます（次回更新に申請が必要） / available (the next renewal needs filings)";
    case OptionStatus::kRefused:
      return "利用できません / not available";
    case OptionStatus::kNotApplied:
      return "お申し込みなし / not applied for";
  }
  return "?";
}

nlohmann::ordered_json OptionJson(const OptionEntitlement& option) {
  nlohmann::ordered_json j;
  j["status"] = OptionStatusName(option.status);
  j["shortfall"] = option.shortfall;
  j["fee_yen"] = option.fee_yen;
  j["message_ja"] = option.message_ja;
  j["message_en"] = option.message_en;
  return j;
}

nlohmann::ordered_json EntitlementsJson(const Entitlements& e) {
  if (!e.known) return nullptr;
  nlohmann::ordered_json j;
  j["managed"] = e.managed;
  if (!e.managed) return j;
  j["evaluated_at"] = FormatTime(e.evaluated_at, /*utc=*/true);
  j["valid_until"] = FormatTime(e.valid_until, /*utc=*/true);
  j["backup"] = OptionJson(e.backup);
  j["billing"] = OptionJson(e.billing);
  return j;
}

void PrintEntitlements(const Entitlements& e, std::ostream& out) {
  if (!e.known) {
    out << "licence:       not reported yet (the next sync asks the relay)\n";
    return;
  }
  if (!e.managed) {
    out << "licence:       not managed by the vendor: nothing is restricted\n";
    return;
  }
  out << "licence:       as the relay reported it at " << FormatTime(e.evaluated_at, /*utc=*/false) << '\n';
  const std::pair<const char*, const OptionEntitlement*> options[] = {{"  Internet backup:    ", &e.backup},
                                                                     {"  billing management: ", &e.billing}};
  for (const auto& [label, option] : options) {
    out << label << OptionStatusText(option->status) << "\n    " << option->message_ja << "\n    "
        << option->message_en << '\n';
  }
}

}  // namespace

Outcome StatusCommand(const std::string& db, bool json, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  RelayClient client(**replica);
  auto settings = client.Settings();
  if (!settings.ok()) return Outcome::Failed(settings.status(), "reading the relay settings");
  auto status = client.GetBackupStatus();
  if (!status.ok()) return Outcome::Failed(status.status(), "reading the backup state");
  auto key = GetOfficeKeyStatus(RelayClient(**replica));
  if (!key.ok()) return Outcome::Failed(key.status(), "reading the office key");
  auto entitlements = client.GetEntitlements();
  if (!entitlements.ok()) return Outcome::Failed(entitlements.status(), "reading the licence report");
  const RelaySettings none;
  const RelaySettings& s = *settings ? **settings : none;
  if (json) {
    nlohmann::ordered_json j;
    j["unsynced_records"] = status->unsynced_records;
    j["last_sync"] = status->last_sync ? nlohmann::ordered_json(FormatTime(*status->last_sync, /*utc=*/true)) : nullptr;
    j["backup_enabled"] = status->enabled;
    j["configured"] = status->configured;
    j["url"] = *settings ? nlohmann::ordered_json(s.url) : nullptr;
    j["contract"] = *settings ? nlohmann::ordered_json(s.contract) : nullptr;
    j["user"] = *settings ? nlohmann::ordered_json(s.user) : nullptr;
    // A login the relay refused is not a saved login any more.
    j["login_saved"] = !s.device_token.empty() && !status->saved_login_refused;
    j["saved_login_revoked"] = status->saved_login_refused;
    j["office_key"] = OfficeKeyJson(*key);
    j["admin_url"] =
        *settings && !AdminPanelUrl(s.url).empty() ? nlohmann::ordered_json(AdminPanelUrl(s.url)) : nullptr;
    j["entitlements"] = EntitlementsJson(*entitlements);
    out << j.dump() << '\n';
    return Outcome::Ok();
  }
  if (*settings) {
    out << "relay:         " << s.url << " (contract " << s.contract << ", user " << s.user
        << (s.device_token.empty()        ? ", no saved login"
            : status->saved_login_refused ? ", saved login no longer valid: run `daicho connect` again"
                                          : ", login saved")
        << ")\n";
  } else {
    out << "relay:         none (daicho connect sets one up)\n";
  }
  if (*settings && !AdminPanelUrl(s.url).empty()) out << "admin panel:   " << AdminPanelUrl(s.url) << '\n';
  out << "office key:    " << OfficeKeyText(*key) << '\n';
  out << "backup:        " << (status->enabled ? "enabled" : "disabled") << '\n';
  out << "last sync:     " << (status->last_sync ? FormatTime(*status->last_sync, /*utc=*/false) : std::string("never"))
      << '\n';
  out << "not backed up: " << status->unsynced_records << (status->unsynced_records == 1 ? " record" : " records")
      << '\n';
  if (*settings) PrintEntitlements(*entitlements, out);
  return Outcome::Ok();
}

Outcome AdminCommand(const std::string& db, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  auto settings = RelayClient(**replica).Settings();
  if (!settings.ok()) return Outcome::Failed(settings.status(), "reading the relay settings");
  if (!*settings) {
    return Outcome::Failed(Status(Code::kFailedPrecondition, "no relay is set up: run `daicho connect` first"),
                           "opening the admin panel");
  }
  const std::string url = AdminPanelUrl((*settings)->url);
  if (url.empty()) {
    return Outcome::Failed(
        Status(Code::kInvalidArgument, "the relay URL " + (*settings)->url + " is not ws:// or wss://"),
        "opening the admin panel");
  }
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((display && *display) || (wayland && *wayland)) {
    if (OpenInBrowser(url)) {
      out << "opened the admin panel in the browser: " << url << '\n';
      return Outcome::Ok();
    }
  }
  out << "admin panel: " << url
      << "\nopen it in a web browser and log in with the contract number, user id and "
         "password\n";
  return Outcome::Ok();
}

Outcome BackupCommand(const std::string& db, bool enable, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  RelayClient client(**replica);
  Status set = client.SetBackupEnabled(enable);
  if (!set.ok()) return Outcome::Failed(set, enable ? "enabling backup" : "disabling backup");
  out << (enable ? "backup to the relay enabled\n" : "backup to the relay disabled (this replica works offline)\n");
  return Outcome::Ok();
}

}  // namespace daicho::cli
