// The causal context of a stored record: which changes its state has seen.
//
// A field's context is the join, over every kind kept for its name, of that
// kind's version vector (register: its context; counter: each replica's last
// add dot; set: every element's live dots and tombstone). A record's context
// joins its fields' contexts with its deletes and undeletes. A change that
// touched the field and is not covered by a context taken earlier happened
// (or arrived) after it: that is how an import tells a field changed since
// an export. Pure functions over the state of record_state.h.
#ifndef DAICHO_CORE_RECORD_CONTEXT_H_
#define DAICHO_CORE_RECORD_CONTEXT_H_

#include "core/record_state.h"
#include "daicho/version_vector.h"

namespace daicho::core {

VersionVector FieldCausalContext(const FieldState& field);
VersionVector RecordCausalContext(const RecordState& record);

}  // namespace daicho::core

#endif  // DAICHO_CORE_RECORD_CONTEXT_H_
