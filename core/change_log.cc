#include "core/change_log.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace daicho::core {

ApplyPlan PlanApply(const VersionVector& held_vv, std::span<const ChangeBlob> blobs) {
  ApplyPlan plan;
  plan.steps.reserve(blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) plan.steps.push_back(ApplyStep{i, false});
  auto before = [&](const ApplyStep& a, const ApplyStep& b) {
    return std::tie(blobs[a.index].origin, blobs[a.index].seq) < std::tie(blobs[b.index].origin, blobs[b.index].seq);
  };
  // A batch read from a change log (the usual one) is sorted already.
  if (!std::is_sorted(plan.steps.begin(), plan.steps.end(), before)) {
    std::stable_sort(plan.steps.begin(), plan.steps.end(), before);
  }
  plan.new_vv = held_vv;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    ApplyStep& step = plan.steps[i];
    const ChangeBlob& blob = blobs[step.index];
    const uint64_t held = plan.new_vv.Get(blob.origin);
    if (blob.seq <= held) {
      step.duplicate = true;
    } else if (blob.seq != held + 1) {
      plan.gap = step.index;
      plan.steps.resize(i);
      break;
    } else {
      plan.new_vv.Advance(blob.origin, blob.seq);
    }
  }
  return plan;
}

Status GapError(const ChangeBlob& blob, uint64_t held) {
  return Status(Code::kProtocolError, "gap: change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                          " arrived but " + std::to_string(held + 1) + " is missing");
}

Status ReusedDotError(const ChangeBlob& blob, std::string_view holder) {
  return Status(Code::kProtocolError, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                          " differs from the one " + std::string(holder));
}

Status ForEachChangeSince(ChangeLogReader& log, std::string_view log_name, const VersionVector& held,
                          const VersionVector& other, const VersionVector* upto, const ChangeVisitor& visit) {
  for (const auto& entry : held.entries()) {
    const uint64_t first = other.Get(entry.replica) + 1;
    const uint64_t last = upto ? std::min(entry.counter, upto->Get(entry.replica)) : entry.counter;
    if (first > last) continue;
    DAICHO_RETURN_IF_ERROR(log.Seek(entry.replica, first));
    for (uint64_t expect = first; expect <= last; ++expect) {
      const ChangeLogEntry* at = log.current();
      if (at == nullptr || at->origin != entry.replica || at->seq != expect) {
        return Corruption(std::string(log_name) + " lacks " + entry.replica.ToHex() + ":" + std::to_string(expect));
      }
      DAICHO_ASSIGN_OR_RETURN(bool more, visit(*at));
      if (!more) return Status::Ok();
      DAICHO_RETURN_IF_ERROR(log.Next());
    }
  }
  return Status::Ok();
}

Result<std::vector<ChangeBlob>> CollectChangesSince(ChangeLogReader& log, std::string_view log_name,
                                                    const VersionVector& held, const VersionVector& other,
                                                    size_t max_bytes, const VersionVector* upto) {
  std::vector<ChangeBlob> out;
  size_t bytes = 0;
  DAICHO_RETURN_IF_ERROR(
      ForEachChangeSince(log, log_name, held, other, upto, [&](const ChangeLogEntry& entry) -> Result<bool> {
        if (!out.empty() && bytes + entry.payload.size() > max_bytes) return false;
        bytes += entry.payload.size();
        out.push_back(ChangeBlob{entry.origin, entry.seq, std::string(entry.payload)});
        return true;
      }));
  return out;
}

}  // namespace daicho::core
