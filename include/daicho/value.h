// Value: what a register field holds.
//
// One of: null, bool, int64, double, UTF-8 string, bytes. Strings must be
// valid UTF-8 (checked at write time, so Japanese text round-trips exactly);
// bytes are arbitrary. A plain value type.
#ifndef DAICHO_VALUE_H_
#define DAICHO_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace daicho {

// Arbitrary binary data, kept distinct from text.
struct Bytes {
  std::string data;
  friend auto operator<=>(const Bytes&, const Bytes&) = default;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

class Value {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kBytes };

  Value() = default;                                 // null
  Value(std::nullptr_t) {}                           // NOLINT
  Value(bool b) : v_(b) {}                           // NOLINT
  Value(int64_t i) : v_(i) {}                        // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}      // NOLINT
  Value(double d) : v_(d) {}                         // NOLINT
  Value(std::string s) : v_(std::move(s)) {}         // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(const char* s) : v_(std::string(s)) {}       // NOLINT
  Value(Bytes b) : v_(std::move(b)) {}               // NOLINT

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_string() const { return type() == Type::kString; }

  // Accessors; calling the wrong one for type() is a programming error.
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Bytes& as_bytes() const { return std::get<Bytes>(v_); }

  // Human-readable: strings as is, bytes as hex, null as "null".
  std::string ToDisplayString() const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Bytes> v_;
};

// True iff `s` is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view s);

}  // namespace daicho

#endif  // DAICHO_VALUE_H_
