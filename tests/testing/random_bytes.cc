#include "tests/testing/random_bytes.h"

namespace daicho::testing {

std::string RandomBytes(std::mt19937& rng, size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  return RandomBytes(rng, size);
}

std::string MutateBytes(std::string_view valid, std::mt19937& rng, ByteEdits edits) {
  std::string bytes(valid);
  const unsigned kinds = edits == ByteEdits::kReplaceFlipInsertErase ? 4 : 3;
  const int count = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < count; ++e) {
    const size_t pos = rng() % bytes.size();
    switch (rng() % kinds) {
      case 0:
        bytes[pos] = static_cast<char>(rng());
        break;
      case 1:
        bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << (rng() % 8)));
        break;
      case 2:
        bytes.insert(pos, 1, static_cast<char>(rng()));
        break;
      case 3:
        bytes.erase(pos, 1 + rng() % 3);
        break;
    }
    if (bytes.empty()) bytes.push_back('\0');
  }
  return bytes;
}

}  // namespace daicho::testing
