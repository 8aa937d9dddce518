// Change and Op: one committed transaction of one replica, as it is stored and
// sent. Every op carries the change's dot (origin, seq) and stamp (hlc).
// Ops are grouped by record in (collection, id) order; within a record the
// field ops (sorted by field, then element) come before a delete/undelete.
// A change uses one kind per (record, field): a register write, a counter
// add, or set adds/removes (ChangeBuilder coalesces to the last kind written).
#ifndef DAICHO_CORE_CHANGE_H_
#define DAICHO_CORE_CHANGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "daicho/hlc_time.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"

namespace daicho::core {

enum class OpType {
  kSetRegister = 0,  // value, context = writer's field VV
  kCounterAdd = 1,   // delta
  kSetAdd = 2,       // element
  kSetRemove = 3,    // element, observed = its live dots at the writer
  kDelete = 4,       // context = writer's own VV at commit
  kUndelete = 5,
};

struct Op {
  OpType type = OpType::kSetRegister;
  std::string field;          // empty for kDelete / kUndelete
  Value value;                // kSetRegister
  VersionVector context;      // kSetRegister, kDelete
  int64_t delta = 0;          // kCounterAdd
  std::string element;        // kSetAdd, kSetRemove
  std::vector<Dot> observed;  // kSetRemove
  // Field ops: the join of the field VVs of the other kinds of this name
  // that the writer held (docs/merge-rules.md "Kinds of one name"); empty when it
  // knew no other kind. Equal on every op of one (record, field).
  VersionVector kind_context;
  friend bool operator==(const Op&, const Op&) = default;
};

struct RecordOps {
  std::string collection;
  std::string id;
  std::vector<Op> ops;
  friend bool operator==(const RecordOps&, const RecordOps&) = default;
};

struct Change {
  ReplicaId origin;
  uint64_t seq = 0;
  HlcTime hlc;
  std::vector<RecordOps> records;  // sorted by (collection, id)

  Dot dot() const { return Dot{origin, seq}; }
  size_t OpCount() const;
  friend bool operator==(const Change&, const Change&) = default;
};

}  // namespace daicho::core

#endif  // DAICHO_CORE_CHANGE_H_
