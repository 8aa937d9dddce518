// The relay on PostgreSQL (issue 16): what several `daicho-relay --store`
// nodes over one PostgreSQL store sustain. Starts its own throw-away
// PostgreSQL 15 cluster with durable commits (fsync and synchronous_commit
// on; `--standby` adds a synchronous streaming standby, as the topology
// tests run), then `daicho-relay serve` processes on loopback ports, and
// measures three things (each a database of its own, made before its
// relays start; `--parts` picks some):
//
//   upload:   C contracts with one PC each, every PC uploading N changes at
//             once, through 1 node and then through `--nodes` nodes
//             (contract i on node i mod nodes): changes/s and wall time.
//   clients:  K PCs (P per contract) logged in and live (watch mode) over
//             the nodes (`--spread`: see below); each round one PC per
//             contract commits a change, and the latency is from that
//             commit until every other PC of the contract holds it
//             (p50/p99); RSS per connection of each relay process (VmRSS
//             after the logins minus before, over its connections).
//   backends: one PC uploading a ledger of R records (WORKLOAD.md values,
//             1,000 records per change) through one `daicho-relay --data`
//             (LMDB) process and one `daicho-relay --store` process.
//
// The PCs are in-process and light: each is a transport session
// (transport::SyncOnce, a thread each) over a change store in memory, sealed
// end to end under one office key as the product seals (SealedChangeStore);
// no LMDB replica per PC except the ledger's. The store's contracts, users,
// office keys and device tokens are made in-process before the relays start
// (untimed: the Argon2id of a password login would otherwise dominate); the
// PCs then log in with their device tokens, as after
// `daicho connect --save-password`.
//
// All PCs of a contract are on one node, the way deploy/haproxy.cfg routes
// by contract; with `--spread` a contract's PCs are spread over the nodes,
// so every live change also goes from node to node (NOTIFY, then a push).
//
//   relay_cluster [--quick] [--parts upload,clients,backends] [--nodes N]
//                 [--contracts C] [--changes N] [--payload-bytes B]
//                 [--batch-bytes B] [--clients K] [--pcs-per-contract P]
//                 [--rounds R] [--round-ms T] [--records R] [--spread]
//                 [--standby] [--relay PATH] [--clients-store lmdb|postgres]
//                 [--initial-changes N] [--live-seconds S] [--ramp-ms T]
//
// The clients part is also the reliability suite's load test (issue 17,
// tests/reliability/README.md): with --initial-changes every PC first
// uploads its changes and downloads its contract's (catch-up p50/p99), with
// --live-seconds the rounds go on for that long; it checks that no PC ended
// with an error and that every PC of a contract converged, and reports the
// relay's CPU and peak RSS. --clients-store lmdb runs it against one
// `daicho-relay --data` process (no PostgreSQL is started).
//
// Prints one JSON line. Exit code: 0 every check held; 1 a check failed (the
// JSON line is still printed, the check named on stderr); 2 bad options; 3
// a setup or library call failed (the error on stderr, no JSON). The cluster,
// the relay processes and the temporary directory are removed on every exit.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "crypto/key_ring.h"
#include "daicho/replica.h"
#include "ledger_values.h"
#include "memory_change_store.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/postgres/pg_backend.h"
#include "relay/relay_service.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "tests/testing/pg_instance.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/temp_dir.h"
#include "transport/sync_client.h"

namespace {

using daicho::ChangeBlob;
using daicho::Code;
using daicho::ReplicaId;
using daicho::Result;
using daicho::Status;
using daicho::VersionVector;
using daicho::bench::MemoryChangeStore;
using daicho::testing::PgInstance;
using daicho::testing::RelayProcess;
using daicho::testing::RelayStore;
using daicho::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kUser[] = "bench@example.jp";
constexpr char kPassword[] = "Bench2024";

struct Options {
  bool upload = true, clients = true, backends = true;
  int nodes = 3;
  int contracts = 30;
  uint64_t changes = 2000;
  size_t payload_bytes = 512;
  size_t batch_bytes = daicho::sync::SessionOptions{}.max_batch_bytes;
  int client_count = 1000;
  int pcs_per_contract = 10;
  int rounds = 20;
  int round_ms = 0;
  // clients: the relay's store ("postgres": `nodes` nodes; "lmdb": one
  // `daicho-relay --data` process), what every PC holds before it logs in
  // (uploaded at the login, downloaded by the contract's others), and, when
  // not 0, how long to keep committing rounds instead of `rounds`.
  std::string clients_store = "postgres";
  uint64_t initial_changes = 0;
  int live_seconds = 0;
  int ramp_ms = 0;  // clients: the PCs log in spread over this long
  uint32_t records = 10000;
  bool standby = false;
  bool spread = false;
  std::string relay = DAICHO_RELAY_PATH;
};

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One PC of the bench: its replica id, the device token the store issued
// it, and its changes.
struct Pc {
  ReplicaId id;
  std::string token;
  std::unique_ptr<MemoryChangeStore> store;
};

struct Contract {
  std::string number;
  std::vector<Pc> pcs;
};

// "7000-0000-0042" for contract 42.
std::string ContractText(int index) {
  char text[32];
  std::snprintf(text, sizeof text, "7000-%04d-%04d", index / 10000 % 10000, index % 10000);
  return text;
}

// The store's contracts, each with the bench's user, the office key and a
// device token for each of its PCs, made through the relay library itself
// over `backend` (released when this returns: the relay processes then
// open the store).
Result<std::vector<Contract>> SetUpContracts(std::shared_ptr<daicho::relay::RelayBackend> backend, int contracts,
                                             const std::vector<ReplicaId>& pc_ids_per_contract_flat,
                                             int pcs_per_contract) {
  DAICHO_ASSIGN_OR_RETURN(auto service, daicho::relay::RelayService::Create(std::move(backend)));
  std::vector<Contract> out;
  for (int c = 0; c < contracts; ++c) {
    DAICHO_ASSIGN_OR_RETURN(auto number, daicho::relay::ContractNumber::Parse(ContractText(c)));
    DAICHO_RETURN_IF_ERROR(service->AddContract(number));
    DAICHO_RETURN_IF_ERROR(service->AddUser(number, kUser, kPassword));
    // The relay never opens the envelopes: placeholders do (as BenchRelay).
    DAICHO_RETURN_IF_ERROR(service->PublishOfficeKey(
        number, daicho::crypto::WrappedOfficeKey{1, "passphrase-envelope", "recovery-envelope", ""}, 0));
    Contract contract{number.str(), {}};
    for (int p = 0; p < pcs_per_contract; ++p) {
      const ReplicaId& id = pc_ids_per_contract_flat[static_cast<size_t>(c * pcs_per_contract + p)];
      DAICHO_ASSIGN_OR_RETURN(std::string token,
                              service->IssueDeviceToken(number, kUser, id, "bench-pc-" + std::to_string(p)));
      contract.pcs.push_back(Pc{id, std::move(token), nullptr});
    }
    out.push_back(std::move(contract));
  }
  return out;
}

Result<std::vector<Contract>> SetUpContracts(std::shared_ptr<daicho::relay::RelayBackend> backend, int contracts,
                                             int pcs_per_contract) {
  std::vector<ReplicaId> ids;
  for (int i = 0; i < contracts * pcs_per_contract; ++i) {
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, ReplicaId::Random());
    ids.push_back(id);
  }
  return SetUpContracts(std::move(backend), contracts, ids, pcs_per_contract);
}

// A database of its own on `pg` holding an empty relay store; its conninfo.
Result<std::string> NewStoreDatabase(const PgInstance& pg, const std::string& name) {
  DAICHO_RETURN_IF_ERROR(pg.CreateDatabase(name));
  const std::string conninfo = pg.Conninfo(name);
  DAICHO_RETURN_IF_ERROR(daicho::relay::PgBackend::CreateSchema(conninfo));
  return conninfo;
}

// Drops a part's database once its relays are gone, then a checkpoint lets
// PostgreSQL recycle the WAL: the bench's disk use stays about one part's.
Status DropStoreDatabase(const PgInstance& pg, const std::string& name) {
  DAICHO_RETURN_IF_ERROR(pg.DropDatabase(name));
  return pg.Query("postgres", "CHECKPOINT").status();
}

// Relay processes serving `store`, named node1..nodeN, logs in `dir`.
class Relays {
 public:
  static Result<std::unique_ptr<Relays>> Start(const Options& options, const TempDir& dir, const RelayStore& store,
                                               const std::string& name, int count) {
    auto relays = std::make_unique<Relays>();
    for (int n = 1; n <= count; ++n) {
      const std::string node = name + "-node" + std::to_string(n);
      // All PCs come from 127.0.0.1: the per-address cap (default 50) must
      // not refuse them.
      relays->processes_.push_back(std::make_unique<RelayProcess>(
          store, dir.Sub(node + ".log"),
          std::vector<std::string>{"--node-name", node, "--mail-outbox", dir.Sub(node + "-outbox"), "--max-connections",
                                   "5000", "--max-connections-per-address", "5000"},
          options.relay));
      if (relays->processes_.back()->port() == 0) {
        return Status(Code::kInternal, node + " did not start: " + relays->processes_.back()->log());
      }
    }
    return relays;
  }

  int size() const { return static_cast<int>(processes_.size()); }
  RelayProcess& node(int i) { return *processes_[static_cast<size_t>(i)]; }
  // Node i mod N: contract c's PCs on node c (as HAProxy's contract-hash
  // route does), or, spread, PC p of contract c on node c + p.
  int NodeOf(int i) const { return i % size(); }
  std::string UrlOf(int i) { return node(NodeOf(i)).url(); }

 private:
  std::vector<std::unique_ptr<RelayProcess>> processes_;
};

daicho::sync::SessionOptions SessionOf(const Contract& contract, const Pc& pc, daicho::sync::Purpose purpose) {
  daicho::sync::SessionOptions session;
  session.contract = contract.number;
  session.user = kUser;
  session.credentials = daicho::sync::DeviceTokenCredential{pc.token};
  session.purpose = purpose;
  return session;
}

// A KiB field of /proc/PID/status ("VmRSS:" the resident set, "VmHWM:" its
// peak), or 0.
uint64_t StatusKib(pid_t pid, const std::string& field = "VmRSS:") {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::stringstream text;
  text << in.rdbuf();
  const std::string status = text.str();
  const size_t at = status.find(field);
  return at == std::string::npos ? 0 : std::strtoull(status.c_str() + at + field.size(), nullptr, 10);
}

// CPU seconds process `pid` has used (user + system, /proc/PID/stat), or 0.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) return 0;
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields 3..13 precede utime (14) and stime (15).
  for (int i = 3; i <= 13 && fields >> field; ++i) {
  }
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Nearest-rank percentile of `sorted` (not empty).
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// The JSON line, key by key, and the checks that failed.
struct Output {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> failed;

  void Add(const std::string& key, const std::string& raw) { fields.emplace_back(key, raw); }
  void Add(const std::string& key, uint64_t value) { Add(key, std::to_string(value)); }
  void Check(bool held, const std::string& what) {
    if (!held) failed.push_back(what);
  }
  std::string Line() const {
    std::string line = "{";
    for (const auto& [key, value] : fields) line += (line.size() > 1 ? ",\"" : "\"") + key + "\":" + value;
    return line + "}";
  }
};

// ---- upload: C contracts × one PC × N changes, through `nodes` nodes ----

Status RunUpload(const Options& options, PgInstance& pg, const TempDir& dir, const daicho::crypto::KeyRing& ring,
                 int nodes, Output& out) {
  const std::string name = "upload" + std::to_string(nodes);
  DAICHO_ASSIGN_OR_RETURN(std::string conninfo, NewStoreDatabase(pg, name));
  std::vector<Contract> contracts;
  {
    DAICHO_ASSIGN_OR_RETURN(auto backend, daicho::relay::PgBackend::Open(conninfo));
    DAICHO_ASSIGN_OR_RETURN(contracts, SetUpContracts(std::move(backend), options.contracts, 1));
  }
  // Every change the same size; what they hold does not matter once sealed.
  const std::string payload(options.payload_bytes, 'x');
  for (Contract& contract : contracts) {
    Pc& pc = contract.pcs[0];
    pc.store = std::make_unique<MemoryChangeStore>();
    for (uint64_t i = 0; i < options.changes; ++i) pc.store->Commit(pc.id, payload);
  }
  DAICHO_ASSIGN_OR_RETURN(auto relays, Relays::Start(options, dir, RelayStore::Postgres(conninfo), name, nodes));

  std::vector<Result<daicho::transport::SyncReport>> reports(contracts.size(), Status(Code::kInternal, "not run"));
  std::vector<std::thread> threads;
  std::mutex mu;
  std::condition_variable go;
  bool started = false;
  for (size_t c = 0; c < contracts.size(); ++c) {
    threads.emplace_back([&, c] {
      {
        std::unique_lock lock(mu);
        go.wait(lock, [&] { return started; });
      }
      const Pc& pc = contracts[c].pcs[0];
      daicho::sync::SealedChangeStore sealed(*pc.store, contracts[c].number, ring.Clone());
      daicho::sync::SessionOptions session = SessionOf(contracts[c], pc, daicho::sync::Purpose::kSync);
      session.max_batch_bytes = options.batch_bytes;
      reports[c] = daicho::transport::SyncOnce(relays->UrlOf(static_cast<int>(c)), sealed, pc.id, std::move(session));
    });
  }
  const Clock::time_point start = Clock::now();
  {
    std::lock_guard lock(mu);
    started = true;
  }
  go.notify_all();
  for (std::thread& thread : threads) thread.join();
  const double ms = MsSince(start);

  const uint64_t total = options.changes * contracts.size();
  bool all_acked = true;
  for (size_t c = 0; c < contracts.size(); ++c) {
    if (!reports[c].ok()) {
      std::fprintf(stderr, "relay_cluster: upload of %s: %s\n", contracts[c].number.c_str(),
                   reports[c].status().ToString().c_str());
      all_acked = false;
    } else if (reports[c]->peer_version_vector.Get(contracts[c].pcs[0].id) != options.changes) {
      all_acked = false;
    }
  }
  DAICHO_ASSIGN_OR_RETURN(std::string stored, pg.Query(name, "SELECT count(*) FROM daicho.changes"));
  const std::string key = nodes == 1 ? "1_node" : std::to_string(nodes) + "_nodes";
  out.Add("upload_" + key + "_ms", Fixed(ms, 1));
  out.Add("changes_per_s_" + key, Fixed(static_cast<double>(total) / (ms / 1000.0), 0));
  out.Add("upload_" + key + "_verified", all_acked && stored == std::to_string(total) ? "true" : "false");
  out.Check(all_acked, "upload through " + key + ": every PC's changes acknowledged");
  out.Check(stored == std::to_string(total),
            "upload through " + key + ": the store holds " + stored + " changes, not " + std::to_string(total));
  return Status::Ok();
}

// ---- clients: K live PCs, one commit per contract per round ----

// What a round waits for: per contract, when its commit was made and sent,
// and how many of its other PCs hold it.
struct Rounds {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<Clock::time_point> committed_at;            // per contract
  std::vector<std::optional<Clock::time_point>> sent_at;  // per contract: first handed to the session
  std::vector<uint64_t> seq;                              // per contract: the round's change
  std::vector<int> holders;                               // per contract
  int contracts_done = 0;
  std::vector<double> latencies_ms;            // commit -> every other PC holds it
  std::vector<double> latencies_from_sent_ms;  // sent -> every other PC holds it
};

Status RunClients(const Options& options, PgInstance* pg, const TempDir& dir, const daicho::crypto::KeyRing& ring,
                  Output& out) {
  const int pcs = options.pcs_per_contract;
  const int contract_count = options.client_count / pcs;
  const bool on_lmdb = options.clients_store == "lmdb";
  std::vector<Contract> contracts;
  RelayStore store;
  if (on_lmdb) {
    const std::string path = dir.Sub("clients-lmdb");
    DAICHO_ASSIGN_OR_RETURN(auto backend, daicho::relay::LmdbBackend::Open(path));
    DAICHO_ASSIGN_OR_RETURN(contracts, SetUpContracts(std::move(backend), contract_count, pcs));
    store = RelayStore::Data(path);
  } else {
    DAICHO_ASSIGN_OR_RETURN(std::string conninfo, NewStoreDatabase(*pg, "clients"));
    DAICHO_ASSIGN_OR_RETURN(auto backend, daicho::relay::PgBackend::Open(conninfo));
    DAICHO_ASSIGN_OR_RETURN(contracts, SetUpContracts(std::move(backend), contract_count, pcs));
    store = RelayStore::Postgres(conninfo);
  }
  out.Add("clients_store", "\"" + options.clients_store + "\"");
  Rounds rounds;
  rounds.committed_at.resize(contracts.size());
  rounds.sent_at.resize(contracts.size());
  rounds.seq.assign(contracts.size(), 0);
  rounds.holders.assign(contracts.size(), 0);
  const std::string initial_payload(options.payload_bytes, 'i');
  for (size_t c = 0; c < contracts.size(); ++c) {
    const ReplicaId committer = contracts[c].pcs[0].id;
    contracts[c].pcs[0].store =
        std::make_unique<MemoryChangeStore>(MemoryChangeStore::Observer(), [&rounds, c](const ChangeBlob& change) {
          const Clock::time_point now = Clock::now();
          std::lock_guard lock(rounds.mu);
          if (change.seq == rounds.seq[c] && !rounds.sent_at[c]) rounds.sent_at[c] = now;
        });
    for (int p = 1; p < pcs; ++p) {
      contracts[c].pcs[static_cast<size_t>(p)].store =
          std::make_unique<MemoryChangeStore>([&rounds, c, committer, pcs](const ChangeBlob& change) {
            const Clock::time_point now = Clock::now();
            std::lock_guard lock(rounds.mu);
            if (change.origin != committer || change.seq != rounds.seq[c]) return;
            if (++rounds.holders[c] != pcs - 1) return;
            rounds.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(now - rounds.committed_at[c]).count());
            if (rounds.sent_at[c]) {
              rounds.latencies_from_sent_ms.push_back(
                  std::chrono::duration<double, std::milli>(now - *rounds.sent_at[c]).count());
            }
            ++rounds.contracts_done;
            rounds.changed.notify_all();
          });
    }
    for (Pc& pc : contracts[c].pcs) {
      for (uint64_t i = 0; i < options.initial_changes; ++i) pc.store->Commit(pc.id, initial_payload);
    }
  }
  DAICHO_ASSIGN_OR_RETURN(auto relays, Relays::Start(options, dir, store, "clients", on_lmdb ? 1 : options.nodes));
  out.Add("clients_nodes", static_cast<uint64_t>(relays->size()));
  std::vector<uint64_t> rss_before;
  double cpu_before = 0;
  for (int n = 0; n < relays->size(); ++n) {
    rss_before.push_back(StatusKib(relays->node(n).pid()));
    cpu_before += CpuSeconds(relays->node(n).pid());
  }
  const Clock::time_point run_start = Clock::now();

  // The committing PC looks for its commit every 10 ms (a PC's watch polls
  // its replica); the others only receive, so they poll rarely.
  constexpr std::chrono::milliseconds kCommitterPoll{10};
  std::stop_source stop;
  std::mutex upload_mu;
  std::vector<double> upload_ms;  // per PC, with initial changes
  std::atomic<int> live{0};
  std::atomic<int> ended_badly{0};
  auto NodeIndex = [&](size_t c, int p) { return static_cast<int>(c) + (options.spread ? p : 0); };
  std::vector<std::thread> threads;
  for (size_t c = 0; c < contracts.size(); ++c) {
    for (int p = 0; p < pcs; ++p) {
      threads.emplace_back([&, c, p] {
        // Logins spread over ramp_ms, as an office's PCs start their day.
        const auto index = static_cast<long long>(c * static_cast<size_t>(pcs) + static_cast<size_t>(p));
        std::this_thread::sleep_until(
            run_start + std::chrono::microseconds(1000LL * options.ramp_ms * index / options.client_count));
        const Contract& contract = contracts[c];
        const Pc& pc = contract.pcs[static_cast<size_t>(p)];
        daicho::sync::SealedChangeStore sealed(*pc.store, contract.number, ring.Clone());
        daicho::transport::SyncHooks hooks;
        hooks.stop = stop.get_token();
        hooks.poll_interval = p == 0 ? kCommitterPoll : std::chrono::milliseconds(1000);
        bool counted = false;
        hooks.on_peer_holds = [&](const VersionVector&) {
          if (!counted) live.fetch_add(1);
          counted = true;
        };
        // Upload latency: from the connect until the relay acknowledged the
        // PC's initial changes.
        const Clock::time_point connect = Clock::now();
        bool uploaded = options.initial_changes == 0;
        hooks.on_progress = [&](const daicho::sync::SessionStats& stats) {
          if (uploaded || stats.changes_acked < options.initial_changes) return;
          uploaded = true;
          std::lock_guard lock(upload_mu);
          upload_ms.push_back(MsSince(connect));
        };
        auto report =
            daicho::transport::SyncOnce(relays->UrlOf(NodeIndex(c, p)), sealed, pc.id,
                                        SessionOf(contract, pc, daicho::sync::Purpose::kWatch), {}, std::move(hooks));
        if (!report.ok()) {
          if (ended_badly.fetch_add(1) < 5) {
            std::fprintf(stderr, "relay_cluster: live PC of %s: %s\n", contract.number.c_str(),
                         report.status().ToString().c_str());
          }
        }
      });
    }
  }
  // Stops and joins the PCs on every return from here.
  struct Joiner {
    std::stop_source& stop;
    std::vector<std::thread>& threads;
    ~Joiner() {
      stop.request_stop();
      for (std::thread& thread : threads) thread.join();
    }
  } joiner{stop, threads};

  const Clock::time_point login_start = Clock::now();
  while (live.load() < options.client_count && ended_badly.load() == 0 && MsSince(login_start) < 300000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double login_ms = MsSince(login_start);
  out.Add("clients", static_cast<uint64_t>(options.client_count));
  out.Add("clients_live", static_cast<uint64_t>(live.load()));
  out.Add("clients_login_ms", Fixed(login_ms, 0));
  out.Add("clients_ramp_ms", static_cast<uint64_t>(options.ramp_ms));
  out.Check(live.load() == options.client_count, "every PC logged in and live");
  if (live.load() != options.client_count) return Status::Ok();
  if (options.initial_changes > 0) {
    // The rounds start once every PC holds what its contract's PCs brought
    // (its own uploaded, the others' downloaded or pushed to it).
    const uint64_t everything = options.initial_changes * static_cast<uint64_t>(pcs);
    const Clock::time_point all_live = Clock::now();
    auto everyone_holds_everything = [&] {
      for (const Contract& contract : contracts) {
        for (const Pc& pc : contract.pcs) {
          auto vv = pc.store->GetVersionVector();
          if (!vv.ok() || vv->Total() < everything) return false;
        }
      }
      return true;
    };
    while (!everyone_holds_everything() && ended_badly.load() == 0 && MsSince(all_live) < 300000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    out.Add("initial_changes_per_pc", options.initial_changes);
    out.Add("initial_exchange_done_ms_after_last_login", Fixed(MsSince(all_live), 0));
    std::vector<double> uploads;
    {
      std::lock_guard lock(upload_mu);
      uploads = upload_ms;
    }
    std::sort(uploads.begin(), uploads.end());
    out.Check(static_cast<int>(uploads.size()) == options.client_count && everyone_holds_everything(),
              "every PC uploaded its changes and holds its contract's within 300 s");
    if (uploads.empty()) return Status::Ok();
    out.Add("upload_ms_p50", Fixed(Percentile(uploads, 0.50), 0));
    out.Add("upload_ms_p99", Fixed(Percentile(uploads, 0.99), 0));
    out.Add("upload_ms_max", Fixed(uploads.back(), 0));
  }
  // Settle: the relays' allocations after the logins, not during them.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::string rss_after = "[";
  double rss_sum_kib = 0;
  for (int n = 0; n < relays->size(); ++n) {
    const uint64_t after = StatusKib(relays->node(n).pid());
    int connections = 0;
    for (size_t c = 0; c < contracts.size(); ++c) {
      for (int p = 0; p < pcs; ++p) connections += relays->NodeOf(NodeIndex(c, p)) == n ? 1 : 0;
    }
    const double per = (static_cast<double>(after) - static_cast<double>(rss_before[static_cast<size_t>(n)])) /
                       std::max(connections, 1);
    rss_sum_kib += per;
    rss_after += (n ? "," : "") + Fixed(per, 1);
  }
  out.Add("rss_per_connection_kib_by_node", rss_after + "]");
  out.Add("rss_per_connection_kib", Fixed(rss_sum_kib / relays->size(), 1));
  std::string before = "[";
  for (size_t n = 0; n < rss_before.size(); ++n) before += (n ? "," : "") + std::to_string(rss_before[n]);
  out.Add("relay_rss_before_kib", before + "]");

  const std::string payload(128, 'y');  // one edited field or two, sealed
  int rounds_started = 0;
  int rounds_completed = 0;
  const Clock::time_point live_start = Clock::now();
  for (int r = 1; options.live_seconds > 0 ? MsSince(live_start) < 1000.0 * options.live_seconds : r <= options.rounds;
       ++r) {
    ++rounds_started;
    {
      std::lock_guard lock(rounds.mu);
      rounds.contracts_done = 0;
      for (size_t c = 0; c < contracts.size(); ++c) {
        rounds.seq[c] = options.initial_changes + static_cast<uint64_t>(r);
        rounds.sent_at[c].reset();
        rounds.holders[c] = 0;
      }
    }
    const Clock::time_point round_start = Clock::now();
    for (size_t c = 0; c < contracts.size(); ++c) {
      Pc& committer = contracts[c].pcs[0];
      // Spread over round_ms (0: all at once).
      std::this_thread::sleep_until(round_start +
                                    std::chrono::microseconds(1000LL * options.round_ms * static_cast<long long>(c) /
                                                              static_cast<long long>(contracts.size())));
      {
        std::lock_guard lock(rounds.mu);
        rounds.committed_at[c] = Clock::now();
      }
      committer.store->Commit(committer.id, payload);
    }
    std::unique_lock lock(rounds.mu);
    if (!rounds.changed.wait_for(lock, std::chrono::seconds(30),
                                 [&] { return rounds.contracts_done == static_cast<int>(contracts.size()); })) {
      break;
    }
    ++rounds_completed;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // rounds do not overlap
  }
  std::vector<double> latencies, from_sent;
  {
    std::lock_guard lock(rounds.mu);
    latencies = rounds.latencies_ms;
    from_sent = rounds.latencies_from_sent_ms;
  }
  std::sort(latencies.begin(), latencies.end());
  std::sort(from_sent.begin(), from_sent.end());
  out.Add("spread", options.spread ? "true" : "false");
  out.Add("rounds", static_cast<uint64_t>(rounds_completed));
  out.Add("round_ms", static_cast<uint64_t>(options.round_ms));
  out.Add("latency_samples", static_cast<uint64_t>(latencies.size()));
  out.Add("committer_poll_ms", static_cast<uint64_t>(kCommitterPoll.count()));
  if (!latencies.empty()) {
    out.Add("latency_ms_p50", Fixed(Percentile(latencies, 0.50), 1));
    out.Add("latency_ms_p99", Fixed(Percentile(latencies, 0.99), 1));
    out.Add("latency_ms_max", Fixed(latencies.back(), 1));
  }
  if (!from_sent.empty()) {
    out.Add("latency_from_sent_ms_p50", Fixed(Percentile(from_sent, 0.50), 1));
    out.Add("latency_from_sent_ms_p99", Fixed(Percentile(from_sent, 0.99), 1));
  }
  out.Add("live_seconds", Fixed(MsSince(live_start) / 1000, 1));
  out.Check(rounds_completed == rounds_started, "every round reached every PC within 30 s");
  double cpu_after = 0;
  uint64_t peak_kib = 0;
  for (int n = 0; n < relays->size(); ++n) {
    cpu_after += CpuSeconds(relays->node(n).pid());
    peak_kib = std::max(peak_kib, StatusKib(relays->node(n).pid(), "VmHWM:"));
  }
  const double wall_seconds = MsSince(run_start) / 1000;
  out.Add("relay_cpu_seconds", Fixed(cpu_after - cpu_before, 1));
  out.Add("relay_cpu_percent_of_one_core", Fixed(100 * (cpu_after - cpu_before) / wall_seconds, 0));
  out.Add("relay_peak_rss_kib", peak_kib);
  stop.request_stop();
  for (std::thread& thread : threads) thread.join();
  threads.clear();
  out.Check(ended_badly.load() == 0, "every live PC ended cleanly");
  // Every PC of a contract holds the same changes: all its PCs' initial
  // ones and every round's.
  bool converged = true;
  const uint64_t everything =
      options.initial_changes * static_cast<uint64_t>(pcs) + static_cast<uint64_t>(rounds_completed);
  for (const Contract& contract : contracts) {
    auto expected = contract.pcs[0].store->GetVersionVector();
    converged = converged && expected->Total() == everything;
    for (const Pc& pc : contract.pcs) converged = converged && *pc.store->GetVersionVector() == *expected;
  }
  out.Add("clients_converged", converged ? "true" : "false");
  out.Check(converged, "every PC of a contract holds the same changes");
  return Status::Ok();
}

// ---- backends: one ledger upload through LMDB and through PostgreSQL ----

struct BackendUpload {
  double ms = 0;
  uint64_t changes = 0;
  bool verified = false;
};

Result<BackendUpload> UploadLedger(const Options& options, const TempDir& dir, daicho::Replica& ledger,
                                   const daicho::crypto::KeyRing& ring, const RelayStore& store,
                                   std::shared_ptr<daicho::relay::RelayBackend> backend, const std::string& name) {
  DAICHO_ASSIGN_OR_RETURN(std::vector<Contract> contracts,
                          SetUpContracts(std::move(backend), 1, std::vector<ReplicaId>{ledger.id()}, 1));
  DAICHO_ASSIGN_OR_RETURN(auto relays, Relays::Start(options, dir, store, name, 1));
  daicho::sync::ReplicaChangeStore changes(ledger);
  daicho::sync::SealedChangeStore sealed(changes, contracts[0].number, ring.Clone());
  const Clock::time_point start = Clock::now();
  auto report = daicho::transport::SyncOnce(relays->UrlOf(0), sealed, ledger.id(),
                                            SessionOf(contracts[0], contracts[0].pcs[0], daicho::sync::Purpose::kSync));
  BackendUpload upload;
  upload.ms = MsSince(start);
  if (!report.ok()) return report.status().WithContext(name + " upload");
  DAICHO_ASSIGN_OR_RETURN(VersionVector held, ledger.GetVersionVector());
  upload.changes = report->changes_up;
  upload.verified = report->peer_version_vector == held && report->changes_up == held.Total();
  return upload;
}

Status RunBackends(const Options& options, PgInstance& pg, const TempDir& dir, const daicho::crypto::KeyRing& ring,
                   Output& out) {
  daicho::ReplicaOptions replica_options;
  replica_options.create_if_missing = true;
  DAICHO_ASSIGN_OR_RETURN(auto ledger, daicho::Replica::Open(dir.Sub("ledger"), replica_options));
  DAICHO_RETURN_IF_ERROR(daicho::bench::WriteLedger(*ledger, options.records, 42));

  const std::string lmdb_dir = dir.Sub("lmdb-store");
  DAICHO_ASSIGN_OR_RETURN(auto lmdb_backend, daicho::relay::LmdbBackend::Open(lmdb_dir));
  DAICHO_ASSIGN_OR_RETURN(BackendUpload lmdb, UploadLedger(options, dir, *ledger, ring, RelayStore::Data(lmdb_dir),
                                                           std::move(lmdb_backend), "lmdb"));
  // Its relay has stopped: the disk holds one relay store at a time.
  std::filesystem::remove_all(lmdb_dir);
  DAICHO_ASSIGN_OR_RETURN(std::string conninfo, NewStoreDatabase(pg, "backends"));
  DAICHO_ASSIGN_OR_RETURN(auto pg_backend, daicho::relay::PgBackend::Open(conninfo));
  DAICHO_ASSIGN_OR_RETURN(
      BackendUpload postgres,
      UploadLedger(options, dir, *ledger, ring, RelayStore::Postgres(conninfo), std::move(pg_backend), "postgres"));
  out.Add("records", static_cast<uint64_t>(options.records));
  out.Add("ledger_changes", lmdb.changes);
  out.Add("lmdb_upload_ms", Fixed(lmdb.ms, 1));
  out.Add("lmdb_changes_per_s", Fixed(static_cast<double>(lmdb.changes) / (lmdb.ms / 1000.0), 1));
  out.Add("postgres_upload_ms", Fixed(postgres.ms, 1));
  out.Add("postgres_changes_per_s", Fixed(static_cast<double>(postgres.changes) / (postgres.ms / 1000.0), 1));
  out.Add("postgres_vs_lmdb", Fixed(postgres.ms / lmdb.ms, 2));
  out.Add("backends_verified", lmdb.verified && postgres.verified ? "true" : "false");
  out.Check(lmdb.verified, "the LMDB relay acknowledged the whole ledger");
  out.Check(postgres.verified, "the PostgreSQL relay acknowledged the whole ledger");
  return Status::Ok();
}

// ---- options ----

bool ParseParts(const std::string& text, Options& options) {
  options.upload = options.clients = options.backends = false;
  std::stringstream list(text);
  std::string part;
  while (std::getline(list, part, ',')) {
    if (part == "upload") {
      options.upload = true;
    } else if (part == "clients") {
      options.clients = true;
    } else if (part == "backends") {
      options.backends = true;
    } else {
      return false;
    }
  }
  return options.upload || options.clients || options.backends;
}

// Fills `options` from the command line; false on a bad one.
bool ParseOptions(int argc, char** argv, Options& options) {
  auto number = [](const char* text, long long min, long long& value) {
    char* end = nullptr;
    value = std::strtoll(text, &end, 10);
    return end != text && *end == '\0' && value >= min;
  };
  // --quick first, so that the other flags override its sizes.
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      options.nodes = 2;
      options.contracts = 4;
      options.changes = 100;
      options.client_count = 10;
      options.pcs_per_contract = 5;
      options.rounds = 3;
      options.records = 2000;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    long long value = 0;
    if (flag == "--quick") continue;
    if (flag == "--standby" || flag == "--spread") {
      (flag == "--standby" ? options.standby : options.spread) = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* arg = argv[++i];
    if (flag == "--parts") {
      if (!ParseParts(arg, options)) return false;
    } else if (flag == "--relay") {
      options.relay = arg;
    } else if (flag == "--clients-store") {
      options.clients_store = arg;
      if (options.clients_store != "lmdb" && options.clients_store != "postgres") return false;
    } else if (!number(arg, 1, value)) {
      return false;
    } else if (flag == "--nodes") {
      options.nodes = static_cast<int>(value);
    } else if (flag == "--contracts") {
      options.contracts = static_cast<int>(value);
    } else if (flag == "--changes") {
      options.changes = static_cast<uint64_t>(value);
    } else if (flag == "--payload-bytes") {
      options.payload_bytes = static_cast<size_t>(value);
    } else if (flag == "--clients") {
      options.client_count = static_cast<int>(value);
    } else if (flag == "--pcs-per-contract") {
      options.pcs_per_contract = static_cast<int>(value);
    } else if (flag == "--batch-bytes") {
      options.batch_bytes = static_cast<size_t>(value);
    } else if (flag == "--round-ms") {
      options.round_ms = static_cast<int>(value);
    } else if (flag == "--rounds") {
      options.rounds = static_cast<int>(value);
    } else if (flag == "--records") {
      options.records = static_cast<uint32_t>(value);
    } else if (flag == "--initial-changes") {
      options.initial_changes = static_cast<uint64_t>(value);
    } else if (flag == "--live-seconds") {
      options.live_seconds = static_cast<int>(value);
    } else if (flag == "--ramp-ms") {
      options.ramp_ms = static_cast<int>(value);
    } else {
      return false;
    }
  }
  // Each contract needs a PC that commits and one that receives.
  return options.pcs_per_contract >= 2 && options.client_count % options.pcs_per_contract == 0;
}

int Run(const Options& options) {
  // A thousand PCs and the relays' sockets: the soft open-file limit up to
  // the hard one.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  TempDir dir;
  auto fail = [](const std::string& what, const Status& status) {
    std::fprintf(stderr, "relay_cluster: %s: %s\n", what.c_str(), status.ToString().c_str());
    return 3;
  };
  std::unique_ptr<PgInstance> pg;
  std::unique_ptr<PgInstance> standby;
  if (options.upload || options.backends || (options.clients && options.clients_store == "postgres")) {
    daicho::testing::PgInstanceOptions pg_options;
    pg_options.durable = true;
    auto started = PgInstance::Start(pg_options);
    if (!started.ok()) return fail("PostgreSQL", started.status());
    pg = std::move(started).value();
  }
  if (options.standby && pg) {
    auto started = PgInstance::StartStandby(*pg, "standby1");
    if (!started.ok()) return fail("standby", started.status());
    standby = std::move(started).value();
  }
  auto ring = daicho::crypto::KeyRing::Create();
  if (!ring.ok()) return fail("office key", ring.status());

  Output out;
  out.Add("system", "\"daicho\"");
  out.Add("nodes", static_cast<uint64_t>(options.nodes));
  out.Add("standby", options.standby ? "true" : "false");
  if (options.upload) {
    out.Add("contracts", static_cast<uint64_t>(options.contracts));
    out.Add("changes_per_pc", options.changes);
    out.Add("payload_bytes", static_cast<uint64_t>(options.payload_bytes));
    out.Add("batch_bytes", static_cast<uint64_t>(options.batch_bytes));
    std::vector<int> node_counts{1};
    if (options.nodes > 1) node_counts.push_back(options.nodes);
    for (const int nodes : node_counts) {
      const std::string what = "upload through " + std::to_string(nodes) + (nodes == 1 ? " node" : " nodes");
      if (Status s = RunUpload(options, *pg, dir, *ring, nodes, out); !s.ok()) return fail(what, s);
      if (Status s = DropStoreDatabase(*pg, "upload" + std::to_string(nodes)); !s.ok()) return fail(what, s);
    }
  }
  if (options.clients) {
    out.Add("pcs_per_contract", static_cast<uint64_t>(options.pcs_per_contract));
    if (Status s = RunClients(options, pg.get(), dir, *ring, out); !s.ok()) return fail("clients", s);
    if (pg) {
      if (Status s = DropStoreDatabase(*pg, "clients"); !s.ok()) return fail("clients", s);
    }
  }
  if (options.backends) {
    if (Status s = RunBackends(options, *pg, dir, *ring, out); !s.ok()) return fail("backends", s);
    if (Status s = DropStoreDatabase(*pg, "backends"); !s.ok()) return fail("backends", s);
  }
  std::printf("%s\n", out.Line().c_str());
  for (const std::string& what : out.failed) std::fprintf(stderr, "relay_cluster: check failed: %s\n", what.c_str());
  return out.failed.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: relay_cluster [--quick] [--parts upload,clients,backends] [--nodes N] [--contracts C]\n"
                 "                     [--changes N] [--payload-bytes B] [--batch-bytes B] [--clients K]\n"
                 "                     [--pcs-per-contract P] [--rounds R] [--round-ms T] [--records R]\n"
                 "                     [--spread] [--standby] [--relay PATH] [--clients-store lmdb|postgres]\n"
                 "                     [--initial-changes N] [--live-seconds S] [--ramp-ms T]\n");
    return 2;
  }
  return Run(options);
}
