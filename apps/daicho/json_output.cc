#include "apps/daicho/json_output.h"

#include <algorithm>

#include "apps/daicho/text_output.h"

namespace daicho::cli {

Json ValueToJson(const Value& value) {
  switch (value.type()) {
    case Value::Type::kNull:
      return Json(nullptr);
    case Value::Type::kBool:
      return Json(value.as_bool());
    case Value::Type::kInt:
      return Json(value.as_int());
    case Value::Type::kDouble:
      return Json(value.as_double());
    case Value::Type::kString:
      return Json(value.as_string());
    case Value::Type::kBytes:
      return Json(HexLower(value.as_bytes().data));
  }
  return Json(nullptr);
}

namespace {

Json KindValueToJson(FieldKind kind, const Value& value, const std::vector<std::string>& elements) {
  switch (kind) {
    case FieldKind::kCounter:
      return value.is_null() ? Json(0) : ValueToJson(value);
    case FieldKind::kSet: {
      // Record promises sorted elements; sorting again costs little and keeps
      // the output deterministic even if that promise were broken.
      std::vector<std::string> sorted = elements;
      std::sort(sorted.begin(), sorted.end());
      Json array = Json::array();
      for (std::string& e : sorted) array.push_back(std::move(e));
      return array;
    }
    case FieldKind::kRegister:
      break;
  }
  return ValueToJson(value);
}

}  // namespace

Json FieldToJson(const FieldView& field) { return KindValueToJson(field.kind, field.value, field.elements); }

Json RecordToJson(const Record& record) {
  Json fields = Json::object();
  Json conflicts = Json::object();
  Json kinds = Json::object();
  Json kind_conflicts = Json::object();
  for (const FieldView& field : record.fields) {
    fields[field.name] = FieldToJson(field);
    if (field.kind != FieldKind::kRegister) kinds[field.name] = KindName(field.kind);
    // Siblings holding equal values are not a conflict (Record's own rule);
    // listing them would ask the user to resolve nothing.
    if (field.kind == FieldKind::kRegister && field.conflict) {
      Json values = Json::array();
      for (const Sibling& s : field.siblings) values.push_back(ValueToJson(s.value));
      conflicts[field.name] = std::move(values);
    }
    if (field.kind_conflict) {
      Json in_conflict = Json::array();
      in_conflict.push_back(Json{{"kind", KindName(field.kind)}, {"value", FieldToJson(field)}});
      for (const KindValue& other : field.other_kinds) {
        in_conflict.push_back(
            Json{{"kind", KindName(other.kind)}, {"value", KindValueToJson(other.kind, other.value, other.elements)}});
      }
      kind_conflicts[field.name] = std::move(in_conflict);
    }
  }
  Json out = Json::object();
  out["collection"] = record.collection;
  out["id"] = record.id;
  out["deleted"] = record.deleted;
  out["fields"] = std::move(fields);
  out["conflicts"] = std::move(conflicts);
  if (!kinds.empty()) out["kinds"] = std::move(kinds);
  if (record.delete_conflict) out["delete_conflict"] = true;
  if (!kind_conflicts.empty()) out["kind_conflicts"] = std::move(kind_conflicts);
  return out;
}

Json RecordsToJson(const std::vector<Record>& records) {
  Json array = Json::array();
  for (const Record& r : records) array.push_back(RecordToJson(r));
  return array;
}

std::string DumpJson(const Json& json) {
  return json.dump(2, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace) + "\n";
}

}  // namespace daicho::cli
