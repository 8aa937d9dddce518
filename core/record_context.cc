#include "core/record_context.h"

namespace daicho::core {

VersionVector FieldCausalContext(const FieldState& field) {
  VersionVector vv;
  if (field.reg) vv.Join(field.reg->context);
  if (field.counter) {
    for (const CounterEntry& e : field.counter->entries) vv.Advance(e.replica, e.last_seq);
  }
  if (field.set) {
    for (const SetElement& e : field.set->elements) {
      vv.Join(e.tombstone);
      for (const Dot& d : e.live) vv.Advance(d);
    }
  }
  return vv;
}

VersionVector RecordCausalContext(const RecordState& record) {
  VersionVector vv = record.deletes;
  vv.Join(record.undeletes);
  for (const FieldState& f : record.fields) vv.Join(FieldCausalContext(f));
  return vv;
}

}  // namespace daicho::core
