// Replica on LMDB. Layout (docs/formats.md):
//   meta:      schema, replica_id, device_marker, epoch, vv, hlc;
//              "replica\0" index -> id (the replica dictionary);
//              "local_setting\0" name -> value (Replica::SetLocalSetting)
//   records:   collection \0 id      -> record state (state_codec), whose
//                                       register values are read from changes
//   changes:   origin(16) | seq(8 BE) -> change payload (change_codec)
//   conflicts: collection \0 id      -> "" for every record with a conflict
// Each commit and each applied batch is one LMDB write transaction.
//
// Several processes may have the directory open at once (the CLI committing
// while a sync client applies). So no write computes from memory: each write
// transaction reads id, vv, hlc and epoch from meta first (LMDB serializes the
// writers of all processes), and reads take the vv from their own snapshot.
// Memory keeps only a decoded copy of the last vv seen and the local clock,
// which is merged with the stored one in every write. The replica dictionary
// (record states name replicas by index) follows the same rule: a write
// assigns indexes only after reading, in its own transaction, the entries
// other processes added (storage/replica_dictionary.h).
#include "daicho/replica.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "core/change_builder.h"
#include "core/change_log.h"
#include "core/hlc.h"
#include "core/merge.h"
#include "core/record_context.h"
#include "core/record_view.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/names.h"
#include "storage/codec/state_codec.h"
#include "storage/codec/version_vector_codec.h"
#include "storage/lmdb/change_log_reader.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "storage/lmdb/growing_writer.h"
#include "storage/lmdb/ordered_putter.h"
#include "storage/lmdb/store_directory.h"
#include "storage/replica/device_marker.h"
#include "storage/replica/rollback_guard.h"
#include "storage/replica/store_replica_dictionary.h"
#include "storage/replica/value_resolver.h"

namespace daicho {
namespace {

using storage::lmdb::Dbi;

using storage::lmdb::kSchemaKey;
// Format v4: record states may hold kind contexts (a field flag v3 did not
// know); v3 (states without register values) is a subset of it and is
// upgraded in place by marking it v4, so that an older daicho refuses the
// store instead of misreading it. v2 stored values in the states, v1
// Protobuf: those are refused, not converted.
constexpr std::string_view kSchemaValue = "daicho-replica-v4";
constexpr unsigned kSchemaVersion = 4;
constexpr unsigned kUpgradableSchemaVersion = 3;
constexpr std::string_view kSchemaPrefix = "daicho-replica-v";
constexpr std::string_view kReplicaIdKey = "replica_id";
constexpr std::string_view kDeviceMarkerKey = "device_marker";
constexpr std::string_view kVvKey = "vv";
constexpr std::string_view kHlcKey = "hlc";
constexpr std::string_view kEpochKey = "epoch";
// Local settings share meta under this prefix. The NUL ends it: no fixed meta
// key contains one and the replica dictionary's keys start "replica\0", so
// no setting name can ever collide with them.
constexpr std::string_view kLocalSettingPrefix{"local_setting\0", 14};

// The N of a "daicho-replica-vN" marker; nullopt for anything else.
std::optional<unsigned> SchemaVersion(std::string_view marker) {
  if (!marker.starts_with(kSchemaPrefix)) return std::nullopt;
  const std::string_view digits = marker.substr(kSchemaPrefix.size());
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  unsigned version = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    version = version * 10 + static_cast<unsigned>(c - '0');
  }
  return version;
}

Status CheckLocalSettingName(std::string_view name) {
  if (name.empty()) return InvalidArgument("local setting name must not be empty");
  if (name.size() > kMaxLocalSettingNameBytes) {
    return InvalidArgument("local setting name is longer than " + std::to_string(kMaxLocalSettingNameBytes) + " bytes");
  }
  if (name.find('\0') != std::string_view::npos) return InvalidArgument("local setting name contains a NUL byte");
  return Status::Ok();
}

std::string LocalSettingKey(std::string_view name) {
  std::string key(kLocalSettingPrefix);
  key.append(name);
  return key;
}

std::string RecordKeyBytes(std::string_view collection, std::string_view id) {
  std::string key;
  key.reserve(collection.size() + 1 + id.size());
  key.append(collection);
  key.push_back('\0');
  key.append(id);
  return key;
}

// The replica's `changes` database holds one log: its keys have no prefix.
std::string ChangeKeyBytes(const ReplicaId& origin, uint64_t seq) {
  return storage::lmdb::ChangeLogKey({}, origin, seq);
}

std::string EncodeHlc(HlcTime t) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((t.wall_ms >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((t.logical >> (8 * i)) & 0xff));
  return out;
}

Result<HlcTime> DecodeHlc(std::string_view b) {
  if (b.size() != 12) return Corruption("stored clock state has " + std::to_string(b.size()) + " bytes");
  HlcTime t;
  for (int i = 0; i < 8; ++i) t.wall_ms |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
  for (int i = 0; i < 4; ++i) t.logical |= static_cast<uint32_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
  return t;
}

// The name errors give the log: "change log lacks <origin>:<seq>".
constexpr std::string_view kChangeLogName = "change log";
// Ends ReusedDotError's "change <origin>:<seq> differs from the one ...".
constexpr std::string_view kReusedDotHolder = "held here: that replica id was reused (a store restored from a backup?)";

Status CheckName(std::string_view name, const char* what, const Limits& limits) {
  switch (storage::CheckNameBytes(name, limits.max_name_bytes)) {
    case storage::NameProblem::kEmpty:
      return InvalidArgument(std::string(what) + " must not be empty");
    case storage::NameProblem::kTooLong:
      return Status(Code::kResourceExhausted,
                    std::string(what) + " is longer than " + std::to_string(limits.max_name_bytes) + " bytes");
    case storage::NameProblem::kNul:
      return InvalidArgument(std::string(what) + " contains a NUL byte");
    case storage::NameProblem::kNotUtf8:
      return InvalidArgument(std::string(what) + " is not valid UTF-8");
    case storage::NameProblem::kNone:
      break;
  }
  return Status::Ok();
}

Status CheckRecordArgs(std::string_view collection, std::string_view id, const Limits& limits) {
  DAICHO_RETURN_IF_ERROR(CheckName(collection, "collection", limits));
  DAICHO_RETURN_IF_ERROR(CheckName(id, "record id", limits));
  if (storage::RecordKeyTooLong(collection, id)) {
    return Status(Code::kResourceExhausted, "collection and record id together are longer than " +
                                                std::to_string(storage::kMaxRecordKeyBytes - 1) + " bytes");
  }
  return Status::Ok();
}

Status CheckText(std::string_view text, const char* what, const Limits& limits) {
  if (text.size() > limits.max_value_bytes) {
    return Status(Code::kResourceExhausted,
                  std::string(what) + " is longer than " + std::to_string(limits.max_value_bytes) + " bytes");
  }
  if (!IsValidUtf8(text)) return InvalidArgument(std::string(what) + " is not valid UTF-8");
  return Status::Ok();
}

// Whether the conflict index can hold a record whose stored state is
// `state`. Telling a value conflict needs the values, but without several
// siblings in a register, a kind or a delete conflict there is none: an
// update of such a record (the usual one) skips removing an entry that
// cannot exist.
bool MayBeIndexed(const core::RecordState& state) {
  if (core::HasDeleteConflict(state)) return true;
  return std::any_of(state.fields.begin(), state.fields.end(), [](const core::FieldState& f) {
    return core::HasKindConflict(f) || (f.reg && f.reg->siblings.size() > 1);
  });
}

constexpr std::array<std::string_view, 4> kDatabaseNames = {"meta", "records", "changes", "conflicts"};

// True if `env` holds nothing but empty daicho databases: a creation cut off
// before its metadata was written (the schema key goes in last, with the id).
Result<bool> IsInterruptedCreation(storage::lmdb::Env& env) {
  constexpr Dbi kMainDbi{1};  // LMDB's MAIN_DBI: lists the named databases
  std::vector<std::string> names;
  {
    DAICHO_ASSIGN_OR_RETURN(auto txn, env.BeginRead());
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(kMainDbi));
    DAICHO_RETURN_IF_ERROR(cursor.First());
    while (cursor.valid()) {
      names.emplace_back(cursor.key());
      DAICHO_RETURN_IF_ERROR(cursor.Next());
    }
  }
  for (const std::string& name : names) {
    if (std::find(kDatabaseNames.begin(), kDatabaseNames.end(), name) == kDatabaseNames.end()) return false;
  }
  for (const std::string& name : names) {
    DAICHO_ASSIGN_OR_RETURN(Dbi dbi, env.OpenDbi(name, /*create=*/false));
    DAICHO_ASSIGN_OR_RETURN(auto txn, env.BeginRead());
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(dbi));
    DAICHO_RETURN_IF_ERROR(cursor.First());
    if (cursor.valid()) return false;
  }
  return true;
}

}  // namespace

// The replica's own state in meta, as one transaction sees it.
struct MetaState {
  ReplicaId id;
  ReplicaId epoch;  // changes with every commit; see RollbackGuard
  VersionVector vv;
  HlcTime hlc;
};

struct Replica::Impl {
  std::string path;
  ReplicaOptions options;
  storage::lmdb::Env env;
  Dbi meta, records, changes, conflicts;
  // Replica ids <-> the indexes record states use; set once meta is open.
  std::optional<storage::StoreReplicaDictionary> dict;

  // Serializes this process's writers that touch the meta state (commits,
  // applies); the guard's flock and LMDB's write lock order them with other
  // processes' writers (lock order: write_mu, guard, LMDB). Guards id and hlc.
  mutable std::mutex write_mu;
  storage::lmdb::GrowingWriter writer;

  // The id as of this process's last write or open: only a fallback for id().
  ReplicaId id;
  // This process's clock. Every write merges it with the stored one first, so
  // stamps keep increasing across processes.
  core::HybridClock hlc;
  storage::RollbackGuard guard;

  // The last vv decoded and the bytes it was decoded from: an unchanged
  // stored vv costs a compare, not a decode. Only a memo, never a source.
  mutable std::mutex vv_memo_mu;
  mutable std::optional<std::string> vv_memo_raw;
  mutable VersionVector vv_memo;

  std::mutex listener_mu;
  std::function<void(const std::vector<RecordKey>&)> listener;

  Impl(std::string p, const ReplicaOptions& o, storage::lmdb::Env e)
      : path(std::move(p)),
        options(o),
        env(std::move(e)),
        writer(env),
        hlc(o.clock, o.max_clock_skew_ms),
        guard(path, std::chrono::milliseconds(o.write_lock_timeout_ms)) {}

  void Warn(const std::string& message) const {
    if (options.warning_log) {
      options.warning_log(message);
    } else {
      std::cerr << "daicho: warning: " << message << '\n';
    }
  }

  Result<bool> InitializeNew(const std::string& marker);
  Status LoadExisting(const std::string& marker);
  Status CheckAndRepair(const std::string& marker);
  Result<std::optional<storage::RollbackGuard::Lock>> LockGuard() const;
  void WriteGuard(const std::optional<storage::RollbackGuard::Lock>& lock,
                  const storage::RollbackGuard::Mark& mark) const;
  Result<std::string_view> GetMeta(const storage::lmdb::TxnBase& txn, std::string_view key) const;
  Result<VersionVector> ReadVv(const storage::lmdb::TxnBase& txn) const;
  // Runs body(log, held) -> Status over one read snapshot, taking the vv
  // from it too: the change log then holds all it names even while other
  // processes commit.
  template <typename Body>
  Status ReadChangeLog(Body&& body) const {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(const VersionVector held, ReadVv(txn));
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(changes));
    storage::lmdb::LmdbChangeLogReader log(std::move(cursor), {});
    return body(log, held);
  }
  void RememberVv(std::string raw, const VersionVector& vv) const;
  Result<MetaState> ReadMetaState(const storage::lmdb::TxnBase& txn) const;
  core::HybridClock MergedClock(HlcTime stored) const;
  Status PutVvAndClock(storage::lmdb::WriteTxn& txn, const VersionVector& new_vv, HlcTime clock,
                       std::string& encoded_vv) const;
  // The stored state of record (collection, id) as `txn` sees it; kNotFound
  // naming the record if there is none.
  Result<core::RecordState> ReadState(const storage::lmdb::TxnBase& txn, std::string_view collection,
                                      std::string_view id) const;
  Status PutRecord(storage::lmdb::WriteTxn& txn, storage::ReplicaDictionary& dict,
                   storage::lmdb::OrderedPutter& record_putter, std::string_view key, core::RecordState& state,
                   bool maybe_indexed, std::string& buffer,
                   const storage::ValueResolver::HeldChange* held = nullptr) const;
  Result<CommitInfo> Commit(const core::ChangeBuilder& builder);
  Result<bool> Exists(std::string_view collection, std::string_view id) const;
};

Result<std::string_view> Replica::Impl::GetMeta(const storage::lmdb::TxnBase& txn, std::string_view key) const {
  auto got = txn.Get(meta, key);
  if (!got.ok() && got.status().code() == Code::kNotFound) {
    return Corruption("replica metadata is incomplete (no " + std::string(key) + ")");
  }
  return got;
}

Result<VersionVector> Replica::Impl::ReadVv(const storage::lmdb::TxnBase& txn) const {
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw, GetMeta(txn, kVvKey));
  std::lock_guard lock(vv_memo_mu);
  if (vv_memo_raw != raw) {
    DAICHO_ASSIGN_OR_RETURN(VersionVector decoded, storage::DecodeVersionVector(raw));
    vv_memo = std::move(decoded);
    vv_memo_raw.emplace(raw);
  }
  return vv_memo;
}

void Replica::Impl::RememberVv(std::string raw, const VersionVector& vv) const {
  std::lock_guard lock(vv_memo_mu);
  vv_memo = vv;
  vv_memo_raw = std::move(raw);
}

Result<MetaState> Replica::Impl::ReadMetaState(const storage::lmdb::TxnBase& txn) const {
  MetaState state;
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_id, GetMeta(txn, kReplicaIdKey));
  DAICHO_ASSIGN_OR_RETURN(state.id, ReplicaId::FromBytes(raw_id));
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_epoch, GetMeta(txn, kEpochKey));
  DAICHO_ASSIGN_OR_RETURN(state.epoch, ReplicaId::FromBytes(raw_epoch));
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_hlc, GetMeta(txn, kHlcKey));
  DAICHO_ASSIGN_OR_RETURN(state.hlc, DecodeHlc(raw_hlc));
  DAICHO_ASSIGN_OR_RETURN(state.vv, ReadVv(txn));
  return state;
}

// A copy, so that a write transaction retried after a map resize, or one that
// fails, leaves the process's clock as it was.
core::HybridClock Replica::Impl::MergedClock(HlcTime stored) const {
  core::HybridClock clock = hlc;
  if (stored > clock.last()) clock.Restore(stored);
  return clock;
}

Status Replica::Impl::PutVvAndClock(storage::lmdb::WriteTxn& txn, const VersionVector& new_vv, HlcTime clock,
                                    std::string& encoded_vv) const {
  encoded_vv = storage::EncodeVersionVector(new_vv);
  DAICHO_RETURN_IF_ERROR(txn.Put(meta, kVvKey, encoded_vv));
  return txn.Put(meta, kHlcKey, EncodeHlc(clock));
}

// `maybe_indexed`: `conflicts` may hold the record (see MayBeIndexed).
// `held` (optional): the change being applied, parsed. Every
// change the state names must already be in `changes` (put them first).
Status Replica::Impl::PutRecord(storage::lmdb::WriteTxn& txn, storage::ReplicaDictionary& dict,
                                storage::lmdb::OrderedPutter& record_putter, std::string_view key,
                                core::RecordState& state, bool maybe_indexed, std::string& buffer,
                                const storage::ValueResolver::HeldChange* held) const {
  // A value conflict compares sibling values, which states do not hold: a
  // register with several siblings gets them from the change log. A fresh
  // resolver each time: its views into the map die with the next Put.
  const bool several = std::any_of(state.fields.begin(), state.fields.end(),
                                   [](const core::FieldState& f) { return f.reg && f.reg->siblings.size() > 1; });
  if (several) {
    storage::ValueResolver resolver(txn, changes, options.limits, held);
    const size_t sep = key.find('\0');
    DAICHO_RETURN_IF_ERROR(resolver.ResolveMultiSibling(key.substr(0, sep), key.substr(sep + 1), state));
  }
  DAICHO_RETURN_IF_ERROR(storage::EncodeRecordState(state, dict, buffer));
  DAICHO_RETURN_IF_ERROR(record_putter.Put(txn, key, buffer));
  // The conflict index keeps ListConflicts() from scanning the whole ledger.
  if (core::HasConflict(state)) return txn.Put(conflicts, key, {});
  if (!maybe_indexed) return Status::Ok();  // no index entry to remove
  Status del = txn.Del(conflicts, key);
  return del.code() == Code::kNotFound ? Status::Ok() : del;
}

// The guard lock for a write that moves the meta state. Taken before the LMDB
// write transaction and held until the mark is written, so that no opener
// sees the commit without its mark. nullopt (after a warning) if the file
// cannot be locked: the write goes ahead, and the next open may take a new id.
// kBusy if another process holds it too long: going ahead then could make
// an opener take that process's commit for a rollback.
Result<std::optional<storage::RollbackGuard::Lock>> Replica::Impl::LockGuard() const {
  auto lock = guard.LockExclusive();
  if (!lock.ok()) {
    if (lock.status().code() == Code::kBusy) return lock.status();
    Warn(lock.status().ToString());
    return std::optional<storage::RollbackGuard::Lock>();
  }
  return std::optional<storage::RollbackGuard::Lock>(std::move(lock).value());
}

void Replica::Impl::WriteGuard(const std::optional<storage::RollbackGuard::Lock>& lock,
                               const storage::RollbackGuard::Mark& mark) const {
  if (!lock) return;
  Status written = lock->Write(mark);
  // The write itself stands; a stale guard only costs a new id at next open.
  if (!written.ok()) Warn(written.ToString());
}

// False if another process finished creating the replica first (two opens
// with create_if_missing racing): then it is loaded, not created again.
Result<bool> Replica::Impl::InitializeNew(const std::string& marker) {
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  bool created = false;
  std::string encoded_vv;
  DAICHO_RETURN_IF_ERROR(writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto schema, txn.GetCopy(meta, kSchemaKey));
    created = !schema.has_value();
    if (!created) return Status::Ok();
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kReplicaIdKey, new_id.AsStringView()));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kDeviceMarkerKey, marker));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    DAICHO_RETURN_IF_ERROR(PutVvAndClock(txn, VersionVector(), hlc.last(), encoded_vv));
    // Last: a store without the schema key is an interrupted creation.
    return txn.Put(meta, kSchemaKey, kSchemaValue);
  }));
  if (!created) return false;
  id = new_id;
  RememberVv(std::move(encoded_vv), VersionVector());
  WriteGuard(guard_lock, {new_id, 0, new_epoch});
  return true;
}

Status Replica::Impl::LoadExisting(const std::string& marker) {
  // The common case, read-only: meta and guard agree. The shared lock keeps
  // out writers between their LMDB commit and their guard write.
  {
    DAICHO_ASSIGN_OR_RETURN(const storage::RollbackGuard::Lock shared, guard.LockShared());
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(MetaState state, ReadMetaState(txn));
    DAICHO_ASSIGN_OR_RETURN(auto stored_marker, txn.GetCopy(meta, kDeviceMarkerKey));
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (stored_marker == marker && shared.Read() == current) {
      std::lock_guard write_lock(write_mu);
      id = state.id;
      hlc.Restore(state.hlc);
      return Status::Ok();
    }
  }
  return CheckAndRepair(marker);
}

// Checks for a copy or rollback and retires the id if so, holding the guard
// lock and one write transaction throughout: no other process's commit can
// come between the check and the repair, and two processes opening a copied
// store at once take one new id between them, not one each. A retired id's
// changes stay valid under it; new ones go under the fresh id (the old one
// may have issued dots this store lacks).
Status Replica::Impl::CheckAndRepair(const std::string& marker) {
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  const std::optional<storage::RollbackGuard::Mark> guarded =
      guard_lock ? guard_lock->Read() : std::optional<storage::RollbackGuard::Mark>();
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  const char* reason = nullptr;
  MetaState state;
  DAICHO_RETURN_IF_ERROR(writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    reason = nullptr;
    DAICHO_ASSIGN_OR_RETURN(state, ReadMetaState(txn));
    DAICHO_ASSIGN_OR_RETURN(auto stored_marker, txn.GetCopy(meta, kDeviceMarkerKey));
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (stored_marker != marker) {
      reason = "was copied or restored (its data file is new)";
    } else if (!storage::RollbackGuard::Consistent(current, guarded)) {
      reason = "was rolled back (its data file is older than its last commit)";
    }
    if (reason == nullptr) return Status::Ok();  // commits nothing
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kReplicaIdKey, new_id.AsStringView()));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    return txn.Put(meta, kDeviceMarkerKey, marker);
  }));
  hlc.Restore(state.hlc);
  if (reason == nullptr) {
    id = state.id;
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (guarded != current) WriteGuard(guard_lock, current);  // the crash-cut last write
    return Status::Ok();
  }
  id = new_id;
  WriteGuard(guard_lock, {new_id, state.vv.Get(new_id), new_epoch});
  Warn("replica at " + path + " " + reason + "; replica id " + state.id.ToHex() + " is retired, new id " +
       new_id.ToHex());
  return Status::Ok();
}

Result<bool> Replica::Impl::Exists(std::string_view collection, std::string_view record_id) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
  auto got = txn.Get(records, RecordKeyBytes(collection, record_id));
  if (got.ok()) return true;
  if (got.status().code() == Code::kNotFound) return false;
  return got.status();
}

Result<CommitInfo> Replica::Impl::Commit(const core::ChangeBuilder& builder) {
  if (builder.empty()) return Status(Code::kFailedPrecondition, "nothing to commit");
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  MetaState state;
  core::HybridClock clock = hlc;
  Dot dot;
  HlcTime stamp;
  VersionVector new_vv;
  std::string encoded_vv;
  core::Change change;
  std::optional<storage::RollbackGuard::Mark> guarded =
      guard_lock ? guard_lock->Read() : std::optional<storage::RollbackGuard::Mark>();
  Status status = writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    // Another process may have committed, applied or retired the id since
    // this one last wrote: the dot and vv follow from what is stored.
    DAICHO_ASSIGN_OR_RETURN(state, ReadMetaState(txn));
    // The last writer died between its commit and its mark (the store is one
    // commit ahead, see RollbackGuard): catch the mark up before adding a
    // commit, or a second such death would leave it two behind, which reads
    // as a rollback at the next open and retires the id.
    const storage::RollbackGuard::Mark current{state.id, state.vv.Get(state.id), state.epoch};
    if (guard_lock && guarded != current && storage::RollbackGuard::Consistent(current, guarded)) {
      WriteGuard(guard_lock, current);
      guarded = current;
    }
    clock = MergedClock(state.hlc);
    dot = Dot{state.id, state.vv.Get(state.id) + 1};
    stamp = clock.Now();
    new_vv = state.vv;
    new_vv.Advance(dot);
    // One view per attempt: indexes it assigns exist only in this txn.
    storage::StoreReplicaDictionary::WriteView view = dict->ForWrite(txn);
    std::map<std::pair<std::string, std::string>, core::RecordState> states;
    for (const auto& key : builder.Keys()) {
      auto raw = txn.Get(records, RecordKeyBytes(key.first, key.second));
      if (!raw.ok()) {
        if (raw.status().code() == Code::kNotFound) continue;
        return raw.status();
      }
      // Decoded before the next Put, while the view is valid.
      DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(*raw, view));
      states.emplace(key, std::move(state));
    }
    // A transaction of new records (bulk creation) finds no states: no
    // lookups, no key copies.
    change =
        builder.Build(dot, stamp, new_vv, [&](const std::string& c, const std::string& i) -> const core::RecordState* {
          if (states.empty()) return nullptr;
          auto it = states.find({c, i});
          return it == states.end() ? nullptr : &it->second;
        });
    // The change first: the states written below name its dot, and reading
    // their values (conflict detection) needs it in `changes`.
    const std::string payload = storage::EncodeChangePayload(change);
    // Larger changes could not go in one sync frame (nor be applied anywhere,
    // over max_change_bytes): refused now rather than blocking every sync.
    const size_t limit = std::min(options.limits.max_commit_bytes, options.limits.max_change_bytes);
    if (payload.size() > limit) {
      return Status(Code::kResourceExhausted,
                    "the transaction is too large to sync: it encodes to " + std::to_string(payload.size()) +
                        " bytes, more than the " + std::to_string(limit) +
                        " bytes one commit may hold; split the edit into several smaller commits "
                        "(for an import, import the rows in parts)");
    }
    storage::lmdb::OrderedPutter change_putter(changes);
    DAICHO_RETURN_IF_ERROR(change_putter.Put(txn, ChangeKeyBytes(dot.origin, dot.counter), payload));
    // States do not hold values: spare the merge a copy of each.
    for (core::RecordOps& rec : change.records) {
      for (core::Op& op : rec.ops) {
        if (op.type == core::OpType::kSetRegister) op.value = Value();
      }
    }
    // Records in key order: new ones past the end are appended.
    storage::lmdb::OrderedPutter record_putter(records);
    std::string key, buffer;
    core::RecordState fresh;  // the state of each new record in turn, its memory reused
    for (const core::RecordOps& rec : change.records) {
      auto it = states.empty() ? states.end() : states.find({rec.collection, rec.id});
      const bool existed = it != states.end();
      core::RecordState& state = existed ? it->second : fresh;
      const bool maybe_indexed = existed && MayBeIndexed(state);
      if (existed) {
        core::ApplyRecordOps(state, rec, dot, stamp);
      } else {
        core::ApplyRecordOpsToNew(state, rec, dot, stamp);
      }
      key.assign(rec.collection);
      key.push_back('\0');
      key.append(rec.id);
      DAICHO_RETURN_IF_ERROR(PutRecord(txn, view, record_putter, key, state, maybe_indexed, buffer));
    }
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    return PutVvAndClock(txn, new_vv, clock.last(), encoded_vv);
  });
  if (!status.ok()) return status.WithContext("commit");
  id = state.id;
  hlc = clock;
  RememberVv(std::move(encoded_vv), new_vv);
  WriteGuard(guard_lock, {dot.origin, dot.counter, new_epoch});
  return CommitInfo{dot, stamp, change.OpCount()};
}

// ---- WriteTransaction ----

struct WriteTransaction::Impl {
  Replica::Impl* replica;
  core::ChangeBuilder builder;
  // The last (collection, id) that passed CheckRecordArgs: a transaction
  // usually sets many fields of one record in a row.
  std::string checked_collection, checked_id;

  Status CheckRoom() const {
    if (builder.size() >= replica->options.limits.max_ops_per_change) {
      return Status(Code::kResourceExhausted, "transaction holds the maximum of " +
                                                  std::to_string(replica->options.limits.max_ops_per_change) +
                                                  " operations; commit it first");
    }
    return Status::Ok();
  }
  Status CheckField(std::string_view collection, std::string_view id, std::string_view field) {
    DAICHO_RETURN_IF_ERROR(CheckRoom());
    if (id != checked_id || collection != checked_collection || checked_id.empty()) {
      DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, replica->options.limits));
      checked_collection.assign(collection);
      checked_id.assign(id);
    }
    return CheckName(field, "field name", replica->options.limits);
  }
  Status CheckRegisterWrite(std::string_view collection, std::string_view id, std::string_view field,
                            const Value& value) {
    DAICHO_RETURN_IF_ERROR(CheckField(collection, id, field));
    const Limits& limits = replica->options.limits;
    if (value.type() == Value::Type::kString) return CheckText(value.as_string(), "value", limits);
    if (value.type() == Value::Type::kBytes && value.as_bytes().data.size() > limits.max_value_bytes) {
      return Status(Code::kResourceExhausted,
                    "value is longer than " + std::to_string(limits.max_value_bytes) + " bytes");
    }
    return Status::Ok();
  }
};

WriteTransaction::WriteTransaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriteTransaction::~WriteTransaction() = default;
WriteTransaction::WriteTransaction(WriteTransaction&&) noexcept = default;
WriteTransaction& WriteTransaction::operator=(WriteTransaction&&) noexcept = default;

Status WriteTransaction::Set(std::string_view collection, std::string_view id, std::string_view field, Value value) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRegisterWrite(collection, id, field, value));
  impl_->builder.Set(std::string(collection), std::string(id), std::string(field), std::move(value));
  return Status::Ok();
}

Status WriteTransaction::SetWithContext(std::string_view collection, std::string_view id, std::string_view field,
                                        Value value, VersionVector context) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRegisterWrite(collection, id, field, value));
  impl_->builder.SetWithContext(std::string(collection), std::string(id), std::string(field), std::move(value),
                                std::move(context));
  return Status::Ok();
}

Status WriteTransaction::Add(std::string_view collection, std::string_view id, std::string_view field, int64_t delta) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  impl_->builder.Add(std::string(collection), std::string(id), std::string(field), delta);
  return Status::Ok();
}

Status WriteTransaction::SetAdd(std::string_view collection, std::string_view id, std::string_view field,
                                std::string_view element) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  DAICHO_RETURN_IF_ERROR(CheckText(element, "set element", impl_->replica->options.limits));
  impl_->builder.SetAdd(std::string(collection), std::string(id), std::string(field), std::string(element));
  return Status::Ok();
}

Status WriteTransaction::SetRemove(std::string_view collection, std::string_view id, std::string_view field,
                                   std::string_view element) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  DAICHO_RETURN_IF_ERROR(CheckText(element, "set element", impl_->replica->options.limits));
  impl_->builder.SetRemove(std::string(collection), std::string(id), std::string(field), std::string(element));
  return Status::Ok();
}

Status WriteTransaction::Delete(std::string_view collection, std::string_view id) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRoom());
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->replica->options.limits));
  DAICHO_ASSIGN_OR_RETURN(bool exists, impl_->replica->Exists(collection, id));
  if (!exists) return NotFound("no record " + std::string(collection) + "/" + std::string(id));
  impl_->builder.Delete(std::string(collection), std::string(id));
  return Status::Ok();
}

Status WriteTransaction::Undelete(std::string_view collection, std::string_view id) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRoom());
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->replica->options.limits));
  DAICHO_ASSIGN_OR_RETURN(bool exists, impl_->replica->Exists(collection, id));
  if (!exists) return NotFound("no record " + std::string(collection) + "/" + std::string(id));
  impl_->builder.Undelete(std::string(collection), std::string(id));
  return Status::Ok();
}

size_t WriteTransaction::size() const { return impl_->builder.size(); }

Result<CommitInfo> WriteTransaction::Commit() {
  auto result = impl_->replica->Commit(impl_->builder);
  impl_->builder.Clear();
  return result;
}

// ---- Replica ----

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::Open(const std::string& path, const ReplicaOptions& options) {
  storage::lmdb::StoreDirectoryOptions dir_options;
  dir_options.what = "daicho replica";
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.verify_on_open = options.verify_on_open;
  dir_options.env.max_dbs = 8;
  dir_options.env.map_size = options.initial_map_bytes;
  dir_options.env.write_lock_timeout = std::chrono::milliseconds(options.write_lock_timeout_ms);
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::OpenedStore opened, storage::lmdb::OpenStoreDirectory(path, dir_options));
  bool creating = opened.created;
  const std::string data_file = path + "/data.mdb";
  auto impl = std::make_unique<Impl>(path, options, std::move(opened.env));

  if (!creating) {
    DAICHO_ASSIGN_OR_RETURN(bool interrupted, IsInterruptedCreation(impl->env));
    if (interrupted && !options.create_if_missing) {
      return NotFound("no daicho replica at " + path + " (its creation was interrupted; create it again)");
    }
    if (!interrupted && options.create_if_missing && options.error_if_exists) {
      return Status(Code::kAlreadyExists, "a replica already exists at " + path);
    }
    creating = interrupted;
  }
  // A foreign LMDB environment has no daicho schema marker: refuse it
  // before creating any database in it.
  bool upgrade = false;
  if (!creating) {
    DAICHO_ASSIGN_OR_RETURN(auto schema, storage::lmdb::ReadSchemaMarker(impl->env));
    if (!schema) return InvalidArgument(path + " is an LMDB database but not a daicho replica");
    const std::optional<unsigned> version = SchemaVersion(*schema);
    upgrade = version == kUpgradableSchemaVersion;
    if (version && *version < kSchemaVersion && !upgrade) {
      return Status(Code::kFailedPrecondition,
                    path + " was made by an older daicho (format v" + std::to_string(*version) +
                        "); this build reads format v" + std::to_string(kSchemaVersion) +
                        " only and does not convert stores: create a new replica and sync it from a peer");
    }
    if (version && *version > kSchemaVersion) {
      return Status(Code::kFailedPrecondition, path + " was made by a newer daicho (format v" +
                                                   std::to_string(*version) + "); this build reads format v" +
                                                   std::to_string(kSchemaVersion) + ": upgrade daicho");
    }
    if (*schema != kSchemaValue && !upgrade) {
      return Status(Code::kFailedPrecondition, path + " holds replica format '" + *schema + "', this build reads '" +
                                                   std::string(kSchemaValue) + "'");
    }
  }
  Dbi* const handles[] = {&impl->meta, &impl->records, &impl->changes, &impl->conflicts};
  for (size_t i = 0; i < kDatabaseNames.size(); ++i) {
    Dbi* dbi = handles[i];
    auto opened = impl->env.OpenDbi(std::string(kDatabaseNames[i]), /*create=*/true);
    if (!opened.ok()) return opened.status().WithContext("opening " + path);
    *dbi = *opened;
  }
  impl->dict.emplace(impl->meta);
  if (upgrade) {
    Status upgraded = impl->writer.Run(
        [&](storage::lmdb::WriteTxn& txn) -> Status { return txn.Put(impl->meta, kSchemaKey, kSchemaValue); });
    if (!upgraded.ok())
      return upgraded.WithContext("upgrading " + path + " to format v" + std::to_string(kSchemaVersion));
  }
  DAICHO_ASSIGN_OR_RETURN(std::string marker, storage::ComputeDeviceMarker(data_file));
  if (creating) {
    auto created = impl->InitializeNew(marker);
    if (!created.ok()) return created.status().WithContext("opening " + path);
    creating = *created;
  }
  Status loaded = creating ? Status::Ok() : impl->LoadExisting(marker);
  if (!loaded.ok()) return loaded.WithContext("opening " + path);
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

ReplicaId Replica::id() const {
  // From meta: another process may have retired the id since this one wrote.
  {
    std::shared_lock<std::shared_mutex> lock;
    auto txn = impl_->writer.BeginRead(lock);
    if (txn.ok()) {
      auto raw = impl_->GetMeta(*txn, kReplicaIdKey);
      if (raw.ok()) {
        auto stored = ReplicaId::FromBytes(*raw);
        if (stored.ok()) return *stored;
      }
    }
  }
  std::lock_guard lock(impl_->write_mu);
  return impl_->id;
}

const std::string& Replica::path() const { return impl_->path; }

WriteTransaction Replica::BeginWrite() {
  auto impl = std::make_unique<WriteTransaction::Impl>();
  impl->replica = impl_.get();
  return WriteTransaction(std::move(impl));
}

Result<core::RecordState> Replica::Impl::ReadState(const storage::lmdb::TxnBase& txn, std::string_view collection,
                                                   std::string_view id) const {
  auto raw = txn.Get(records, RecordKeyBytes(collection, id));
  if (!raw.ok()) {
    if (raw.status().code() == Code::kNotFound) {
      return NotFound("no record " + std::string(collection) + "/" + std::string(id));
    }
    return raw.status();
  }
  return storage::DecodeRecordState(*raw, dict->ForRead(txn));
}

Result<Record> Replica::Get(std::string_view collection, std::string_view id) const {
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->options.limits));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(core::RecordState state, impl_->ReadState(txn, collection, id));
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  DAICHO_RETURN_IF_ERROR(values.Resolve(collection, id, state));
  return core::MakeRecordView(std::string(collection), std::string(id), state);
}

Result<RecordContext> Replica::GetRecordContext(std::string_view collection, std::string_view id) const {
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->options.limits));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(core::RecordState state, impl_->ReadState(txn, collection, id));
  RecordContext out;
  out.fields.reserve(state.fields.size());
  for (const core::FieldState& f : state.fields) out.fields.push_back({f.name, core::FieldCausalContext(f)});
  out.record = core::RecordCausalContext(state);
  return out;
}

VersionVector RecordContext::ForField(std::string_view name) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const RecordContext::FieldContext& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == name ? it->context : VersionVector();
}

Result<Page> Replica::List(std::string_view collection, const ListOptions& options) const {
  DAICHO_RETURN_IF_ERROR(CheckName(collection, "collection", impl_->options.limits));
  std::string prefix(collection);
  prefix.push_back('\0');
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->records));
  DAICHO_RETURN_IF_ERROR(cursor.Seek(prefix + options.start_after));
  const storage::StoreReplicaDictionary::ReadView view = impl_->dict->ForRead(txn);
  // One resolver for the page: its records mostly name the same few changes.
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  Page page;
  while (cursor.valid() && cursor.key().starts_with(prefix)) {
    std::string_view id = cursor.key().substr(prefix.size());
    if (options.start_after.empty() || id != options.start_after) {
      DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(cursor.value(), view));
      if (options.include_deleted || !core::IsHidden(state)) {
        // Only a record that would go on the page proves there is a next page.
        if (options.limit != 0 && page.records.size() == options.limit) {
          page.next_start_after = page.records.back().id;
          break;
        }
        DAICHO_RETURN_IF_ERROR(values.Resolve(collection, id, state));
        page.records.push_back(core::MakeRecordView(std::string(collection), std::string(id), state));
      }
    }
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return page;
}

Result<std::vector<Record>> Replica::ListConflicts() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->conflicts));
  const storage::StoreReplicaDictionary::ReadView view = impl_->dict->ForRead(txn);
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  std::vector<Record> out;
  DAICHO_RETURN_IF_ERROR(cursor.First());
  while (cursor.valid()) {
    const std::string key(cursor.key());
    const size_t sep = key.find('\0');
    if (sep == std::string::npos) return Corruption("conflict index key without separator");
    DAICHO_ASSIGN_OR_RETURN(std::string_view raw, txn.Get(impl_->records, key));
    DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(raw, view));
    const std::string_view whole(key);
    DAICHO_RETURN_IF_ERROR(values.Resolve(whole.substr(0, sep), whole.substr(sep + 1), state));
    out.push_back(core::MakeRecordView(key.substr(0, sep), key.substr(sep + 1), state));
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

// Read from a snapshot, not memory, so other processes' commits count.
Result<VersionVector> Replica::GetVersionVector() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  return impl_->ReadVv(txn);
}

Result<std::vector<ChangeBlob>> Replica::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                      const VersionVector* upto) const {
  std::vector<ChangeBlob> out;
  DAICHO_RETURN_IF_ERROR(impl_->ReadChangeLog([&](core::ChangeLogReader& log, const VersionVector& held) -> Status {
    DAICHO_ASSIGN_OR_RETURN(out, core::CollectChangesSince(log, kChangeLogName, held, other, max_bytes, upto));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<RecordKey>> Replica::RecordsChangedSince(const VersionVector& other) const {
  std::vector<RecordKey> out;
  // Many changes to a few records must not pile up duplicates: whenever the
  // list has doubled since it was last made distinct, make it distinct again.
  size_t distinct = 0;
  auto compact = [&] {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    distinct = out.size();
  };
  auto visit = [&](const core::ChangeLogEntry& entry) -> Result<bool> {
    DAICHO_ASSIGN_OR_RETURN(
        std::vector<RecordKey> keys,
        storage::DecodeChangeRecordKeys(entry.origin, entry.seq, entry.payload, impl_->options.limits));
    out.insert(out.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    if (out.size() > 2 * distinct + 4096) compact();
    return true;
  };
  DAICHO_RETURN_IF_ERROR(impl_->ReadChangeLog([&](core::ChangeLogReader& log, const VersionVector& held) {
    return core::ForEachChangeSince(log, kChangeLogName, held, other, /*upto=*/nullptr, visit);
  }));
  compact();
  return out;
}

Result<ApplyResult> Replica::Apply(std::span<const ChangeBlob> blobs) {
  const Limits& limits = impl_->options.limits;
  // Decodes a payload: values are checked but not copied out (states do not
  // hold them).
  auto decode = [&](const ChangeBlob& blob) {
    return storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, limits,
                                        storage::ValueDecoding::kCheckOnly);
  };
  for (const ChangeBlob& blob : blobs) {
    if (blob.seq == 0) return decode(blob).status();  // kCorruption naming the change
  }

  std::unique_lock lock(impl_->write_mu);
  // Only an id retirement below needs the guard, but the lock must come
  // before the LMDB write lock.
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, impl_->LockGuard());
  ApplyResult result;
  MetaState state;
  core::HybridClock clock = impl_->hlc;
  core::ApplyPlan plan;
  std::string encoded_vv;
  std::vector<HlcTime> far_future;
  bool retire_id = false;
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  core::Change change;  // the change being applied; its memory is reused
  Status status = impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    result = ApplyResult();
    retire_id = false;
    far_future.clear();
    // Built on the stored vv: one from memory would drop the commits other
    // processes made since.
    DAICHO_ASSIGN_OR_RETURN(state, impl_->ReadMetaState(txn));
    clock = impl_->MergedClock(state.hlc);
    plan = core::PlanApply(state.vv, blobs);
    // One view per attempt: indexes it assigns exist only in this txn.
    storage::StoreReplicaDictionary::WriteView view = impl_->dict->ForWrite(txn);
    // One change at a time, each decoded only when it is applied (a
    // duplicate never is): the memory of one change is reused for the next,
    // instead of a whole batch of decoded ops at once. A record touched by
    // several changes of the batch is merged and put once per change.
    storage::lmdb::OrderedPutter change_putter(impl_->changes);
    storage::lmdb::OrderedPutter record_putter(impl_->records);
    std::string key, buffer;
    // One state for every record: decoding into it reuses its memory.
    core::RecordState record;
    for (const core::ApplyStep& step : plan.steps) {
      const ChangeBlob& blob = blobs[step.index];
      const Dot dot{blob.origin, blob.seq};
      const std::string change_key = ChangeKeyBytes(blob.origin, blob.seq);
      if (step.duplicate) {
        // Two different changes under one dot mean an id was reused (a store
        // restored from a backup committed before it synced): say so rather
        // than diverge silently. Unless the one received is just damaged.
        DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetCopy(impl_->changes, change_key));
        if (stored && *stored != blob.payload) {
          DAICHO_RETURN_IF_ERROR(decode(blob).status());
          return core::ReusedDotError(blob, kReusedDotHolder);
        }
        ++result.duplicates;
        continue;
      }
      // Newer changes under our own id: this store was rolled back (restored
      // from a backup) and must not issue those dots again.
      if (blob.origin == state.id) retire_id = true;
      DAICHO_RETURN_IF_ERROR(storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, limits,
                                                          storage::ValueDecoding::kCheckOnly, change));
      // The change first: the states below name it (PutRecord may read it).
      DAICHO_RETURN_IF_ERROR(change_putter.Put(txn, change_key, blob.payload));
      // Conflicts this change makes compare its values: read from the blob.
      DAICHO_ASSIGN_OR_RETURN(storage::ChangeView applying_view, storage::ChangeView::Parse(blob.payload, limits));
      const storage::ValueResolver::HeldChange applying{dot, applying_view};
      for (const core::RecordOps& rec : change.records) {
        key.assign(rec.collection);
        key.push_back('\0');
        key.append(rec.id);
        auto raw = txn.Get(impl_->records, key);
        const bool existed = raw.ok();
        bool maybe_indexed = false;
        bool changed = true;  // a new record always is
        if (existed) {
          DAICHO_RETURN_IF_ERROR(storage::DecodeRecordState(*raw, view, record));
          maybe_indexed = MayBeIndexed(record);
          changed = core::ApplyRecordOps(record, rec, dot, change.hlc);
        } else if (raw.status().code() != Code::kNotFound) {
          return raw.status();
        } else {
          core::ApplyRecordOpsToNew(record, rec, dot, change.hlc);
        }
        if (changed) {
          DAICHO_RETURN_IF_ERROR(
              impl_->PutRecord(txn, view, record_putter, key, record, maybe_indexed, buffer, &applying));
          result.changed.push_back(RecordKey{rec.collection, rec.id});
        }
      }
      if (!clock.Observe(change.hlc)) far_future.push_back(change.hlc);
      ++result.applied;
    }
    if (plan.gap) {
      // The steps end before the gap, so new_vv holds what precedes it.
      const ChangeBlob& blob = blobs[*plan.gap];
      DAICHO_RETURN_IF_ERROR(decode(blob).status());
      return core::GapError(blob, plan.new_vv.Get(blob.origin));
    }
    // Sorted and distinct, as ApplyResult promises. Each change lists its
    // records in order, so a batch of changes to distinct ranges (an initial
    // sync) usually is already.
    if (!std::is_sorted(result.changed.begin(), result.changed.end())) {
      std::sort(result.changed.begin(), result.changed.end());
    }
    result.changed.erase(std::unique(result.changed.begin(), result.changed.end()), result.changed.end());
    if (retire_id) DAICHO_RETURN_IF_ERROR(txn.Put(impl_->meta, kReplicaIdKey, new_id.AsStringView()));
    if (result.applied == 0) return Status::Ok();
    return impl_->PutVvAndClock(txn, plan.new_vv, clock.last(), encoded_vv);
  });
  if (!status.ok()) return status.WithContext("applying changes");
  impl_->hlc = clock;
  if (result.applied != 0) impl_->RememberVv(std::move(encoded_vv), plan.new_vv);
  impl_->id = retire_id ? new_id : state.id;
  if (retire_id) {
    impl_->WriteGuard(guard_lock, {new_id, plan.new_vv.Get(new_id), state.epoch});
    impl_->Warn("received newer changes made under this replica's own id " + state.id.ToHex() +
                " (the store was restored from a backup?); the id is retired, new id " + new_id.ToHex());
  }
  guard_lock.reset();
  lock.unlock();

  for (HlcTime t : far_future) {
    impl_->Warn("applied a change stamped " + std::to_string(t.wall_ms) +
                " ms, far ahead of this clock; the local clock was not moved");
  }
  if (!result.changed.empty()) {
    std::function<void(const std::vector<RecordKey>&)> listener;
    {
      std::lock_guard listener_lock(impl_->listener_mu);
      listener = impl_->listener;
    }
    if (listener) listener(result.changed);
  }
  return result;
}

Result<std::optional<std::string>> Replica::GetLocalSetting(std::string_view name) const {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  return txn.GetCopy(impl_->meta, LocalSettingKey(name));
}

// Settings touch neither the change log nor id/vv/hlc/epoch, so they need
// no write_mu: LMDB serializes them with commits and applies.
Status Replica::SetLocalSetting(std::string_view name, std::string_view value) {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  if (value.size() > kMaxLocalSettingValueBytes) {
    return Status(Code::kResourceExhausted,
                  "local setting value is longer than " + std::to_string(kMaxLocalSettingValueBytes) + " bytes");
  }
  const std::string key = LocalSettingKey(name);
  Status status =
      impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status { return txn.Put(impl_->meta, key, value); });
  return status.WithContext("setting local setting " + std::string(name));
}

Status Replica::EraseLocalSetting(std::string_view name) {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  const std::string key = LocalSettingKey(name);
  Status status = impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    Status del = txn.Del(impl_->meta, key);
    return del.code() == Code::kNotFound ? Status::Ok() : del;
  });
  return status.WithContext("erasing local setting " + std::string(name));
}

void Replica::SetChangeListener(std::function<void(const std::vector<RecordKey>&)> listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->listener = std::move(listener);
}

}  // namespace daicho
