// Crash loop 1: several writer processes on one replica, each SIGKILLed at a
// random moment, over and over. Writers commit counter adds (each with a
// marker record naming its transaction), now and then a big import of
// hundreds of records, and read between commits; stores start at a small
// LMDB map, so kills land mid-transaction, between a commit and its
// acknowledgement, during map growth and during big imports. After every
// round the store must open at once and hold every acknowledged commit, the
// counter must equal the adds of the transactions present exactly (nothing
// half applied, nothing twice), a big import must be there whole or not at
// all, and no reader slot of a killed process may be left behind once the
// store was opened.
#ifndef DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_WRITER_CRASHES_H_
#define DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_WRITER_CRASHES_H_

#include <cstdint>
#include <string>

#include "daicho/status.h"

namespace daicho::reliability {

struct WriterCrashOptions {
  int kills = 300;    // writer processes killed in all
  int writers = 3;    // writing one replica at once, each killed each round
  std::string dir;    // scratch directory (on a real disk: fsync matters)
  uint64_t seed = 1;  // chooses the kill moments and the writers' work
};

struct WriterCrashFigures {
  int rounds = 0;
  int kills = 0;
  uint64_t commits_acknowledged = 0;
  // Committed but killed before telling anyone: present, never promised.
  uint64_t commits_unacknowledged = 0;
  uint64_t big_imports_committed = 0;
  uint64_t stale_reader_slots_found = 0;  // left by killed processes, before the reopen
  uint64_t stale_reader_slots_left = 0;   // after the reopen: must be 0
  double max_reopen_ms = 0;               // opening the store after the kills
  double seconds = 0;
};

// kInternal naming the round and what was wrong, or the store's codes.
Result<WriterCrashFigures> RunWriterCrashes(const WriterCrashOptions& options);

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_WRITER_CRASHES_H_
