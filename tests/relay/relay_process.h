// Test helpers for the relay binary: a `daicho-relay serve` child process on
// a loopback port, one-shot administration commands, and a store to serve. Header-only; used
// by tests/relay/relay_sync_test.cc and relay_e2e_test.cc (which define
// DAICHO_RELAY_PATH).
#ifndef DAICHO_TESTS_RELAY_RELAY_PROCESS_H_
#define DAICHO_TESTS_RELAY_RELAY_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "apps/daicho-relay/relay_store.h"

namespace daicho::relay {

// A `daicho-relay serve` child process on an ephemeral loopback port.
class RelayProcess {
 public:
  // `log_path`: where the relay's stderr (its session log) goes; empty: the
  // test's own stderr.
  explicit RelayProcess(const std::string& data_dir, const std::string& log_path = "") {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      if (!log_path.empty()) {
        const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0) dup2(log, 2);
      }
      close(fds[0]);
      execl(DAICHO_RELAY_PATH, DAICHO_RELAY_PATH, "--data", data_dir.c_str(), "serve", "--listen", "127.0.0.1:0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[256];
    // "listening on 127.0.0.1:PORT (ws)"
    if (out_ && std::fgets(line, sizeof line, out_)) {
      std::string text(line);
      const size_t colon = text.rfind(':');
      if (text.rfind("listening on ", 0) == 0 && colon != std::string::npos) port_ = std::stoi(text.substr(colon + 1));
    }
    if (port_ == 0) {
      // The relay's own message went to the inherited stderr; say how it ended.
      int status = 0;
      const pid_t ended = waitpid(pid_, &status, WNOHANG);
      std::fprintf(stderr, "daicho-relay did not start: %s %d\n",
                   ended == pid_ ? (WIFEXITED(status) ? "exit status" : "killed by signal") : "still running, pid",
                   ended == pid_ ? (WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) : pid_);
    }
  }
  ~RelayProcess() {
    if (pid_ > 0 && !stopped_) Stop();
    if (out_) std::fclose(out_);
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  int port() const { return port_; }
  // SIGKILL: the relay dies mid-work, as in a power cut.
  void Kill() {
    stopped_ = true;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  // SIGTERM, then the exit status.
  int Stop() {
    stopped_ = true;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    return status;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
  bool stopped_ = false;
};

// Runs `daicho-relay --data DIR ARGS...` to completion; its exit status.
inline int RunRelayCommand(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(DAICHO_RELAY_PATH));
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(DAICHO_RELAY_PATH, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Creates the relay store in `dir` with one contract and one user (the
// store is closed again, for a relay process to open).
inline Status CreateRelayStoreWithUser(const std::string& dir, std::string_view contract, std::string_view user,
                                       std::string_view password) {
  DAICHO_ASSIGN_OR_RETURN(auto store, RelayStore::Open(dir));
  DAICHO_ASSIGN_OR_RETURN(const ContractNumber number, ContractNumber::Parse(contract));
  DAICHO_RETURN_IF_ERROR(store->AddContract(number));
  return store->AddUser(number, user, password);
}

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_RELAY_PROCESS_H_
