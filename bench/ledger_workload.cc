// The customer-ledger workload of bench/WORKLOAD.md (issue 4): R customer
// records of 12 register fields created on replica A (P1), encoded for a new
// peer (P2), synced into a fresh replica B directly, over a loopback
// WebSocket and through an in-process relay (P3), edited concurrently on A and
// B and exchanged both ways (P4), then one field edited and synced
// incrementally (P5); beside it the floor, raw LMDB puts of the same bytes.
// Prints one JSON line; exits 1 if a correctness check fails (the line is
// still printed), 3 if a library call fails. Keys and what is timed:
// bench/README.md.
//   ledger_workload [--records N] [--seed S] [--batch B] [--dir PATH]
#include <lmdb.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_relay.h"
#include "crypto/key_file.h"
#include "daicho/peer_sync.h"
#include "daicho/replica.h"
#include "ledger_values.h"
#include "sync/replica_change_store.h"
#include "transport/sync_client.h"
#include "transport/sync_server.h"

namespace {

// The contract the PC-to-PC phase's office key belongs to.
constexpr char kBenchContract[] = "1234-5678-9012";

namespace fs = std::filesystem;
using daicho::ChangeBlob;
using daicho::Replica;
using daicho::Result;
using daicho::Status;
using daicho::VersionVector;
using daicho::bench::LedgerKey;
using daicho::bench::LedgerValue;
using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kCollection[] = "customers";
constexpr uint32_t kFieldCount = 12;
constexpr const char* kFieldNames[kFieldCount] = {"f0", "f1", "f2", "f3", "f4",  "f5",
                                                  "f6", "f7", "f8", "f9", "f10", "f11"};
// Payload bytes per ChangesSince call when a full state is produced.
constexpr size_t kChunkBytes = size_t{4} << 20;
// Records per List page when reading a replica back.
constexpr size_t kPageRecords = 1000;

struct Params {
  uint32_t records = 100000;
  uint32_t seed = 42;
  uint32_t batch = 1000;
  std::string dir;  // empty: a temporary directory, removed afterwards
};

double MsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// Milliseconds to the microsecond, ratios to four places: enough digits for
// ±20 % run-to-run noise, short enough to read.
double RoundTo(double x, double scale) { return std::round(x * scale) / scale; }
double Ms(double ms) { return RoundTo(ms, 1e3); }
double Ratio(double r) { return RoundTo(r, 1e4); }

// getrusage's ru_maxrss (KiB on Linux) in MB.
double PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return RoundTo(static_cast<double>(usage.ru_maxrss) / 1024.0, 10);
}

// What the data takes on disk: every file under `dir` but LMDB's lock file.
uint64_t DataBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != "lock.mdb") total += entry.file_size();
  }
  return total;
}

// One register write of the workload: field `field` of record `record` set
// to value(record, field, version).
struct Edit {
  uint32_t record;
  uint32_t field;
  uint32_t version;
};

// Writes `count` edits (edit k = edit_at(k)) in transactions of `per_txn`
// edits. Keys and values of a transaction are generated before its clock
// starts; the clock covers BeginWrite, the Sets and the Commit. Returns the
// summed time in ms.
Result<double> TimedWrites(Replica& replica, size_t count, size_t per_txn, uint32_t seed,
                           const std::function<Edit(size_t)>& edit_at) {
  double ms = 0;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<uint32_t> fields;
  for (size_t first = 0; first < count; first += per_txn) {
    const size_t end = std::min(count, first + per_txn);
    keys.clear();
    values.clear();
    fields.clear();
    for (size_t k = first; k < end; ++k) {
      const Edit e = edit_at(k);
      keys.push_back(LedgerKey(e.record));
      values.push_back(LedgerValue(seed, e.record, e.field, e.version));
      fields.push_back(e.field);
    }
    const auto start = SteadyClock::now();
    daicho::WriteTransaction txn = replica.BeginWrite();
    for (size_t k = 0; k < keys.size(); ++k) {
      DAICHO_RETURN_IF_ERROR(txn.Set(kCollection, keys[k], kFieldNames[fields[k]], std::move(values[k])));
    }
    auto info = txn.Commit();
    ms += MsSince(start);
    if (!info.ok()) return info.status().WithContext("commit");
  }
  return ms;
}

// Everything `replica` holds that `other` lacks, in ChangesSince calls of at
// most kChunkBytes of payload, each call's result kept as one chunk.
Result<std::vector<std::vector<ChangeBlob>>> ProduceAll(const Replica& replica, VersionVector other) {
  std::vector<std::vector<ChangeBlob>> chunks;
  for (;;) {
    DAICHO_ASSIGN_OR_RETURN(auto chunk, replica.ChangesSince(other, kChunkBytes));
    if (chunk.empty()) break;
    for (const ChangeBlob& blob : chunk) other.Advance(blob.origin, blob.seq);
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

Status ApplyAll(Replica& replica, const std::vector<std::vector<ChangeBlob>>& chunks) {
  for (const auto& chunk : chunks) {
    auto applied = replica.Apply(chunk);
    if (!applied.ok()) return applied.status().WithContext("apply");
  }
  return Status();
}

struct DeltaSize {
  uint64_t changes = 0;
  uint64_t payload_bytes = 0;
};

DeltaSize SizeOf(const std::vector<std::vector<ChangeBlob>>& chunks) {
  DeltaSize size;
  for (const auto& chunk : chunks) {
    for (const ChangeBlob& blob : chunk) {
      ++size.changes;
      size.payload_bytes += blob.payload.size();
    }
  }
  return size;
}

// Calls `visit(record, index)` for every record of the collection in id
// order, one List page at a time.
Status ForEachRecord(const Replica& replica, const std::function<void(const daicho::Record&, size_t)>& visit) {
  daicho::ListOptions options;
  options.limit = kPageRecords;
  size_t index = 0;
  for (;;) {
    DAICHO_ASSIGN_OR_RETURN(daicho::Page page, replica.List(kCollection, options));
    for (const daicho::Record& record : page.records) visit(record, index++);
    if (page.next_start_after.empty()) return Status();
    options.start_after = std::move(page.next_start_after);
  }
}

bool ShowsString(const daicho::FieldView* field, const std::string& expected) {
  return field != nullptr && field->kind == daicho::FieldKind::kRegister && field->value.is_string() &&
         field->value.as_string() == expected;
}

// True iff `replica` holds exactly records 0..R-1, each with exactly the 12
// initial values and no conflict. The first mismatch goes to stderr.
Result<bool> VerifyInitialState(const Replica& replica, const Params& params, std::string_view name) {
  bool ok = true;
  size_t seen = 0;
  auto mismatch = [&](const std::string& what) {
    if (ok) {
      std::fprintf(stderr, "ledger_workload: %.*s: %s\n", static_cast<int>(name.size()), name.data(), what.c_str());
    }
    ok = false;
  };
  DAICHO_RETURN_IF_ERROR(ForEachRecord(replica, [&](const daicho::Record& record, size_t i) {
    seen = i + 1;
    if (i >= params.records || record.id != LedgerKey(static_cast<uint32_t>(i))) {
      return mismatch("record #" + std::to_string(i) + " is " + record.id);
    }
    if (record.deleted || record.has_conflict() || record.fields.size() != kFieldCount) {
      return mismatch("record " + record.id + " is deleted, in conflict or has other fields");
    }
    for (uint32_t j = 0; j < kFieldCount; ++j) {
      const daicho::FieldView* field = record.Find(kFieldNames[j]);
      if (!ShowsString(field, LedgerValue(params.seed, static_cast<uint32_t>(i), j, 0)) ||
          field->siblings.size() != 1) {
        return mismatch("record " + record.id + " field " + kFieldNames[j] + " differs");
      }
    }
  }));
  if (seen != params.records) mismatch("holds " + std::to_string(seen) + " records");
  return ok;
}

bool SameField(const daicho::FieldView& a, const daicho::FieldView& b) {
  if (a.name != b.name || a.kind != b.kind || !(a.value == b.value) || a.elements != b.elements ||
      a.conflict != b.conflict || a.kind_conflict != b.kind_conflict || a.siblings.size() != b.siblings.size()) {
    return false;
  }
  for (size_t s = 0; s < a.siblings.size(); ++s) {
    const daicho::Sibling& x = a.siblings[s];
    const daicho::Sibling& y = b.siblings[s];
    if (!(x.value == y.value) || x.dot != y.dot || x.hlc != y.hlc) return false;
  }
  return true;
}

bool SameRecord(const daicho::Record& a, const daicho::Record& b) {
  if (a.id != b.id || a.deleted != b.deleted || a.delete_conflict != b.delete_conflict ||
      a.fields.size() != b.fields.size()) {
    return false;
  }
  for (size_t f = 0; f < a.fields.size(); ++f) {
    if (!SameField(a.fields[f], b.fields[f])) return false;
  }
  return true;
}

// A loopback sync server (ws://127.0.0.1:<port>/) serving one replica to any
// peer, without login: two PCs syncing directly on a LAN.
Result<std::unique_ptr<daicho::transport::SyncServer>> ServeReplica(Replica& replica) {
  daicho::transport::SyncServerOptions options;
  options.local_id = replica.id();
  Replica* served = &replica;
  options.store_factory = [served](const daicho::sync::Hello&,
                                   const std::string&) -> Result<daicho::sync::AcceptedSession> {
    return daicho::sync::AcceptedSession{std::make_unique<daicho::sync::ReplicaChangeStore>(*served), "", {}, {}};
  };
  auto server = std::make_unique<daicho::transport::SyncServer>(std::move(options));
  DAICHO_RETURN_IF_ERROR(server->Start());
  return server;
}

Result<daicho::transport::SyncReport> SyncWith(const std::string& url, Replica& replica) {
  daicho::sync::ReplicaChangeStore changes(replica);
  return daicho::transport::SyncOnce(url, changes, replica.id(), daicho::sync::SessionOptions{});
}

Result<std::unique_ptr<Replica>> OpenNew(const fs::path& path) {
  daicho::ReplicaOptions options;  // the defaults a user gets, durability included
  options.create_if_missing = true;
  options.error_if_exists = true;
  auto replica = Replica::Open(path.string(), options);
  if (!replica.ok()) return replica.status().WithContext("opening " + path.string());
  return replica;
}

Status LmdbError(int rc, std::string_view what) {
  return Status(daicho::Code::kIoError, std::string(what) + ": " + mdb_strerror(rc));
}

struct LmdbFloor {
  double ms = 0;
  uint64_t disk_bytes = 0;
};

// Raw LMDB puts of the same bytes: one value per record (its 12 initial
// values concatenated) under the record key, default flags (durable commits),
// `batch` records per write transaction, in a fresh environment in `dir`.
// Only txn_begin .. commit is timed.
Result<LmdbFloor> MeasureLmdbFloor(const fs::path& dir, const Params& params) {
  fs::create_directories(dir);
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) return LmdbError(rc, "mdb_env_create");
  struct EnvCloser {
    MDB_env* env;
    ~EnvCloser() { mdb_env_close(env); }
  } closer{env};
  if (int rc = mdb_env_set_mapsize(env, size_t{16} << 30); rc != 0) return LmdbError(rc, "mdb_env_set_mapsize");
  if (int rc = mdb_env_open(env, dir.c_str(), 0, 0644); rc != 0) return LmdbError(rc, "mdb_env_open");
  MDB_dbi dbi = 0;
  {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0) return LmdbError(rc, "mdb_txn_begin");
    if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi); rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError(rc, "mdb_dbi_open");
    }
    if (int rc = mdb_txn_commit(txn); rc != 0) return LmdbError(rc, "mdb_txn_commit");
  }
  LmdbFloor floor;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (uint32_t first = 0; first < params.records; first += params.batch) {
    const uint32_t end = std::min(params.records, first + params.batch);
    keys.clear();
    values.clear();
    for (uint32_t i = first; i < end; ++i) {
      keys.push_back(LedgerKey(i));
      std::string value;
      for (uint32_t j = 0; j < kFieldCount; ++j) value += LedgerValue(params.seed, i, j, 0);
      values.push_back(std::move(value));
    }
    const auto start = SteadyClock::now();
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0) return LmdbError(rc, "mdb_txn_begin");
    for (size_t k = 0; k < keys.size(); ++k) {
      MDB_val key{keys[k].size(), keys[k].data()};
      MDB_val value{values[k].size(), values[k].data()};
      if (int rc = mdb_put(txn, dbi, &key, &value, 0); rc != 0) {
        mdb_txn_abort(txn);
        return LmdbError(rc, "mdb_put");
      }
    }
    if (int rc = mdb_txn_commit(txn); rc != 0) return LmdbError(rc, "mdb_txn_commit");
    floor.ms += MsSince(start);
  }
  floor.disk_bytes = DataBytes(dir);
  return floor;
}

// The workload itself. Measurements and check results accumulate in `out`;
// a failed library call ends it with that Status.
class Workload {
 public:
  Workload(Params params, fs::path dir, Json& out)
      : params_(std::move(params)), dir_(std::move(dir)), out_(out), e_(params_.records / 10), h_(e_ / 2) {}

  // Runs every phase; false if a correctness check failed.
  Result<bool> Run() {
    DAICHO_RETURN_IF_ERROR(Create());
    rss_by_phase_["p1"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(Encode());
    rss_by_phase_["p2"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(InitialSync());
    rss_by_phase_["p3"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(InitialSyncOverWebSocket());
    rss_by_phase_["p3_wire"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(InitialSyncThroughRelay());
    rss_by_phase_["p3_relay"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(InitialSyncPcToPc());
    rss_by_phase_["p3_peer"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(ConcurrentEdits());
    rss_by_phase_["p4"] = PeakRssMb();
    DAICHO_RETURN_IF_ERROR(IncrementalEdit());
    rss_by_phase_["p5"] = PeakRssMb();
    server_.reset();
    DAICHO_RETURN_IF_ERROR(Floor());
    return checks_ok_;
  }

  // The process's peak RSS at the end of each phase (MB): which phase set it.
  const Json& rss_by_phase() const { return rss_by_phase_; }

 private:
  // A correctness check: recorded, and the exit code fails if it does not hold.
  bool Check(bool holds, std::string_view what) {
    if (!holds) {
      std::fprintf(stderr, "ledger_workload: check failed: %.*s\n", static_cast<int>(what.size()), what.data());
      checks_ok_ = false;
    }
    return holds;
  }

  Status Create() {
    DAICHO_ASSIGN_OR_RETURN(a_, OpenNew(dir_ / "a"));
    uint64_t payload_bytes = 0;  // counted from the generator, untimed
    for (uint32_t i = 0; i < params_.records; ++i) {
      for (uint32_t j = 0; j < kFieldCount; ++j) payload_bytes += LedgerValue(params_.seed, i, j, 0).size();
    }
    payload_bytes_ = payload_bytes;
    out_["payload_bytes"] = payload_bytes;
    DAICHO_ASSIGN_OR_RETURN(
        const double ms,
        TimedWrites(*a_, size_t{params_.records} * kFieldCount, size_t{params_.batch} * kFieldCount, params_.seed,
                    [](size_t k) {
                      return Edit{static_cast<uint32_t>(k / kFieldCount), static_cast<uint32_t>(k % kFieldCount), 0};
                    }));
    out_["p1_create_ms"] = Ms(ms);
    disk_bytes_a_ = DataBytes(dir_ / "a");
    out_["p1_disk_bytes_a"] = disk_bytes_a_;
    return Status();
  }

  Status Encode() {
    const auto start = SteadyClock::now();
    DAICHO_ASSIGN_OR_RETURN(full_state_, ProduceAll(*a_, VersionVector()));
    const double ms = MsSince(start);
    const DeltaSize size = SizeOf(full_state_);
    out_["p2_encode_ms"] = Ms(ms);
    out_["p2_encode_bytes"] = size.payload_bytes;
    out_["p2_encode_changes"] = size.changes;
    return Status();
  }

  Status InitialSync() {
    DAICHO_ASSIGN_OR_RETURN(b_, OpenNew(dir_ / "b"));
    const auto start = SteadyClock::now();
    DAICHO_RETURN_IF_ERROR(ApplyAll(*b_, full_state_));
    const double ms = MsSince(start);
    full_state_.clear();
    full_state_.shrink_to_fit();
    DAICHO_ASSIGN_OR_RETURN(const bool verified, VerifyInitialState(*b_, params_, "B"));
    Check(verified, "p3_verified");
    out_["p3_apply_ms"] = Ms(ms);
    out_["p3_verified"] = verified;
    out_["p3_disk_bytes_b"] = DataBytes(dir_ / "b");
    return Status();
  }

  // B' pulls A's state from a loopback server serving A (kept for P5).
  Status InitialSyncOverWebSocket() {
    DAICHO_ASSIGN_OR_RETURN(server_, ServeReplica(*a_));
    url_a_ = "ws://127.0.0.1:" + std::to_string(server_->port()) + "/";
    DAICHO_ASSIGN_OR_RETURN(auto b_wire, OpenNew(dir_ / "b_wire"));
    const auto start = SteadyClock::now();
    auto report = SyncWith(url_a_, *b_wire);
    const double ms = MsSince(start);
    if (!report.ok()) return report.status().WithContext("sync over WebSocket");
    DAICHO_ASSIGN_OR_RETURN(const bool verified, VerifyInitialState(*b_wire, params_, "B' (WebSocket)"));
    Check(verified, "p3_wire_verified");
    out_["p3_wire_ms"] = Ms(ms);
    out_["p3_wire_bytes"] = report->bytes_up + report->bytes_down;
    out_["p3_wire_verified"] = verified;
    return Status();
  }

  // A uploads to a relay; B'' downloads from it. Sealed (end-to-end
  // encrypted, as the product syncs) under p3_relay_*, and once more in
  // plaintext under p3_relay_plain_* to show what sealing costs. Each run's
  // relay and replica are closed before the next so the peak memory holds one.
  Status InitialSyncThroughRelay() {
    DAICHO_RETURN_IF_ERROR(SyncThroughRelay(/*sealed=*/false, "p3_relay_plain"));
    DAICHO_RETURN_IF_ERROR(SyncThroughRelay(/*sealed=*/true, "p3_relay"));
    out_["p3_relay_sealed_vs_plain"] =
        Ms(out_["p3_relay_ms"].get<double>() / std::max(out_["p3_relay_plain_ms"].get<double>(), 0.001));
    return Status();
  }

  Status SyncThroughRelay(bool sealed, const std::string& key) {
    const std::string name = sealed ? "relay" : "relay_plain";
    DAICHO_ASSIGN_OR_RETURN(auto relay, daicho::bench::BenchRelay::Start((dir_ / name).string(), sealed));
    DAICHO_RETURN_IF_ERROR(relay->Login(*a_).WithContext("relay login"));
    auto start = SteadyClock::now();
    auto upload = relay->Sync(*a_);
    const double upload_ms = MsSince(start);
    if (!upload.ok()) return upload.status().WithContext("relay upload");
    DAICHO_ASSIGN_OR_RETURN(auto b_relay, OpenNew(dir_ / ("b_" + name)));
    start = SteadyClock::now();
    auto download = relay->Sync(*b_relay);
    const double download_ms = MsSince(start);
    if (!download.ok()) return download.status().WithContext("relay download");
    DAICHO_ASSIGN_OR_RETURN(const bool verified, VerifyInitialState(*b_relay, params_, "B'' (" + name + ")"));
    Check(verified, key + "_verified");
    out_[key + "_ms"] = Ms(download_ms);
    out_[key + "_upload_ms"] = Ms(upload_ms);
    out_[key + "_bytes"] = download->bytes_up + download->bytes_down;
    out_[key + "_verified"] = verified;
    return Status();
  }

  // B''' pulls A's state directly from A on the office LAN (loopback here):
  // the office-key handshake and every frame encrypted (daicho/peer_sync.h),
  // no relay in between. Both PCs hold the office key as after `key unlock`.
  Status InitialSyncPcToPc() {
    DAICHO_ASSIGN_OR_RETURN(auto ring, daicho::crypto::KeyRing::Create());
    DAICHO_RETURN_IF_ERROR(
        daicho::crypto::SaveOfficeKey(daicho::crypto::OfficeKeyPath(a_->path()), kBenchContract, ring));
    daicho::PeerServerOptions serve;
    serve.host = "127.0.0.1";
    serve.port = 0;
    serve.announce = false;
    DAICHO_ASSIGN_OR_RETURN(auto server, daicho::PeerServer::Start(*a_, serve));
    DAICHO_ASSIGN_OR_RETURN(auto b_peer, OpenNew(dir_ / "b_peer"));
    DAICHO_RETURN_IF_ERROR(
        daicho::crypto::SaveOfficeKey(daicho::crypto::OfficeKeyPath(b_peer->path()), kBenchContract, ring));
    const auto start = SteadyClock::now();
    auto report = daicho::SyncWithPeer(*b_peer, "ws://127.0.0.1:" + std::to_string(server->port()) + "/");
    const double ms = MsSince(start);
    if (!report.ok()) return report.status().WithContext("PC-to-PC sync");
    DAICHO_ASSIGN_OR_RETURN(const bool verified, VerifyInitialState(*b_peer, params_, "B''' (PC to PC)"));
    Check(verified, "p3_peer_verified");
    out_["p3_peer_ms"] = Ms(ms);
    out_["p3_peer_bytes"] = report->bytes_up + report->bytes_down;
    out_["p3_peer_verified"] = verified;
    return Status();
  }

  Status ConcurrentEdits() {
    const uint32_t e = e_;
    const uint32_t h = h_;
    DAICHO_ASSIGN_OR_RETURN(const double edit_a_ms, TimedWrites(*a_, e, params_.batch, params_.seed, [](size_t k) {
                              return Edit{static_cast<uint32_t>(k), 1, 1};
                            }));
    // B edits records 0..2E-1 in order: f2 below H, f1 in [H, H+E), f2 above.
    DAICHO_ASSIGN_OR_RETURN(const double edit_b_ms,
                            TimedWrites(*b_, size_t{2} * e, params_.batch, params_.seed, [e, h](size_t k) {
                              const auto i = static_cast<uint32_t>(k);
                              return Edit{i, (i >= h && i < h + e) ? 1u : 2u, 2};
                            }));
    out_["p4_edit_a_ms"] = Ms(edit_a_ms);
    out_["p4_edit_b_ms"] = Ms(edit_b_ms);

    // Each side learns the other's version vector, produces what it lacks,
    // and the other applies it.
    const auto exchange_start = SteadyClock::now();
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_a, a_->GetVersionVector());
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_b, b_->GetVersionVector());
    auto start = SteadyClock::now();
    DAICHO_ASSIGN_OR_RETURN(auto a2b, ProduceAll(*a_, vv_b));
    const double produce_a2b_ms = MsSince(start);
    start = SteadyClock::now();
    DAICHO_ASSIGN_OR_RETURN(auto b2a, ProduceAll(*b_, vv_a));
    const double produce_b2a_ms = MsSince(start);
    start = SteadyClock::now();
    DAICHO_RETURN_IF_ERROR(ApplyAll(*b_, a2b));
    const double apply_a2b_ms = MsSince(start);
    start = SteadyClock::now();
    DAICHO_RETURN_IF_ERROR(ApplyAll(*a_, b2a));
    const double apply_b2a_ms = MsSince(start);
    const double exchange_ms = MsSince(exchange_start);

    const DeltaSize size_a2b = SizeOf(a2b);
    const DeltaSize size_b2a = SizeOf(b2a);
    out_["p4_delta_a2b_bytes"] = size_a2b.payload_bytes;
    out_["p4_delta_b2a_bytes"] = size_b2a.payload_bytes;
    out_["p4_delta_a2b_changes"] = size_a2b.changes;
    out_["p4_delta_b2a_changes"] = size_b2a.changes;
    out_["p4_produce_a2b_ms"] = Ms(produce_a2b_ms);
    out_["p4_produce_b2a_ms"] = Ms(produce_b2a_ms);
    out_["p4_apply_a2b_ms"] = Ms(apply_a2b_ms);
    out_["p4_apply_b2a_ms"] = Ms(apply_b2a_ms);
    out_["p4_exchange_total_ms"] = Ms(exchange_ms);
    return CheckConcurrentEdits();
  }

  // Untimed: A and B show the same, and what they show is what WORKLOAD.md
  // expects of each range.
  Status CheckConcurrentEdits() {
    const uint32_t e = e_;
    const uint32_t h = h_;
    const uint32_t seed = params_.seed;
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_a, a_->GetVersionVector());
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_b, b_->GetVersionVector());
    bool converged = vv_a == vv_b;
    uint64_t conflicts = 0;
    uint64_t winner_a = 0;
    uint64_t winner_b = 0;
    uint64_t lost = 0;
    uint64_t unexpected = 0;  // conflicts outside [H, E), or a conflict without both writes
    size_t records_b = 0;

    // B's records, page by page, compared with A's as A's pages come.
    std::vector<daicho::Record> page_b;
    daicho::ListOptions options_b;
    options_b.limit = kPageRecords;
    size_t next_b = 0;
    bool b_done = false;
    Status list_b;
    auto next_record_b = [&]() -> const daicho::Record* {
      while (next_b == page_b.size()) {
        if (b_done) return nullptr;
        auto page = b_->List(kCollection, options_b);
        if (!page.ok()) {
          list_b = page.status();
          return nullptr;
        }
        page_b = std::move(page->records);
        next_b = 0;
        b_done = page->next_start_after.empty();
        options_b.start_after = std::move(page->next_start_after);
      }
      return &page_b[next_b++];
    };
    size_t records_a = 0;
    DAICHO_RETURN_IF_ERROR(ForEachRecord(*a_, [&](const daicho::Record& record, size_t i) {
      ++records_a;
      const daicho::Record* other = next_record_b();
      if (other != nullptr) ++records_b;
      if (other == nullptr || !SameRecord(record, *other)) converged = false;
      // Records are 0..R-1 in id order (P3 checked it); anything else counts
      // as unexpected and is not judged by range.
      const auto index = static_cast<uint32_t>(i);
      if (record.id != LedgerKey(index)) {
        ++unexpected;
        return;
      }
      const daicho::FieldView* f1 = record.Find("f1");
      const daicho::FieldView* f2 = record.Find("f2");
      if (record.has_conflict()) ++conflicts;
      if (index >= h && index < e) {
        // Same-field conflict: both values kept, one displayed.
        const std::string va = LedgerValue(seed, index, 1, 1);
        const std::string vb = LedgerValue(seed, index, 1, 2);
        bool both = f1 != nullptr && f1->conflict && f1->siblings.size() == 2;
        if (both) {
          const auto& s = f1->siblings;
          both = (s[0].value == daicho::Value(va) && s[1].value == daicho::Value(vb)) ||
                 (s[0].value == daicho::Value(vb) && s[1].value == daicho::Value(va));
        }
        if (!both) ++unexpected;
        if (ShowsString(f1, va)) ++winner_a;
        if (ShowsString(f1, vb)) ++winner_b;
      } else if (record.has_conflict()) {
        ++unexpected;
      }
      // Every write outside the same-field range must be the displayed value.
      if (index < h) {
        lost += !ShowsString(f1, LedgerValue(seed, index, 1, 1));
        lost += !ShowsString(f2, LedgerValue(seed, index, 2, 2));
      } else if (index >= e && index < h + e) {
        lost += !ShowsString(f1, LedgerValue(seed, index, 1, 2));
      } else if (index >= h + e && index < 2 * e) {
        lost += !ShowsString(f2, LedgerValue(seed, index, 2, 2));
      }
    }));
    DAICHO_RETURN_IF_ERROR(list_b);
    if (next_record_b() != nullptr || records_b != params_.records) converged = false;
    if (records_a != params_.records) ++unexpected;
    DAICHO_RETURN_IF_ERROR(list_b);

    Check(converged, "p4_converged");
    Check(conflicts == e - h, "p4_conflicts_exposed == E - H");
    Check(winner_a + winner_b == e - h, "p4_same_field_winner_a + p4_same_field_winner_b == E - H");
    Check(lost == 0, "p4_lost_updates == 0");
    Check(unexpected == 0, "p4 conflicts exactly in [H, E), each with both values as siblings");
    out_["p4_converged"] = converged;
    out_["p4_conflicts_exposed"] = conflicts;
    out_["p4_same_field_winner_a"] = winner_a;
    out_["p4_same_field_winner_b"] = winner_b;
    out_["p4_lost_updates"] = lost;
    out_["p4_unexpected_conflicts"] = unexpected;
    return Status();
  }

  // Commits one field on A (untimed): record R-1, field `field`, version 3.
  Status EditLastRecord(uint32_t field) {
    const uint32_t last = params_.records - 1;
    daicho::WriteTransaction txn = a_->BeginWrite();
    DAICHO_RETURN_IF_ERROR(
        txn.Set(kCollection, LedgerKey(last), kFieldNames[field], LedgerValue(params_.seed, last, field, 3)));
    auto info = txn.Commit();
    return info.status();
  }

  Result<bool> BShowsLastRecordEdit(uint32_t field) {
    const uint32_t last = params_.records - 1;
    DAICHO_ASSIGN_OR_RETURN(const daicho::Record record, b_->Get(kCollection, LedgerKey(last)));
    const daicho::FieldView* view = record.Find(kFieldNames[field]);
    return ShowsString(view, LedgerValue(params_.seed, last, field, 3)) && !view->conflict;
  }

  Status IncrementalEdit() {
    DAICHO_RETURN_IF_ERROR(EditLastRecord(5));
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_b, b_->GetVersionVector());
    auto start = SteadyClock::now();
    DAICHO_ASSIGN_OR_RETURN(auto delta, ProduceAll(*a_, vv_b));
    const double produce_ms = MsSince(start);
    start = SteadyClock::now();
    DAICHO_RETURN_IF_ERROR(ApplyAll(*b_, delta));
    const double apply_ms = MsSince(start);
    DAICHO_ASSIGN_OR_RETURN(const bool visible, BShowsLastRecordEdit(5));
    Check(visible, "p5: B shows f5 of the last record");
    const DeltaSize size = SizeOf(delta);
    out_["p5_delta_bytes"] = size.payload_bytes;
    out_["p5_delta_changes"] = size.changes;
    out_["p5_produce_ms"] = Ms(produce_ms);
    out_["p5_apply_ms"] = Ms(apply_ms);
    out_["p5_verified"] = visible;

    // The same through the protocol: B syncs with the server serving A.
    DAICHO_RETURN_IF_ERROR(EditLastRecord(6));
    start = SteadyClock::now();
    auto report = SyncWith(url_a_, *b_);
    const double wire_ms = MsSince(start);
    if (!report.ok()) return report.status().WithContext("incremental sync over WebSocket");
    DAICHO_ASSIGN_OR_RETURN(const bool wire_visible, BShowsLastRecordEdit(6));
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_a, a_->GetVersionVector());
    DAICHO_ASSIGN_OR_RETURN(const VersionVector vv_b_after, b_->GetVersionVector());
    const bool wire_ok = wire_visible && vv_a == vv_b_after;
    Check(wire_ok, "p5 over WebSocket: B shows f6 of the last record and holds what A holds");
    out_["p5_wire_bytes"] = report->bytes_up + report->bytes_down;
    out_["p5_wire_ms"] = Ms(wire_ms);
    out_["p5_wire_verified"] = wire_ok;
    return Status();
  }

  Status Floor() {
    DAICHO_ASSIGN_OR_RETURN(const LmdbFloor floor, MeasureLmdbFloor(dir_ / "lmdb_floor", params_));
    out_["lmdb_floor_ms"] = Ms(floor.ms);
    out_["lmdb_floor_disk_bytes"] = floor.disk_bytes;
    out_["disk_per_payload_a"] = Ratio(static_cast<double>(disk_bytes_a_) / static_cast<double>(payload_bytes_));
    out_["lmdb_floor_disk_per_payload"] =
        Ratio(static_cast<double>(floor.disk_bytes) / static_cast<double>(payload_bytes_));
    return Status();
  }

  const Params params_;
  const fs::path dir_;
  Json& out_;
  const uint32_t e_;  // records edited by A in P4
  const uint32_t h_;  // size of each overlap range
  bool checks_ok_ = true;
  uint64_t payload_bytes_ = 0;
  uint64_t disk_bytes_a_ = 0;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
  std::vector<std::vector<ChangeBlob>> full_state_;        // P2's chunks, until P3 applied them
  std::unique_ptr<daicho::transport::SyncServer> server_;  // serves A from P3 to P5
  std::string url_a_;
  Json rss_by_phase_ = Json::object();
};

bool ParseUint32(const char* text, uint32_t& out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > UINT32_MAX || text[0] == '-') return false;
  out = static_cast<uint32_t>(v);
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: ledger_workload [--records N (>= 20)] [--seed S] [--batch B (>= 1)] [--dir PATH]\n"
               "  --dir: where the replicas are made (missing or empty; kept). Default: a temporary\n"
               "         directory removed afterwards.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const auto run_start = SteadyClock::now();
  Params params;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--records") && has_value) {
      if (!ParseUint32(argv[++i], params.records)) return Usage();
    } else if (!std::strcmp(argv[i], "--seed") && has_value) {
      if (!ParseUint32(argv[++i], params.seed)) return Usage();
    } else if (!std::strcmp(argv[i], "--batch") && has_value) {
      if (!ParseUint32(argv[++i], params.batch)) return Usage();
    } else if (!std::strcmp(argv[i], "--dir") && has_value) {
      params.dir = argv[++i];
    } else {
      return Usage();
    }
  }
  if (params.records < 20 || params.batch < 1) return Usage();

  const bool temporary = params.dir.empty();
  const fs::path dir =
      temporary ? fs::temp_directory_path() / ("daicho-ledger-workload-" + std::to_string(std::random_device()()))
                : fs::path(params.dir);
  std::error_code ec;
  if (!temporary && fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    std::fprintf(stderr, "ledger_workload: --dir %s is not empty\n", dir.c_str());
    return 2;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "ledger_workload: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 3;
  }
  struct Cleanup {  // declared before the workload: removes the files after the replicas closed
    fs::path dir;
    bool remove;
    ~Cleanup() {
      std::error_code ignored;
      if (remove) fs::remove_all(dir, ignored);
    }
  } cleanup{dir, temporary};

  Json out;
  out["system"] = "daicho";
  out["version"] = DAICHO_BENCH_VERSION;
  out["records"] = params.records;
  out["seed"] = params.seed;
  out["batch"] = params.batch;
  out["payload_bytes"] = 0;  // filled in by P1; placed here to keep the key order of WORKLOAD.md
  out["total_ms"] = 0;
  // ReplicaIds are random (the library picks one on creation): which side's
  // value is displayed in a same-field conflict varies run to run.
  out["deterministic_ids"] = false;
  Result<bool> passed = false;
  Json rss_by_phase;
  {
    Workload workload(params, dir, out);
    passed = workload.Run();
    rss_by_phase = workload.rss_by_phase();
  }
  if (!passed.ok()) {
    std::fprintf(stderr, "ledger_workload: %s\n", passed.status().ToString().c_str());
    return 3;
  }
  out["mem"] = Json{{"peak_rss_mb_os", PeakRssMb()}, {"peak_rss_mb_after", rss_by_phase}};
  out["total_ms"] = Ms(MsSince(run_start));
  std::printf("%s\n", out.dump().c_str());
  return *passed ? 0 : 1;
}
