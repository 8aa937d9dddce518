// What judging a contract's entitlements costs (issue 15): the rules engine
// alone, and RelayService::SyncTermsFor as every admission and every live
// session's recheck runs it (store read + evaluation). Filing histories: an
// office filing for `companies` companies a year since 2013, a tenth of them
// changing every year (a run that ends, a new company).
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "relay/entitlements/entitlements.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_service.h"

namespace {

using daicho::entitlements::Date;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;

constexpr char kContract[] = "1234-5678-9012";

std::vector<daicho::entitlements::Filing> History(int companies) {
  std::vector<daicho::entitlements::Filing> filings;
  for (int y = 2013; y <= 2025; ++y) {
    for (int c = 0; c < companies; ++c) {
      // Company ids shift by a tenth each year: old runs end, new ones start.
      const int id = c + (y - 2013) * companies / 10;
      filings.push_back({"K-" + std::to_string(id), Date{year{y}, month{static_cast<unsigned>(1 + c % 12)}, day{10}}});
    }
  }
  return filings;
}

daicho::entitlements::Licence BothOptions() {
  daicho::entitlements::Licence licence;
  licence.first_renewal = Date{year{2014}, month{4}, day{1}};
  licence.backup_applied = licence.billing_applied = true;
  return licence;
}

void BM_Evaluate(benchmark::State& state) {
  const auto filings = History(static_cast<int>(state.range(0)));
  const Date today{year{2026}, month{5}, day{10}};
  for (auto _ : state) {
    auto evaluation = daicho::entitlements::Evaluate(BothOptions(), filings, {}, today);
    if (!evaluation.ok()) state.SkipWithError(evaluation.status().ToString().c_str());
    benchmark::DoNotOptimize(evaluation);
  }
  state.counters["filings"] = static_cast<double>(filings.size());
}
BENCHMARK(BM_Evaluate)->Arg(10)->Arg(50)->Arg(200)->Unit(benchmark::kMicrosecond);

void BM_SyncTermsFor(benchmark::State& state) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("daicho-entitlements-bench-" + std::to_string(state.range(0))))
          .string();
  std::filesystem::remove_all(dir);
  auto backend = daicho::relay::LmdbBackend::Open(dir);
  if (!backend.ok()) return state.SkipWithError(backend.status().ToString().c_str());
  auto service = daicho::relay::RelayService::Create(*std::move(backend));
  if (!service.ok()) return state.SkipWithError(service.status().ToString().c_str());
  const auto contract = daicho::relay::ContractNumber::Parse(kContract).value();
  (void)(*service)->AddContract(contract);
  (void)(*service)->SetLicence(contract, BothOptions());
  std::vector<daicho::relay::RelayService::FilingRow> rows;
  for (const auto& filing : History(static_cast<int>(state.range(0)))) {
    rows.push_back({rows.size() + 2, contract, filing.company_id, filing.date, {}});
  }
  auto imported = (*service)->ImportFilings(rows, {}, false);
  if (!imported.ok()) return state.SkipWithError(imported.status().ToString().c_str());
  for (auto _ : state) {
    auto terms = (*service)->SyncTermsFor(contract);
    if (!terms.ok()) state.SkipWithError(terms.status().ToString().c_str());
    benchmark::DoNotOptimize(terms);
  }
  state.counters["filings"] = static_cast<double>(rows.size());
  service->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SyncTermsFor)->Arg(10)->Arg(50)->Arg(200)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
