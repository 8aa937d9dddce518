#include "relay/contract_change_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

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
    size_t bytes = 0;
    for (const auto& entry : held.entries()) {
      const uint64_t first = other.Get(entry.replica) + 1;
      const uint64_t last = upto ? std::min(entry.counter, upto->Get(entry.replica)) : entry.counter;
      if (first > last) continue;
      DAICHO_RETURN_IF_ERROR(log->Seek(entry.replica, first));
      for (uint64_t expect = first; expect <= last; ++expect) {
        if (!log->AtEntryOf(entry.replica) || log->seq() != expect) {
          return Corruption("relay change log of " + contract_.str() + " lacks " + entry.replica.ToHex() + ":" +
                            std::to_string(expect));
        }
        if (!out.empty() && bytes + log->payload().size() > max_bytes) return Status::Ok();
        bytes += log->payload().size();
        out.push_back(ChangeBlob{entry.replica, expect, std::string(log->payload())});
        DAICHO_RETURN_IF_ERROR(log->Next());
      }
    }
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
  std::vector<size_t> order(changes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(changes[a].origin, changes[a].seq) < std::tie(changes[b].origin, changes[b].seq);
  });
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
    VersionVector new_vv = held_vv;
    std::vector<const ChangeBlob*> fresh;
    fresh.reserve(changes.size());
    for (size_t index : order) {
      const ChangeBlob& blob = changes[index];
      const uint64_t held = new_vv.Get(blob.origin);
      if (blob.seq <= held) {
        // Two different changes under one dot mean a replica id was reused.
        // Sealed payloads of one change differ (random nonces), so only the
        // PCs, which see plaintext, can tell; unsealed ones are compared here.
        if (current_key != 0) continue;
        std::optional<std::string> stored;
        if (blob.seq > held_vv.Get(blob.origin)) {
          // Staged earlier in this batch: sorted, it is the last one staged.
          stored = fresh.back()->payload;
        } else {
          DAICHO_ASSIGN_OR_RETURN(stored, txn.GetChange(contract_, blob.origin, blob.seq));
        }
        if (stored && *stored != blob.payload) {
          return Status(Code::kProtocolError, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                  " differs from the one the relay holds");
        }
        continue;
      }
      if (blob.seq != held + 1) {
        return Status(Code::kProtocolError, "gap: change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                " arrived but " + std::to_string(held + 1) + " is missing");
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
      new_vv.Advance(blob.origin, blob.seq);
    }
    VersionVector advanced;
    for (const auto& entry : new_vv.entries()) {
      if (entry.counter != held_vv.Get(entry.replica)) advanced.Advance(entry.replica, entry.counter);
    }
    return txn.AppendChanges(contract_, fresh, advanced);
  });
  if (!status.ok()) return status.WithContext("storing changes of contract " + contract_.str());
  return Status::Ok();
}

}  // namespace daicho::relay
