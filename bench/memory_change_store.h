// MemoryChangeStore: a PC's changes in memory, for benchmarks whose PCs
// must be light (bench/relay_cluster.cc runs a thousand): per origin the
// payloads of seq 1..n, no records, no LMDB. Commit adds a local change;
// Apply stores received ones (a gap refuses the whole batch, duplicates are
// skipped) and then tells `on_stored` of each new one; ChangesSince tells
// `on_read` of each change it hands out (both outside the lock, on the
// caller's thread).
//
// Thread-safety: every method may be called concurrently.
// Codes: kProtocolError (a gap in a batch).
#ifndef DAICHO_BENCH_MEMORY_CHANGE_STORE_H_
#define DAICHO_BENCH_MEMORY_CHANGE_STORE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "sync/change_store.h"

namespace daicho::bench {

class MemoryChangeStore final : public sync::ChangeStore {
 public:
  using Observer = std::function<void(const ChangeBlob&)>;
  explicit MemoryChangeStore(Observer on_stored = {}, Observer on_read = {})
      : on_stored_(std::move(on_stored)), on_read_(std::move(on_read)) {}

  // A local change: the next seq of `origin`.
  void Commit(const ReplicaId& origin, std::string payload);

  Result<VersionVector> GetVersionVector() override;
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override;
  Status Apply(std::span<const ChangeBlob> changes) override;

 private:
  std::vector<ChangeBlob> Read(const VersionVector& other, size_t max_bytes, const VersionVector* upto);

  const Observer on_stored_;
  const Observer on_read_;
  std::mutex mu_;
  std::map<ReplicaId, std::vector<std::string>> logs_;
  VersionVector held_;
};

}  // namespace daicho::bench

#endif  // DAICHO_BENCH_MEMORY_CHANGE_STORE_H_
