#include "crypto/secret_token.h"

#include <sodium.h>

#include "crypto/key_ring.h"

namespace daicho::crypto {
namespace {

const unsigned char* Bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

}  // namespace

std::string RandomToken(size_t bytes) {
  // randombytes_buf works before sodium_init too; sodium_init only picks the
  // best implementation, and its failure leaves the default source in use.
  (void)InitSodium();
  std::string token(bytes, '\0');
  randombytes_buf(token.data(), token.size());
  return token;
}

std::string TokenHash(std::string_view message) {
  (void)InitSodium();
  std::string out(kTokenHashBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), Bytes(message), message.size(), nullptr,
                     0);
  return out;
}

std::string KeyedTokenHash(std::string_view key, std::string_view message) {
  if (key.size() < crypto_generichash_KEYBYTES_MIN || key.size() > crypto_generichash_KEYBYTES_MAX) {
    return KeyedTokenHash(TokenHash(key), message);
  }
  (void)InitSodium();
  std::string out(kTokenHashBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(), Bytes(message), message.size(),
                     Bytes(key), key.size());
  return out;
}

std::string RandomDecimalCode(int digits) {
  (void)InitSodium();
  std::string code;
  for (int i = 0; i < digits; ++i) code.push_back(static_cast<char>('0' + randombytes_uniform(10)));
  return code;
}

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace daicho::crypto
