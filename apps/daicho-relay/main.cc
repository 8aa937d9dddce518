// daicho-relay: the relay a vendor hosts for many offices. This file wires
// the administration commands (contracts, users, devices) to RelayStore.
// Exit codes: 0 ok, 1 runtime error (message on stderr), 2 usage error.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/common/secret_file.h"
#include "apps/daicho-relay/relay_admission.h"
#include "apps/daicho-relay/relay_store.h"
#include "net/websocket.h"

namespace {

using daicho::Result;
using daicho::Status;
using daicho::relay::ContractNumber;
using daicho::relay::RelayStore;

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;
// How often `serve` looks whether an administration command ended logins:
// a revoked device's live session ends within about this long.
constexpr auto kLoginPollInterval = std::chrono::milliseconds(200);

// Ids that differ only in letter case (kept from a store written before ids
// were folded): one warning line per group, telling the operator what to do.
std::vector<std::string> CaseConflictWarnings(const RelayStore& store, const std::string& data_dir) {
  std::vector<std::string> lines;
  auto conflicts = store.CaseConflicts();
  if (!conflicts.ok()) return {"cannot check user ids for letter-case conflicts: " + conflicts.status().ToString()};
  for (const RelayStore::CaseConflict& conflict : *conflicts) {
    std::string ids;
    for (const std::string& id : conflict.user_ids) ids += (ids.empty() ? "" : ", ") + id;
    lines.push_back("warning: contract " + conflict.contract.str() + " has user ids that differ only in letter case (" +
                    ids + "); each logs in only with its exact spelling until all but one are removed: "
                    "daicho-relay --data " + data_dir + " user remove " + conflict.contract.str() + " ID");
  }
  return lines;
}

// Runs one administration command against the store in `data_dir`.
class Admin {
 public:
  explicit Admin(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  int Run(const std::function<Status(RelayStore&)>& command) {
    auto store = RelayStore::Open(data_dir_);
    if (!store.ok()) return Fail("opening " + data_dir_, store.status());
    for (const std::string& line : CaseConflictWarnings(**store, data_dir_)) {
      std::cerr << "daicho-relay: " << line << '\n';
    }
    Status status = command(**store);
    if (!status.ok()) return Fail("", status);
    return 0;
  }

 private:
  static int Fail(const std::string& context, const Status& status) {
    std::cerr << "daicho-relay: " << (context.empty() ? "" : context + ": ") << status.ToString() << '\n';
    return kExitRuntimeError;
  }
  std::string data_dir_;
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

// Ends the live sessions whose login an administration command (another
// process) ended: polls the store's login generation and has the server
// recheck its sessions' logins whenever it moved. Runs until `stop`.
void WatchLogins(std::stop_token stop, const RelayStore& store, daicho::net::SyncServer& server,
                 const std::function<void(const std::string&)>& log) {
  std::mutex mu;
  std::condition_variable_any wake;
  Result<uint64_t> seen = store.LoginGeneration();
  bool reported = false;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu);
      wake.wait_for(lock, stop, kLoginPollInterval, [] { return false; });  // returns early on stop
    }
    if (stop.stop_requested()) return;
    Result<uint64_t> now = store.LoginGeneration();
    if (!now.ok()) {
      // Logged once per outage: sessions go on, revocations wait for the store.
      if (!reported) log("relay: cannot read the login generation (revocations wait): " + now.status().ToString());
      reported = true;
      continue;
    }
    reported = false;
    if (!seen.ok() || *now != *seen) server.RecheckLogins();
    seen = now;
  }
}

// Serves sync sessions until SIGTERM or SIGINT, then shuts down cleanly.
int Serve(const std::string& data_dir, const std::string& listen, const std::string& cert, const std::string& key) {
  auto address = ParseListen(listen);
  if (!address.ok()) {
    std::cerr << "daicho-relay: " << address.status().message() << '\n';
    return kExitUsage;
  }
  auto store = RelayStore::Open(data_dir);
  if (!store.ok()) {
    std::cerr << "daicho-relay: opening " << data_dir << ": " << store.status().ToString() << '\n';
    return kExitRuntimeError;
  }
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  daicho::net::SyncServerOptions options;
  options.host = address->first;
  options.port = address->second;
  options.threads = 2;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  options.local_id = daicho::ReplicaId::Random();  // the relay makes no changes of its own
  RelayStore* relay = store->get();
  options.store_factory = [relay](const daicho::net::Hello& hello, const std::string& peer_address) {
    return daicho::relay::AdmitSession(*relay, hello, peer_address);
  };
  std::mutex log_mu;
  const std::function<void(const std::string&)> options_log = [&log_mu](const std::string& line) {
    std::lock_guard lock(log_mu);
    std::cerr << line << std::endl;
  };
  options.log = options_log;
  daicho::net::SyncServer server(std::move(options));
  Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "daicho-relay: cannot serve on " << listen << ": " << started.ToString() << '\n';
    return kExitRuntimeError;
  }
  for (const std::string& line : CaseConflictWarnings(*relay, data_dir)) options_log(line);
  std::jthread login_watch([relay, &server, &options_log](std::stop_token stop) {
    WatchLogins(stop, *relay, server, options_log);
  });
  std::cout << "listening on " << address->first << ":" << server.port() << (cert.empty() ? " (ws)" : " (wss)")
            << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  login_watch.request_stop();
  login_watch.join();
  server.Stop();
  std::cout << "stopped (" << strsignal(signal_number) << ")" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"daicho-relay: the relay server of daicho (contracts, users, sync)", "daicho-relay"};
  app.require_subcommand(1);
  std::string data_dir;
  app.add_option("--data", data_dir, "the relay's data directory")->required();

  std::string contract_text, user, password_file, device;
  int exit_code = 0;

  CLI::App* contract = app.add_subcommand("contract", "manage contracts")->require_subcommand(1);
  CLI::App* contract_add = contract->add_subcommand("add", "add a contract NNNN-NNNN-NNNN");
  contract_add->add_option("NUMBER", contract_text)->required();

  CLI::App* user_cmd = app.add_subcommand("user", "manage a contract's users")->require_subcommand(1);
  CLI::App* user_add = user_cmd->add_subcommand("add", "add a user (id 3-100 characters)");
  user_add->add_option("NUMBER", contract_text)->required();
  user_add->add_option("USER", user)->required();
  user_add->add_option("--password-file", password_file,
                       "file whose first line is the password (8-100 letters and digits)")
      ->required();
  CLI::App* user_passwd = user_cmd->add_subcommand("passwd", "set a user's password");
  user_passwd->add_option("NUMBER", contract_text)->required();
  user_passwd->add_option("USER", user)->required();
  user_passwd->add_option("--password-file", password_file)->required();
  CLI::App* user_remove = user_cmd->add_subcommand(
      "remove", "remove a user: the user's saved logins are revoked and live sessions end");
  user_remove->add_option("NUMBER", contract_text)->required();
  user_remove->add_option("USER", user)->required();
  CLI::App* user_list = user_cmd->add_subcommand("list", "list a contract's users");
  user_list->add_option("NUMBER", contract_text)->required();

  CLI::App* device_cmd = app.add_subcommand("device", "manage saved logins of PCs")->require_subcommand(1);
  CLI::App* device_list = device_cmd->add_subcommand(
      "list", "list a user's devices with a saved login: the PC's id (first 8 hex digits) and name");
  device_list->add_option("NUMBER", contract_text)->required();
  device_list->add_option("USER", user)->required();
  CLI::App* device_revoke = device_cmd->add_subcommand("revoke", "revoke a device's saved login");
  device_revoke->add_option("NUMBER", contract_text)->required();
  device_revoke->add_option("USER", user)->required();
  device_revoke->add_option("DEVICE", device, "the id `device list` shows, or the name if no other device has it")
      ->required();

  std::string listen, tls_cert, tls_key;
  CLI::App* serve = app.add_subcommand("serve", "serve sync sessions until SIGTERM");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (PORT 0: any free port)")->required();
  serve->add_option("--tls-cert", tls_cert, "PEM certificate chain: serve wss:// (with --tls-key)");
  serve->add_option("--tls-key", tls_key, "PEM private key of --tls-cert");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (*serve) {
    if (tls_cert.empty() != tls_key.empty()) {
      std::cerr << "daicho-relay: --tls-cert and --tls-key go together\n";
      return kExitUsage;
    }
    try {
      return Serve(data_dir, listen, tls_cert, tls_key);
    } catch (const std::exception& e) {
      std::cerr << "daicho-relay: internal error: " << e.what() << '\n';
      return kExitRuntimeError;
    }
  }

  Result<ContractNumber> number = ContractNumber::Parse(contract_text);
  if (!number.ok()) {
    std::cerr << "daicho-relay: " << number.status().message() << '\n';
    return kExitUsage;
  }
  Admin admin(data_dir);
  try {
    if (*contract_add) {
      exit_code = admin.Run([&](RelayStore& store) -> Status {
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
      exit_code = admin.Run([&](RelayStore& store) -> Status {
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
      exit_code = admin.Run([&](RelayStore& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.RemoveUser(*number, user));
        std::cout << "removed user " << user << " from contract " << number->str()
                  << " (saved logins revoked, live sessions ended)\n";
        return Status::Ok();
      });
    } else if (*user_list) {
      exit_code = admin.Run([&](RelayStore& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto users, store.ListUsers(*number));
        for (const std::string& u : users) std::cout << u << '\n';
        return Status::Ok();
      });
    } else if (*device_list) {
      exit_code = admin.Run([&](RelayStore& store) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto devices, store.ListDevices(*number, user));
        // The id tells apart PCs of the same name; "--------": not used since
        // the store was upgraded (its PC is not known yet).
        for (const RelayStore::Device& d : devices) std::cout << d.ShortId() << "  " << d.name << '\n';
        return Status::Ok();
      });
    } else if (*device_revoke) {
      exit_code = admin.Run([&](RelayStore& store) -> Status {
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
