// A local commit: one change and the record states it makes, in one
// LMDB write transaction.
#include "storage/replica/replica_impl.h"

#include <algorithm>
#include <map>

#include "core/merge.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/state_codec.h"
#include "storage/lmdb/change_log_reader.h"

namespace daicho::storage::detail {

std::string RecordKeyBytes(std::string_view collection, std::string_view id) {
  std::string key;
  key.reserve(collection.size() + 1 + id.size());
  key.append(collection);
  key.push_back('\0');
  key.append(id);
  return key;
}

std::string ChangeKeyBytes(const ReplicaId& origin, uint64_t seq) {
  return storage::lmdb::ChangeLogKey({}, origin, seq);
}

bool MayBeIndexed(const core::RecordState& state) {
  if (core::HasDeleteConflict(state)) return true;
  return std::any_of(state.fields.begin(), state.fields.end(), [](const core::FieldState& f) {
    return core::HasKindConflict(f) || (f.reg && f.reg->siblings.size() > 1);
  });
}

}  // namespace daicho::storage::detail

namespace daicho {

using storage::detail::ChangeKeyBytes;
using storage::detail::kEpochKey;
using storage::detail::MayBeIndexed;
using storage::detail::RecordKeyBytes;

// `maybe_indexed`: `conflicts` may hold the record (see MayBeIndexed).
// `held` (optional): the change being applied, parsed. Every
// change the state names must already be in `changes` (put them first).
Status Replica::Impl::PutRecord(storage::lmdb::WriteTxn& txn, storage::ReplicaDictionary& dict,
                                storage::lmdb::OrderedPutter& record_putter, std::string_view key,
                                core::RecordState& state, bool maybe_indexed, std::string& buffer,
                                const storage::ValueResolver::HeldChange* held) const {
  // A value conflict compares sibling values, which states do not hold: a
  // register with several siblings gets them from the change log. A fresh
  // resolver each time: its views into the map die with the next Put.
  const bool several = std::any_of(state.fields.begin(), state.fields.end(),
                                   [](const core::FieldState& f) { return f.reg && f.reg->siblings.size() > 1; });
  if (several) {
    storage::ValueResolver resolver(txn, changes, options.limits, held);
    const size_t sep = key.find('\0');
    DAICHO_RETURN_IF_ERROR(resolver.ResolveMultiSibling(key.substr(0, sep), key.substr(sep + 1), state));
  }
  DAICHO_RETURN_IF_ERROR(storage::EncodeRecordState(state, dict, buffer));
  DAICHO_RETURN_IF_ERROR(record_putter.Put(txn, key, buffer));
  // The conflict index keeps ListConflicts() from scanning the whole ledger.
  if (core::HasConflict(state)) return txn.Put(conflicts, key, {});
  if (!maybe_indexed) return Status::Ok();  // no index entry to remove
  Status del = txn.Del(conflicts, key);
  return del.code() == Code::kNotFound ? Status::Ok() : del;
}

Result<CommitInfo> Replica::Impl::Commit(const core::ChangeBuilder& builder) {
  if (builder.empty()) return Status(Code::kFailedPrecondition, "nothing to commit");
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  MetaState state;
  core::HybridClock clock = hlc;
  Dot dot;
  HlcTime stamp;
  VersionVector new_vv;
  std::string encoded_vv;
  core::Change change;
  std::optional<storage::RollbackGuard::Mark> guarded =
      guard_lock ? guard_lock->Read() : std::optional<storage::RollbackGuard::Mark>();
  Status status = writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    // Another process may have committed, applied or retired the id since
    // this one last wrote: the dot and vv follow from what is stored.
    DAICHO_ASSIGN_OR_RETURN(state, ReadMetaState(txn));
    // The last writer died between its commit and its mark (the store is one
    // commit ahead, see RollbackGuard): catch the mark up before adding a
    // commit, or a second such death would leave it two behind, which reads
    // as a rollback at the next open and retires the id.
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (guard_lock && guarded != current && storage::RollbackGuard::Consistent(current, guarded)) {
      WriteGuard(guard_lock, current);
      guarded = current;
    }
    clock = MergedClock(state.hlc);
    dot = Dot{state.id, state.vv.Get(state.id) + 1};
    stamp = clock.Now();
    new_vv = state.vv;
    new_vv.Advance(dot);
    // One view per attempt: indexes it assigns exist only in this txn.
    storage::StoreReplicaDictionary::WriteView view = dict->ForWrite(txn);
    std::map<std::pair<std::string, std::string>, core::RecordState> states;
    for (const auto& key : builder.Keys()) {
      auto raw = txn.Get(records, RecordKeyBytes(key.first, key.second));
      if (!raw.ok()) {
        if (raw.status().code() == Code::kNotFound) continue;
        return raw.status();
      }
      // Decoded before the next Put, while the view is valid.
      DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(*raw, view));
      states.emplace(key, std::move(state));
    }
    // A transaction of new records (bulk creation) finds no states: no
    // lookups, no key copies.
    change =
        builder.Build(dot, stamp, new_vv, [&](const std::string& c, const std::string& i) -> const core::RecordState* {
          if (states.empty()) return nullptr;
          auto it = states.find({c, i});
          return it == states.end() ? nullptr : &it->second;
        });
    // The change first: the states written below name its dot, and reading
    // their values (conflict detection) needs it in `changes`.
    const std::string payload = storage::EncodeChangePayload(change);
    // Larger changes could not go in one sync frame (nor be applied anywhere,
    // over max_change_bytes): refused now rather than blocking every sync.
    const size_t limit = std::min(options.limits.max_commit_bytes, options.limits.max_change_bytes);
    if (payload.size() > limit) {
      return Status(Code::kResourceExhausted,
                    "the transaction is too large to sync: it encodes to " + std::to_string(payload.size()) +
                        " bytes, more than the " + std::to_string(limit) +
                        " bytes one commit may hold; split the edit into several smaller commits "
                        "(for an import, import the rows in parts)");
    }
    storage::lmdb::OrderedPutter change_putter(changes);
    DAICHO_RETURN_IF_ERROR(change_putter.Put(txn, ChangeKeyBytes(dot.origin, dot.counter), payload));
    // States do not hold values: spare the merge a copy of each.
    for (core::RecordOps& rec : change.records) {
      for (core::Op& op : rec.ops) {
        if (op.type == core::OpType::kSetRegister) op.value = Value();
      }
    }
    // Records in key order: new ones past the end are appended.
    storage::lmdb::OrderedPutter record_putter(records);
    std::string key, buffer;
    core::RecordState fresh;  // the state of each new record in turn, its memory reused
    for (const core::RecordOps& rec : change.records) {
      auto it = states.empty() ? states.end() : states.find({rec.collection, rec.id});
      const bool existed = it != states.end();
      core::RecordState& state = existed ? it->second : fresh;
      const bool maybe_indexed = existed && MayBeIndexed(state);
      if (existed) {
        core::ApplyRecordOps(state, rec, dot, stamp);
      } else {
        core::ApplyRecordOpsToNew(state, rec, dot, stamp);
      }
      key.assign(rec.collection);
      key.push_back('\0');
      key.append(rec.id);
      DAICHO_RETURN_IF_ERROR(PutRecord(txn, view, record_putter, key, state, maybe_indexed, buffer));
    }
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    return PutVvAndClock(txn, new_vv, clock.last(), encoded_vv);
  });
  if (!status.ok()) return status.WithContext("commit");
  id = state.id;
  hlc = clock;
  RememberVv(std::move(encoded_vv), new_vv);
  WriteGuard(guard_lock, {dot.origin, dot.counter, new_epoch});
  return CommitInfo{dot, stamp, change.OpCount()};
}

}  // namespace daicho
