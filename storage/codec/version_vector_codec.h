// Codec: how core types are stored (docs/formats.md): change payloads
// (change_codec.h), the stored version vector (here); record states are in
// state_codec.h. Encoding is deterministic: equal values give equal bytes.
// Decoding validates everything (sizes, indexes, sort order, UTF-8) and
// returns kCorruption for bytes that are not a well-formed encoding.
#ifndef DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_
#define DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "core/record_state.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "storage/codec/change_codec.h"

namespace daicho::storage {

// Longest `collection \0 id` key: LMDB's compiled-in key limit.
inline constexpr size_t kMaxRecordKeyBytes = 511;

// Change payloads (EncodeChangePayload, DecodeChangePayload,
// DecodeChangeRecordKeys, ChangeView) are in change_codec.h, included above.

// A version vector on its own (the `vv` meta key): ids inline, no
// dictionary, so it reads without one (docs/formats.md). Record states are
// encoded by state_codec.h.
std::string EncodeVersionVector(const VersionVector& vv);
Result<VersionVector> DecodeVersionVector(std::string_view bytes);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_
