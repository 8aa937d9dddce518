// A version vector on its own, as the `vv` meta key stores it
// (docs/formats.md): ids inline, no replica dictionary, so it reads without
// one. Encoding is deterministic: equal vectors give equal bytes. Decoding
// validates everything (sizes, sort order, counters) and returns kCorruption
// for bytes that are not a well-formed encoding.
//
// The other formats: change payloads in change_codec.h, record states in
// state_codec.h.
#ifndef DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_
#define DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_

#include <string>
#include <string_view>

#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::storage {

std::string EncodeVersionVector(const VersionVector& vv);
Result<VersionVector> DecodeVersionVector(std::string_view bytes);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_VERSION_VECTOR_CODEC_H_
