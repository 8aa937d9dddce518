// ChangeBlob: one change as it travels between replicas and relays.
//
// A plain value type; thread-safe as any value.
#ifndef DAICHO_CHANGE_BLOB_H_
#define DAICHO_CHANGE_BLOB_H_

#include <cstdint>
#include <string>

#include "daicho/replica_id.h"

namespace daicho {

// A change as it travels between replicas: origin and seq in the clear (so a
// relay can index it), the encoded operations as opaque bytes.
struct ChangeBlob {
  ReplicaId origin;
  uint64_t seq = 0;
  std::string payload;
};

}  // namespace daicho

#endif  // DAICHO_CHANGE_BLOB_H_
