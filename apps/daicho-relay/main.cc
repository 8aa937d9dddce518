// daicho-relay: the relay a vendor hosts for many offices. This file wires
// the administration commands (contracts, users, devices) to RelayService
// over the store --data or --store names (store_flags.h), and the contract's admin roles, office
// key status and audit log for the vendor's operator; the licence commands
// are in licence_commands.cc.
// Exit codes: 0 ok, 1 runtime error (message on stderr), 2 usage error.
// `serve` writes its log (transport::LogLine lines, each after an ISO-8601 UTC
// timestamp) to stderr, the same stream as its errors: one stream.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/common/secret_file.h"
#include "apps/daicho-relay/licence_commands.h"
#include "apps/daicho-relay/mail_setup.h"
#include "apps/daicho-relay/store_flags.h"
#include "relay/admin/admin_panel.h"
#include "relay/change_watcher.h"
#include "relay/login_watcher.h"
#include "relay/mail/mail_queue.h"
#include "relay/postgres/pg_backend.h"
#include "relay/relay_admission.h"
#include "relay/relay_service.h"
#include "transport/address_range.h"
#include "transport/log_line.h"
#include "transport/sync_server.h"

namespace {

using daicho::Result;
using daicho::Status;
using daicho::relay::ContractNumber;
using daicho::relay::RelayService;
using daicho::transport::LogLine;

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;
// The sender of the relay's mail when --mail-from is not given.
// (.invalid: a name reserved never to resolve, so no mail server takes it for real.)
constexpr std::string_view kDefaultMailFrom = "noreply@daicho-relay.invalid";
// How often `serve` looks whether an administration command ended logins:
// a revoked device's live session ends within about this long.
constexpr auto kLoginPollInterval = std::chrono::milliseconds(200);

// A warning for the operator: printed by a command, logged by `serve`.
struct Warning {
  std::string contract;  // empty: not about one contract
  std::string message;
};

// Ids that differ only in letter case (kept from a store written before ids
// were folded): one warning per group, telling the operator what to do.
std::vector<Warning> CaseConflictWarnings(const RelayService& store, const std::string& store_argument) {
  std::vector<Warning> warnings;
  auto conflicts = store.CaseConflicts();
  if (!conflicts.ok()) {
    return {{"", "cannot check user ids for letter-case conflicts: " + conflicts.status().ToString()}};
  }
  for (const RelayService::CaseConflict& conflict : *conflicts) {
    std::string ids;
    for (const std::string& id : conflict.user_ids) ids += (ids.empty() ? "" : ", ") + id;
    warnings.push_back(
        {conflict.contract.str(), "contract " + conflict.contract.str() +
                                      " has user ids that differ only in letter case (" + ids +
                                      "); each logs in only with its exact spelling until all but one are removed: "
                                      "daicho-relay " +
                                      store_argument + " user remove " + conflict.contract.str() + " ID"});
  }
  return warnings;
}

std::string WarningLine(const Warning& warning) {
  return LogLine("warning").Add("contract", warning.contract).AddQuoted("message", warning.message).str();
}

// The service over the store the flags name, and the store's feed of other
// nodes' commits (null when this process serves the store alone).
struct OpenedService {
  std::unique_ptr<RelayService> service;
  std::unique_ptr<daicho::relay::ChangeFeed> feed;
};

Result<OpenedService> OpenExisting(const daicho::apps::StoreFlags& flags, const std::string& node_name = "") {
  DAICHO_ASSIGN_OR_RETURN(daicho::apps::OpenedStore opened, daicho::apps::OpenExistingStore(flags, node_name));
  auto service = RelayService::Create(std::move(opened.backend));
  if (!service.ok()) return service.status().WithContext("opening the store " + daicho::apps::StoreArgument(flags));
  return OpenedService{std::move(service).value(), std::move(opened.feed)};
}

// "2026-12-07T08:15:02Z" for a Unix ms time (a last sync, an audit row),
// "never" for 0 (none recorded).
std::string LastSync(uint64_t unix_ms) {
  if (unix_ms == 0) return "never";
  const std::string stamp =
      daicho::transport::LogTimestamp(std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms)));
  return stamp.substr(0, 19) + "Z";  // whole seconds are enough here
}

// Runs one administration command against the store the flags name.
class Admin {
 public:
  explicit Admin(daicho::apps::StoreFlags store) : store_(std::move(store)) {}

  int Run(const std::function<Status(RelayService&)>& command) {
    auto opened = OpenExisting(store_);
    if (!opened.ok()) return Fail("", opened.status());
    RelayService& service = *opened->service;
    for (const Warning& warning : CaseConflictWarnings(service, daicho::apps::StoreArgument(store_))) {
      std::cerr << "daicho-relay: warning: " << warning.message << '\n';
    }
    Status status = command(service);
    if (!status.ok()) return Fail("", status);
    return 0;
  }

 private:
  static int Fail(const std::string& context, const Status& status) {
    std::cerr << "daicho-relay: " << (context.empty() ? "" : context + ": ") << status.ToString() << '\n';
    return kExitRuntimeError;
  }
  daicho::apps::StoreFlags store_;
};

// Splits "HOST:PORT" (PORT 0 = any free port).
Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return daicho::InvalidArgument("--listen wants HOST:PORT");
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return daicho::InvalidArgument("--listen: bad port '" + port + "'");
  }
  return std::pair{text.substr(0, colon), static_cast<uint16_t>(std::stoul(port))};
}

// The log line of an accepted office key publication (`daicho key init`,
// `key rotate`, `key passphrase`): the relay stores what it cannot open, so
// the operator at least sees who changed the office's key and when.
std::string OfficeKeyPublishedLine(const daicho::sync::Hello& hello, const std::string& peer_address) {
  const uint32_t key_id = hello.publish_keys.current_key_id;
  const char* kind = hello.replaces_key_id == 0 ? "init" : key_id == hello.replaces_key_id ? "rewrap" : "rotation";
  return LogLine("office_key_published")
      .Add("peer", peer_address)
      .Add("contract", hello.contract)
      .Add("user", hello.user)
      .Add("device", daicho::transport::ShortDeviceId(hello.replica_id))
      .Add("kind", kind)
      .Add("key_id", key_id)
      .str();
}

// This machine's name: a relay node's default name.
std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "relay";
  return name;
}

// `serve`'s connection caps (--max-connections, --max-connections-per-address),
// the load balancers whose PROXY header names the client (--trusted-proxy)
// and how long a stop signal leaves a balancer to move off (--drain-seconds).
struct ServeCaps {
  size_t total = 0;  // 0: the default, kept below the open-file limit
  size_t per_address = daicho::transport::SyncServerOptions{}.max_connections_per_address;
  std::vector<std::string> trusted_proxies;
  unsigned drain_seconds = 0;  // 0: stop at once
};
// Draining: how long the sessions get to close with 1001 before the rest is cut.
constexpr std::chrono::seconds kGoAwayWait{10};
// Store threads of a node on a shared store (SyncServerOptions::
// store_threads): as many sessions may wait on a commit at once without
// stalling the rest; the store's own pool (PgBackendOptions) is larger.
constexpr size_t kSharedStoreThreads = 8;
// Descriptors kept free of connections: the store, the listener, the log,
// the threads' own.
constexpr rlim_t kReservedFiles = 64;

// A relay holds a descriptor per connection: the soft open-file limit is
// raised to the hard one. Returns the limit in force.
rlim_t RaiseOpenFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 0;
  if (files.rlim_cur != files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  return files.rlim_cur;
}

// Serves sync sessions until SIGTERM or SIGINT, then shuts down cleanly.
// One log line per mail outcome: the recipient and subject, never the text.
std::string MailLine(const daicho::relay::mail::MailEvent& event) {
  using Kind = daicho::relay::mail::MailEvent::Kind;
  static constexpr const char* kNames[] = {"mail_sent", "mail_retry", "mail_failed", "mail_dropped"};
  LogLine line(kNames[static_cast<int>(event.kind)]);
  line.AddQuoted("to", event.to).AddQuoted("subject", event.subject).Add("attempt", event.attempt);
  if (!event.error.empty()) line.AddQuoted("error", event.error);
  if (event.kind == Kind::kRetry) line.Add("retry_in_s", event.retry_in.count() / 1000);
  return line.str();
}

int Serve(const daicho::apps::StoreFlags& store_flags, const std::string& node_name, const std::string& listen,
          const std::string& cert, const std::string& key, ServeCaps caps, const daicho::apps::MailFlags& mail,
          const std::vector<std::string>& allowed_origins) {
  auto address = ParseListen(listen);
  if (!address.ok()) {
    std::cerr << "daicho-relay: " << address.status().message() << '\n';
    return kExitUsage;
  }
  auto store = OpenExisting(store_flags, node_name);
  if (!store.ok()) {
    std::cerr << "daicho-relay: " << store.status().ToString() << '\n';
    return kExitRuntimeError;
  }
  const std::string store_argument = daicho::apps::StoreArgument(store_flags);
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  daicho::transport::SyncServerOptions options;
  options.host = address->first;
  options.port = address->second;
  options.threads = 2;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  auto relay_id = daicho::ReplicaId::Random();  // the relay makes no changes of its own
  if (!relay_id.ok()) {
    std::cerr << "daicho-relay: " << relay_id.status().ToString() << '\n';
    return kExitRuntimeError;
  }
  options.local_id = *relay_id;
  RelayService* relay = store->service.get();
  std::mutex log_mu;
  const std::function<void(const std::string&)> options_log = [&log_mu](const std::string& line) {
    const std::string stamp = daicho::transport::LogTimestamp(std::chrono::system_clock::now());
    std::lock_guard lock(log_mu);
    std::cerr << stamp << ' ' << line << std::endl;
  };
  options.store_factory = [relay, &options_log](const daicho::sync::Hello& hello, const std::string& peer_address) {
    auto accepted = daicho::relay::AdmitSession(*relay, hello, peer_address);
    if (accepted.ok() && hello.purpose == daicho::sync::Purpose::kPublishKeys) {
      options_log(OfficeKeyPublishedLine(hello, peer_address));
    }
    return accepted;
  };
  options.log = options_log;

  // The office's admin panel (/admin/, /api/v1/) and the mail it sends.
  auto mail_transport = daicho::apps::OpenMailTransport(mail, store_flags.data_dir);
  if (!mail_transport.ok()) {
    std::cerr << "daicho-relay: " << mail_transport.status().message() << '\n';
    return mail_transport.status().code() == daicho::Code::kInvalidArgument ? kExitUsage : kExitRuntimeError;
  }
  daicho::relay::mail::MailQueueOptions mail_options;
  if (mail.from.empty()) {
    mail_options.from = {std::string(kDefaultMailFrom), mail.from_name};
  } else {
    auto sender = daicho::apps::MailSenderOf(mail);
    if (!sender.ok()) {
      std::cerr << "daicho-relay: " << sender.status().message() << '\n';
      return kExitUsage;
    }
    mail_options.from = *sender;
  }
  mail_options.log = [&options_log](const daicho::relay::mail::MailEvent& event) { options_log(MailLine(event)); };
  const std::string mail_from = mail_options.from.address;
  auto mail_queue = daicho::relay::mail::MailQueue::Start(std::move(*mail_transport), std::move(mail_options));
  if (!mail_queue.ok()) {
    std::cerr << "daicho-relay: " << mail_queue.status().message() << '\n';
    return kExitUsage;
  }
  daicho::relay::admin::AdminPanelOptions panel_options;
  panel_options.allowed_origins = allowed_origins;
  panel_options.log = [&options_log](const std::string& event, const std::string& detail) {
    options_log(LogLine(event).AddQuoted("detail", detail).str());
  };
  daicho::relay::admin::AdminPanel panel(*relay, **mail_queue, std::move(panel_options));
  options.http_handler = [&panel](const daicho::web::HttpRequest& request) { return panel.Handle(request); };
  options.http_prefixes = daicho::relay::admin::AdminPanel::Prefixes();
  options.http_upload_paths = daicho::relay::admin::AdminPanel::UploadPaths();
  options.allowed_origins = allowed_origins;
  // A login waiting for its password check waits in the store's password
  // gate, each on its own admission thread, not in the server's admission
  // queue: a flood of guesses is refused by the gate when full and never
  // holds up a PC's saved-login admission, which two more threads serve.
  const daicho::relay::PasswordGateOptions checks = daicho::relay::RelayServiceOptions{}.password_checks;
  options.admission_threads = checks.max_concurrent + checks.max_queued + 2;
  // The same for the panel's logins: a flood fills the gate's queue and is
  // refused "busy" at once, while the panel's other pages still get a thread.
  options.http_threads = checks.max_concurrent + checks.max_queued + 2;
  // Ready while the store answers, no stop signal came and, on a shared
  // store, other nodes' commits are heard (GET /readyz).
  std::atomic<bool> draining{false};
  daicho::relay::ChangeFeed* feed = store->feed.get();
  options.ready = [relay, feed, &draining] {
    return !draining && relay->LoginGeneration().ok() && (feed == nullptr || feed->connected());
  };
  // A shared store answers over the network: a commit waiting on it must
  // not hold up the I/O threads' other sessions.
  if (feed != nullptr) options.store_threads = kSharedStoreThreads;
  const rlim_t open_files = RaiseOpenFileLimit();
  if (caps.total == 0 && open_files > kReservedFiles) {
    caps.total = std::min<rlim_t>(options.max_connections, open_files - kReservedFiles);
  }
  if (caps.total != 0) options.max_connections = caps.total;
  options.max_connections_per_address = caps.per_address;
  options.trusted_proxies = caps.trusted_proxies;
  daicho::transport::LogLine limits("serve_limits");
  limits.Add("open_file_limit", open_files).Add("max_connections", options.max_connections);
  limits.Add("max_connections_per_address", options.max_connections_per_address);
  if (options.max_connections + kReservedFiles > open_files) {
    limits.AddQuoted("warning",
                     "--max-connections is above what the open-file limit allows; raise the hard "
                     "limit (ulimit -Hn, systemd LimitNOFILE) or lower --max-connections");
  }
  daicho::transport::SyncServer server(std::move(options));
  Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "daicho-relay: cannot serve on " << listen << ": " << started.ToString() << '\n';
    return kExitRuntimeError;
  }
  LogLine started_line("relay_started");
  started_line.Add("listen", address->first + ":" + std::to_string(server.port()))
      .Add("scheme", cert.empty() ? "ws" : "wss")
      .Add("version", DAICHO_VERSION);
  if (store_flags.data_dir.empty()) {
    started_line.AddQuoted("store", daicho::relay::RedactConninfo(store_flags.conninfo)).Add("node", node_name);
  } else {
    started_line.Add("data", store_flags.data_dir);
  }
  options_log(started_line.str());
  options_log(LogLine("admin_panel")
                  .Add("url", std::string(cert.empty() ? "http" : "https") + "://" + address->first + ":" +
                                  std::to_string(server.port()) + "/admin/")
                  .AddQuoted("mail", (*mail_queue)->Describe())
                  .Add("mail_from", mail_from)
                  .str());
  options_log(limits.str());
  for (const Warning& warning : CaseConflictWarnings(*relay, store_argument)) options_log(WarningLine(warning));
  // Ends the live sessions whose login an administration command (another
  // process) ended.
  std::jthread login_watch([relay, &server, &options_log, seen = relay->LoginGeneration()](std::stop_token stop) {
    daicho::relay::WatchLogins(
        stop, *relay, seen, kLoginPollInterval, [&server] { server.RecheckLogins(); },
        [&options_log](const Status& status) {
          options_log(WarningLine({"", "cannot read the login generation (revocations wait): " + status.ToString()}));
        });
  });
  // On a shared store: other nodes' commits pushed to this node's sessions.
  std::jthread change_watch;
  if (feed != nullptr) {
    change_watch = std::jthread([feed, &server, &options_log](std::stop_token stop) {
      daicho::relay::ChangeWatch watch;
      watch.live_contracts = [&server] { return server.LiveGroups(); };
      watch.push = [&server](const std::string& contract) { server.PushToGroup(contract); };
      watch.on_unreadable = [&options_log](const Status& status) {
        options_log(WarningLine(
            {"",
             "cannot read the store's change counters (other nodes' changes reach this node's PCs only when "
             "notified): " +
                 status.ToString()}));
      };
      watch.on_listening = [&options_log] { options_log(LogLine("change_feed_listening").str()); };
      Status watched = daicho::relay::WatchChanges(stop, *feed, watch);
      if (!watched.ok()) {
        options_log(WarningLine({"", "cannot listen for other nodes' changes: " + watched.ToString()}));
      }
    });
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  if (caps.drain_seconds > 0) {
    // A load balancer sees /readyz fail and moves new connections elsewhere
    // while this node still serves; then the sessions close with 1001 and
    // their PCs reconnect through the balancer. A second signal cuts the
    // wait short.
    draining = true;
    options_log(LogLine("relay_draining").Add("seconds", caps.drain_seconds).str());
    const timespec drain{static_cast<time_t>(caps.drain_seconds), 0};
    (void)sigtimedwait(&stop_signals, nullptr, &drain);
    server.GoAway(kGoAwayWait);
  }
  login_watch.request_stop();
  login_watch.join();
  if (change_watch.joinable()) {
    change_watch.request_stop();
    change_watch.join();
  }
  server.Stop();
  options_log(LogLine("relay_stopped").Add("signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM").str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"daicho-relay: the relay server of daicho (contracts, users, sync)", "daicho-relay"};
  app.set_version_flag("--version", "daicho-relay " DAICHO_VERSION);
  app.require_subcommand(1);
  daicho::apps::StoreFlags store_flags;
  daicho::apps::AddStoreFlags(app, store_flags);

  std::string contract_text, user, password_file, device;
  bool yes = false;
  int exit_code = 0;

  CLI::App* init = app.add_subcommand(
      "init", "create an empty relay store in --data (a new or empty directory) or --store (an empty database)");
  CLI::App* migrate = app.add_subcommand(
      "migrate", "bring the store's schema up to this daicho-relay's (once, before the nodes restart on it)");

  CLI::App* contract = app.add_subcommand("contract", "manage contracts")->require_subcommand(1);
  CLI::App* contract_add = contract->add_subcommand("add", "add a contract NNNN-NNNN-NNNN");
  contract_add->add_option("NUMBER", contract_text)->required();
  CLI::App* contract_list = contract->add_subcommand("list", "list contracts: state, users, devices, office key id");
  CLI::App* contract_disable = contract->add_subcommand(
      "disable", "refuse the contract's logins and end its live sessions (nothing is deleted)");
  contract_disable->add_option("NUMBER", contract_text)->required();
  CLI::App* contract_enable = contract->add_subcommand("enable", "let a disabled contract's PCs sync again");
  contract_enable->add_option("NUMBER", contract_text)->required();
  CLI::App* contract_remove = contract->add_subcommand(
      "remove", "delete a disabled contract and all its data (users, saved logins, changes, office key)");
  contract_remove->add_option("NUMBER", contract_text)->required();
  contract_remove->add_flag("--yes", yes, "confirm: the contract's data cannot be recovered (except from a backup)");

  daicho::apps::LicenceCommands licence_commands(app, *contract);

  CLI::App* user_cmd = app.add_subcommand("user", "manage a contract's users")->require_subcommand(1);
  CLI::App* user_add = user_cmd->add_subcommand("add", "add a user (id 3-100 characters)");
  user_add->add_option("NUMBER", contract_text)->required();
  user_add->add_option("USER", user)->required();
  user_add
      ->add_option("--password-file", password_file, "file whose first line is the password (8-100 letters and digits)")
      ->required();
  CLI::App* user_passwd = user_cmd->add_subcommand("passwd", "set a user's password");
  user_passwd->add_option("NUMBER", contract_text)->required();
  user_passwd->add_option("USER", user)->required();
  user_passwd->add_option("--password-file", password_file)->required();
  CLI::App* user_remove =
      user_cmd->add_subcommand("remove", "remove a user: the user's saved logins are revoked and live sessions end");
  user_remove->add_option("NUMBER", contract_text)->required();
  user_remove->add_option("USER", user)->required();
  CLI::App* user_list = user_cmd->add_subcommand(
      "list", "list a contract's users: role, state, devices with a saved login, last sync (UTC) and its address");
  user_list->add_option("NUMBER", contract_text)->required();
  CLI::App* user_disable = user_cmd->add_subcommand(
      "disable", "refuse a user's logins and end the user's live sessions (saved logins are kept)");
  user_disable->add_option("NUMBER", contract_text)->required();
  user_disable->add_option("USER", user)->required();
  CLI::App* user_enable = user_cmd->add_subcommand("enable", "let a disabled user log in again");
  user_enable->add_option("NUMBER", contract_text)->required();
  user_enable->add_option("USER", user)->required();
  CLI::App* user_admin =
      user_cmd->add_subcommand("admin", "make a user an admin of the contract (manages its users in the web panel)");
  user_admin->add_option("NUMBER", contract_text)->required();
  user_admin->add_option("USER", user)->required();
  CLI::App* user_unadmin = user_cmd->add_subcommand("unadmin", "make an admin a plain user again");
  user_unadmin->add_option("NUMBER", contract_text)->required();
  user_unadmin->add_option("USER", user)->required();

  CLI::App* key_cmd = app.add_subcommand("key", "the office key as the relay holds it")->require_subcommand(1);
  CLI::App* key_status = key_cmd->add_subcommand(
      "status", "show the office key's id and when it was made and last changed (never key material)");
  key_status->add_option("NUMBER", contract_text)->required();

  size_t audit_limit = 50;
  CLI::App* audit_cmd = app.add_subcommand("audit", "the contract's audit log")->require_subcommand(1);
  CLI::App* audit_list = audit_cmd->add_subcommand(
      "list", "list the newest audit rows: time (UTC), who, via, from where, action, whom, detail");
  audit_list->add_option("NUMBER", contract_text)->required();
  audit_list->add_option("--limit", audit_limit, "rows at most (default 50)")->check(CLI::PositiveNumber);

  CLI::App* device_cmd = app.add_subcommand("device", "manage saved logins of PCs")->require_subcommand(1);
  CLI::App* device_list = device_cmd->add_subcommand(
      "list",
      "list a user's devices with a saved login: the PC's id (first 8 hex digits), last sync (UTC), its address, "
      "name");
  device_list->add_option("NUMBER", contract_text)->required();
  device_list->add_option("USER", user)->required();
  CLI::App* device_revoke = device_cmd->add_subcommand("revoke", "revoke a device's saved login");
  device_revoke->add_option("NUMBER", contract_text)->required();
  device_revoke->add_option("USER", user)->required();
  device_revoke->add_option("DEVICE", device, "the id `device list` shows, or the name if no other device has it")
      ->required();

  CLI::App* mail_cmd =
      app.add_subcommand("mail", "the relay's mail (password reset codes and notices)")->require_subcommand(1);
  CLI::App* mail_test = mail_cmd->add_subcommand("test", "send one test mail with the mail settings given");
  daicho::apps::MailFlags mail_flags;
  daicho::apps::AddMailFlags(*mail_test, mail_flags);
  std::string mail_to;
  mail_test->add_option("--to", mail_to, "where the test mail goes")->required();

  std::string listen, tls_cert, tls_key, node_name = HostName();
  CLI::App* serve = app.add_subcommand("serve", "serve sync sessions until SIGTERM");
  serve->add_option("--node-name", node_name,
                    "this node's name in the log and in the shared store's connections (default: the host name)");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (PORT 0: any free port)")->required();
  serve->add_option("--tls-cert", tls_cert, "PEM certificate chain: serve wss:// (with --tls-key)");
  serve->add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  ServeCaps caps;
  daicho::apps::MailFlags serve_mail;
  daicho::apps::AddMailFlags(*serve, serve_mail);
  std::vector<std::string> allowed_origins;
  serve->add_option("--allowed-origin", allowed_origins,
                    "an origin (https://HOST[:PORT]) the admin panel and WebSocket upgrades accept besides the "
                    "relay's own address, e.g. the public URL behind a proxy; repeatable");
  serve
      ->add_option("--max-connections", caps.total,
                   "open connections at most (default 1000, lower if the open-file limit needs it)")
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--max-connections-per-address", caps.per_address,
                   "open connections from one IP address at most (default 50)")
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--trusted-proxy", caps.trusted_proxies,
                   "a load balancer's address or range (10.0.0.5, 10.0.0.0/24, 2001:db8::/64) whose connections "
                   "begin with a PROXY protocol v2 header naming the client; repeatable")
      ->check([](const std::string& cidr) {
        auto range = daicho::transport::AddressRange::Parse(cidr);
        return range.ok() ? std::string() : range.status().message();
      });
  serve->add_option("--drain-seconds", caps.drain_seconds,
                    "on SIGTERM or SIGINT, answer /readyz 503 for this many seconds while still serving, then close "
                    "the sessions with WebSocket code 1001 before stopping (default 0: stop at once)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (Status named = daicho::apps::CheckStoreFlags(store_flags); !named.ok()) {
    std::cerr << "daicho-relay: " << named.message() << '\n';
    return kExitUsage;
  }

  if (*serve) {
    if (tls_cert.empty() != tls_key.empty()) {
      std::cerr << "daicho-relay: --tls-cert and --tls-key go together\n";
      return kExitUsage;
    }
    try {
      return Serve(store_flags, node_name, listen, tls_cert, tls_key, caps, serve_mail, allowed_origins);
    } catch (const std::exception& e) {
      std::cerr << "daicho-relay: internal error: " << e.what() << '\n';
      return kExitRuntimeError;
    }
  }

  if (*mail_test) {
    Result<std::string> sent = daicho::apps::SendTestMail(mail_flags, store_flags.data_dir, mail_to);
    if (sent.status().code() == daicho::Code::kInvalidArgument) {
      std::cerr << "daicho-relay: " << sent.status().message() << '\n';
      return kExitUsage;
    }
    if (!sent.ok()) {
      std::cerr << "daicho-relay: the test mail was not sent: " << sent.status().message()
                << "\ncheck the mail settings (--smtp-url, --smtp-user, --smtp-password-file, --smtp-ca-file) "
                   "and that the SMTP server is reachable\n";
      return kExitRuntimeError;
    }
    std::cout << "sent a test mail to " << mail_to << " (" << *sent << ")\n";
    return 0;
  }

  if (*init || *migrate) {
    Result<std::string> done = *init ? daicho::apps::CreateStore(store_flags) : daicho::apps::MigrateStore(store_flags);
    if (!done.ok()) {
      std::cerr << "daicho-relay: " << done.status().message() << '\n';
      return kExitRuntimeError;
    }
    std::cout << *done << '\n';
    return 0;
  }
  Admin admin(store_flags);
  if (*contract_list) {
    return admin.Run([&](RelayService& store) -> Status {
      DAICHO_ASSIGN_OR_RETURN(auto contracts, store.ListContracts());
      for (const RelayService::ContractInfo& c : contracts) {
        std::cout << c.number.str() << "  " << (c.disabled ? "disabled" : "enabled ") << "  users " << c.users
                  << "  devices " << c.devices << "  key " << (c.key_id == 0 ? "-" : std::to_string(c.key_id)) << '\n';
      }
      return Status::Ok();
    });
  }
  if (licence_commands.Chosen()) {
    return admin.Run([&](RelayService& store) { return licence_commands.Run(store, std::cout); });
  }
  if (*contract_remove && !yes) {
    std::cerr << "daicho-relay: `contract remove` deletes the contract's users, saved logins, changes and office "
                 "key for good: add --yes to confirm (disable it first)\n";
    return kExitUsage;
  }

  Result<ContractNumber> number = ContractNumber::Parse(contract_text);
  if (!number.ok()) {
    std::cerr << "daicho-relay: " << number.status().message() << '\n';
    return kExitUsage;
  }
  try {
    if (*contract_add) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.AddContract(*number));
        std::cout << "added contract " << number->str() << '\n';
        return Status::Ok();
      });
    } else if (*user_add || *user_passwd) {
      Result<std::string> password = daicho::apps::ReadSecretFile(password_file);
      if (!password.ok()) {
        std::cerr << "daicho-relay: " << password.status().ToString() << '\n';
        return kExitRuntimeError;
      }
      exit_code = admin.Run([&](RelayService& store) -> Status {
        if (*user_add) {
          DAICHO_RETURN_IF_ERROR(store.AddUser(*number, user, *password));
          std::cout << "added user " << user << " to contract " << number->str() << '\n';
        } else {
          DAICHO_RETURN_IF_ERROR(store.SetPassword(*number, user, *password));
          std::cout << "changed the password of " << user
                    << " (saved logins of the user's PCs revoked: connect them again with the new password)\n";
        }
        return Status::Ok();
      });
    } else if (*user_remove) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.RemoveUser(*number, user));
        std::cout << "removed user " << user << " from contract " << number->str()
                  << " (saved logins revoked, live sessions ended)\n";
        return Status::Ok();
      });
    } else if (*user_list) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto users, store.ListUserInfo(*number));
        for (const RelayService::UserInfo& u : users) {
          std::cout << u.user_id << "  " << (u.admin ? "admin" : "user ") << "  "
                    << (u.disabled ? "disabled" : "enabled ") << "  devices " << u.devices << "  last sync "
                    << LastSync(u.last_sync_ms) << (u.last_address.empty() ? "" : " from " + u.last_address) << '\n';
        }
        return Status::Ok();
      });
    } else if (*user_admin || *user_unadmin) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.SetUserAdmin(*number, user, user_admin->parsed()));
        if (*user_admin) {
          std::cout << user << " is now an admin of contract " << number->str()
                    << ": manages its users in the web panel\n";
        } else {
          std::cout << user << " is no longer an admin of contract " << number->str() << '\n';
        }
        return Status::Ok();
      });
    } else if (*key_status) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(RelayService::OfficeKeyStatus key, store.GetOfficeKeyStatus(*number));
        if (key.key_id == 0) {
          std::cout << "contract " << number->str()
                    << " has no office key yet (the first PC's `daicho key init` sets it up)\n";
          return Status::Ok();
        }
        // 0: published before the relay recorded key times (store v5).
        auto when = [](uint64_t ms) { return ms == 0 ? std::string("unknown") : LastSync(ms); };
        std::cout << "key " << key.key_id << "  created " << when(key.created_ms) << "  changed "
                  << when(key.changed_ms) << '\n';
        return Status::Ok();
      });
    } else if (*audit_list) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto rows, store.ListAudit(*number, UINT64_MAX, audit_limit));
        auto or_dash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };
        // The detail goes last: it may hold spaces.
        for (const RelayService::AuditEntry& row : rows) {
          std::cout << LastSync(row.time_ms) << "  " << (row.actor.empty() ? "operator" : row.actor) << "  " << row.via
                    << "  " << or_dash(row.address) << "  " << row.action << "  " << or_dash(row.target)
                    << (row.detail.empty() ? "" : "  " + row.detail) << '\n';
        }
        return Status::Ok();
      });
    } else if (*contract_disable || *contract_enable) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.SetContractDisabled(*number, contract_disable->parsed()));
        if (*contract_disable) {
          std::cout << "disabled contract " << number->str()
                    << ": its logins are refused and its live sessions end; nothing is deleted "
                       "(`contract enable` lets its PCs sync again)\n";
        } else {
          std::cout << "enabled contract " << number->str() << ": its PCs sync again with their saved logins\n";
        }
        return Status::Ok();
      });
    } else if (*contract_remove) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.RemoveContract(*number));
        std::cout << "removed contract " << number->str()
                  << " and all its data (users, saved logins, changes, office key)\n";
        return Status::Ok();
      });
    } else if (*user_disable || *user_enable) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.SetUserDisabled(*number, user, user_disable->parsed()));
        if (*user_disable) {
          std::cout << "disabled user " << user << " of contract " << number->str()
                    << ": logins refused, live sessions ended; saved logins kept for `user enable`\n";
        } else {
          std::cout << "enabled user " << user << " of contract " << number->str() << '\n';
        }
        return Status::Ok();
      });
    } else if (*device_list) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto devices, store.ListDevices(*number, user));
        // The id tells apart PCs of the same name; "--------": not used since
        // the store was upgraded (its PC is not known yet). The name goes
        // last: it may hold spaces.
        for (const RelayService::Device& d : devices) {
          std::cout << d.ShortId() << "  " << LastSync(d.last_sync_ms) << "  "
                    << (d.last_address.empty() ? "-" : d.last_address) << "  " << d.name << '\n';
        }
        return Status::Ok();
      });
    } else if (*device_revoke) {
      exit_code = admin.Run([&](RelayService& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.RevokeDevice(*number, user, device));
        std::cout << "revoked the saved login of " << device << " (its live session ends)\n";
        return Status::Ok();
      });
    }
  } catch (const std::exception& e) {
    std::cerr << "daicho-relay: internal error: " << e.what() << '\n';
    return kExitRuntimeError;
  }
  return exit_code;
}
