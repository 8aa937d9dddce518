#include "crypto/sealed_change.h"

#include <sodium.h>

#include "storage/binary.h"

namespace daicho::crypto {
namespace {

constexpr uint8_t kMagic = 0xDA;
constexpr uint8_t kFormat = 1;
constexpr size_t kHeaderBytes = 2 + 4;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kSealOverheadBytes == kHeaderBytes + kNonceBytes + kTagBytes);

std::string AssociatedData(const ChangeAddress& address, KeyId key_id) {
  std::string ad = "daicho change v1";
  storage::BinaryWriter w(ad);
  w.Bytes(address.contract);
  w.Raw(std::string_view(reinterpret_cast<const char*>(address.origin.bytes().data()), ReplicaId::kSize));
  w.Fixed64(address.seq);
  w.Fixed32(key_id);
  return ad;
}

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Result<std::string> SealChange(const KeyRing& ring, const ChangeAddress& address, std::string_view payload) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (ring.empty()) return InvalidArgument("no office key to seal changes with");
  const KeyId id = ring.current_id();
  std::string out;
  out.reserve(payload.size() + kSealOverheadBytes);
  storage::BinaryWriter w(out);
  w.Byte(kMagic);
  w.Byte(kFormat);
  w.Fixed32(id);
  out.resize(kHeaderBytes + kNonceBytes + payload.size() + kTagBytes);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data()) + kHeaderBytes;
  randombytes_buf(nonce, kNonceBytes);
  const std::string ad = AssociatedData(address, id);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceBytes, &written, U(payload), payload.size(), U(ad),
                                             ad.size(), nullptr, nonce, ring.Find(id)->data());
  return out;
}

Result<KeyId> SealedKeyId(std::string_view sealed) {
  storage::BinaryReader r(sealed);
  uint8_t magic = 0;
  uint8_t format = 0;
  uint32_t id = 0;
  if (!r.Byte(magic) || magic != kMagic || !r.Byte(format) || format != kFormat || !r.Fixed32(id) || id == 0 ||
      sealed.size() < kSealOverheadBytes) {
    return Corruption("not a sealed change payload");
  }
  return id;
}

Result<std::string> OpenChange(const KeyRing& ring, const ChangeAddress& address, std::string_view sealed) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  DAICHO_ASSIGN_OR_RETURN(const KeyId id, SealedKeyId(sealed));
  const KeyRing::Key* key = ring.Find(id);
  if (key == nullptr) {
    return Status(Code::kFailedPrecondition,
                  "the change is sealed under office key " + std::to_string(id) +
                      ", which this PC does not hold (unlock the current office key with the passphrase)");
  }
  const auto* nonce = U(sealed) + kHeaderBytes;
  const size_t cipher_bytes = sealed.size() - kHeaderBytes - kNonceBytes;
  std::string plain(cipher_bytes - kTagBytes, '\0');
  const std::string ad = AssociatedData(address, id);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &written, nullptr,
                                                 nonce + kNonceBytes, cipher_bytes, U(ad), ad.size(), nonce,
                                                 key->data()) != 0) {
    return Corruption("a sealed change does not authenticate (damaged, or moved to another seq, origin or contract)");
  }
  return plain;
}

}  // namespace daicho::crypto
