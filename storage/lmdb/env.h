// Env: one open LMDB environment (a directory holding data.mdb + lock.mdb).
//
// Internal to storage/: other layers see the storage interfaces, never LMDB.
// Including env.h also gives Dbi, ReadTxn, WriteTxn and Cursor.
//
// Ownership: move-only. The Env and every transaction begun from it share
// the underlying MDB_env, which is closed when the last of them goes away;
// until then the directory stays registered as open.
//
// One open per path per process: LMDB forbids opening the same environment
// twice in a process (its POSIX locks would be released by the second
// close). Open() therefore refuses, with kBusy, a directory (compared by
// canonical path) that is still open in this process. Other processes are
// coordinated by LMDB's own lock file.
//
// Thread-safety: all methods may be called concurrently from any thread,
// with the limits of Grow() below and the transaction rules in txn.h.
//
// Durability: LMDB defaults (fsync on every commit). The environment is
// always opened with MDB_NOTLS so read transactions are tied to the ReadTxn
// object, not to the thread that began it.
#ifndef DAICHO_STORAGE_LMDB_ENV_H_
#define DAICHO_STORAGE_LMDB_ENV_H_

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "daicho/status.h"
#include "storage/lmdb/dbi.h"
#include "storage/lmdb/txn.h"

namespace daicho::storage::lmdb {

struct EnvOptions {
  // Named databases the environment may hold (mdb_env_set_maxdbs).
  unsigned max_dbs = 8;
  // Minimum size of the memory map, hence of the database, in bytes. An
  // existing environment keeps its recorded size if larger (so Grow()s
  // survive a reopen). Address space only: the file grows as data is written.
  uint64_t map_size = uint64_t{64} << 20;
  // Grow() never goes beyond this; past it, writes stay kResourceExhausted.
  uint64_t max_map_size = uint64_t{1} << 40;
  // Reader slots, i.e. ReadTxns alive at once across all processes using
  // the environment (with MDB_NOTLS each live ReadTxn holds one).
  unsigned max_readers = 126;
  // Open with MDB_RDONLY: BeginWrite() and OpenDbi(create=true) are refused.
  // The environment must already exist.
  bool read_only = false;
  // Extra mdb_env_open() flags, e.g. MDB_NORDAHEAD. MDB_NOTLS is always
  // added and MDB_RDONLY follows read_only. MDB_NOSUBDIR makes `dir` the
  // data file path. Avoid MDB_NOSYNC / MDB_MAPASYNC / MDB_NOMETASYNC: they
  // give up durability of the last commits on a crash.
  unsigned flags = 0;
  // Permission bits of files LMDB creates. Replica data is private.
  unsigned file_mode = 0600;
};

namespace detail {

// Shared by an Env and its transactions (see the ownership note above).
struct EnvCore {
  EnvCore() = default;
  EnvCore(const EnvCore&) = delete;
  EnvCore& operator=(const EnvCore&) = delete;
  ~EnvCore();  // mdb_env_close, then unregisters the path

  // Begins an LMDB transaction, counted as live (blocks Grow) until
  // EndRaw(). Adopts a map size grown by another process
  // (MDB_MAP_RESIZED) when no other transaction is live.
  Result<MDB_txn*> BeginRaw(bool write);
  // Bookkeeping after the caller committed/aborted/reset the txn.
  void EndRaw(bool write);

  // Counts a transaction as live unless a resize is running (kBusy).
  Status Enter();
  void Leave();
  // mdb_env_set_mapsize(size) if no transaction is live in this process.
  Status Resize(uint64_t size);
  uint64_t MapSize() const;

  MDB_env* env = nullptr;
  std::string path;  // canonical
  bool registered = false;
  EnvOptions options;
  // Transactions live or being begun. Resize() needs zero: LMDB remaps the
  // file and would pull the pages out from under them.
  std::atomic<int> live_txns{0};
  std::atomic<bool> resizing{false};
  // Thread holding the write transaction: a second BeginWrite there would
  // deadlock on LMDB's non-recursive writer mutex.
  std::atomic<std::thread::id> writer{};
  // mdb_dbi_open must not run in two transactions at once.
  std::mutex dbi_mu;
};

}  // namespace detail

class Env {
 public:
  // Opens (creating the files if needed, unless read_only) the environment
  // in the existing directory `dir`.
  // Codes: kNotFound (directory or, read-only, data file missing), kBusy
  // (already open in this process, or locked), kCorruption (data file is
  // not an LMDB environment or from an incompatible version), kIoError
  // (permissions, disk), kInvalidArgument (bad options).
  static Result<Env> Open(const std::string& dir, const EnvOptions& options);

  Env(Env&&) noexcept = default;
  Env& operator=(Env&&) noexcept = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env() = default;

  // Opens the named database (`name` non-empty, no NUL) in a transaction of
  // its own, creating it if `create`. Call once per database at start, before
  // the transactions that use it begin (older ones cannot see the handle);
  // opening the same name again returns the same handle.
  // Codes: kNotFound (absent and !create), kResourceExhausted (more than
  // max_dbs), kInvalidArgument, kFailedPrecondition (read-only and create,
  // or this thread holds a WriteTxn), kCorruption (name exists but is not a
  // database).
  Result<Dbi> OpenDbi(const std::string& name, bool create);

  // A snapshot of the last committed state.
  // Codes: kBusy (reader slots full, or map being resized: retry),
  // kFailedPrecondition (moved-from), kInternal (MDB_PANIC).
  Result<ReadTxn> BeginRead() const;

  // The write transaction; blocks while another thread holds it.
  // Codes: kFailedPrecondition (read-only, moved-from, or this thread already
  // holds a WriteTxn), kBusy (map being resized), kInternal (MDB_PANIC).
  Result<WriteTxn> BeginWrite();

  // Doubles the map size (capped at max_map_size), so that a transaction that
  // failed with IsMapFull() can be retried.
  // PRECONDITION: no transaction of this environment is live anywhere in
  // this process (LMDB remaps the file; it does not check this itself).
  // Callers serialize: abort the failed WriteTxn, let readers finish, Grow().
  // The precondition is checked: a live or starting transaction gives
  // kFailedPrecondition and nothing changes (transactions begun during the
  // resize get kBusy).
  // Codes: kFailedPrecondition, kResourceExhausted (already at
  // max_map_size), kBusy (another Grow running), kIoError.
  Status Grow();

  // Current size of the memory map in bytes (0 if moved-from).
  uint64_t map_size() const;

  // Flushes to disk. Only useful with MDB_NOSYNC-style flags; commits are
  // already durable by default. Ok for a read-only environment.
  Status Sync();

  // Canonical path of the environment directory ("" if moved-from).
  const std::string& path() const;
  bool read_only() const { return core_ != nullptr && core_->options.read_only; }

  // For storage-internal code only (e.g. mdb_env_stat); null if moved-from.
  MDB_env* raw() const { return core_ ? core_->env : nullptr; }

 private:
  explicit Env(std::shared_ptr<detail::EnvCore> core) : core_(std::move(core)) {}

  std::shared_ptr<detail::EnvCore> core_;
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_ENV_H_
