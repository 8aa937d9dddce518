// XChaCha20-Poly1305 (IETF) with a random nonce, the one sealing used by the
// office key envelopes, sealed changes and LAN announcements: the sealed
// form is nonce[24] ‖ ciphertext ‖ tag[16]. Free functions, thread-safe;
// libsodium must be initialized (InitSodium).
#ifndef DAICHO_CRYPTO_AEAD_H_
#define DAICHO_CRYPTO_AEAD_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace daicho::crypto {

inline constexpr size_t kAeadKeyBytes = 32;
inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadOverheadBytes = kAeadNonceBytes + 16;

// Appends the sealed form of `plaintext` under `key` (kAeadKeyBytes) to `out`.
void AeadSealAppend(std::string& out, const unsigned char* key, std::string_view plaintext, std::string_view ad);

// Opens `sealed` into `plaintext`; false if it is too short or does not
// authenticate (wrong key, associated data or bytes).
bool AeadOpen(std::string& plaintext, const unsigned char* key, std::string_view sealed, std::string_view ad);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_AEAD_H_
