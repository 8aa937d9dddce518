// A `daicho-relay serve` child process on an ephemeral loopback port, and
// the relay's one-shot administration commands, for tests and benchmarks.
// DAICHO_RELAY_PATH (the build's relay) comes with the daicho_testing target;
// tests that use it depend on the daicho-relay target themselves.
#ifndef DAICHO_TESTS_TESTING_RELAY_PROCESS_H_
#define DAICHO_TESTS_TESTING_RELAY_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "daicho/status.h"
#include "tests/testing/process.h"

namespace daicho::testing {

// Where a relay keeps its store, as daicho-relay's flags.
struct RelayStore {
  std::vector<std::string> flags;

  static RelayStore Data(const std::string& dir) { return {{"--data", dir}}; }
  static RelayStore Postgres(const std::string& conninfo) { return {{"--store", conninfo}}; }
};

// `daicho-relay STORE serve --listen 127.0.0.1:0 SERVE_ARGS...` (or the
// `--listen 127.0.0.1:PORT` of `serve_args`), ready once the relay logged its
// port (ws://, or wss:// when `serve_args` name a certificate). A relay that did not start is a test failure, and
// port() is 0. Stopped (SIGTERM) when destroyed.
class RelayProcess {
 public:
  // `log_path`: the file the relay's log (stderr, and stdout) is appended
  // to; empty: DATA_DIR.log beside the data directory. `relay`: the binary
  // (another build's, say, to compare).
  explicit RelayProcess(const std::string& data_dir, const std::string& log_path = "",
                        const std::vector<std::string>& serve_args = {}, const std::string& relay = DAICHO_RELAY_PATH);
  RelayProcess(const RelayStore& store, const std::string& log_path, const std::vector<std::string>& serve_args = {},
               const std::string& relay = DAICHO_RELAY_PATH);
  ~RelayProcess();
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  int port() const { return process_.port(); }
  // "ws" or "wss", as the relay said when it started.
  std::string scheme() const { return process_.ready_group(2); }
  std::string url() const { return scheme() + "://127.0.0.1:" + std::to_string(port()) + "/"; }
  // Everything logged to the relay's log file so far (earlier runs too).
  std::string log() const { return ReadFile(log_path_); }
  pid_t pid() const { return process_.child().pid(); }
  // SIGKILL: the relay dies mid-work, as in a power cut.
  void Kill();
  // SIGTERM, then the status waitpid() gave (0: exit code 0). A relay
  // still running after kDeadline is killed.
  int Stop();
  // SIGTERM; the relay must stop cleanly (exit code 0, "stopped" logged):
  // a test failure otherwise.
  void StopCleanly();

 private:
  std::string log_path_;
  ListeningProcess process_;
  bool stopped_ = false;
};

// Runs `daicho-relay ARGS...` to completion, its output going to this
// process's; its exit code, or -1 when it did not exit normally.
int RunRelayCommand(const std::vector<std::string>& args);

// Creates the relay store in `dir` with one contract and one user, with the
// relay's own administration commands (nothing keeps the store open).
Status CreateRelayStoreWithUser(const std::string& dir, std::string_view contract, std::string_view user,
                                std::string_view password);
// The same in `store` (`init` included); `scratch` names files the commands'
// password and output may briefly take.
Status CreateRelayStoreWithUser(const RelayStore& store, const std::string& scratch, std::string_view contract,
                                std::string_view user, std::string_view password);

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_RELAY_PROCESS_H_
