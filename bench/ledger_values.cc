#include "ledger_values.h"

#include <algorithm>
#include <cstdio>

namespace daicho::bench {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .";

class Mulberry32 {
 public:
  explicit Mulberry32(uint32_t state) : s_(state) {}
  uint32_t Next() {
    s_ += 0x6D2B79F5u;
    uint32_t z = s_;
    z = (z ^ (z >> 15)) * (z | 1u);
    z ^= z + (z ^ (z >> 7)) * (z | 61u);
    return z ^ (z >> 14);
  }

 private:
  uint32_t s_;
};

}  // namespace

uint32_t Fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

uint32_t ValueSeed(uint32_t seed, uint32_t record, uint32_t field, uint32_t version) {
  uint32_t h = Fmix32(seed ^ 0x9E3779B9u);
  h = Fmix32(h ^ record);
  return Fmix32(h ^ ((field << 8) | version));
}

std::string LedgerValue(uint32_t seed, uint32_t record, uint32_t field, uint32_t version) {
  Mulberry32 rng(ValueSeed(seed, record, field, version));
  const uint32_t len = 32 + rng.Next() % 17;
  std::string out;
  out.reserve(len);
  for (uint32_t k = 0; k < len; ++k) out += kAlphabet[rng.Next() >> 26];
  return out;
}

std::string LedgerKey(uint32_t record) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%07u", record);
  return buf;
}

Status WriteLedger(Replica& replica, uint32_t records, uint32_t seed, uint32_t per_transaction) {
  static const char* const kFields[12] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"};
  for (uint32_t first = 0; first < records; first += per_transaction) {
    WriteTransaction txn = replica.BeginWrite();
    for (uint32_t i = first; i < std::min(records, first + per_transaction); ++i) {
      for (uint32_t j = 0; j < 12; ++j) {
        DAICHO_RETURN_IF_ERROR(txn.Set("customers", LedgerKey(i), kFields[j], LedgerValue(seed, i, j, 0)));
      }
    }
    DAICHO_RETURN_IF_ERROR(txn.Commit().status());
  }
  return Status::Ok();
}

}  // namespace daicho::bench
