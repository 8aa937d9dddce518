// SyncSession: one side of one sync connection, as a state machine without
// I/O. Frames (bytes of one WebSocket binary message each) go in through
// OnFrame; the frames to send come out as return values. The transport only
// moves bytes, so tests drive two sessions through an in-memory pipe.
//
// Protocol (docs/protocol.md):
//   initiator: Start() -> Hello{version, id, VV, credentials}
//   acceptor:  Hello   -> Welcome{version, id, VV} (or Error: version, auth)
//   then both directions at once: each side sends, in Changes batches of at
//   most max_batch_bytes of payload (at least one change), what the peer's
//   VV lacks, with at most max_in_flight_batches unacknowledged. A change
//   larger than a frame (committed by an older daicho) is a batch of its own
//   in ChangePart frames, if the peer announced it accepts that size; the
//   receiver holds at most one such change in pieces. The receiver applies a
//   batch durably (ChangeStore::Apply) and only then answers Ack{batch_id,
//   its VV}; the sender advances its view of the peer on each Ack and sends
//   more. A one-shot sync (Purpose::kSync) sends, on both sides, only what
//   the store held at the handshake, so it ends however fast other processes
//   commit (InSync); otherwise the session stays open after catch-up: call
//   OnLocalCommit() whenever the store gained changes to push them live.
//   A new session after a cut starts again from the VVs of Hello/Welcome, so
//   acknowledged batches are never resent.
//
// Failure: any rule broken by the peer (bad frame, unexpected message, gap,
// bad ack), a refused handshake or a store error ends the session: the call
// returns the Error frame to send, state() becomes kFailed and status() says
// why (the transport sends the frames, then closes). An Error received from
// the peer also ends it, with the peer's code. Codes in status():
// kProtocolError, kResourceExhausted, kCorruption (bad payload), kFailedPrecondition
// (version mismatch), kUnauthenticated/kPermissionDenied (from authenticate;
// a refused device token goes out with ErrorReason::kLoginRevoked),
// store codes (kIoError...). The peer is told the code and message, except
// that local storage trouble goes out as kUnavailable/kInternal without
// details, and messages are cut to 512 bytes. Calling OnFrame/OnLocalCommit on
// a failed session returns kFailedPrecondition. A connect test
// (Purpose::kConnectTest) succeeded when state() is kOpen after the Welcome;
// no changes flow in one.
//
// Ownership and threading: borrows the ChangeStore (must outlive the session).
// Not thread-safe: call from one thread (or strand) at a time.
#ifndef DAICHO_SYNC_SYNC_SESSION_H_
#define DAICHO_SYNC_SYNC_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"
#include "sync/change_store.h"
#include "sync/messages.h"
#include "sync/wire_codec.h"

namespace daicho::sync {

// The Error frame's content telling the peer why a session (or a handshake
// before it) failed: the code and message, cut to 512 bytes on a UTF-8
// boundary, without details of this side's storage trouble.
ErrorMessage ErrorForPeer(const Status& status);

enum class SessionRole {
  kInitiator,  // sends Hello (the PC connecting)
  kAcceptor,   // answers Welcome (the relay, or the PC being connected to)
};

// What an acceptor's authenticate step grants a peer it accepted.
struct Admission {
  // Sent in the Welcome: a device token issued on the Hello's device_name
  // request (empty: none).
  std::string device_token;
  // Sent in the Welcome: a relay's copy of the contract's office key.
  crypto::WrappedOfficeKey office_keys;
  // Sent in the Welcome between PCs: what this PC knows the relay holds.
  VersionVector relay_holds;
  // Sent in the Welcome with a handed-out office key envelope.
  std::string contract;
  // Sent in the Welcome by a relay: the contract's licence entitlements ...
  Entitlements entitlements;
  // ... and whether they refuse the PC's uploads: the session only
  // downloads, and changes the peer sends anyway end it with Error
  // permission_denied saying why (entitlements.backup's messages).
  bool uploads_refused = false;
};

// What `welcome` carried of its acceptor's Admission.
Admission AdmissionFromWelcome(const Welcome& welcome);

struct SessionOptions {
  SessionRole role = SessionRole::kInitiator;
  // Protocol version sent and required of the peer.
  uint32_t protocol_version = kProtocolVersion;
  // Payload bytes per Changes batch (one larger change still goes alone).
  size_t max_batch_bytes = 1u << 20;
  // Changes batches sent but not yet acknowledged, at most (backpressure).
  size_t max_in_flight_batches = 4;
  // Limits on frames received and sent (max frame size, counts).
  CodecLimits limits;
  // Initiator: why it connects, and its login (relay only).
  Purpose purpose = Purpose::kSync;
  std::string contract;
  std::string user;
  Credentials credentials;
  // Initiator, with a password: ask the relay for a device token for this PC
  // name (see Welcome::device_token). Empty: none.
  std::string device_name;
  // Initiator, Purpose::kPublishKeys: the office key the relay is to store in
  // place of the one with id `replaces_key_id` (0: none yet).
  crypto::WrappedOfficeKey publish_keys;
  uint32_t replaces_key_id = 0;
  // Initiator, between PCs: what this PC knows the relay holds.
  VersionVector relay_holds;
  // Initiator, relay sync: the PC's records the relay lacks (Hello field).
  std::optional<uint64_t> unsynced_records;
  // Initiator: checks the Welcome before any change moves; an error ends the
  // session (and is sent to the peer). Empty: every Welcome is accepted.
  std::function<Status(const Welcome&)> on_welcome;
  // Acceptor: checks a Hello before Welcome; an error (typically
  // kUnauthenticated) is sent as the Error. Empty: everyone is accepted.
  std::function<Result<Admission>(const Hello&)> authenticate;
};

enum class SessionState {
  kNew,              // initiator before Start(); acceptor waiting for Hello
  kAwaitingWelcome,  // initiator: Hello sent
  kOpen,             // handshake done: syncing and live
  kFailed,           // ended by an Error (sent or received); see status()
};

// What went over the session, for progress display and logs.
struct SessionStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t frame_bytes_sent = 0;  // encoded frames, all kinds
  uint64_t frame_bytes_received = 0;
  uint64_t changes_sent = 0;
  uint64_t changes_received = 0;    // including duplicates
  uint64_t payload_bytes_sent = 0;  // change payloads only
  uint64_t payload_bytes_received = 0;
  uint64_t batches_sent = 0;
  uint64_t batches_received = 0;
  uint64_t batches_acked = 0;  // of ours, by the peer
  uint64_t changes_acked = 0;
  // Known at the handshake from the two version vectors: how many changes
  // the catch-up will send and receive (for progress bars).
  uint64_t changes_to_send = 0;
  uint64_t changes_to_receive = 0;
};

class SyncSession {
 public:
  SyncSession(ChangeStore& store, SessionOptions options, ReplicaId local_id);
  SyncSession(const SyncSession&) = delete;
  SyncSession& operator=(const SyncSession&) = delete;

  // Initiator: the Hello frame. kFailedPrecondition if not a fresh initiator;
  // a store error if the local VV cannot be read (nothing to send then).
  Result<std::vector<std::string>> Start();

  // One frame from the peer in; the frames to send back out (possibly none;
  // an Error frame when the session fails because of this frame).
  Result<std::vector<std::string>> OnFrame(std::string_view frame);

  // Ends an open session from this side (e.g. the relay learned that its
  // login was revoked): state() becomes kFailed with `why`; returns the Error
  // frame to send, carrying `reason`. Empty if the session already failed.
  std::vector<std::string> End(Status why, ErrorReason reason);

  // The store gained changes (a local commit, or another session's Apply):
  // the batches to push now, within the in-flight limit. They queue behind
  // catch-up (same cursor), so per-origin order holds. Empty before the
  // handshake (the catch-up will include them); a one-shot sync sends
  // nothing committed after its handshake.
  Result<std::vector<std::string>> OnLocalCommit();

  SessionState state() const { return state_; }
  // Why the session failed; ok otherwise.
  const Status& status() const { return status_; }
  // The exchange is complete: open, nothing of ours unacknowledged or half
  // received, the peer acknowledged what we are to send (a one-shot sync:
  // what we held at the handshake; otherwise: all we hold now), and we hold
  // all the peer held at the handshake. A one-shot sync is then over (for
  // both sides at once: neither sends more); changes committed meanwhile
  // wait for the next one. An initiator whose uploads the relay refused
  // (Welcome::uploads_refused) sends nothing: it is in sync once it holds
  // what the relay held.
  bool InSync();
  // The peer's Hello (acceptor), once received, also when it was refused,
  // without its credentials.
  const std::optional<Hello>& peer_hello() const { return peer_hello_; }
  // Initiator: the peer's Welcome, once received.
  const std::optional<Welcome>& welcome() const { return welcome_; }
  // The relay refuses the initiator's uploads in this session (either side).
  bool uploads_refused() const { return uploads_refused_; }
  // The Error the peer ended the session with, if it did.
  const std::optional<ErrorMessage>& peer_error() const { return peer_error_; }
  // What the peer is known to hold (from Hello/Welcome and its Acks).
  const VersionVector& peer_version_vector() const { return peer_vv_; }
  size_t TEST_in_flight_batches() const { return in_flight_.size(); }
  const SessionStats& stats() const { return stats_; }
  const SessionOptions& options() const { return options_; }

 private:
  struct InFlight {
    uint64_t batch_id;
    VersionVector covers;  // the batch's highest seq per origin
    size_t changes;
  };

  std::vector<std::string> HandleHello(Hello hello);
  std::vector<std::string> HandleWelcome(Welcome welcome);
  std::vector<std::string> HandleChanges(ChangesBatch batch);
  std::vector<std::string> HandleChangePart(ChangePart part);
  std::vector<std::string> HandleAck(Ack ack);
  std::vector<std::string> HandleError(ErrorMessage error);
  // Sends batches while the in-flight limit allows and the peer lacks
  // something; appends to `out`. Returns false (and `out` is the Error
  // frame) if the session failed.
  bool Pump(std::vector<std::string>& out);
  // Ends the session with `status`; returns the Error frame to send.
  std::vector<std::string> Fail(Status status, ErrorReason reason = ErrorReason::kNone);
  void Count(const std::string& frame);
  // Sets changes_to_send/receive from our VV and the peer's.
  void CountExpected(const VersionVector& local);
  // At the handshake: what each side holds and what the peer receives.
  void BeginExchange(Purpose purpose, const VersionVector& local, const VersionVector& peer,
                     uint64_t peer_max_change_bytes);
  // The ChangePart frames of batch `batch_id`, a change too large for one
  // frame; kResourceExhausted if the peer does not accept it.
  Result<std::vector<std::string>> EncodeParts(uint64_t batch_id, const ChangeBlob& change) const;

  // A change arriving in ChangePart frames.
  struct Receiving {
    uint64_t batch_id;
    uint64_t total_bytes;
    ChangeBlob change;  // its payload so far
  };

  ChangeStore& store_;
  const SessionOptions options_;
  const ReplicaId local_id_;
  SessionState state_ = SessionState::kNew;
  Status status_;
  bool exchange_ = true;  // false for a connect test: no changes flow
  std::optional<Hello> peer_hello_;
  std::optional<Welcome> welcome_;
  std::optional<ErrorMessage> peer_error_;
  VersionVector peer_vv_;      // acknowledged by (or announced by) the peer
  VersionVector send_cursor_;  // peer_vv_ plus what is in flight
  std::deque<InFlight> in_flight_;
  uint64_t next_batch_id_ = 1;
  uint64_t last_received_batch_id_ = 0;
  // Set at the handshake.
  bool one_shot_ = false;               // send only start_vv_, then end
  VersionVector start_vv_;              // what we held
  VersionVector peer_start_vv_;         // what the peer held
  uint64_t peer_max_change_bytes_ = 0;  // the largest change it receives
  // The relay refuses the initiator's uploads (Admission::uploads_refused):
  // the initiator sends none, the acceptor refuses any with this status.
  bool uploads_refused_ = false;
  Status upload_refusal_;
  std::optional<Receiving> receiving_;
  SessionStats stats_;
};

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_SYNC_SESSION_H_
