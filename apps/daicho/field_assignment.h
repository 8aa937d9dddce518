// FieldAssignment: one FIELD=VALUE argument of `daicho set`, parsed.
//
// Forms (split at the first '=', so '=' inside the value is kept):
//   FIELD=TEXT     set a register to the string TEXT
//   FIELD:=JSON    set a register to a typed value: a JSON integer literal
//                  becomes int64, a number with a fraction or exponent a
//                  double; true/false, null, or a JSON string
//   FIELD+=N       add the integer N (may be negative) to a counter
//   FIELD[]+=X     add X to a set;  FIELD[]-=X  remove X from a set
// Pure parsing: nothing here touches a replica. Errors are kInvalidArgument
// with a message that quotes the argument (invalid bytes escaped).
#ifndef DAICHO_APPS_DAICHO_FIELD_ASSIGNMENT_H_
#define DAICHO_APPS_DAICHO_FIELD_ASSIGNMENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "daicho/value.h"

namespace daicho::cli {

enum class AssignmentOp { kSetText, kSetTyped, kCounterAdd, kSetAdd, kSetRemove };

struct FieldAssignment {
  AssignmentOp op = AssignmentOp::kSetText;
  std::string field;
  Value value;          // kSetText, kSetTyped
  int64_t delta = 0;    // kCounterAdd
  std::string element;  // kSetAdd, kSetRemove
};

// Parses one command-line argument in one of the forms above.
Result<FieldAssignment> ParseFieldAssignment(std::string_view arg);

// Parses a JSON scalar (number, true, false, null, string) into a Value.
// Arrays and objects are refused: daicho has no nested values.
Result<Value> ParseJsonScalar(std::string_view json);

// Parses a decimal int64 with an optional sign; the whole text must be used.
Result<int64_t> ParseInt64(std::string_view text);

// The add that takes a counter's total from `from` to `to`, wrapping as
// totals do (every replica wraps the same way).
int64_t CounterDelta(int64_t from, int64_t to);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_FIELD_ASSIGNMENT_H_
