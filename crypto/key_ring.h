// KeyRing: an office's data keys. The newest (the current key) seals every
// change from now on; older ones, kept after a rotation, only open changes
// sealed before it. Key ids count up from 1 with each rotation.
//
// Keys are secret: a KeyRing is move-only, wipes its memory on destruction
// and never prints a key. Serialize() gives the raw secret bytes, for the
// local key file only (crypto/key_file.h).
//
// Thread-safety: const methods may run concurrently; mutation needs
// exclusive access. Codes: kInternal (libsodium cannot start),
// kCorruption (Parse of damaged bytes), kResourceExhausted (key ids used up).
#ifndef DAICHO_CRYPTO_KEY_RING_H_
#define DAICHO_CRYPTO_KEY_RING_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/status.h"

namespace daicho::crypto {

inline constexpr size_t kDataKeyBytes = 32;
// 0 means "no key"; real ids start at 1.
using KeyId = uint32_t;

// Initializes libsodium once (every function of this library calls it).
// kInternal if the system has no usable random source.
Status InitSodium();

class KeyRing {
 public:
  using Key = std::array<unsigned char, kDataKeyBytes>;

  KeyRing() = default;  // empty: holds no key
  ~KeyRing();
  KeyRing(KeyRing&& other) noexcept;
  KeyRing& operator=(KeyRing&& other) noexcept;
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // A ring of one new random key, id 1.
  static Result<KeyRing> Create();
  // A copy (explicit, so secrets are never copied by accident).
  KeyRing Clone() const;
  // A copy plus a new random key with the next id, which becomes current.
  Result<KeyRing> Rotated() const;

  bool empty() const { return entries_.empty(); }
  // The newest key's id; 0 when empty.
  KeyId current_id() const { return entries_.empty() ? 0 : entries_.back().id; }
  // The key with `id`, or nullptr.
  const Key* Find(KeyId id) const;
  // Ids held, ascending.
  std::vector<KeyId> ids() const;

  // Adds `id` (kept sorted); a second add of the same id must carry the same
  // key, else kCorruption (two different keys claim one id).
  Status Add(KeyId id, const Key& key);

  // The raw form: for the local key file and for sealing older keys under
  // the current one. Parse() refuses anything malformed with kCorruption.
  std::string Serialize() const;
  static Result<KeyRing> Parse(std::string_view bytes);

 private:
  struct Entry {
    KeyId id = 0;
    Key key{};
  };
  void Wipe();

  std::vector<Entry> entries_;  // ascending id
};

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_KEY_RING_H_
