// Micro-benchmarks of the replica: local commits, reads, applying remote
// changes. Every replica is a real on-disk LMDB store with default durability.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "daicho/replica.h"
#include "ledger_values.h"

namespace daicho::bench {
namespace {

constexpr int kFields = 12;
const char* const kFieldNames[kFields] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"};

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("daicho-bench-" + std::to_string(rd()));
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Replica> MustOpen(const std::string& path) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = Replica::Open(path, options);
  if (!replica.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), replica.status().ToString().c_str());
    std::abort();
  }
  return std::move(replica).value();
}

void MustCommit(WriteTransaction& txn) {
  auto info = txn.Commit();
  if (!info.ok()) {
    std::fprintf(stderr, "commit: %s\n", info.status().ToString().c_str());
    std::abort();
  }
}

// Writes records [first, first+count) with 12 fields each in one transaction.
void CommitRecords(Replica& replica, uint32_t first, uint32_t count) {
  WriteTransaction txn = replica.BeginWrite();
  for (uint32_t i = first; i < first + count; ++i) {
    const std::string key = LedgerKey(i);
    for (int j = 0; j < kFields; ++j) {
      if (!txn.Set("customers", key, kFieldNames[j], LedgerValue(42, i, j, 0)).ok()) std::abort();
    }
  }
  MustCommit(txn);
}

void BM_Replica_CommitOneField(benchmark::State& state) {
  ScratchDir dir;
  auto replica = MustOpen(dir.Sub("a"));
  uint32_t i = 0;
  for (auto _ : state) {
    WriteTransaction txn = replica->BeginWrite();
    if (!txn.Set("customers", LedgerKey(i % 1000), "phone", LedgerValue(42, i, 0, 0)).ok()) std::abort();
    MustCommit(txn);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Replica_CommitOneField)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Replica_Commit1000Records12Fields(benchmark::State& state) {
  ScratchDir dir;
  auto replica = MustOpen(dir.Sub("a"));
  uint32_t next = 0;
  for (auto _ : state) {
    CommitRecords(*replica, next, 1000);
    next += 1000;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 1000), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Replica_Commit1000Records12Fields)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Replica_GetRecord(benchmark::State& state) {
  ScratchDir dir;
  auto replica = MustOpen(dir.Sub("a"));
  for (uint32_t first = 0; first < 10000; first += 1000) CommitRecords(*replica, first, 1000);
  uint32_t i = 0;
  for (auto _ : state) {
    auto record = replica->Get("customers", LedgerKey((i++ * 7919) % 10000));
    if (!record.ok()) std::abort();
    benchmark::DoNotOptimize(record);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Replica_GetRecord)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Applies 10 changes of 1000 new 12-field records each into an empty replica.
void BM_Replica_ApplyRemoteChanges(benchmark::State& state) {
  ScratchDir dir;
  auto source = MustOpen(dir.Sub("source"));
  for (uint32_t first = 0; first < 10000; first += 1000) CommitRecords(*source, first, 1000);
  auto changes = source->ChangesSince(VersionVector());
  if (!changes.ok()) std::abort();
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto target = MustOpen(dir.Sub("target" + std::to_string(round++)));
    state.ResumeTiming();
    auto applied = target->Apply(*changes);
    if (!applied.ok() || applied->applied != changes->size()) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * 10000);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 10000), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Replica_ApplyRemoteChanges)->Unit(benchmark::kMillisecond)->UseRealTime();

// Lists the records of 10 changes of 1000 12-field records each that a peer
// with an empty version vector lacks (what `daicho status` counts).
void BM_Replica_RecordsChangedSince10000Records(benchmark::State& state) {
  ScratchDir dir;
  auto replica = MustOpen(dir.Sub("a"));
  for (uint32_t first = 0; first < 10000; first += 1000) CommitRecords(*replica, first, 1000);
  for (auto _ : state) {
    auto keys = replica->RecordsChangedSince(VersionVector());
    if (!keys.ok() || keys->size() != 10000) std::abort();
    benchmark::DoNotOptimize(keys);
  }
  state.SetItemsProcessed(state.iterations() * 10000);
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 10000), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Replica_RecordsChangedSince10000Records)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace daicho::bench

BENCHMARK_MAIN();
