// Imports R customer records of 12 fields (the WORKLOAD.md values) into a
// fresh replica in transactions of 1000 records and prints one JSON line:
// time, records/s, and the on-disk size per record and per payload byte.
//   ledger_import [--records N] [--dir PATH]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "daicho/replica.h"
#include "ledger_values.h"

namespace {

using daicho::bench::LedgerKey;
using daicho::bench::LedgerValue;

int Fail(const std::string& what, const daicho::Status& s) {
  std::fprintf(stderr, "ledger_import: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

uint64_t DirBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t records = 100000;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      records = static_cast<uint32_t>(std::stoul(argv[++i]));
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: ledger_import [--records N] [--dir PATH]\n");
      return 2;
    }
  }
  const bool temporary = dir.empty();
  if (temporary) {
    dir =
        (std::filesystem::temp_directory_path() / ("daicho-import-" + std::to_string(std::random_device()()))).string();
  }
  daicho::ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = daicho::Replica::Open(dir, options);
  if (!replica.ok()) return Fail("open " + dir, replica.status());

  static const char* const kFields[12] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"};
  uint64_t payload_bytes = 0;
  double commit_ms = 0;
  for (uint32_t first = 0; first < records; first += 1000) {
    const uint32_t end = std::min(records, first + 1000);
    std::vector<std::string> values;  // generated outside the clock
    values.reserve((end - first) * 12);
    for (uint32_t i = first; i < end; ++i) {
      for (uint32_t j = 0; j < 12; ++j) values.push_back(LedgerValue(42, i, j, 0));
    }
    const auto start = std::chrono::steady_clock::now();
    daicho::WriteTransaction txn = (*replica)->BeginWrite();
    size_t v = 0;
    for (uint32_t i = first; i < end; ++i) {
      const std::string key = LedgerKey(i);
      for (uint32_t j = 0; j < 12; ++j) {
        payload_bytes += values[v].size();
        daicho::Status s = txn.Set("customers", key, kFields[j], std::move(values[v++]));
        if (!s.ok()) return Fail("set", s);
      }
    }
    auto info = txn.Commit();
    if (!info.ok()) return Fail("commit", info.status());
    commit_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  replica->reset();
  const uint64_t disk = DirBytes(dir);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "{\"system\":\"daicho\",\"records\":%u,\"fields\":12,\"payload_bytes\":%llu,\"import_ms\":%.1f,"
      "\"records_per_s\":%.0f,\"disk_bytes\":%llu,\"disk_bytes_per_record\":%.1f,\"disk_per_payload_byte\":%.3f,"
      "\"peak_rss_mb\":%.1f}\n",
      records, static_cast<unsigned long long>(payload_bytes), commit_ms, records / (commit_ms / 1000.0),
      static_cast<unsigned long long>(disk), static_cast<double>(disk) / records,
      static_cast<double>(disk) / static_cast<double>(payload_bytes), usage.ru_maxrss / 1024.0);
  if (temporary) std::filesystem::remove_all(dir);
  return 0;
}
