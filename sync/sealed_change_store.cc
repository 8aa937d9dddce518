#include "sync/sealed_change_store.h"

#include <utility>

#include "crypto/sealed_change.h"

namespace daicho::sync {

SealedChangeStore::SealedChangeStore(ChangeStore& inner, std::string contract, crypto::KeyRing ring)
    : inner_(inner), contract_(std::move(contract)), ring_(std::move(ring)) {}

Status SealedChangeStore::RequireKey() const {
  if (ring_.empty()) return Status(Code::kFailedPrecondition, "this PC does not hold the office key yet");
  return Status::Ok();
}

Result<VersionVector> SealedChangeStore::GetVersionVector() { return inner_.GetVersionVector(); }

Result<std::vector<ChangeBlob>> SealedChangeStore::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                                const VersionVector* upto) {
  DAICHO_RETURN_IF_ERROR(RequireKey());
  DAICHO_ASSIGN_OR_RETURN(std::vector<ChangeBlob> changes, inner_.ChangesSince(other, max_bytes, upto));
  for (ChangeBlob& change : changes) {
    DAICHO_ASSIGN_OR_RETURN(change.payload,
                            crypto::SealChange(ring_, {contract_, change.origin, change.seq}, change.payload));
  }
  return changes;
}

Status SealedChangeStore::Apply(std::span<const ChangeBlob> changes) {
  DAICHO_RETURN_IF_ERROR(RequireKey());
  std::vector<ChangeBlob> opened;
  opened.reserve(changes.size());
  for (const ChangeBlob& change : changes) {
    auto plain = crypto::OpenChange(ring_, {contract_, change.origin, change.seq}, change.payload);
    if (!plain.ok()) {
      return plain.status().WithContext("change " + change.origin.ToHex() + ":" + std::to_string(change.seq));
    }
    opened.push_back(ChangeBlob{change.origin, change.seq, *std::move(plain)});
  }
  return inner_.Apply(opened);
}

}  // namespace daicho::sync
