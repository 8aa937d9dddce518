#include "crypto/peer_channel.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <utility>

#include "storage/codec/binary.h"

// The messages and key derivations: docs/formats.md, "Peer channel messages".

namespace daicho::crypto {
namespace {

constexpr std::string_view kMagic = "DPC1";
constexpr uint8_t kTypeHello = 1;
constexpr uint8_t kTypeReply = 2;
constexpr uint8_t kTypeConfirm = 3;
constexpr size_t kHeaderBytes = 4 + 1;
constexpr size_t kPubBytes = crypto_kx_PUBLICKEYBYTES;
constexpr size_t kNonceBytes = 32;
constexpr size_t kMacBytes = 32;
constexpr size_t kKeyBytes = 32;

static_assert(crypto_kx_PUBLICKEYBYTES == 32 && crypto_kx_SECRETKEYBYTES == 32 && crypto_kx_SESSIONKEYBYTES == 32);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kFrameOverheadBytes);
static_assert(kPeerHelloBytes == kHeaderBytes + 4 + kPubBytes + kNonceBytes);
static_assert(kPeerReplyBytes == kPeerHelloBytes + kMacBytes);
static_assert(kPeerConfirmBytes == kHeaderBytes + kMacBytes);

constexpr std::string_view kAuthLabel = "daicho peer auth v1";
constexpr std::string_view kAcceptorMacLabel = "daicho peer acceptor mac v1";
constexpr std::string_view kInitiatorMacLabel = "daicho peer initiator mac v1";
constexpr std::string_view kSessionLabel = "daicho peer session v1";
constexpr uint8_t kInitiatorToAcceptor = 1;
constexpr uint8_t kAcceptorToInitiator = 2;

// 32 secret bytes, wiped when they go.
struct Secret {
  std::array<unsigned char, kKeyBytes> bytes{};
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { Wipe(); }
  void Wipe() { sodium_memzero(bytes.data(), bytes.size()); }
  unsigned char* data() { return bytes.data(); }
  const unsigned char* data() const { return bytes.data(); }
};

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
std::string_view View(const unsigned char* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// A frame's nonce: its counter (u64 LE), the rest zero. Each direction has
// its own key, so counters of the two directions never share a key.
void CounterNonce(unsigned char* nonce, uint64_t counter) {
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<unsigned char>(counter >> (8 * i));
}

// keyed(key, parts...) into out[32]; the hash state holds key material, so
// it is wiped too.
template <typename... Parts>
void KeyedHash(unsigned char* out, const Secret& key, const Parts&... parts) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), kKeyBytes, kMacBytes);
  (crypto_generichash_update(&state, U(parts), parts.size()), ...);
  crypto_generichash_final(&state, out, kMacBytes);
  sodium_memzero(&state, sizeof(state));
}

// The header of a handshake message of `type`; checked in the order that
// gives the most telling error for a confused peer.
Status CheckHandshake(std::string_view message, uint8_t type, size_t size) {
  if (message.size() < kHeaderBytes || message.substr(0, kMagic.size()) != kMagic) {
    return ProtocolError("not a daicho peer channel handshake message (or one of another version)");
  }
  const auto got = static_cast<uint8_t>(message[kMagic.size()]);
  if (got != type) {
    return ProtocolError("expected peer handshake message " + std::to_string(type) + ", got type " +
                         std::to_string(got));
  }
  if (message.size() != size) {
    return ProtocolError("peer handshake message " + std::to_string(type) + " has " + std::to_string(message.size()) +
                         " bytes; it must have " + std::to_string(size));
  }
  return Status::Ok();
}

// Two PCs of this office (proven under the older key, which the newer one
// holds too) with different current keys: which one missed the rotation.
Status KeyIdMismatch(KeyId peer, KeyId own) {
  std::string m =
      "this PC holds office key " + std::to_string(own) + " and the other PC key " + std::to_string(peer) + ": ";
  m += own < peer ? "the office key was rotated since this PC last got it; run `daicho key unlock` on this PC, "
                    "then sync again"
                  : "the other PC missed a rotation of the office key; run `daicho key unlock` on the other PC "
                    "(or `key unlock --peer` there from a PC serving with --share-key), then sync again";
  return FailedPrecondition(std::move(m));
}

Status NotThisOffice() { return Status(Code::kUnauthenticated, "the peer does not hold this office's key"); }

}  // namespace

struct PeerChannel::Impl {
  enum class State { kFresh, kHelloSent, kReplySent, kEstablished, kFailed };

  Role role = Role::kInitiator;
  State state = State::kFresh;
  Status failure;                // the first failure, once kFailed
  bool failed_at_start = false;  // failure came from construction (no key)
  KeyId key_id = 0;
  KeyId peer_key_id = 0;
  // The key both MACs use: the current one, or with a peer of another key
  // id the lower of the two (the newer PC holds the older keys too), so that
  // a PC of this office that missed a rotation is told apart from a PC of
  // another office. A channel whose ids differ never gets established.
  KeyId mac_key_id = 0;

  // K_auth of every key of the ring, by id (the current one is key_id).
  std::map<KeyId, Secret> auth_keys;
  Secret eph_secret;  // until the exchange
  std::array<unsigned char, kPubBytes> eph_public{};
  Secret kx_rx;  // acceptor: from M1 until M3
  Secret kx_tx;
  std::string transcript;  // M1, then M1 | M2 (all public)

  Secret send_key;
  Secret recv_key;
  uint64_t send_counter = 0;
  uint64_t recv_counter = 0;

  void WipeSecrets() {
    auth_keys.clear();  // each Secret wipes itself
    eph_secret.Wipe();
    kx_rx.Wipe();
    kx_tx.Wipe();
    send_key.Wipe();
    recv_key.Wipe();
  }

  Status Fail(Status status) {
    state = State::kFailed;
    failure = status;
    WipeSecrets();
    return status;
  }

  // What every call returns once dead.
  Status Dead() const {
    if (failed_at_start) return failure;
    return FailedPrecondition("the peer channel is closed after an earlier error (" + failure.ToString() + ")");
  }

  Status WrongState(std::string_view call) {
    return Fail(FailedPrecondition(std::string(call) + " is not valid in this state of the peer channel"));
  }

  void NewEphemeral(std::string& out) {
    crypto_kx_keypair(eph_public.data(), eph_secret.data());
    out.append(View(eph_public.data(), eph_public.size()));
    std::array<unsigned char, kNonceBytes> nonce{};
    randombytes_buf(nonce.data(), nonce.size());
    out.append(View(nonce.data(), nonce.size()));
  }

  // Reads the key id of M1 or M2 and picks the MAC key: the lower of the
  // two ids. Not holding it means the peer is not of this office: this
  // office's PCs hold every key up to their current one.
  Status TakePeerKeyId(std::string_view message) {
    storage::BinaryReader r(message.substr(kHeaderBytes));
    uint32_t id = 0;
    if (!r.Fixed32(id) || id == 0) return ProtocolError("a peer handshake message names no office key");
    peer_key_id = id;
    mac_key_id = std::min(id, key_id);
    if (mac_key() == nullptr) return NotThisOffice();
    return Status::Ok();
  }

  const Secret* mac_key() const {
    const auto it = auth_keys.find(mac_key_id);
    return it == auth_keys.end() ? nullptr : &it->second;
  }

  // Both directions' keys from the exchange and the transcript M1 | M2.
  void DeriveSessionKeys() {
    std::array<unsigned char, 32> th{};
    crypto_generichash(th.data(), th.size(), U(transcript), transcript.size(), nullptr, 0);
    const std::string_view th_view = View(th.data(), th.size());
    // crypto_kx: the client's tx equals the server's rx.
    const Secret& i2a = role == Role::kInitiator ? kx_tx : kx_rx;
    const Secret& a2i = role == Role::kInitiator ? kx_rx : kx_tx;
    const char i2a_dir = static_cast<char>(kInitiatorToAcceptor);
    const char a2i_dir = static_cast<char>(kAcceptorToInitiator);
    Secret& i2a_key = role == Role::kInitiator ? send_key : recv_key;
    Secret& a2i_key = role == Role::kInitiator ? recv_key : send_key;
    const Secret& auth_key = *mac_key();  // the current key: only equal ids get here
    KeyedHash(i2a_key.data(), auth_key, kSessionLabel, std::string_view(&i2a_dir, 1), View(i2a.data(), kKeyBytes),
              th_view);
    KeyedHash(a2i_key.data(), auth_key, kSessionLabel, std::string_view(&a2i_dir, 1), View(a2i.data(), kKeyBytes),
              th_view);
    kx_rx.Wipe();
    kx_tx.Wipe();
    // Only the session keys are needed from here on.
    auth_keys.clear();
    transcript.clear();
    state = State::kEstablished;
  }

  Result<std::optional<std::string>> OnHello(std::string_view m1) {
    DAICHO_RETURN_IF_ERROR(CheckHandshake(m1, kTypeHello, kPeerHelloBytes));
    DAICHO_RETURN_IF_ERROR(TakePeerKeyId(m1));
    const std::string_view peer_public = m1.substr(kHeaderBytes + 4, kPubBytes);

    std::string m2;
    m2.reserve(kPeerReplyBytes);
    storage::BinaryWriter w(m2);
    w.Raw(kMagic);
    w.Byte(kTypeReply);
    w.Fixed32(key_id);
    NewEphemeral(m2);
    // The exchange runs now so that an unusable key is refused before any
    // reply; only its result is kept, the ephemeral secret goes at once.
    const int rc =
        crypto_kx_server_session_keys(kx_rx.data(), kx_tx.data(), eph_public.data(), eph_secret.data(), U(peer_public));
    eph_secret.Wipe();
    if (rc != 0) return ProtocolError("the peer sent an unusable ephemeral key");

    transcript.assign(m1);
    std::array<unsigned char, kMacBytes> mac{};
    KeyedHash(mac.data(), *mac_key(), kAcceptorMacLabel, transcript, std::string_view(m2));
    w.Raw(View(mac.data(), mac.size()));
    transcript.append(m2);
    state = State::kReplySent;
    return std::optional<std::string>(std::move(m2));
  }

  Result<std::optional<std::string>> OnReply(std::string_view m2) {
    DAICHO_RETURN_IF_ERROR(CheckHandshake(m2, kTypeReply, kPeerReplyBytes));
    DAICHO_RETURN_IF_ERROR(TakePeerKeyId(m2));
    const std::string_view unmaced = m2.substr(0, kPeerHelloBytes);
    std::array<unsigned char, kMacBytes> expected{};
    KeyedHash(expected.data(), *mac_key(), kAcceptorMacLabel, transcript, unmaced);
    if (crypto_verify_32(expected.data(), U(m2.substr(kPeerHelloBytes))) != 0) return NotThisOffice();
    // A PC of this office (the MAC says so) that holds another key.
    if (peer_key_id != key_id) return KeyIdMismatch(peer_key_id, key_id);
    const std::string_view peer_public = m2.substr(kHeaderBytes + 4, kPubBytes);
    const int rc =
        crypto_kx_client_session_keys(kx_rx.data(), kx_tx.data(), eph_public.data(), eph_secret.data(), U(peer_public));
    eph_secret.Wipe();
    if (rc != 0) return ProtocolError("the peer sent an unusable ephemeral key");
    transcript.append(m2);

    std::string m3;
    m3.reserve(kPeerConfirmBytes);
    storage::BinaryWriter w(m3);
    w.Raw(kMagic);
    w.Byte(kTypeConfirm);
    std::array<unsigned char, kMacBytes> mac{};
    KeyedHash(mac.data(), *mac_key(), kInitiatorMacLabel, transcript);
    w.Raw(View(mac.data(), mac.size()));
    DeriveSessionKeys();
    return std::optional<std::string>(std::move(m3));
  }

  Result<std::optional<std::string>> OnConfirm(std::string_view m3) {
    DAICHO_RETURN_IF_ERROR(CheckHandshake(m3, kTypeConfirm, kPeerConfirmBytes));
    std::array<unsigned char, kMacBytes> expected{};
    KeyedHash(expected.data(), *mac_key(), kInitiatorMacLabel, transcript);
    if (crypto_verify_32(expected.data(), U(m3.substr(kHeaderBytes))) != 0) return NotThisOffice();
    // An older key proves membership of the office, never enough to sync.
    if (peer_key_id != key_id) return KeyIdMismatch(peer_key_id, key_id);
    DeriveSessionKeys();
    return std::optional<std::string>();
  }
};

PeerChannel::PeerChannel(Role role, std::string contract, const KeyRing& ring) : impl_(std::make_unique<Impl>()) {
  impl_->role = role;
  if (Status s = InitSodium(); !s.ok()) {
    impl_->failed_at_start = true;
    (void)impl_->Fail(std::move(s));
    return;
  }
  if (ring.empty()) {
    impl_->failed_at_start = true;
    (void)impl_->Fail(FailedPrecondition("this PC does not hold the office key (daicho key unlock)"));
    return;
  }
  impl_->key_id = ring.current_id();
  // The data keys themselves stay in the ring; the channel holds only keys
  // derived from them, bound to the contract.
  std::string message(kAuthLabel);
  storage::BinaryWriter w(message);
  w.Bytes(contract);
  for (const KeyId id : ring.ids()) {
    const KeyRing::Key* key = ring.Find(id);
    crypto_generichash(impl_->auth_keys[id].data(), kKeyBytes, U(message), message.size(), key->data(), key->size());
  }
}

PeerChannel::~PeerChannel() = default;
PeerChannel::PeerChannel(PeerChannel&& other) noexcept = default;
PeerChannel& PeerChannel::operator=(PeerChannel&& other) noexcept = default;

bool PeerChannel::established() const { return impl_ && impl_->state == Impl::State::kEstablished; }

bool PeerChannel::failed() const { return !impl_ || impl_->state == Impl::State::kFailed; }

KeyId PeerChannel::peer_key_id() const { return impl_ ? impl_->peer_key_id : 0; }

Result<std::string> PeerChannel::Start() {
  if (!impl_) return FailedPrecondition("the peer channel was moved from");
  Impl& c = *impl_;
  if (c.state == Impl::State::kFailed) return c.Dead();
  if (c.role != Role::kInitiator || c.state != Impl::State::kFresh) return c.WrongState("Start");
  std::string m1;
  m1.reserve(kPeerHelloBytes);
  storage::BinaryWriter w(m1);
  w.Raw(kMagic);
  w.Byte(kTypeHello);
  w.Fixed32(c.key_id);
  c.NewEphemeral(m1);
  c.transcript = m1;
  c.state = Impl::State::kHelloSent;
  return m1;
}

Result<std::optional<std::string>> PeerChannel::OnHandshakeMessage(std::string_view message) {
  if (!impl_) return FailedPrecondition("the peer channel was moved from");
  Impl& c = *impl_;
  Result<std::optional<std::string>> out = FailedPrecondition("unreachable");
  switch (c.state) {
    case Impl::State::kFailed:
      return c.Dead();
    case Impl::State::kFresh:
      if (c.role != Role::kAcceptor) return c.WrongState("a handshake message before Start");
      out = c.OnHello(message);
      break;
    case Impl::State::kHelloSent:
      out = c.OnReply(message);
      break;
    case Impl::State::kReplySent:
      out = c.OnConfirm(message);
      break;
    case Impl::State::kEstablished:
      return c.WrongState("a handshake message on an established channel");
  }
  if (!out.ok()) return c.Fail(out.status());
  return out;
}

Result<std::string> PeerChannel::Seal(std::string_view frame) {
  if (!impl_) return FailedPrecondition("the peer channel was moved from");
  Impl& c = *impl_;
  if (c.state == Impl::State::kFailed) return c.Dead();
  if (c.state != Impl::State::kEstablished) return c.WrongState("Seal before the handshake completed");
  if (c.send_counter == std::numeric_limits<uint64_t>::max()) {
    return c.Fail(Status(Code::kResourceExhausted, "the peer channel has sent all the frames it may; reconnect"));
  }
  std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  CounterNonce(nonce.data(), c.send_counter);
  std::string out(frame.size() + kFrameOverheadBytes, '\0');
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(U(out), &written, U(frame), frame.size(), nullptr, 0, nullptr,
                                             nonce.data(), c.send_key.data());
  ++c.send_counter;
  return out;
}

Result<std::string> PeerChannel::Open(std::string_view message) {
  if (!impl_) return FailedPrecondition("the peer channel was moved from");
  Impl& c = *impl_;
  if (c.state == Impl::State::kFailed) return c.Dead();
  if (c.state != Impl::State::kEstablished) return c.WrongState("Open before the handshake completed");
  if (message.size() < kFrameOverheadBytes) return c.Fail(Corruption("a peer frame is truncated"));
  if (c.recv_counter == std::numeric_limits<uint64_t>::max()) {
    return c.Fail(Status(Code::kResourceExhausted, "the peer channel has received all the frames it may; reconnect"));
  }
  std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  CounterNonce(nonce.data(), c.recv_counter);
  std::string plain(message.size() - kFrameOverheadBytes, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(U(plain), &written, nullptr, U(message), message.size(), nullptr, 0,
                                                 nonce.data(), c.recv_key.data()) != 0) {
    return c.Fail(
        Corruption("a peer frame does not authenticate (altered, truncated, replayed, out of order, or one was lost)"));
  }
  ++c.recv_counter;
  return plain;
}

}  // namespace daicho::crypto
