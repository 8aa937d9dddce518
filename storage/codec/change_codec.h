// Change payloads in daicho's compact binary format (docs/formats.md,
// "Change payload"): what `changes` stores and what travels between replicas
// inside ChangeBlob.payload. Origin and seq travel beside the payload and are
// not part of it.
//
// Encoding is deterministic: equal changes give equal bytes. A payload ends
// with an index of its records' offsets, so one record is found by binary
// search without decoding the others (ChangeView).
//
// Decoding treats the payload as untrusted: nothing reads outside it, and
// every problem is a returned Status, never a crash:
//   kCorruption        the bytes are not a well-formed payload (truncated,
//                      bad index, indexes out of range, names empty / with
//                      NUL / not UTF-8 / too long, values over
//                      Limits::max_value_bytes, records or ops out of their
//                      canonical order, seq 0);
//   kResourceExhausted the payload is over Limits::max_change_bytes or holds
//                      more than Limits::max_ops_per_change operations.
#ifndef DAICHO_STORAGE_CODEC_CHANGE_CODEC_H_
#define DAICHO_STORAGE_CODEC_CHANGE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "daicho/hlc_time.h"
#include "daicho/record.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/value.h"

namespace daicho::storage {

// The format version, the payload's first byte. A change none of whose ops
// carries a kind context is written as version 2 (which has none), so that
// peers that predate kind contexts read it; version 3 adds them.
inline constexpr uint8_t kChangeFormatVersion = 3;
inline constexpr uint8_t kChangeFormatVersionWithoutKindContexts = 2;

// A change's payload (ops and stamp). `change.records` must be in the
// canonical order of core/change.h for the result to decode.
std::string EncodeChangePayload(const core::Change& change);

// Whether a decode materializes register values. kCheckOnly validates them
// exactly as kMaterialize does but leaves each kSetRegister op's value null: what
// applying a change to record states needs (states hold no values; they are
// read from the stored change), without allocating a copy of each.
enum class ValueDecoding { kMaterialize, kCheckOnly };

// Full, validating decode.
Result<core::Change> DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                         const Limits& limits, ValueDecoding values = ValueDecoding::kMaterialize);
// The same into `change`, which is overwritten entirely but keeps the memory
// it holds (one Change reused for change after change allocates little).
// After an error `change` holds some valid but unspecified value.
Status DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload, const Limits& limits,
                           ValueDecoding values, core::Change& change);

// Only the records a change touches, in (collection, id) order: the same
// structural and key checks as DecodeChangePayload, without converting ops
// or checking the text inside them (for scans over many changes).
Result<std::vector<RecordKey>> DecodeChangeRecordKeys(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                                      const Limits& limits);

namespace detail {
// Where a payload's tables are; what a record view needs to read its ops.
struct ChangeTables {
  std::string_view payload;
  uint32_t replicas_offset = 0;  // first 16-byte id of the replica table
  uint32_t replica_count = 0;
  uint32_t collections_offset = 0;  // first entry of the collection table
  uint32_t collection_count = 0;
  uint32_t fields_offset = 0;  // first entry of the field-name table
  uint32_t field_count = 0;
  size_t max_value_bytes = 0;
  bool kind_contexts = false;  // version 3: field ops may carry one
};
}  // namespace detail

// One record's ops inside a payload, read in place. A plain value holding
// views into the payload, which must outlive it. Thread-compatible.
class RecordOpsView {
 public:
  std::string_view collection() const { return collection_; }
  std::string_view id() const { return id_; }
  size_t op_count() const { return op_count_; }

  // The value the record's kSetRegister op on `field` wrote; nullopt if the
  // change wrote no register value to that field of this record. The ops up
  // to it are checked for structure and the value for its limits and UTF-8
  // (kCorruption). Allocates nothing but the returned value.
  Result<std::optional<Value>> RegisterValue(std::string_view field) const;

  // Every value at once, in one pass over the record's ops: values[i] gets
  // the value the record's kSetRegister op on fields[i] wrote, or nullopt.
  // `fields` must be strictly ascending (bytewise) and as long as `values`
  // (kInvalidArgument otherwise). Checks as RegisterValue (kCorruption).
  // Allocates nothing but the values (and an index table beyond 32 fields).
  Status RegisterValues(std::span<const std::string_view> fields, std::span<std::optional<Value>> values) const;

 private:
  friend class ChangeView;
  detail::ChangeTables tables_;
  std::string_view collection_;
  std::string_view id_;
  std::string_view ops_;  // the record's op bytes, from its first op to its end
  size_t op_count_ = 0;
};

// A change payload read in place, without decoding it: its stamp, and any
// record's ops found by binary search over the payload's record index.
// Parse checks the header, the tables and the index's bounds, not every
// record: each accessor checks what it reads (kCorruption). A plain value
// holding views into the payload, which must outlive it and every
// RecordOpsView it hands out. Thread-compatible; allocates nothing.
class ChangeView {
 public:
  // kResourceExhausted if the payload is over limits.max_change_bytes;
  // kCorruption if its header, tables or index bounds are malformed.
  static Result<ChangeView> Parse(std::string_view payload, const Limits& limits);

  HlcTime hlc() const { return hlc_; }
  size_t record_count() const { return record_count_; }

  // The i-th record in (collection, id) order; i < record_count().
  Result<RecordOpsView> Record(size_t i) const;

  // The ops of record (collection, id); nullopt if the change does not touch
  // it. O(log record_count) reads.
  Result<std::optional<RecordOpsView>> Find(std::string_view collection, std::string_view id) const;

 private:
  friend class ChangeDecoder;
  ChangeView() = default;
  // Offset of record i, checked to lie in the records area.
  Result<uint32_t> RecordOffset(size_t i) const;
  // Reads the record header at `offset`, which ends before `end`.
  Result<RecordOpsView> RecordAt(uint32_t offset, uint32_t end) const;

  detail::ChangeTables tables_;
  size_t max_name_bytes_ = 0;
  HlcTime hlc_;
  uint32_t records_offset_ = 0;  // first record
  uint32_t index_offset_ = 0;    // first entry of the record index
  uint32_t record_count_ = 0;
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_CHANGE_CODEC_H_
