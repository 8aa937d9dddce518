// ValueResolver: finds the values of a record state's register siblings.
//
// A stored record state keeps, per register sibling, only its dot and HLC
// (docs/formats.md, "Record states"); the value lives once, in the change
// that wrote it, which the `changes` database holds for as long as the
// state can mention its dot (a replica keeps every change it applied or
// made). Resolve() reads those changes in the caller's transaction, in
// place (ChangeView), and copies each value into its sibling.
//
// Ownership and lifetime: borrows the transaction, which must outlive the
// resolver. Parsed changes are cached for the resolver's life, as views into
// the map: in a WriteTxn the resolver must not outlive the next Put/Del (see
// storage/lmdb/txn.h); make one per read operation, or per record in a
// write. Thread-compatible (one thread at a time, like its transaction).
//
// Codes: kCorruption when a sibling's change is missing from `changes`, does
// not touch the record, or wrote no register value to the field (a damaged
// store), or the change payload is malformed; kResourceExhausted for a
// payload over `limits`; LMDB errors of Get.
#ifndef DAICHO_STORAGE_REPLICA_VALUE_RESOLVER_H_
#define DAICHO_STORAGE_REPLICA_VALUE_RESOLVER_H_

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "core/record_state.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "storage/codec/change_codec.h"
#include "storage/lmdb/dbi.h"
#include "storage/lmdb/txn.h"

namespace daicho::storage {

class ValueResolver {
 public:
  // A change whose payload the caller already holds, parsed (the one being
  // applied): the resolver reads it from there, not from `changes`, sparing
  // a lookup and a parse. Its payload must outlive the resolver.
  struct HeldChange {
    Dot dot;
    ChangeView view;
  };

  // `held` (optional) must outlive the resolver.
  ValueResolver(const lmdb::TxnBase& txn, lmdb::Dbi changes, const Limits& limits, const HeldChange* held = nullptr)
      : txn_(txn), changes_(changes), limits_(limits), held_(held) {}
  ValueResolver(const ValueResolver&) = delete;
  ValueResolver& operator=(const ValueResolver&) = delete;

  // Sets the value of every register sibling of `state`, the state of record
  // (collection, id).
  Status Resolve(std::string_view collection, std::string_view id, core::RecordState& state);

  // Only the registers that hold more than one sibling (what conflict
  // detection needs); the others keep whatever value they hold.
  Status ResolveMultiSibling(std::string_view collection, std::string_view id, core::RecordState& state);

 private:
  struct Slot {
    Dot dot;
    std::string_view field;
    Value* value;
  };

  Status ResolveSlots(std::string_view collection, std::string_view id);
  // The parsed change `dot`, cached.
  Result<const ChangeView*> ViewOf(const Dot& dot);

  const lmdb::TxnBase& txn_;
  lmdb::Dbi changes_;
  Limits limits_;
  const HeldChange* held_;
  std::map<Dot, ChangeView> views_;
  const Dot* last_dot_ = nullptr;  // key of the last view handed out
  const ChangeView* last_view_ = nullptr;
  // Reused across records to spare allocations.
  std::vector<Slot> slots_;
  std::vector<std::string_view> names_;
  std::vector<std::optional<Value>> found_;
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_REPLICA_VALUE_RESOLVER_H_
