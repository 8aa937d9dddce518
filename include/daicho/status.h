// Status and Result<T>: how every daicho call reports failure.
//
// No daicho function throws across the public API. A call returns a Status
// (success or a Code plus a human-readable message) or a Result<T>, shaped like
// std::expected<T, Status> so it can become an alias of it later.
// Not-found, conflict and peer-rejected are ordinary outcomes, reported here,
// not by exceptions. Both types are cheap to copy when ok (no allocation).
#ifndef DAICHO_STATUS_H_
#define DAICHO_STATUS_H_

#include <cassert>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace daicho {

// The one error-code enum of the project. Values are stable: they may be
// stored or sent on the wire.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,     // the caller passed something malformed
  kNotFound = 2,            // the thing asked for does not exist
  kAlreadyExists = 3,       // creating something that is already there
  kCorruption = 4,          // stored or received bytes fail validation
  kIoError = 5,             // the OS or disk refused (includes disk full)
  kBusy = 6,                // locked or in use by someone else
  kFailedPrecondition = 7,  // the call is not valid in the current state
  kProtocolError = 8,       // a peer broke the rules (gap, bad order, ...)
  kResourceExhausted = 9,   // a size or count limit was exceeded
  kUnauthenticated = 10,    // missing or wrong credentials
  kPermissionDenied = 11,   // authenticated but not allowed
  kUnavailable = 12,        // a peer or service cannot be reached now
  kInternal = 13,           // a bug or an unexpected exception
};

// Stable lower-case name of a code, e.g. "not_found".
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message)
      : code_(code), message_(code == Code::kOk ? std::string() : std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // Itself, so generic code can call .status() on a Status or a Result<T>.
  const Status& status() const { return *this; }
  const std::string& message() const { return message_; }

  // "not_found: record customers/c1" style, or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context` ("opening /x: ...").
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

// One factory per error Code: `return NotFound("record customers/c1");`.
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status ProtocolError(std::string m) { return {Code::kProtocolError, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// A value of type T or a non-ok Status. Construct from either; check ok()
// (or operator bool) before value(). Accessing value() of an error asserts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok() && "Result constructed from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  bool has_value() const { return ok(); }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }
  const Status& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace daicho

// Propagate a non-ok Status from an expression returning Status.
#define DAICHO_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::daicho::Status daicho_status_ = (expr);        \
    if (!daicho_status_.ok()) return daicho_status_; \
  } while (0)

#define DAICHO_CONCAT_INNER_(a, b) a##b
#define DAICHO_CONCAT_(a, b) DAICHO_CONCAT_INNER_(a, b)

// `DAICHO_ASSIGN_OR_RETURN(auto x, Expr());` — on error returns its Status.
#define DAICHO_ASSIGN_OR_RETURN(decl, expr) \
  DAICHO_ASSIGN_OR_RETURN_IMPL_(DAICHO_CONCAT_(daicho_result_, __LINE__), decl, expr)
#define DAICHO_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  decl = std::move(tmp).value()

#endif  // DAICHO_STATUS_H_
