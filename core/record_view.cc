#include "core/record_view.h"

#include <algorithm>

#include "core/merge.h"

namespace daicho::core {
namespace {

// A register's siblings in display order: the displayed one first, the rest
// by descending (hlc, origin).
std::vector<Sibling> SiblingsInDisplayOrder(const RegisterState& reg) {
  std::vector<Sibling> siblings;
  siblings.reserve(reg.siblings.size());
  for (const RegisterSibling& s : reg.siblings) siblings.push_back(Sibling{s.value, s.dot, s.hlc});
  std::sort(siblings.begin(), siblings.end(), [](const Sibling& a, const Sibling& b) {
    return OpStamp{a.hlc, a.dot.origin} > OpStamp{b.hlc, b.dot.origin};
  });
  return siblings;
}

KindValue MakeKindValue(const FieldState& field, FieldKind kind) {
  KindValue out;
  out.kind = kind;
  switch (kind) {
    case FieldKind::kRegister: {
      std::vector<Sibling> siblings = SiblingsInDisplayOrder(*field.reg);
      if (!siblings.empty()) out.value = std::move(siblings.front().value);
      break;
    }
    case FieldKind::kCounter:
      out.value = field.counter->Total();
      break;
    case FieldKind::kSet:
      out.elements = field.set->Present();
      break;
  }
  return out;
}

FieldView MakeFieldView(const FieldState& field) {
  FieldView view;
  view.name = field.name;
  for (const OpStamp* stamp :
       {field.reg ? &field.reg->newest : nullptr, field.counter ? &field.counter->newest : nullptr,
        field.set ? &field.set->newest : nullptr}) {
    if (stamp != nullptr && stamp->hlc > view.modified) view.modified = stamp->hlc;
  }
  const ShownKinds shown = ShownKindsOf(field);
  if (shown.count == 0) return view;  // no state: nothing to show
  view.kind = shown.shown();
  view.kind_conflict = shown.count > 1;
  for (size_t i = 1; i < shown.count; ++i) view.other_kinds.push_back(MakeKindValue(field, shown.kinds[i]));

  switch (view.kind) {
    case FieldKind::kRegister:
      view.siblings = SiblingsInDisplayOrder(*field.reg);
      if (!view.siblings.empty()) view.value = view.siblings.front().value;
      view.conflict = HasValueConflict(*field.reg);
      break;
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

}  // namespace daicho::core

// Record's own members live with the view code that fills them.
namespace daicho {

bool Record::has_conflict() const {
  if (delete_conflict) return true;
  return std::any_of(fields.begin(), fields.end(), [](const FieldView& f) { return f.conflict || f.kind_conflict; });
}

const FieldView* Record::Find(std::string_view name) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const FieldView& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == name ? &*it : nullptr;
}

}  // namespace daicho
