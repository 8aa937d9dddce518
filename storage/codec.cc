#include "storage/codec.h"

#include <optional>
#include <tuple>

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "storage/binary.h"
#include "storage/proto/record.pb.h"

namespace daicho::storage {
namespace {

namespace pb = ::daicho::store::v1;

// Assigns each replica id an index in a message's `replicas` table in order of
// first use, so equal states give equal tables. Offices have few replicas, so
// a linear scan beats a map.
class ReplicaTable {
 public:
  explicit ReplicaTable(google::protobuf::RepeatedPtrField<std::string>* out) : out_(out) {}
  uint32_t IndexOf(const ReplicaId& id) {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (ids_[i] == id) return static_cast<uint32_t>(i);
    }
    ids_.push_back(id);
    out_->Add(std::string(id.AsStringView()));
    return static_cast<uint32_t>(ids_.size() - 1);
  }

 private:
  google::protobuf::RepeatedPtrField<std::string>* out_;
  std::vector<ReplicaId> ids_;
};

void PutHlc(HlcTime t, pb::Hlc* out) {
  out->set_wall_ms(t.wall_ms);
  out->set_logical(t.logical);
}
HlcTime GetHlc(const pb::Hlc& in) { return HlcTime{in.wall_ms(), in.logical()}; }

void PutVv(const VersionVector& vv, ReplicaTable& table, pb::VersionVector* out) {
  for (const auto& e : vv.entries()) {
    out->add_replica(table.IndexOf(e.replica));
    out->add_counter(e.counter);
  }
}

void PutDot(const Dot& dot, ReplicaTable& table, pb::Dot* out) {
  out->set_replica(table.IndexOf(dot.origin));
  out->set_counter(dot.counter);
}

void PutValue(const Value& v, pb::Value* out) {
  switch (v.type()) {
    case Value::Type::kNull: out->set_null_value(true); break;
    case Value::Type::kBool: out->set_bool_value(v.as_bool()); break;
    case Value::Type::kInt: out->set_int_value(v.as_int()); break;
    case Value::Type::kDouble: out->set_double_value(v.as_double()); break;
    case Value::Type::kString: out->set_string_value(v.as_string()); break;
    case Value::Type::kBytes: out->set_bytes_value(v.as_bytes().data); break;
  }
}

std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  // Deterministic: no map fields are used, and this pins the rest.
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// Decoding side: every index and text field is checked.
class Decoder {
 public:
  explicit Decoder(const std::string& what) : what_(what) {}

  Status LoadTable(const google::protobuf::RepeatedPtrField<std::string>& replicas) {
    ids_.clear();
    ids_.reserve(replicas.size());
    for (const std::string& raw : replicas) {
      auto id = ReplicaId::FromBytes(raw);
      if (!id.ok()) return Bad("replica table entry of " + std::to_string(raw.size()) + " bytes");
      ids_.push_back(*id);
    }
    return Status::Ok();
  }

  Result<ReplicaId> Replica(uint32_t index) const {
    if (index >= ids_.size()) return Bad("replica index " + std::to_string(index) + " out of range");
    return ids_[index];
  }

  Result<Dot> GetDot(const pb::Dot& in) const {
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, Replica(in.replica()));
    if (in.counter() == 0) return Bad("dot with counter 0");
    return Dot{id, in.counter()};
  }

  Result<VersionVector> GetVv(const pb::VersionVector& in) const {
    if (in.replica_size() != in.counter_size()) return Bad("version vector arrays differ in length");
    VersionVector vv;
    for (int i = 0; i < in.replica_size(); ++i) {
      DAICHO_ASSIGN_OR_RETURN(ReplicaId id, Replica(in.replica(i)));
      vv.Advance(id, in.counter(i));
    }
    return vv;
  }

  Status CheckText(const std::string& s, const char* name, size_t max_bytes) const {
    if (s.size() > max_bytes) return Bad(std::string(name) + " longer than " + std::to_string(max_bytes) + " bytes");
    if (!IsValidUtf8(s)) return Bad(std::string(name) + " is not valid UTF-8");
    return Status::Ok();
  }

  Status CheckName(const std::string& s, const char* name, size_t max_bytes) const {
    if (s.empty()) return Bad(std::string("empty ") + name);
    if (s.find('\0') != std::string::npos) return Bad(std::string(name) + " contains a NUL byte");
    return CheckText(s, name, max_bytes);
  }

  Result<Value> GetValue(const pb::Value& in, size_t max_bytes) const {
    switch (in.kind_case()) {
      case pb::Value::KIND_NOT_SET:
      case pb::Value::kNullValue: return Value();
      case pb::Value::kBoolValue: return Value(in.bool_value());
      case pb::Value::kIntValue: return Value(static_cast<int64_t>(in.int_value()));
      case pb::Value::kDoubleValue: return Value(in.double_value());
      case pb::Value::kStringValue:
        DAICHO_RETURN_IF_ERROR(CheckText(in.string_value(), "string value", max_bytes));
        return Value(in.string_value());
      case pb::Value::kBytesValue:
        if (in.bytes_value().size() > max_bytes) return Bad("bytes value too long");
        return Value(Bytes{in.bytes_value()});
    }
    return Bad("unknown value kind");
  }

  Status Bad(const std::string& detail) const { return Corruption(what_ + ": " + detail); }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  std::vector<ReplicaId> ids_;
};

template <typename Msg>
Status ParseInto(Msg& msg, std::string_view bytes, const Decoder& d) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return d.Bad("too large to parse");
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return d.Bad("not a valid encoding");
  return Status::Ok();
}

// Canonical op order inside one record (change.h): field ops sorted by
// (field, kind, element), then at most one delete/undelete. Checking it on
// decode keeps one dot from touching a field twice, which the rules assume.
std::tuple<int, std::string_view, int, std::string_view> OpOrderKey(const core::Op& op) {
  switch (op.type) {
    case core::OpType::kSetRegister: return {0, op.field, 0, {}};
    case core::OpType::kCounterAdd: return {0, op.field, 1, {}};
    case core::OpType::kSetAdd:
    case core::OpType::kSetRemove: return {0, op.field, 2, op.element};
    case core::OpType::kDelete:
    case core::OpType::kUndelete: return {1, {}, 0, {}};
  }
  return {2, {}, 0, {}};
}

// What frames a change (seq, size limit) and its parse; shared by the full
// decode and the keys-only one so both accept exactly the same payloads.
Status ParseChange(uint64_t seq, std::string_view payload, const Limits& limits, const Decoder& d,
                   pb::Change& msg) {
  if (seq == 0) return d.Bad("seq 0");
  if (payload.size() > limits.max_change_bytes) {
    return Status(Code::kResourceExhausted, d.what() + " is larger than the limit of " +
                                                std::to_string(limits.max_change_bytes) + " bytes");
  }
  return ParseInto(msg, payload, d);
}

// A record key of a change: valid names that fit an LMDB key, in strictly
// increasing (collection, id) order after `prev` (null for the first).
Status CheckChangeRecordKey(const pb::RecordOps& r, const pb::RecordOps* prev, const Limits& limits,
                            const Decoder& d) {
  DAICHO_RETURN_IF_ERROR(d.CheckName(r.collection(), "collection", limits.max_name_bytes));
  DAICHO_RETURN_IF_ERROR(d.CheckName(r.id(), "record id", limits.max_name_bytes));
  if (r.collection().size() + 1 + r.id().size() > kMaxRecordKeyBytes) {
    return d.Bad("collection and record id together exceed " + std::to_string(kMaxRecordKeyBytes) + " bytes");
  }
  if (prev != nullptr && std::tie(prev->collection(), prev->id()) >= std::tie(r.collection(), r.id())) {
    return d.Bad("records out of order or repeated");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeChangePayload(const core::Change& change) {
  pb::Change msg;
  ReplicaTable table(msg.mutable_replicas());
  PutHlc(change.hlc, msg.mutable_hlc());
  msg.mutable_records()->Reserve(static_cast<int>(change.records.size()));
  for (const core::RecordOps& rec : change.records) {
    pb::RecordOps* r = msg.add_records();
    r->set_collection(rec.collection);
    r->set_id(rec.id);
    for (const core::Op& op : rec.ops) {
      pb::Op* o = r->add_ops();
      o->set_type(static_cast<pb::OpType>(op.type));
      if (!op.field.empty()) o->set_field(op.field);
      switch (op.type) {
        case core::OpType::kSetRegister:
          PutValue(op.value, o->mutable_value());
          PutVv(op.context, table, o->mutable_context());
          break;
        case core::OpType::kCounterAdd: o->set_delta(op.delta); break;
        case core::OpType::kSetAdd: o->set_element(op.element); break;
        case core::OpType::kSetRemove:
          o->set_element(op.element);
          for (const Dot& d : op.observed) PutDot(d, table, o->add_observed());
          break;
        case core::OpType::kDelete: PutVv(op.context, table, o->mutable_context()); break;
        case core::OpType::kUndelete: break;
      }
    }
  }
  return Serialize(msg);
}

Result<core::Change> DecodeChangePayload(const ReplicaId& origin, uint64_t seq, std::string_view payload,
                                         const Limits& limits) {
  Decoder d("change " + origin.ToHex() + ":" + std::to_string(seq));
  pb::Change msg;
  DAICHO_RETURN_IF_ERROR(ParseChange(seq, payload, limits, d, msg));
  DAICHO_RETURN_IF_ERROR(d.LoadTable(msg.replicas()));
  core::Change change;
  change.origin = origin;
  change.seq = seq;
  change.hlc = GetHlc(msg.hlc());
  change.records.reserve(msg.records_size());
  size_t op_count = 0;
  const pb::RecordOps* prev = nullptr;
  for (const pb::RecordOps& r : msg.records()) {
    DAICHO_RETURN_IF_ERROR(CheckChangeRecordKey(r, prev, limits, d));
    prev = &r;
    core::RecordOps& rec = change.records.emplace_back();
    rec.collection = r.collection();
    rec.id = r.id();
    op_count += static_cast<size_t>(r.ops_size());
    if (op_count > limits.max_ops_per_change) {
      return Status(Code::kResourceExhausted, "change has more than " +
                                                  std::to_string(limits.max_ops_per_change) + " operations");
    }
    rec.ops.reserve(r.ops_size());
    for (const pb::Op& o : r.ops()) {
      core::Op& op = rec.ops.emplace_back();
      if (!pb::OpType_IsValid(o.type())) return d.Bad("unknown op type " + std::to_string(o.type()));
      op.type = static_cast<core::OpType>(o.type());
      const bool record_op = op.type == core::OpType::kDelete || op.type == core::OpType::kUndelete;
      if (record_op) {
        if (!o.field().empty()) return d.Bad("delete/undelete with a field name");
      } else {
        op.field = o.field();
        DAICHO_RETURN_IF_ERROR(d.CheckName(op.field, "field name", limits.max_name_bytes));
      }
      switch (op.type) {
        case core::OpType::kSetRegister: {
          DAICHO_ASSIGN_OR_RETURN(op.value, d.GetValue(o.value(), limits.max_value_bytes));
          DAICHO_ASSIGN_OR_RETURN(op.context, d.GetVv(o.context()));
          break;
        }
        case core::OpType::kCounterAdd: op.delta = o.delta(); break;
        case core::OpType::kSetAdd:
        case core::OpType::kSetRemove:
          op.element = o.element();
          DAICHO_RETURN_IF_ERROR(d.CheckText(op.element, "set element", limits.max_value_bytes));
          for (const pb::Dot& pd : o.observed()) {
            DAICHO_ASSIGN_OR_RETURN(Dot dot, d.GetDot(pd));
            op.observed.push_back(dot);
          }
          break;
        case core::OpType::kDelete: {
          DAICHO_ASSIGN_OR_RETURN(op.context, d.GetVv(o.context()));
          break;
        }
        case core::OpType::kUndelete: break;
      }
      if (rec.ops.size() > 1 && !(OpOrderKey(rec.ops[rec.ops.size() - 2]) < OpOrderKey(op))) {
        return d.Bad("operations of record " + rec.id + " out of order or repeated");
      }
    }
  }
  return change;
}

Result<std::vector<RecordKey>> DecodeChangeRecordKeys(const ReplicaId& origin, uint64_t seq,
                                                      std::string_view payload, const Limits& limits) {
  Decoder d("change " + origin.ToHex() + ":" + std::to_string(seq));
  // The parse still builds every op; an arena makes their thousands of small
  // allocations one, which is most of the cost of a scan.
  google::protobuf::Arena arena;
  pb::Change* msg = google::protobuf::Arena::CreateMessage<pb::Change>(&arena);
  DAICHO_RETURN_IF_ERROR(ParseChange(seq, payload, limits, d, *msg));
  std::vector<RecordKey> keys;
  keys.reserve(static_cast<size_t>(msg->records_size()));
  const pb::RecordOps* prev = nullptr;
  for (const pb::RecordOps& r : msg->records()) {
    DAICHO_RETURN_IF_ERROR(CheckChangeRecordKey(r, prev, limits, d));
    prev = &r;
    keys.push_back(RecordKey{r.collection(), r.id()});
  }
  return keys;
}

// Dictionary-free (meta must read without one): varint count, then per
// entry the 16-byte id and a varint counter, ids strictly increasing, counters >= 1.
std::string EncodeVersionVector(const VersionVector& vv) {
  std::string out;
  out.reserve(1 + vv.size() * (ReplicaId::kSize + 4));
  BinaryWriter w(out);
  w.Varint(vv.size());
  for (const auto& e : vv.entries()) {
    w.Raw(e.replica.AsStringView());
    w.Varint(e.counter);
  }
  return out;
}

Result<VersionVector> DecodeVersionVector(std::string_view bytes) {
  auto bad = [](const std::string& detail) { return Corruption("stored version vector: " + detail); };
  BinaryReader r(bytes);
  uint64_t n = 0;
  if (!r.Varint(n)) return bad("truncated");
  if (n > r.remaining() / (ReplicaId::kSize + 1)) return bad("entry count " + std::to_string(n) + " exceeds the input");
  VersionVector vv;
  std::optional<ReplicaId> prev;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view raw;
    uint64_t counter = 0;
    if (!r.Raw(ReplicaId::kSize, raw) || !r.Varint(counter)) return bad("truncated");
    const ReplicaId id = *ReplicaId::FromBytes(raw);
    if (counter == 0) return bad("entry with counter 0");
    if (prev && !(*prev < id)) return bad("entries out of order or repeated");
    prev = id;
    vv.Advance(id, counter);
  }
  if (!r.done()) return bad(std::to_string(r.remaining()) + " trailing bytes");
  return vv;
}

}  // namespace daicho::storage
