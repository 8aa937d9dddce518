// The rules for the names the formats carry (collections, record ids, field
// names), written once: the API side (storage/replica/write_transaction.cc: kInvalidArgument,
// kResourceExhausted) and the decoders (kCorruption) check with these and
// turn the problem into their own code and message.
#ifndef DAICHO_STORAGE_CODEC_NAMES_H_
#define DAICHO_STORAGE_CODEC_NAMES_H_

#include <cstddef>
#include <string_view>

#include "daicho/value.h"  // IsValidUtf8

namespace daicho::storage {

// Longest `collection \0 id` key: LMDB's compiled-in key limit.
inline constexpr size_t kMaxRecordKeyBytes = 511;

// What is wrong with a name, in the order CheckNameBytes looks: a name with
// several problems reports the first.
enum class NameProblem { kNone, kEmpty, kTooLong, kNul, kNotUtf8 };

// A name is 1 to `max_bytes` bytes of UTF-8 without NUL (the NUL separates
// collection and id in a record's key).
inline NameProblem CheckNameBytes(std::string_view name, size_t max_bytes) {
  if (name.empty()) return NameProblem::kEmpty;
  if (name.size() > max_bytes) return NameProblem::kTooLong;
  if (name.find('\0') != std::string_view::npos) return NameProblem::kNul;
  if (!IsValidUtf8(name)) return NameProblem::kNotUtf8;
  return NameProblem::kNone;
}

// Whether `collection \0 id` is over kMaxRecordKeyBytes.
inline bool RecordKeyTooLong(std::string_view collection, std::string_view id) {
  return collection.size() + 1 + id.size() > kMaxRecordKeyBytes;
}

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_NAMES_H_
