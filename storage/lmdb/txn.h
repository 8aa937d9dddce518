// ReadTxn, WriteTxn and Cursor: RAII LMDB transactions over an Env.
//
// Caveats first (they are LMDB's rules, enforced here where cheap):
// - Views. Get(), Cursor::key() and Cursor::value() return std::string_view
//   pointing INTO the memory map. A view is valid only while its transaction
//   is active, and in a WriteTxn only until the next Put/Del of that
//   transaction. Copy the bytes out (std::string(view)) to keep them.
// - Threads. A WriteTxn belongs to the thread that began it: use, commit and
//   destroy it there, and never hold it across a co_await. A thread can have
//   at most one WriteTxn (a second BeginWrite on it fails instead of
//   deadlocking); other threads' BeginWrite blocks until it ends. A ReadTxn
//   (the Env uses MDB_NOTLS) may be moved to and used from another thread, but
//   never by two threads at once; a thread may hold several ReadTxns.
// - Length. A live ReadTxn pins its snapshot: pages it can see are not reused,
//   so keep read transactions short. Every live transaction also blocks
//   Env::Grow().
// - Keys must be 1..511 bytes (LMDB's compiled-in limit); values up to 4 GiB.
//   Violations return kInvalidArgument.
//
// Ownership: a live transaction shares ownership of its Env's internals, so
// the MDB_env stays open (and its path registered) until the last
// transaction has ended, even if the Env object is destroyed first. A Cursor shares its transaction's state
// so that using it after the transaction ended is a clean
// kFailedPrecondition, not a use-after-free.
#ifndef DAICHO_STORAGE_LMDB_TXN_H_
#define DAICHO_STORAGE_LMDB_TXN_H_

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "storage/lmdb/dbi.h"

namespace daicho::storage::lmdb {

class Env;
class Cursor;

namespace detail {

struct EnvCore;

// State shared by one transaction and the cursors opened in it.
struct TxnState {
  std::shared_ptr<EnvCore> env;
  MDB_txn* txn = nullptr;  // null once committed or aborted
  bool write = false;
  bool snapshot = false;  // true while the txn can be read (not reset/ended)
  // Bumped whenever the snapshot ends (reset, commit, abort): cursors and
  // views from an older generation are dead.
  uint64_t generation = 0;
  // Bumped by every Put/Del: cursor positions and views cached before it
  // must not be trusted.
  uint64_t mutations = 0;
  // First error after which LMDB requires an abort (e.g. map full); Commit()
  // returns it instead of committing.
  Status fatal;
  // A write or the commit failed with MDB_MAP_FULL (see WriteTxn::map_full()).
  bool map_full = false;
};

}  // namespace detail

// What ReadTxn and WriteTxn have in common: reads and cursors.
// Not usable on its own; see ReadTxn / WriteTxn for ownership and threading.
class TxnBase {
 public:
  TxnBase(const TxnBase&) = delete;
  TxnBase& operator=(const TxnBase&) = delete;

  // True while the transaction can be read (begun and not ended or reset).
  bool active() const { return state_ != nullptr && state_->snapshot; }

  // The value stored under `key` in `dbi`, as a view into the map (see the
  // caveats above for how long it lives).
  // Codes: kNotFound (absent, a normal outcome), kInvalidArgument (bad Dbi or
  // key size), kFailedPrecondition (transaction not active), kCorruption.
  Result<std::string_view> Get(Dbi dbi, std::string_view key) const;

  // Like Get, but a copy that outlives the transaction, and nullopt (not
  // kNotFound) when the key is absent.
  Result<std::optional<std::string>> GetCopy(Dbi dbi, std::string_view key) const;

  // A cursor over `dbi`, initially not positioned (valid() is false).
  // Codes: kInvalidArgument, kFailedPrecondition, kResourceExhausted.
  Result<Cursor> OpenCursor(Dbi dbi) const;

  // The underlying handle, for storage-internal code only; null when the
  // transaction is not active. Do not commit or abort it directly.
  MDB_txn* raw() const { return active() ? state_->txn : nullptr; }

 protected:
  TxnBase() = default;
  explicit TxnBase(std::shared_ptr<detail::TxnState> state) : state_(std::move(state)) {}
  TxnBase(TxnBase&&) noexcept = default;
  TxnBase& operator=(TxnBase&&) noexcept = default;
  ~TxnBase() = default;

  // Ends the LMDB transaction (abort unless already ended) and updates the
  // shared state; safe to call repeatedly and on a moved-from object.
  void End();

  std::shared_ptr<detail::TxnState> state_;
};

// A read-only snapshot of the Env. Move-only; aborted by the destructor.
// Thread-safety: see the caveats above (may change threads, never shared).
// Obtain with Env::BeginRead().
class ReadTxn final : public TxnBase {
 public:
  ReadTxn(ReadTxn&&) noexcept = default;
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ~ReadTxn();

  // Releases the snapshot (and all views and cursors) but keeps the reader
  // slot so that Renew() is cheap. No-op when not active.
  void Reset();

  // Takes a fresh snapshot after Reset(). Ok if already active.
  // Codes: kFailedPrecondition (aborted or moved-from), kBusy (the map is
  // being resized), kInternal (MDB_PANIC).
  Status Renew();

  // Ends the transaction now instead of in the destructor.
  void Abort() { End(); }

 private:
  friend class Env;
  explicit ReadTxn(std::shared_ptr<detail::TxnState> state) : TxnBase(std::move(state)) {}
};

// The (single, process- and Env-wide) write transaction. Move-only; aborted
// by the destructor unless Commit() was called, so an early return or a
// failed Put rolls everything back.
// Thread-safety: belongs to the thread that began it (see the caveats above).
// Obtain with Env::BeginWrite().
class WriteTxn final : public TxnBase {
 public:
  WriteTxn(WriteTxn&&) noexcept = default;
  WriteTxn& operator=(WriteTxn&& other) noexcept;
  ~WriteTxn();

  // Inserts or overwrites `key` → `value`.
  // Codes: kResourceExhausted with map_full() true (abort, Env::Grow(), retry
  // the whole transaction), kInvalidArgument (bad Dbi, key or value size),
  // kFailedPrecondition (not active, or an earlier write failed fatally),
  // kIoError, kCorruption.
  Status Put(Dbi dbi, std::string_view key, std::string_view value);

  // Like Put for a key greater than every key in `dbi` (MDB_APPEND): LMDB
  // then fills the last page instead of splitting it in half, so keys
  // written in increasing order pack pages full. A key that is not greater
  // is refused with kAlreadyExists before anything changes (the txn stays
  // usable); see OrderedPutter for the check done once per transaction.
  Status Append(Dbi dbi, std::string_view key, std::string_view value);

  // Removes `key`. Codes: kNotFound if absent (the txn stays usable), and as
  // for Put.
  Status Del(Dbi dbi, std::string_view key);

  // Makes every change durable (fsync unless the Env was opened with
  // MDB_NOSYNC), then ends the transaction whatever the outcome.
  // If an earlier Put/Del failed fatally, aborts and returns that error.
  // Codes: kFailedPrecondition (already ended), kIoError (e.g. disk full),
  // kResourceExhausted (map full: map_full() is true), and the earlier error
  // if any.
  Status Commit();

  // True once a Put/Append/Del or the Commit() of this transaction failed
  // because the map is full (MDB_MAP_FULL): abort, Env::Grow(), and run the
  // whole transaction again. Kept apart from the Status so that callers may
  // wrap or replace a write's Status without losing it; still readable after
  // Commit(). False for the other full conditions (MDB_TXN_FULL,
  // MDB_DBS_FULL, ...), which a bigger map does not cure.
  bool map_full() const { return state_ != nullptr && state_->map_full; }

  // Discards every change now instead of in the destructor.
  void Abort() { End(); }

 private:
  friend class Env;
  explicit WriteTxn(std::shared_ptr<detail::TxnState> state) : TxnBase(std::move(state)) {}
  Status CheckWritable() const;
  Status WriteFailed(int rc, std::string_view context);
};

// A position in one database of one transaction, iterating in key order
// (bytewise, shorter key first on a common prefix). Move-only; closed by
// the destructor.
//
// Movement (First/Last/Seek/Next/Prev) returns Ok whether or not an entry was
// found; check valid(). Running off either end leaves valid() false with an
// Ok status. Next/Prev need a valid cursor (kFailedPrecondition otherwise).
// Any Put/Del in its WriteTxn un-positions the cursor (valid() false):
// re-position it with Seek/First/Last. Once its transaction ends or is reset
// the cursor is dead: every movement returns kFailedPrecondition.
// Codes: kFailedPrecondition, kInvalidArgument (bad seek key), kCorruption.
// Thread-safety: as its transaction. Obtain with TxnBase::OpenCursor().
class Cursor {
 public:
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&& other) noexcept;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  Status First();
  Status Last();
  // Positions at the first key >= `key` (MDB_SET_RANGE); "" means First().
  Status Seek(std::string_view key);
  Status Next();
  Status Prev();

  bool valid() const;
  // Views into the map (see the caveats above); empty when !valid().
  std::string_view key() const;
  std::string_view value() const;

 private:
  friend class TxnBase;
  Cursor(std::shared_ptr<detail::TxnState> state, MDB_cursor* cursor);

  bool Usable() const;  // the transaction snapshot this cursor was opened in is still live
  Status Move(MDB_cursor_op op, std::string_view seek_key);
  void Close();

  std::shared_ptr<detail::TxnState> state_;
  MDB_cursor* cursor_ = nullptr;
  uint64_t generation_ = 0;  // state_->generation when opened
  uint64_t mutations_ = 0;   // state_->mutations when last positioned
  bool valid_ = false;
  MDB_val key_{};
  MDB_val value_{};
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_TXN_H_
