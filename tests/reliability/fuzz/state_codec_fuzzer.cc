// The on-disk record state (storage/codec/state_codec.h) and stored version
// vector (version_vector_codec.h). Decoding accepts only canonical bytes, so
// a state that decodes must encode to exactly the input; the read side of
// the merge rules (views, contexts, conflicts) must take any state that
// decodes. The input is read as both formats.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/merge.h"
#include "core/record_context.h"
#include "core/record_view.h"
#include "storage/codec/state_codec.h"
#include "storage/codec/version_vector_codec.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "tests/testing/memory_replica_dictionary.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  testing::MemoryReplicaDictionary dict({fuzz::FixedId(1), fuzz::FixedId(2), fuzz::FixedId(3), fuzz::FixedId(4)});
  auto state = storage::DecodeRecordState(bytes, dict);
  if (state.ok()) {
    auto encoded = storage::EncodeRecordState(*state, dict);
    Check(encoded.ok(), "a decoded record state cannot be encoded");
    Check(*encoded == bytes, "a decoded record state encodes to other bytes (decoding is not canonical)");
    const Record view = core::MakeRecordView("customers", "c1", *state);
    (void)view;
    (void)core::RecordCausalContext(*state);
    (void)core::IsHidden(*state);
    (void)core::HasConflict(*state);
    (void)core::HasDeleteConflict(*state);
  }
  auto vv = storage::DecodeVersionVector(bytes);
  if (vv.ok()) {
    auto again = storage::DecodeVersionVector(storage::EncodeVersionVector(*vv));
    Check(again.ok() && *again == *vv, "a decoded version vector, encoded again, changed");
  }
  return 0;
}
