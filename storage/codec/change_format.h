// The pieces of the change payload format (docs/formats.md, "Change
// payload") that the encoder, the decoder and ChangeView share: the op header
// byte, the trailer, the shortest-form reader, error messages, name and key
// checks, value reading, replica references and the canonical op order.
// Internal to storage/codec/change_*.cc.
#ifndef DAICHO_STORAGE_CODEC_CHANGE_FORMAT_H_
#define DAICHO_STORAGE_CODEC_CHANGE_FORMAT_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/change.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/value.h"
#include "storage/codec/binary.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/names.h"

namespace daicho::storage {
namespace change_format {

// The op header byte (docs/formats.md): the op type, the value's type for a
// kSetRegister, whether a context follows and (version 3) whether a kind
// context follows. Folding these into one byte keeps a register op to three
// bytes besides its value.
inline constexpr uint8_t kOpTypeMask = 0x07;
inline constexpr int kValueTagShift = 3;
inline constexpr uint8_t kValueTagMask = 0x07;
inline constexpr uint8_t kHasContextBit = 0x40;
inline constexpr uint8_t kHasKindContextBit = 0x80;
inline constexpr uint8_t kMaxOpType = static_cast<uint8_t>(core::OpType::kUndelete);
inline constexpr uint8_t kMaxValueTag = static_cast<uint8_t>(Value::Type::kBytes);

// The last 8 bytes: the record count and the index's offset, fixed32 each.
inline constexpr size_t kTrailerBytes = 8;

// A BinaryReader that accepts only the shortest form of each varint, so that
// a change has exactly one payload (a relay or peer comparing payloads of one
// dot sees equal bytes).
class Reader : public BinaryReader {
 public:
  using BinaryReader::BinaryReader;

  bool Varint(uint64_t& out) { return ReadCanonicalVarint(*this, out); }
  bool Signed(int64_t& out) {
    uint64_t v = 0;
    if (!Varint(v)) return false;
    out = static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
    return true;
  }
  bool Bytes(std::string_view& out) {
    uint64_t size = 0;
    if (!Varint(size) || size > remaining()) return false;
    return Raw(static_cast<size_t>(size), out);
  }
};

inline bool IsRecordOp(core::OpType type) { return type == core::OpType::kDelete || type == core::OpType::kUndelete; }
inline bool HasContext(core::OpType type) {
  return type == core::OpType::kSetRegister || type == core::OpType::kDelete;
}

inline uint32_t LoadFixed32(std::string_view bytes, size_t offset) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  return v;
}

// Error messages name the change when it is known; they are built only on
// failure, so a decode that succeeds allocates none.
class Errors {
 public:
  Errors() = default;
  Errors(const ReplicaId& origin, uint64_t seq) : origin_(&origin), seq_(seq) {}

  Status Bad(std::string_view detail) const { return Corruption(Name() + ": " + std::string(detail)); }
  Status TooBig(std::string_view detail) const {
    return Status(Code::kResourceExhausted, Name() + " " + std::string(detail));
  }

 private:
  std::string Name() const {
    return origin_ == nullptr ? "change payload" : "change " + origin_->ToHex() + ":" + std::to_string(seq_);
  }
  const ReplicaId* origin_ = nullptr;
  uint64_t seq_ = 0;
};

inline Status CheckName(std::string_view s, const char* what, size_t max_bytes, const Errors& e) {
  switch (CheckNameBytes(s, max_bytes)) {
    case NameProblem::kEmpty:
      return e.Bad(std::string("empty ") + what);
    case NameProblem::kTooLong:
      return e.Bad(std::string(what) + " longer than " + std::to_string(max_bytes) + " bytes");
    case NameProblem::kNul:
      return e.Bad(std::string(what) + " contains a NUL byte");
    case NameProblem::kNotUtf8:
      return e.Bad(std::string(what) + " is not valid UTF-8");
    case NameProblem::kNone:
      break;
  }
  return Status::Ok();
}

inline Status CheckRecordKey(std::string_view collection, std::string_view id, size_t max_name_bytes, const Errors& e) {
  DAICHO_RETURN_IF_ERROR(CheckName(id, "record id", max_name_bytes, e));
  if (RecordKeyTooLong(collection, id)) {
    return e.Bad("collection and record id together exceed " + std::to_string(kMaxRecordKeyBytes) + " bytes");
  }
  return Status::Ok();
}

// What an op's header byte and field say.
struct OpHead {
  core::OpType type = core::OpType::kSetRegister;
  uint8_t value_tag = 0;
  bool has_context = false;
  bool has_kind_context = false;
  uint32_t field = 0;  // index into the field table; field ops only
};

// Reads a value of type `tag`; `out` may be null to skip it. Text is checked
// for UTF-8 only if `check_text`.
inline Status ReadValue(Reader& r, uint8_t tag, size_t max_value_bytes, bool check_text, const Errors& e, Value* out) {
  switch (static_cast<Value::Type>(tag)) {
    case Value::Type::kNull:
      if (out != nullptr) *out = Value();
      return Status::Ok();
    case Value::Type::kBool: {
      uint8_t b = 0;
      if (!r.Byte(b)) return e.Bad("truncated value");
      if (b > 1) return e.Bad("bool value other than 0 or 1");
      if (out != nullptr) *out = Value(b == 1);
      return Status::Ok();
    }
    case Value::Type::kInt: {
      int64_t i = 0;
      if (!r.Signed(i)) return e.Bad("truncated value");
      if (out != nullptr) *out = Value(i);
      return Status::Ok();
    }
    case Value::Type::kDouble: {
      uint64_t bits = 0;
      if (!r.Fixed64(bits)) return e.Bad("truncated value");
      if (out != nullptr) *out = Value(std::bit_cast<double>(bits));
      return Status::Ok();
    }
    case Value::Type::kString: {
      std::string_view s;
      if (!r.Bytes(s)) return e.Bad("truncated value");
      if (s.size() > max_value_bytes) return e.Bad("string value longer than " + std::to_string(max_value_bytes));
      if (check_text && !IsValidUtf8(s)) return e.Bad("string value is not valid UTF-8");
      if (out != nullptr) *out = Value(s);
      return Status::Ok();
    }
    case Value::Type::kBytes: {
      std::string_view s;
      if (!r.Bytes(s)) return e.Bad("truncated value");
      if (s.size() > max_value_bytes) return e.Bad("bytes value longer than " + std::to_string(max_value_bytes));
      if (out != nullptr) *out = Value(Bytes{std::string(s)});
      return Status::Ok();
    }
  }
  return e.Bad("unknown value type");
}

// Replica references (version vector entries, dots): in range, and, when
// reading a whole payload, in the table's order of first use, which makes
// the table canonical. `ids` (optional) turns indexes into ReplicaIds.
class ReplicaRefs {
 public:
  ReplicaRefs(const detail::ChangeTables& t, bool track_first_use, const std::vector<ReplicaId>* ids)
      : payload_(t.payload), offset_(t.replicas_offset), count_(t.replica_count), track_(track_first_use), ids_(ids) {}

  Status Check(uint64_t index, const Errors& e) {
    if (index >= count_) return e.Bad("replica index " + std::to_string(index) + " out of range");
    if (track_) {
      if (index > next_new_) return e.Bad("replica table not in order of first use");
      if (index == next_new_) ++next_new_;
    }
    return Status::Ok();
  }
  std::string_view Raw(uint64_t index) const {
    return payload_.substr(offset_ + ReplicaId::kSize * static_cast<size_t>(index), ReplicaId::kSize);
  }
  const ReplicaId& Id(uint64_t index) const { return (*ids_)[static_cast<size_t>(index)]; }
  uint64_t used() const { return next_new_; }

 private:
  std::string_view payload_;
  uint32_t offset_;
  uint32_t count_;
  bool track_;
  const std::vector<ReplicaId>* ids_;
  uint64_t next_new_ = 0;
};

// Canonical op order inside one record (core/change.h): field ops sorted by
// (field, kind, element), then at most one delete/undelete. The field table
// is sorted, so field indexes order like the names. Checking it on decode
// keeps one dot from touching a field twice, which the merge rules assume.
using OpOrderKey = std::tuple<int, uint32_t, int, std::string_view>;
inline OpOrderKey OrderKeyOf(const OpHead& h, std::string_view element) {
  switch (h.type) {
    case core::OpType::kSetRegister:
      return {0, h.field, 0, {}};
    case core::OpType::kCounterAdd:
      return {0, h.field, 1, {}};
    case core::OpType::kSetAdd:
    case core::OpType::kSetRemove:
      return {0, h.field, 2, element};
    case core::OpType::kDelete:
    case core::OpType::kUndelete:
      return {1, 0, 0, {}};
  }
  return {2, 0, 0, {}};
}

}  // namespace change_format

// Parses and walks payloads on behalf of ChangeView and the decode functions.
class ChangeDecoder {
 public:
  static Result<ChangeView> Parse(std::string_view payload, const Limits& limits, const change_format::Errors& e);
  // Reads every record in order and checks all of it; `change` and `keys`
  // (either may be null) receive what was read.
  // `register_values`: false leaves kSetRegister values null in `change`
  // (still checked).
  static Status Walk(const ChangeView& view, const Limits& limits, const change_format::Errors& e, core::Change* change,
                     std::vector<RecordKey>* keys, bool register_values = true);
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_CHANGE_FORMAT_H_
