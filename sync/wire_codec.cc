#include "sync/wire_codec.h"

#include <climits>
#include <type_traits>
#include <utility>

#include "sync/proto/sync.pb.h"

namespace daicho::sync {
namespace {

namespace pb = ::daicho::wire::v1;

Status Bad(std::string what) { return {Code::kProtocolError, "bad frame: " + std::move(what)}; }
Status TooBig(std::string what) { return {Code::kResourceExhausted, "frame too large: " + std::move(what)}; }

void PutVersionVector(const VersionVector& vv, pb::VersionVector* out) {
  out->mutable_replica_ids()->Reserve(static_cast<int>(vv.size()));
  out->mutable_counters()->Reserve(static_cast<int>(vv.size()));
  for (const VersionVector::Entry& e : vv.entries()) {
    out->add_replica_ids(std::string(e.replica.AsStringView()));
    out->add_counters(e.counter);
  }
}

// A replica id from the wire: exactly 16 bytes, not the all-zero "no replica".
Result<ReplicaId> GetReplicaId(const std::string& raw, std::string_view field) {
  if (raw.size() != ReplicaId::kSize) {
    return Bad(std::string(field) + " is " + std::to_string(raw.size()) + " bytes, not 16");
  }
  auto id = ReplicaId::FromBytes(raw);
  if (!id.ok() || id->IsZero()) return Bad(std::string(field) + " is not a valid replica id");
  return std::move(id).value();
}

Result<VersionVector> GetVersionVector(const pb::VersionVector& in, const CodecLimits& limits, std::string_view field) {
  const size_t n = static_cast<size_t>(in.replica_ids_size());
  if (n > limits.max_version_vector_entries) {
    return TooBig(std::string(field) + " has " + std::to_string(n) + " entries");
  }
  if (static_cast<size_t>(in.counters_size()) != n) {
    return Bad(std::string(field) + ": replica_ids and counters differ in length");
  }
  VersionVector vv;
  for (size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(i);
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, GetReplicaId(in.replica_ids(k), field));
    if (in.counters(k) == 0) return Bad(std::string(field) + " has a zero counter");
    // A repeated id would make the meaning ambiguous (which counter wins?).
    if (vv.Get(id) != 0) return Bad(std::string(field) + " names a replica twice");
    vv.Advance(id, in.counters(k));
  }
  return vv;
}

Status CheckBytes(const std::string& s, const CodecLimits& limits, std::string_view field) {
  if (s.size() > limits.max_string_bytes) {
    return TooBig(std::string(field) + " is " + std::to_string(s.size()) + " bytes");
  }
  return Status::Ok();
}

// Text travels as proto `bytes` so that bad UTF-8 is our clear error, not a
// protobuf log line.
Status CheckString(const std::string& s, const CodecLimits& limits, std::string_view field) {
  DAICHO_RETURN_IF_ERROR(CheckBytes(s, limits, field));
  if (!IsValidUtf8(s)) return Bad(std::string(field) + " is not valid UTF-8");
  return Status::Ok();
}

// Wrapped keys are a few hundred bytes; the key ring grows by 36 bytes per
// rotation, so it gets more room.
constexpr size_t kMaxEnvelopeBytes = 4096;
constexpr size_t kMaxSealedRingBytes = 1u << 20;

void PutOfficeKeys(const crypto::WrappedOfficeKey& keys, pb::OfficeKeys* out) {
  out->set_current_key_id(keys.current_key_id);
  out->set_passphrase_wrapped(keys.passphrase_wrapped);
  out->set_recovery_wrapped(keys.recovery_wrapped);
  out->set_sealed_ring(keys.sealed_ring);
}

Result<crypto::WrappedOfficeKey> GetOfficeKeys(const pb::OfficeKeys& in, std::string_view field) {
  crypto::WrappedOfficeKey keys;
  keys.current_key_id = in.current_key_id();
  if (in.passphrase_wrapped().size() > kMaxEnvelopeBytes || in.recovery_wrapped().size() > kMaxEnvelopeBytes ||
      in.sealed_ring().size() > kMaxSealedRingBytes) {
    return TooBig(std::string(field) + " envelopes");
  }
  const bool empty = in.passphrase_wrapped().empty() && in.recovery_wrapped().empty() && in.sealed_ring().empty();
  if (keys.current_key_id == 0 ? !empty : in.passphrase_wrapped().empty()) {
    return Bad(std::string(field) + ": key id and envelopes do not match");
  }
  keys.passphrase_wrapped = in.passphrase_wrapped();
  keys.recovery_wrapped = in.recovery_wrapped();
  keys.sealed_ring = in.sealed_ring();
  return keys;
}

Result<Message> GetHello(const pb::Hello& in, const CodecLimits& limits) {
  Hello h;
  h.protocol_version = in.protocol_version();
  DAICHO_ASSIGN_OR_RETURN(h.replica_id, GetReplicaId(in.replica_id(), "hello.replica_id"));
  DAICHO_ASSIGN_OR_RETURN(h.version_vector, GetVersionVector(in.version_vector(), limits, "hello.version_vector"));
  switch (in.purpose()) {
    case pb::PURPOSE_UNSPECIFIED:
    case pb::PURPOSE_SYNC:
      h.purpose = Purpose::kSync;
      break;
    case pb::PURPOSE_WATCH:
      h.purpose = Purpose::kWatch;
      break;
    case pb::PURPOSE_CONNECT_TEST:
      h.purpose = Purpose::kConnectTest;
      break;
    case pb::PURPOSE_PUBLISH_KEYS:
      h.purpose = Purpose::kPublishKeys;
      break;
    default:
      return Bad("hello.purpose " + std::to_string(in.purpose()) + " is unknown");
  }
  DAICHO_RETURN_IF_ERROR(CheckString(in.contract(), limits, "hello.contract"));
  DAICHO_RETURN_IF_ERROR(CheckString(in.user(), limits, "hello.user"));
  h.contract = in.contract();
  h.user = in.user();
  switch (in.credentials_case()) {
    case pb::Hello::kPassword:
      DAICHO_RETURN_IF_ERROR(CheckString(in.password(), limits, "hello.password"));
      h.credentials = PasswordCredential{in.password()};
      break;
    case pb::Hello::kDeviceToken:
      DAICHO_RETURN_IF_ERROR(CheckBytes(in.device_token(), limits, "hello.device_token"));
      h.credentials = DeviceTokenCredential{in.device_token()};
      break;
    case pb::Hello::CREDENTIALS_NOT_SET:
      break;
  }
  DAICHO_RETURN_IF_ERROR(CheckString(in.device_name(), limits, "hello.device_name"));
  h.device_name = in.device_name();
  DAICHO_ASSIGN_OR_RETURN(h.publish_keys, GetOfficeKeys(in.publish_keys(), "hello.publish_keys"));
  h.replaces_key_id = in.replaces_key_id();
  DAICHO_ASSIGN_OR_RETURN(h.relay_holds, GetVersionVector(in.relay_holds(), limits, "hello.relay_holds"));
  if (h.purpose == Purpose::kPublishKeys && h.publish_keys.empty()) return Bad("hello publishes no office key");
  h.max_change_bytes = in.max_change_bytes();
  if (in.has_unsynced_records()) h.unsynced_records = in.unsynced_records();
  return Message(std::move(h));
}

Result<OptionEntitlement> GetOptionEntitlement(const pb::OptionEntitlement& in, const CodecLimits& limits,
                                               const std::string& what) {
  if (in.state() > kMaxOptionState) return Bad(what + ".state " + std::to_string(in.state()) + " is unknown");
  DAICHO_RETURN_IF_ERROR(CheckString(in.message_ja(), limits, what + ".message_ja"));
  DAICHO_RETURN_IF_ERROR(CheckString(in.message_en(), limits, what + ".message_en"));
  return OptionEntitlement{static_cast<OptionState>(in.state()), in.shortfall(), in.fee_yen(), in.message_ja(),
                           in.message_en()};
}

Result<Entitlements> GetEntitlements(const pb::Entitlements& in, const CodecLimits& limits) {
  Entitlements out;
  out.managed = in.managed();
  out.evaluated_ms = in.evaluated_ms();
  out.valid_until_ms = in.valid_until_ms();
  DAICHO_ASSIGN_OR_RETURN(out.backup, GetOptionEntitlement(in.backup(), limits, "welcome.entitlements.backup"));
  DAICHO_ASSIGN_OR_RETURN(out.billing, GetOptionEntitlement(in.billing(), limits, "welcome.entitlements.billing"));
  return out;
}

void PutOptionEntitlement(const OptionEntitlement& in, pb::OptionEntitlement* out) {
  out->set_state(static_cast<uint32_t>(in.state));
  out->set_shortfall(in.shortfall);
  out->set_fee_yen(in.fee_yen);
  out->set_message_ja(in.message_ja);
  out->set_message_en(in.message_en);
}

Result<Message> GetWelcome(const pb::Welcome& in, const CodecLimits& limits) {
  Welcome w;
  w.protocol_version = in.protocol_version();
  DAICHO_ASSIGN_OR_RETURN(w.replica_id, GetReplicaId(in.replica_id(), "welcome.replica_id"));
  DAICHO_ASSIGN_OR_RETURN(w.version_vector, GetVersionVector(in.version_vector(), limits, "welcome.version_vector"));
  DAICHO_RETURN_IF_ERROR(CheckBytes(in.device_token(), limits, "welcome.device_token"));
  w.device_token = in.device_token();
  DAICHO_ASSIGN_OR_RETURN(w.office_keys, GetOfficeKeys(in.office_keys(), "welcome.office_keys"));
  DAICHO_ASSIGN_OR_RETURN(w.relay_holds, GetVersionVector(in.relay_holds(), limits, "welcome.relay_holds"));
  DAICHO_RETURN_IF_ERROR(CheckString(in.contract(), limits, "welcome.contract"));
  w.contract = in.contract();
  w.max_change_bytes = in.max_change_bytes();
  DAICHO_ASSIGN_OR_RETURN(w.entitlements, GetEntitlements(in.entitlements(), limits));
  w.uploads_refused = in.uploads_refused();
  return Message(std::move(w));
}

Result<Message> GetChanges(pb::Changes* in, const CodecLimits& limits) {
  const size_t n = static_cast<size_t>(in->changes_size());
  if (n > limits.max_changes_per_batch) {
    return TooBig("batch of " + std::to_string(n) + " changes");
  }
  if (n == 0) return Bad("empty changes batch");
  if (in->batch_id() == 0) return Bad("changes.batch_id is 0");
  ChangesBatch b;
  b.batch_id = in->batch_id();
  b.changes.reserve(n);
  for (pb::Change& c : *in->mutable_changes()) {
    DAICHO_ASSIGN_OR_RETURN(ReplicaId origin, GetReplicaId(c.origin(), "change.origin"));
    if (c.seq() == 0) return Bad("change.seq is 0");
    // Payloads can be large: move them out of the parsed message.
    b.changes.push_back(ChangeBlob{origin, c.seq(), std::move(*c.mutable_payload())});
  }
  return Message(std::move(b));
}

Result<Message> GetChangePart(pb::ChangePart* in, const CodecLimits& limits) {
  ChangePart p;
  if (in->batch_id() == 0) return Bad("change_part.batch_id is 0");
  p.batch_id = in->batch_id();
  DAICHO_ASSIGN_OR_RETURN(p.origin, GetReplicaId(in->origin(), "change_part.origin"));
  if (in->seq() == 0) return Bad("change_part.seq is 0");
  p.seq = in->seq();
  // The receiver holds the pieces until the change is whole: its size is
  // bounded before any piece is kept.
  if (in->total_bytes() > limits.max_change_bytes) {
    return TooBig("change " + p.origin.ToHex() + ":" + std::to_string(p.seq) + " of " +
                  std::to_string(in->total_bytes()) + " bytes, limit " + std::to_string(limits.max_change_bytes));
  }
  p.total_bytes = in->total_bytes();
  p.offset = in->offset();
  if (in->data().empty()) return Bad("change_part.data is empty");
  if (p.offset > p.total_bytes || in->data().size() > p.total_bytes - p.offset) {
    return Bad("change_part runs past its change's " + std::to_string(p.total_bytes) + " bytes");
  }
  p.data = std::move(*in->mutable_data());
  return Message(std::move(p));
}

Result<Message> GetAck(const pb::Ack& in, const CodecLimits& limits) {
  Ack a;
  if (in.batch_id() == 0) return Bad("ack.batch_id is 0");
  a.batch_id = in.batch_id();
  DAICHO_ASSIGN_OR_RETURN(a.version_vector, GetVersionVector(in.version_vector(), limits, "ack.version_vector"));
  return Message(std::move(a));
}

Result<Message> GetError(const pb::Error& in, const CodecLimits& limits) {
  // Reject codes outside the enum so a caller can switch on them safely.
  if (in.code() == 0 || in.code() > static_cast<uint32_t>(Code::kInternal)) {
    return Bad("error.code " + std::to_string(in.code()) + " is not a daicho code");
  }
  DAICHO_RETURN_IF_ERROR(CheckString(in.message(), limits, "error.message"));
  // A reason this build does not know is as good as none.
  ErrorReason reason = ErrorReason::kNone;
  if (in.reason() == pb::ERROR_REASON_LOGIN_REVOKED) reason = ErrorReason::kLoginRevoked;
  if (in.reason() == pb::ERROR_REASON_ENTITLEMENT_CHANGED) reason = ErrorReason::kEntitlementChanged;
  return Message(ErrorMessage{static_cast<Code>(in.code()), in.message(), reason});
}

}  // namespace

std::string EncodeFrame(const Message& message) {
  pb::Frame frame;
  std::visit(
      [&frame](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>) {
          pb::Hello* out = frame.mutable_hello();
          out->set_protocol_version(m.protocol_version);
          out->set_replica_id(std::string(m.replica_id.AsStringView()));
          PutVersionVector(m.version_vector, out->mutable_version_vector());
          out->set_purpose(static_cast<pb::Purpose>(m.purpose));
          out->set_contract(m.contract);
          out->set_user(m.user);
          if (const auto* p = std::get_if<PasswordCredential>(&m.credentials)) {
            out->set_password(p->password);
          } else if (const auto* t = std::get_if<DeviceTokenCredential>(&m.credentials)) {
            out->set_device_token(t->token);
          }
          out->set_device_name(m.device_name);
          if (!m.publish_keys.empty()) PutOfficeKeys(m.publish_keys, out->mutable_publish_keys());
          out->set_replaces_key_id(m.replaces_key_id);
          if (!m.relay_holds.empty()) PutVersionVector(m.relay_holds, out->mutable_relay_holds());
          out->set_contract(m.contract);
          out->set_max_change_bytes(m.max_change_bytes);
          if (m.unsynced_records) out->set_unsynced_records(*m.unsynced_records);
        } else if constexpr (std::is_same_v<T, Welcome>) {
          pb::Welcome* out = frame.mutable_welcome();
          out->set_protocol_version(m.protocol_version);
          out->set_replica_id(std::string(m.replica_id.AsStringView()));
          PutVersionVector(m.version_vector, out->mutable_version_vector());
          out->set_device_token(m.device_token);
          if (!m.office_keys.empty()) PutOfficeKeys(m.office_keys, out->mutable_office_keys());
          if (!m.relay_holds.empty()) PutVersionVector(m.relay_holds, out->mutable_relay_holds());
          out->set_contract(m.contract);
          out->set_max_change_bytes(m.max_change_bytes);
          if (m.entitlements != Entitlements()) {
            pb::Entitlements* e = out->mutable_entitlements();
            e->set_managed(m.entitlements.managed);
            e->set_evaluated_ms(m.entitlements.evaluated_ms);
            e->set_valid_until_ms(m.entitlements.valid_until_ms);
            PutOptionEntitlement(m.entitlements.backup, e->mutable_backup());
            PutOptionEntitlement(m.entitlements.billing, e->mutable_billing());
          }
          out->set_uploads_refused(m.uploads_refused);
        } else if constexpr (std::is_same_v<T, ChangesBatch>) {
          pb::Changes* out = frame.mutable_changes();
          out->set_batch_id(m.batch_id);
          out->mutable_changes()->Reserve(static_cast<int>(m.changes.size()));
          for (const ChangeBlob& c : m.changes) {
            pb::Change* pc = out->add_changes();
            pc->set_origin(std::string(c.origin.AsStringView()));
            pc->set_seq(c.seq);
            pc->set_payload(c.payload);
          }
        } else if constexpr (std::is_same_v<T, ChangePart>) {
          pb::ChangePart* out = frame.mutable_change_part();
          out->set_batch_id(m.batch_id);
          out->set_origin(std::string(m.origin.AsStringView()));
          out->set_seq(m.seq);
          out->set_total_bytes(m.total_bytes);
          out->set_offset(m.offset);
          out->set_data(m.data);
        } else if constexpr (std::is_same_v<T, Ack>) {
          pb::Ack* out = frame.mutable_ack();
          out->set_batch_id(m.batch_id);
          PutVersionVector(m.version_vector, out->mutable_version_vector());
        } else {
          static_assert(std::is_same_v<T, ErrorMessage>);
          pb::Error* out = frame.mutable_error();
          out->set_code(static_cast<uint32_t>(m.code));
          out->set_message(m.message);
          if (m.reason == ErrorReason::kLoginRevoked) out->set_reason(pb::ERROR_REASON_LOGIN_REVOKED);
          if (m.reason == ErrorReason::kEntitlementChanged) out->set_reason(pb::ERROR_REASON_ENTITLEMENT_CHANGED);
        }
      },
      message);
  return frame.SerializeAsString();
}

Result<Message> DecodeFrame(std::string_view frame, const CodecLimits& limits) {
  // Before parsing: the parser would otherwise allocate for whatever the
  // peer claims, and protobuf takes sizes as int.
  if (frame.size() > limits.max_frame_bytes || frame.size() > static_cast<size_t>(INT_MAX)) {
    return TooBig(std::to_string(frame.size()) + " bytes, limit " + std::to_string(limits.max_frame_bytes));
  }
  pb::Frame msg;
  if (!msg.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Bad("not a valid frame encoding");
  }
  switch (msg.body_case()) {
    case pb::Frame::kHello:
      return GetHello(msg.hello(), limits);
    case pb::Frame::kWelcome:
      return GetWelcome(msg.welcome(), limits);
    case pb::Frame::kChanges:
      return GetChanges(msg.mutable_changes(), limits);
    case pb::Frame::kAck:
      return GetAck(msg.ack(), limits);
    case pb::Frame::kError:
      return GetError(msg.error(), limits);
    case pb::Frame::kChangePart:
      return GetChangePart(msg.mutable_change_part(), limits);
    case pb::Frame::BODY_NOT_SET:
      break;
  }
  return Bad("frame has no message");
}

}  // namespace daicho::sync
