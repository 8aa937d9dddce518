#include "core/change_builder.h"

#include <algorithm>

#include "core/merge.h"

namespace daicho::core {

ChangeBuilder::PendingRecord& ChangeBuilder::RecordFor(const std::string& collection, const std::string& id) {
  if (last_ == nullptr || last_->first.first != collection || last_->first.second != id) {
    last_ = &*records_.try_emplace({collection, id}).first;
  }
  return last_->second;
}

ChangeBuilder::PendingField& ChangeBuilder::FieldFor(PendingRecord& record, const std::string& field) {
  auto& fields = record.fields;
  // Fields usually arrive in order: check the end before searching.
  if (fields.empty() || fields.back().first < field) return fields.emplace_back(field, PendingField{}).second;
  auto it = std::lower_bound(fields.begin(), fields.end(), field,
                             [](const auto& entry, const std::string& name) { return entry.first < name; });
  if (it == fields.end() || it->first != field) it = fields.emplace(it, field, PendingField{});
  return it->second;
}

void ChangeBuilder::PendingField::SwitchTo(FieldKind new_kind) {
  if (kind == new_kind) return;
  kind = new_kind;
  value.reset();
  context.reset();
  delta.reset();
  elements.clear();
}

void ChangeBuilder::Set(const std::string& collection, const std::string& id, const std::string& field, Value value) {
  PendingRecord& rec = RecordFor(collection, id);
  // An edit after a delete in the same transaction means "bring it back".
  if (rec.action == RecordAction::kDelete) rec.action = RecordAction::kNone;
  PendingField& pending = FieldFor(rec, field);
  pending.SwitchTo(FieldKind::kRegister);
  pending.value = std::move(value);
  pending.context.reset();
  ++op_count_;
}

void ChangeBuilder::SetWithContext(const std::string& collection, const std::string& id, const std::string& field,
                                   Value value, VersionVector context) {
  Set(collection, id, field, std::move(value));
  FieldFor(RecordFor(collection, id), field).context = std::move(context);
}

void ChangeBuilder::Add(const std::string& collection, const std::string& id, const std::string& field, int64_t delta) {
  PendingRecord& rec = RecordFor(collection, id);
  if (rec.action == RecordAction::kDelete) rec.action = RecordAction::kNone;
  PendingField& pending = FieldFor(rec, field);
  pending.SwitchTo(FieldKind::kCounter);
  std::optional<int64_t>& sum = pending.delta;
  // Wrapping sum: a counter's total wraps the same way on every replica.
  sum = static_cast<int64_t>(static_cast<uint64_t>(sum.value_or(0)) + static_cast<uint64_t>(delta));
  ++op_count_;
}

void ChangeBuilder::SetAdd(const std::string& collection, const std::string& id, const std::string& field,
                           const std::string& element) {
  PendingRecord& rec = RecordFor(collection, id);
  if (rec.action == RecordAction::kDelete) rec.action = RecordAction::kNone;
  PendingField& pending = FieldFor(rec, field);
  pending.SwitchTo(FieldKind::kSet);
  pending.elements[element] = true;
  ++op_count_;
}

void ChangeBuilder::SetRemove(const std::string& collection, const std::string& id, const std::string& field,
                              const std::string& element) {
  PendingRecord& rec = RecordFor(collection, id);
  if (rec.action == RecordAction::kDelete) rec.action = RecordAction::kNone;
  PendingField& pending = FieldFor(rec, field);
  pending.SwitchTo(FieldKind::kSet);
  pending.elements[element] = false;
  ++op_count_;
}

void ChangeBuilder::Delete(const std::string& collection, const std::string& id) {
  RecordFor(collection, id).action = RecordAction::kDelete;
  ++op_count_;
}

void ChangeBuilder::Undelete(const std::string& collection, const std::string& id) {
  RecordFor(collection, id).action = RecordAction::kUndelete;
  ++op_count_;
}

void ChangeBuilder::Clear() {
  records_.clear();
  last_ = nullptr;
  op_count_ = 0;
}

std::vector<std::pair<std::string, std::string>> ChangeBuilder::Keys() const {
  std::vector<std::pair<std::string, std::string>> keys;
  keys.reserve(records_.size());
  for (const auto& [key, rec] : records_) keys.push_back(key);
  return keys;
}

Change ChangeBuilder::Build(const Dot& dot, HlcTime hlc, const VersionVector& own_vv, const StateLookup& lookup) const {
  Change change;
  change.origin = dot.origin;
  change.seq = dot.counter;
  change.hlc = hlc;
  change.records.reserve(records_.size());
  for (const auto& [key, pending] : records_) {
    const RecordState* state = lookup(key.first, key.second);
    RecordOps& out = change.records.emplace_back();
    out.collection = key.first;
    out.id = key.second;
    out.ops.reserve(pending.fields.size() + 1);  // usually one op per field, maybe a delete/undelete
    for (const auto& [name, pf] : pending.fields) {
      const FieldState* fs = state ? state->FindField(name) : nullptr;
      // What this writer knows of the name's other kinds: the op supersedes
      // them (superseded ones included, so they stay superseded).
      VersionVector kind_context;
      bool restarts = false;  // going back to a kind another one superseded here
      if (fs) {
        for (FieldKind other : {FieldKind::kRegister, FieldKind::kCounter, FieldKind::kSet}) {
          if (other != pf.kind) kind_context.Join(FieldKindVv(*fs, other));
        }
        restarts = IsSuperseded(*fs, pf.kind);
      }
      auto add_op = [&, &name = name](OpType type) -> Op& {
        Op& op = out.ops.emplace_back();
        op.type = type;
        op.field = name;
        op.kind_context = kind_context;
        return op;
      };
      switch (pf.kind) {
        case FieldKind::kRegister: {
          if (!pf.value) break;
          Op& op = add_op(OpType::kSetRegister);
          op.value = *pf.value;
          // The whole field VV: the write supersedes every value seen here;
          // SetWithContext's older context keeps what it did not see.
          if (pf.context) {
            op.context = *pf.context;
          } else if (fs && fs->reg) {
            op.context = fs->reg->context;
          }
          break;
        }
        case FieldKind::kCounter: {
          if (!pf.delta) break;
          int64_t delta = *pf.delta;
          // A counter reused after another kind starts from 0, not from its
          // old total (wrapping, as totals do).
          if (restarts) {
            delta = static_cast<int64_t>(static_cast<uint64_t>(delta) - static_cast<uint64_t>(fs->counter->Total()));
          }
          add_op(OpType::kCounterAdd).delta = delta;
          break;
        }
        case FieldKind::kSet: {
          // A set reused after another kind starts empty: every element
          // present here is removed unless this transaction adds it.
          // Copied only then: a usual set write emits its pending ops as they are.
          std::map<std::string, bool> with_clears;
          const std::map<std::string, bool>* elements = &pf.elements;
          if (restarts) {
            with_clears = pf.elements;
            for (const SetElement& e : fs->set->elements) {
              if (!e.live.empty()) with_clears.try_emplace(e.value, false);
            }
            elements = &with_clears;
          }
          for (const auto& [element, added] : *elements) {
            Op& op = add_op(added ? OpType::kSetAdd : OpType::kSetRemove);
            op.element = element;
            if (!added && fs && fs->set) {
              auto it = std::lower_bound(fs->set->elements.begin(), fs->set->elements.end(), element,
                                         [](const SetElement& e, const std::string& v) { return e.value < v; });
              if (it != fs->set->elements.end() && it->value == element) op.observed = it->live;
            }
          }
          break;
        }
      }
    }
    RecordAction action = pending.action;
    // Editing a record that is hidden here brings it back, as the user expects.
    if (action == RecordAction::kNone && !pending.fields.empty() && state && IsHidden(*state)) {
      action = RecordAction::kUndelete;
    }
    if (action == RecordAction::kDelete) {
      Op& op = out.ops.emplace_back();
      op.type = OpType::kDelete;
      op.context = own_vv;
    } else if (action == RecordAction::kUndelete) {
      out.ops.emplace_back().type = OpType::kUndelete;
    }
  }
  return change;
}

}  // namespace daicho::core
