// Helpers for tests of `daicho export` output.
#ifndef DAICHO_TESTS_APPS_CSV_TEST_UTIL_H_
#define DAICHO_TESTS_APPS_CSV_TEST_UTIL_H_

#include <regex>
#include <string>

namespace daicho::testing {

// An exported CSV file without its version tokens (the last column, whose
// cells never need quoting): the values alone, to compare or to import as
// plain values.
inline std::string WithoutVersionColumn(const std::string& csv) {
  static const std::regex kTokenCell(",(daicho\\.version|v2\\.[-_A-Za-z0-9]*)\r\n");
  return std::regex_replace(csv, kTokenCell, "\r\n");
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_APPS_CSV_TEST_UTIL_H_
