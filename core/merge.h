// The merge rules of docs/merge-rules.md, as pure functions on
// RecordState. Each is commutative, associative and idempotent over the
// operations of changes delivered in per-origin seq order; changes of
// different origins may arrive in any order.
#ifndef DAICHO_CORE_MERGE_H_
#define DAICHO_CORE_MERGE_H_

#include <array>
#include <cstddef>

#include "core/change.h"
#include "core/record_state.h"
#include "daicho/record.h"

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

// Hidden: deleted, and the deletes' join covers every undelete and every
// live dot of the record's kinds that are not superseded: register sibling
// dots, live set dots, each origin's last counter-add dot.
bool IsHidden(const RecordState& state);
// Deleted, still visible, and every undelete was seen by a delete: an edit
// the deleter had not seen keeps the record alive.
bool HasDeleteConflict(const RecordState& state);

// Kinds of one name (docs/merge-rules.md "Kinds of one name").
// The field VV of a kind: register: its context; counter: the VV of its add
// dots; set: the join of its elements' tombstones (which hold the live dots).
// Empty if the field does not hold `kind`.
VersionVector FieldKindVv(const FieldState& field, FieldKind kind);
// The field holds `kind` and its field VV is not empty.
bool HasKindState(const FieldState& field, FieldKind kind);
// Another kind with state has a kind context covering the whole field VV of
// `kind`: every op of `kind` was seen by a writer of the other kind.
bool IsSuperseded(const FieldState& field, FieldKind kind);

// The kinds of a field that show: held with state and not superseded, the
// one with the newest op first. Causality guarantees at least one for a
// field that holds any state; two or more are a kind conflict.
struct ShownKinds {
  std::array<FieldKind, 3> kinds{};
  size_t count = 0;
  FieldKind shown() const { return kinds[0]; }
  bool Contains(FieldKind kind) const;
};
ShownKinds ShownKindsOf(const FieldState& field);

// Two or more kinds of the field show.
bool HasKindConflict(const FieldState& field);
// A register whose siblings hold at least two distinct values.
bool HasValueConflict(const RegisterState& reg);
// Any value, kind or delete conflict in the record (Record::has_conflict of
// its view, without building the view).
bool HasConflict(const RecordState& state);

}  // namespace daicho::core

#endif  // DAICHO_CORE_MERGE_H_
