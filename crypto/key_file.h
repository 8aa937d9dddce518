// The office key on one PC: the key ring saved as `office.key` in the
// replica's directory, readable and writable by its owner alone (mode 0600),
// so syncing needs no passphrase after the first unlock. Losing the file
// loses nothing: the ring is unlocked again from the relay's envelopes.
//
// Layout: magic "DOK1", the contract (length-prefixed), the serialized ring
// (length-prefixed), and a 16-byte BLAKE2b checksum of all that, so a damaged
// file is reported as such instead of failing every change later.
//
// Thread-safety: whole-file reads and atomic replaces (temp file, fsync,
// rename), safe across threads and processes. Codes: kIoError (cannot read
// or write; full disk), kCorruption (damaged file), kPermissionDenied (the
// file is readable by others: the key would be exposed).
#ifndef DAICHO_CRYPTO_KEY_FILE_H_
#define DAICHO_CRYPTO_KEY_FILE_H_

#include <optional>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::crypto {

struct StoredOfficeKey {
  std::string contract;  // the key ring belongs to this contract only
  KeyRing ring;
};

// `replica_dir`/office.key
std::string OfficeKeyPath(std::string_view replica_dir);

// Atomically replaces the file with `ring` for `contract` (mode 0600).
Status SaveOfficeKey(const std::string& path, std::string_view contract, const KeyRing& ring);
// The saved key, or nullopt when there is no file.
Result<std::optional<StoredOfficeKey>> LoadOfficeKey(const std::string& path);
// Removes the file (ok if there is none).
Status RemoveOfficeKey(const std::string& path);

// Atomically replaces `path` with `bytes`, readable and writable by the owner
// alone from the first moment (mode 0600; temp file, fsync, rename, directory
// fsync). kIoError.
Status WriteOwnerOnlyFile(const std::string& path, std::string_view bytes);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_KEY_FILE_H_
