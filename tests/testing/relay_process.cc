#include "tests/testing/relay_process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <utility>

namespace daicho::testing {
namespace {

std::vector<std::string> ServeArgs(const RelayStore& store, const std::vector<std::string>& serve_args) {
  std::vector<std::string> args = store.flags;
  args.emplace_back("serve");
  // A relay restarted on its port (a crash loop) names it itself.
  if (std::find(serve_args.begin(), serve_args.end(), "--listen") == serve_args.end()) {
    args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  }
  args.insert(args.end(), serve_args.begin(), serve_args.end());
  return args;
}

// Runs the build's relay with `args` to completion; its exit code, or -1.
int RunRelay(const std::vector<std::string>& args, const OutputFiles& output) {
  Child command(DAICHO_RELAY_PATH, args, output);
  // Hashing a password takes a while (Argon2id), more so on a loaded machine.
  return command.WaitForExit(6 * kDeadline).value_or(-1);
}

}  // namespace

// "2026-12-07T08:15:02.123Z event=relay_started listen=127.0.0.1:PORT scheme=ws ..."
RelayProcess::RelayProcess(const std::string& data_dir, const std::string& log_path,
                           const std::vector<std::string>& serve_args, const std::string& relay)
    : RelayProcess(RelayStore::Data(data_dir), log_path.empty() ? data_dir + ".log" : log_path, serve_args, relay) {}

RelayProcess::RelayProcess(const RelayStore& store, const std::string& log_path,
                           const std::vector<std::string>& serve_args, const std::string& relay)
    : log_path_(log_path),
      process_(relay, ServeArgs(store, serve_args), OutputFiles{log_path_, log_path_, /*append=*/true},
               "event=relay_started listen=127\\.0\\.0\\.1:([0-9]+) scheme=(wss?) ", /*on_stderr=*/true) {}

RelayProcess::~RelayProcess() {
  if (!stopped_) Stop();
}

void RelayProcess::Kill() {
  stopped_ = true;
  process_.child().Signal(SIGKILL);
  process_.child().WaitForExit();
}

int RelayProcess::Stop() {
  stopped_ = true;
  Child& child = process_.child();
  child.Signal(SIGTERM);
  if (!child.WaitForExit().has_value() && child.running()) {
    ADD_FAILURE() << "daicho-relay did not stop within the deadline; log:\n" << log();
    Kill();
  }
  return child.wait_status();
}

void RelayProcess::StopCleanly() {
  stopped_ = true;
  process_.Stop();
}

int RunRelayCommand(const std::vector<std::string>& args) { return RunRelay(args, OutputFiles{}); }

Status CreateRelayStoreWithUser(const std::string& dir, std::string_view contract, std::string_view user,
                                std::string_view password) {
  return CreateRelayStoreWithUser(RelayStore::Data(dir), dir, contract, user, password);
}

Status CreateRelayStoreWithUser(const RelayStore& store, const std::string& scratch, std::string_view contract,
                                std::string_view user, std::string_view password) {
  const std::string password_file = scratch + ".password";
  const std::string output = scratch + ".setup.log";  // read only when a command fails
  WriteFile(password_file, std::string(password) + "\n");
  std::vector<std::vector<std::string>> commands = {
      {"init"},
      {"contract", "add", std::string(contract)},
      {"user", "add", std::string(contract), std::string(user), "--password-file", password_file},
  };
  for (auto& command : commands) command.insert(command.begin(), store.flags.begin(), store.flags.end());
  Status status;
  for (const auto& command : commands) {
    if (const int code = RunRelay(command, OutputFiles{output, output, /*append=*/true}); code != 0) {
      std::string line = "daicho-relay";
      for (const std::string& arg : command) line += " " + arg;
      status = Status(Code::kInternal, line + ": exit code " + std::to_string(code) + ": " + ReadFile(output));
      break;
    }
  }
  std::error_code ignored;
  std::filesystem::remove(password_file, ignored);
  std::filesystem::remove(output, ignored);
  return status;
}

}  // namespace daicho::testing
