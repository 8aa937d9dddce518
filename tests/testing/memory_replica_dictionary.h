// MemoryReplicaDictionary: a ReplicaDictionary (storage/codec/replica_dictionary.h)
// in memory, assigning indexes in order of first use. For tests of the state
// codec and for canonical, store-independent encodings in tests. Not
// thread-safe.
#ifndef DAICHO_TESTS_TESTING_MEMORY_REPLICA_DICTIONARY_H_
#define DAICHO_TESTS_TESTING_MEMORY_REPLICA_DICTIONARY_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "storage/codec/replica_dictionary.h"

namespace daicho::testing {

class MemoryReplicaDictionary final : public storage::ReplicaDictionary {
 public:
  MemoryReplicaDictionary() = default;
  // Entry i of `ids` gets index i; ids must be distinct.
  explicit MemoryReplicaDictionary(std::vector<ReplicaId> ids);

  Result<uint32_t> IndexOf(const ReplicaId& id) override;
  // kCorruption for an index no id has, as a stored dictionary says it.
  Result<ReplicaId> IdAt(uint64_t index) const override;

  const std::vector<ReplicaId>& ids() const { return ids_; }

 private:
  std::vector<ReplicaId> ids_;
  std::unordered_map<ReplicaId, uint32_t, storage::ReplicaIdHash> index_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_MEMORY_REPLICA_DICTIONARY_H_
