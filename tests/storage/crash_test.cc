// Crash safety: a process committing to (or applying remote changes into) a
// replica is killed with SIGKILL at random moments, over and over on the same
// directory. Everything whose Commit()/Apply() returned ok must survive, each
// transaction is all or nothing, and the store must always open cleanly.
// Several writers of one replica killed at random must never leave the others
// (or a process opening it later) waiting for the write lock.
//
// Long mode: DAICHO_CRASH_ROUNDS=N runs N rounds of the writer crash loop
// instead of the CI default (issue 11 asks for 1000). The reliability
// suite's crash loop (tests/reliability/README.md) kills 1,000 writers with
// more checks: counters, big imports, reader slots.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daicho/replica.h"
#include "storage/replica_test_util.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using ::daicho::testing::ForkAndRun;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::TempDir;
using ::daicho::testing::WaitFor;
using ::daicho::testing::WriteAll;

constexpr int kRounds = 100;
constexpr int kMaxSleepMs = 30;
constexpr std::string_view kCollection = "c";

std::string RecordId(int64_t i) { return "c" + std::to_string(i); }

// The child: numbers its commits from the record count and reports each one
// on `fd` after Commit() returned ok. Never returns; no gtest in here.
[[noreturn]] void RunCommitter(const std::string& path, int fd) {
  auto replica = Replica::Open(path, QuietOptions());
  if (!replica.ok()) _exit(2);
  ListOptions all;
  all.limit = 0;
  all.include_deleted = true;
  auto page = (*replica)->List(kCollection, all);
  if (!page.ok()) _exit(3);
  for (int64_t i = static_cast<int64_t>(page->records.size());; ++i) {
    WriteTransaction txn = (*replica)->BeginWrite();
    if (!txn.Set(kCollection, RecordId(i), "n", Value(i)).ok()) _exit(4);
    if (!txn.Commit().ok()) _exit(5);
    if (!WriteAll(fd, &i, sizeof i)) _exit(6);
  }
}

// Everything the child reported before it died.
std::vector<int64_t> ReadReports(int fd) {
  const std::string bytes = testing::ReadToEnd(fd);
  std::vector<int64_t> out(bytes.size() / sizeof(int64_t));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(int64_t));
  return out;
}

// Forks a child running `body` (which reports on the fd it gets and never
// returns), kills it with SIGKILL after a random 0..kMaxSleepMs, and returns
// what it reported before dying.
void KillChildAtRandomMoment(const std::function<void(int)>& body, std::mt19937& rng, std::vector<int64_t>& reports) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0) << std::strerror(errno);
  const pid_t pid = ForkAndRun([&] {
    close(fds[0]);
    body(fds[1]);
    return 1;  // body never returns
  });
  ASSERT_GE(pid, 0) << std::strerror(errno);
  close(fds[1]);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % (kMaxSleepMs * 1000 + 1)));
  kill(pid, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  reports = ReadReports(fds[0]);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
      << "the child stopped by itself: exit code " << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1);
}

TEST(CrashTest, CommittedTransactionsSurviveSigkillAtRandomMoments) {
  TempDir tmp;
  const std::string path = tmp.Sub("replica");
  ReplicaId id;
  {
    ReplicaOptions options = QuietOptions();
    options.create_if_missing = true;
    auto replica = Replica::Open(path, options);
    ASSERT_DAICHO_OK(replica);
    id = (*replica)->id();
  }

  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::set<int64_t> reported;  // every i a child saw committed, all rounds
  int rounds_with_commits = 0;
  const auto start = std::chrono::steady_clock::now();

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<int64_t> committed;
    ASSERT_NO_FATAL_FAILURE(KillChildAtRandomMoment([&](int fd) { RunCommitter(path, fd); }, rng, committed));
    if (!committed.empty()) ++rounds_with_commits;
    reported.insert(committed.begin(), committed.end());

    auto replica = Replica::Open(path, QuietOptions());
    ASSERT_DAICHO_OK(replica);
    EXPECT_EQ((*replica)->id(), id) << "the same directory on the same disk keeps its id";
    for (int64_t i : committed) {
      auto record = (*replica)->Get(kCollection, RecordId(i));
      SCOPED_TRACE("commit " + std::to_string(i) + " was reported");
      ASSERT_DAICHO_OK(record);
      const FieldView* n = record->Find("n");
      ASSERT_NE(n, nullptr);
      EXPECT_EQ(n->value, Value(i));
    }
    // Whole commits only: records c0..c(N-1), each with its value, and one
    // change per record in the log.
    ListOptions all;
    all.limit = 0;
    all.include_deleted = true;
    auto page = (*replica)->List(kCollection, all);
    ASSERT_DAICHO_OK(page);
    const uint64_t count = page->records.size();
    auto vv = (*replica)->GetVersionVector();
    ASSERT_DAICHO_OK(vv);
    EXPECT_EQ(vv->Get(id), count);
    EXPECT_EQ(vv->size(), count == 0 ? 0u : 1u);
    if (!reported.empty()) {
      EXPECT_GT(count, static_cast<uint64_t>(*reported.rbegin()));
    }
    std::set<std::string> ids;
    for (const Record& r : page->records) {
      ids.insert(r.id);
      ASSERT_EQ(r.fields.size(), 1u) << r.id;
      EXPECT_EQ(RecordId(r.fields[0].value.as_int()), r.id);
    }
    for (uint64_t i = 0; i < count; ++i) EXPECT_EQ(ids.count(RecordId(static_cast<int64_t>(i))), 1u) << i;
    auto changes = (*replica)->ChangesSince(VersionVector());
    ASSERT_DAICHO_OK(changes);
    EXPECT_EQ(changes->size(), count);
    auto conflicts = (*replica)->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    EXPECT_TRUE(conflicts->empty());
    if (::testing::Test::HasFatalFailure()) return;
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("rounds_with_commits", rounds_with_commits);
  RecordProperty("commits_reported", static_cast<int>(reported.size()));
  // The kills must land while commits are going on, or nothing was tested.
  EXPECT_GE(rounds_with_commits, kRounds / 3);
  EXPECT_LT(seconds, 60.0);
}

// The child: pulls changes from `source` into `sink` in small batches,
// reporting the sink's count of the source's changes after each Apply()
// returned ok. Never returns; no gtest in here.
[[noreturn]] void RunApplier(const std::string& source_path, const std::string& sink_path, int fd) {
  auto source = Replica::Open(source_path, QuietOptions());
  auto sink = Replica::Open(sink_path, QuietOptions());
  if (!source.ok() || !sink.ok()) _exit(2);
  const ReplicaId origin = (*source)->id();
  for (;;) {
    auto vv = (*sink)->GetVersionVector();
    if (!vv.ok()) _exit(3);
    auto batch = (*source)->ChangesSince(*vv, 60);  // one or two changes per batch
    if (!batch.ok()) _exit(4);
    if (batch->empty()) {
      // Caught up: keep reporting so the kill lands somewhere harmless.
      const int64_t held = static_cast<int64_t>(vv->Get(origin));
      if (!WriteAll(fd, &held, sizeof held)) _exit(6);
      continue;
    }
    if (!(*sink)->Apply(*batch).ok()) _exit(5);
    auto after = (*sink)->GetVersionVector();
    if (!after.ok()) _exit(3);
    const int64_t held = static_cast<int64_t>(after->Get(origin));
    if (!WriteAll(fd, &held, sizeof held)) _exit(6);
  }
}

TEST(CrashTest, AppliedBatchesSurviveSigkillAtRandomMoments) {
  constexpr int kSourceCommits = 1000;
  TempDir tmp;
  const std::string source_path = tmp.Sub("source");
  const std::string sink_path = tmp.Sub("sink");
  ReplicaId origin;
  {
    ReplicaOptions options = QuietOptions();
    options.create_if_missing = true;
    auto source = Replica::Open(source_path, options);
    ASSERT_DAICHO_OK(source);
    origin = (*source)->id();
    for (int64_t i = 0; i < kSourceCommits; ++i) {
      WriteTransaction txn = (*source)->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set(kCollection, RecordId(i), "n", Value(i)));
      ASSERT_DAICHO_OK(txn.Add(kCollection, "total", "count", 1));
      ASSERT_DAICHO_OK(txn.Commit());
    }
    auto sink = Replica::Open(sink_path, options);
    ASSERT_DAICHO_OK(sink);
  }

  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  int64_t acknowledged = 0;
  int rounds_with_progress = 0;
  int round = 0;
  for (; round < kRounds && acknowledged < kSourceCommits; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<int64_t> reports;
    ASSERT_NO_FATAL_FAILURE(
        KillChildAtRandomMoment([&](int fd) { RunApplier(source_path, sink_path, fd); }, rng, reports));
    const int64_t before = acknowledged;
    for (int64_t held : reports) acknowledged = std::max(acknowledged, held);
    if (acknowledged > before) ++rounds_with_progress;

    auto sink = Replica::Open(sink_path, QuietOptions());
    ASSERT_DAICHO_OK(sink);
    auto vv = (*sink)->GetVersionVector();
    ASSERT_DAICHO_OK(vv);
    const uint64_t held = vv->Get(origin);
    EXPECT_GE(held, static_cast<uint64_t>(acknowledged)) << "an acknowledged batch was lost";
    // Batches are all or nothing: exactly the records and counter adds of
    // changes 1..held, each counted once.
    ListOptions all;
    all.limit = 0;
    all.include_deleted = true;
    auto page = (*sink)->List(kCollection, all);
    ASSERT_DAICHO_OK(page);
    EXPECT_EQ(page->records.size(), held == 0 ? 0 : held + 1);  // + the "total" record
    if (held > 0) {
      auto total = (*sink)->Get(kCollection, "total");
      ASSERT_DAICHO_OK(total);
      EXPECT_EQ(total->Find("count")->value, Value(static_cast<int64_t>(held)));
      auto last = (*sink)->Get(kCollection, RecordId(static_cast<int64_t>(held) - 1));
      ASSERT_DAICHO_OK(last);
      EXPECT_EQ(last->Find("n")->value, Value(static_cast<int64_t>(held) - 1));
    }
    auto changes = (*sink)->ChangesSince(VersionVector());
    ASSERT_DAICHO_OK(changes);
    EXPECT_EQ(changes->size(), held);
    if (::testing::Test::HasFatalFailure()) return;
  }
  RecordProperty("rounds", round);
  RecordProperty("rounds_with_progress", rounds_with_progress);
  EXPECT_GE(rounds_with_progress, 3);

  // Finishing the sync afterwards brings the sink level with the source.
  auto source = Replica::Open(source_path, QuietOptions());
  auto sink = Replica::Open(sink_path, QuietOptions());
  ASSERT_DAICHO_OK(source);
  ASSERT_DAICHO_OK(sink);
  auto rest = (*source)->ChangesSince(*(*sink)->GetVersionVector());
  ASSERT_DAICHO_OK(rest);
  ASSERT_DAICHO_OK((*sink)->Apply(*rest));
  EXPECT_EQ(*(*sink)->GetVersionVector(), *(*source)->GetVersionVector());
  auto total = (*sink)->Get(kCollection, "total");
  ASSERT_DAICHO_OK(total);
  EXPECT_EQ(total->Find("count")->value, Value(int64_t{kSourceCommits}));
}

// ---- several writers, some killed ------------------------------------------

constexpr int kWritersPerRound = 3;
constexpr int kCiWriterRounds = 15;
// Far beyond any wait for a live writer (each commit takes milliseconds and
// the write lock timeout below is 5 s): a writer still running then hangs.
constexpr auto kHangDeadline = std::chrono::seconds(60);

// Exit codes of the writer children.
enum WriterExit : int { kWriterDone = 0, kWriterOpenFailed = 2, kWriterBusy = 3, kWriterFailed = 4, kWriterPipe = 5 };

int WriterRounds() {
  const char* rounds = std::getenv("DAICHO_CRASH_ROUNDS");
  return rounds != nullptr && std::atoi(rounds) > 0 ? std::atoi(rounds) : kCiWriterRounds;
}

std::string WriterRecordId(int round, int writer, int64_t i) {
  return "r" + std::to_string(round) + "w" + std::to_string(writer) + "-" + std::to_string(i);
}

// The child: commits records r<round>w<writer>-0, -1, ... reporting each i on
// `report_fd` after Commit() returned ok, until `stop_fd` becomes readable
// (or at once if it is -1); then commits once more and exits kWriterDone.
[[noreturn]] void RunRoundWriter(const std::string& path, int round, int writer, int report_fd, int stop_fd) {
  ReplicaOptions options = QuietOptions();
  options.write_lock_timeout_ms = 5000;
  auto replica = Replica::Open(path, options);
  if (!replica.ok()) _exit(replica.status().code() == Code::kBusy ? kWriterBusy : kWriterOpenFailed);
  for (int64_t i = 0;; ++i) {
    pollfd stop{stop_fd, POLLIN, 0};
    const bool last = stop_fd < 0 || poll(&stop, 1, 0) != 0;
    WriteTransaction txn = (*replica)->BeginWrite();
    if (!txn.Set(kCollection, WriterRecordId(round, writer, i), "n", Value(i)).ok()) _exit(kWriterFailed);
    auto committed = txn.Commit();
    if (!committed.ok()) _exit(committed.status().code() == Code::kBusy ? kWriterBusy : kWriterFailed);
    if (!WriteAll(report_fd, &i, sizeof i)) _exit(kWriterPipe);
    if (last) _exit(kWriterDone);
  }
}

struct Writer {
  pid_t pid = -1;
  int report_fd = -1;  // read end
  int stop_fd = -1;    // write end; closing it tells the writer to finish
};

// Forks a writer; without a stop pipe it commits once and exits. The child
// closes the parent's ends of the `others`' pipes: holding a stop pipe open
// would keep that writer from ever seeing its stop.
Writer SpawnWriter(const std::string& path, int round, int writer, bool stop_pipe, const std::vector<Writer>& others) {
  int report[2];
  int stop[2] = {-1, -1};
  if (pipe(report) != 0 || (stop_pipe && pipe(stop) != 0)) return {};
  const pid_t pid = ForkAndRun([&]() -> int {
    for (const Writer& other : others) {
      close(other.report_fd);
      if (other.stop_fd >= 0) close(other.stop_fd);
    }
    close(report[0]);
    if (stop[1] >= 0) close(stop[1]);
    RunRoundWriter(path, round, writer, report[1], stop[0]);
  });
  close(report[1]);
  if (stop[0] >= 0) close(stop[0]);
  return Writer{pid, report[0], stop[1]};
}

// Waits for `pid` until kHangDeadline; a child still running then is killed
// and reported as hung (-1).
int WaitOrHang(pid_t pid) {
  int status = 0;
  if (WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, kHangDeadline, std::chrono::milliseconds(5))) {
    return status;
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string DescribeExit(int status) {
  if (status == -1) return "still waiting after 60 s (hung)";
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  switch (WEXITSTATUS(status)) {
    case kWriterBusy:
      return "failed with kBusy (write lock not released by a killed writer)";
    case kWriterOpenFailed:
      return "could not open the replica";
    case kWriterFailed:
      return "commit failed";
    case kWriterPipe:
      return "lost its report pipe";
    default:
      return "exit code " + std::to_string(WEXITSTATUS(status));
  }
}

// Issue 11 item 5: writers killed with SIGKILL at random points (inside a
// commit, holding LMDB's write mutex or the rollback guard, opening) must not
// leave the survivors, or a process that opens the replica after the kills,
// waiting for a lock no live process holds; every acknowledged commit stays.
TEST(CrashTest, WritersKilledAtRandomNeverHangTheOthers) {
  TempDir tmp;
  const std::string path = tmp.Sub("replica");
  ReplicaId id;
  {
    auto replica = Replica::Open(path, [] {
      ReplicaOptions options = QuietOptions();
      options.create_if_missing = true;
      return options;
    }());
    ASSERT_DAICHO_OK(replica);
    id = (*replica)->id();
  }
  const unsigned seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int rounds = WriterRounds();
  RecordProperty("rounds", rounds);
  std::map<std::string, int64_t> acknowledged;  // record id -> value, all rounds
  int kills = 0;

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<Writer> writers;
    for (int w = 0; w < kWritersPerRound; ++w) {
      writers.push_back(SpawnWriter(path, round, w, /*stop_pipe=*/true, writers));
      ASSERT_GT(writers.back().pid, 0) << std::strerror(errno);
    }
    // Kill all but one, each at its own random moment.
    std::vector<int> order(kWritersPerRound);
    for (int w = 0; w < kWritersPerRound; ++w) order[w] = w;
    std::shuffle(order.begin(), order.end(), rng);
    std::set<int> killed;
    for (int k = 0; k < kWritersPerRound - 1; ++k) {
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % (kMaxSleepMs * 1000 + 1)));
      kill(writers[order[k]].pid, SIGKILL);
      killed.insert(order[k]);
      ++kills;
    }
    // A process opening the replica after the kills, while the survivor
    // still writes: `daicho set` in the issue.
    Writer late = SpawnWriter(path, round, kWritersPerRound, /*stop_pipe=*/false, writers);
    ASSERT_GT(late.pid, 0) << std::strerror(errno);
    writers.push_back(late);
    for (Writer& writer : writers) {
      if (writer.stop_fd >= 0) close(writer.stop_fd);
    }
    for (int w = 0; w < static_cast<int>(writers.size()); ++w) {
      const int status = WaitOrHang(writers[w].pid);
      for (int64_t i : ReadReports(writers[w].report_fd)) acknowledged[WriterRecordId(round, w, i)] = i;
      close(writers[w].report_fd);
      if (killed.count(w) != 0) {
        EXPECT_TRUE(status != -1 && WIFSIGNALED(status)) << "writer " << w << ": " << DescribeExit(status);
      } else {
        EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == kWriterDone)
            << (w == kWritersPerRound ? "the writer opened after the kills" : "the surviving writer") << ": "
            << DescribeExit(status);
      }
    }
    if (::testing::Test::HasFailure()) return;

    auto replica = Replica::Open(path, QuietOptions());
    ASSERT_DAICHO_OK(replica);
    for (const auto& [id, value] : acknowledged) {
      auto record = (*replica)->Get(kCollection, id);
      ASSERT_TRUE(record.ok()) << "acknowledged commit of " << id << " lost: " << record.status();
      const FieldView* n = record->Find("n");
      ASSERT_NE(n, nullptr) << id;
      EXPECT_EQ(n->value, Value(value)) << id;
    }
    // Writers killed between their commit and their rollback-guard mark,
    // one after the other, must not make the store look rolled back.
    ASSERT_EQ((*replica)->id(), id) << "the replica took a new id";
    auto vv = (*replica)->GetVersionVector();
    ASSERT_DAICHO_OK(vv);
    ListOptions all;
    all.limit = 0;
    auto page = (*replica)->List(kCollection, all);
    ASSERT_DAICHO_OK(page);
    EXPECT_EQ(vv->Get(id), page->records.size()) << "one change per committed record";
  }
  RecordProperty("writers_killed", kills);
  RecordProperty("commits_acknowledged", static_cast<int>(acknowledged.size()));
}

}  // namespace
}  // namespace daicho
