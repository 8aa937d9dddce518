// A change file in the format of version 1 (no contract, no key id), as
// daicho wrote it before change files named their office; for the tests of
// reading and importing old files. Built here, byte by byte from
// docs/formats.md, because daicho itself no longer writes it.
#ifndef DAICHO_TESTS_STORAGE_CODEC_CHANGE_FILE_V1_H_
#define DAICHO_TESTS_STORAGE_CODEC_CHANGE_FILE_V1_H_

#include <cstdint>
#include <string>
#include <vector>

#include "daicho/replica.h"

namespace daicho::testing {

inline std::string Version1ChangeFile(const std::vector<ChangeBlob>& blobs) {
  auto le = [](std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string out = "DAICHOCF";
  le(out, 1, 4);
  for (const ChangeBlob& c : blobs) {
    out.append(c.origin.AsStringView());
    le(out, c.seq, 8);
    le(out, c.payload.size(), 4);
    out += c.payload;
  }
  uint64_t fnv = 0xcbf29ce484222325ull;
  for (unsigned char c : out) fnv = (fnv ^ c) * 0x100000001b3ull;
  out += "DCFEND!!";
  le(out, blobs.size(), 8);
  le(out, fnv, 8);
  return out;
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_STORAGE_CODEC_CHANGE_FILE_V1_H_
