#include "crypto/office_key.h"

#include <sodium.h>

#include <array>
#include <utility>

#include "crypto/aead.h"
#include "daicho/value.h"
#include "storage/codec/binary.h"

namespace daicho::crypto {
namespace {

constexpr uint8_t kEnvelopeFormat = 1;
enum class EnvelopeKind : uint8_t { kPassphrase = 1, kRecovery = 2 };

constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kRecoveryBits = 160;
constexpr size_t kRecoveryChars = kRecoveryBits / 5;
constexpr size_t kRecoveryBytes = kRecoveryBits / 8;

// A 32-byte key-encryption key, wiped when it goes.
struct Kek {
  std::array<unsigned char, 32> bytes{};
  ~Kek() { sodium_memzero(bytes.data(), bytes.size()); }
};

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string EnvelopeAd(EnvelopeKind kind, std::string_view contract, KeyId id) {
  std::string ad = "daicho office key v1";
  storage::BinaryWriter w(ad);
  w.Byte(static_cast<uint8_t>(kind));
  w.Bytes(contract);
  w.Fixed32(id);
  return ad;
}

std::string RingAd(std::string_view contract, KeyId id) {
  std::string ad = "daicho key ring v1";
  storage::BinaryWriter w(ad);
  w.Bytes(contract);
  w.Fixed32(id);
  return ad;
}

// Argon2id of the passphrase. Limits come from the envelope when opening;
// only values within [MODERATE, SENSITIVE] are accepted so that a damaged or
// hostile envelope can neither weaken the derivation nor ask for gigabytes.
Status DerivePassphraseKek(Kek& kek, std::string_view passphrase, std::string_view salt, uint64_t opslimit,
                           uint64_t memlimit) {
  if (opslimit < crypto_pwhash_OPSLIMIT_MODERATE || opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
      memlimit < crypto_pwhash_MEMLIMIT_MODERATE || memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE) {
    return Corruption("the office key envelope asks for Argon2id limits outside the accepted range");
  }
  if (crypto_pwhash(kek.bytes.data(), kek.bytes.size(), passphrase.data(), passphrase.size(), U(salt), opslimit,
                    static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(Code::kResourceExhausted, "deriving the key from the passphrase failed (out of memory for Argon2id)");
  }
  return Status::Ok();
}

// The recovery code carries 160 random bits, far beyond guessing, so a fast
// keyed hash is enough; the salt keeps two offices' envelopes unrelated.
Status DeriveRecoveryKek(Kek& kek, std::string_view canonical_code, std::string_view salt) {
  std::array<unsigned char, kRecoveryBytes> bits{};
  uint64_t acc = 0;
  int have = 0;
  size_t n = 0;
  for (char c : canonical_code) {
    acc = (acc << 5) | kCrockford.find(c);
    have += 5;
    if (have >= 8) {
      have -= 8;
      bits[n++] = static_cast<unsigned char>(acc >> have);
    }
  }
  std::string message = "daicho recovery kek v1";
  message.append(salt);
  crypto_generichash(kek.bytes.data(), kek.bytes.size(), U(message), message.size(), bits.data(), bits.size());
  sodium_memzero(bits.data(), bits.size());
  return Status::Ok();
}

// One envelope: header (format, kind, key id, KDF parameters, salt), then
// the current key sealed under the KEK.
Result<std::string> WrapKey(EnvelopeKind kind, const KeyRing& ring, std::string_view contract,
                            std::string_view secret) {
  std::string out;
  storage::BinaryWriter w(out);
  w.Byte(kEnvelopeFormat);
  w.Byte(static_cast<uint8_t>(kind));
  w.Fixed32(ring.current_id());
  std::string salt(kSaltBytes, '\0');
  randombytes_buf(salt.data(), salt.size());
  Kek kek;
  if (kind == EnvelopeKind::kPassphrase) {
    w.Fixed64(crypto_pwhash_OPSLIMIT_MODERATE);
    w.Fixed64(crypto_pwhash_MEMLIMIT_MODERATE);
    DAICHO_RETURN_IF_ERROR(
        DerivePassphraseKek(kek, secret, salt, crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE));
  } else {
    DAICHO_RETURN_IF_ERROR(DeriveRecoveryKek(kek, secret, salt));
  }
  w.Raw(salt);
  const KeyRing::Key* key = ring.Find(ring.current_id());
  AeadSealAppend(out, kek.bytes.data(), std::string_view(reinterpret_cast<const char*>(key->data()), key->size()),
                 EnvelopeAd(kind, contract, ring.current_id()));
  return out;
}

Result<KeyRing::Key> UnwrapKey(EnvelopeKind kind, std::string_view envelope, KeyId expected_id,
                               std::string_view contract, std::string_view secret) {
  storage::BinaryReader r(envelope);
  uint8_t format = 0;
  uint8_t stored_kind = 0;
  uint32_t id = 0;
  if (!r.Byte(format) || format != kEnvelopeFormat || !r.Byte(stored_kind) ||
      stored_kind != static_cast<uint8_t>(kind) || !r.Fixed32(id)) {
    return Corruption("the office key envelope is malformed");
  }
  if (id != expected_id) return Corruption("the office key envelope names another key id");
  Kek kek;
  if (kind == EnvelopeKind::kPassphrase) {
    uint64_t opslimit = 0;
    uint64_t memlimit = 0;
    std::string_view salt;
    if (!r.Fixed64(opslimit) || !r.Fixed64(memlimit) || !r.Raw(kSaltBytes, salt)) {
      return Corruption("the office key envelope is malformed");
    }
    DAICHO_RETURN_IF_ERROR(DerivePassphraseKek(kek, secret, salt, opslimit, memlimit));
  } else {
    std::string_view salt;
    if (!r.Raw(kSaltBytes, salt)) return Corruption("the office key envelope is malformed");
    DAICHO_RETURN_IF_ERROR(DeriveRecoveryKek(kek, secret, salt));
  }
  std::string plain;
  const bool opened = AeadOpen(plain, kek.bytes.data(), envelope.substr(r.position()), EnvelopeAd(kind, contract, id));
  if (!opened || plain.size() != kDataKeyBytes) {
    sodium_memzero(plain.data(), plain.size());
    // A wrong secret and a tampered envelope look the same to AEAD; the
    // wrong secret is by far the likelier.
    return Status(Code::kUnauthenticated,
                  kind == EnvelopeKind::kPassphrase ? "the office passphrase is wrong" : "the recovery code is wrong");
  }
  KeyRing::Key key{};
  std::copy(plain.begin(), plain.end(), key.begin());
  sodium_memzero(plain.data(), plain.size());
  return key;
}

Result<std::string> SealOlderKeys(const KeyRing& ring, std::string_view contract) {
  // Sealed (even if it holds no key) whenever the current id is above 1, so
  // that a sealed ring dropped by the relay is noticed (CompleteRing).
  if (ring.current_id() <= 1) return std::string();
  KeyRing older;
  for (KeyId id : ring.ids()) {
    if (id != ring.current_id()) DAICHO_RETURN_IF_ERROR(older.Add(id, *ring.Find(id)));
  }
  std::string plain = older.Serialize();
  std::string out;
  storage::BinaryWriter w(out);
  w.Byte(kEnvelopeFormat);
  w.Fixed32(ring.current_id());
  AeadSealAppend(out, ring.Find(ring.current_id())->data(), plain, RingAd(contract, ring.current_id()));
  sodium_memzero(plain.data(), plain.size());
  return out;
}

// Rebuilds the whole ring from the opened current key and the sealed ring.
Result<KeyRing> CompleteRing(const WrappedOfficeKey& wrapped, std::string_view contract, const KeyRing::Key& current) {
  KeyRing ring;
  DAICHO_RETURN_IF_ERROR(ring.Add(wrapped.current_key_id, current));
  if (wrapped.sealed_ring.empty()) {
    // Without this a relay could drop the older keys unnoticed.
    if (wrapped.current_key_id > 1) return Corruption("the office key ring is missing from the envelope");
    return ring;
  }
  storage::BinaryReader r(wrapped.sealed_ring);
  uint8_t format = 0;
  uint32_t id = 0;
  if (!r.Byte(format) || format != kEnvelopeFormat || !r.Fixed32(id) || id != wrapped.current_key_id) {
    return Corruption("the office key ring is malformed");
  }
  std::string plain;
  if (!AeadOpen(plain, current.data(), wrapped.sealed_ring.substr(r.position()), RingAd(contract, id))) {
    sodium_memzero(plain.data(), plain.size());
    return Corruption("the office key ring does not open with the current key (damaged or tampered)");
  }
  auto older = KeyRing::Parse(plain);
  sodium_memzero(plain.data(), plain.size());
  if (!older.ok()) return older.status();
  for (KeyId older_id : older->ids()) {
    if (older_id >= id) return Corruption("the office key ring holds a key newer than the current one");
    DAICHO_RETURN_IF_ERROR(ring.Add(older_id, *older->Find(older_id)));
  }
  return ring;
}

}  // namespace

std::string SerializeWrappedOfficeKey(const WrappedOfficeKey& keys) {
  std::string out;
  storage::BinaryWriter w(out);
  w.Fixed32(keys.current_key_id);
  w.Bytes(keys.passphrase_wrapped);
  w.Bytes(keys.recovery_wrapped);
  w.Bytes(keys.sealed_ring);
  return out;
}

Result<WrappedOfficeKey> ParseWrappedOfficeKey(std::string_view bytes) {
  storage::BinaryReader r(bytes);
  WrappedOfficeKey keys;
  std::string_view passphrase, recovery, ring;
  if (!r.Fixed32(keys.current_key_id) || !r.Bytes(passphrase) || !r.Bytes(recovery) || !r.Bytes(ring) || !r.done()) {
    return Corruption("office key envelopes are malformed");
  }
  keys.passphrase_wrapped = passphrase;
  keys.recovery_wrapped = recovery;
  keys.sealed_ring = ring;
  return keys;
}

Status ValidatePassphrase(std::string_view passphrase) {
  if (passphrase.size() < kMinPassphraseLength || passphrase.size() > kMaxPassphraseLength) {
    return InvalidArgument("the office passphrase must be " + std::to_string(kMinPassphraseLength) + "-" +
                           std::to_string(kMaxPassphraseLength) + " bytes long");
  }
  if (!IsValidUtf8(passphrase)) return InvalidArgument("the office passphrase is not valid UTF-8 text");
  return Status::Ok();
}

Result<std::string> NewRecoveryCode() {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  std::string code;
  for (size_t i = 0; i < kRecoveryChars; ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    code.push_back(kCrockford[randombytes_uniform(static_cast<uint32_t>(kCrockford.size()))]);
  }
  return code;
}

Result<std::string> NormalizeRecoveryCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kCrockford.find(c) == std::string_view::npos) {
      return InvalidArgument("a recovery code holds only the letters and digits printed on it (no U)");
    }
    out.push_back(c);
  }
  if (out.size() != kRecoveryChars) {
    return InvalidArgument("a recovery code has " + std::to_string(kRecoveryChars) + " characters; got " +
                           std::to_string(out.size()));
  }
  return out;
}

Result<WrappedOfficeKey> WrapOfficeKey(const KeyRing& ring, std::string_view contract, std::string_view passphrase,
                                       std::string_view recovery_code) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (ring.empty()) return InvalidArgument("no office key to wrap");
  DAICHO_RETURN_IF_ERROR(ValidatePassphrase(passphrase));
  DAICHO_ASSIGN_OR_RETURN(const std::string code, NormalizeRecoveryCode(recovery_code));
  WrappedOfficeKey out;
  out.current_key_id = ring.current_id();
  DAICHO_ASSIGN_OR_RETURN(out.passphrase_wrapped, WrapKey(EnvelopeKind::kPassphrase, ring, contract, passphrase));
  DAICHO_ASSIGN_OR_RETURN(out.recovery_wrapped, WrapKey(EnvelopeKind::kRecovery, ring, contract, code));
  DAICHO_ASSIGN_OR_RETURN(out.sealed_ring, SealOlderKeys(ring, contract));
  return out;
}

Result<WrappedOfficeKey> RewrapWithPassphrase(const WrappedOfficeKey& published, const KeyRing& ring,
                                              std::string_view contract, std::string_view new_passphrase) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  DAICHO_RETURN_IF_ERROR(ValidatePassphrase(new_passphrase));
  if (published.empty() || ring.current_id() != published.current_key_id) {
    return Status(Code::kFailedPrecondition, "this PC does not hold the office's current key (key " +
                                                 std::to_string(published.current_key_id) + ")");
  }
  WrappedOfficeKey out = published;
  DAICHO_ASSIGN_OR_RETURN(out.passphrase_wrapped, WrapKey(EnvelopeKind::kPassphrase, ring, contract, new_passphrase));
  return out;
}

Result<KeyRing> UnwrapWithPassphrase(const WrappedOfficeKey& wrapped, std::string_view contract,
                                     std::string_view passphrase) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (wrapped.empty()) return Status(Code::kFailedPrecondition, "the office key is not set up yet");
  DAICHO_ASSIGN_OR_RETURN(KeyRing::Key key, UnwrapKey(EnvelopeKind::kPassphrase, wrapped.passphrase_wrapped,
                                                      wrapped.current_key_id, contract, passphrase));
  auto ring = CompleteRing(wrapped, contract, key);
  sodium_memzero(key.data(), key.size());
  return ring;
}

Result<KeyRing> UnwrapWithRecoveryCode(const WrappedOfficeKey& wrapped, std::string_view contract,
                                       std::string_view recovery_code) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (wrapped.empty()) return Status(Code::kFailedPrecondition, "the office key is not set up yet");
  DAICHO_ASSIGN_OR_RETURN(const std::string code, NormalizeRecoveryCode(recovery_code));
  DAICHO_ASSIGN_OR_RETURN(KeyRing::Key key, UnwrapKey(EnvelopeKind::kRecovery, wrapped.recovery_wrapped,
                                                      wrapped.current_key_id, contract, code));
  auto ring = CompleteRing(wrapped, contract, key);
  sodium_memzero(key.data(), key.size());
  return ring;
}

}  // namespace daicho::crypto
