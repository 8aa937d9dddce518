// The change-log rules every store of changes shares (a replica, a relay
// backend): which changes of a received batch are new, held already or leave
// a gap (PlanApply), and the walk that serves the changes a peer lacks
// (ForEachChangeSince, CollectChangesSince).
//
// A change log holds, per origin, the changes seq 1..n without a gap; the
// store's version vector names n for each origin. Pure code: the walk reads
// the store through ChangeLogReader, which each store implements over its own
// keys (storage/lmdb/change_log_reader.h for LMDB).
#ifndef DAICHO_CORE_CHANGE_LOG_H_
#define DAICHO_CORE_CHANGE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "daicho/change_blob.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::core {

// One change of a batch to apply, in the order it is to be applied.
struct ApplyStep {
  size_t index = 0;        // into the batch given to PlanApply
  bool duplicate = false;  // the store holds (origin, seq) already, or the batch has it twice
};

struct ApplyPlan {
  // The batch in (origin, seq) order (stable for equal pairs), ending before
  // the first change that would leave a gap.
  std::vector<ApplyStep> steps;
  // The index of the change that leaves a gap (seq > held + 1): the batch
  // must be refused. Handled after the steps, so that an error found while
  // walking them (a reused id, a damaged change) takes precedence as it did.
  std::optional<size_t> gap;
  // The held version vector advanced by every non-duplicate step.
  VersionVector new_vv;
};

// Plans applying `blobs` to a store holding `held_vv`. Any order across and
// within origins. Precondition: every seq >= 1 (callers check it first, each
// with its own code). Steps keep the blobs' indexes: nothing is copied.
ApplyPlan PlanApply(const VersionVector& held_vv, std::span<const ChangeBlob> blobs);

// kProtocolError "gap: change <origin>:<seq> arrived but <held + 1> is
// missing", where `held` is the seq held of blob.origin before it.
Status GapError(const ChangeBlob& blob, uint64_t held);

// kProtocolError "change <origin>:<seq> differs from the one <holder>": a
// duplicate whose payload differs from the stored one, so the origin's id was
// reused. `holder` ends the sentence ("the relay holds", "held here: ...").
Status ReusedDotError(const ChangeBlob& blob, std::string_view holder);

// One entry of a change log.
struct ChangeLogEntry {
  ReplicaId origin;
  uint64_t seq = 0;
  std::string_view payload;  // valid until the reader moves
};

// A position in a change log ordered by (origin, seq). Thread-safety: one
// thread at a time. Codes are the store's (kCorruption, kIoError, ...).
class ChangeLogReader {
 public:
  virtual ~ChangeLogReader() = default;
  // Positions at the first entry at or after (origin, seq).
  virtual Status Seek(const ReplicaId& origin, uint64_t seq) = 0;
  // Moves to the next entry. Needs a current entry.
  virtual Status Next() = 0;
  // The entry at the position; nullptr past the log's last entry. Valid
  // until the next Seek or Next.
  virtual const ChangeLogEntry* current() const = 0;
};

// Returns false to stop the walk; an error stops it and is returned.
using ChangeVisitor = std::function<Result<bool>(const ChangeLogEntry&)>;

// Walks the changes `held` names beyond `other` (with `upto`, only those it
// names too: seq <= upto[origin]), ascending seq per origin, origins in
// `held`'s order. kCorruption "<log_name> lacks <origin>:<seq>" when the log
// lacks a change `held` names.
Status ForEachChangeSince(ChangeLogReader& log, std::string_view log_name, const VersionVector& held,
                          const VersionVector& other, const VersionVector* upto, const ChangeVisitor& visit);

// The changes ForEachChangeSince walks, copied out. Stops after roughly
// `max_bytes` of payload (at least one change); call again with `other`
// advanced to continue.
Result<std::vector<ChangeBlob>> CollectChangesSince(ChangeLogReader& log, std::string_view log_name,
                                                    const VersionVector& held, const VersionVector& other,
                                                    size_t max_bytes, const VersionVector* upto);

}  // namespace daicho::core

#endif  // DAICHO_CORE_CHANGE_LOG_H_
