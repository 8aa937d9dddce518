// Child processes for tests and benchmarks: the build's programs (a CLI, a
// relay) run in the background or to the end, their output in files (no
// pipe can fill up), every wait bounded by a deadline.
#ifndef DAICHO_TESTS_TESTING_PROCESS_H_
#define DAICHO_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace daicho::testing {

// How long anything that should happen "soon" (a program starting or
// exiting, a change arriving) may take before a test fails: a hang
// detector, not a timing assertion.
inline constexpr auto kDeadline = std::chrono::seconds(20);

// Polls `done` every `poll` until it is true or `timeout` passed; returns
// its last answer.
bool WaitFor(const std::function<bool()>& done, std::chrono::steady_clock::duration timeout = kDeadline,
             std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// A loopback TCP port nobody listened on a moment ago, for programs that
// take no port 0 (PostgreSQL, HAProxy); 0 if none could be had.
int FreeLoopbackPort();

// The whole file ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Replaces the file's content with `content`.
void WriteFile(const std::string& path, std::string_view content);

// Where a child process's stdout and stderr go.
struct OutputFiles {
  std::string out;      // stdout's file; "" keeps this process's stdout
  std::string err;      // stderr's file; "" keeps this process's stderr; `out` again: one file, in write order
  bool append = false;  // keep what the files hold (a process restarted on the same log)
};

// Starts `exe` with `args` in the background, stdin /dev/null. The child's
// pid, or -1 if fork failed.
pid_t SpawnProgram(const std::string& exe, const std::vector<std::string>& args, const OutputFiles& output);

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  int signal = 0;      // the signal that killed it, if any
  std::string out;
  std::string err;
};

// Runs `exe` with `args` to the end; stdout and stderr go to files in
// `scratch_dir`. Whatever the input, the program must never crash: a death
// by signal is a test failure.
RunResult RunProgram(const std::string& exe, const std::vector<std::string>& args, const std::string& scratch_dir);

// A child process running in the background. Killed (SIGKILL) if still
// running at the end. Not thread-safe.
class Child {
 public:
  Child(const std::string& exe, const std::vector<std::string>& args, OutputFiles output);
  Child(const std::string& exe, const std::vector<std::string>& args, std::string out_path, std::string err_path)
      : Child(exe, args, OutputFiles{std::move(out_path), std::move(err_path)}) {}
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // True until the process has exited (and been reaped).
  bool running();
  void Signal(int signal_number);
  // Waits up to `timeout` for the process to exit; its exit code, or nullopt
  // when it is still running or died by a signal.
  std::optional<int> WaitForExit(std::chrono::steady_clock::duration timeout = kDeadline);
  // The status waitpid() gave once the process ended (WIFEXITED etc.); -1 before.
  int wait_status() const { return wait_status_; }
  int killed_by() const { return signal_; }
  pid_t pid() const { return pid_; }
  std::string out() const { return ReadFile(output_.out); }
  std::string err() const { return ReadFile(output_.err); }

 private:
  OutputFiles output_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = -1;
  int exit_code_ = -1;
  int signal_ = 0;
};

// A long-running process (relay, serving PC) that writes a line matching
// `ready_pattern` once it accepts connections; the pattern's first group is
// the port. The ready and "stopped" lines are looked for on stdout, or on
// stderr with `on_stderr`, in what the process wrote (not what an appended
// file held before). A process that does not get ready within kDeadline is
// a test failure, and port() stays 0.
class ListeningProcess {
 public:
  ListeningProcess(const std::string& exe, const std::vector<std::string>& args, const OutputFiles& output,
                   const std::string& ready_pattern, bool on_stderr = false);

  int port() const { return port_; }
  // Group `i` of the ready line ("" before it was written).
  std::string ready_group(size_t i) const { return i < ready_.size() ? ready_[i] : std::string(); }
  // SIGTERM; the process must stop cleanly (exit 0, "stopped").
  void Stop();
  // What the process wrote to the stream the ready line goes to.
  std::string log() const;
  Child& child() { return child_; }
  const Child& child() const { return child_; }

 private:
  bool on_stderr_;
  size_t log_start_;  // the size of the log file before the process started
  Child child_;
  std::vector<std::string> ready_;
  int port_ = 0;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_PROCESS_H_
