// The change codec's encoding side (change_codec.h): a Change into its one
// canonical payload.
#include "storage/codec/change_codec.h"

#include <algorithm>
#include <bit>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/codec/change_format.h"

namespace daicho::storage {
using namespace change_format;  // the format's shared pieces
namespace {

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

}  // namespace daicho::storage
