// The test binary's own code run in a forked child process: a second process
// on the same files, a process a test can SIGKILL at any moment, a crash kept
// out of the test binary, descriptors that must not count against this
// process, another network namespace. (The build's programs are started with
// process.h instead.)
#ifndef DAICHO_TESTS_TESTING_FORKED_CHILD_H_
#define DAICHO_TESTS_TESTING_FORKED_CHILD_H_

#include <sys/types.h>

#include <functional>

namespace daicho::testing {

// Forks a child that runs `body` and exits with its return value: the child
// never returns into the caller, so no test code runs twice. Flushes stdio
// first, so nothing buffered before the fork is written twice. The child's
// pid, or -1 if fork failed.
pid_t ForkAndRun(const std::function<int()>& body);

// Waits for the child `pid` to end: its exit code, 128 + the signal that
// killed it, or -1 if it is not a child of this process.
int WaitExitCode(pid_t pid);

// A forked child that runs `setup` and then keeps what it set up
// (connections, open files, locks) until this object is destroyed. The
// constructor returns once `setup` has returned (or the child died); the
// destructor ends the child and reaps it. Not thread-safe.
class HoldingChild {
 public:
  explicit HoldingChild(const std::function<void()>& setup);
  ~HoldingChild();
  HoldingChild(const HoldingChild&) = delete;
  HoldingChild& operator=(const HoldingChild&) = delete;

 private:
  pid_t pid_ = -1;
  int release_ = -1;  // the write end of a pipe: closing it ends the child
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_FORKED_CHILD_H_
