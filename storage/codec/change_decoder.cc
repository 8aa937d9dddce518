// The change codec's decoding side (change_codec.h): ChangeDecoder's Parse
// (header and tables, for ChangeView too) and Walk (every record and op,
// checked against the canonical form), and the decode functions.
#include "storage/codec/change_codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/record_state.h"  // ClearKeepingMemory
#include "storage/codec/change_format.h"

namespace daicho::storage {
using namespace change_format;  // the format's shared pieces
namespace {

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
