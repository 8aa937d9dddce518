#include "core/record_view.h"

#include <algorithm>

#include "core/merge.h"

namespace daicho::core {
namespace {

FieldView MakeFieldView(const FieldState& field) {
  FieldView view;
  view.name = field.name;
  view.kind_conflict = HasKindConflict(field);
  // With several kinds, show the one whose newest op is newest.
  std::optional<OpStamp> best;
  auto consider = [&](const OpStamp& stamp, FieldKind kind) {
    if (!best || stamp > *best) {
      best = stamp;
      view.kind = kind;
    }
  };
  if (field.reg) consider(field.reg->newest, FieldKind::kRegister);
  if (field.counter) consider(field.counter->newest, FieldKind::kCounter);
  if (field.set) consider(field.set->newest, FieldKind::kSet);
  if (best) view.modified = best->hlc;

  switch (view.kind) {
    case FieldKind::kRegister: {
      for (const RegisterSibling& s : field.reg->siblings) view.siblings.push_back(Sibling{s.value, s.dot, s.hlc});
      std::sort(view.siblings.begin(), view.siblings.end(), [](const Sibling& a, const Sibling& b) {
        return OpStamp{a.hlc, a.dot.origin} > OpStamp{b.hlc, b.dot.origin};
      });
      if (!view.siblings.empty()) view.value = view.siblings.front().value;
      view.conflict = HasValueConflict(*field.reg);
      break;
    }
    case FieldKind::kCounter:
      view.value = field.counter->Total();
      break;
    case FieldKind::kSet:
      view.elements = field.set->Present();
      break;
  }
  return view;
}

}  // namespace

Record MakeRecordView(std::string collection, std::string id, const RecordState& state) {
  Record record;
  record.collection = std::move(collection);
  record.id = std::move(id);
  record.deleted = IsHidden(state);
  record.delete_conflict = HasDeleteConflict(state);
  record.modified = state.modified;
  record.fields.reserve(state.fields.size());
  for (const FieldState& f : state.fields) record.fields.push_back(MakeFieldView(f));
  return record;
}

}  // namespace daicho

// Record's own members live with the view code that fills them.
namespace daicho {

bool Record::has_conflict() const {
  if (delete_conflict) return true;
  return std::any_of(fields.begin(), fields.end(),
                     [](const FieldView& f) { return f.conflict || f.kind_conflict; });
}

const FieldView* Record::Find(std::string_view name) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const FieldView& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == name ? &*it : nullptr;
}

}  // namespace daicho
