// What the simulation checks once everything has healed and synced: the
// acknowledged writes it recorded during the run against what each replica
// holds, and the replicas against each other and against the merge rules.
//
// Codes: kInternal with a sentence naming the replica and what differs, or
// the store's codes when one cannot be read.
#ifndef DAICHO_TESTS_RELIABILITY_SIMULATION_SIM_CHECKS_H_
#define DAICHO_TESTS_RELIABILITY_SIMULATION_SIM_CHECKS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::simulation {

class SimChecks {
 public:
  // A commit the user was told succeeded.
  void Acknowledge(const Dot& dot) { acknowledged_.push_back(dot); }
  // An acknowledged add to the counter "n" of a record.
  void CountAdd(const std::string& collection, const std::string& id, int64_t delta) {
    counter_sums_[{collection, id}] += delta;
  }

  // `replica` holds exactly what the relay holds, every acknowledged commit
  // and no other (`commits` in all), and every counter "n" totals its
  // acknowledged adds: nothing lost, nothing applied twice.
  Status CheckReplica(const std::string& name, const Replica& replica, const VersionVector& relay_holds,
                      uint64_t commits) const;

  // Reads every register write of every change `replica` holds, with the
  // context it was written with: the input of the register check.
  Status CollectRegisterWrites(const Replica& replica);

  // The closed stores in `dirs` hold the same records, changes and
  // conflicts byte for byte (record states named independently of each
  // store's replica numbering), and every register state holds exactly its
  // causally maximal writes: those no other write's context covers. Returns a line naming the canonical state's digest,
  // for the trace.
  Result<std::string> CheckStoresIdentical(const std::vector<std::string>& dirs) const;

 private:
  struct RegisterWrite {
    Dot dot;
    VersionVector context;
  };
  Status CheckRegisters(const std::string& dir, const std::string& name) const;

  std::vector<Dot> acknowledged_;
  std::map<std::pair<std::string, std::string>, int64_t> counter_sums_;
  // (storage key "collection\0id", field name) -> its register writes.
  std::map<std::pair<std::string, std::string>, std::vector<RegisterWrite>> register_writes_;
};

}  // namespace daicho::simulation

#endif  // DAICHO_TESTS_RELIABILITY_SIMULATION_SIM_CHECKS_H_
