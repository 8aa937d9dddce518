#include "web/form.h"

#include <optional>

namespace daicho::web {
namespace {

std::optional<int> HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Decodes one name or value; `what` names it in errors. Checked against
// `max_bytes` as it grows, so a huge field is refused before it is copied.
Result<std::string> Decode(std::string_view encoded, size_t max_bytes, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      const bool room = i + 2 < encoded.size();
      const auto high = room ? HexValue(encoded[i + 1]) : std::nullopt;
      const auto low = room ? HexValue(encoded[i + 2]) : std::nullopt;
      if (!high || !low) return InvalidArgument("form " + std::string(what) + ": '%' not followed by two hex digits");
      c = static_cast<char>(*high * 16 + *low);
      i += 2;
    }
    if (out.size() == max_bytes) {
      return ResourceExhausted("form " + std::string(what) + " longer than " + std::to_string(max_bytes) + " bytes");
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<FormFields> ParseForm(std::string_view body, const FormLimits& limits) {
  FormFields fields;
  while (!body.empty()) {
    const size_t end = body.find('&');
    const std::string_view piece = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    if (piece.empty()) continue;
    if (fields.size() == limits.max_fields) {
      return ResourceExhausted("form has more than " + std::to_string(limits.max_fields) + " fields");
    }
    const size_t eq = piece.find('=');
    DAICHO_ASSIGN_OR_RETURN(std::string name, Decode(piece.substr(0, eq), limits.max_name_bytes, "field name"));
    std::string value;
    if (eq != std::string_view::npos) {
      DAICHO_ASSIGN_OR_RETURN(value, Decode(piece.substr(eq + 1), limits.max_value_bytes, "value of " + name));
    }
    fields.emplace_back(std::move(name), std::move(value));
  }
  return fields;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    out.push_back('%');
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

}  // namespace daicho::web
