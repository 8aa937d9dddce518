// The mergeable state of one record: per-field CRDT states plus the record's
// delete/undelete bookkeeping. Plain data; the rules that change it are in
// merge.h. Every container is kept sorted so that two replicas that applied
// the same operations hold equal states (and encode them to equal bytes).
#ifndef DAICHO_CORE_RECORD_STATE_H_
#define DAICHO_CORE_RECORD_STATE_H_

#include <compare>
#include <optional>
#include <string>
#include <vector>

#include "daicho/hlc_time.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"

namespace daicho::core {

// (hlc, origin) of an operation: the display order of concurrent values.
struct OpStamp {
  HlcTime hlc;
  ReplicaId origin;
  friend auto operator<=>(const OpStamp&, const OpStamp&) = default;
  friend bool operator==(const OpStamp&, const OpStamp&) = default;
};

struct RegisterSibling {
  Dot dot;
  HlcTime hlc;
  Value value;
  friend bool operator==(const RegisterSibling&, const RegisterSibling&) = default;
};

// Multi-value register: the siblings no write has superseded, and every dot
// ever seen for the field (its causal context).
struct RegisterState {
  std::vector<RegisterSibling> siblings;  // sorted by dot
  VersionVector context;
  OpStamp newest;  // newest operation ever delivered for this kind
  // Join of the kind contexts of every register op delivered for this name
  // (docs/merge-rules.md "Kinds of one name"): what its writers knew of the name's
  // other kinds. Empty unless the name was used with another kind.
  VersionVector kind_context;
  friend bool operator==(const RegisterState&, const RegisterState&) = default;
};

// PN counter: per replica the monotone totals of positive and negative adds.
struct CounterEntry {
  ReplicaId replica;
  uint64_t positive = 0;
  uint64_t negative = 0;
  uint64_t last_seq = 0;  // seq of this replica's last add: a live dot of the record
  friend bool operator==(const CounterEntry&, const CounterEntry&) = default;
};

struct CounterState {
  std::vector<CounterEntry> entries;  // sorted by replica
  OpStamp newest;
  VersionVector kind_context;  // as RegisterState::kind_context, for counter adds
  int64_t Total() const;
  friend bool operator==(const CounterState&, const CounterState&) = default;
};

// Add-wins observed-remove set element: its live add dots and the tombstone
// VV of every dot a remove (or an add) has covered.
struct SetElement {
  std::string value;
  std::vector<Dot> live;  // sorted
  VersionVector tombstone;
  friend bool operator==(const SetElement&, const SetElement&) = default;
};

struct SetState {
  std::vector<SetElement> elements;  // sorted by value
  OpStamp newest;
  VersionVector kind_context;  // as RegisterState::kind_context, for set ops
  // Present elements (with a live dot), sorted.
  std::vector<std::string> Present() const;
  friend bool operator==(const SetState&, const SetState&) = default;
};

// One field name. Normally one kind is present; if the name was used with
// several kinds, every kind's state is kept, and which one shows is decided
// by causality (merge.h, ShownKindsOf).
struct FieldState {
  std::string name;
  std::optional<RegisterState> reg;
  std::optional<CounterState> counter;
  std::optional<SetState> set;
  friend bool operator==(const FieldState&, const FieldState&) = default;
};

// Empties a state part as if default-constructed, keeping the memory of its
// vectors: a state reused for one record after another (a batch decoded or
// merged record by record) then allocates only where it outgrows the last.
void ClearKeepingMemory(VersionVector& vv);
void ClearKeepingMemory(RegisterState& reg);
void ClearKeepingMemory(CounterState& counter);

struct RecordState {
  std::vector<FieldState> fields;  // sorted by name
  // Join of every delete's context and dot; empty iff never deleted.
  VersionVector deletes;
  // Per origin the newest undelete dot (covering it covers the older ones).
  VersionVector undeletes;
  HlcTime modified;  // newest operation delivered

  const FieldState* FindField(std::string_view name) const;
  FieldState& FieldFor(std::string_view name);  // inserted in order if absent
  friend bool operator==(const RecordState&, const RecordState&) = default;
};

}  // namespace daicho::core

#endif  // DAICHO_CORE_RECORD_STATE_H_
