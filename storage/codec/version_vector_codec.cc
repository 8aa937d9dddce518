#include "storage/codec/version_vector_codec.h"

#include <optional>
#include <tuple>

#include "storage/codec/binary.h"

namespace daicho::storage {

// Dictionary-free (meta must read without one): varint count, then per
// entry the 16-byte id and a varint counter, ids strictly increasing, counters >= 1.
std::string EncodeVersionVector(const VersionVector& vv) {
  std::string out;
  out.reserve(1 + vv.size() * (ReplicaId::kSize + 4));
  BinaryWriter w(out);
  w.Varint(vv.size());
  for (const auto& e : vv.entries()) {
    w.Raw(e.replica.AsStringView());
    w.Varint(e.counter);
  }
  return out;
}

Result<VersionVector> DecodeVersionVector(std::string_view bytes) {
  auto bad = [](const std::string& detail) { return Corruption("stored version vector: " + detail); };
  BinaryReader r(bytes);
  uint64_t n = 0;
  if (!r.Varint(n)) return bad("truncated");
  if (n > r.remaining() / (ReplicaId::kSize + 1)) return bad("entry count " + std::to_string(n) + " exceeds the input");
  VersionVector vv;
  std::optional<ReplicaId> prev;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view raw;
    uint64_t counter = 0;
    if (!r.Raw(ReplicaId::kSize, raw) || !r.Varint(counter)) return bad("truncated");
    const ReplicaId id = *ReplicaId::FromBytes(raw);
    if (counter == 0) return bad("entry with counter 0");
    if (prev && !(*prev < id)) return bad("entries out of order or repeated");
    prev = id;
    vv.Advance(id, counter);
  }
  if (!r.done()) return bad(std::to_string(r.remaining()) + " trailing bytes");
  return vv;
}

}  // namespace daicho::storage
