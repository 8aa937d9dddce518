#include "tests/reliability/crash_loops/writer_crashes.h"

#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daicho/replica.h"
#include "tests/reliability/crash_loops/child_reports.h"
#include "tests/testing/forked_child.h"

namespace daicho::reliability {
namespace {

// Then a fresh store, so that small maps (and their growth) come back.
constexpr int kRoundsPerStore = 25;
constexpr uint64_t kInitialMapBytes = 256 << 10;
constexpr int kBigImportRecords = 400;
constexpr int kMaxSleepUs = 40'000;

uint64_t Fnv(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}
// What a transaction adds and whether it is a big import follow from its
// marker, so the checker knows them for transactions never acknowledged.
int64_t DeltaOf(std::string_view marker) { return static_cast<int64_t>(Fnv(marker) % 9) + 1; }
bool IsBigImport(std::string_view marker) { return Fnv(marker) / 9 % 12 == 0; }

ReplicaOptions StoreOptions() {
  ReplicaOptions options;
  options.initial_map_bytes = kInitialMapBytes;
  options.warning_log = [](std::string_view) {};
  return options;
}

// The child: commits until killed, reporting each marker on `fd` once its
// Commit() returned ok. Never returns.
[[noreturn]] void RunWriter(const std::string& path, const std::string& prefix, int fd) {
  auto replica = Replica::Open(path, StoreOptions());
  if (!replica.ok()) _exit(2);
  for (uint64_t k = 0;; ++k) {
    const std::string marker = prefix + "-" + std::to_string(k);
    WriteTransaction txn = (*replica)->BeginWrite();
    if (!txn.Add("ledger", "total", "n", DeltaOf(marker)).ok()) _exit(3);
    if (!txn.Set("marks", marker, "delta", Value(DeltaOf(marker))).ok()) _exit(3);
    if (IsBigImport(marker)) {
      for (int j = 0; j < kBigImportRecords; ++j) {
        if (!txn.Set("bulk", marker + "/" + std::to_string(j), "memo", Value(std::string(300, 'x'))).ok()) _exit(3);
      }
    }
    if (!txn.Commit().ok()) _exit(4);
    if (!ReportLine(fd, marker)) _exit(5);
    // A read between commits, long enough for kills to land in it: each
    // leaves a reader slot behind.
    ListOptions all;
    all.limit = 0;
    if (!(*replica)->List("marks", all).ok()) _exit(6);
  }
}

int ReaderSlotCallback(const char* text, void* context) {
  // Lines of "pid thread txnid"; the header line does not parse.
  std::istringstream in(text);
  long pid = 0;
  if (in >> pid && pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    ++*static_cast<int*>(context);
  }
  return 0;
}

// Reader slots of dead processes in the store's lock file, counted in a
// child (LMDB must not open one environment twice in a process) without
// clearing them: mdb_reader_list only reads. -1 if it cannot be read.
int CountStaleReaderSlots(const std::string& path) {
  const pid_t pid = testing::ForkAndRun([&path] {
    MDB_env* env = nullptr;
    if (mdb_env_create(&env) != 0) return 255;
    mdb_env_set_maxdbs(env, 8);
    if (mdb_env_open(env, path.c_str(), MDB_RDONLY | MDB_NOTLS, 0600) != 0) return 255;
    int dead = 0;
    mdb_reader_list(env, ReaderSlotCallback, &dead);
    mdb_env_close(env);
    return std::min(dead, 254);
  });
  const int code = testing::WaitExitCode(pid);
  return code == 255 || code < 0 ? -1 : code;
}

class Checker {
 public:
  explicit Checker(WriterCrashFigures& figures) : figures_(figures) {}

  void NewStore() { acknowledged_.clear(); }
  void Acknowledge(const std::vector<std::string>& markers) {
    acknowledged_.insert(markers.begin(), markers.end());
    figures_.commits_acknowledged += markers.size();
  }

  // The store after a round of kills: everything promised is there, and
  // nothing is there twice or in part.
  Status Check(const Replica& replica, int killed) {
    ListOptions all;
    all.limit = 0;
    DAICHO_ASSIGN_OR_RETURN(Page marks, replica.List("marks", all));
    std::set<std::string> present;
    int64_t expected_total = 0;
    uint64_t big = 0;
    for (const Record& r : marks.records) {
      const FieldView* delta = r.Find("delta");
      if (delta == nullptr || !(delta->value == Value(DeltaOf(r.id)))) {
        return Internal("transaction " + r.id + " is there in part: its delta is missing or wrong");
      }
      present.insert(r.id);
      expected_total += DeltaOf(r.id);
      if (IsBigImport(r.id)) ++big;
    }
    for (const std::string& marker : acknowledged_) {
      if (present.count(marker) == 0) return Internal("the acknowledged commit " + marker + " is lost");
    }
    // Commits whose writer died before telling: at most one per writer
    // killed. Present now, they must stay: later rounds hold them to it.
    uint64_t unacknowledged = 0;
    for (const std::string& marker : present) unacknowledged += acknowledged_.insert(marker).second ? 1 : 0;
    if (unacknowledged > static_cast<uint64_t>(killed)) {
      return Internal(std::to_string(unacknowledged) + " commits without an acknowledgement after killing " +
                      std::to_string(killed) + " writers: at most one each");
    }
    figures_.commits_unacknowledged += unacknowledged;
    auto total = replica.Get("ledger", "total");
    const int64_t counted = total.ok() && total->Find("n") != nullptr ? total->Find("n")->value.as_int() : 0;
    if (counted != expected_total) {
      return Internal("the counter is " + std::to_string(counted) + " but the transactions present add " +
                      std::to_string(expected_total));
    }
    DAICHO_ASSIGN_OR_RETURN(Page bulk, replica.List("bulk", all));
    if (bulk.records.size() != big * kBigImportRecords) {
      return Internal(std::to_string(bulk.records.size()) + " imported records for " + std::to_string(big) +
                      " big imports of " + std::to_string(kBigImportRecords) + ": one is there in part");
    }
    figures_.big_imports_committed = std::max(figures_.big_imports_committed, big);
    DAICHO_ASSIGN_OR_RETURN(VersionVector vv, replica.GetVersionVector());
    if (vv.Total() != present.size()) {
      return Internal(std::to_string(vv.Total()) + " changes for " + std::to_string(present.size()) +
                      " transactions: one change per transaction");
    }
    return Status::Ok();
  }

 private:
  WriterCrashFigures& figures_;
  std::set<std::string> acknowledged_;  // in this store: promised, or seen present
};

}  // namespace

Result<WriterCrashFigures> RunWriterCrashes(const WriterCrashOptions& options) {
  WriterCrashFigures figures;
  Checker checker(figures);
  std::mt19937_64 rng(options.seed);
  const auto started = std::chrono::steady_clock::now();
  std::string path;
  // A process keeping the store open all along, as the office's app does:
  // with it, LMDB keeps the reader table, and the slots of killed writers
  // stay in it until someone clears them.
  std::unique_ptr<testing::HoldingChild> app;
  for (int round = 0; figures.kills < options.kills; ++round) {
    const std::string where = "round " + std::to_string(round) + ": ";
    if (round % kRoundsPerStore == 0) {
      app.reset();
      path = options.dir + "/store" + std::to_string(round / kRoundsPerStore);
      ReplicaOptions create = StoreOptions();
      create.create_if_missing = true;
      DAICHO_ASSIGN_OR_RETURN(auto made, Replica::Open(path, create));
      made.reset();
      app = std::make_unique<testing::HoldingChild>([&path] {
        static std::unique_ptr<Replica> kept;
        auto opened = Replica::Open(path, StoreOptions());
        if (opened.ok()) kept = *std::move(opened);
      });
      checker.NewStore();
    }
    struct Writer {
      pid_t pid;
      int report_fd;
    };
    std::vector<Writer> writers;
    for (int w = 0; w < options.writers; ++w) {
      int fds[2];
      if (pipe(fds) != 0) return Status(Code::kIoError, "pipe failed");
      const std::string prefix = "r" + std::to_string(round) + "w" + std::to_string(w);
      const pid_t pid = testing::ForkAndRun([&]() -> int {
        close(fds[0]);
        RunWriter(path, prefix, fds[1]);
      });
      close(fds[1]);
      if (pid < 0) return Status(Code::kIoError, "fork failed");
      writers.push_back({pid, fds[0]});
    }
    // Each writer dies at its own random moment.
    std::shuffle(writers.begin(), writers.end(), rng);
    for (Writer& w : writers) {
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % (kMaxSleepUs + 1)));
      kill(w.pid, SIGKILL);
    }
    for (Writer& w : writers) {
      const int code = testing::WaitExitCode(w.pid);
      checker.Acknowledge(ReadReportLines(w.report_fd));
      close(w.report_fd);
      if (code != 128 + SIGKILL) {
        return Internal(where + "a writer stopped by itself with exit code " + std::to_string(code));
      }
      ++figures.kills;
    }
    ++figures.rounds;

    const int stale = CountStaleReaderSlots(path);
    if (stale > 0) figures.stale_reader_slots_found += static_cast<uint64_t>(stale);
    const auto opening = std::chrono::steady_clock::now();
    DAICHO_ASSIGN_OR_RETURN(auto replica, Replica::Open(path, StoreOptions()));
    figures.max_reopen_ms =
        std::max(figures.max_reopen_ms,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - opening).count());
    if (Status s = checker.Check(*replica, options.writers); !s.ok()) return Internal(where + s.message());
    replica.reset();
    const int left = CountStaleReaderSlots(path);
    if (left != 0) {
      return Internal(where + std::to_string(left) + " reader slots of killed writers left after the store was opened");
    }
  }
  figures.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return figures;
}

}  // namespace daicho::reliability
