// PeerChannel: the authenticated, encrypted channel two office PCs run
// before any sync frame moves between them directly (PC-to-PC sync, no
// relay). A socket-free state machine: bytes in, bytes out; the caller moves
// each returned string as one binary message of its transport (a WebSocket
// binary message) and feeds each received message back in, in order.
//
// Handshake (3 messages):
//   initiator: Start() -> M1 ............ acceptor: OnHandshakeMessage(M1) -> M2
//   initiator: OnHandshakeMessage(M2) -> M3 (now established)
//   acceptor:  OnHandshakeMessage(M3) -> nullopt (now established)
// Both sides prove the office's current data key over the transcript; then
// Seal/Open encrypt frames under per-direction session keys. The messages,
// keys and what each proves: docs/formats.md, "Peer channel messages".
// Seal adds kFrameOverheadBytes (the tag) to a frame and nothing else.
//
// Failure is final: after any call fails (in the wrong state, malformed or
// unauthenticated input, a frame that does not open) the channel is dead and
// every later call returns kFailedPrecondition naming the first failure. The
// caller then closes the connection; it may send the peer the error's
// message (it holds no secret).
//
// Ownership and lifetime: the channel keeps no reference to the KeyRing; it
// derives its authentication keys at construction and holds only those, the
// ephemeral secret until the exchange, and the session keys, all wiped when
// no longer needed and on destruction. Move-only.
//
// Thread-safety: none; one connection drives one channel.
//
// Two PCs of one office whose current keys differ (one missed a `key
// rotate`) can tell each other from PCs of another office, but the channel
// fails on both sides and never opens a session (kFailedPrecondition below).
//
// Codes:
//   kFailedPrecondition: this PC holds no office key ("this PC does not hold
//     the office key"); the peer proved a key of this office but holds
//     another current key than this PC (the message names both, from this
//     PC's point of view, and which PC must `daicho key unlock`); a call in
//     the wrong state; any call after a failure.
//   kUnauthenticated: the peer's MAC is wrong or it names a key id this PC
//     should hold but does not: it holds another office's key (whatever its
//     key id), a key of another contract, or no key; or the handshake is a
//     replay.
//   kProtocolError: a handshake message that is not one (size, magic,
//     version, type, a zero key id, an unusable ephemeral key).
//   kCorruption: a frame that does not open (see above).
//   kResourceExhausted: 2^64 - 1 frames in one direction (start a new channel).
//   kInternal: libsodium cannot start.
#ifndef DAICHO_CRYPTO_PEER_CHANNEL_H_
#define DAICHO_CRYPTO_PEER_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::crypto {

// Bytes Seal adds to a frame (the Poly1305 tag; the nonce is implicit).
inline constexpr size_t kFrameOverheadBytes = 16;

// Sizes of the three handshake messages (each is exactly this long).
inline constexpr size_t kPeerHelloBytes = 4 + 1 + 4 + 32 + 32;   // M1
inline constexpr size_t kPeerReplyBytes = kPeerHelloBytes + 32;  // M2
inline constexpr size_t kPeerConfirmBytes = 4 + 1 + 32;          // M3

class PeerChannel {
 public:
  enum class Role { kInitiator, kAcceptor };

  // `contract` is the office's contract number (both PCs must name the same
  // one); `ring` is this PC's key ring: the current key authenticates, an
  // older one only tells a PC that missed a rotation from another office's.
  // An empty ring makes a channel whose every call fails with
  // kFailedPrecondition.
  PeerChannel(Role role, std::string contract, const KeyRing& ring);
  ~PeerChannel();
  PeerChannel(PeerChannel&& other) noexcept;
  PeerChannel& operator=(PeerChannel&& other) noexcept;
  PeerChannel(const PeerChannel&) = delete;
  PeerChannel& operator=(const PeerChannel&) = delete;

  // Initiator, once, first: M1. kFailedPrecondition for an acceptor or a
  // second call.
  Result<std::string> Start();

  // Feeds the next handshake message; returns the reply to send, if any
  // (the acceptor answers M1 with M2, the initiator M2 with M3; M3 gets no
  // reply). After the initiator returns M3 or the acceptor accepts M3, the
  // channel is established. kFailedPrecondition once established.
  Result<std::optional<std::string>> OnHandshakeMessage(std::string_view message);

  // True once the handshake completed and no call has failed since.
  bool established() const;
  // True once a call has failed (the channel is dead).
  bool failed() const;

  // The peer's current key id, from M1 (acceptor) or M2 (initiator); 0
  // before it arrived.
  KeyId peer_key_id() const;

  // Encrypts one frame for the peer (any size, empty included).
  // kFailedPrecondition unless established.
  Result<std::string> Seal(std::string_view frame);

  // Decrypts the peer's next frame. kCorruption if it is not exactly the next
  // frame the peer sealed for this direction. kFailedPrecondition unless
  // established.
  Result<std::string> Open(std::string_view message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_PEER_CHANNEL_H_
