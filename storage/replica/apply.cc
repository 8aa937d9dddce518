// Applying remote changes: one batch in one LMDB write transaction.
#include "storage/replica/replica_impl.h"

#include <algorithm>

#include "core/change_log.h"
#include "core/merge.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/state_codec.h"

namespace daicho {

using storage::detail::ChangeKeyBytes;
using storage::detail::kReplicaIdKey;
using storage::detail::MayBeIndexed;

namespace {

// Ends ReusedDotError's "change <origin>:<seq> differs from the one ...".
constexpr std::string_view kReusedDotHolder = "held here: that replica id was reused (a store restored from a backup?)";

}  // namespace

Result<ApplyResult> Replica::Apply(std::span<const ChangeBlob> blobs) {
  const Limits& limits = impl_->options.limits;
  // Decodes a payload: values are checked but not copied out (states do not
  // hold them).
  auto decode = [&](const ChangeBlob& blob) {
    return storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, limits,
                                        storage::ValueDecoding::kCheckOnly);
  };
  for (const ChangeBlob& blob : blobs) {
    if (blob.seq == 0) return decode(blob).status();  // kCorruption naming the change
  }

  std::unique_lock lock(impl_->write_mu);
  // Only an id retirement below needs the guard, but the lock must come
  // before the LMDB write lock.
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, impl_->LockGuard());
  ApplyResult result;
  MetaState state;
  core::HybridClock clock = impl_->hlc;
  core::ApplyPlan plan;
  std::string encoded_vv;
  std::vector<HlcTime> far_future;
  bool retire_id = false;
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  core::Change change;  // the change being applied; its memory is reused
  Status status = impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    result = ApplyResult();
    retire_id = false;
    far_future.clear();
    // Built on the stored vv: one from memory would drop the commits other
    // processes made since.
    DAICHO_ASSIGN_OR_RETURN(state, impl_->ReadMetaState(txn));
    clock = impl_->MergedClock(state.hlc);
    plan = core::PlanApply(state.vv, blobs);
    // One view per attempt: indexes it assigns exist only in this txn.
    storage::StoreReplicaDictionary::WriteView view = impl_->dict->ForWrite(txn);
    // One change at a time, each decoded only when it is applied (a
    // duplicate never is): the memory of one change is reused for the next,
    // instead of a whole batch of decoded ops at once. A record touched by
    // several changes of the batch is merged and put once per change.
    storage::lmdb::OrderedPutter change_putter(impl_->changes);
    storage::lmdb::OrderedPutter record_putter(impl_->records);
    std::string key, buffer;
    // One state for every record: decoding into it reuses its memory.
    core::RecordState record;
    for (const core::ApplyStep& step : plan.steps) {
      const ChangeBlob& blob = blobs[step.index];
      const Dot dot{blob.origin, blob.seq};
      const std::string change_key = ChangeKeyBytes(blob.origin, blob.seq);
      if (step.duplicate) {
        // Two different changes under one dot mean an id was reused (a store
        // restored from a backup committed before it synced): say so rather
        // than diverge silently. Unless the one received is just damaged.
        DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetCopy(impl_->changes, change_key));
        if (stored && *stored != blob.payload) {
          DAICHO_RETURN_IF_ERROR(decode(blob).status());
          return core::ReusedDotError(blob, kReusedDotHolder);
        }
        ++result.duplicates;
        continue;
      }
      // Newer changes under our own id: this store was rolled back (restored
      // from a backup) and must not issue those dots again.
      if (blob.origin == state.id) retire_id = true;
      DAICHO_RETURN_IF_ERROR(storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, limits,
                                                          storage::ValueDecoding::kCheckOnly, change));
      // The change first: the states below name it (PutRecord may read it).
      DAICHO_RETURN_IF_ERROR(change_putter.Put(txn, change_key, blob.payload));
      // Conflicts this change makes compare its values: read from the blob.
      DAICHO_ASSIGN_OR_RETURN(storage::ChangeView applying_view, storage::ChangeView::Parse(blob.payload, limits));
      const storage::ValueResolver::HeldChange applying{dot, applying_view};
      for (const core::RecordOps& rec : change.records) {
        key.assign(rec.collection);
        key.push_back('\0');
        key.append(rec.id);
        auto raw = txn.Get(impl_->records, key);
        const bool existed = raw.ok();
        bool maybe_indexed = false;
        bool changed = true;  // a new record always is
        if (existed) {
          DAICHO_RETURN_IF_ERROR(storage::DecodeRecordState(*raw, view, record));
          maybe_indexed = MayBeIndexed(record);
          changed = core::ApplyRecordOps(record, rec, dot, change.hlc);
        } else if (raw.status().code() != Code::kNotFound) {
          return raw.status();
        } else {
          core::ApplyRecordOpsToNew(record, rec, dot, change.hlc);
        }
        if (changed) {
          DAICHO_RETURN_IF_ERROR(
              impl_->PutRecord(txn, view, record_putter, key, record, maybe_indexed, buffer, &applying));
          result.changed.push_back(RecordKey{rec.collection, rec.id});
        }
      }
      if (!clock.Observe(change.hlc)) far_future.push_back(change.hlc);
      ++result.applied;
    }
    if (plan.gap) {
      // The steps end before the gap, so new_vv holds what precedes it.
      const ChangeBlob& blob = blobs[*plan.gap];
      DAICHO_RETURN_IF_ERROR(decode(blob).status());
      return core::GapError(blob, plan.new_vv.Get(blob.origin));
    }
    // Sorted and distinct, as ApplyResult promises. Each change lists its
    // records in order, so a batch of changes to distinct ranges (an initial
    // sync) usually is already.
    if (!std::is_sorted(result.changed.begin(), result.changed.end())) {
      std::sort(result.changed.begin(), result.changed.end());
    }
    result.changed.erase(std::unique(result.changed.begin(), result.changed.end()), result.changed.end());
    if (retire_id) DAICHO_RETURN_IF_ERROR(txn.Put(impl_->meta, kReplicaIdKey, new_id.AsStringView()));
    if (result.applied == 0) return Status::Ok();
    return impl_->PutVvAndClock(txn, plan.new_vv, clock.last(), encoded_vv);
  });
  if (!status.ok()) return status.WithContext("applying changes");
  impl_->hlc = clock;
  if (result.applied != 0) impl_->RememberVv(std::move(encoded_vv), plan.new_vv);
  impl_->id = retire_id ? new_id : state.id;
  if (retire_id) {
    impl_->WriteGuard(guard_lock, {new_id, plan.new_vv.Get(new_id), state.epoch});
    impl_->Warn("received newer changes made under this replica's own id " + state.id.ToHex() +
                " (the store was restored from a backup?); the id is retired, new id " + new_id.ToHex());
  }
  guard_lock.reset();
  lock.unlock();

  for (HlcTime t : far_future) {
    impl_->Warn("applied a change stamped " + std::to_string(t.wall_ms) +
                " ms, far ahead of this clock; the local clock was not moved");
  }
  if (!result.changed.empty()) {
    std::function<void(const std::vector<RecordKey>&)> listener;
    {
      std::lock_guard listener_lock(impl_->listener_mu);
      listener = impl_->listener;
    }
    if (listener) listener(result.changed);
  }
  return result;
}

}  // namespace daicho
