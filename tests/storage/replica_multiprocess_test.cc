// One replica directory open in several processes at once (the CLI committing
// while a sync client applies). Every write must compute from the stored
// state, not a process's memory: no dot issued twice, no commit dropped from
// the version vector, stamps increasing across processes, and the rollback
// guard agreeing with meta whoever wrote last. The other processes are
// forked before the test process opens the replica (a second Open in one
// process is refused, and an LMDB environment must not cross a fork).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daicho/replica.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using ::daicho::testing::ForkAndRun;
using ::daicho::testing::ReadAll;
using ::daicho::testing::TempDir;
using ::daicho::testing::WaitExitCode;
using ::daicho::testing::WriteAll;

constexpr std::string_view kCollection = "customers";

// A stalled wall clock: stamps then differ only by their logical part, so two
// processes that did not share their clock state would issue equal stamps.
class StalledClock : public Clock {
 public:
  uint64_t NowMillis() const override { return 1'700'000'000'000; }
};

// Blocks until the test closes the write end of the `go` pipe, so that
// children start together.
void WaitForGo(int fd) {
  char byte;
  while (read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

// Options whose warnings are counted into `*warnings` (and kept, for messages).
ReplicaOptions CountingOptions(std::vector<std::string>* warnings) {
  ReplicaOptions options;
  options.clock = std::make_shared<StalledClock>();
  options.warning_log = [warnings](std::string_view message) { warnings->emplace_back(message); };
  return options;
}

// A new replica of its own, on the same stalled clock (so its stamps are not
// "far ahead" where they are applied).
ReplicaOptions SourceOptions() {
  ReplicaOptions options;
  options.create_if_missing = true;
  options.clock = std::make_shared<StalledClock>();
  return options;
}

// What a child reports per commit.
struct CommitReport {
  uint64_t seq = 0;
  uint64_t wall_ms = 0;
  uint64_t logical = 0;
};

void CreateReplica(const std::string& path) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = Replica::Open(path, options);
  ASSERT_DAICHO_OK(replica);
}

// A process that holds the replica open for its whole life and runs the
// commands the test sends it, one at a time: the "other process" of a test.
class OtherProcess {
 public:
  enum Op : char { kCommit = 'c', kApplyFrom = 'a', kQuit = 'q' };
  struct Reply {
    int64_t code = -1;  // 0 ok; otherwise the failing step
    CommitReport commit;
  };

  explicit OtherProcess(std::string path, std::string scratch) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) std::abort();
    pid_ = ForkAndRun([&]() -> int {
      close(to_child[1]);
      close(from_child[0]);
      return Serve(path, scratch, to_child[0], from_child[1]);
    });
    close(to_child[0]);
    close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
  }
  ~OtherProcess() {
    if (pid_ > 0) Quit();
  }

  // Commits record other-<arg> (field n = arg) in the child.
  Reply Commit(int64_t arg) { return Send(kCommit, arg); }
  // The child commits one change to a replica of its own and applies it.
  Reply ApplyFromItsOwnSource(int64_t arg) { return Send(kApplyFrom, arg); }
  // Ends the child; returns its exit code (0, or 100 + warnings it logged).
  int Quit() {
    Send(kQuit, 0);
    close(to_child_);
    close(from_child_);
    const int code = WaitExitCode(pid_);
    pid_ = -1;
    return code;
  }

 private:
  struct Command {
    char op;
    int64_t arg;
  };

  Reply Send(Op op, int64_t arg) {
    Command command{op, arg};
    Reply reply;
    if (!WriteAll(to_child_, &command, sizeof command) || !ReadAll(from_child_, &reply, sizeof reply)) {
      reply.code = -2;
    }
    return reply;
  }

  static int Serve(const std::string& path, const std::string& scratch, int in, int out) {
    std::vector<std::string> warnings;
    auto replica = Replica::Open(path, CountingOptions(&warnings));
    if (!replica.ok()) return 2;
    for (Command command{}; ReadAll(in, &command, sizeof command);) {
      Reply reply;
      reply.code = 0;
      if (command.op == kQuit) {
        WriteAll(out, &reply, sizeof reply);
        return warnings.empty() ? 0 : 100 + static_cast<int>(warnings.size());
      }
      if (command.op == kCommit) {
        WriteTransaction txn = (*replica)->BeginWrite();
        auto info = txn.Set(kCollection, "other-" + std::to_string(command.arg), "n", Value(command.arg)).ok()
                        ? txn.Commit()
                        : Result<CommitInfo>(Status(Code::kInternal, "set"));
        if (info.ok()) {
          reply.commit = {info->dot.counter, info->hlc.wall_ms, info->hlc.logical};
        } else {
          reply.code = 3;
        }
      } else if (command.op == kApplyFrom) {
        auto source = Replica::Open(scratch + "/source-" + std::to_string(command.arg), SourceOptions());
        if (!source.ok()) {
          reply.code = 4;
        } else {
          WriteTransaction txn = (*source)->BeginWrite();
          if (!txn.Set(kCollection, "applied-" + std::to_string(command.arg), "n", Value(command.arg)).ok() ||
              !txn.Commit().ok()) {
            reply.code = 5;
          } else {
            auto changes = (*source)->ChangesSince(VersionVector());
            if (!changes.ok() || !(*replica)->Apply(*changes).ok()) reply.code = 6;
          }
        }
      }
      if (!WriteAll(out, &reply, sizeof reply)) return 7;
    }
    return 8;  // the test went away without kQuit
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

class ReplicaMultiProcessTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string path_ = dir_.Sub("replica");
};

// Two processes commit 200 changes each at the same time while a third
// opens and closes the replica over and over: 400 dots, each issued once,
// all held, every record present, stamps increasing in seq order, and no
// open ever mistakes the other processes' commits for a rollback.
TEST_F(ReplicaMultiProcessTest, ConcurrentCommittersIssueEachDotOnceAndKeepEveryChange) {
  constexpr int kPerProcess = 200;
  constexpr int kOpens = 60;
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  ReplicaId id;
  {
    auto replica = Replica::Open(path_);
    ASSERT_DAICHO_OK(replica);
    id = (*replica)->id();
  }
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  int reports[2][2];
  std::vector<pid_t> committers;
  for (int p = 0; p < 2; ++p) {
    ASSERT_EQ(pipe(reports[p]), 0);
    committers.push_back(ForkAndRun([&, p]() -> int {
      close(go[1]);
      close(reports[p][0]);
      std::vector<std::string> warnings;
      auto replica = Replica::Open(path_, CountingOptions(&warnings));
      if (!replica.ok()) return 2;
      WaitForGo(go[0]);
      for (int i = 0; i < kPerProcess; ++i) {
        WriteTransaction txn = (*replica)->BeginWrite();
        const std::string record = "p" + std::to_string(p) + "-" + std::to_string(i);
        if (!txn.Set(kCollection, record, "n", Value(int64_t{p * 1000 + i})).ok()) return 3;
        auto info = txn.Commit();
        if (!info.ok()) return 4;
        const CommitReport report{info->dot.counter, info->hlc.wall_ms, info->hlc.logical};
        if (!WriteAll(reports[p][1], &report, sizeof report)) return 5;
      }
      return warnings.empty() ? 0 : 100 + static_cast<int>(warnings.size());
    }));
    close(reports[p][1]);
  }
  const pid_t opener = ForkAndRun([&]() -> int {
    close(go[1]);
    WaitForGo(go[0]);
    for (int i = 0; i < kOpens; ++i) {
      std::vector<std::string> warnings;
      auto replica = Replica::Open(path_, CountingOptions(&warnings));
      if (!replica.ok()) return 2;
      if (!warnings.empty()) {
        std::fprintf(stderr, "open %d warned: %s\n", i, warnings.front().c_str());
        return 3;
      }
      if ((*replica)->id() != id) return 4;
    }
    return 0;
  });
  close(go[0]);
  close(go[1]);  // go

  std::map<uint64_t, CommitReport> by_seq;
  for (int p = 0; p < 2; ++p) {
    for (CommitReport report; ReadAll(reports[p][0], &report, sizeof report);) {
      EXPECT_TRUE(by_seq.emplace(report.seq, report).second) << "seq " << report.seq << " issued twice";
    }
    close(reports[p][0]);
  }
  for (pid_t pid : committers) EXPECT_EQ(WaitExitCode(pid), 0);
  EXPECT_EQ(WaitExitCode(opener), 0) << "an open took the others' commits for a rollback or copy";

  ASSERT_EQ(by_seq.size(), 2u * kPerProcess);
  EXPECT_EQ(by_seq.begin()->first, 1u);
  EXPECT_EQ(by_seq.rbegin()->first, 2u * kPerProcess);
  for (auto it = std::next(by_seq.begin()); it != by_seq.end(); ++it) {
    const CommitReport& before = std::prev(it)->second;
    EXPECT_LT(std::tie(before.wall_ms, before.logical), std::tie(it->second.wall_ms, it->second.logical))
        << "stamp of seq " << it->first << " is not after the one of seq " << before.seq;
  }

  std::vector<std::string> warnings;
  auto replica = Replica::Open(path_, CountingOptions(&warnings));
  ASSERT_DAICHO_OK(replica);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ((*replica)->id(), id);
  auto vv = (*replica)->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(id), 2u * kPerProcess);
  auto changes = (*replica)->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_EQ(changes->size(), 2u * kPerProcess);
  std::set<std::string> payloads;
  for (size_t i = 0; i < changes->size(); ++i) {
    EXPECT_EQ((*changes)[i].origin, id);
    EXPECT_EQ((*changes)[i].seq, i + 1);
    payloads.insert((*changes)[i].payload);
  }
  EXPECT_EQ(payloads.size(), 2u * kPerProcess) << "two seqs carry the same change";
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < kPerProcess; ++i) {
      auto record = (*replica)->Get(kCollection, "p" + std::to_string(p) + "-" + std::to_string(i));
      ASSERT_DAICHO_OK(record);
      ASSERT_NE(record->Find("n"), nullptr);
      EXPECT_EQ(record->Find("n")->value, Value(int64_t{p * 1000 + i}));
    }
  }
}

// A handle opened before another process's commits sees them (version
// vector, change log, records); its apply keeps them in the version vector;
// its own next commit takes the next seq, not one the other process used;
// the other process's next commit keeps what this one applied; and a
// reopen afterwards finds meta and rollback guard in agreement.
TEST_F(ReplicaMultiProcessTest, LongLivedHandleSeesAndKeepsAnotherProcesssCommits) {
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  OtherProcess other(path_, dir_.path().string());
  std::vector<std::string> warnings;
  auto opened = Replica::Open(path_, CountingOptions(&warnings));
  ASSERT_DAICHO_OK(opened);
  Replica& replica = **opened;
  const ReplicaId id = replica.id();

  // The other process commits seq 1: visible here without reopening.
  OtherProcess::Reply first = other.Commit(1);
  ASSERT_EQ(first.code, 0);
  EXPECT_EQ(first.commit.seq, 1u);
  auto vv = replica.GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(id), 1u);
  auto changes = replica.ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].origin, id);
  EXPECT_EQ((*changes)[0].seq, 1u);
  auto touched = replica.RecordsChangedSince(VersionVector());
  ASSERT_DAICHO_OK(touched);
  EXPECT_EQ(*touched, (std::vector<RecordKey>{{"customers", "other-1"}}));
  EXPECT_DAICHO_OK(replica.Get(kCollection, "other-1"));

  // Applying a remote batch here keeps the other process's commit.
  auto remote = Replica::Open(dir_.Sub("remote"), SourceOptions());
  ASSERT_DAICHO_OK(remote);
  {
    WriteTransaction txn = (*remote)->BeginWrite();
    ASSERT_TRUE(txn.Set(kCollection, "remote-1", "n", Value(7)).ok());
    ASSERT_DAICHO_OK(txn.Commit());
  }
  const ReplicaId remote_id = (*remote)->id();
  auto batch = (*remote)->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(batch);
  auto applied = replica.Apply(*batch);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 1u);
  vv = replica.GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(id), 1u) << "the apply dropped the other process's commit";
  EXPECT_EQ(vv->Get(remote_id), 1u);

  // This handle's own commit takes seq 2, after the other process's 1.
  WriteTransaction txn = replica.BeginWrite();
  ASSERT_TRUE(txn.Set(kCollection, "mine-2", "n", Value(2)).ok());
  auto mine = txn.Commit();
  ASSERT_DAICHO_OK(mine);
  EXPECT_EQ(mine->dot, (Dot{id, 2}));
  EXPECT_GT(mine->hlc, (HlcTime{first.commit.wall_ms, static_cast<uint32_t>(first.commit.logical)}));

  // The other process, whose memory last saw seq 1 and no remote change,
  // commits seq 3 and keeps the remote change in the version vector.
  OtherProcess::Reply third = other.Commit(3);
  ASSERT_EQ(third.code, 0);
  EXPECT_EQ(third.commit.seq, 3u);
  EXPECT_GT((HlcTime{third.commit.wall_ms, static_cast<uint32_t>(third.commit.logical)}), mine->hlc);
  // And applies a change of a replica of its own; this handle then commits 4.
  ASSERT_EQ(other.ApplyFromItsOwnSource(1).code, 0);
  WriteTransaction again = replica.BeginWrite();
  ASSERT_TRUE(again.Set(kCollection, "mine-4", "n", Value(4)).ok());
  auto fourth = again.Commit();
  ASSERT_DAICHO_OK(fourth);
  EXPECT_EQ(fourth->dot, (Dot{id, 4}));

  vv = replica.GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(id), 4u);
  EXPECT_EQ(vv->Get(remote_id), 1u);
  EXPECT_EQ(vv->entries().size(), 3u) << "the other process's applied change is missing";
  changes = replica.ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_EQ(changes->size(), 6u);
  for (const char* record : {"other-1", "remote-1", "mine-2", "other-3", "applied-1", "mine-4"}) {
    EXPECT_TRUE(replica.Get(kCollection, record).ok()) << record;
  }
  EXPECT_EQ(other.Quit(), 0) << "the other process logged warnings";
  EXPECT_TRUE(warnings.empty()) << warnings.front();

  // A reopen after all this: the guard the other process wrote last agrees.
  opened->reset();
  std::vector<std::string> reopen_warnings;
  auto reopened = Replica::Open(path_, CountingOptions(&reopen_warnings));
  ASSERT_DAICHO_OK(reopened);
  EXPECT_TRUE(reopen_warnings.empty()) << reopen_warnings.front();
  EXPECT_EQ((*reopened)->id(), id);
  auto reopened_vv = (*reopened)->GetVersionVector();
  ASSERT_DAICHO_OK(reopened_vv);
  EXPECT_EQ(*reopened_vv, *vv);
}

// The guard's mark follows the last commit whichever process made it: a
// handle whose own last commit is older than the other process's reopens
// without seeing a rollback, and so does the other process.
TEST_F(ReplicaMultiProcessTest, GuardWrittenByAnotherProcessIsNoRollbackAtEitherReopen) {
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  ReplicaId id;
  for (int round = 0; round < 3; ++round) {
    OtherProcess other(path_, dir_.path().string());
    std::vector<std::string> warnings;
    auto replica = Replica::Open(path_, CountingOptions(&warnings));
    ASSERT_DAICHO_OK(replica);
    if (round == 0) id = (*replica)->id();
    EXPECT_EQ((*replica)->id(), id);
    WriteTransaction txn = (*replica)->BeginWrite();
    ASSERT_TRUE(txn.Set(kCollection, "mine-" + std::to_string(round), "n", Value(round)).ok());
    ASSERT_DAICHO_OK(txn.Commit());
    ASSERT_EQ(other.Commit(round).code, 0);  // the other process commits last
    replica->reset();                        // this one closes first...
    auto reopened = Replica::Open(path_, CountingOptions(&warnings));
    ASSERT_DAICHO_OK(reopened);  // ...and reopens while the other is still open
    EXPECT_EQ((*reopened)->id(), id);
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    EXPECT_EQ(other.Quit(), 0);
  }
  std::vector<std::string> warnings;
  auto replica = Replica::Open(path_, CountingOptions(&warnings));
  ASSERT_DAICHO_OK(replica);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  auto vv = (*replica)->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(id), 6u);
}

// Two processes that open a copied store at the same moment both notice the
// copy, but retire the old id together: they end up with one new id, and
// commits from both go under it without reusing a dot.
TEST_F(ReplicaMultiProcessTest, TwoProcessesOpeningACopyAtOnceTakeOneNewIdBetweenThem) {
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  ReplicaId original;
  {
    auto replica = Replica::Open(path_);
    ASSERT_DAICHO_OK(replica);
    original = (*replica)->id();
    WriteTransaction txn = (*replica)->BeginWrite();
    ASSERT_TRUE(txn.Set(kCollection, "before-copy", "n", Value(1)).ok());
    ASSERT_DAICHO_OK(txn.Commit());
  }
  const std::string copy = dir_.Sub("copy");
  std::filesystem::copy(path_, copy, std::filesystem::copy_options::recursive);

  int go[2];
  ASSERT_EQ(pipe(go), 0);
  int results[2][2];
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    ASSERT_EQ(pipe(results[p]), 0);
    children.push_back(ForkAndRun([&, p]() -> int {
      close(go[1]);
      close(results[p][0]);
      WaitForGo(go[0]);
      std::vector<std::string> warnings;
      auto replica = Replica::Open(copy, CountingOptions(&warnings));
      if (!replica.ok()) return 2;
      WriteTransaction txn = (*replica)->BeginWrite();
      if (!txn.Set(kCollection, "after-copy-" + std::to_string(p), "n", Value(p)).ok()) return 3;
      auto info = txn.Commit();
      if (!info.ok()) return 4;
      const uint64_t warned = warnings.size();
      const auto id_bytes = info->dot.origin.bytes();
      if (!WriteAll(results[p][1], id_bytes.data(), id_bytes.size()) ||
          !WriteAll(results[p][1], &info->dot.counter, sizeof info->dot.counter) ||
          !WriteAll(results[p][1], &warned, sizeof warned)) {
        return 5;
      }
      return 0;
    }));
    close(results[p][1]);
  }
  close(go[0]);
  close(go[1]);
  std::set<std::string> ids;
  std::set<uint64_t> seqs;
  uint64_t total_warnings = 0;
  for (int p = 0; p < 2; ++p) {
    ReplicaId::Bytes id_bytes{};
    uint64_t seq = 0, warned = 0;
    ASSERT_TRUE(ReadAll(results[p][0], id_bytes.data(), id_bytes.size()));
    ASSERT_TRUE(ReadAll(results[p][0], &seq, sizeof seq));
    ASSERT_TRUE(ReadAll(results[p][0], &warned, sizeof warned));
    close(results[p][0]);
    ids.insert(ReplicaId(id_bytes).ToHex());
    seqs.insert(seq);
    total_warnings += warned;
  }
  for (pid_t pid : children) EXPECT_EQ(WaitExitCode(pid), 0);
  ASSERT_EQ(ids.size(), 1u) << "each process took its own new id";
  EXPECT_NE(*ids.begin(), original.ToHex());
  EXPECT_EQ(seqs, (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(total_warnings, 1u);

  std::vector<std::string> warnings;
  auto replica = Replica::Open(copy, CountingOptions(&warnings));
  ASSERT_DAICHO_OK(replica);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ((*replica)->id().ToHex(), *ids.begin());
}

// Kills `pid` when it goes out of scope (unless pid is reset to -1): a
// stopped child must not outlive the test, whatever fails.
struct KillAtEnd {
  pid_t pid;
  ~KillAtEnd() {
    if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
  }
};

// Opens the replica in a child process and commits one record there, with
// `write_lock_timeout_ms`; what it returned, or nullopt if it was still
// waiting after 30 s (far beyond any timeout the tests set; then it is
// killed).
std::optional<Status> CommitInChild(const std::string& path, uint64_t write_lock_timeout_ms) {
  int reported[2];
  if (pipe(reported) != 0) return Internal("pipe failed");
  const pid_t waiter = ForkAndRun([&]() -> int {
    close(reported[0]);
    ReplicaOptions options;
    options.write_lock_timeout_ms = write_lock_timeout_ms;
    Status status;
    auto replica = Replica::Open(path, options);
    if (replica.ok()) {
      WriteTransaction txn = (*replica)->BeginWrite();
      status = txn.Set(kCollection, "waiter", "n", Value(2));
      if (status.ok()) status = txn.Commit().status();
    } else {
      status = replica.status();
    }
    const int code = static_cast<int>(status.code());
    const uint64_t size = status.message().size();
    const bool sent = WriteAll(reported[1], &code, sizeof code) && WriteAll(reported[1], &size, sizeof size) &&
                      WriteAll(reported[1], status.message().data(), size);
    return sent ? 0 : 1;
  });
  close(reported[1]);
  KillAtEnd kill_at_end{waiter};
  pollfd report{reported[0], POLLIN, 0};
  int code = 0;
  uint64_t size = 0;
  std::string message;
  bool answered = poll(&report, 1, 30'000) == 1 && ReadAll(reported[0], &code, sizeof code) &&
                  ReadAll(reported[0], &size, sizeof size);
  if (answered) {
    message.resize(size);
    answered = ReadAll(reported[0], message.data(), size);
  }
  close(reported[0]);
  if (!answered) return std::nullopt;
  return Status(static_cast<Code>(code), message);
}

// A clock that, once armed, stops the process at its next reading, which a
// commit takes inside its write transaction: a writer that is alive but
// stuck (a hung import, a process stopped in a debugger) holding the lock.
class StoppingClock : public Clock {
 public:
  explicit StoppingClock(int stopped_fd) : stopped_fd_(stopped_fd) {}
  void Arm() { armed_ = true; }
  uint64_t NowMillis() const override {
    if (armed_) {
      const char stopped = 's';
      (void)WriteAll(stopped_fd_, &stopped, 1);
      for (;;) pause();  // until SIGKILL
    }
    return 1'700'000'000'000;
  }

 private:
  int stopped_fd_;
  bool armed_ = false;
};

// Issue 11 item 5: no commit waits for ever for the write lock. Another live
// process stuck in its commit makes it fail with kBusy after the timeout,
// naming that process; once that process is gone, commits go through.
TEST_F(ReplicaMultiProcessTest, CommitFailsBusyNamingAProcessStuckInItsCommit) {
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  int stopped[2];
  ASSERT_EQ(pipe(stopped), 0);
  const pid_t stuck = ForkAndRun([&]() -> int {
    close(stopped[0]);
    auto clock = std::make_shared<StoppingClock>(stopped[1]);
    ReplicaOptions options;
    options.clock = clock;
    auto replica = Replica::Open(path_, options);
    if (!replica.ok()) return 2;
    WriteTransaction txn = (*replica)->BeginWrite();
    if (!txn.Set(kCollection, "stuck", "n", Value(1)).ok()) return 3;
    clock->Arm();
    return txn.Commit().ok() ? 0 : 4;  // never returns
  });
  KillAtEnd kill_at_end{stuck};
  close(stopped[1]);
  char byte = 0;
  ASSERT_TRUE(ReadAll(stopped[0], &byte, 1)) << "the stuck writer ended: exit code " << WaitExitCode(stuck);
  close(stopped[0]);

  const std::optional<Status> waited = CommitInChild(path_, 300);
  ASSERT_TRUE(waited.has_value()) << "the commit still waits for the write lock after 30 s";
  EXPECT_EQ(waited->code(), Code::kBusy) << *waited;
  EXPECT_NE(waited->message().find("pid " + std::to_string(stuck)), std::string::npos) << *waited;

  kill(stuck, SIGKILL);
  EXPECT_EQ(WaitExitCode(stuck), 128 + SIGKILL);
  kill_at_end.pid = -1;
  auto replica = Replica::Open(path_);
  ASSERT_DAICHO_OK(replica);
  WriteTransaction txn = (*replica)->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set(kCollection, "after", "n", Value(3)));
  ASSERT_DAICHO_OK(txn.Commit());
  EXPECT_EQ((*replica)->Get(kCollection, "stuck").status().code(), Code::kNotFound);
}

// A writer stopped after its LMDB commit, before it recorded the commit in
// the rollback guard, holds only the guard's lock: an opener fails with
// kBusy naming it instead of waiting for ever.
TEST_F(ReplicaMultiProcessTest, OpenFailsBusyNamingAProcessStuckHoldingTheGuard) {
  ASSERT_NO_FATAL_FAILURE(CreateReplica(path_));
  int locked[2];
  ASSERT_EQ(pipe(locked), 0);
  const pid_t stuck = ForkAndRun([&]() -> int {
    close(locked[0]);
    const int fd = open((path_ + "/daicho.guard").c_str(), O_RDWR);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) return 2;
    const char done = 'l';
    (void)WriteAll(locked[1], &done, 1);
    for (;;) pause();  // until SIGKILL
  });
  KillAtEnd kill_at_end{stuck};
  close(locked[1]);
  char byte = 0;
  ASSERT_TRUE(ReadAll(locked[0], &byte, 1)) << "the stuck process ended: exit code " << WaitExitCode(stuck);
  close(locked[0]);

  const std::optional<Status> waited = CommitInChild(path_, 300);
  ASSERT_TRUE(waited.has_value()) << "the open still waits for the guard after 30 s";
  EXPECT_EQ(waited->code(), Code::kBusy) << *waited;
  EXPECT_NE(waited->message().find("the replica at " + path_), std::string::npos) << *waited;
  EXPECT_NE(waited->message().find("pid " + std::to_string(stuck)), std::string::npos) << *waited;

  kill(stuck, SIGKILL);
  EXPECT_EQ(WaitExitCode(stuck), 128 + SIGKILL);
  kill_at_end.pid = -1;
  const std::optional<Status> after = CommitInChild(path_, 300);
  ASSERT_TRUE(after.has_value());
  EXPECT_DAICHO_OK(*after);
}

}  // namespace
}  // namespace daicho
