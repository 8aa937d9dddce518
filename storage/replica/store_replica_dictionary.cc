#include "storage/replica/store_replica_dictionary.h"

#include <limits>

namespace daicho::storage {
namespace {

constexpr std::string_view kKeyPrefix{"replica\0", 8};

Status UnknownIndex(uint64_t index) {
  return Corruption("replica index " + std::to_string(index) + " is not in the replica dictionary");
}

}  // namespace

std::string ReplicaDictionaryKey(uint32_t index) {
  std::string key(kKeyPrefix);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>((index >> shift) & 0xff));
  return key;
}

StoreReplicaDictionary::StoreReplicaDictionary(lmdb::Dbi meta) : meta_(meta), table_(std::make_shared<const Table>()) {}

std::shared_ptr<const StoreReplicaDictionary::Table> StoreReplicaDictionary::Snapshot() const {
  std::lock_guard lock(mu_);
  return table_;
}

size_t StoreReplicaDictionary::TEST_cached_size() const { return Snapshot()->ids.size(); }

Result<std::shared_ptr<const StoreReplicaDictionary::Table>> StoreReplicaDictionary::CatchUp(
    const lmdb::TxnBase& txn) const {
  // Under the lock: two threads catching up at once publish one table.
  std::lock_guard lock(mu_);
  std::vector<ReplicaId> added;
  for (uint64_t i = table_->ids.size();; ++i) {
    if (i > std::numeric_limits<uint32_t>::max()) return Corruption("replica dictionary is full");
    auto raw = txn.Get(meta_, ReplicaDictionaryKey(static_cast<uint32_t>(i)));
    if (!raw.ok()) {
      if (raw.status().code() == Code::kNotFound) break;
      return raw.status();
    }
    auto id = ReplicaId::FromBytes(*raw);
    if (!id.ok()) {
      return Corruption("replica dictionary entry " + std::to_string(i) + " has " + std::to_string(raw->size()) +
                        " bytes");
    }
    added.push_back(*id);
  }
  if (added.empty()) return table_;
  auto table = std::make_shared<Table>(*table_);
  for (const ReplicaId& id : added) {
    if (!table->index.emplace(id, static_cast<uint32_t>(table->ids.size())).second) {
      return Corruption("replica dictionary holds " + id.ToHex() + " twice");
    }
    table->ids.push_back(id);
  }
  table_ = std::move(table);
  return table_;
}

StoreReplicaDictionary::ReadView StoreReplicaDictionary::ForRead(const lmdb::TxnBase& txn) const {
  return ReadView(*this, txn);
}

StoreReplicaDictionary::WriteView StoreReplicaDictionary::ForWrite(lmdb::WriteTxn& txn) const {
  return WriteView(*this, txn);
}

// ---- ReadView ----

Result<uint32_t> StoreReplicaDictionary::ReadView::IndexOf(const ReplicaId& id) {
  if (auto it = table_->index.find(id); it != table_->index.end()) return it->second;
  DAICHO_ASSIGN_OR_RETURN(table_, dict_.CatchUp(txn_));
  if (auto it = table_->index.find(id); it != table_->index.end()) return it->second;
  return Status(Code::kInternal, "replica " + id.ToHex() + " has no index, and a read view cannot assign one");
}

Result<ReplicaId> StoreReplicaDictionary::ReadView::IdAt(uint64_t index) const {
  if (index >= table_->ids.size()) {
    // Another process may have added entries since this one last looked.
    DAICHO_ASSIGN_OR_RETURN(table_, dict_.CatchUp(txn_));
    if (index >= table_->ids.size()) return UnknownIndex(index);
  }
  return table_->ids[index];
}

// ---- WriteView ----

Status StoreReplicaDictionary::WriteView::CatchUpOnce() const {
  if (caught_up_) return Status::Ok();
  // Nothing assigned yet (assigning comes after this), so all this
  // transaction sees is committed and safe to publish.
  DAICHO_ASSIGN_OR_RETURN(table_, dict_.CatchUp(txn_));
  caught_up_ = true;
  return Status::Ok();
}

Result<uint32_t> StoreReplicaDictionary::WriteView::IndexOf(const ReplicaId& id) {
  if (auto it = table_->index.find(id); it != table_->index.end()) return it->second;
  if (auto it = pending_index_.find(id); it != pending_index_.end()) return it->second;
  if (!caught_up_) {
    DAICHO_RETURN_IF_ERROR(CatchUpOnce());
    if (auto it = table_->index.find(id); it != table_->index.end()) return it->second;
  }
  // table_ now holds every committed entry, and this writer holds LMDB's
  // write lock: the next index is free in every process.
  const uint64_t next = table_->ids.size() + pending_.size();
  if (next > std::numeric_limits<uint32_t>::max()) {
    return Status(Code::kResourceExhausted, "the replica dictionary is full");
  }
  const auto index = static_cast<uint32_t>(next);
  DAICHO_RETURN_IF_ERROR(txn_.Put(dict_.meta_, ReplicaDictionaryKey(index), id.AsStringView()));
  pending_.push_back(id);
  pending_index_.emplace(id, index);
  return index;
}

Result<ReplicaId> StoreReplicaDictionary::WriteView::IdAt(uint64_t index) const {
  if (index < table_->ids.size()) return table_->ids[index];
  if (!caught_up_) {
    DAICHO_RETURN_IF_ERROR(CatchUpOnce());
    if (index < table_->ids.size()) return table_->ids[index];
  }
  const uint64_t pending = index - table_->ids.size();
  if (pending < pending_.size()) return pending_[pending];
  return UnknownIndex(index);
}

}  // namespace daicho::storage
