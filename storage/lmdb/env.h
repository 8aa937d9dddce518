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
// canonical path) that is still open in this process.
//
// Writers of other processes: before LMDB's write mutex (in lock.mdb) a
// write transaction takes daicho's writer lock, an flock on the file
// `daicho-writer.lock` beside data.mdb (`<file>-writer.lock` with
// MDB_NOSUBDIR), waiting at most write_lock_timeout. So no process ever
// sleeps inside LMDB's robust mutex: a writer killed at any point frees the
// flock with its death, and a writer that is alive but stuck (stopped, hung)
// makes the others fail with kBusy naming it instead of waiting for ever.
// LMDB's mutex is then only ever taken uncontended, or from a dead owner
// (EOWNERDEAD, which LMDB repairs at once).
//
// Openers take turns: each holds an flock on lock.mdb (beside LMDB's fcntl
// locks on it, which flock does not touch) around mdb_env_open. LMDB 0.9
// (0.9.24 to 0.9.31 at least) lets an opener that waited while the first
// opener initialized the lock file go ahead if that first opener was killed
// before finishing: it then finds the table's transaction id at 0, and its
// commits reuse old transaction ids and overwrite the newest meta page,
// corrupting the data file (seen in the writer crash loop of
// tests/storage/crash_test.cc). Taking turns, an opener that finds the
// initializer dead finds nobody else holding the lock file and initializes
// it afresh.
//
// Reader slots: a process killed inside a read transaction leaves its slot
// in lock.mdb taken (and the pages of its snapshot pinned, so data.mdb
// grows) until someone clears it; while another process keeps the
// environment open, the lock file is never reset. Stale slots are cleared
// (mdb_reader_check) at Open(), when LMDB refuses a slot (then the begin is
// retried once), and at a transaction begin when reader_check_interval has
// passed since the last check, which covers long-running processes.
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
#include <chrono>
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
  // How long BeginWrite() (and OpenDbi) waits for the write transaction of
  // another thread or process; then it fails with kBusy naming the process.
  std::chrono::milliseconds write_lock_timeout{30'000};
  // Stale reader slots (of processes that died) are cleared when a
  // transaction begins this long after the last check; see above.
  std::chrono::milliseconds reader_check_interval{10'000};
};

namespace detail {

// Shared by an Env and its transactions (see the ownership note above).
struct EnvCore {
  EnvCore() = default;
  EnvCore(const EnvCore&) = delete;
  EnvCore& operator=(const EnvCore&) = delete;
  ~EnvCore();  // mdb_env_close, then unregisters the path

  // Begins an LMDB transaction, counted as live (blocks Grow) until
  // EndRaw(). A write transaction first takes the writer locks (see above).
  // Adopts a map size grown by another process (MDB_MAP_RESIZED) when no
  // other transaction is live.
  Result<MDB_txn*> BeginRaw(bool write);
  // Bookkeeping after the caller committed/aborted/reset the txn.
  void EndRaw(bool write);

  // Counts a transaction as live unless a resize is running (kBusy).
  Status Enter();
  void Leave();
  // mdb_env_set_mapsize(size) if no transaction is live in this process.
  Status Resize(uint64_t size);
  uint64_t MapSize() const;
  // This thread's and this process's exclusive right to begin the write
  // transaction, within options.write_lock_timeout (kBusy after it).
  Status LockWriter();
  void UnlockWriter();
  // mdb_reader_check if `force` or reader_check_interval has passed; true
  // if it freed a slot.
  bool CheckReaders(bool force);
  // Takes the flock that openers hold around mdb_env_open (see above),
  // within options.write_lock_timeout.
  Status LockOpening(unsigned flags);

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
  // Held by the thread whose write transaction is live (and while it waits
  // for writer_lock_fd's flock), so the flock is only ever wanted by one
  // thread of the process.
  std::timed_mutex write_mu;
  int writer_lock_fd = -1;  // the writer lock file; -1 when read-only
  int open_lock_fd = -1;    // lock.mdb, for the open lock; kept open (see ~EnvCore)
  // steady_clock time (ns since epoch) of the last mdb_reader_check.
  std::atomic<int64_t> last_reader_check{0};
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
  // Codes: kBusy (reader slots full even after clearing those of dead
  // processes: live readers use them all; or map being resized: retry),
  // kFailedPrecondition (moved-from), kInternal (MDB_PANIC).
  Result<ReadTxn> BeginRead() const;

  // The write transaction; waits while another thread or process holds it,
  // at most options.write_lock_timeout.
  // Codes: kFailedPrecondition (read-only, moved-from, or this thread already
  // holds a WriteTxn), kBusy (the wait timed out: the message names the
  // holding process if another one holds it; or map being resized),
  // kIoError (the writer lock file), kInternal (MDB_PANIC).
  Result<WriteTxn> BeginWrite();

  // Doubles the map size (capped at max_map_size), so that a transaction that
  // failed with WriteTxn::map_full() can be retried.
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
