// The customer-ledger value generator of bench/WORKLOAD.md: deterministic
// ~40-byte printable values from (seed, record, field, version), and the
// ledger written into a replica as the relay benchmarks upload it.
#ifndef DAICHO_BENCH_LEDGER_VALUES_H_
#define DAICHO_BENCH_LEDGER_VALUES_H_

#include <cstdint>
#include <string>

#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::bench {

uint32_t Fmix32(uint32_t h);
uint32_t ValueSeed(uint32_t seed, uint32_t record, uint32_t field, uint32_t version);
// value(i, j, v) of WORKLOAD.md section 2.
std::string LedgerValue(uint32_t seed, uint32_t record, uint32_t field, uint32_t version);
// "c0000042" for record 42.
std::string LedgerKey(uint32_t record);

// Records 0..records-1 of collection "customers" in `replica`, fields
// f0..f11 = value(i, j, 0), `per_transaction` records per committed
// transaction (so one change each). The replica's write errors.
Status WriteLedger(Replica& replica, uint32_t records, uint32_t seed, uint32_t per_transaction = 1000);

}  // namespace daicho::bench

#endif  // DAICHO_BENCH_LEDGER_VALUES_H_
