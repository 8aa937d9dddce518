// Replica ids and version vectors spelled with small numbers, for tests
// that write them out by hand.
#ifndef DAICHO_TESTS_TESTING_REPLICA_IDS_H_
#define DAICHO_TESTS_TESTING_REPLICA_IDS_H_

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "daicho/replica_id.h"
#include "daicho/version_vector.h"

namespace daicho::testing {

// The id whose 16 bytes are all `n`: ids sort by n, and hex shows n.
inline ReplicaId IdOf(uint8_t n) {
  ReplicaId::Bytes bytes;
  bytes.fill(n);
  return ReplicaId(bytes);
}

// A version vector of (replica, counter) entries.
inline VersionVector Vv(std::initializer_list<std::pair<ReplicaId, uint64_t>> entries) {
  VersionVector vv;
  for (const auto& [replica, counter] : entries) vv.Advance(replica, counter);
  return vv;
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_REPLICA_IDS_H_
