// The change file container: changes carried between replicas on a USB
// stick, with a header naming the office the file is from. This layer only
// stores and checks bytes (magic, version, lengths, count, checksum); which
// office may import a file and the sealing of its payloads are the client's
// business (include/daicho/change_file.h, client/change_file.cc), so storage
// needs no crypto.
//
// Format (docs/formats.md "Change files"): version 2 writes the header below;
// version 1 files (no header) are still read, as naming no office.
//
// Thread-safety: free functions on files. Codes: kNotFound (no file),
// kCorruption (not a change file, truncated, damaged, unknown version),
// kIoError (cannot write: the target is left as it was), kInvalidArgument
// (a contract or payload too long to write).
#ifndef DAICHO_STORAGE_CODEC_CHANGE_FILE_H_
#define DAICHO_STORAGE_CODEC_CHANGE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::storage {

inline constexpr uint32_t kChangeFileVersion = 2;
// A contract number is 14 bytes; anything longer in a file is damage.
inline constexpr size_t kMaxChangeFileContractBytes = 64;

// What a change file says about itself.
struct ChangeFileHeader {
  // As read (1 or 2); WriteChangeFile always writes kChangeFileVersion.
  uint32_t version = kChangeFileVersion;
  // The office's contract number; "" when the writer belonged to none.
  std::string contract;
  // The office key id every payload is sealed under; 0: payloads in clear.
  uint32_t key_id = 0;
};

struct ChangeFileContents {
  ChangeFileHeader header;
  std::vector<ChangeBlob> changes;  // in file order
};

// Writes `changes` under `header` to `path`: to `path`.tmp, fsynced, then
// renamed, so a full disk or a pulled stick never leaves a half-written file
// under the final name.
Status WriteChangeFile(const std::string& path, const ChangeFileHeader& header, std::span<const ChangeBlob> changes);

// Reads and checks a whole file; any damage is kCorruption and nothing of it
// is returned.
Result<ChangeFileContents> ReadChangeFile(const std::string& path);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_CHANGE_FILE_H_
