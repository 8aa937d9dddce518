// ReplicaDictionary: replica ids as small integers. Record states (see
// state_codec.h) name a replica by its index in a store-wide dictionary
// instead of repeating its 16-byte id in every dot, stamp and version vector.
//
// The interface is what the state codec needs: IndexOf (encoding; may assign
// a new index) and IdAt (decoding). A replica keeps its dictionary in its
// `meta` database (storage/replica/store_replica_dictionary.h); tests use one
// in memory (tests/testing/memory_replica_dictionary.h).
#ifndef DAICHO_STORAGE_CODEC_REPLICA_DICTIONARY_H_
#define DAICHO_STORAGE_CODEC_REPLICA_DICTIONARY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "daicho/replica_id.h"
#include "daicho/status.h"

namespace daicho::storage {

class ReplicaDictionary {
 public:
  virtual ~ReplicaDictionary() = default;

  // The index of `id`, assigning the next free one if `id` has none yet.
  // Codes: those of the underlying store (an assignment is a write).
  virtual Result<uint32_t> IndexOf(const ReplicaId& id) = 0;
  // The id at `index`. kCorruption if the dictionary has no such entry (a
  // stored state names a replica the store never registered).
  virtual Result<ReplicaId> IdAt(uint64_t index) const = 0;
};

// Hash of a random id: its first bytes are already uniformly distributed.
struct ReplicaIdHash {
  size_t operator()(const ReplicaId& id) const {
    size_t h;
    std::memcpy(&h, id.bytes().data(), sizeof h);
    return h;
  }
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_REPLICA_DICTIONARY_H_
