// The on-disk change payload (storage/codec/change_codec.h): the full decode
// in both value modes, the record-key scan and ChangeView's in-place reads
// must agree on every payload; one that decodes must re-encode to bytes that
// decode and encode to the same bytes. Run with the default limits and with
// tight ones.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/codec/change_codec.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

// Equal values; NaN equals NaN (a payload may hold one; it is still itself).
bool SameValue(const Value& a, const Value& b) {
  if (a.type() == Value::Type::kDouble && b.type() == Value::Type::kDouble && std::isnan(a.as_double()) &&
      std::isnan(b.as_double())) {
    return true;
  }
  return a == b;
}

void Fuzz(std::string_view payload, const Limits& limits) {
  const ReplicaId origin = fuzz::FixedId(7);
  auto full = storage::DecodeChangePayload(origin, 1, payload, limits);
  auto check_only = storage::DecodeChangePayload(origin, 1, payload, limits, storage::ValueDecoding::kCheckOnly);
  Check(full.ok() == check_only.ok(), "the two value modes disagree on a payload");
  auto keys = storage::DecodeChangeRecordKeys(origin, 1, payload, limits);
  auto view = storage::ChangeView::Parse(payload, limits);
  if (view.ok()) {
    // In-place reads of any payload whose header parses must stay in it.
    for (size_t i = 0; i < view->record_count() && i < 64; ++i) {
      auto record = view->Record(i);
      if (!record.ok()) continue;
      (void)record->RegisterValue("name");
      (void)view->Find(record->collection(), record->id());
    }
  }
  if (!full.ok()) return;

  Check(keys.ok(), "a payload decodes but its record keys do not");
  Check(keys->size() == full->records.size(), "the record-key scan finds another number of records");
  Check(view.ok(), "a payload decodes but ChangeView cannot parse it");
  Check(view->record_count() == full->records.size(), "ChangeView counts another number of records");
  Check(view->hlc() == full->hlc, "ChangeView reads another stamp");
  for (size_t i = 0; i < full->records.size(); ++i) {
    const core::RecordOps& ops = full->records[i];
    Check((*keys)[i].collection == ops.collection && (*keys)[i].id == ops.id, "the record-key scan differs");
    auto found = view->Find(ops.collection, ops.id);
    Check(found.ok() && found->has_value(), "ChangeView does not find a record of the change");
    Check((*found)->op_count() == ops.ops.size(), "ChangeView counts another number of ops");
    for (const core::Op& op : ops.ops) {
      if (op.type != core::OpType::kSetRegister) continue;
      auto value = (*found)->RegisterValue(op.field);
      Check(value.ok() && value->has_value(), "ChangeView does not read a register value of the change");
      Check(SameValue(**value, op.value), "ChangeView reads another register value");
    }
  }
  const std::string again = storage::EncodeChangePayload(*full);
  auto redecoded = storage::DecodeChangePayload(origin, 1, again, limits);
  Check(redecoded.ok(), "a decoded payload, encoded again, does not decode");
  Check(storage::EncodeChangePayload(*redecoded) == again, "encoding a payload is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  Fuzz(payload, Limits{});
  Limits tight;
  tight.max_name_bytes = 8;
  tight.max_value_bytes = 16;
  tight.max_ops_per_change = 8;
  tight.max_change_bytes = 2048;
  Fuzz(payload, tight);
  return 0;
}
