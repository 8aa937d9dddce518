// The deterministic simulation of issue 17: one process, one seed. A few
// office PCs (real LMDB replicas on an injected clock), the relay (the real
// RelayService on its LMDB store, admitting device-token logins as
// `daicho-relay serve` does) and LAN links between PCs, all joined by an
// in-memory network that drops, duplicates, delays and reorders frames and
// opens and heals partitions. The seed chooses every edit (all three kinds,
// names reused across kinds, deletes, undeletes, resolves, CSV export and
// import with version tokens), every connection, fault and crash (a PC's or
// the relay's store closed mid-run and reopened from disk).
//
// After the run everything heals and every PC syncs fully with the relay;
// then every replica must hold every acknowledged commit, the same canonical
// state byte for byte, registers holding exactly their causally maximal
// writes, and counters equal to the acknowledged increments. A run's trace
// hash covers every event and the final state: the same seed gives the same
// hash.
#ifndef DAICHO_TESTS_RELIABILITY_SIMULATION_SIMULATION_H_
#define DAICHO_TESTS_RELIABILITY_SIMULATION_SIMULATION_H_

#include <cstdint>
#include <string>

#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::simulation {

inline constexpr char kSimContract[] = "1234-5678-9012";
inline constexpr char kSimUser[] = "sim@example.jp";

// A relay store holding the contract, its user and its office key, made
// once and copied for every run (a run then spends no Argon2id hashing).
Status CreateRelayTemplate(const std::string& dir, const crypto::KeyRing& office_key);

struct SimulationOptions {
  uint64_t seed = 1;
  // Steps of random activity before the network heals.
  int steps = 1000;
  // An empty directory for the run's stores (removed by the caller).
  std::string dir;
  // From CreateRelayTemplate, with the key it was given.
  std::string relay_template;
  const crypto::KeyRing* office_key = nullptr;
  // Write every event to stderr as it happens.
  bool echo_trace = false;
};

struct SimulationFigures {
  int replicas = 0;
  uint64_t commits = 0;      // acknowledged local transactions
  uint64_t abandoned = 0;    // transactions dropped uncommitted (a crash mid-edit)
  uint64_t csv_imports = 0;  // rows imported with writes
  uint64_t frames_delivered = 0;
  uint64_t frames_dropped = 0;
  uint64_t frames_duplicated = 0;
  uint64_t frames_reordered = 0;
  uint64_t connections = 0;
  uint64_t sessions_failed = 0;  // ended by an Error (a fault the protocol caught)
  uint64_t idle_cuts = 0;        // given up at the client's deadline
  uint64_t partitions = 0;
  uint64_t pc_crashes = 0;
  uint64_t relay_crashes = 0;
  uint64_t conflicts = 0;  // records in conflict at the end
  uint64_t trace_hash = 0;

  // Adds `other`'s counts (conflicts as 1 if it ended in any); replicas and
  // trace_hash are left alone.
  SimulationFigures& operator+=(const SimulationFigures& other);
};

// Runs one seed. An error says which check failed and ends with the last
// events of the trace.
Result<SimulationFigures> RunSimulation(const SimulationOptions& options);

}  // namespace daicho::simulation

#endif  // DAICHO_TESTS_RELIABILITY_SIMULATION_SIMULATION_H_
