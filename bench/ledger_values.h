// The customer-ledger value generator of bench/WORKLOAD.md: deterministic
// ~40-byte printable values from (seed, record, field, version).
#ifndef DAICHO_BENCH_LEDGER_VALUES_H_
#define DAICHO_BENCH_LEDGER_VALUES_H_

#include <cstdint>
#include <string>

namespace daicho::bench {

uint32_t Fmix32(uint32_t h);
uint32_t ValueSeed(uint32_t seed, uint32_t record, uint32_t field, uint32_t version);
// value(i, j, v) of WORKLOAD.md section 2.
std::string LedgerValue(uint32_t seed, uint32_t record, uint32_t field, uint32_t version);
// "c0000042" for record 42.
std::string LedgerKey(uint32_t record);

}  // namespace daicho::bench

#endif  // DAICHO_BENCH_LEDGER_VALUES_H_
