#include "storage/codec/change_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include "core/record_state.h"  // ClearKeepingMemory
#include "storage/codec/binary.h"
#include "storage/codec/names.h"

namespace daicho::storage {
namespace {

// The op header byte (docs/formats.md): the op type, the value's type for a
// kSetRegister, whether a context follows and (version 3) whether a kind
// context follows. Folding these into one byte keeps a register op to three
// bytes besides its value.
constexpr uint8_t kOpTypeMask = 0x07;
constexpr int kValueTagShift = 3;
constexpr uint8_t kValueTagMask = 0x07;
constexpr uint8_t kHasContextBit = 0x40;
constexpr uint8_t kHasKindContextBit = 0x80;
constexpr uint8_t kMaxOpType = static_cast<uint8_t>(core::OpType::kUndelete);
constexpr uint8_t kMaxValueTag = static_cast<uint8_t>(Value::Type::kBytes);

// The last 8 bytes: the record count and the index's offset, fixed32 each.
constexpr size_t kTrailerBytes = 8;

// A BinaryReader that accepts only the shortest form of each varint, so that
// a change has exactly one payload (a relay or peer comparing payloads of one
// dot sees equal bytes).
class Reader : public BinaryReader {
 public:
  using BinaryReader::BinaryReader;

  bool Varint(uint64_t& out) {
    const size_t start = position();
    if (!BinaryReader::Varint(out)) return false;
    const size_t shortest = out == 0 ? 1 : (static_cast<size_t>(std::bit_width(out)) + 6) / 7;
    return position() - start == shortest;
  }
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

bool IsRecordOp(core::OpType type) { return type == core::OpType::kDelete || type == core::OpType::kUndelete; }
bool HasContext(core::OpType type) { return type == core::OpType::kSetRegister || type == core::OpType::kDelete; }

uint32_t LoadFixed32(std::string_view bytes, size_t offset) {
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

Status CheckText(std::string_view s, const char* what, size_t max_bytes, const Errors& e) {
  if (s.size() > max_bytes) {
    return e.Bad(std::string(what) + " longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!IsValidUtf8(s)) return e.Bad(std::string(what) + " is not valid UTF-8");
  return Status::Ok();
}

Status CheckName(std::string_view s, const char* what, size_t max_bytes, const Errors& e) {
  if (s.empty()) return e.Bad(std::string("empty ") + what);
  if (s.find('\0') != std::string_view::npos) return e.Bad(std::string(what) + " contains a NUL byte");
  return CheckText(s, what, max_bytes, e);
}

Status CheckRecordKey(std::string_view collection, std::string_view id, size_t max_name_bytes, const Errors& e) {
  DAICHO_RETURN_IF_ERROR(CheckName(id, "record id", max_name_bytes, e));
  if (collection.size() + 1 + id.size() > kMaxRecordKeyBytes) {
    return e.Bad("collection and record id together exceed " + std::to_string(kMaxRecordKeyBytes) + " bytes");
  }
  return Status::Ok();
}

// The index of `name` in a sorted name table of `count` entries starting at
// `offset` (checked by Parse); nullopt if absent.
std::optional<uint32_t> FindName(std::string_view payload, uint32_t offset, uint32_t count, std::string_view name) {
  Reader r(payload);
  if (!r.Seek(offset)) return std::nullopt;
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view entry;
    if (!r.Bytes(entry)) return std::nullopt;
    const int cmp = entry.compare(name);
    if (cmp == 0) return i;
    if (cmp > 0) return std::nullopt;
  }
  return std::nullopt;
}

// The name at `index` of a name table starting at `offset`.
std::string_view NameAt(std::string_view payload, uint32_t offset, uint32_t index) {
  Reader r(payload);
  std::string_view entry;
  if (!r.Seek(offset)) return {};
  for (uint32_t i = 0; i <= index; ++i) {
    if (!r.Bytes(entry)) return {};
  }
  return entry;
}

// What an op's header byte and field say.
struct OpHead {
  core::OpType type = core::OpType::kSetRegister;
  uint8_t value_tag = 0;
  bool has_context = false;
  bool has_kind_context = false;
  uint32_t field = 0;  // index into the field table; field ops only
};

Status ReadOpHead(Reader& r, const detail::ChangeTables& t, const Errors& e, OpHead& h) {
  uint8_t b = 0;
  if (!r.Byte(b)) return e.Bad("truncated operation");
  const uint8_t type = b & kOpTypeMask;
  if (type > kMaxOpType) return e.Bad("unknown op type " + std::to_string(type));
  h.type = static_cast<core::OpType>(type);
  h.value_tag = static_cast<uint8_t>((b >> kValueTagShift) & kValueTagMask);
  h.has_context = (b & kHasContextBit) != 0;
  h.has_kind_context = (b & kHasKindContextBit) != 0;
  if (h.has_kind_context && !t.kind_contexts) return e.Bad("kind context in a version 2 payload");
  if (h.has_kind_context && IsRecordOp(h.type)) return e.Bad("kind context on a record operation");
  if (h.type != core::OpType::kSetRegister && h.value_tag != 0) return e.Bad("value type on an op without a value");
  if (h.value_tag > kMaxValueTag) return e.Bad("unknown value type " + std::to_string(h.value_tag));
  if (h.has_context && !HasContext(h.type)) return e.Bad("context on an op without one");
  if (!IsRecordOp(h.type)) {
    uint64_t field = 0;
    if (!r.Varint(field)) return e.Bad("truncated operation");
    if (field >= t.field_count) return e.Bad("field index " + std::to_string(field) + " out of range");
    h.field = static_cast<uint32_t>(field);
  }
  return Status::Ok();
}

// Reads a value of type `tag`; `out` may be null to skip it. Text is checked
// for UTF-8 only if `check_text`.
Status ReadValue(Reader& r, uint8_t tag, size_t max_value_bytes, bool check_text, const Errors& e, Value* out) {
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

// A version vector: entries sorted by replica id, counters above 0.
Status ReadVv(Reader& r, ReplicaRefs& refs, const Errors& e, VersionVector* out) {
  uint64_t n = 0;
  if (!r.Varint(n)) return e.Bad("truncated version vector");
  if (n == 0) return e.Bad("empty version vector marked present");
  if (n > r.remaining() / 2) return e.Bad("version vector longer than the payload");
  std::string_view prev;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t index = 0, counter = 0;
    if (!r.Varint(index) || !r.Varint(counter)) return e.Bad("truncated version vector");
    DAICHO_RETURN_IF_ERROR(refs.Check(index, e));
    if (counter == 0) return e.Bad("version vector entry with counter 0");
    const std::string_view id = refs.Raw(index);
    if (i > 0 && !(prev < id)) return e.Bad("version vector entries out of order or repeated");
    prev = id;
    if (out != nullptr) out->Advance(refs.Id(index), counter);
  }
  return Status::Ok();
}

// The body of an op after its head without its kind context.
Status ReadOpBodyProper(Reader& r, const OpHead& h, ReplicaRefs& refs, size_t max_value_bytes, bool check_text,
                        bool register_values, const Errors& e, core::Op* op, std::string_view& element) {
  switch (h.type) {
    case core::OpType::kSetRegister:
      DAICHO_RETURN_IF_ERROR(ReadValue(r, h.value_tag, max_value_bytes, check_text, e,
                                       op != nullptr && register_values ? &op->value : nullptr));
      if (h.has_context) DAICHO_RETURN_IF_ERROR(ReadVv(r, refs, e, op ? &op->context : nullptr));
      return Status::Ok();
    case core::OpType::kCounterAdd: {
      int64_t delta = 0;
      if (!r.Signed(delta)) return e.Bad("truncated counter delta");
      if (op != nullptr) op->delta = delta;
      return Status::Ok();
    }
    case core::OpType::kSetAdd:
    case core::OpType::kSetRemove: {
      if (!r.Bytes(element)) return e.Bad("truncated set element");
      if (element.size() > max_value_bytes) {
        return e.Bad("set element longer than " + std::to_string(max_value_bytes) + " bytes");
      }
      if (check_text && !IsValidUtf8(element)) return e.Bad("set element is not valid UTF-8");
      if (op != nullptr) op->element = element;
      if (h.type == core::OpType::kSetAdd) return Status::Ok();
      uint64_t n = 0;
      if (!r.Varint(n)) return e.Bad("truncated observed dots");
      if (n > r.remaining() / 2) return e.Bad("observed dots beyond the payload");
      if (op != nullptr) op->observed.reserve(static_cast<size_t>(n));
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t index = 0, counter = 0;
        if (!r.Varint(index) || !r.Varint(counter)) return e.Bad("truncated observed dots");
        DAICHO_RETURN_IF_ERROR(refs.Check(index, e));
        if (counter == 0) return e.Bad("dot with counter 0");
        if (op != nullptr) op->observed.push_back(Dot{refs.Id(index), counter});
      }
      return Status::Ok();
    }
    case core::OpType::kDelete:
      if (h.has_context) DAICHO_RETURN_IF_ERROR(ReadVv(r, refs, e, op ? &op->context : nullptr));
      return Status::Ok();
    case core::OpType::kUndelete:
      return Status::Ok();
  }
  return e.Bad("unknown op type");
}

// The body of an op after its head; `op` (optional) receives it. `element`
// is set for set ops (the canonical order needs it); `kind_context` gets the
// bytes of the kind context (empty if none), to compare those of one field.
Status ReadOpBody(Reader& r, const OpHead& h, ReplicaRefs& refs, size_t max_value_bytes, bool check_text,
                  bool register_values, const Errors& e, core::Op* op, std::string_view& element,
                  std::string_view& kind_context) {
  DAICHO_RETURN_IF_ERROR(ReadOpBodyProper(r, h, refs, max_value_bytes, check_text, register_values, e, op, element));
  kind_context = {};
  if (!h.has_kind_context) return Status::Ok();
  const size_t start = r.position();
  DAICHO_RETURN_IF_ERROR(ReadVv(r, refs, e, op ? &op->kind_context : nullptr));
  kind_context = r.data().substr(start, r.position() - start);
  return Status::Ok();
}

// RegisterValue's hot loop: the head and body of an op checked for
// structure and skipped without building a Status; false if malformed.
bool SkipOpHead(Reader& r, const detail::ChangeTables& t, OpHead& h) {
  uint8_t b = 0;
  if (!r.Byte(b) || (b & kOpTypeMask) > kMaxOpType) return false;
  h.type = static_cast<core::OpType>(b & kOpTypeMask);
  h.value_tag = static_cast<uint8_t>((b >> kValueTagShift) & kValueTagMask);
  h.has_context = (b & kHasContextBit) != 0;
  h.has_kind_context = (b & kHasKindContextBit) != 0;
  if ((h.type != core::OpType::kSetRegister && h.value_tag != 0) || h.value_tag > kMaxValueTag) return false;
  if (h.has_context && !HasContext(h.type)) return false;
  if (h.has_kind_context && (!t.kind_contexts || IsRecordOp(h.type))) return false;
  if (IsRecordOp(h.type)) return true;
  uint64_t field = 0;
  if (!r.Varint(field) || field >= t.field_count) return false;
  h.field = static_cast<uint32_t>(field);
  return true;
}

bool SkipDots(Reader& r, uint64_t n, uint32_t replica_count) {
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t index = 0, counter = 0;
    if (!r.Varint(index) || !r.Varint(counter) || index >= replica_count || counter == 0) return false;
  }
  return true;
}

bool SkipKindContext(Reader& r, const OpHead& h, uint32_t replica_count) {
  uint64_t n = 0;
  return !h.has_kind_context || (r.Varint(n) && n > 0 && SkipDots(r, n, replica_count));
}

bool SkipOpBodyProper(Reader& r, const OpHead& h, uint32_t replica_count) {
  uint64_t n = 0;
  std::string_view bytes;
  switch (h.type) {
    case core::OpType::kSetRegister: {
      bool ok = true;
      switch (static_cast<Value::Type>(h.value_tag)) {
        case Value::Type::kNull:
          break;
        case Value::Type::kBool: {
          uint8_t b = 0;
          ok = r.Byte(b) && b <= 1;
          break;
        }
        case Value::Type::kInt:
          ok = r.Varint(n);
          break;
        case Value::Type::kDouble:
          ok = r.Raw(8, bytes);
          break;
        case Value::Type::kString:
        case Value::Type::kBytes:
          ok = r.Bytes(bytes);
          break;
      }
      if (!ok) return false;
      if (!h.has_context) return true;
      return r.Varint(n) && n > 0 && SkipDots(r, n, replica_count);
    }
    case core::OpType::kCounterAdd:
      return r.Varint(n);
    case core::OpType::kSetAdd:
      return r.Bytes(bytes);
    case core::OpType::kSetRemove:
      return r.Bytes(bytes) && r.Varint(n) && SkipDots(r, n, replica_count);
    case core::OpType::kDelete:
      return !h.has_context || (r.Varint(n) && n > 0 && SkipDots(r, n, replica_count));
    case core::OpType::kUndelete:
      return true;
  }
  return false;
}

bool SkipOpBody(Reader& r, const OpHead& h, uint32_t replica_count) {
  return SkipOpBodyProper(r, h, replica_count) && SkipKindContext(r, h, replica_count);
}

// Canonical op order inside one record (core/change.h): field ops sorted by
// (field, kind, element), then at most one delete/undelete. The field table
// is sorted, so field indexes order like the names. Checking it on decode
// keeps one dot from touching a field twice, which the merge rules assume.
using OpOrderKey = std::tuple<int, uint32_t, int, std::string_view>;
OpOrderKey OrderKeyOf(const OpHead& h, std::string_view element) {
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

// Encoding side: the replica table in order of first use. Offices have few
// replicas, so a linear scan beats a map.
class ReplicaTable {
 public:
  void Use(const ReplicaId& id) { (void)IndexOf(id); }
  uint32_t IndexOf(const ReplicaId& id) {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (*ids_[i] == id) return static_cast<uint32_t>(i);
    }
    ids_.push_back(&id);
    return static_cast<uint32_t>(ids_.size() - 1);
  }
  const std::vector<const ReplicaId*>& ids() const { return ids_; }

 private:
  std::vector<const ReplicaId*> ids_;  // into the change being encoded
};

void PutVv(const VersionVector& vv, ReplicaTable& table, BinaryWriter& w) {
  w.Varint(vv.size());
  for (const auto& entry : vv.entries()) {
    w.Varint(table.IndexOf(entry.replica));
    w.Varint(entry.counter);
  }
}

void PutValue(const Value& v, BinaryWriter& w) {
  switch (v.type()) {
    case Value::Type::kNull:
      break;
    case Value::Type::kBool:
      w.Byte(v.as_bool() ? 1 : 0);
      break;
    case Value::Type::kInt:
      w.Signed(v.as_int());
      break;
    case Value::Type::kDouble:
      w.Fixed64(std::bit_cast<uint64_t>(v.as_double()));
      break;
    case Value::Type::kString:
      w.Bytes(v.as_string());
      break;
    case Value::Type::kBytes:
      w.Bytes(v.as_bytes().data);
      break;
  }
}

uint32_t IndexIn(const std::vector<std::string_view>& sorted, std::string_view name) {
  return static_cast<uint32_t>(std::lower_bound(sorted.begin(), sorted.end(), name) - sorted.begin());
}

}  // namespace

// Empties an op for ReadOpBody as if default-constructed, keeping the memory
// of its strings and vectors.
void ClearKeepingMemory(core::Op& op) {
  op.field.clear();
  if (!op.value.is_null()) op.value = Value();
  core::ClearKeepingMemory(op.context);
  op.delta = 0;
  op.element.clear();
  op.observed.clear();
  core::ClearKeepingMemory(op.kind_context);
}

// Parses and walks payloads on behalf of ChangeView and the decode functions.
class ChangeDecoder {
 public:
  static Result<ChangeView> Parse(std::string_view payload, const Limits& limits, const Errors& e);
  // Reads every record in order and checks all of it; `change` and `keys`
  // (either may be null) receive what was read.
  // `register_values`: false leaves kSetRegister values null in `change`
  // (still checked).
  static Status Walk(const ChangeView& view, const Limits& limits, const Errors& e, core::Change* change,
                     std::vector<RecordKey>* keys, bool register_values = true);
};

Result<ChangeView> ChangeDecoder::Parse(std::string_view payload, const Limits& limits, const Errors& e) {
  if (payload.size() > limits.max_change_bytes) {
    return e.TooBig("is larger than the limit of " + std::to_string(limits.max_change_bytes) + " bytes");
  }
  if (payload.size() > std::numeric_limits<uint32_t>::max()) return e.TooBig("is larger than 4 GiB");
  ChangeView v;
  v.tables_.payload = payload;
  v.tables_.max_value_bytes = limits.max_value_bytes;
  v.max_name_bytes_ = limits.max_name_bytes;
  Reader r(payload);
  uint8_t version = 0;
  if (!r.Byte(version)) return e.Bad("empty");
  if (version != kChangeFormatVersion && version != kChangeFormatVersionWithoutKindContexts) {
    return e.Bad("unknown format version " + std::to_string(version));
  }
  v.tables_.kind_contexts = version == kChangeFormatVersion;
  uint64_t wall_ms = 0, logical = 0;
  if (!r.Varint(wall_ms) || !r.Varint(logical)) return e.Bad("truncated header");
  if (logical > std::numeric_limits<uint32_t>::max()) return e.Bad("HLC logical counter out of range");
  v.hlc_ = HlcTime{wall_ms, static_cast<uint32_t>(logical)};

  uint64_t replica_count = 0;
  if (!r.Varint(replica_count)) return e.Bad("truncated header");
  if (replica_count > r.remaining() / ReplicaId::kSize) return e.Bad("replica table beyond the payload");
  v.tables_.replicas_offset = static_cast<uint32_t>(r.position());
  v.tables_.replica_count = static_cast<uint32_t>(replica_count);
  (void)r.Seek(r.position() + ReplicaId::kSize * static_cast<size_t>(replica_count));

  // The collection and field tables: sorted, distinct, valid names.
  auto read_names = [&](const char* what, uint32_t& offset, uint32_t& count) -> Status {
    uint64_t n = 0;
    if (!r.Varint(n)) return e.Bad("truncated header");
    if (n > r.remaining()) return e.Bad(std::string(what) + " table beyond the payload");
    offset = static_cast<uint32_t>(r.position());
    count = static_cast<uint32_t>(n);
    std::string_view prev;
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view name;
      if (!r.Bytes(name)) return e.Bad(std::string("truncated ") + what + " table");
      DAICHO_RETURN_IF_ERROR(CheckName(name, what, limits.max_name_bytes, e));
      if (i > 0 && !(prev < name)) return e.Bad(std::string(what) + " table out of order or repeated");
      prev = name;
    }
    return Status::Ok();
  };
  DAICHO_RETURN_IF_ERROR(read_names("collection", v.tables_.collections_offset, v.tables_.collection_count));
  DAICHO_RETURN_IF_ERROR(read_names("field name", v.tables_.fields_offset, v.tables_.field_count));

  uint64_t record_count = 0;
  if (!r.Varint(record_count)) return e.Bad("truncated header");
  v.records_offset_ = static_cast<uint32_t>(r.position());
  if (r.remaining() < kTrailerBytes) return e.Bad("no record index");
  const uint32_t trailer_count = LoadFixed32(payload, payload.size() - 8);
  const uint32_t index_offset = LoadFixed32(payload, payload.size() - 4);
  if (trailer_count != record_count) return e.Bad("record counts of header and index differ");
  // The index fills exactly the bytes between its offset and the trailer.
  if (index_offset < v.records_offset_ || index_offset > payload.size() - kTrailerBytes ||
      (payload.size() - kTrailerBytes - index_offset) / 4 != record_count ||
      (payload.size() - kTrailerBytes - index_offset) % 4 != 0) {
    return e.Bad("record index out of bounds");
  }
  v.index_offset_ = index_offset;
  v.record_count_ = trailer_count;
  if (record_count == 0 ? index_offset != v.records_offset_ : LoadFixed32(payload, index_offset) != v.records_offset_) {
    return e.Bad("record index does not start at the first record");
  }
  return v;
}

Status ChangeDecoder::Walk(const ChangeView& v, const Limits& limits, const Errors& e, core::Change* change,
                           std::vector<RecordKey>* keys, bool register_values) {
  const detail::ChangeTables& t = v.tables_;
  const bool convert = change != nullptr;
  Reader r(t.payload.substr(0, v.index_offset_));
  (void)r.Seek(v.records_offset_);

  // The tables were checked by Parse; here they become random access.
  auto load_names = [&](uint32_t offset, uint32_t count) {
    std::vector<std::string_view> names(count);
    Reader tr(t.payload);
    (void)tr.Seek(offset);
    for (std::string_view& name : names) (void)tr.Bytes(name);
    return names;
  };
  const std::vector<std::string_view> collections = load_names(t.collections_offset, t.collection_count);
  const std::vector<std::string_view> fields = load_names(t.fields_offset, t.field_count);
  std::vector<ReplicaId> ids;
  if (convert) {
    ids.reserve(t.replica_count);
    for (uint32_t i = 0; i < t.replica_count; ++i) {
      ReplicaId::Bytes bytes;
      std::memcpy(bytes.data(), t.payload.data() + t.replicas_offset + ReplicaId::kSize * i, ReplicaId::kSize);
      ids.emplace_back(bytes);
    }
  }
  ReplicaRefs refs(t, /*track_first_use=*/true, &ids);
  std::vector<bool> field_used(t.field_count);

  // Records and ops already in `change` are overwritten in place: a change
  // decoded into the previous one's memory allocates little.
  if (convert) change->records.resize(v.record_count_);
  if (keys != nullptr) keys->reserve(v.record_count_);
  size_t op_total = 0;
  size_t kind_context_ops = 0;
  int64_t prev_collection = -1;
  std::string_view prev_id;
  for (uint32_t i = 0; i < v.record_count_; ++i) {
    if (r.position() != LoadFixed32(t.payload, v.index_offset_ + 4 * static_cast<size_t>(i))) {
      return e.Bad("record index entry " + std::to_string(i) + " does not point at its record");
    }
    uint64_t collection = 0;
    std::string_view id;
    uint64_t op_count = 0;
    if (!r.Varint(collection) || !r.Bytes(id) || !r.Varint(op_count)) return e.Bad("truncated record");
    if (collection >= t.collection_count) return e.Bad("collection index out of range");
    DAICHO_RETURN_IF_ERROR(CheckRecordKey(collections[collection], id, limits.max_name_bytes, e));
    const auto c = static_cast<int64_t>(collection);
    if (c < prev_collection || (c == prev_collection && !(prev_id < id))) {
      return e.Bad("records out of order or repeated");
    }
    if (c > prev_collection + 1) return e.Bad("collection table entry not used");
    prev_collection = c;
    prev_id = id;
    if (op_count > limits.max_ops_per_change - op_total) {
      return e.TooBig("has more than " + std::to_string(limits.max_ops_per_change) + " operations");
    }
    op_total += static_cast<size_t>(op_count);
    if (op_count > r.remaining()) return e.Bad("op count beyond the payload");

    core::RecordOps* rec = nullptr;
    if (convert) {
      rec = &change->records[i];
      rec->collection = collections[collection];
      rec->id = id;
      rec->ops.resize(static_cast<size_t>(op_count));
    }
    OpOrderKey prev_key;
    std::string_view prev_kind_context;
    for (uint64_t j = 0; j < op_count; ++j) {
      OpHead h;
      DAICHO_RETURN_IF_ERROR(ReadOpHead(r, t, e, h));
      core::Op* op = nullptr;
      if (convert) {
        op = &rec->ops[j];
        ClearKeepingMemory(*op);
        op->type = h.type;
        if (!IsRecordOp(h.type)) op->field = fields[h.field];
      }
      if (!IsRecordOp(h.type)) field_used[h.field] = true;
      std::string_view element, kind_context;
      DAICHO_RETURN_IF_ERROR(
          ReadOpBody(r, h, refs, limits.max_value_bytes, convert, register_values, e, op, element, kind_context));
      if (h.has_kind_context) ++kind_context_ops;
      const OpOrderKey key = OrderKeyOf(h, element);
      if (j > 0 && !(prev_key < key)) {
        return e.Bad("operations of record " + std::string(id) + " out of order or repeated");
      }
      // Version 3 writes one kind per (record, field), all its ops with one
      // kind context: the merge rules order kinds by their ops' contexts.
      if (t.kind_contexts && j > 0 && std::get<0>(key) == 0 && std::get<1>(prev_key) == std::get<1>(key)) {
        if (std::get<2>(prev_key) != std::get<2>(key)) {
          return e.Bad("field written with two kinds in record " + std::string(id));
        }
        if (prev_kind_context != kind_context) {
          return e.Bad("ops of one field with different kind contexts in record " + std::string(id));
        }
      }
      prev_key = key;
      prev_kind_context = kind_context;
    }
    if (keys != nullptr) keys->push_back(RecordKey{std::string(collections[collection]), std::string(id)});
  }
  if (r.position() != v.index_offset_) return e.Bad("bytes between the last record and the record index");
  if (prev_collection + 1 != static_cast<int64_t>(t.collection_count)) return e.Bad("collection table entry not used");
  if (std::find(field_used.begin(), field_used.end(), false) != field_used.end()) {
    return e.Bad("field table entry not used");
  }
  if (refs.used() != t.replica_count) return e.Bad("replica table entry not used");
  // Without kind contexts a change is written as version 2: one payload each.
  if (t.kind_contexts && kind_context_ops == 0) return e.Bad("version 3 payload without a kind context");
  return Status::Ok();
}

// ---- ChangeView ----

Result<ChangeView> ChangeView::Parse(std::string_view payload, const Limits& limits) {
  return ChangeDecoder::Parse(payload, limits, Errors());
}

Result<uint32_t> ChangeView::RecordOffset(size_t i) const {
  const uint32_t offset = LoadFixed32(tables_.payload, index_offset_ + 4 * i);
  if (offset < records_offset_ || offset >= index_offset_) {
    return Errors().Bad("record index entry " + std::to_string(i) + " out of range");
  }
  return offset;
}

Result<RecordOpsView> ChangeView::RecordAt(uint32_t offset, uint32_t end) const {
  const Errors e;
  Reader r(tables_.payload.substr(offset, end - offset));
  uint64_t collection = 0, op_count = 0;
  RecordOpsView view;
  if (!r.Varint(collection) || !r.Bytes(view.id_) || !r.Varint(op_count)) return e.Bad("truncated record");
  if (collection >= tables_.collection_count) return e.Bad("collection index out of range");
  view.collection_ = NameAt(tables_.payload, tables_.collections_offset, static_cast<uint32_t>(collection));
  DAICHO_RETURN_IF_ERROR(CheckRecordKey(view.collection_, view.id_, max_name_bytes_, e));
  // Every op takes at least one byte.
  if (op_count > r.remaining()) return e.Bad("op count beyond the record");
  view.tables_ = tables_;
  view.ops_ = tables_.payload.substr(offset + r.position(), r.remaining());
  view.op_count_ = static_cast<size_t>(op_count);
  return view;
}

Result<RecordOpsView> ChangeView::Record(size_t i) const {
  if (i >= record_count_) {
    return Status(Code::kInvalidArgument,
                  "record " + std::to_string(i) + " of a change of " + std::to_string(record_count_));
  }
  DAICHO_ASSIGN_OR_RETURN(const uint32_t offset, RecordOffset(i));
  uint32_t end = index_offset_;
  if (i + 1 < record_count_) {
    DAICHO_ASSIGN_OR_RETURN(end, RecordOffset(i + 1));
  }
  if (end <= offset) return Errors().Bad("record index not in increasing order");
  return RecordAt(offset, end);
}

Result<std::optional<RecordOpsView>> ChangeView::Find(std::string_view collection, std::string_view id) const {
  const std::optional<uint32_t> wanted =
      FindName(tables_.payload, tables_.collections_offset, tables_.collection_count, collection);
  if (!wanted) return std::optional<RecordOpsView>();
  const Errors e;
  Reader r(tables_.payload.substr(0, index_offset_));
  // Entries in [lo, hi) must lie in [low_offset, high_offset): a probe that
  // contradicts an earlier one means the index is not increasing.
  size_t lo = 0, hi = record_count_;
  uint32_t low_offset = records_offset_, high_offset = index_offset_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    DAICHO_ASSIGN_OR_RETURN(const uint32_t offset, RecordOffset(mid));
    if (offset < low_offset || offset >= high_offset) return e.Bad("record index not in increasing order");
    uint64_t c = 0;
    std::string_view rid;
    if (!r.Seek(offset) || !r.Varint(c) || !r.Bytes(rid)) return e.Bad("truncated record");
    if (c >= tables_.collection_count) return e.Bad("collection index out of range");
    const int cmp = c != *wanted ? (c < *wanted ? -1 : 1) : rid.compare(id);
    if (cmp == 0) {
      uint32_t end = high_offset;
      if (mid + 1 < record_count_) {
        DAICHO_ASSIGN_OR_RETURN(end, RecordOffset(mid + 1));
        if (end <= offset || end > high_offset) return e.Bad("record index not in increasing order");
      }
      DAICHO_ASSIGN_OR_RETURN(RecordOpsView view, RecordAt(offset, end));
      return std::optional<RecordOpsView>(view);
    }
    if (cmp < 0) {
      lo = mid + 1;
      low_offset = offset + 1;
    } else {
      hi = mid;
      high_offset = offset;
    }
  }
  return std::optional<RecordOpsView>();
}

Result<std::optional<Value>> RecordOpsView::RegisterValue(std::string_view field) const {
  const std::optional<uint32_t> wanted = FindName(tables_.payload, tables_.fields_offset, tables_.field_count, field);
  if (!wanted) return std::optional<Value>();
  const Errors e;
  Reader r(ops_);
  for (size_t i = 0; i < op_count_; ++i) {
    OpHead h;
    if (!SkipOpHead(r, tables_, h)) return e.Bad("malformed operation in record " + std::string(id_));
    // Field ops come sorted by field, before any delete/undelete.
    if (IsRecordOp(h.type) || h.field > *wanted) break;
    if (h.field == *wanted && h.type == core::OpType::kSetRegister) {
      Value value;
      DAICHO_RETURN_IF_ERROR(ReadValue(r, h.value_tag, tables_.max_value_bytes, /*check_text=*/true, e, &value));
      return std::optional<Value>(std::move(value));
    }
    if (!SkipOpBody(r, h, tables_.replica_count)) return e.Bad("malformed operation in record " + std::string(id_));
  }
  return std::optional<Value>();
}

Status RecordOpsView::RegisterValues(std::span<const std::string_view> fields,
                                     std::span<std::optional<Value>> values) const {
  if (values.size() != fields.size()) {
    return Status(Code::kInvalidArgument, "RegisterValues: " + std::to_string(fields.size()) + " fields but " +
                                              std::to_string(values.size()) + " value slots");
  }
  for (std::optional<Value>& v : values) v.reset();
  if (fields.empty()) return Status::Ok();
  const Errors e;
  // Both the wanted names and the field table are sorted: one merge walk
  // gives each wanted name its table index (or none).
  constexpr uint32_t kAbsent = UINT32_MAX;
  // Small records (the usual case) need no allocation.
  std::array<uint32_t, 32> small_indexes;
  std::vector<uint32_t> large_indexes;
  std::span<uint32_t> indexes;
  if (fields.size() <= small_indexes.size()) {
    indexes = std::span<uint32_t>(small_indexes.data(), fields.size());
  } else {
    large_indexes.resize(fields.size());
    indexes = large_indexes;
  }
  {
    Reader t(tables_.payload);
    if (!t.Seek(tables_.fields_offset)) return e.Bad("field table out of range");
    size_t w = 0;
    std::string_view entry;
    bool have_entry = false;
    uint32_t entry_index = 0;
    for (; w < fields.size(); ++w) {
      if (w > 0 && !(fields[w - 1] < fields[w])) {
        return Status(Code::kInvalidArgument, "RegisterValues: field names not ascending");
      }
      while (true) {
        if (!have_entry) {
          if (entry_index >= tables_.field_count) break;
          if (!t.Bytes(entry)) return e.Bad("truncated field table");
          have_entry = true;
        }
        const int cmp = entry.compare(fields[w]);
        if (cmp >= 0) break;
        have_entry = false;
        ++entry_index;
      }
      indexes[w] = have_entry && entry == fields[w] ? entry_index : kAbsent;
    }
  }
  Reader r(ops_);
  size_t w = 0;
  for (size_t i = 0; i < op_count_; ++i) {
    OpHead h;
    if (!SkipOpHead(r, tables_, h)) return e.Bad("malformed operation in record " + std::string(id_));
    // Field ops come sorted by field, before any delete/undelete.
    if (IsRecordOp(h.type)) break;
    while (w < indexes.size() && (indexes[w] == kAbsent || indexes[w] < h.field)) ++w;
    if (w == indexes.size()) break;
    if (indexes[w] == h.field && h.type == core::OpType::kSetRegister) {
      Value value;
      DAICHO_RETURN_IF_ERROR(ReadValue(r, h.value_tag, tables_.max_value_bytes, /*check_text=*/true, e, &value));
      values[w].emplace(std::move(value));
      ++w;
      if (h.has_context) {
        uint64_t n = 0;
        if (!r.Varint(n) || n == 0 || !SkipDots(r, n, tables_.replica_count)) {
          return e.Bad("malformed operation in record " + std::string(id_));
        }
      }
      if (!SkipKindContext(r, h, tables_.replica_count)) {
        return e.Bad("malformed operation in record " + std::string(id_));
      }
      continue;
    }
    if (!SkipOpBody(r, h, tables_.replica_count)) return e.Bad("malformed operation in record " + std::string(id_));
  }
  return Status::Ok();
}

// ---- whole payloads ----

std::string EncodeChangePayload(const core::Change& change) {
  // First pass: the tables (sorted names, replicas in order of first use)
  // and a size estimate so that the payload is written into one buffer.
  std::set<std::string_view> collection_set, field_set;
  ReplicaTable replicas;
  size_t estimate = 32 + 4 * change.records.size();
  const std::string* last_collection = nullptr;
  bool kind_contexts = false;
  for (const core::RecordOps& rec : change.records) {
    if (last_collection == nullptr || *last_collection != rec.collection) collection_set.insert(rec.collection);
    last_collection = &rec.collection;
    estimate += rec.id.size() + 8;
    for (const core::Op& op : rec.ops) {
      estimate += 4;
      if (!IsRecordOp(op.type)) field_set.insert(op.field);
      // The replica table lists replicas in the order the ops name them:
      // an op's kind context comes after its body.
      auto use_kind_context = [&] {
        if (IsRecordOp(op.type) || op.kind_context.empty()) return;
        kind_contexts = true;
        for (const auto& entry : op.kind_context.entries()) replicas.Use(entry.replica);
        estimate += 4 * op.kind_context.size();
      };
      switch (op.type) {
        case core::OpType::kSetRegister:
          if (op.value.type() == Value::Type::kString) estimate += op.value.as_string().size() + 4;
          if (op.value.type() == Value::Type::kBytes) estimate += op.value.as_bytes().data.size() + 4;
          estimate += 10;
          for (const auto& entry : op.context.entries()) replicas.Use(entry.replica);
          estimate += 4 * op.context.size();
          break;
        case core::OpType::kCounterAdd:
          estimate += 10;
          break;
        case core::OpType::kSetAdd:
          estimate += op.element.size() + 4;
          break;
        case core::OpType::kSetRemove:
          estimate += op.element.size() + 4 + 4 * op.observed.size();
          for (const Dot& dot : op.observed) replicas.Use(dot.origin);
          break;
        case core::OpType::kDelete:
          for (const auto& entry : op.context.entries()) replicas.Use(entry.replica);
          estimate += 4 * op.context.size();
          break;
        case core::OpType::kUndelete:
          break;
      }
      use_kind_context();
    }
  }
  const std::vector<std::string_view> collections(collection_set.begin(), collection_set.end());
  const std::vector<std::string_view> fields(field_set.begin(), field_set.end());
  for (std::string_view name : collections) estimate += name.size() + 2;
  for (std::string_view name : fields) estimate += name.size() + 2;
  estimate += ReplicaId::kSize * replicas.ids().size();

  std::string out;
  out.reserve(estimate);
  BinaryWriter w(out);
  w.Byte(kind_contexts ? kChangeFormatVersion : kChangeFormatVersionWithoutKindContexts);
  w.Varint(change.hlc.wall_ms);
  w.Varint(change.hlc.logical);
  w.Varint(replicas.ids().size());
  for (const ReplicaId* id : replicas.ids()) w.Raw(id->AsStringView());
  w.Varint(collections.size());
  for (std::string_view name : collections) w.Bytes(name);
  w.Varint(fields.size());
  for (std::string_view name : fields) w.Bytes(name);
  w.Varint(change.records.size());

  std::vector<uint32_t> offsets;
  offsets.reserve(change.records.size());
  last_collection = nullptr;
  uint32_t collection_index = 0;
  uint32_t field_index = 0;  // of the previous field op
  for (const core::RecordOps& rec : change.records) {
    offsets.push_back(static_cast<uint32_t>(out.size()));
    if (last_collection == nullptr || *last_collection != rec.collection) {
      collection_index = IndexIn(collections, rec.collection);
      last_collection = &rec.collection;
    }
    w.Varint(collection_index);
    w.Bytes(rec.id);
    w.Varint(rec.ops.size());
    for (const core::Op& op : rec.ops) {
      uint8_t head = static_cast<uint8_t>(op.type);
      if (op.type == core::OpType::kSetRegister) head |= static_cast<uint8_t>(op.value.type()) << kValueTagShift;
      if (HasContext(op.type) && !op.context.empty()) head |= kHasContextBit;
      const bool has_kind_context = !IsRecordOp(op.type) && !op.kind_context.empty();
      if (has_kind_context) head |= kHasKindContextBit;
      w.Byte(head);
      if (!IsRecordOp(op.type)) {
        // A record's ops come by field, and records mostly write the same
        // fields: the field after the previous op's is the usual answer.
        if (field_index + 1 < fields.size() && fields[field_index + 1] == op.field) {
          ++field_index;
        } else if (fields[field_index] != op.field) {
          field_index = IndexIn(fields, op.field);
        }
        w.Varint(field_index);
      }
      switch (op.type) {
        case core::OpType::kSetRegister:
          PutValue(op.value, w);
          if (!op.context.empty()) PutVv(op.context, replicas, w);
          break;
        case core::OpType::kCounterAdd:
          w.Signed(op.delta);
          break;
        case core::OpType::kSetAdd:
          w.Bytes(op.element);
          break;
        case core::OpType::kSetRemove:
          w.Bytes(op.element);
          w.Varint(op.observed.size());
          for (const Dot& dot : op.observed) {
            w.Varint(replicas.IndexOf(dot.origin));
            w.Varint(dot.counter);
          }
          break;
        case core::OpType::kDelete:
          if (!op.context.empty()) PutVv(op.context, replicas, w);
          break;
        case core::OpType::kUndelete:
          break;
      }
      if (has_kind_context) PutVv(op.kind_context, replicas, w);
    }
  }
  const auto index_offset = static_cast<uint32_t>(out.size());
  for (uint32_t offset : offsets) w.Fixed32(offset);
  w.Fixed32(static_cast<uint32_t>(change.records.size()));
  w.Fixed32(index_offset);
  return out;
}

Status DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload, const Limits& limits,
                           ValueDecoding values, core::Change& change) {
  const Errors e(origin, seq);
  if (seq == 0) return e.Bad("seq 0");
  DAICHO_ASSIGN_OR_RETURN(const ChangeView view, ChangeDecoder::Parse(payload, limits, e));
  change.origin = origin;
  change.seq = seq;
  change.hlc = view.hlc();
  return ChangeDecoder::Walk(view, limits, e, &change, nullptr, values == ValueDecoding::kMaterialize);
}

Result<core::Change> DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                         const Limits& limits, ValueDecoding values) {
  core::Change change;
  DAICHO_RETURN_IF_ERROR(DecodeChangePayload(origin, seq, payload, limits, values, change));
  return change;
}

Result<std::vector<RecordKey>> DecodeChangeRecordKeys(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                                      const Limits& limits) {
  const Errors e(origin, seq);
  if (seq == 0) return e.Bad("seq 0");
  DAICHO_ASSIGN_OR_RETURN(const ChangeView view, ChangeDecoder::Parse(payload, limits, e));
  std::vector<RecordKey> keys;
  DAICHO_RETURN_IF_ERROR(ChangeDecoder::Walk(view, limits, e, nullptr, &keys));
  return keys;
}

}  // namespace daicho::storage
