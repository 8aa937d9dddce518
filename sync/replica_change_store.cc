#include "sync/replica_change_store.h"

namespace daicho::sync {

Result<VersionVector> ReplicaChangeStore::GetVersionVector() { return replica_.GetVersionVector(); }

Result<std::vector<ChangeBlob>> ReplicaChangeStore::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                                 const VersionVector* upto) {
  return replica_.ChangesSince(other, max_bytes, upto);
}

Status ReplicaChangeStore::Apply(std::span<const ChangeBlob> changes) {
  // Replica::Apply commits durably before returning, which is what makes an
  // ack sent afterwards safe.
  return replica_.Apply(changes).status();
}

}  // namespace daicho::sync
