#include "crypto/aead.h"

#include <sodium.h>

namespace daicho::crypto {
namespace {

static_assert(kAeadKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kAeadNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAeadOverheadBytes == kAeadNonceBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES);

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

void AeadSealAppend(std::string& out, const unsigned char* key, std::string_view plaintext, std::string_view ad) {
  const size_t start = out.size();
  out.resize(start + kAeadOverheadBytes + plaintext.size());
  auto* nonce = reinterpret_cast<unsigned char*>(out.data()) + start;
  randombytes_buf(nonce, kAeadNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kAeadNonceBytes, &written, U(plaintext), plaintext.size(), U(ad),
                                             ad.size(), nullptr, nonce, key);
}

bool AeadOpen(std::string& plaintext, const unsigned char* key, std::string_view sealed, std::string_view ad) {
  if (sealed.size() < kAeadOverheadBytes) return false;
  plaintext.resize(sealed.size() - kAeadOverheadBytes);
  unsigned long long written = 0;
  const auto* nonce = U(sealed);
  return crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plaintext.data()), &written,
                                                    nullptr, nonce + kAeadNonceBytes, sealed.size() - kAeadNonceBytes,
                                                    U(ad), ad.size(), nonce, key) == 0;
}

}  // namespace daicho::crypto
