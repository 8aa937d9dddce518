#include "core/merge.h"

#include <algorithm>

namespace daicho::core {
namespace {

// Raises a "newest operation" stamp. Every delivered op counts, including ones
// a rule ignores: ignoring depends on delivery order, the max over all ops
// does not, so replicas agree on it.
bool RaiseNewest(OpStamp& newest, const Dot& dot, HlcTime hlc) {
  OpStamp stamp{hlc, dot.origin};
  if (stamp <= newest) return false;
  newest = stamp;
  return true;
}

bool IsRecordOp(OpType type) { return type == OpType::kDelete || type == OpType::kUndelete; }

// KC of a kind: every delivered op of that kind counts, also one a rule
// ignores, so that replicas agree on it whatever the delivery order.
bool JoinKindContext(VersionVector& kind_context, const Op& op) {
  if (op.kind_context.empty() || kind_context.Dominates(op.kind_context)) return false;
  kind_context.Join(op.kind_context);
  return true;
}

bool ApplySetRegister(FieldState& field, const Op& op, const Dot& dot, HlcTime hlc) {
  if (!field.reg) field.reg.emplace();
  RegisterState& reg = *field.reg;
  bool changed = RaiseNewest(reg.newest, dot, hlc);
  changed = JoinKindContext(reg.kind_context, op) || changed;
  // A write the field has already seen (it was superseded) must not return.
  if (reg.context.Covers(dot)) return changed;
  std::erase_if(reg.siblings, [&](const RegisterSibling& s) { return op.context.Covers(s.dot); });
  auto pos = std::lower_bound(reg.siblings.begin(), reg.siblings.end(), dot,
                              [](const RegisterSibling& s, const Dot& d) { return s.dot < d; });
  reg.siblings.insert(pos, RegisterSibling{dot, hlc, op.value});
  reg.context.Join(op.context);
  reg.context.Advance(dot);
  return true;
}

bool ApplyCounterAdd(FieldState& field, const Op& op, const Dot& dot, HlcTime hlc) {
  if (!field.counter) field.counter.emplace();
  CounterState& counter = *field.counter;
  bool changed = RaiseNewest(counter.newest, dot, hlc);
  changed = JoinKindContext(counter.kind_context, op) || changed;
  auto it = std::lower_bound(counter.entries.begin(), counter.entries.end(), dot.origin,
                             [](const CounterEntry& e, const ReplicaId& r) { return e.replica < r; });
  if (it == counter.entries.end() || it->replica != dot.origin) {
    it = counter.entries.insert(it, CounterEntry{dot.origin, 0, 0, 0});
  }
  // Exactly once per dot: an origin's changes arrive in seq order.
  if (dot.counter <= it->last_seq) return changed;
  if (op.delta >= 0) {
    it->positive += static_cast<uint64_t>(op.delta);
  } else {
    it->negative += static_cast<uint64_t>(-(op.delta + 1)) + 1;  // |delta| without overflow at INT64_MIN
  }
  it->last_seq = dot.counter;
  return true;
}

SetElement& ElementFor(SetState& set, const std::string& value) {
  auto it = std::lower_bound(set.elements.begin(), set.elements.end(), value,
                             [](const SetElement& e, const std::string& v) { return e.value < v; });
  if (it == set.elements.end() || it->value != value) {
    it = set.elements.insert(it, SetElement{});
    it->value = value;
  }
  return *it;
}

bool ApplySetAdd(FieldState& field, const Op& op, const Dot& dot, HlcTime hlc) {
  if (!field.set) field.set.emplace();
  bool changed = RaiseNewest(field.set->newest, dot, hlc);
  changed = JoinKindContext(field.set->kind_context, op) || changed;
  SetElement& element = ElementFor(*field.set, op.element);
  if (element.tombstone.Covers(dot)) return changed;
  element.live.insert(std::lower_bound(element.live.begin(), element.live.end(), dot), dot);
  element.tombstone.Advance(dot);
  return true;
}

bool ApplySetRemove(FieldState& field, const Op& op, const Dot& dot, HlcTime hlc) {
  if (!field.set) field.set.emplace();
  bool changed = RaiseNewest(field.set->newest, dot, hlc);
  changed = JoinKindContext(field.set->kind_context, op) || changed;
  SetElement& element = ElementFor(*field.set, op.element);
  VersionVector removed;
  for (const Dot& d : op.observed) removed.Advance(d);
  removed.Advance(dot);
  // A remove that arrives after one which saw more can find nothing to do.
  if (std::erase_if(element.live, [&](const Dot& d) { return removed.Covers(d); }) > 0) changed = true;
  if (!element.tombstone.Dominates(removed)) {
    element.tombstone.Join(removed);
    changed = true;
  }
  return changed;
}

// A field op on its field (op.field's).
bool ApplyFieldOp(FieldState& field, const Op& op, const Dot& dot, HlcTime hlc) {
  switch (op.type) {
    case OpType::kSetRegister:
      return ApplySetRegister(field, op, dot, hlc);
    case OpType::kCounterAdd:
      return ApplyCounterAdd(field, op, dot, hlc);
    case OpType::kSetAdd:
      return ApplySetAdd(field, op, dot, hlc);
    case OpType::kSetRemove:
      return ApplySetRemove(field, op, dot, hlc);
    case OpType::kDelete:
    case OpType::kUndelete:
      break;
  }
  return false;
}

}  // namespace

bool ApplyOp(RecordState& state, const Op& op, const Dot& dot, HlcTime hlc) {
  bool changed = false;
  if (hlc > state.modified) {
    state.modified = hlc;
    changed = true;
  }
  switch (op.type) {
    case OpType::kSetRegister:
    case OpType::kCounterAdd:
    case OpType::kSetAdd:
    case OpType::kSetRemove:
      return ApplyFieldOp(state.FieldFor(op.field), op, dot, hlc) || changed;
    case OpType::kDelete: {
      const VersionVector before = state.deletes;
      state.deletes.Join(op.context);
      state.deletes.Advance(dot);
      return state.deletes != before || changed;
    }
    case OpType::kUndelete: {
      const uint64_t before = state.undeletes.Get(dot.origin);
      state.undeletes.Advance(dot);
      return state.undeletes.Get(dot.origin) != before || changed;
    }
  }
  return changed;
}

bool ApplyRecordOps(RecordState& state, const RecordOps& ops, const Dot& dot, HlcTime hlc) {
  bool changed = false;
  for (const Op& op : ops.ops) changed = ApplyOp(state, op, dot, hlc) || changed;
  return changed;
}

void ApplyRecordOpsToNew(RecordState& state, const RecordOps& ops, const Dot& dot, HlcTime hlc) {
  ClearKeepingMemory(state.deletes);
  ClearKeepingMemory(state.undeletes);
  state.modified = HlcTime{};
  // What ApplyOp does to `modified` for each op: all share one hlc.
  if (!ops.ops.empty() && hlc > state.modified) state.modified = hlc;
  // Field ops come first, grouped and sorted by field (core/change.h): one
  // slot per field, in order, each holding empty states of the kinds its ops
  // use, as ApplyOp would create them, and the ops applied to it without a
  // search. Ops out of that order start afresh.
  size_t slots = 0;
  size_t i = 0;
  while (i < ops.ops.size()) {
    const Op& first = ops.ops[i];
    if (IsRecordOp(first.type)) break;
    if (slots > 0 && !(state.fields[slots - 1].name < first.field)) {
      state = RecordState();
      ApplyRecordOps(state, ops, dot, hlc);
      return;
    }
    bool reg = false, counter = false;
    size_t end = i;
    for (; end < ops.ops.size() && ops.ops[end].field == first.field && !IsRecordOp(ops.ops[end].type); ++end) {
      reg = reg || ops.ops[end].type == OpType::kSetRegister;
      counter = counter || ops.ops[end].type == OpType::kCounterAdd;
    }
    if (slots == state.fields.size()) state.fields.emplace_back();
    FieldState& f = state.fields[slots++];
    f.name = first.field;
    if (!reg) {
      f.reg.reset();
    } else if (f.reg) {
      ClearKeepingMemory(*f.reg);
    }
    if (!counter) {
      f.counter.reset();
    } else if (f.counter) {
      ClearKeepingMemory(*f.counter);
    }
    f.set.reset();  // rare in bulk; the set op creates it
    for (; i < end; ++i) ApplyFieldOp(f, ops.ops[i], dot, hlc);
  }
  state.fields.resize(slots);
  for (; i < ops.ops.size(); ++i) ApplyOp(state, ops.ops[i], dot, hlc);
}

bool IsHidden(const RecordState& state) {
  if (state.deletes.empty()) return false;
  const VersionVector& d = state.deletes;
  if (!d.Dominates(state.undeletes)) return false;
  for (const FieldState& f : state.fields) {
    // One kind (the usual field) is never superseded: skip the check.
    const bool several = (f.reg.has_value() + f.counter.has_value() + f.set.has_value()) > 1;
    if (f.reg && !(several && IsSuperseded(f, FieldKind::kRegister))) {
      for (const RegisterSibling& s : f.reg->siblings) {
        if (!d.Covers(s.dot)) return false;
      }
    }
    if (f.counter && !(several && IsSuperseded(f, FieldKind::kCounter))) {
      for (const CounterEntry& e : f.counter->entries) {
        if (e.last_seq != 0 && !d.Covers(Dot{e.replica, e.last_seq})) return false;
      }
    }
    if (f.set && !(several && IsSuperseded(f, FieldKind::kSet))) {
      for (const SetElement& e : f.set->elements) {
        for (const Dot& dot : e.live) {
          if (!d.Covers(dot)) return false;
        }
      }
    }
  }
  return true;
}

bool HasDeleteConflict(const RecordState& state) {
  return !state.deletes.empty() && !IsHidden(state) && state.deletes.Dominates(state.undeletes);
}

namespace {

constexpr std::array<FieldKind, 3> kAllKinds = {FieldKind::kRegister, FieldKind::kCounter, FieldKind::kSet};

bool HoldsKind(const FieldState& field, FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return field.reg.has_value();
    case FieldKind::kCounter:
      return field.counter.has_value();
    case FieldKind::kSet:
      return field.set.has_value();
  }
  return false;
}

// What the kind rules read of a kind the field holds: its KC and its top
// (newest op).
struct KindBookkeeping {
  const VersionVector& kind_context;
  const OpStamp& top;
};
KindBookkeeping BookkeepingOf(const FieldState& field, FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return {field.reg->kind_context, field.reg->newest};
    case FieldKind::kCounter:
      return {field.counter->kind_context, field.counter->newest};
    case FieldKind::kSet:
      break;
  }
  return {field.set->kind_context, field.set->newest};
}

// `vv` covers the field VV of `kind`, without building that VV.
bool CoversKindVv(const VersionVector& vv, const FieldState& field, FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return !field.reg || vv.Dominates(field.reg->context);
    case FieldKind::kCounter:
      if (!field.counter) return true;
      return std::all_of(field.counter->entries.begin(), field.counter->entries.end(),
                         [&](const CounterEntry& e) { return e.last_seq == 0 || vv.Get(e.replica) >= e.last_seq; });
    case FieldKind::kSet:
      if (!field.set) return true;
      return std::all_of(field.set->elements.begin(), field.set->elements.end(),
                         [&](const SetElement& e) { return vv.Dominates(e.tombstone); });
  }
  return true;
}

}  // namespace

VersionVector FieldKindVv(const FieldState& field, FieldKind kind) {
  VersionVector vv;
  switch (kind) {
    case FieldKind::kRegister:
      if (field.reg) vv = field.reg->context;
      break;
    case FieldKind::kCounter:
      if (field.counter) {
        for (const CounterEntry& e : field.counter->entries) {
          if (e.last_seq != 0) vv.Advance(e.replica, e.last_seq);
        }
      }
      break;
    case FieldKind::kSet:
      if (field.set) {
        for (const SetElement& e : field.set->elements) vv.Join(e.tombstone);
      }
      break;
  }
  return vv;
}

bool HasKindState(const FieldState& field, FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return field.reg && !field.reg->context.empty();
    case FieldKind::kCounter:
      return field.counter && std::any_of(field.counter->entries.begin(), field.counter->entries.end(),
                                          [](const CounterEntry& e) { return e.last_seq != 0; });
    case FieldKind::kSet:
      return field.set && std::any_of(field.set->elements.begin(), field.set->elements.end(),
                                      [](const SetElement& e) { return !e.tombstone.empty(); });
  }
  return false;
}

bool IsSuperseded(const FieldState& field, FieldKind kind) {
  if (!HoldsKind(field, kind)) return false;
  for (FieldKind other : kAllKinds) {
    if (other == kind || !HasKindState(field, other)) continue;
    if (CoversKindVv(BookkeepingOf(field, other).kind_context, field, kind)) return true;
  }
  return false;
}

bool ShownKinds::Contains(FieldKind kind) const {
  for (size_t i = 0; i < count; ++i) {
    if (kinds[i] == kind) return true;
  }
  return false;
}

ShownKinds ShownKindsOf(const FieldState& field) {
  ShownKinds shown;
  for (FieldKind kind : kAllKinds) {
    if (HasKindState(field, kind) && !IsSuperseded(field, kind)) shown.kinds[shown.count++] = kind;
  }
  // Never reached with states the merge rules made (the causally newest op
  // is never superseded); a field without state shows what it holds.
  if (shown.count == 0) {
    for (FieldKind kind : kAllKinds) {
      if (HoldsKind(field, kind)) shown.kinds[shown.count++] = kind;
    }
  }
  // Newest top first; insertion sort of at most three.
  for (size_t i = 1; i < shown.count; ++i) {
    for (size_t j = i; j > 0 && BookkeepingOf(field, shown.kinds[j - 1]).top < BookkeepingOf(field, shown.kinds[j]).top;
         --j) {
      std::swap(shown.kinds[j - 1], shown.kinds[j]);
    }
  }
  return shown;
}

bool HasKindConflict(const FieldState& field) {
  if ((field.reg.has_value() + field.counter.has_value() + field.set.has_value()) < 2) return false;
  return ShownKindsOf(field).count > 1;
}

bool HasValueConflict(const RegisterState& reg) {
  for (size_t i = 1; i < reg.siblings.size(); ++i) {
    if (!(reg.siblings[i].value == reg.siblings[0].value)) return true;
  }
  return false;
}

bool HasConflict(const RecordState& state) {
  if (HasDeleteConflict(state)) return true;
  return std::any_of(state.fields.begin(), state.fields.end(), [](const FieldState& f) {
    if (HasKindConflict(f)) return true;
    // A superseded register's siblings are history, not a conflict.
    return f.reg && HasValueConflict(*f.reg) && !IsSuperseded(f, FieldKind::kRegister);
  });
}

}  // namespace daicho::core
