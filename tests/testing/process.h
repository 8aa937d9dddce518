// Runs programs of the build (a CLI, a relay) as child processes for tests
// and benchmarks, and captures their outcome.
#ifndef DAICHO_TESTS_TESTING_PROCESS_H_
#define DAICHO_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace daicho::testing {

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  int signal = 0;      // the signal that killed it, if any
  std::string out;
  std::string err;
};

// The whole file ("" when it cannot be read).
std::string ReadFile(const std::string& path);

// Replaces the file's content with `content`.
void WriteFile(const std::string& path, std::string_view content);

// Starts `exe` with `args` in the background: stdout and stderr go to the
// given files (no pipe can fill up), stdin is /dev/null. The child's pid, or
// -1 if fork failed.
pid_t SpawnProgram(const std::string& exe, const std::vector<std::string>& args, const std::string& out_path,
                   const std::string& err_path);

// Runs `exe` with `args` to the end; stdout and stderr go to files in
// `scratch_dir`. Whatever the input, the program must never crash: a death
// by signal is a test failure.
RunResult RunProgram(const std::string& exe, const std::vector<std::string>& args, const std::string& scratch_dir);

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_PROCESS_H_
