// The merge rules of DESIGN.md ("Merge rules"), as pure functions on
// RecordState. Each is commutative, associative and idempotent over the
// operations of changes delivered in per-origin seq order; changes of
// different origins may arrive in any order.
#ifndef DAICHO_CORE_MERGE_H_
#define DAICHO_CORE_MERGE_H_

#include "core/change.h"
#include "core/record_state.h"

namespace daicho::core {

// Applies one op stamped with the change's dot and hlc. Returns true iff the
// state changed (an op that a rule ignores still raises the "newest" stamps).
bool ApplyOp(RecordState& state, const Op& op, const Dot& dot, HlcTime hlc);

// Applies every op of `ops` (one record's part of a change).
bool ApplyRecordOps(RecordState& state, const RecordOps& ops, const Dot& dot, HlcTime hlc);

// Sets `state` to what ApplyRecordOps gives on an empty state (a record no
// change touched before), reusing the memory `state` holds: one state reused
// for many new records allocates only where a record outgrows the last.
void ApplyRecordOpsToNew(RecordState& state, const RecordOps& ops, const Dot& dot, HlcTime hlc);

// Every live dot of the record: register sibling dots, live set dots, each
// origin's last counter-add dot, undelete dots.
bool IsHidden(const RecordState& state);
// Deleted, still visible, and every undelete was seen by a delete: an edit
// the deleter had not seen keeps the record alive.
bool HasDeleteConflict(const RecordState& state);

// Whether a field holds more than one kind.
bool HasKindConflict(const FieldState& field);
// A register whose siblings hold at least two distinct values.
bool HasValueConflict(const RegisterState& reg);
// Any value, kind or delete conflict in the record (Record::has_conflict of
// its view, without building the view).
bool HasConflict(const RecordState& state);

}  // namespace daicho::core

#endif  // DAICHO_CORE_MERGE_H_
