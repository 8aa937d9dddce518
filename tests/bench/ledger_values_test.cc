// The customer-ledger value generator against the test vectors and the
// whole-dataset checks of bench/WORKLOAD.md section 2 (seed 42), and the
// ledger as WriteLedger commits it.
#include "ledger_values.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/testing/temp_dir.h"

namespace daicho::bench {
namespace {

constexpr uint32_t kSeed = 42;

TEST(LedgerValuesTest, Fmix32MatchesTheTestVector) { EXPECT_EQ(Fmix32(1), 1364076727u); }

TEST(LedgerValuesTest, ValueSeedMatchesTheTestVector) { EXPECT_EQ(ValueSeed(kSeed, 0, 0, 0), 1066519350u); }

TEST(LedgerValuesTest, ValuesMatchTheTestVectors) {
  EXPECT_EQ(LedgerValue(kSeed, 0, 0, 0), "YZWtl YPfb7k3K3xlD2eXhgulBQC2J3INPoVQsfvYW708C5j");
  EXPECT_EQ(LedgerValue(kSeed, 0, 11, 0), "bksGnF79u0I6p2TisUL4ro0ClVbAMTYooTgwhds");
  EXPECT_EQ(LedgerValue(kSeed, 1, 0, 0), "84oVYIwCBJrlWP8kZL4S0I0jtW1voHV40 Zg3KcZak");
  EXPECT_EQ(LedgerValue(kSeed, 12345, 7, 0), ".2NYfFrwC2j3jCn43XbaEXJ601qTXUCtmi .c");
  EXPECT_EQ(LedgerValue(kSeed, 0, 1, 1), "v2uPVaTcvOxi0BM97Or0MHD21LpFmb9YA");
  EXPECT_EQ(LedgerValue(kSeed, 0, 1, 2), "8nZM GOQN7IHxyLFxanpY8SHgEyIQmzNE6YArI1");
  EXPECT_EQ(LedgerValue(kSeed, 9999, 5, 3), "u4bgoRV 37.64TQhKP6C VLWgwa5vKX0yZH");
  EXPECT_EQ(LedgerValue(kSeed, 99999, 5, 3), "sZ.mQrXHklPff9h37CbI4v190 NjmvAl");
}

TEST(LedgerValuesTest, KeysAreZeroPaddedToSevenDigits) {
  EXPECT_EQ(LedgerKey(0), "c0000000");
  EXPECT_EQ(LedgerKey(1), "c0000001");
  EXPECT_EQ(LedgerKey(99999), "c0099999");
}

TEST(LedgerValuesTest, ValuesAre32To48PrintableBytesOfTheAlphabet) {
  constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .";
  for (uint32_t i = 0; i < 1000; ++i) {
    const std::string v = LedgerValue(kSeed, i, i % 12, i % 4);
    ASSERT_GE(v.size(), 32u);
    ASSERT_LE(v.size(), 48u);
    ASSERT_EQ(v.find_first_not_of(kAlphabet), std::string::npos) << v;
  }
}

struct DatasetCheck {
  uint64_t payload_bytes = 0;
  uint64_t fnv1a64 = 0;
};

// FNV-1a 64 over the lines key "\t" "f" j "\t" value(i, j, 0) "\n", records
// outer, fields inner; and the sum of the value lengths.
DatasetCheck CheckDataset(uint32_t records) {
  DatasetCheck check;
  uint64_t h = 0xcbf29ce484222325ull;
  auto hash = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  for (uint32_t i = 0; i < records; ++i) {
    const std::string key = LedgerKey(i);
    for (uint32_t j = 0; j < 12; ++j) {
      const std::string value = LedgerValue(kSeed, i, j, 0);
      check.payload_bytes += value.size();
      hash(key);
      hash("\tf");
      hash(std::to_string(j));
      hash("\t");
      hash(value);
      hash("\n");
    }
  }
  check.fnv1a64 = h;
  return check;
}

TEST(LedgerValuesTest, DatasetOf10000RecordsMatchesPayloadBytesAndChecksum) {
  const DatasetCheck check = CheckDataset(10000);
  EXPECT_EQ(check.payload_bytes, 4801169u);
  EXPECT_EQ(check.fnv1a64, 0x9193f3c801a3d0f0ull);
}

TEST(LedgerValuesTest, DatasetOf100000RecordsMatchesPayloadBytesAndChecksum) {
  const DatasetCheck check = CheckDataset(100000);
  EXPECT_EQ(check.payload_bytes, 48003723u);
  EXPECT_EQ(check.fnv1a64, 0xef6ea80df1cffca1ull);
}

TEST(WriteLedgerTest, CommitsOneChangePerTransactionOfGeneratedRecords) {
  testing::TempDir dir;
  ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = Replica::Open(dir.Sub("a"), options);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE(WriteLedger(**replica, 2500, kSeed, 1000).ok());
  auto vv = (*replica)->GetVersionVector();
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(vv->Total(), 3u);  // 1000 + 1000 + 500 records
  for (const uint32_t i : {0u, 1999u, 2499u}) {
    auto record = (*replica)->Get("customers", LedgerKey(i));
    ASSERT_TRUE(record.ok()) << i;
    ASSERT_EQ(record->fields.size(), 12u);
    ASSERT_NE(record->Find("f7"), nullptr);
    EXPECT_EQ(record->Find("f7")->value.as_string(), LedgerValue(kSeed, i, 7, 0));
  }
  EXPECT_EQ((*replica)->Get("customers", LedgerKey(2500)).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace daicho::bench
