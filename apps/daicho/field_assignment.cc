#include "apps/daicho/field_assignment.h"

#include <charconv>
#include <limits>
#include <system_error>

#include <nlohmann/json.hpp>

#include "apps/daicho/text_output.h"

namespace daicho::cli {
namespace {

constexpr std::string_view kForms = "expected FIELD=TEXT, FIELD:=JSON, FIELD+=N, FIELD[]+=X or FIELD[]-=X";

Status Bad(std::string_view arg, std::string_view why) {
  return InvalidArgument(std::string(why) + " in " + QuoteForMessage(arg));
}

}  // namespace

int64_t CounterDelta(int64_t from, int64_t to) {
  return static_cast<int64_t>(static_cast<uint64_t>(to) - static_cast<uint64_t>(from));
}

Result<int64_t> ParseInt64(std::string_view text) {
  // from_chars rejects a leading '+', which people do type ("filings+=+1").
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.front() == '+') {
    return InvalidArgument("not an integer: " + QuoteForMessage(text));
  }
  int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgument("integer out of the 64-bit range: " + QuoteForMessage(text));
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return InvalidArgument("not an integer: " + QuoteForMessage(text));
  }
  return n;
}

Result<Value> ParseJsonScalar(std::string_view json) {
  // The non-throwing parse: a malformed literal must be an error message,
  // not an exception escaping into main.
  nlohmann::json parsed = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                                /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return InvalidArgument("not a JSON value: " + QuoteForMessage(json) +
                           " (a JSON string needs double quotes, e.g. '\"text\"')");
  }
  switch (parsed.type()) {
    case nlohmann::json::value_t::null:
      return Value();
    case nlohmann::json::value_t::boolean:
      return Value(parsed.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(parsed.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = parsed.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgument("integer out of the 64-bit range: " + QuoteForMessage(json));
      }
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(parsed.get<double>());
    case nlohmann::json::value_t::string: {
      std::string s = parsed.get<std::string>();
      if (!IsValidUtf8(s)) return InvalidArgument("invalid UTF-8 in " + QuoteForMessage(json));
      return Value(std::move(s));
    }
    default:
      return InvalidArgument("arrays and objects are not supported: " + QuoteForMessage(json) +
                             " (use FIELD[]+=X for set elements)");
  }
}

Result<FieldAssignment> ParseFieldAssignment(std::string_view arg) {
  size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return Bad(arg, std::string(kForms) + ", found no '='");
  std::string_view lhs = arg.substr(0, eq);
  std::string_view rhs = arg.substr(eq + 1);

  FieldAssignment a;
  if (lhs.ends_with("[]+")) {
    a.op = AssignmentOp::kSetAdd;
    lhs.remove_suffix(3);
  } else if (lhs.ends_with("[]-")) {
    a.op = AssignmentOp::kSetRemove;
    lhs.remove_suffix(3);
  } else if (lhs.ends_with(':')) {
    a.op = AssignmentOp::kSetTyped;
    lhs.remove_suffix(1);
  } else if (lhs.ends_with('+')) {
    a.op = AssignmentOp::kCounterAdd;
    lhs.remove_suffix(1);
  } else {
    a.op = AssignmentOp::kSetText;
  }

  if (lhs.empty()) return Bad(arg, std::string(kForms) + ", the field name is empty");
  if (!IsValidUtf8(lhs)) return Bad(arg, "invalid UTF-8 in the field name");
  // "x-=1" would otherwise silently set a text field named "x-".
  if (lhs.ends_with('-')) return Bad(arg, "FIELD-=N is not supported (write FIELD+=-N)");
  // "trades[]=x" or a stray bracket is a mistyped set operation, not a name.
  if (lhs.find_first_of("[]") != std::string_view::npos) {
    return Bad(arg, "'[' or ']' in a field name (set elements: FIELD[]+=X, FIELD[]-=X)");
  }
  a.field = std::string(lhs);

  switch (a.op) {
    case AssignmentOp::kSetText:
      if (!IsValidUtf8(rhs)) return Bad(arg, "invalid UTF-8 in the value");
      a.value = Value(std::string(rhs));
      break;
    case AssignmentOp::kSetTyped: {
      Result<Value> v = ParseJsonScalar(rhs);
      if (!v.ok()) return Bad(arg, v.status().message());
      a.value = std::move(v).value();
      break;
    }
    case AssignmentOp::kCounterAdd: {
      Result<int64_t> n = ParseInt64(rhs);
      if (!n.ok()) return Bad(arg, "FIELD+=N needs an integer N: " + n.status().message());
      a.delta = *n;
      break;
    }
    case AssignmentOp::kSetAdd:
    case AssignmentOp::kSetRemove:
      if (rhs.empty()) return Bad(arg, "empty set element");
      if (!IsValidUtf8(rhs)) return Bad(arg, "invalid UTF-8 in the set element");
      a.element = std::string(rhs);
      break;
  }
  return a;
}

}  // namespace daicho::cli
