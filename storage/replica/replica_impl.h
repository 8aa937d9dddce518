// Replica::Impl: what the parts of the replica share. The parts, one concern
// each: open.cc (open, create, format upgrade), identity.cc (copies and
// rollbacks, the id), meta.cc (the meta state: id, epoch, vv, clock),
// commit.cc (local commits, record puts), write_transaction.cc (argument
// checks, buffered edits), read.cc (records, pages, conflicts), change_log.cc
// (the changes a peer lacks), apply.cc (remote changes) and settings.cc
// (local settings, the change listener).
//
// Layout (docs/formats.md):
//   meta:      schema, replica_id, device_marker, epoch, vv, hlc;
//              "replica\0" index -> id (the replica dictionary);
//              "local_setting\0" name -> value (Replica::SetLocalSetting)
//   records:   collection \0 id      -> record state (state_codec), whose
//                                       register values are read from changes
//   changes:   origin(16) | seq(8 BE) -> change payload (change_codec)
//   conflicts: collection \0 id      -> "" for every record with a conflict
// Each commit and each applied batch is one LMDB write transaction.
//
// Several processes may have the directory open at once (the CLI committing
// while a sync client applies). So no write computes from memory: each write
// transaction reads id, vv, hlc and epoch from meta first (LMDB serializes the
// writers of all processes), and reads take the vv from their own snapshot.
// Memory keeps only a decoded copy of the last vv seen and the local clock,
// which is merged with the stored one in every write. The replica dictionary
// (record states name replicas by index) follows the same rule: a write
// assigns indexes only after reading, in its own transaction, the entries
// other processes added (storage/replica/store_replica_dictionary.h).
#ifndef DAICHO_STORAGE_REPLICA_REPLICA_IMPL_H_
#define DAICHO_STORAGE_REPLICA_REPLICA_IMPL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/change_builder.h"
#include "core/hlc.h"
#include "core/record_state.h"
#include "daicho/replica.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/growing_writer.h"
#include "storage/lmdb/ordered_putter.h"
#include "storage/lmdb/txn.h"
#include "storage/replica/rollback_guard.h"
#include "storage/replica/store_replica_dictionary.h"
#include "storage/replica/value_resolver.h"

namespace daicho::storage::detail {

// Meta keys several parts read or write (the rest are local to one part).
constexpr std::string_view kReplicaIdKey = "replica_id";
constexpr std::string_view kDeviceMarkerKey = "device_marker";
constexpr std::string_view kEpochKey = "epoch";

// The `records` and `conflicts` key of a record: collection \0 id.
std::string RecordKeyBytes(std::string_view collection, std::string_view id);

// The replica's `changes` database holds one log: its keys have no prefix.
std::string ChangeKeyBytes(const ReplicaId& origin, uint64_t seq);

// Argument checks of the API: kInvalidArgument or kResourceExhausted.
Status CheckName(std::string_view name, const char* what, const Limits& limits);
Status CheckRecordArgs(std::string_view collection, std::string_view id, const Limits& limits);

// Whether the conflict index can hold a record whose stored state is
// `state`. Telling a value conflict needs the values, but without several
// siblings in a register, a kind or a delete conflict there is none: an
// update of such a record (the usual one) skips removing an entry that
// cannot exist.
bool MayBeIndexed(const core::RecordState& state);

}  // namespace daicho::storage::detail

namespace daicho {

// The replica's own state in meta, as one transaction sees it.
struct MetaState {
  ReplicaId id;
  ReplicaId epoch;  // changes with every commit; see RollbackGuard
  VersionVector vv;
  HlcTime hlc;
};

struct Replica::Impl {
  std::string path;
  ReplicaOptions options;
  storage::lmdb::Env env;
  storage::lmdb::Dbi meta, records, changes, conflicts;
  // Replica ids <-> the indexes record states use; set once meta is open.
  std::optional<storage::StoreReplicaDictionary> dict;

  // Serializes this process's writers that touch the meta state (commits,
  // applies); the guard's flock and LMDB's write lock order them with other
  // processes' writers (lock order: write_mu, guard, LMDB). Guards id and hlc.
  mutable std::mutex write_mu;
  storage::lmdb::GrowingWriter writer;

  // The id as of this process's last write or open: only a fallback for id().
  ReplicaId id;
  // This process's clock. Every write merges it with the stored one first, so
  // stamps keep increasing across processes.
  core::HybridClock hlc;
  storage::RollbackGuard guard;

  // The last vv decoded and the bytes it was decoded from: an unchanged
  // stored vv costs a compare, not a decode. Only a memo, never a source.
  mutable std::mutex vv_memo_mu;
  mutable std::optional<std::string> vv_memo_raw;
  mutable VersionVector vv_memo;

  std::mutex listener_mu;
  std::function<void(const std::vector<RecordKey>&)> listener;

  Impl(std::string p, const ReplicaOptions& o, storage::lmdb::Env e)
      : path(std::move(p)),
        options(o),
        env(std::move(e)),
        writer(env),
        hlc(o.clock, o.max_clock_skew_ms),
        guard(path, std::chrono::milliseconds(o.write_lock_timeout_ms)) {}

  void Warn(const std::string& message) const {
    if (options.warning_log) {
      options.warning_log(message);
    } else {
      std::cerr << "daicho: warning: " << message << '\n';
    }
  }

  Result<bool> InitializeNew(const std::string& marker);
  Status LoadExisting(const std::string& marker);
  Status CheckAndRepair(const std::string& marker);
  Result<std::optional<storage::RollbackGuard::Lock>> LockGuard() const;
  void WriteGuard(const std::optional<storage::RollbackGuard::Lock>& lock,
                  const storage::RollbackGuard::Mark& mark) const;
  Result<std::string_view> GetMeta(const storage::lmdb::TxnBase& txn, std::string_view key) const;
  Result<VersionVector> ReadVv(const storage::lmdb::TxnBase& txn) const;
  // Runs body(log, held) -> Status over one read snapshot, taking the vv
  // from it too (change_log.cc).
  template <typename Body>
  Status ReadChangeLog(Body&& body) const;
  void RememberVv(std::string raw, const VersionVector& vv) const;
  Result<MetaState> ReadMetaState(const storage::lmdb::TxnBase& txn) const;
  core::HybridClock MergedClock(HlcTime stored) const;
  Status PutVvAndClock(storage::lmdb::WriteTxn& txn, const VersionVector& new_vv, HlcTime clock,
                       std::string& encoded_vv) const;
  // The stored state of record (collection, id) as `txn` sees it; kNotFound
  // naming the record if there is none.
  Result<core::RecordState> ReadState(const storage::lmdb::TxnBase& txn, std::string_view collection,
                                      std::string_view id) const;
  Status PutRecord(storage::lmdb::WriteTxn& txn, storage::ReplicaDictionary& dict,
                   storage::lmdb::OrderedPutter& record_putter, std::string_view key, core::RecordState& state,
                   bool maybe_indexed, std::string& buffer,
                   const storage::ValueResolver::HeldChange* held = nullptr) const;
  Result<CommitInfo> Commit(const core::ChangeBuilder& builder);
  Result<bool> Exists(std::string_view collection, std::string_view id) const;
};

}  // namespace daicho

#endif  // DAICHO_STORAGE_REPLICA_REPLICA_IMPL_H_
