// The replica id: copies and rollbacks detected at open retire it, and the
// rollback guard records each write that moves the meta state.
#include "storage/replica/replica_impl.h"

#include <shared_mutex>

namespace daicho {

using storage::detail::kDeviceMarkerKey;
using storage::detail::kEpochKey;
using storage::detail::kReplicaIdKey;

// The guard lock for a write that moves the meta state. Taken before the LMDB
// write transaction and held until the mark is written, so that no opener
// sees the commit without its mark. nullopt (after a warning) if the file
// cannot be locked: the write goes ahead, and the next open may take a new id.
// kBusy if another process holds it too long: going ahead then could make
// an opener take that process's commit for a rollback.
Result<std::optional<storage::RollbackGuard::Lock>> Replica::Impl::LockGuard() const {
  auto lock = guard.LockExclusive();
  if (!lock.ok()) {
    if (lock.status().code() == Code::kBusy) return lock.status();
    Warn(lock.status().ToString());
    return std::optional<storage::RollbackGuard::Lock>();
  }
  return std::optional<storage::RollbackGuard::Lock>(std::move(lock).value());
}

void Replica::Impl::WriteGuard(const std::optional<storage::RollbackGuard::Lock>& lock,
                               const storage::RollbackGuard::Mark& mark) const {
  if (!lock) return;
  Status written = lock->Write(mark);
  // The write itself stands; a stale guard only costs a new id at next open.
  if (!written.ok()) Warn(written.ToString());
}

Status Replica::Impl::LoadExisting(const std::string& marker) {
  // The common case, read-only: meta and guard agree. The shared lock keeps
  // out writers between their LMDB commit and their guard write.
  {
    DAICHO_ASSIGN_OR_RETURN(const storage::RollbackGuard::Lock shared, guard.LockShared());
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(MetaState state, ReadMetaState(txn));
    DAICHO_ASSIGN_OR_RETURN(auto stored_marker, txn.GetCopy(meta, kDeviceMarkerKey));
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (stored_marker == marker && shared.Read() == current) {
      std::lock_guard write_lock(write_mu);
      id = state.id;
      hlc.Restore(state.hlc);
      return Status::Ok();
    }
  }
  return CheckAndRepair(marker);
}

// Checks for a copy or rollback and retires the id if so, holding the guard
// lock and one write transaction throughout: no other process's commit can
// come between the check and the repair, and two processes opening a copied
// store at once take one new id between them, not one each. A retired id's
// changes stay valid under it; new ones go under the fresh id (the old one
// may have issued dots this store lacks).
Status Replica::Impl::CheckAndRepair(const std::string& marker) {
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  const std::optional<storage::RollbackGuard::Mark> guarded =
      guard_lock ? guard_lock->Read() : std::optional<storage::RollbackGuard::Mark>();
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  const char* reason = nullptr;
  MetaState state;
  DAICHO_RETURN_IF_ERROR(writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    reason = nullptr;
    DAICHO_ASSIGN_OR_RETURN(state, ReadMetaState(txn));
    DAICHO_ASSIGN_OR_RETURN(auto stored_marker, txn.GetCopy(meta, kDeviceMarkerKey));
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (stored_marker != marker) {
      reason = "was copied or restored (its data file is new)";
    } else if (!storage::RollbackGuard::Consistent(current, guarded)) {
      reason = "was rolled back (its data file is older than its last commit)";
    }
    if (reason == nullptr) return Status::Ok();  // commits nothing
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kReplicaIdKey, new_id.AsStringView()));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    return txn.Put(meta, kDeviceMarkerKey, marker);
  }));
  hlc.Restore(state.hlc);
  if (reason == nullptr) {
    id = state.id;
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (guarded != current) WriteGuard(guard_lock, current);  // the crash-cut last write
    return Status::Ok();
  }
  id = new_id;
  WriteGuard(guard_lock, {new_id, state.vv.Get(new_id), new_epoch});
  Warn("replica at " + path + " " + reason + "; replica id " + state.id.ToHex() + " is retired, new id " +
       new_id.ToHex());
  return Status::Ok();
}

ReplicaId Replica::id() const {
  // From meta: another process may have retired the id since this one wrote.
  {
    std::shared_lock<std::shared_mutex> lock;
    auto txn = impl_->writer.BeginRead(lock);
    if (txn.ok()) {
      auto raw = impl_->GetMeta(*txn, kReplicaIdKey);
      if (raw.ok()) {
        auto stored = ReplicaId::FromBytes(*raw);
        if (stored.ok()) return *stored;
      }
    }
  }
  std::lock_guard lock(impl_->write_mu);
  return impl_->id;
}

}  // namespace daicho
