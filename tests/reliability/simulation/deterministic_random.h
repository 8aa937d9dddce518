// Randomness the simulation controls. Every random byte the product draws
// comes from libsodium's randombytes (device tokens, nonces, keys) or from
// getrandom(2) (replica ids); replacing both with one seeded generator makes
// a whole run a function of its seed: the same seed replays the same trace.
// Test-only: the stream is predictable by design.
#ifndef DAICHO_TESTS_RELIABILITY_SIMULATION_DETERMINISTIC_RANDOM_H_
#define DAICHO_TESTS_RELIABILITY_SIMULATION_DETERMINISTIC_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <random>

namespace daicho::simulation {

// Installs the seeded implementation. Must run before anything calls
// sodium_init (first thing in main); false if libsodium refused it.
bool InstallDeterministicRandombytes();
// Restarts the stream from `seed`.
void ReseedRandombytes(uint64_t seed);
// The next `size` bytes of the stream.
void DeterministicBytes(void* out, size_t size);

// The simulation's own choices: one generator per run, nothing else.
class SimRandom {
 public:
  explicit SimRandom(uint64_t seed) : gen_(seed) {}
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return gen_() % n; }
  int Index(size_t n) { return static_cast<int>(Below(n)); }
  // True with probability `p`.
  bool Chance(double p) { return static_cast<double>(gen_() >> 11) * 0x1.0p-53 < p; }
  uint64_t Next() { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

}  // namespace daicho::simulation

#endif  // DAICHO_TESTS_RELIABILITY_SIMULATION_DETERMINISTIC_RANDOM_H_
