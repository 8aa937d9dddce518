// Credentials of the relay: user id and password rules, Argon2id password
// hashes, and random device tokens stored only as hashes (crypto/
// secret_token.h). Wraps libsodium so no libsodium type leaves this file
// pair.
//
// Thread-safety: every function may be called concurrently from any thread;
// sodium_init runs once (crypto::InitSodium, called by every function that
// needs it).
// Password hashing is deliberately slow (see HashPassword): never call it
// while holding a lock or a database transaction.
#ifndef DAICHO_RELAY_PASSWORD_H_
#define DAICHO_RELAY_PASSWORD_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::relay {

using crypto::InitSodium;

inline constexpr size_t kMinUserIdLength = 3;
inline constexpr size_t kMaxUserIdLength = 100;
inline constexpr size_t kMinPasswordLength = 8;
inline constexpr size_t kMaxPasswordLength = 100;
// Raw bytes of a device token, and of its stored hash.
inline constexpr size_t kDeviceTokenBytes = 32;
inline constexpr size_t kDeviceTokenHashBytes = 32;

// What is wrong with a user id or password, for front ends that word the
// rule in their own language (the relay's panel); ValidateUserId and
// ValidatePassword give the English sentence.
enum class CredentialProblem {
  kNone,
  kTooShort,
  kTooLong,
  kBadCharacters,  // outside the allowed set (see each rule)
};

// User ids are the vendor's e-mail addresses: 3-100 characters of printable
// ASCII (0x21-0x7E), no spaces.
CredentialProblem CheckUserId(std::string_view user_id);
// CheckUserId as a Status: kInvalidArgument saying why.
Status ValidateUserId(std::string_view user_id);

// True if `user_id` is an address a reset code can be mailed to and that is
// safe in a mail header: local part of RFC 5322 atext characters and dots,
// '@', a domain of two or more letter/digit/hyphen labels. Every id is not
// one (ids from before the panel may be any printable ASCII).
bool IsMailAddress(std::string_view user_id);

// The form user ids are compared and keyed in: ASCII letters folded to lower
// case (e-mail addresses are case-insensitive in practice; ids are ASCII
// only, see ValidateUserId). "Yamada@Example.jp" and "yamada@example.jp" are
// one account; the store keeps the form it was added with for display.
std::string FoldUserId(std::string_view user_id);

// Passwords: 8-100 characters, half-width letters and digits only
// (A-Z, a-z, 0-9), as the vendor's control panel requires.
CredentialProblem CheckPassword(std::string_view password);
// CheckPassword as a Status: kInvalidArgument saying why (the password
// itself, and its length, are never in the message).
Status ValidatePassword(std::string_view password);

// An Argon2id hash in libsodium's self-describing string form
// ("$argon2id$v=19$m=65536,t=2,p=1$..."), with a random salt.
// Cost: OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE = 2 passes over 64 MiB,
// about 50-100 ms and 64 MiB of memory per call on a current PC; that is the
// point (an offline guess costs as much), so callers keep calls few.
// Does not validate the password (see ValidatePassword).
// Codes: kResourceExhausted (out of memory), kInternal (libsodium init).
Result<std::string> HashPassword(std::string_view password);

// True if `password` matches `hash` (from HashPassword). Same cost as
// HashPassword. A malformed hash is simply false.
bool VerifyPassword(std::string_view hash, std::string_view password);

// A hash no password matches with certainty worth caring about; verifying
// against it costs as much as a real verify, so an unknown user id takes as
// long to refuse as a wrong password. Computed once (one HashPassword).
const std::string& DummyPasswordHash();

// kDeviceTokenBytes random bytes (crypto::RandomToken), the secret a PC
// keeps instead of the password ("save password").
std::string NewDeviceToken();

// The stored form of a device token: crypto::TokenHash (BLAKE2b,
// kDeviceTokenHashBytes bytes). Tokens are 256 random bits, so a fast hash
// is enough: a stolen relay database does not reveal usable tokens.
std::string HashDeviceToken(std::string_view token);

// Constant-time equality of two token hashes (crypto::SecretEquals); false
// if the sizes differ.
bool TokenHashEquals(std::string_view a, std::string_view b);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_PASSWORD_H_
