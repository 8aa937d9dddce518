// The office key as the relay keeps it: the contract's data keys wrapped so
// that only the office can open them.
//
// Key hierarchy (docs/security.md):
//   office passphrase --Argon2id (MODERATE, own salt)--> wraps the current key
//   recovery code (160 random bits) --BLAKE2b, own salt--> wraps the current key
//   current key --XChaCha20-Poly1305--> seals the older keys (the "key ring")
//                                   \-> seals every change sent to the relay
// A login password never takes part, so a relay password reset cannot lock
// an office out of its ledger. Every wrapped form is authenticated and bound
// to its contract and key id (associated data), so the relay can neither
// swap one contract's envelope for another's nor pass off a key of its own.
//
// Passphrase unwrapping is slow by design (about 256 MiB and 0.5-1 s): never
// call it while holding a lock or a transaction.
//
// Thread-safety: free functions on values, safe from any thread.
// Codes: kInvalidArgument (a passphrase or recovery code that breaks the
// rules, an empty ring), kUnauthenticated (wrong passphrase or recovery
// code), kCorruption (malformed or tampered envelopes), kResourceExhausted
// (no memory for Argon2id), kInternal (libsodium cannot start).
#ifndef DAICHO_CRYPTO_OFFICE_KEY_H_
#define DAICHO_CRYPTO_OFFICE_KEY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::crypto {

inline constexpr size_t kMinPassphraseLength = 10;
inline constexpr size_t kMaxPassphraseLength = 1024;

// What a relay stores per contract and hands to every logged-in PC. None of
// it opens data without the passphrase or the recovery code.
struct WrappedOfficeKey {
  KeyId current_key_id = 0;        // 0: the office key is not set up yet
  std::string passphrase_wrapped;  // the current key, under the passphrase
  std::string recovery_wrapped;    // the current key, under the recovery code
  std::string sealed_ring;         // the older keys, under the current key ("" only for key 1)

  bool empty() const { return current_key_id == 0; }
  friend bool operator==(const WrappedOfficeKey&, const WrappedOfficeKey&) = default;
};

// The envelopes as one byte string (a relay's stored form, a PC's copy for
// new PCs, an exported key file): u32 key id, then the three parts, each
// varint-length-prefixed. Parse: kCorruption if malformed.
std::string SerializeWrappedOfficeKey(const WrappedOfficeKey& keys);
Result<WrappedOfficeKey> ParseWrappedOfficeKey(std::string_view bytes);

// 10-1024 bytes of UTF-8 (any script; it is typed by people). Otherwise
// kInvalidArgument saying why, without echoing it.
Status ValidatePassphrase(std::string_view passphrase);

// A new recovery code: 160 random bits as 32 Crockford base32 characters in
// 8 groups of 4 ("7KQ2-M9XD-..."), to print and keep offline.
Result<std::string> NewRecoveryCode();
// A recovery code as typed (any case, spaces or hyphens anywhere, O for 0,
// I and L for 1) in its canonical form, or kInvalidArgument.
Result<std::string> NormalizeRecoveryCode(std::string_view typed);

// Wraps `ring` for contract `contract`: its current key under `passphrase`
// and under `recovery_code`, the older keys sealed under the current one.
Result<WrappedOfficeKey> WrapOfficeKey(const KeyRing& ring, std::string_view contract, std::string_view passphrase,
                                       std::string_view recovery_code);

// `published` with its passphrase envelope replaced by one under
// `new_passphrase`; `ring` must hold `published`'s current key (proving the
// caller could open it). The recovery code and key ring stay as they were.
Result<WrappedOfficeKey> RewrapWithPassphrase(const WrappedOfficeKey& published, const KeyRing& ring,
                                              std::string_view contract, std::string_view new_passphrase);

// The whole ring (current and older keys) opened with the passphrase.
Result<KeyRing> UnwrapWithPassphrase(const WrappedOfficeKey& wrapped, std::string_view contract,
                                     std::string_view passphrase);
// The same with the recovery code (as typed; normalized here).
Result<KeyRing> UnwrapWithRecoveryCode(const WrappedOfficeKey& wrapped, std::string_view contract,
                                       std::string_view recovery_code);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_OFFICE_KEY_H_
