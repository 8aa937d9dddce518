// SealedChangeStore: end-to-end encryption on a PC's side of a relay sync.
// Wraps the replica's ChangeStore: every change that leaves goes out sealed
// under the office's current data key (crypto/sealed_change.h), every change
// that arrives is opened before the replica sees it. The relay in between
// only ever holds ciphertext.
//
// Apply opens the whole batch before storing any of it: one payload that
// fails to open (tampered, moved to another seq/origin/contract, or sealed
// under a key this PC lacks) refuses the batch and nothing is applied.
//
// Ownership: borrows `inner` (must outlive this). Not thread-safe beyond what
// one session needs (SetKeyRing between frames on the session's thread).
// Codes: kFailedPrecondition (no office key yet, or a change sealed under a
// key this PC does not hold), kCorruption (a payload that does not open),
// and the inner store's codes.
#ifndef DAICHO_SYNC_SEALED_CHANGE_STORE_H_
#define DAICHO_SYNC_SEALED_CHANGE_STORE_H_

#include <string>

#include "crypto/key_ring.h"
#include "sync/change_store.h"

namespace daicho::sync {

class SealedChangeStore final : public ChangeStore {
 public:
  // `contract` is bound into every seal; `ring` may be empty until the
  // session's Welcome says which key is current (see SetKeyRing).
  SealedChangeStore(ChangeStore& inner, std::string contract, crypto::KeyRing ring);

  void SetKeyRing(crypto::KeyRing ring) { ring_ = std::move(ring); }
  const crypto::KeyRing& key_ring() const { return ring_; }

  Result<VersionVector> GetVersionVector() override;
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override;
  Status Apply(std::span<const ChangeBlob> changes) override;

 private:
  Status RequireKey() const;

  ChangeStore& inner_;
  const std::string contract_;
  crypto::KeyRing ring_;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_SEALED_CHANGE_STORE_H_
