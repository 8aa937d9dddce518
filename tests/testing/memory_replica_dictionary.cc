#include "tests/testing/memory_replica_dictionary.h"

#include <string>
#include <utility>

namespace daicho::testing {

MemoryReplicaDictionary::MemoryReplicaDictionary(std::vector<ReplicaId> ids) : ids_(std::move(ids)) {
  for (size_t i = 0; i < ids_.size(); ++i) index_.emplace(ids_[i], static_cast<uint32_t>(i));
}

Result<uint32_t> MemoryReplicaDictionary::IndexOf(const ReplicaId& id) {
  auto [it, inserted] = index_.emplace(id, static_cast<uint32_t>(ids_.size()));
  if (inserted) ids_.push_back(id);
  return it->second;
}

Result<ReplicaId> MemoryReplicaDictionary::IdAt(uint64_t index) const {
  if (index >= ids_.size()) {
    return Corruption("replica index " + std::to_string(index) + " is not in the replica dictionary");
  }
  return ids_[index];
}

}  // namespace daicho::testing
