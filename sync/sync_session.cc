#include "sync/sync_session.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

namespace daicho::sync {
namespace {

std::string ChangeName(const ChangeBlob& change) {
  return "change " + change.origin.ToHex() + ":" + std::to_string(change.seq);
}

// Kept well under CodecLimits::max_string_bytes so the peer accepts it.
constexpr size_t kMaxWireErrorBytes = 512;

}  // namespace

// Local storage trouble is reported without its details (paths, LMDB
// messages are this side's business, and a relay must not show them to
// clients); everything else is about the peer's own input.
ErrorMessage ErrorForPeer(const Status& status) {
  switch (status.code()) {
    case Code::kIoError:
    case Code::kBusy:
      return {Code::kUnavailable, "the peer cannot use its storage now; try again later"};
    case Code::kInternal:
      return {Code::kInternal, "internal error on the peer"};
    default:
      break;
  }
  std::string message = status.message();
  if (message.size() > kMaxWireErrorBytes) {
    // Cut on a UTF-8 character boundary: the wire field must be valid UTF-8.
    size_t n = kMaxWireErrorBytes;
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
    message.resize(n);
  }
  return {status.code(), std::move(message)};
}

SyncSession::SyncSession(ChangeStore& store, SessionOptions options, ReplicaId local_id)
    : store_(store), options_(std::move(options)), local_id_(local_id) {
  if (options_.role == SessionRole::kInitiator) exchange_ = ExchangesChanges(options_.purpose);
}

void SyncSession::Count(const std::string& frame) {
  ++stats_.frames_sent;
  stats_.frame_bytes_sent += frame.size();
}

void SyncSession::CountExpected(const VersionVector& local) {
  stats_.changes_to_send = local.CountMissingFrom(peer_vv_);
  stats_.changes_to_receive = peer_vv_.CountMissingFrom(local);
}

std::vector<std::string> SyncSession::Fail(Status status, ErrorReason reason) {
  state_ = SessionState::kFailed;
  status_ = status;
  in_flight_.clear();
  ErrorMessage error = ErrorForPeer(status);
  error.reason = reason;
  std::string frame = EncodeFrame(error);
  Count(frame);
  std::vector<std::string> out;
  out.push_back(std::move(frame));
  return out;
}

Result<std::vector<std::string>> SyncSession::Start() {
  if (options_.role != SessionRole::kInitiator || state_ != SessionState::kNew) {
    return Status(Code::kFailedPrecondition, "Start() is for a fresh initiator session");
  }
  auto vv = store_.GetVersionVector();
  if (!vv.ok()) {
    // Nothing was sent yet, so there is no peer to tell.
    state_ = SessionState::kFailed;
    status_ = vv.status().WithContext("reading the local version vector");
    return status_;
  }
  Hello hello;
  hello.protocol_version = options_.protocol_version;
  hello.replica_id = local_id_;
  hello.version_vector = std::move(vv).value();
  hello.purpose = options_.purpose;
  hello.contract = options_.contract;
  hello.user = options_.user;
  hello.credentials = options_.credentials;
  hello.device_name = options_.device_name;
  hello.publish_keys = options_.publish_keys;
  hello.replaces_key_id = options_.replaces_key_id;
  hello.relay_holds = options_.relay_holds;
  hello.max_change_bytes = options_.limits.max_change_bytes;
  hello.unsynced_records = options_.unsynced_records;
  std::string frame = EncodeFrame(hello);
  Count(frame);
  state_ = SessionState::kAwaitingWelcome;
  std::vector<std::string> out;
  out.push_back(std::move(frame));
  return out;
}

Result<std::vector<std::string>> SyncSession::OnFrame(std::string_view frame) {
  if (state_ == SessionState::kFailed) {
    return Status(Code::kFailedPrecondition, "session already failed: " + status_.ToString());
  }
  ++stats_.frames_received;
  stats_.frame_bytes_received += frame.size();
  auto decoded = DecodeFrame(frame, options_.limits);
  if (!decoded.ok()) return Fail(decoded.status());
  // Visits the decoded message in place (a moved-out copy trips GCC 12's
  // -Wmaybe-uninitialized on the variant).
  return std::visit(
      [this](auto&& m) -> std::vector<std::string> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>)
          return HandleHello(std::forward<decltype(m)>(m));
        else if constexpr (std::is_same_v<T, Welcome>)
          return HandleWelcome(std::forward<decltype(m)>(m));
        else if constexpr (std::is_same_v<T, ChangesBatch>)
          return HandleChanges(std::forward<decltype(m)>(m));
        else if constexpr (std::is_same_v<T, ChangePart>)
          return HandleChangePart(std::forward<decltype(m)>(m));
        else if constexpr (std::is_same_v<T, Ack>)
          return HandleAck(std::forward<decltype(m)>(m));
        else
          return HandleError(std::forward<decltype(m)>(m));
      },
      std::move(*decoded));
}

Result<std::vector<std::string>> SyncSession::OnLocalCommit() {
  if (state_ == SessionState::kFailed) {
    return Status(Code::kFailedPrecondition, "session already failed: " + status_.ToString());
  }
  std::vector<std::string> out;
  if (state_ != SessionState::kOpen || !exchange_) return out;
  Pump(out);
  return out;
}

std::vector<std::string> SyncSession::HandleHello(Hello hello) {
  if (options_.role != SessionRole::kAcceptor || state_ != SessionState::kNew) {
    return Fail(ProtocolError("unexpected Hello"));
  }
  // Kept before any check, so that a refused login is logged with whom it
  // named (the server's session line); without its secret, which nothing
  // needs after this call.
  peer_hello_ = hello;
  peer_hello_->credentials = std::monostate();
  if (hello.protocol_version != options_.protocol_version) {
    return Fail(Status(Code::kFailedPrecondition, "protocol version " + std::to_string(hello.protocol_version) +
                                                      " not supported (this side speaks " +
                                                      std::to_string(options_.protocol_version) + ")"));
  }
  if (hello.replica_id == local_id_) {
    return Fail(ProtocolError("peer has this side's own replica id " + local_id_.ToHex()));
  }
  Admission admission;
  if (options_.authenticate) {
    auto granted = options_.authenticate(hello);
    if (!granted.ok()) {
      // A refused device token is the PC's saved login, not a typed password:
      // the PC learns to stop using it.
      const bool token_refused = std::holds_alternative<DeviceTokenCredential>(hello.credentials) &&
                                 granted.status().code() == Code::kUnauthenticated;
      return Fail(granted.status(), token_refused ? ErrorReason::kLoginRevoked : ErrorReason::kNone);
    }
    admission = std::move(granted).value();
  }
  auto vv = store_.GetVersionVector();
  if (!vv.ok()) return Fail(vv.status().WithContext("reading the local version vector"));

  exchange_ = ExchangesChanges(hello.purpose);
  peer_vv_ = hello.version_vector;
  send_cursor_ = peer_vv_;
  BeginExchange(hello.purpose, *vv, hello.version_vector, hello.max_change_bytes);
  state_ = SessionState::kOpen;
  CountExpected(*vv);

  uploads_refused_ = admission.uploads_refused;
  if (uploads_refused_) {
    upload_refusal_ = Status(Code::kPermissionDenied, admission.entitlements.backup.message_ja + " / " +
                                                          admission.entitlements.backup.message_en);
  }
  std::string welcome = EncodeFrame(
      Welcome{options_.protocol_version, local_id_, std::move(vv).value(), std::move(admission.device_token),
              std::move(admission.office_keys), std::move(admission.relay_holds), std::move(admission.contract),
              options_.limits.max_change_bytes, std::move(admission.entitlements), admission.uploads_refused});
  Count(welcome);
  std::vector<std::string> out;
  out.push_back(std::move(welcome));
  if (exchange_) Pump(out);  // on failure `out` is the Error frame
  return out;
}

Admission AdmissionFromWelcome(const Welcome& welcome) {
  return Admission{welcome.device_token, welcome.office_keys,  welcome.relay_holds,
                   welcome.contract,     welcome.entitlements, welcome.uploads_refused};
}

std::vector<std::string> SyncSession::HandleWelcome(Welcome welcome) {
  if (options_.role != SessionRole::kInitiator || state_ != SessionState::kAwaitingWelcome) {
    return Fail(ProtocolError("unexpected Welcome"));
  }
  if (welcome.protocol_version != options_.protocol_version) {
    return Fail(Status(Code::kFailedPrecondition, "peer answered protocol version " +
                                                      std::to_string(welcome.protocol_version) + ", this side speaks " +
                                                      std::to_string(options_.protocol_version)));
  }
  if (welcome.replica_id == local_id_) {
    return Fail(ProtocolError("peer has this side's own replica id " + local_id_.ToHex()));
  }
  if (options_.on_welcome) {
    // Before any change moves: e.g. the office key must be current.
    const Status accepted = options_.on_welcome(welcome);
    if (!accepted.ok()) return Fail(accepted);
  }
  peer_vv_ = welcome.version_vector;
  send_cursor_ = peer_vv_;
  state_ = SessionState::kOpen;
  uploads_refused_ = welcome.uploads_refused;
  std::vector<std::string> out;
  if (exchange_) {
    auto vv = store_.GetVersionVector();
    if (!vv.ok()) return Fail(vv.status().WithContext("reading the local version vector"));
    BeginExchange(options_.purpose, *vv, welcome.version_vector, welcome.max_change_bytes);
    CountExpected(*vv);
  }
  welcome_ = std::move(welcome);
  if (exchange_) Pump(out);
  return out;
}

void SyncSession::BeginExchange(Purpose purpose, const VersionVector& local, const VersionVector& peer,
                                uint64_t peer_max_change_bytes) {
  one_shot_ = purpose == Purpose::kSync;
  start_vv_ = local;
  peer_start_vv_ = peer;
  peer_max_change_bytes_ = peer_max_change_bytes;
}

std::vector<std::string> SyncSession::HandleChanges(ChangesBatch batch) {
  if (state_ != SessionState::kOpen) return Fail(ProtocolError("Changes before the handshake"));
  if (!exchange_) return Fail(ProtocolError("Changes in a session that exchanges none"));
  if (receiving_) return Fail(ProtocolError("Changes while " + ChangeName(receiving_->change) + " is half received"));
  if (uploads_refused_ && options_.role == SessionRole::kAcceptor) return Fail(upload_refusal_);
  if (batch.batch_id != last_received_batch_id_ + 1) {
    return Fail(ProtocolError("batch " + std::to_string(batch.batch_id) + " out of order (expected " +
                              std::to_string(last_received_batch_id_ + 1) + ")"));
  }
  // The store rejects a gap as a whole (kProtocolError) and ignores
  // duplicates, so a resent or overlapping batch is harmless.
  Status applied = store_.Apply(batch.changes);
  if (!applied.ok()) {
    return Fail(applied.WithContext("applying batch " + std::to_string(batch.batch_id)));
  }
  last_received_batch_id_ = batch.batch_id;
  ++stats_.batches_received;
  stats_.changes_received += batch.changes.size();
  for (const ChangeBlob& c : batch.changes) {
    stats_.payload_bytes_received += c.payload.size();
    // The peer holds what it sends (a store holds per-origin prefixes):
    // without this, a live change of the peer would be echoed back to it
    // and InSync() would wait for an ack that never comes.
    peer_vv_.Advance(c.origin, c.seq);
    send_cursor_.Advance(c.origin, c.seq);
  }

  // Acked only now that the batch is durable: the peer may forget it.
  auto vv = store_.GetVersionVector();
  if (!vv.ok()) return Fail(vv.status().WithContext("reading the local version vector"));
  std::string ack = EncodeFrame(Ack{batch.batch_id, std::move(vv).value()});
  Count(ack);
  std::vector<std::string> out;
  out.push_back(std::move(ack));
  return out;
}

std::vector<std::string> SyncSession::HandleChangePart(ChangePart part) {
  if (state_ != SessionState::kOpen) return Fail(ProtocolError("ChangePart before the handshake"));
  if (!exchange_) return Fail(ProtocolError("ChangePart in a session that exchanges none"));
  if (uploads_refused_ && options_.role == SessionRole::kAcceptor) return Fail(upload_refusal_);
  if (!receiving_) {
    if (part.batch_id != last_received_batch_id_ + 1) {
      return Fail(ProtocolError("batch " + std::to_string(part.batch_id) + " out of order (expected " +
                                std::to_string(last_received_batch_id_ + 1) + ")"));
    }
    if (part.offset != 0) return Fail(ProtocolError("a change's first part at offset " + std::to_string(part.offset)));
    // The codec bounded total_bytes by our max_change_bytes, and each part
    // by what is left of it: the pieces never take more.
    receiving_ = Receiving{part.batch_id, part.total_bytes, ChangeBlob{part.origin, part.seq, {}}};
  } else if (part.batch_id != receiving_->batch_id || part.origin != receiving_->change.origin ||
             part.seq != receiving_->change.seq || part.total_bytes != receiving_->total_bytes ||
             part.offset != receiving_->change.payload.size()) {
    return Fail(ProtocolError("a part of " + ChangeName(ChangeBlob{part.origin, part.seq, {}}) + " at offset " +
                              std::to_string(part.offset) + " while " + ChangeName(receiving_->change) + " has " +
                              std::to_string(receiving_->change.payload.size()) + " bytes"));
  }
  receiving_->change.payload += part.data;
  if (receiving_->change.payload.size() < receiving_->total_bytes) return {};
  ChangesBatch whole;
  whole.batch_id = receiving_->batch_id;
  whole.changes.push_back(std::move(receiving_->change));
  receiving_.reset();
  return HandleChanges(std::move(whole));
}

std::vector<std::string> SyncSession::HandleAck(Ack ack) {
  if (state_ != SessionState::kOpen) return Fail(ProtocolError("Ack before the handshake"));
  if (in_flight_.empty() || in_flight_.front().batch_id != ack.batch_id) {
    return Fail(ProtocolError("Ack of batch " + std::to_string(ack.batch_id) + " that is not the oldest in flight"));
  }
  const InFlight& acked = in_flight_.front();
  if (!ack.version_vector.Dominates(acked.covers)) {
    return Fail(ProtocolError("Ack of batch " + std::to_string(ack.batch_id) + " does not cover it"));
  }
  ++stats_.batches_acked;
  stats_.changes_acked += acked.changes;
  in_flight_.pop_front();
  // The peer may also hold changes from elsewhere (another device through
  // the relay): never send those.
  peer_vv_.Join(ack.version_vector);
  send_cursor_.Join(ack.version_vector);
  std::vector<std::string> out;
  Pump(out);
  return out;
}

std::vector<std::string> SyncSession::HandleError(ErrorMessage error) {
  state_ = SessionState::kFailed;
  status_ = Status(error.code, "peer reported: " + error.message);
  in_flight_.clear();
  peer_error_ = std::move(error);
  return {};
}

std::vector<std::string> SyncSession::End(Status why, ErrorReason reason) {
  if (state_ == SessionState::kFailed) return {};
  return Fail(std::move(why), reason);
}

bool SyncSession::Pump(std::vector<std::string>& out) {
  // The relay stores nothing of ours: send nothing (it would end the session).
  if (uploads_refused_ && options_.role == SessionRole::kInitiator) return true;
  const size_t max_in_flight = std::max<size_t>(1, options_.max_in_flight_batches);
  while (in_flight_.size() < max_in_flight) {
    // A one-shot sync sends what was held at the handshake: what other
    // processes commit meanwhile must not keep it going (the next sync
    // takes it).
    auto changes = store_.ChangesSince(send_cursor_, options_.max_batch_bytes, one_shot_ ? &start_vv_ : nullptr);
    if (!changes.ok()) {
      out = Fail(changes.status().WithContext("reading changes to send"));
      return false;
    }
    if (changes->empty()) return true;

    // Any prefix of the list is a prefix of each origin's run (ascending
    // per origin), so trimming to fit the peer's limits never makes a gap.
    ChangesBatch batch;
    batch.batch_id = next_batch_id_;
    batch.changes = std::move(changes).value();
    if (batch.changes.size() > options_.limits.max_changes_per_batch) {
      batch.changes.resize(std::max<size_t>(1, options_.limits.max_changes_per_batch));
    }
    std::string frame = EncodeFrame(batch);
    while (frame.size() > options_.limits.max_frame_bytes && batch.changes.size() > 1) {
      batch.changes.resize(batch.changes.size() / 2);
      frame = EncodeFrame(batch);
    }
    std::vector<std::string> frames;
    if (frame.size() <= options_.limits.max_frame_bytes) {
      frames.push_back(std::move(frame));
    } else {
      // One change larger than a frame (committed by an older daicho).
      auto parts = EncodeParts(batch.batch_id, batch.changes.front());
      if (!parts.ok()) {
        out = Fail(parts.status());
        return false;
      }
      frames = std::move(parts).value();
    }

    InFlight sent{batch.batch_id, {}, batch.changes.size()};
    for (const ChangeBlob& c : batch.changes) {
      sent.covers.Advance(c.origin, c.seq);
      send_cursor_.Advance(c.origin, c.seq);
      stats_.payload_bytes_sent += c.payload.size();
    }
    ++next_batch_id_;
    ++stats_.batches_sent;
    stats_.changes_sent += batch.changes.size();
    in_flight_.push_back(std::move(sent));
    for (std::string& f : frames) {
      Count(f);
      out.push_back(std::move(f));
    }
  }
  return true;
}

Result<std::vector<std::string>> SyncSession::EncodeParts(uint64_t batch_id, const ChangeBlob& change) const {
  const size_t max_frame = options_.limits.max_frame_bytes;
  if (change.payload.size() > peer_max_change_bytes_) {
    return Status(Code::kResourceExhausted,
                  peer_max_change_bytes_ == 0
                      ? ChangeName(change) + " of " + std::to_string(change.payload.size()) +
                            " bytes does not fit one frame of " + std::to_string(max_frame) +
                            " bytes, and the peer runs an older daicho that cannot receive it in parts: "
                            "update daicho there, then sync again"
                      : ChangeName(change) + " of " + std::to_string(change.payload.size()) +
                            " bytes is larger than the " + std::to_string(peer_max_change_bytes_) +
                            " bytes the peer accepts");
  }
  ChangePart part{batch_id, change.origin, change.seq, change.payload.size(), 0, {}};
  // The empty part's frame, plus room for the data field's tag and length
  // and for the offset and the frame's own length growing.
  const size_t framing = EncodeFrame(part).size() + 32;
  if (framing >= max_frame) {
    return Status(Code::kResourceExhausted, "a frame limit of " + std::to_string(max_frame) +
                                                " bytes leaves no room for a part of " + ChangeName(change));
  }
  const size_t room = max_frame - framing;
  std::vector<std::string> frames;
  for (size_t offset = 0; offset < change.payload.size(); offset += room) {
    part.offset = offset;
    part.data.assign(change.payload, offset, room);
    frames.push_back(EncodeFrame(part));
  }
  return frames;
}

bool SyncSession::InSync() {
  if (state_ != SessionState::kOpen || !in_flight_.empty() || receiving_) return false;
  auto vv = store_.GetVersionVector();
  if (!vv.ok()) return false;
  // One-shot: what both held at the handshake, however much either side
  // gained since (comparing with a store that other processes keep writing
  // would never end). Live: everything we hold now, too.
  const bool sent_all =
      (uploads_refused_ && options_.role == SessionRole::kInitiator) || peer_vv_.Dominates(one_shot_ ? start_vv_ : *vv);
  return sent_all && vv->Dominates(peer_start_vv_);
}

}  // namespace daicho::sync
