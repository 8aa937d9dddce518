// GrowingWriter: write transactions that survive a full map, and reads that
// never overlap a resize.
//
// On MDB_MAP_FULL the whole transaction is aborted, the map doubled (LMDB
// allows that only while no transaction of the process is live), and the
// body run again from the start; so a body must only stage its effects and
// apply them to memory after Run() returned ok. Readers hold BeginRead()'s
// lock for their transaction's lifetime so a resize waits for them.
//
// Ownership: borrows the Env, which must outlive it. Thread-safe: any number
// of readers and writers from any threads (LMDB serializes the writers).
#ifndef DAICHO_STORAGE_LMDB_GROWING_WRITER_H_
#define DAICHO_STORAGE_LMDB_GROWING_WRITER_H_

#include <shared_mutex>

#include "storage/lmdb/env.h"

namespace daicho::storage::lmdb {

class GrowingWriter {
 public:
  explicit GrowingWriter(Env& env) : env_(env) {}
  GrowingWriter(const GrowingWriter&) = delete;
  GrowingWriter& operator=(const GrowingWriter&) = delete;

  // Runs `body(WriteTxn&) -> Status` and commits. Codes: the body's, the
  // commit's, or Env::Grow()'s when the map cannot grow any further.
  template <typename Body>
  Status Run(Body&& body) {
    for (int attempt = 0;; ++attempt) {
      Status status;
      bool map_full = false;
      {
        std::shared_lock grow_lock(grow_mu_);
        auto txn = env_.BeginWrite();
        if (!txn.ok()) return txn.status();
        status = body(*txn);
        if (status.ok()) status = txn->Commit();
        // Asked of the txn, not of `status`: the body may have wrapped or
        // replaced the failed write's Status.
        map_full = txn->map_full();
      }
      if (!map_full || attempt >= kMaxGrowAttempts) return status;
      std::unique_lock grow_lock(grow_mu_);
      Status grown = env_.Grow();
      if (!grown.ok()) return grown.WithContext("growing the database after: " + status.message());
    }
  }

  // A read transaction; `lock` must stay held while it is used.
  Result<ReadTxn> BeginRead(std::shared_lock<std::shared_mutex>& lock) const {
    lock = std::shared_lock(grow_mu_);
    return env_.BeginRead();
  }

 private:
  static constexpr int kMaxGrowAttempts = 40;  // 64 MiB doubled 40 times is past any disk

  Env& env_;
  mutable std::shared_mutex grow_mu_;
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_GROWING_WRITER_H_
