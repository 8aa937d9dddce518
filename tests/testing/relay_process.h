// Test helpers for the relay binary: a `daicho-relay serve` child process on
// a loopback port, one-shot administration commands, and a store to serve. Header-only; used
// by tests/relay/relay_sync_test.cc and relay_e2e_test.cc and by
// bench/hostile_fragments.cc (which define DAICHO_RELAY_PATH).
#ifndef DAICHO_TESTS_TESTING_RELAY_PROCESS_H_
#define DAICHO_TESTS_TESTING_RELAY_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_service.h"

namespace daicho::relay {

// A `daicho-relay serve` child process on an ephemeral loopback port.
class RelayProcess {
 public:
  // `log_path`: the file the relay's log (stderr, and stdout) is appended
  // to; empty: DATA_DIR.log beside the data directory. `serve_args`: more
  // flags for `serve`. `relay`: the binary (another build's, say, to compare).
  explicit RelayProcess(const std::string& data_dir, const std::string& log_path = "",
                        const std::vector<std::string>& serve_args = {}, const std::string& relay = DAICHO_RELAY_PATH)
      : log_path_(log_path.empty() ? data_dir + ".log" : log_path) {
    std::vector<const char*> argv = {relay.c_str(), "--data", data_dir.c_str(), "serve", "--listen", "127.0.0.1:0"};
    for (const std::string& arg : serve_args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    const size_t logged_before = ReadLog().size();
    pid_ = fork();
    if (pid_ == 0) {
      const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (log < 0) _exit(126);
      dup2(log, 1);
      dup2(log, 2);
      execv(relay.c_str(), const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    // "2026-12-07T08:15:02.123Z event=relay_started listen=127.0.0.1:PORT ..."
    const std::string ready = " event=relay_started listen=127.0.0.1:";
    for (int waited_ms = 0; port_ == 0 && waited_ms < 20000; waited_ms += 10) {
      const std::string log = ReadLog().substr(logged_before);
      if (const size_t at = log.find(ready); at != std::string::npos) {
        port_ = std::atoi(log.c_str() + at + ready.size());
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        stopped_ = true;
        std::fprintf(stderr, "daicho-relay did not start (%s %d): %s\n",
                     WIFEXITED(status) ? "exit status" : "killed by signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log.c_str());
        return;
      }
      usleep(10 * 1000);
    }
  }
  ~RelayProcess() {
    if (pid_ > 0 && !stopped_) Stop();
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/"; }
  int port() const { return port_; }
  // Everything logged to the relay's log file so far.
  std::string log() const { return ReadLog(); }
  pid_t pid() const { return pid_; }
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
  std::string ReadLog() const {
    std::string text;
    if (FILE* in = std::fopen(log_path_.c_str(), "rb")) {
      char buffer[4096];
      for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) text.append(buffer, n);
      std::fclose(in);
    }
    return text;
  }

  std::string log_path_;
  pid_t pid_ = -1;
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
  DAICHO_ASSIGN_OR_RETURN(auto backend, LmdbBackend::Open(dir));
  DAICHO_ASSIGN_OR_RETURN(auto store, RelayService::Create(std::move(backend)));
  DAICHO_ASSIGN_OR_RETURN(const ContractNumber number, ContractNumber::Parse(contract));
  DAICHO_RETURN_IF_ERROR(store->AddContract(number));
  return store->AddUser(number, user, password);
}

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_TESTING_RELAY_PROCESS_H_
