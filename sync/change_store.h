// ChangeStore: what a sync session reads from and writes to. A PC's replica
// is one (sync/replica_change_store.h); a relay's per-contract store of opaque
// change blobs is another. Sessions never see LMDB or record states.
//
// Implementations are used from one session at a time per call but may be
// shared by several sessions: every method must be thread-safe.
#ifndef DAICHO_SYNC_CHANGE_STORE_H_
#define DAICHO_SYNC_CHANGE_STORE_H_

#include <cstddef>
#include <span>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::sync {

class ChangeStore {
 public:
  virtual ~ChangeStore() = default;

  // The changes held: per origin the contiguous prefix 1..n.
  virtual Result<VersionVector> GetVersionVector() = 0;

  // Held changes that `other` lacks, ascending seq per origin, stopping after
  // about `max_bytes` of payload (at least one change if any is missing).
  // With `upto` (not null), only those it names too: a one-shot sync sends
  // what was held when it began, however much is committed meanwhile.
  virtual Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                                       const VersionVector* upto) = 0;

  // Stores a batch durably and returns only after it is committed (an ack
  // may then be sent). Duplicates are ignored; a gap is kProtocolError and
  // nothing of the batch is stored.
  virtual Status Apply(std::span<const ChangeBlob> changes) = 0;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_CHANGE_STORE_H_
