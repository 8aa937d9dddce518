// ReplicaChangeStore: a PC's Replica seen as a ChangeStore, so a SyncSession
// can sync it.
//
// Ownership: borrows the Replica, which must outlive this object. Thread-safe
// (Replica is). Returns the Replica's codes unchanged: kProtocolError for a
// gap, kCorruption for a payload that does not decode, kIoError,
// kResourceExhausted.
#ifndef DAICHO_SYNC_REPLICA_CHANGE_STORE_H_
#define DAICHO_SYNC_REPLICA_CHANGE_STORE_H_

#include "daicho/replica.h"
#include "sync/change_store.h"

namespace daicho::sync {

class ReplicaChangeStore final : public ChangeStore {
 public:
  explicit ReplicaChangeStore(Replica& replica) : replica_(replica) {}

  Result<VersionVector> GetVersionVector() override;
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override;
  Status Apply(std::span<const ChangeBlob> changes) override;

 private:
  Replica& replica_;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_REPLICA_CHANGE_STORE_H_
