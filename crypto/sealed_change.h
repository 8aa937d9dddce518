// Sealed changes: a change payload as it travels to and rests on the relay,
// encrypted and authenticated under the office's current data key.
//
// Layout: magic 0xDA, format 1, key id (u32 LE), 24-byte random nonce, then
// XChaCha20-Poly1305 ciphertext with its 16-byte tag (docs/formats.md). The
// associated data binds the payload to its contract, origin, seq and key id:
// a relay that moves a payload to another seq, origin or contract, replays
// it elsewhere or relabels its key id makes it fail to open.
//
// Thread-safety: free functions on values. Codes: kCorruption (not a sealed
// payload, or it does not authenticate: tampered, truncated or moved),
// kFailedPrecondition (sealed under a key the ring does not hold),
// kInvalidArgument (an empty ring when sealing).
#ifndef DAICHO_CRYPTO_SEALED_CHANGE_H_
#define DAICHO_CRYPTO_SEALED_CHANGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"

namespace daicho::crypto {

// Bytes a sealed payload adds to the plaintext.
inline constexpr size_t kSealOverheadBytes = 2 + 4 + 24 + 16;

// Where a change belongs; all of it is authenticated with the payload.
struct ChangeAddress {
  std::string_view contract;
  ReplicaId origin;
  uint64_t seq = 0;
};

// Seals `payload` under the ring's current key.
Result<std::string> SealChange(const KeyRing& ring, const ChangeAddress& address, std::string_view payload);

// Opens a sealed payload with whichever key of the ring it names.
Result<std::string> OpenChange(const KeyRing& ring, const ChangeAddress& address, std::string_view sealed);

// The key id in a sealed payload's clear header (what a relay checks without
// any key). kCorruption if `sealed` is not a sealed payload.
Result<KeyId> SealedKeyId(std::string_view sealed);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_SEALED_CHANGE_H_
