// Byte strings for the tests that feed decoders hostile input: random
// bytes, and valid encodings with a few random edits. Every byte and choice
// is drawn from the caller's generator in a fixed order, so a seed always
// names the same inputs.
#ifndef DAICHO_TESTS_TESTING_RANDOM_BYTES_H_
#define DAICHO_TESTS_TESTING_RANDOM_BYTES_H_

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

namespace daicho::testing {

// `size` bytes, one draw of `rng` each.
std::string RandomBytes(std::mt19937& rng, size_t size);

// `size` bytes from a generator seeded with `seed`.
std::string RandomBytes(size_t size, unsigned seed);

// What one edit of MutateBytes may do at its random position.
enum class ByteEdits {
  kReplaceFlipInsert,       // put a random byte, flip one bit, or insert a random byte
  kReplaceFlipInsertErase,  // the same, or erase 1 to 3 bytes (a byte '\0' stays if none would)
};

// `valid` after 1 to 3 random edits of the kinds `edits` allows. `valid`
// must not be empty.
std::string MutateBytes(std::string_view valid, std::mt19937& rng, ByteEdits edits);

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_RANDOM_BYTES_H_
