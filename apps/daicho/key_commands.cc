// The office key commands of `daicho`: key init|unlock|recover|rotate|
// passphrase|status|forget|export|import (unlock --peer URL, export and import
// need no relay: daicho/peer_sync.h), and the secret input they share with connect and
// sync (a file's first line, or the terminal with echo off).
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "apps/common/secret_file.h"
#include "apps/daicho/commands.h"
#include "apps/daicho/office_key_cli.h"
#include "daicho/office_key.h"
#include "daicho/relay_client.h"

namespace daicho::cli {
namespace {

// The terminal settings to put back if a signal ends the process while echo
// is off (otherwise the shell would be left typing blind).
termios g_saved_terminal{};

extern "C" void RestoreTerminalAndReraise(int signal_number) {
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// One line typed on the terminal (stdin) with echo off; the prompt goes to
// stderr so that stdout stays the command's output.
Result<std::string> AskHidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  if (tcgetattr(STDIN_FILENO, &old) != 0) {
    return Status(Code::kIoError, std::string("cannot read the terminal settings: ") + std::strerror(errno));
  }
  g_saved_terminal = old;
  struct sigaction restore {
  }, old_int{}, old_term{}, old_hup{};
  restore.sa_handler = RestoreTerminalAndReraise;
  sigemptyset(&restore.sa_mask);
  sigaction(SIGINT, &restore, &old_int);
  sigaction(SIGTERM, &restore, &old_term);
  sigaction(SIGHUP, &restore, &old_hup);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  if (!got) {
    std::cerr << '\n';
    return Status(Code::kInvalidArgument, "nothing was typed");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Wipes a secret's bytes before the string goes away (best effort).
void Wipe(std::string& secret) {
  volatile char* p = secret.data();
  for (size_t i = 0; i < secret.size(); ++i) p[i] = 0;
  secret.clear();
}

void PrintRecoveryCode(const std::string& code, std::ostream& out) {
  const std::string rule(72, '=');
  out << '\n'
      << rule << '\n'
      << "Recovery code \xE2\x80\x94 print it and keep it offline; it is shown only now:\n"
      << '\n'
      << "    " << code << '\n'
      << '\n'
      << "It opens the office's data when the passphrase is forgotten (daicho key recover).\n"
      << "Anyone holding it and a login can read the ledger: do not store it on a PC.\n"
      << rule << "\n\n";
}

std::string KeptWhere(bool store_key) {
  return store_key ? "kept on this PC (office.key in the replica directory, owner-only)"
                   : "not stored (--no-store-key): sync will ask for the passphrase (or --passphrase-file) "
                     "each time";
}

}  // namespace

bool CanAskOnTerminal() { return ::isatty(STDIN_FILENO) == 1; }

Secret GetSecret(const SecretRequest& request) {
  Secret secret;
  if (!request.file.empty()) {
    auto read = apps::ReadSecretFile(request.file);
    if (!read.ok()) {
      secret.error = Outcome::Failed(read.status(), "reading " + request.what + " from " + request.file);
    } else {
      secret.value = *std::move(read);
    }
    return secret;
  }
  if (!CanAskOnTerminal()) {
    secret.error = Outcome::Usage(request.what + " is needed: give " + request.file_option +
                                  " FILE (its first line), or run on a terminal to type it");
    return secret;
  }
  auto typed = AskHidden(request.prompt);
  if (!typed.ok()) {
    secret.error = Outcome::Failed(typed.status(), "reading " + request.what + " from the terminal");
    return secret;
  }
  if (request.confirm) {
    auto again = AskHidden("Again, to confirm: ");
    if (!again.ok()) {
      secret.error = Outcome::Failed(again.status(), "reading " + request.what + " from the terminal");
      Wipe(*typed);
      return secret;
    }
    const bool same = *again == *typed;
    Wipe(*again);
    if (!same) {
      Wipe(*typed);
      secret.error = Outcome::Failed(Status(Code::kInvalidArgument, "the two entries differ; nothing was changed"),
                                     "reading " + request.what);
      return secret;
    }
  }
  secret.value = *std::move(typed);
  return secret;
}

std::string OfficeKeyText(const OfficeKeyStatus& status) {
  if (status.key_id == 0) {
    return "none held on this PC (daicho key unlock; daicho key init on the office's first PC)";
  }
  return "key " + std::to_string(status.key_id) + " held (" + std::to_string(status.keys_held) +
         (status.keys_held == 1 ? " key), " : " keys), ") +
         (status.stored ? "stored in the replica directory" : "in memory only, not stored");
}

nlohmann::ordered_json OfficeKeyJson(const OfficeKeyStatus& status) {
  nlohmann::ordered_json j;
  j["key_id"] = status.key_id;
  j["keys_held"] = status.keys_held;
  j["stored"] = status.stored;
  return j;
}

bool NeedsOfficeKeyUnlock(const Status& status) {
  return status.code() == Code::kFailedPrecondition && status.message().find("daicho key unlock") != std::string::npos;
}

Outcome KeyCommand(const std::string& db, KeyAction action, const KeyArgs& args, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  RelayClient client(**replica);

  if (action == KeyAction::kStatus) {
    auto status = GetOfficeKeyStatus(RelayClient(**replica));
    if (!status.ok()) return Outcome::Failed(status.status(), "reading the office key");
    if (args.json) {
      out << OfficeKeyJson(*status).dump() << '\n';
    } else {
      out << "office key:    " << OfficeKeyText(*status) << '\n';
    }
    return Outcome::Ok();
  }
  if (action == KeyAction::kForget) {
    Status forgot = ForgetOfficeKey(client);
    if (!forgot.ok()) return Outcome::Failed(forgot, "removing the office key");
    out << "office key removed from this PC; `daicho key unlock` (or `key recover`) brings it back for syncing\n";
    return Outcome::Ok();
  }

  // Without the relay: the passphrase-wrapped key from an office PC or a file.
  if (action == KeyAction::kExport) {
    Status exported = ExportOfficeKey(**replica, args.file);
    if (!exported.ok()) return Outcome::Failed(exported, "exporting the office key to " + args.file);
    out << "office key written to " << args.file
        << " (wrapped by the office passphrase; the bare key and the recovery code are not in it)\n"
        << "on the other PC: daicho key import " << args.file << " --passphrase-file FILE\n";
    return Outcome::Ok();
  }
  if (action == KeyAction::kImport || (action == KeyAction::kUnlock && !args.peer_url.empty())) {
    const bool import = action == KeyAction::kImport;
    Secret passphrase = GetSecret(
        {args.passphrase_file, "--passphrase-file", "the office passphrase", "Office passphrase: ", /*confirm=*/false});
    if (passphrase.error) return *passphrase.error;
    Status unlocked = import ? ImportOfficeKey(**replica, args.file, passphrase.value, args.store_key)
                             : UnlockOfficeKeyFromPeer(**replica, args.peer_url, passphrase.value, args.store_key);
    Wipe(passphrase.value);
    if (!import && unlocked.code() == Code::kUnauthenticated &&
        unlocked.message().find("peer reported") != std::string::npos) {
      // The serving PC refused to hand out the envelope.
      unlocked = Status(unlocked.code(), unlocked.message() +
                                             " (it hands out the passphrase-wrapped key only while it runs `daicho "
                                             "serve --share-key`)");
    }
    if (!unlocked.ok()) {
      return Outcome::Failed(unlocked, import ? "importing the office key from " + args.file
                                              : "unlocking the office key from the PC at " + args.peer_url);
    }
    // A fresh client: `client` read the key held before this call.
    auto status = GetOfficeKeyStatus(RelayClient(**replica));
    out << "office key" << (status.ok() && status->key_id != 0 ? " " + std::to_string(status->key_id) : std::string())
        << " unlocked from " << (import ? args.file : args.peer_url) << " and " << KeptWhere(args.store_key) << '\n';
    return Outcome::Ok();
  }

  // Everything else talks to the relay: it must be configured, and a login
  // is needed when none was saved.
  auto settings = client.Settings();
  if (!settings.ok()) return Outcome::Failed(settings.status(), "reading the relay settings");
  if (!*settings) {
    return Outcome::Failed(Status(Code::kFailedPrecondition, "no relay configured: run `daicho connect` first"),
                           "office key");
  }
  const RelaySettings& s = **settings;
  OfficeKeyOptions options;
  options.store_key = args.store_key;
  if (!args.password_file.empty() || s.device_token.empty()) {
    Secret password = GetSecret({args.password_file, "--password-file", "the relay password (no login is saved)",
                                 "Relay password for " + s.user + ": ", /*confirm=*/false});
    if (password.error) return *password.error;
    options.password = std::move(password.value);
  }
  const std::string contract = "contract " + s.contract;

  switch (action) {
    case KeyAction::kInit: {
      Secret passphrase = GetSecret({args.passphrase_file, "--passphrase-file", "the new office passphrase",
                                     "New office passphrase (10 or more characters): ", /*confirm=*/true});
      if (passphrase.error) return *passphrase.error;
      auto code = InitOfficeKey(client, passphrase.value, options);
      Wipe(passphrase.value);
      if (!code.ok()) return Outcome::Failed(code.status(), "setting up the office key of " + contract);
      auto status = GetOfficeKeyStatus(client);
      out << "office key " << (status.ok() ? std::to_string(status->key_id) : std::string("1")) << " created for "
          << contract << " and " << KeptWhere(args.store_key) << '\n'
          << "other PCs: daicho connect ... --passphrase-file FILE, or daicho key unlock\n";
      PrintRecoveryCode(*code, out);
      return Outcome::Ok();
    }
    case KeyAction::kUnlock:
    case KeyAction::kRecover: {
      const bool recover = action == KeyAction::kRecover;
      Secret secret = recover ? GetSecret({args.recovery_file, "--recovery-file", "the recovery code",
                                           "Recovery code: ", /*confirm=*/false})
                              : GetSecret({args.passphrase_file, "--passphrase-file", "the office passphrase",
                                           "Office passphrase: ", /*confirm=*/false});
      if (secret.error) return *secret.error;
      Status unlocked =
          recover ? RecoverOfficeKey(client, secret.value, options) : UnlockOfficeKey(client, secret.value, options);
      Wipe(secret.value);
      if (!unlocked.ok()) {
        return Outcome::Failed(unlocked,
                               std::string(recover ? "recovering" : "unlocking") + " the office key of " + contract);
      }
      auto status = GetOfficeKeyStatus(client);
      out << "office key " << (status.ok() ? std::to_string(status->key_id) : std::string("?")) << " of " << contract
          << " unlocked" << (recover ? " with the recovery code" : "") << " and " << KeptWhere(args.store_key) << '\n';
      if (recover) out << "if the passphrase was forgotten, set a new one: daicho key passphrase\n";
      return Outcome::Ok();
    }
    case KeyAction::kRotate: {
      Secret passphrase =
          GetSecret({args.passphrase_file, "--passphrase-file", "the passphrase for the new office key",
                     "Passphrase for the new office key (the current one or a new one): ", /*confirm=*/true});
      if (passphrase.error) return *passphrase.error;
      auto code = RotateOfficeKey(client, passphrase.value, options);
      Wipe(passphrase.value);
      if (!code.ok()) return Outcome::Failed(code.status(), "rotating the office key of " + contract);
      auto status = GetOfficeKeyStatus(client);
      out << "new office key " << (status.ok() ? std::to_string(status->key_id) : std::string("?")) << " made for "
          << contract << " and " << KeptWhere(args.store_key) << '\n'
          << "changes from now on use it; every other PC must run `daicho key unlock` before its next sync\n"
          << "the previous recovery code no longer opens the new key; this one does:\n";
      PrintRecoveryCode(*code, out);
      return Outcome::Ok();
    }
    case KeyAction::kPassphrase: {
      Secret passphrase = GetSecret({args.new_passphrase_file, "--new-passphrase-file", "the new office passphrase",
                                     "New office passphrase (10 or more characters): ", /*confirm=*/true});
      if (passphrase.error) return *passphrase.error;
      Status changed = ChangeOfficePassphrase(client, passphrase.value, options);
      Wipe(passphrase.value);
      if (!changed.ok()) return Outcome::Failed(changed, "changing the office passphrase of " + contract);
      out << "office passphrase of " << contract
          << " changed: the old one no longer unlocks the key; the key and the recovery code stay the same\n";
      return Outcome::Ok();
    }
    case KeyAction::kStatus:
    case KeyAction::kForget:
    case KeyAction::kExport:
    case KeyAction::kImport:
      break;
  }
  return Outcome::Ok();
}

}  // namespace daicho::cli
