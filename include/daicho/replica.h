// Replica: one PC's copy of the ledger, stored in LMDB in one directory.
//
// Edits are made offline in a WriteTransaction and committed as one change
// (one durable LMDB transaction). Replicas exchange changes — ChangesSince()
// on one side, Apply() on the other — in any order across origins, any number
// of times; every replica that has seen the same changes shows the same state.
//
// Ownership and threading: Open() returns the only handle to a directory in
// this process (a second Open of the same path gives kBusy). All const and
// non-const methods may be called from any thread; writes are serialized
// internally. A WriteTransaction buffers in memory, touches the store only in
// Commit(), and must not outlive its Replica.
//
// Several processes may have one replica open at once (the daicho CLI
// committing while a sync client applies, an app writing while a LAN peer is
// served). LMDB serializes their writes; each commit and apply builds on the
// store as it is at that moment, so no dot is issued twice, no change drops
// out of the version vector, and stamps keep increasing across processes.
// Each process sees the others' commits in every read (GetVersionVector,
// ChangesSince, Get, ...) without reopening; the change listener reports
// only this process's Apply calls. An id retired by one process (a copy or
// rollback noticed at open) is used by the others' next commits as well.
// The processes must share one machine and file system (LMDB's lock file).
//
// Errors: kNotFound (no replica at the path, no such record), kAlreadyExists,
// kInvalidArgument (bad names or values, or a directory that is not a daicho
// replica), kCorruption (damaged files or changes), kBusy (locked),
// kIoError (disk full, permissions), kProtocolError (a gap in applied changes),
// kResourceExhausted (a size limit). A failed call leaves the store unchanged.
#ifndef DAICHO_REPLICA_H_
#define DAICHO_REPLICA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/change_blob.h"
#include "daicho/clock.h"
#include "daicho/limits.h"
#include "daicho/record.h"
#include "daicho/status.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"

namespace daicho {

// Limits of a local setting (Replica::SetLocalSetting). Names: 1..256 bytes,
// no NUL. Values: any bytes, at most 1 MiB.
inline constexpr size_t kMaxLocalSettingNameBytes = 256;
inline constexpr size_t kMaxLocalSettingValueBytes = size_t{1} << 20;

struct ReplicaOptions {
  // Create a new replica if the directory holds none (the directory is made
  // if missing; it must be empty otherwise).
  bool create_if_missing = false;
  // With create_if_missing: fail with kAlreadyExists if a replica is there.
  bool error_if_exists = false;
  // Time source for change stamps; nullptr means the system clock.
  std::shared_ptr<Clock> clock;
  // Remote stamps further ahead of the local clock than this are applied but
  // do not advance the local clock (a PC with a wrong date must not drag others).
  uint64_t max_clock_skew_ms = 24ull * 3600 * 1000;
  // First LMDB map size; it doubles whenever the map is full.
  uint64_t initial_map_bytes = 64ull << 20;
  // How long a write (a commit, an apply, an open that must create or
  // repair the store) waits while another process or thread is writing this
  // replica. Past it the call fails with kBusy, naming the other process
  // when it can be found; a writer that was killed frees the lock at once,
  // so only a live, stopped or hung writer makes anyone wait this long.
  uint64_t write_lock_timeout_ms = 30'000;
  // Check the structure of the data file before opening it, so that a damaged
  // file is refused with kCorruption instead of crashing the database engine
  // later (LMDB keeps no checksums). Costs one read of the file's tree pages:
  // about 45 ms for 100,000 customers when cached.
  bool verify_on_open = true;
  Limits limits;
  // Receives warnings worth a log line (a remote clock far ahead, a new
  // replica id taken because the store was copied). nullptr: stderr.
  std::function<void(std::string_view)> warning_log;
};

struct ListOptions {
  // Return records whose id sorts after this (exclusive); "" starts at the top.
  std::string start_after;
  // At most this many records; 0 means no limit.
  size_t limit = 100;
  // Include records hidden by a delete.
  bool include_deleted = false;
};

struct Page {
  std::vector<Record> records;  // in id order
  // Pass as ListOptions::start_after for the next page; "" when done.
  std::string next_start_after;
};

struct CommitInfo {
  Dot dot;      // the change's identity (this replica, its seq)
  HlcTime hlc;  // its stamp
  size_t ops = 0;
};

// What a record's stored state has seen (Replica::GetRecordContext). A change
// that touches a field after the context was read is not covered by it, so
// comparing a context read now with one read earlier tells whether a field
// changed in between. Contexts may name changes this replica does not hold
// yet (a write carries what its writer had seen).
struct RecordContext {
  struct FieldContext {
    std::string name;
    // The join over every kind kept for the name: register writes and what
    // they superseded, counter adds (each replica's last), set adds/removes.
    VersionVector context;
  };
  std::vector<FieldContext> fields;  // sorted by name
  // The fields' contexts joined with the record's deletes and undeletes.
  VersionVector record;
  // The field named `name`'s context; empty if the record has no such field.
  VersionVector ForField(std::string_view name) const;
};

struct ApplyResult {
  size_t applied = 0;              // new changes applied
  size_t duplicates = 0;           // changes already held, ignored
  std::vector<RecordKey> changed;  // records whose state changed, sorted
};

class Replica;

// Edits buffered in memory and committed as one change. Several writes to one
// field coalesce (registers: the last; counters: the sum; sets: the last op per
// element). Methods validate their arguments and return kInvalidArgument or
// kResourceExhausted without recording anything. Not thread-safe.
class WriteTransaction {
 public:
  ~WriteTransaction();
  WriteTransaction(WriteTransaction&&) noexcept;
  WriteTransaction& operator=(WriteTransaction&&) noexcept;

  // Sets a register field. Supersedes every value this replica has seen for
  // it, so writing over a conflict resolves it.
  Status Set(std::string_view collection, std::string_view id, std::string_view field, Value value);
  // Sets a register field as if written when the record's context was
  // `context` (e.g. a RecordContext read earlier, kept in an exported file):
  // supersedes only the values `context` covers. A value written since then
  // (by any replica) stays beside this one as a conflict, never overwritten.
  Status SetWithContext(std::string_view collection, std::string_view id, std::string_view field, Value value,
                        VersionVector context);
  // Adds `delta` (may be negative) to a counter field.
  Status Add(std::string_view collection, std::string_view id, std::string_view field, int64_t delta);
  // Adds / removes one element of a set field.
  Status SetAdd(std::string_view collection, std::string_view id, std::string_view field, std::string_view element);
  Status SetRemove(std::string_view collection, std::string_view id, std::string_view field, std::string_view element);
  // Hides a record (its data is kept; Undelete brings it back).
  Status Delete(std::string_view collection, std::string_view id);
  Status Undelete(std::string_view collection, std::string_view id);

  // Number of buffered operations.
  size_t size() const;
  // Writes everything as one change in one durable LMDB transaction.
  // An empty transaction commits nothing and returns kFailedPrecondition.
  // After Commit (ok or not) the transaction is empty.
  Result<CommitInfo> Commit();

 private:
  friend class Replica;
  struct Impl;
  explicit WriteTransaction(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Replica {
 public:
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  static Result<std::unique_ptr<Replica>> Open(const std::string& path, const ReplicaOptions& options = {});

  ReplicaId id() const;
  const std::string& path() const;

  WriteTransaction BeginWrite();

  // A record, hidden ones included (with deleted = true). kNotFound if it
  // never existed here. Register values are read from the stored changes
  // that wrote them (one copy of each value on disk): a record whose change
  // is missing or damaged is kCorruption, for Get, List and ListConflicts.
  Result<Record> Get(std::string_view collection, std::string_view id) const;
  // A record's causal context (see RecordContext); hidden records included.
  // kNotFound if the record never existed here.
  Result<RecordContext> GetRecordContext(std::string_view collection, std::string_view id) const;
  // Records of one collection in id order, one page at a time.
  Result<Page> List(std::string_view collection, const ListOptions& options = {}) const;
  // Every record with a field, kind or delete conflict, in (collection, id) order.
  Result<std::vector<Record>> ListConflicts() const;

  // The changes this replica holds: per origin, seq 1..n.
  Result<VersionVector> GetVersionVector() const;
  // The changes this replica holds that `other` lacks, ascending seq per
  // origin. Stops after roughly `max_bytes` of payload (at least one change);
  // call again with the VV advanced to continue. With `upto`, only changes it
  // also names (seq <= upto[origin]), e.g. what was held at some earlier time.
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes = SIZE_MAX,
                                               const VersionVector* upto = nullptr) const;
  // Applies remote changes in one durable transaction. Any order across
  // origins; within an origin they are sorted first. Already-held changes are
  // ignored; a gap (seq > held + 1) fails with kProtocolError and applies
  // nothing. A payload that does not decode fails with kCorruption.
  Result<ApplyResult> Apply(std::span<const ChangeBlob> changes);

  // The distinct records touched by the changes this replica holds that
  // `other` lacks (the changes ChangesSince(other) would return, all of them),
  // sorted. Deleted records are included. Lets a sync client count what a
  // relay has not yet acknowledged without copying out payloads: one read
  // transaction, one change decoded at a time, only its record keys kept.
  // Empty when `other` covers this replica's version vector. kCorruption if
  // a held change is missing or does not decode.
  Result<std::vector<RecordKey>> RecordsChangedSince(const VersionVector& other) const;

  // Local settings: durable name/value pairs of this store alone (a sync
  // client's relay URL, saved login, the version vector the relay has
  // acknowledged, the last sync time). They are never part of a change, never
  // synced, and do not move the version vector, so they cannot make two
  // replicas' ledgers differ. A store copied or restored from a backup takes a
  // new replica id but keeps its settings as they were in the copy; anything
  // kept there about the old id's progress is then merely stale (a version
  // vector names origins, so an acknowledged one stays true, only older).
  // Names: 1..kMaxLocalSettingNameBytes bytes without NUL (kInvalidArgument);
  // values: any bytes up to kMaxLocalSettingValueBytes (kResourceExhausted).
  //
  // The value set under `name`; nullopt if none.
  Result<std::optional<std::string>> GetLocalSetting(std::string_view name) const;
  // Sets `name` to `value`, replacing any previous value, in one durable LMDB
  // transaction.
  Status SetLocalSetting(std::string_view name, std::string_view value);
  // Removes `name`; ok if it was not set.
  Status EraseLocalSetting(std::string_view name);

  // Called after each Apply that changed records, on the applying thread,
  // outside any lock. Replaces any previous listener; nullptr removes it.
  void SetChangeListener(std::function<void(const std::vector<RecordKey>&)> listener);

 private:
  friend class WriteTransaction;
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho

#endif  // DAICHO_REPLICA_H_
