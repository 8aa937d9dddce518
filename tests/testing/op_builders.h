// Builders of single core::Op values, for the merge, record-view and codec
// tests.
#ifndef DAICHO_TESTS_TESTING_OP_BUILDERS_H_
#define DAICHO_TESTS_TESTING_OP_BUILDERS_H_

#include <string>
#include <utility>
#include <vector>

#include "core/change.h"

namespace daicho::testing {

inline core::Op SetOp(std::string field, Value value, VersionVector context = {}) {
  core::Op op;
  op.type = core::OpType::kSetRegister;
  op.field = std::move(field);
  op.value = std::move(value);
  op.context = std::move(context);
  return op;
}

inline core::Op AddOp(std::string field, int64_t delta) {
  core::Op op;
  op.type = core::OpType::kCounterAdd;
  op.field = std::move(field);
  op.delta = delta;
  return op;
}

inline core::Op SetAddOp(std::string field, std::string element) {
  core::Op op;
  op.type = core::OpType::kSetAdd;
  op.field = std::move(field);
  op.element = std::move(element);
  return op;
}

inline core::Op SetRemoveOp(std::string field, std::string element, std::vector<Dot> observed) {
  core::Op op;
  op.type = core::OpType::kSetRemove;
  op.field = std::move(field);
  op.element = std::move(element);
  op.observed = std::move(observed);
  return op;
}

// `op` with a kind context: what its writer held of the name's other kinds.
inline core::Op WithKindContext(core::Op op, VersionVector kind_context) {
  op.kind_context = std::move(kind_context);
  return op;
}

inline core::Op DeleteOp(VersionVector context) {
  core::Op op;
  op.type = core::OpType::kDelete;
  op.context = std::move(context);
  return op;
}

inline core::Op UndeleteOp() {
  core::Op op;
  op.type = core::OpType::kUndelete;
  return op;
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_OP_BUILDERS_H_
