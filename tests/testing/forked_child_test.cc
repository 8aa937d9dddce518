#include "tests/testing/forked_child.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace daicho::testing {
namespace {

TEST(ForkedChildTest, TheChildExitsWithWhatItsBodyReturns) {
  const pid_t pid = ForkAndRun([] { return 7; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExitCode(pid), 7);
}

TEST(ForkedChildTest, AKilledChildGives128PlusTheSignal) {
  const pid_t pid = ForkAndRun([] {
    pause();
    return 0;
  });
  ASSERT_GT(pid, 0);
  kill(pid, SIGKILL);
  EXPECT_EQ(WaitExitCode(pid), 128 + SIGKILL);
}

TEST(ForkedChildTest, WaitingForAProcessThatIsNoChildGivesMinusOne) { EXPECT_EQ(WaitExitCode(getpid()), -1); }

// The child holds the write end of a pipe: its reader sees no end of file
// while the child lives, and sees it once the HoldingChild is gone.
TEST(ForkedChildTest, AHoldingChildKeepsWhatItsSetupMadeUntilDestroyed) {
  TempDir dir;
  const std::string made = dir.Sub("made");
  int held[2];
  ASSERT_EQ(pipe(held), 0);
  {
    HoldingChild child([&] { WriteFile(made, "by the child"); });
    close(held[1]);  // now only the child has it
    EXPECT_EQ(ReadFile(made), "by the child") << "the constructor returned before the setup had";
    pollfd p{held[0], POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 0), 0) << "the child is gone already";
  }
  char byte;
  EXPECT_EQ(read(held[0], &byte, 1), 0) << "the child still runs";
  close(held[0]);
}

}  // namespace
}  // namespace daicho::testing
