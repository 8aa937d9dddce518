// Helpers shared by the codec tests: a probe report, with
// tests/testing's op builders and the ids and version vectors spelled with
// small numbers.
#ifndef DAICHO_TESTS_STORAGE_CODEC_TEST_UTIL_H_
#define DAICHO_TESTS_STORAGE_CODEC_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "core/change.h"
#include "core/hex.h"
#include "daicho/replica_id.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"
#include "tests/testing/op_builders.h"
#include "tests/testing/replica_ids.h"

namespace daicho::testing {

// Runs a probe (returns a problem, or "" when the input was handled well)
// over many inputs; reports the first few problems with their bytes, then
// how many failed in all.
class ProbeReport {
 public:
  using Probe = std::string (*)(std::string_view);

  void Check(Probe probe, std::string_view input, const std::string& what) {
    const std::string problem = probe(input);
    ++runs_;
    if (problem.empty()) return;
    if (++failures_ <= 3) ADD_FAILURE() << what << ": " << problem << "\n  input: " << core::HexEncode(input);
  }
  ~ProbeReport() {
    if (failures_ > 3) ADD_FAILURE() << failures_ << " of " << runs_ << " inputs failed in all";
  }

 private:
  int runs_ = 0;
  int failures_ = 0;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_STORAGE_CODEC_TEST_UTIL_H_
