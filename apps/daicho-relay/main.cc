// daicho-relay: the relay a vendor hosts for many offices. This file wires
// the administration commands (contracts, users, devices) to RelayStore.
// Exit codes: 0 ok, 1 runtime error (message on stderr), 2 usage error.
#include <signal.h>

#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>

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

// Runs one administration command against the store in `data_dir`.
class Admin {
 public:
  explicit Admin(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  int Run(const std::function<Status(RelayStore&)>& command) {
    auto store = RelayStore::Open(data_dir_);
    if (!store.ok()) return Fail("opening " + data_dir_, store.status());
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
  options.store_factory = [relay](const daicho::net::Hello& hello) { return daicho::relay::AdmitSession(*relay, hello); };
  std::mutex log_mu;
  options.log = [&log_mu](const std::string& line) {
    std::lock_guard lock(log_mu);
    std::cerr << line << std::endl;
  };
  daicho::net::SyncServer server(std::move(options));
  Status started = server.Start();
  if (!started.ok()) {
    std::cerr << "daicho-relay: cannot serve on " << listen << ": " << started.ToString() << '\n';
    return kExitRuntimeError;
  }
  std::cout << "listening on " << address->first << ":" << server.port() << (cert.empty() ? " (ws)" : " (wss)")
            << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
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
  CLI::App* user_list = user_cmd->add_subcommand("list", "list a contract's users");
  user_list->add_option("NUMBER", contract_text)->required();

  CLI::App* device_cmd = app.add_subcommand("device", "manage saved logins of PCs")->require_subcommand(1);
  CLI::App* device_list = device_cmd->add_subcommand("list", "list a user's devices with a saved login");
  device_list->add_option("NUMBER", contract_text)->required();
  device_list->add_option("USER", user)->required();
  CLI::App* device_revoke = device_cmd->add_subcommand("revoke", "revoke a device's saved login");
  device_revoke->add_option("NUMBER", contract_text)->required();
  device_revoke->add_option("USER", user)->required();
  device_revoke->add_option("DEVICE", device)->required();

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
          std::cout << "changed the password of " << user << '\n';
        }
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
        for (const std::string& d : devices) std::cout << d << '\n';
        return Status::Ok();
      });
    } else if (*device_revoke) {
      exit_code = admin.Run([&](RelayStore& store) -> Status {
        DAICHO_RETURN_IF_ERROR(store.RevokeDevice(*number, user, device));
        std::cout << "revoked the saved login of " << device << '\n';
        return Status::Ok();
      });
    }
  } catch (const std::exception& e) {
    std::cerr << "daicho-relay: internal error: " << e.what() << '\n';
    return kExitRuntimeError;
  }
  return exit_code;
}
