// StoreReplicaDictionary: the ReplicaDictionary (the interface, what the state
// codec needs, is storage/codec/replica_dictionary.h) of a replica's `meta`
// database (docs/formats.md), one key per entry: "replica\0" + u32 index
// (big-endian) -> the 16-byte id. Entries are assigned inside write
// transactions and never change or disappear, so every process may cache the
// committed ones. Each transaction uses it through a view (ForRead /
// ForWrite). Tests use an in-memory one: tests/testing/memory_replica_dictionary.h.
#ifndef DAICHO_STORAGE_REPLICA_STORE_REPLICA_DICTIONARY_H_
#define DAICHO_STORAGE_REPLICA_STORE_REPLICA_DICTIONARY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "storage/codec/replica_dictionary.h"
#include "storage/lmdb/txn.h"

namespace daicho::storage {

// The meta key of entry `index`.
std::string ReplicaDictionaryKey(uint32_t index);

// The dictionary of one replica's `meta` database, with a process-wide cache
// of its committed entries. Thread-safe; each transaction uses its own view.
//
// Several processes may write one store: a write view reads the entries other
// processes committed (in its own write transaction, which LMDB serializes
// with theirs) before it assigns an index, so no two processes ever give one
// index to different ids or one id two indexes. Views meeting an index or id
// the cache lacks read the newer entries from their transaction first.
class StoreReplicaDictionary {
 public:
  explicit StoreReplicaDictionary(lmdb::Dbi meta);
  StoreReplicaDictionary(const StoreReplicaDictionary&) = delete;
  StoreReplicaDictionary& operator=(const StoreReplicaDictionary&) = delete;

  class ReadView;
  class WriteView;
  // A view for decoding in `txn` (a read or write transaction), which must
  // outlive it. A write transaction that assigns uses ForWrite instead.
  ReadView ForRead(const lmdb::TxnBase& txn) const;
  // A view for encoding and decoding in `txn`; one per attempt of a write
  // transaction (GrowingWriter may run the body again). Entries it assigns
  // are written into `txn` and reach the cache only when a later view reads
  // them from a committed snapshot, so an aborted transaction leaves no trace.
  WriteView ForWrite(lmdb::WriteTxn& txn) const;

  // The committed entries known to this process.
  size_t TEST_cached_size() const;

 private:
  struct Table {
    std::vector<ReplicaId> ids;
    std::unordered_map<ReplicaId, uint32_t, ReplicaIdHash> index;
  };

  std::shared_ptr<const Table> Snapshot() const;
  // Reads the entries after the cached ones from `txn` and publishes them.
  // Only for snapshots whose every entry is committed (a write transaction
  // before it assigns any). Returns the new table.
  Result<std::shared_ptr<const Table>> CatchUp(const lmdb::TxnBase& txn) const;

  lmdb::Dbi meta_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<const Table> table_;  // replaced, never modified

 public:
  class ReadView final : public ReplicaDictionary {
   public:
    // Finds existing indexes only: an id without one is kInternal (assigning
    // needs a write view).
    Result<uint32_t> IndexOf(const ReplicaId& id) override;
    Result<ReplicaId> IdAt(uint64_t index) const override;

   private:
    friend class StoreReplicaDictionary;
    ReadView(const StoreReplicaDictionary& dict, const lmdb::TxnBase& txn)
        : dict_(dict), txn_(txn), table_(dict.Snapshot()) {}
    const StoreReplicaDictionary& dict_;
    const lmdb::TxnBase& txn_;
    mutable std::shared_ptr<const Table> table_;
  };

  class WriteView final : public ReplicaDictionary {
   public:
    Result<uint32_t> IndexOf(const ReplicaId& id) override;
    Result<ReplicaId> IdAt(uint64_t index) const override;
    // Indexes this view assigned.
    size_t TEST_assigned() const { return pending_.size(); }

   private:
    friend class StoreReplicaDictionary;
    WriteView(const StoreReplicaDictionary& dict, lmdb::WriteTxn& txn)
        : dict_(dict), txn_(txn), table_(dict.Snapshot()) {}
    // Reads what other processes committed; once per view, before it assigns.
    Status CatchUpOnce() const;

    const StoreReplicaDictionary& dict_;
    lmdb::WriteTxn& txn_;
    mutable std::shared_ptr<const Table> table_;
    mutable bool caught_up_ = false;
    // Assigned in this transaction: index table_->ids.size() + i.
    std::vector<ReplicaId> pending_;
    std::unordered_map<ReplicaId, uint32_t, ReplicaIdHash> pending_index_;
  };
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_REPLICA_STORE_REPLICA_DICTIONARY_H_
