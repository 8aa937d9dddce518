// One LMDB environment used by several processes, some of them stopped or
// killed: a live writer that holds the write transaction too long makes
// others fail with kBusy naming it (never wait for ever), and readers killed
// inside a read transaction do not use up the reader slots while another
// process keeps the environment open.
//
// Every process here is a forked child, and the test process itself opens
// the environment only after the last fork: an LMDB environment (and the
// registry of open paths) must not cross a fork.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

using daicho::testing::ForkAndRun;
using daicho::testing::ReadAll;
using daicho::testing::TempDir;
using daicho::testing::WaitFor;
using daicho::testing::WriteAll;

// Far beyond any timeout below: a child still running then is blocked.
constexpr auto kBlockedDeadline = std::chrono::seconds(30);
constexpr unsigned kMaxReaders = 8;

struct Child {
  pid_t pid = -1;
  int from_child = -1;  // what the child reports
  int to_child = -1;    // closing it releases the child
};

// Forks a child running `body(report_fd, release_fd)`, whose return value is
// its exit code (no gtest in there). `release_fd` reaches EOF when the
// parent closes to_child.
Child Spawn(const std::function<int(int, int)>& body) {
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return {};
  const pid_t pid = ForkAndRun([&] {
    close(up[0]);
    close(down[1]);
    return body(up[1], down[0]);
  });
  close(up[1]);
  close(down[0]);
  return Child{pid, up[0], down[1]};
}

void WaitForEof(int fd) {
  char byte;
  while (read(fd, &byte, 1) > 0 || errno == EINTR) {
  }
}

// A Status sent over a pipe: code, length, message.
bool SendStatus(int fd, const Status& status) {
  const int code = static_cast<int>(status.code());
  const uint32_t size = static_cast<uint32_t>(status.message().size());
  return WriteAll(fd, &code, sizeof code) && WriteAll(fd, &size, sizeof size) &&
         WriteAll(fd, status.message().data(), size);
}

Status ReceiveStatus(int fd) {
  int code = 0;
  uint32_t size = 0;
  if (!ReadAll(fd, &code, sizeof code) || !ReadAll(fd, &size, sizeof size)) {
    return Internal("the child reported nothing");
  }
  std::string message(size, '\0');
  if (!ReadAll(fd, message.data(), size)) return Internal("the child's report was cut");
  return Status(static_cast<Code>(code), message);
}

// Waits for the child's exit until kBlockedDeadline; false (after killing
// it) if it is still running then.
bool ExitsBeforeDeadline(pid_t pid) {
  if (WaitFor([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, kBlockedDeadline, std::chrono::milliseconds(10))) {
    return true;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return false;
}

EnvOptions Options() {
  EnvOptions options;
  options.max_readers = kMaxReaders;
  return options;
}

// Opens the environment and puts key "k" in database "d": the work of a
// writer that must get through.
Status WriteOnce(const std::string& dir, const EnvOptions& options, Env* open = nullptr) {
  std::optional<Env> opened;
  if (open == nullptr) {
    auto env = Env::Open(dir, options);
    if (!env.ok()) return env.status();
    opened.emplace(std::move(env).value());
    open = &*opened;
  }
  DAICHO_ASSIGN_OR_RETURN(Dbi dbi, open->OpenDbi("d", /*create=*/true));
  DAICHO_ASSIGN_OR_RETURN(WriteTxn txn, open->BeginWrite());
  DAICHO_RETURN_IF_ERROR(txn.Put(dbi, "k", "v"));
  return txn.Commit();
}

Status ReadOnce(Env& env) {
  DAICHO_ASSIGN_OR_RETURN(Dbi dbi, env.OpenDbi("d", /*create=*/false));
  DAICHO_ASSIGN_OR_RETURN(ReadTxn txn, env.BeginRead());
  return txn.Get(dbi, "k").status();
}

// Reader slots taken by processes other than this one.
int ForeignReaderSlots(Env& env) {
  struct Count {
    int lines = 0;
  } count;
  // One line per slot in use, after a header line.
  mdb_reader_list(
      env.raw(),
      [](const char*, void* ctx) -> int {
        ++static_cast<Count*>(ctx)->lines;
        return 0;
      },
      &count);
  return count.lines - 1;
}

TEST(LmdbEnvProcessTest, WriterBlockedByLiveProcessFailsBusyNamingItAfterTimeout) {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  // A live process in the middle of a write transaction (a stuck import).
  Child holder = Spawn([&](int report, int release) {
    auto env = Env::Open(dir, Options());
    if (!env.ok()) return 2;
    auto txn = env->BeginWrite();
    if (!txn.ok()) return 3;
    const char ready = 'w';
    if (!WriteAll(report, &ready, 1)) return 4;
    WaitForEof(release);
    return 0;
  });
  ASSERT_GT(holder.pid, 0);
  char ready = 0;
  ASSERT_TRUE(ReadAll(holder.from_child, &ready, 1)) << "the holder could not begin its write transaction";

  EnvOptions impatient = Options();
  impatient.write_lock_timeout = std::chrono::milliseconds(300);
  Child writer = Spawn([&](int report, int) { return SendStatus(report, WriteOnce(dir, impatient)) ? 0 : 1; });
  ASSERT_GT(writer.pid, 0);
  const bool finished = ExitsBeforeDeadline(writer.pid);
  EXPECT_TRUE(finished) << "a writer waited more than 30 s for another process's write lock";
  if (finished) {
    const Status status = ReceiveStatus(writer.from_child);
    EXPECT_EQ(status.code(), Code::kBusy) << status;
    EXPECT_NE(status.message().find("pid " + std::to_string(holder.pid)), std::string::npos) << status;
  }
  close(writer.from_child);
  close(writer.to_child);

  // Once the holder is done, writers get through.
  close(holder.to_child);
  ASSERT_TRUE(ExitsBeforeDeadline(holder.pid));
  close(holder.from_child);
  EXPECT_DAICHO_OK(WriteOnce(dir, impatient));
}

// Issue 11 item 6: `list` commands killed while another process (the app,
// `daicho serve`) keeps the replica open.
TEST(LmdbEnvProcessTest, ReadersKilledInsideTransactionsDoNotUseUpTheSlots) {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  ASSERT_DAICHO_OK(WriteOnce(dir, Options()));
  // Keeps the environment open throughout, so its lock file is never reset,
  // then reads and writes when told to (an EOF on its release pipe).
  Child keeper = Spawn([&](int report, int release) {
    auto env = Env::Open(dir, Options());
    if (!env.ok()) return 2;
    const char ready = 'k';
    if (!WriteAll(report, &ready, 1)) return 3;
    WaitForEof(release);
    Status status = ReadOnce(*env);
    if (status.ok()) status = WriteOnce(dir, Options(), &*env);
    return SendStatus(report, status) ? 0 : 1;
  });
  ASSERT_GT(keeper.pid, 0);
  char byte = 0;
  ASSERT_TRUE(ReadAll(keeper.from_child, &byte, 1));

  for (unsigned i = 0; i < 3 * kMaxReaders; ++i) {
    SCOPED_TRACE("reader " + std::to_string(i));
    Child reader = Spawn([&](int report, int release) {
      auto env = Env::Open(dir, Options());
      Status status = env.status();
      std::optional<ReadTxn> txn;
      if (status.ok()) {
        auto begun = env->BeginRead();
        status = begun.status();
        if (begun.ok()) txn.emplace(std::move(begun).value());
      }
      if (!SendStatus(report, status)) return 1;
      WaitForEof(release);  // killed in here, inside its read transaction
      return 0;
    });
    ASSERT_GT(reader.pid, 0);
    const Status began = ReceiveStatus(reader.from_child);
    kill(reader.pid, SIGKILL);
    waitpid(reader.pid, nullptr, 0);
    close(reader.from_child);
    close(reader.to_child);
    ASSERT_DAICHO_OK(began);
  }

  close(keeper.to_child);
  ASSERT_TRUE(ExitsBeforeDeadline(keeper.pid));
  const Status kept = ReceiveStatus(keeper.from_child);
  close(keeper.from_child);
  EXPECT_TRUE(kept.ok()) << "the process that kept the environment open: " << kept;
}

// A long-running process clears the slots of readers that died, without
// waiting for the table to fill up (their snapshots pin pages: the file
// would grow).
TEST(LmdbEnvProcessTest, LongRunningProcessClearsSlotsOfDeadReaders) {
  TempDir tmp;
  const std::string dir = tmp.path().string();
  ASSERT_DAICHO_OK(WriteOnce(dir, Options()));
  constexpr int kReaders = 3;
  Child keeper = Spawn([&](int report, int release) {
    EnvOptions options = Options();
    options.reader_check_interval = std::chrono::milliseconds(0);  // check at every begin
    auto env = Env::Open(dir, options);
    if (!env.ok()) return 2;
    const char ready = 'k';
    if (!WriteAll(report, &ready, 1)) return 3;
    WaitForEof(release);
    const int before = ForeignReaderSlots(*env);
    Status status = ReadOnce(*env);
    const int after = ForeignReaderSlots(*env);
    if (status.ok() && !(before == kReaders && after == 0)) {
      status = Internal("foreign reader slots before a read: " + std::to_string(before) +
                        ", after: " + std::to_string(after) + " (expected " + std::to_string(kReaders) + ", 0)");
    }
    return SendStatus(report, status) ? 0 : 1;
  });
  ASSERT_GT(keeper.pid, 0);
  char byte = 0;
  ASSERT_TRUE(ReadAll(keeper.from_child, &byte, 1));
  // All inside their read transactions at once (a new reader's open would
  // clear the slot of one killed before), then all killed.
  std::vector<Child> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(Spawn([&](int report, int release) {
      auto env = Env::Open(dir, Options());
      if (!env.ok()) return 2;
      auto txn = env->BeginRead();
      if (!txn.ok()) return 3;
      const char ready = 'r';
      if (!WriteAll(report, &ready, 1)) return 4;
      WaitForEof(release);
      return 0;
    }));
    ASSERT_GT(readers.back().pid, 0);
    ASSERT_TRUE(ReadAll(readers.back().from_child, &byte, 1));
  }
  for (Child& reader : readers) {
    kill(reader.pid, SIGKILL);
    waitpid(reader.pid, nullptr, 0);
    close(reader.from_child);
    close(reader.to_child);
  }
  close(keeper.to_child);
  ASSERT_TRUE(ExitsBeforeDeadline(keeper.pid));
  const Status checked = ReceiveStatus(keeper.from_child);
  close(keeper.from_child);
  EXPECT_DAICHO_OK(checked);
}

}  // namespace
}  // namespace daicho::storage::lmdb
