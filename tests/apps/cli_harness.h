// What the end-to-end CLI tests share beyond tests/testing/: a program run
// on a pseudo-terminal, a writer loop beside a test, and a fixture that runs
// the real `daicho` (DAICHO_CLI_PATH) and `daicho-relay` (DAICHO_RELAY_PATH)
// binaries in a temporary directory. Header-only; the including test target
// defines DAICHO_CLI_PATH.
#ifndef DAICHO_TESTS_APPS_CLI_HARNESS_H_
#define DAICHO_TESTS_APPS_CLI_HARNESS_H_

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::testing {

inline bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What a clerk sees on a terminal: the process's stdin, stdout and stderr
// are one pseudo-terminal.
struct TerminalRun {
  int exit_code = -1;        // -1 when it did not exit normally within the deadline
  std::string screen;        // everything written to the terminal, typed text echoed or not
  bool echo_was_off = true;  // false if a line was typed while the terminal echoed
};

// Runs `exe` with `args` in `dir` on a new pseudo-terminal, as if a person
// typed: for each {prompt, line} of `typing` in turn, waits until `prompt`
// appears on the screen and the program has turned echo off (a secret), then
// types `line` and Enter. Reads the screen until the program exits.
inline TerminalRun RunOnTerminal(const std::string& exe, const std::vector<std::string>& args, const std::string& dir,
                                 const std::vector<std::pair<std::string, std::string>>& typing,
                                 std::chrono::steady_clock::duration timeout = kDeadline) {
  std::vector<std::string> full = {exe};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(full.size() + 1);  // and the nullptr
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  TerminalRun run;
  int terminal = -1;
  const pid_t pid = forkpty(&terminal, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return run;
  }
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto end = std::chrono::steady_clock::now() + timeout;
  size_t next = 0;           // the next entry of `typing`
  size_t searched_from = 0;  // its prompt is looked for after the previous one
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{terminal, POLLIN, 0};
    if (poll(&p, 1, 20) > 0) {
      char buffer[4096];
      const ssize_t n = read(terminal, buffer, sizeof buffer);
      if (n <= 0) break;  // EIO: the program closed the terminal (exited)
      run.screen.append(buffer, static_cast<size_t>(n));
    }
    if (next < typing.size()) {
      const size_t at = run.screen.find(typing[next].first, searched_from);
      if (at == std::string::npos) continue;
      // The prompt is written before echo goes off: wait for it to go off.
      termios settings{};
      const bool quiet = WaitFor([&] { return tcgetattr(terminal, &settings) == 0 && (settings.c_lflag & ECHO) == 0; },
                                 std::chrono::seconds(5), std::chrono::milliseconds(5));
      run.echo_was_off = run.echo_was_off && quiet;
      const std::string line = typing[next].second + "\n";
      if (write(terminal, line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
      searched_from = at + typing[next].first.size();
      ++next;
    }
  }
  int status = 0;
  // The terminal closes as the program exits: give the exit a moment.
  if (!WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(5))) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << exe << " did not finish on the terminal; screen:\n" << run.screen;
  } else if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  close(terminal);
  return run;
}

// Another process writing a replica while a test runs (as the office's app or
// a clerk's `daicho set` would): a shell running `daicho set` in a loop, one
// commit per round, on records `<tag>-0` .. `<tag>-9`. Never killed mid-commit:
// Stop() lets the current round finish.
class WriterLoop {
 public:
  WriterLoop(const std::string& db, const std::string& tag, const std::string& work_dir)
      : stop_file_(work_dir + "/" + tag + ".stop"),
        child_("/bin/sh", {"-c", Script(db, tag, stop_file_)}, work_dir + "/" + tag + ".out",
               work_dir + "/" + tag + ".err") {}
  ~WriterLoop() { Stop(); }
  WriterLoop(const WriterLoop&) = delete;
  WriterLoop& operator=(const WriterLoop&) = delete;

  // Ends the loop after its current commit; how many commits it made.
  size_t Stop() {
    if (!stopped_) {
      stopped_ = true;
      WriteFile(stop_file_, "");
      EXPECT_EQ(child_.WaitForExit(), 0) << "writer: " << child_.err();
    }
    const std::string out = child_.out();
    return static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  }

 private:
  static std::string Script(const std::string& db, const std::string& tag, const std::string& stop_file) {
    return "i=0; while [ ! -e '" + stop_file + "' ]; do '" + std::string(DAICHO_CLI_PATH) + "' --db '" + db +
           "' set customers " + tag + "-$((i % 10)) n=$i >/dev/null || exit 1; i=$((i + 1)); echo $i; done";
  }

  std::string stop_file_;
  Child child_;
  bool stopped_ = false;
};

// Runs the binaries in a temporary directory (`scratch` is their working
// directory); `relay_data_` is this test's relay store.
class CliTest : public ::testing::Test {
 protected:
  CliTest() { std::filesystem::create_directories(dir_.Sub("scratch")); }

  // Runs a `daicho-relay --data <relay data>` administration command that
  // must succeed; returns its stdout.
  std::string RelayAdmin(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", relay_data_});
    RunResult r = RunProgram(DAICHO_RELAY_PATH, args, dir_.Sub("scratch"));
    EXPECT_EQ(r.exit_code, 0) << Describe("daicho-relay", args, r);
    return r.out;
  }

  RunResult Run(const std::vector<std::string>& args) { return RunProgram(DAICHO_CLI_PATH, args, dir_.Sub("scratch")); }

  // Runs a daicho command that must succeed silently on stderr; returns its stdout.
  std::string Ok(const std::vector<std::string>& args) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Describe("daicho", args, r);
    EXPECT_EQ(r.err, "") << Describe("daicho", args, r);
    return r.out;
  }

  // Runs a daicho command that must fail with exit code 1 and a one-line
  // "daicho: error: ..." on stderr; returns that stderr.
  std::string Fails(const std::vector<std::string>& args) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 1) << Describe("daicho", args, r);
    EXPECT_EQ(r.err.rfind("daicho: error: ", 0), 0u) << Describe("daicho", args, r);
    EXPECT_EQ(r.out, "") << Describe("daicho", args, r);
    return r.err;
  }

  static std::string Describe(const std::string& exe, const std::vector<std::string>& args, const RunResult& r) {
    std::string s = exe;
    for (const std::string& a : args) s += " " + a;
    return s + "\nexit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
  }

  // A new replica directory `name` (daicho init).
  std::string Init(const std::string& name) {
    std::string db = dir_.Sub(name);
    Ok({"init", "--db", db});
    return db;
  }

  TempDir dir_;
  const std::string relay_data_ = dir_.Sub("relay-data");
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_APPS_CLI_HARNESS_H_
