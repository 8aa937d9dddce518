#include "tests/reliability/simulation/deterministic_random.h"

#include <sodium.h>
#include <sys/random.h>
#include <sys/types.h>

#include <cstring>

namespace daicho::simulation {
namespace {

std::mt19937_64 stream(1);

const char* Name() { return "daicho-simulation"; }
uint32_t Random() { return static_cast<uint32_t>(stream()); }
void Stir() {}

// libsodium keeps the pointer: it must outlive every call.
randombytes_implementation implementation = {Name, Random, Stir, nullptr, DeterministicBytes, nullptr};

}  // namespace

void DeterministicBytes(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    const uint64_t word = stream();
    const size_t n = size < sizeof word ? size : sizeof word;
    std::memcpy(bytes, &word, n);
    bytes += n;
    size -= n;
  }
}

bool InstallDeterministicRandombytes() {
  return randombytes_set_implementation(&implementation) == 0 && sodium_init() >= 0;
}

void ReseedRandombytes(uint64_t seed) { stream.seed(seed); }

}  // namespace daicho::simulation

// Replica ids come from getrandom(2) directly (core has no libsodium): this
// definition in the program takes the place of glibc's for every caller in
// the process, so they come from the seeded stream too.
extern "C" ssize_t getrandom(void* buffer, size_t length, unsigned int /*flags*/) {
  daicho::simulation::DeterministicBytes(buffer, length);
  return static_cast<ssize_t>(length);
}
