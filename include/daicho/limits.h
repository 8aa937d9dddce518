// Limits: the size limits a replica checks (ReplicaOptions::limits).
//
// A plain value type; thread-safe as any value.
#ifndef DAICHO_LIMITS_H_
#define DAICHO_LIMITS_H_

#include <cstddef>

namespace daicho {

// Size limits checked on every write and on every applied remote change.
//
// Change sizes (docs/formats.md, "Change size limits"): a commit makes at most
// max_commit_bytes, which with its framing and sealing fits one 16 MiB sync
// frame, so every peer can receive it. A replica stores, applies and sends
// changes up to max_change_bytes: earlier daicho versions committed changes that
// large, and sync carries one that does not fit a frame in several parts.
struct Limits {
  size_t max_name_bytes = 256;          // collection, record id, field name, each
  size_t max_value_bytes = 1 << 20;     // one string/bytes value or set element
  size_t max_ops_per_change = 1 << 20;  // field operations in one transaction
  size_t max_change_bytes = 64u << 20;  // one encoded change, stored or received
  // One encoded change made by a local commit (16 MiB less 64 KiB for framing
  // and sealing); a larger transaction fails with kResourceExhausted and must
  // be split. Raising it makes changes only peers that accept parts receive.
  size_t max_commit_bytes = (16u << 20) - (64u << 10);
};

}  // namespace daicho

#endif  // DAICHO_LIMITS_H_
