// BenchRelay: an in-process relay for the benchmarks, logged into as the CLI
// does after `daicho connect --save-password`.
//
// A RelayService over an LMDB backend in its own directory with one contract and one user, served
// by a SyncServer on a loopback port (ws://127.0.0.1:<port>/) that admits
// sessions with relay::AdmitSession, exactly as `daicho-relay serve` does.
// With `sealed` (the product's setting) the relay requires end-to-end
// encrypted changes and the PCs seal and open them under an office key they
// already hold; without it changes travel in plaintext (for measuring what
// sealing costs only).
// Login() makes the one password login (Argon2id on the relay) that issues a
// device token; every Sync() then logs in with that token.
//
// Ownership: owns the store and the server (the server stops first on
// destruction). Not thread-safe. Codes: the RelayService's and SyncOnce's;
// kFailedPrecondition for a Sync() before Login().
#ifndef DAICHO_BENCH_BENCH_RELAY_H_
#define DAICHO_BENCH_BENCH_RELAY_H_

#include <memory>
#include <string>

#include "crypto/key_ring.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "relay/relay_service.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace daicho::bench {

class BenchRelay {
 public:
  ~BenchRelay();
  BenchRelay(const BenchRelay&) = delete;
  BenchRelay& operator=(const BenchRelay&) = delete;

  // Creates the relay store in `dir` (missing or empty), adds the contract
  // and the user (and the office key if `sealed`), and starts serving.
  static Result<std::unique_ptr<BenchRelay>> Start(const std::string& dir, bool sealed = true);

  // The password login of `replica`'s PC (a connect test: no changes flow).
  Status Login(Replica& replica);
  // One sync of `replica` with the relay, logged in with the device token.
  Result<transport::SyncReport> Sync(Replica& replica);

  const std::string& url() const { return url_; }

 private:
  BenchRelay() = default;

  std::unique_ptr<relay::RelayService> store_;
  std::unique_ptr<transport::SyncServer> server_;  // after store_: destroyed first
  sync::SessionOptions session_;
  std::string url_;
  crypto::KeyRing office_key_;  // empty: changes travel unsealed
  bool logged_in_ = false;
};

}  // namespace daicho::bench

#endif  // DAICHO_BENCH_BENCH_RELAY_H_
