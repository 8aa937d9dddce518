// VersionVector: for each replica, the highest change counter seen.
//
// A replica's own VV says which changes it holds (per origin, the contiguous
// prefix 1..n). It is what you hand to Replica::ChangesSince on another replica
// to learn what you lack. Stored as a small vector sorted by ReplicaId (few
// replicas per office), not a hash map. Absent entries mean 0.
// A plain value type; thread-safe as any const value.
#ifndef DAICHO_VERSION_VECTOR_H_
#define DAICHO_VERSION_VECTOR_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daicho/replica_id.h"

namespace daicho {

// One event: the `counter`-th committed transaction of replica `origin`.
struct Dot {
  ReplicaId origin;
  uint64_t counter = 0;
  friend auto operator<=>(const Dot&, const Dot&) = default;
  friend bool operator==(const Dot&, const Dot&) = default;
};

// How two version vectors relate causally.
enum class Causality { kEqual, kBefore, kAfter, kConcurrent };

class VersionVector {
 public:
  struct Entry {
    ReplicaId replica;
    uint64_t counter = 0;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  VersionVector() = default;

  // Highest counter seen from `replica`, 0 if none.
  uint64_t Get(const ReplicaId& replica) const;
  // Raises the entry of `replica` to at least `counter` (0 is a no-op).
  void Advance(const ReplicaId& replica, uint64_t counter);
  void Advance(const Dot& dot) { Advance(dot.origin, dot.counter); }
  // True iff dot.counter <= Get(dot.origin).
  bool Covers(const Dot& dot) const { return dot.counter <= Get(dot.origin); }
  // True iff every entry of `other` is covered by this vector.
  bool Dominates(const VersionVector& other) const;
  // Pointwise maximum.
  void Join(const VersionVector& other);
  Causality Compare(const VersionVector& other) const;

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  // Entries sorted by replica id, none with counter 0.
  const std::vector<Entry>& entries() const { return entries_; }
  // Sum of all counters: how many changes this vector accounts for.
  uint64_t Total() const;
  // How many of those changes `other` lacks (what a sync would send it).
  uint64_t CountMissingFrom(const VersionVector& other) const;

  // "hex:counter,hex:counter" (sorted); "" for the empty vector.
  std::string ToString() const;
  // Parses ToString()'s form. kInvalidArgument on malformed input.
  static Result<VersionVector> Parse(std::string_view text);

  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace daicho

#endif  // DAICHO_VERSION_VECTOR_H_
