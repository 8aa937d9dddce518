// ChangeView and RecordOpsView (change_codec.h): a payload's records and
// register values read in place, found by binary search over the record
// index, without decoding the rest.
#include "storage/codec/change_codec.h"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/codec/change_format.h"

namespace daicho::storage {
using namespace change_format;  // the format's shared pieces
namespace {

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

}  // namespace

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

}  // namespace daicho::storage
