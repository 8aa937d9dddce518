#include "relay/password.h"

#include <sodium.h>

#include <mutex>

namespace daicho::relay {

Status ValidateUserId(std::string_view user_id) {
  if (user_id.size() < kMinUserIdLength || user_id.size() > kMaxUserIdLength) {
    return InvalidArgument("a user id must be " + std::to_string(kMinUserIdLength) + "-" +
                           std::to_string(kMaxUserIdLength) + " characters long; got " +
                           std::to_string(user_id.size()) + " bytes");
  }
  for (unsigned char c : user_id) {
    if (c < 0x21 || c > 0x7E) {
      return InvalidArgument(
          "a user id (an e-mail address) may only contain printable half-width ASCII characters, "
          "without spaces");
    }
  }
  return Status::Ok();
}

std::string FoldUserId(std::string_view user_id) {
  std::string folded(user_id);
  for (char& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return folded;
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    // No length in the message: it may be logged, and a password's length
    // is part of the secret.
    return InvalidArgument("a password must be " + std::to_string(kMinPasswordLength) + "-" +
                           std::to_string(kMaxPasswordLength) + " characters long");
  }
  for (char c : password) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return InvalidArgument("a password may only contain half-width letters (A-Z, a-z) and digits (0-9)");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(Code::kResourceExhausted, "hashing a password failed (out of memory for Argon2id)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (!InitSodium().ok()) return false;
  // libsodium wants a NUL-terminated hash of bounded length.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

const std::string& DummyPasswordHash() {
  static const std::string hash = [] {
    // A random password nobody knows; on the (out-of-memory) failure path an
    // empty hash still verifies as false, only faster.
    auto hashed = HashPassword(NewDeviceToken());
    return hashed.ok() ? *hashed : std::string();
  }();
  return hash;
}

std::string NewDeviceToken() {
  // randombytes_buf works before sodium_init too (it then picks its default
  // source); sodium_init only selects the best implementation. libsodium
  // aborts rather than return weak bytes, so there is no error to report.
  (void)InitSodium();
  std::string token(kDeviceTokenBytes, '\0');
  randombytes_buf(token.data(), token.size());
  return token;
}

std::string HashDeviceToken(std::string_view token) {
  (void)InitSodium();
  std::string out(kDeviceTokenHashBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return out;
}

bool TokenHashEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace daicho::relay
