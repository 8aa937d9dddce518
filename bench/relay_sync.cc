// Sync of the customer ledger through a relay over a loopback WebSocket, as
// issue 3 measures it: R records of 12 fields uploaded by PC A into an empty
// relay, downloaded by a fresh PC B, then one edited field synced again.
// The PCs log in as the CLI does after `connect --save-password`: one
// password login (password_login_ms, Argon2id on the relay) issues a device
// token used by every sync. Prints one JSON line. Values from WORKLOAD.md's
// generator.
//   relay_sync [--records N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "bench_relay.h"
#include "daicho/replica.h"
#include "ledger_values.h"

namespace {

using daicho::Status;

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "relay_sync: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t records = 100000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      records = static_cast<uint32_t>(std::stoul(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: relay_sync [--records N]\n");
      return 2;
    }
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("daicho-relay-sync-" + std::to_string(std::random_device()()));
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};

  auto relay = daicho::bench::BenchRelay::Start((dir / "relay").string());
  if (!relay.ok()) return Fail("relay", relay.status());

  daicho::ReplicaOptions options;
  options.create_if_missing = true;
  auto a = daicho::Replica::Open((dir / "a").string(), options);
  auto b = daicho::Replica::Open((dir / "b").string(), options);
  if (!a.ok() || !b.ok()) return Fail("replicas", a.ok() ? b.status() : a.status());
  if (Status s = daicho::bench::WriteLedger(**a, records, 42); !s.ok()) return Fail("ledger", s);

  // As `daicho connect --save-password` does: one password login (Argon2id on
  // the relay) issues a device token; every sync then logs in with it.
  auto start = std::chrono::steady_clock::now();
  Status login = (*relay)->Login(**a);
  const double password_login_ms = MsSince(start);
  if (!login.ok()) return Fail("login", login);
  auto sync = [&](daicho::Replica& replica) { return (*relay)->Sync(replica); };

  start = std::chrono::steady_clock::now();
  auto upload = sync(**a);
  const double upload_ms = MsSince(start);
  if (!upload.ok()) return Fail("upload", upload.status());
  start = std::chrono::steady_clock::now();
  auto download = sync(**b);
  const double download_ms = MsSince(start);
  if (!download.ok()) return Fail("download", download.status());

  {
    daicho::WriteTransaction txn = (*a)->BeginWrite();
    if (Status s = txn.Set("customers", daicho::bench::LedgerKey(records - 1), "f5",
                           daicho::bench::LedgerValue(42, records - 1, 5, 3));
        !s.ok()) {
      return Fail("edit", s);
    }
    if (auto info = txn.Commit(); !info.ok()) return Fail("edit commit", info.status());
  }
  start = std::chrono::steady_clock::now();
  auto incremental = sync(**a);
  const double incremental_ms = MsSince(start);
  if (!incremental.ok()) return Fail("incremental", incremental.status());
  const bool converged = *(*a)->GetVersionVector() != *(*b)->GetVersionVector() && sync(**b).ok() &&
                         *(*a)->GetVersionVector() == *(*b)->GetVersionVector();
  relay->reset();  // stops the server

  std::printf(
      "{\"system\":\"daicho\",\"records\":%u,\"password_login_ms\":%.1f,\"upload_ms\":%.1f,\"upload_changes\":%llu,"
      "\"upload_bytes\":%llu,"
      "\"download_ms\":%.1f,\"download_bytes\":%llu,\"incremental_ms\":%.2f,\"incremental_bytes_total\":%llu,"
      "\"converged\":%s}\n",
      records, password_login_ms, upload_ms, static_cast<unsigned long long>(upload->changes_up),
      static_cast<unsigned long long>(upload->bytes_up) + upload->bytes_down, download_ms,
      static_cast<unsigned long long>(download->bytes_up) + download->bytes_down, incremental_ms,
      static_cast<unsigned long long>(incremental->bytes_up) + incremental->bytes_down, converged ? "true" : "false");
  return converged ? 0 : 1;
}
