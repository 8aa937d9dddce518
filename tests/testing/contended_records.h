// A handful of records and values for tests that make replicas edit the
// same data concurrently (the convergence property test, the reliability
// suite's simulation): five records, one id in two collections, and values
// of every type with few distinct ones, so equal siblings happen.
// Header-only.
#ifndef DAICHO_TESTS_TESTING_CONTENDED_RECORDS_H_
#define DAICHO_TESTS_TESTING_CONTENDED_RECORDS_H_

#include <string>

#include "daicho/value.h"

namespace daicho::testing {

inline constexpr int kContendedRecords = 5;  // r0..r3 in "c", r0 in "d"

inline std::string ContendedCollection(int record) { return record == kContendedRecords - 1 ? "d" : "c"; }
inline std::string ContendedId(int record) {
  return "r" + std::to_string(record == kContendedRecords - 1 ? 0 : record);
}

// An int, one of three strings, null or one byte, by `v`.
inline Value ContendedValue(int v) {
  switch ((v + 3) % 4) {
    case 0:
      return Value(v);
    case 1:
      return Value("値" + std::to_string(v % 3));
    case 2:
      return Value();
    default:
      return Value(Bytes{std::string(1, static_cast<char>(v))});
  }
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_CONTENDED_RECORDS_H_
