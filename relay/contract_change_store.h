// ContractChangeStore: one contract's change log, as the ChangeStore a sync
// session reads and writes (sync/change_store.h), over any RelayBackend. The
// relay's rules for changes live here once: a change needs a non-zero
// origin and seq and fits max_change_bytes; duplicates are ignored (an
// unsealed one must equal what the relay holds: two payloads under one dot
// mean a reused replica id); a gap refuses the batch; with
// require_sealed_changes, only changes sealed under the contract's current
// office key are stored, checked in the same backend write as the changes
// (so no ciphertext of an old key lands after a rotation).
//
// Ownership: shares the backend, so a handle outlives the RelayService that
// made it. Thread-safety: every method may be called concurrently.
// Codes: kProtocolError (zero origin or seq, a gap, a reused dot),
// kResourceExhausted (a payload over the limit), kFailedPrecondition (no
// office key, or a change not sealed under the current one), kNotFound (the
// contract was removed), and the backend's.
#ifndef DAICHO_RELAY_CONTRACT_CHANGE_STORE_H_
#define DAICHO_RELAY_CONTRACT_CHANGE_STORE_H_

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "relay/relay_backend.h"
#include "sync/change_store.h"

namespace daicho::relay {

struct ContractChangeRules {
  size_t max_change_bytes = 0;  // RelayServiceOptions::max_change_bytes
  bool require_sealed_changes = true;
};

class ContractChangeStore final : public sync::ChangeStore {
 public:
  ContractChangeStore(std::shared_ptr<RelayBackend> backend, ContractNumber contract, ContractChangeRules rules);

  Result<VersionVector> GetVersionVector() override;
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override;
  Status Apply(std::span<const ChangeBlob> changes) override;

 private:
  const std::shared_ptr<RelayBackend> backend_;
  const ContractNumber contract_;
  const ContractChangeRules rules_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_CONTRACT_CHANGE_STORE_H_
