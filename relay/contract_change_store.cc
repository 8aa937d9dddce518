#include "relay/contract_change_store.h"

#include <optional>
#include <string>
#include <utility>

#include "core/change_log.h"
#include "crypto/sealed_change.h"

namespace daicho::relay {

ContractChangeStore::ContractChangeStore(std::shared_ptr<RelayBackend> backend, ContractNumber contract,
                                         ContractChangeRules rules)
    : backend_(std::move(backend)), contract_(std::move(contract)), rules_(rules) {}

Result<VersionVector> ContractChangeStore::GetVersionVector() {
  VersionVector out;
  DAICHO_RETURN_IF_ERROR(backend_->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(out, txn.GetVersionVector(contract_));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<ChangeBlob>> ContractChangeStore::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                                  const VersionVector* upto) {
  std::vector<ChangeBlob> out;
  DAICHO_RETURN_IF_ERROR(backend_->Read([&](RelayReadTxn& txn) -> Status {
    // The VV and the changes come from one snapshot, so they agree.
    DAICHO_ASSIGN_OR_RETURN(VersionVector held, txn.GetVersionVector(contract_));
    DAICHO_ASSIGN_OR_RETURN(auto log, txn.OpenChangeLog(contract_));
    DAICHO_ASSIGN_OR_RETURN(
        out, core::CollectChangesSince(*log, "relay change log of " + contract_.str(), held, other, max_bytes, upto));
    return Status::Ok();
  }));
  return out;
}

Status ContractChangeStore::Apply(std::span<const ChangeBlob> changes) {
  for (const ChangeBlob& blob : changes) {
    if (blob.origin.IsZero() || blob.seq == 0) {
      return Status(Code::kProtocolError, "a change needs a non-zero origin and a seq >= 1");
    }
    if (blob.payload.size() > rules_.max_change_bytes) {
      return Status(Code::kResourceExhausted, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                  " has " + std::to_string(blob.payload.size()) +
                                                  " bytes, more than the limit of " +
                                                  std::to_string(rules_.max_change_bytes));
    }
  }
  // Staged per attempt: the backend may run the write again.
  Status status = backend_->Write([&](RelayWriteTxn& txn) -> Status {
    // A handle must not write keys of a contract removed meanwhile.
    DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract_));
    if (!exists) return NotFound("no contract " + contract_.str());
    DAICHO_ASSIGN_OR_RETURN(VersionVector held_vv, txn.GetVersionVector(contract_));
    crypto::KeyId current_key = 0;
    if (rules_.require_sealed_changes) {
      DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey office_key, txn.GetOfficeKey(contract_));
      if (office_key.empty()) {
        return Status(Code::kFailedPrecondition,
                      "the office key is not set up: run `daicho key init` on the office's first PC");
      }
      current_key = office_key.current_key_id;
    }
    const core::ApplyPlan plan = core::PlanApply(held_vv, changes);
    std::vector<const ChangeBlob*> fresh;
    fresh.reserve(plan.steps.size());
    for (const core::ApplyStep& step : plan.steps) {
      const ChangeBlob& blob = changes[step.index];
      if (step.duplicate) {
        // Two different changes under one dot mean a replica id was reused.
        // Sealed payloads of one change differ (random nonces), so only the
        // PCs, which see plaintext, can tell; unsealed ones are compared here.
        if (current_key != 0) continue;
        std::optional<std::string> stored;
        if (blob.seq > held_vv.Get(blob.origin)) {
          // Twice in this batch: in plan order the first copy was staged last.
          stored = fresh.back()->payload;
        } else {
          DAICHO_ASSIGN_OR_RETURN(stored, txn.GetChange(contract_, blob.origin, blob.seq));
        }
        if (stored && *stored != blob.payload) return core::ReusedDotError(blob, "the relay holds");
        continue;
      }
      if (current_key != 0) {
        // Only ciphertext under the current key: a PC that missed a
        // rotation (or was lost and still holds the old key) is refused.
        auto sealed_under = crypto::SealedKeyId(blob.payload);
        if (!sealed_under.ok()) {
          return Status(Code::kFailedPrecondition, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                       " is not sealed with the office key; the relay "
                                                       "stores only encrypted changes");
        }
        if (*sealed_under != current_key) {
          return Status(Code::kFailedPrecondition, "changes must be sealed under the current office key " +
                                                       std::to_string(current_key) + ", not key " +
                                                       std::to_string(*sealed_under) +
                                                       ": unlock the current key on this PC (daicho key unlock)");
        }
      }
      fresh.push_back(&blob);
    }
    if (plan.gap) {
      const ChangeBlob& blob = changes[*plan.gap];
      return core::GapError(blob, plan.new_vv.Get(blob.origin));
    }
    VersionVector advanced;
    for (const auto& entry : plan.new_vv.entries()) {
      if (entry.counter != held_vv.Get(entry.replica)) advanced.Advance(entry.replica, entry.counter);
    }
    return txn.AppendChanges(contract_, fresh, advanced);
  });
  if (!status.ok()) return status.WithContext("storing changes of contract " + contract_.str());
  return Status::Ok();
}

}  // namespace daicho::relay
