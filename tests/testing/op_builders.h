// Builders of single core::Op values for merge tests.
#ifndef DAICHO_TESTS_TESTING_OP_BUILDERS_H_
#define DAICHO_TESTS_TESTING_OP_BUILDERS_H_

#include <string>
#include <utility>
#include <vector>

#include "core/change.h"

namespace daicho::core::testing {

inline Op SetOp(std::string field, Value value, VersionVector context = {}) {
  Op op;
  op.type = OpType::kSetRegister;
  op.field = std::move(field);
  op.value = std::move(value);
  op.context = std::move(context);
  return op;
}

inline Op AddOp(std::string field, int64_t delta) {
  Op op;
  op.type = OpType::kCounterAdd;
  op.field = std::move(field);
  op.delta = delta;
  return op;
}

inline Op SetAddOp(std::string field, std::string element) {
  Op op;
  op.type = OpType::kSetAdd;
  op.field = std::move(field);
  op.element = std::move(element);
  return op;
}

inline Op SetRemoveOp(std::string field, std::string element, std::vector<Dot> observed) {
  Op op;
  op.type = OpType::kSetRemove;
  op.field = std::move(field);
  op.element = std::move(element);
  op.observed = std::move(observed);
  return op;
}

// `op` with a kind context: what its writer held of the name's other kinds.
inline Op WithKindContext(Op op, VersionVector kind_context) {
  op.kind_context = std::move(kind_context);
  return op;
}

inline Op DeleteOp(VersionVector context) {
  Op op;
  op.type = OpType::kDelete;
  op.context = std::move(context);
  return op;
}

inline Op UndeleteOp() {
  Op op;
  op.type = OpType::kUndelete;
  return op;
}

}  // namespace daicho::core::testing

#endif  // DAICHO_TESTS_TESTING_OP_BUILDERS_H_
