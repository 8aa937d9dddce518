// Rules for the names the formats carry (collections, record ids, field
// names), shared by the API side (storage/replica.cc) and the decoders.
#ifndef DAICHO_STORAGE_CODEC_NAMES_H_
#define DAICHO_STORAGE_CODEC_NAMES_H_

#include <cstddef>

namespace daicho::storage {

// Longest `collection \0 id` key: LMDB's compiled-in key limit.
inline constexpr size_t kMaxRecordKeyBytes = 511;

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_NAMES_H_
