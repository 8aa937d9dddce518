// Codec: the one place where core types meet their Protobuf encodings
// (storage/proto/record.proto). Encoding is deterministic: equal values give
// equal bytes, so replicas can be compared byte for byte.
// Decoding validates everything (sizes, indexes, sort order, UTF-8) and
// returns kCorruption for bytes that are not a well-formed encoding.
#ifndef DAICHO_STORAGE_CODEC_H_
#define DAICHO_STORAGE_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/record_state.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::storage {

// Longest `collection \0 id` key: LMDB's compiled-in key limit.
inline constexpr size_t kMaxRecordKeyBytes = 511;

// A change's payload (ops and stamp; origin and seq travel beside it).
std::string EncodeChangePayload(const core::Change& change);
Result<core::Change> DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                         const Limits& limits);
// Only the records a change touches, in (collection, id) order: the same
// parse and key checks as DecodeChangePayload, without converting its ops
// (for scans over many changes that need no values).
Result<std::vector<RecordKey>> DecodeChangeRecordKeys(const ReplicaId& origin, uint64_t seq,
                                                      std::string_view payload, const Limits& limits);

// A version vector on its own (the `vv` meta key): ids inline, no
// dictionary, so it reads without one (docs/formats.md). Record states are
// encoded by state_codec.h.
std::string EncodeVersionVector(const VersionVector& vv);
Result<VersionVector> DecodeVersionVector(std::string_view bytes);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_H_
