#include "apps/daicho/text_output.h"

#include <charconv>
#include <cstdint>

#include "apps/daicho/csv_ledger.h"

namespace daicho::cli {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendHexByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHexDigits[c >> 4];
  out += kHexDigits[c & 0xf];
}

// Control characters escaped so one field stays on one line of output; the
// rest (Japanese text included) is printed as is.
std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      AppendHexByte(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string DisplayField(const FieldView& field) {
  switch (field.kind) {
    case FieldKind::kCounter:
      return ScalarText(field.value);
    case FieldKind::kSet: {
      std::string out = "{";
      for (size_t i = 0; i < field.elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += EscapeControls(field.elements[i]);
      }
      return out + "}";
    }
    case FieldKind::kRegister:
      break;
  }
  return EscapeControls(ScalarText(field.value));
}

}  // namespace

std::string HexLower(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += kHexDigits[c >> 4];
    out += kHexDigits[c & 0xf];
  }
  return out;
}

std::string ScalarText(const Value& value, std::string_view null_text) {
  switch (value.type()) {
    case Value::Type::kNull:
      return std::string(null_text);
    case Value::Type::kBool:
      return value.as_bool() ? "true" : "false";
    case Value::Type::kInt:
      return std::to_string(value.as_int());
    case Value::Type::kDouble: {
      // Shortest form that reads back to the same double: deterministic and
      // without the trailing zeros of printf's %f.
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value.as_double());
      if (ec != std::errc()) return "nan";
      return std::string(buf, end);
    }
    case Value::Type::kString:
      return value.as_string();
    case Value::Type::kBytes:
      return HexLower(value.as_bytes().data);
  }
  return std::string();
}

std::string FieldCellText(const FieldView& field) {
  switch (field.kind) {
    case FieldKind::kCounter:
      return ScalarText(field.value, "0");
    case FieldKind::kSet:
      return SetCellText(field.elements);
    case FieldKind::kRegister:
      break;
  }
  return ScalarText(field.value, "");
}

const char* KindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kCounter:
      return "counter";
    case FieldKind::kSet:
      return "set";
    case FieldKind::kRegister:
      break;
  }
  return "text";
}

std::string QuoteForMessage(std::string_view text) {
  // Invalid UTF-8 is escaped byte by byte so the message itself stays valid.
  bool valid = IsValidUtf8(text);
  std::string out = "'";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || (!valid && c >= 0x80)) {
      AppendHexByte(out, c);
    } else {
      out += ch;
    }
  }
  return out + "'";
}

void WriteRecordText(std::ostream& out, const Record& record) {
  out << EscapeControls(record.collection) << '/' << EscapeControls(record.id);
  if (record.deleted) out << " [deleted]";
  if (record.delete_conflict) {
    out << " [delete conflict: deleted on one PC while edited on another;"
           " run delete or undelete]";
  }
  out << '\n';
  if (record.fields.empty()) out << "(no fields)\n";
  for (const FieldView& field : record.fields) {
    out << EscapeControls(field.name) << ": " << DisplayField(field);
    if (field.kind_conflict) {
      // What the other kinds hold, so the clerk can choose with `resolve --as`.
      out << " [kind conflict: also used as";
      for (size_t i = 0; i < field.other_kinds.size(); ++i) {
        const KindValue& other = field.other_kinds[i];
        FieldView shown;
        shown.kind = other.kind;
        shown.value = other.value;
        shown.elements = other.elements;
        out << (i == 0 ? " a " : ", a ") << KindName(other.kind) << ' ' << DisplayField(shown);
      }
      out << "; run resolve with --as text, counter or set]";
    }
    bool conflict = field.kind == FieldKind::kRegister && field.conflict;
    if (conflict) out << " [conflict: " << field.siblings.size() << " values]";
    out << '\n';
    if (conflict) {
      for (size_t i = 0; i < field.siblings.size(); ++i) {
        out << "  = " << EscapeControls(ScalarText(field.siblings[i].value));
        if (i == 0) out << " (shown)";
        out << '\n';
      }
    }
  }
}

}  // namespace daicho::cli
