// Random secrets the relay hands out (device and panel-session tokens,
// password-reset codes) and their stored forms: hashes, never the secrets.
// Wraps libsodium so no libsodium type leaves this file pair.
//
// Thread-safety: every function may be called concurrently from any thread.
// None can fail: libsodium aborts rather than return weak random bytes.
#ifndef DAICHO_CRYPTO_SECRET_TOKEN_H_
#define DAICHO_CRYPTO_SECRET_TOKEN_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace daicho::crypto {

// Bytes of TokenHash and KeyedTokenHash.
inline constexpr size_t kTokenHashBytes = 32;

// `bytes` random bytes (randombytes_buf).
std::string RandomToken(size_t bytes);

// BLAKE2b-256 of `message` (crypto_generichash). Right for secrets of 128
// random bits or more: a stolen store of these hashes reveals no usable
// token, and a slow password hash would buy nothing.
std::string TokenHash(std::string_view message);

// BLAKE2b-256 of `message` keyed with `key` (a MAC): what a short secret such
// as a reset code is stored as, keyed with a random salt kept beside it.
// libsodium takes 16-64 key bytes; a key outside that range is replaced by
// its TokenHash, so any key works and distinct keys stay distinct.
std::string KeyedTokenHash(std::string_view key, std::string_view message);

// `digits` decimal digits, each uniform (randombytes_uniform, no modulo
// bias); leading zeros are kept. A code a person types from a mail.
std::string RandomDecimalCode(int digits);

// Constant-time equality of two secrets or hashes (sodium_memcmp). Lengths
// are compared first (they are not secret), so unequal sizes are false.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_SECRET_TOKEN_H_
