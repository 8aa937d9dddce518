#include "tests/testing/forked_child.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>

namespace daicho::testing {

pid_t ForkAndRun(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  return pid;
}

int WaitExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

HoldingChild::HoldingChild(const std::function<void()>& setup) {
  int ready[2];
  int release[2];
  if (pipe(ready) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  if (pipe(release) != 0) {
    ADD_FAILURE() << "pipe failed";
    close(ready[0]);
    close(ready[1]);
    return;
  }
  pid_ = ForkAndRun([&] {
    close(ready[0]);
    close(release[1]);
    setup();
    char byte = 1;
    (void)!write(ready[1], &byte, 1);
    (void)!read(release[0], &byte, 1);  // EOF once the parent closes its end
    return 0;
  });
  EXPECT_GT(pid_, 0) << "could not fork";
  close(ready[1]);
  close(release[0]);
  release_ = release[1];
  // One byte once `setup` returned, or EOF if the child died first.
  char byte;
  if (pid_ > 0) (void)!read(ready[0], &byte, 1);
  close(ready[0]);
}

HoldingChild::~HoldingChild() {
  if (release_ >= 0) close(release_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

}  // namespace daicho::testing
