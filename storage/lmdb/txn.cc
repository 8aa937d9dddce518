#include "storage/lmdb/txn.h"

#include <utility>

#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"

namespace daicho::storage::lmdb {
namespace {

// LMDB takes non-const pointers but does not write through them for keys.
MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

std::string_view ToView(const MDB_val& v) { return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size); }

Status NotActive() { return Status(Code::kFailedPrecondition, "LMDB transaction is not active"); }

Status BadDbi() { return InvalidArgument("invalid (unopened) Dbi"); }

// Short enough for the small-string buffer: a miss costs no allocation.
Status KeyNotFound() { return NotFound("key not found"); }

}  // namespace

// ---- Env: beginning transactions -------------------------------------------

Result<ReadTxn> Env::BeginRead() const {
  if (!core_) return Status(Code::kFailedPrecondition, "Env was moved from");
  DAICHO_ASSIGN_OR_RETURN(MDB_txn * txn, core_->BeginRaw(/*write=*/false));
  auto state = std::make_shared<detail::TxnState>();
  state->env = core_;
  state->txn = txn;
  state->snapshot = true;
  return ReadTxn(std::move(state));
}

Result<WriteTxn> Env::BeginWrite() {
  if (!core_) return Status(Code::kFailedPrecondition, "Env was moved from");
  DAICHO_ASSIGN_OR_RETURN(MDB_txn * txn, core_->BeginRaw(/*write=*/true));
  auto state = std::make_shared<detail::TxnState>();
  state->env = core_;
  state->txn = txn;
  state->write = true;
  state->snapshot = true;
  return WriteTxn(std::move(state));
}

// ---- TxnBase ---------------------------------------------------------------

Result<std::string_view> TxnBase::Get(Dbi dbi, std::string_view key) const {
  if (!active()) return NotActive();
  if (!dbi.valid()) return BadDbi();
  MDB_val k = ToVal(key);
  MDB_val v{};
  int rc = mdb_get(state_->txn, dbi.handle, &k, &v);
  if (rc == MDB_NOTFOUND) return KeyNotFound();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_get");
  return ToView(v);
}

Result<std::optional<std::string>> TxnBase::GetCopy(Dbi dbi, std::string_view key) const {
  auto got = Get(dbi, key);
  if (got.ok()) return std::optional<std::string>(std::string(*got));
  if (got.status().code() == Code::kNotFound) return std::optional<std::string>();
  return got.status();
}

Result<Cursor> TxnBase::OpenCursor(Dbi dbi) const {
  if (!active()) return NotActive();
  if (!dbi.valid()) return BadDbi();
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(state_->txn, dbi.handle, &cursor);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_cursor_open");
  return Cursor(state_, cursor);
}

void TxnBase::End() {
  if (!state_ || state_->txn == nullptr) return;
  detail::TxnState& s = *state_;
  mdb_txn_abort(s.txn);
  s.txn = nullptr;
  // A reset read txn was already uncounted by Reset().
  if (s.snapshot) s.env->EndRaw(s.write);
  s.snapshot = false;
  ++s.generation;
  // Cursors outliving us keep this state but must not keep the MDB_env open
  // (nor its path registered).
  s.env.reset();
}

// ---- ReadTxn ---------------------------------------------------------------

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) {
    End();
    TxnBase::operator=(std::move(other));
  }
  return *this;
}

ReadTxn::~ReadTxn() { End(); }

void ReadTxn::Reset() {
  if (!active()) return;
  mdb_txn_reset(state_->txn);
  state_->snapshot = false;
  ++state_->generation;
  state_->env->EndRaw(/*write=*/false);
}

Status ReadTxn::Renew() {
  if (!state_ || state_->txn == nullptr) return NotActive();
  if (state_->snapshot) return Status::Ok();
  DAICHO_RETURN_IF_ERROR(state_->env->Enter());
  int rc = mdb_txn_renew(state_->txn);
  if (rc != MDB_SUCCESS) {
    // The handle stays reset; a later Renew() or the destructor deals with it.
    state_->env->Leave();
    return LmdbStatus(rc, "mdb_txn_renew");
  }
  state_->snapshot = true;
  return Status::Ok();
}

// ---- WriteTxn --------------------------------------------------------------

WriteTxn& WriteTxn::operator=(WriteTxn&& other) noexcept {
  if (this != &other) {
    End();
    TxnBase::operator=(std::move(other));
  }
  return *this;
}

WriteTxn::~WriteTxn() { End(); }

Status WriteTxn::CheckWritable() const {
  if (!active()) return NotActive();
  if (!state_->fatal.ok()) {
    return Status(Code::kFailedPrecondition, "write transaction must be aborted after: " + state_->fatal.ToString());
  }
  return Status::Ok();
}

// After most failures LMDB marks the txn unusable (MDB_TXN_ERROR); remember
// the first so Commit() reports the cause, not LMDB's generic MDB_BAD_TXN.
// Argument errors and not-found are rejected before any change is made.
Status WriteTxn::WriteFailed(int rc, std::string_view context) {
  if (rc == MDB_MAP_FULL) state_->map_full = true;
  Status status = LmdbStatus(rc, context, state_->env->path);
  const Code code = status.code();
  if (code != Code::kNotFound && code != Code::kInvalidArgument && code != Code::kAlreadyExists && state_->fatal.ok()) {
    state_->fatal = status;
  }
  return status;
}

Status WriteTxn::Put(Dbi dbi, std::string_view key, std::string_view value) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  if (!dbi.valid()) return BadDbi();
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  ++state_->mutations;
  int rc = mdb_put(state_->txn, dbi.handle, &k, &v, 0);
  if (rc != MDB_SUCCESS) return WriteFailed(rc, "mdb_put");
  return Status::Ok();
}

Status WriteTxn::Append(Dbi dbi, std::string_view key, std::string_view value) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  if (!dbi.valid()) return BadDbi();
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  ++state_->mutations;
  int rc = mdb_put(state_->txn, dbi.handle, &k, &v, MDB_APPEND);
  if (rc != MDB_SUCCESS) return WriteFailed(rc, "mdb_put(MDB_APPEND)");
  return Status::Ok();
}

Status WriteTxn::Del(Dbi dbi, std::string_view key) {
  DAICHO_RETURN_IF_ERROR(CheckWritable());
  if (!dbi.valid()) return BadDbi();
  MDB_val k = ToVal(key);
  ++state_->mutations;
  int rc = mdb_del(state_->txn, dbi.handle, &k, nullptr);
  if (rc == MDB_NOTFOUND) return KeyNotFound();
  if (rc != MDB_SUCCESS) return WriteFailed(rc, "mdb_del");
  return Status::Ok();
}

Status WriteTxn::Commit() {
  if (!active()) return NotActive();
  if (!state_->fatal.ok()) {
    Status cause = state_->fatal;
    End();
    return cause.WithContext("commit refused, transaction aborted");
  }
  detail::TxnState& s = *state_;
  // mdb_txn_commit frees the txn (and its cursors) on failure too.
  int rc = mdb_txn_commit(s.txn);
  if (rc == MDB_MAP_FULL) s.map_full = true;
  s.txn = nullptr;
  s.snapshot = false;
  ++s.generation;
  s.env->EndRaw(/*write=*/true);
  const std::shared_ptr<detail::EnvCore> env = std::move(s.env);
  return LmdbStatus(rc, "mdb_txn_commit on '" + env->path + "'", env->path);
}

// ---- Cursor ----------------------------------------------------------------

Cursor::Cursor(std::shared_ptr<detail::TxnState> state, MDB_cursor* cursor)
    : state_(std::move(state)), cursor_(cursor), generation_(state_->generation), mutations_(state_->mutations) {}

Cursor::Cursor(Cursor&& other) noexcept
    : state_(std::move(other.state_)),
      cursor_(std::exchange(other.cursor_, nullptr)),
      generation_(other.generation_),
      mutations_(other.mutations_),
      valid_(std::exchange(other.valid_, false)),
      key_(other.key_),
      value_(other.value_) {}

Cursor& Cursor::operator=(Cursor&& other) noexcept {
  if (this != &other) {
    Close();
    state_ = std::move(other.state_);
    cursor_ = std::exchange(other.cursor_, nullptr);
    generation_ = other.generation_;
    mutations_ = other.mutations_;
    valid_ = std::exchange(other.valid_, false);
    key_ = other.key_;
    value_ = other.value_;
  }
  return *this;
}

Cursor::~Cursor() { Close(); }

void Cursor::Close() {
  if (cursor_ == nullptr) return;
  // A write txn frees its cursors when it ends; closing one again would be a
  // double free. Read-txn cursors are ours to free, before or after the txn.
  const bool freed_by_lmdb = state_->write && state_->generation != generation_;
  if (!freed_by_lmdb) mdb_cursor_close(cursor_);
  cursor_ = nullptr;
  valid_ = false;
  state_.reset();
}

bool Cursor::Usable() const { return cursor_ != nullptr && state_->snapshot && state_->generation == generation_; }

bool Cursor::valid() const { return valid_ && Usable() && state_->mutations == mutations_; }

std::string_view Cursor::key() const { return valid() ? ToView(key_) : std::string_view(); }

std::string_view Cursor::value() const { return valid() ? ToView(value_) : std::string_view(); }

Status Cursor::Move(MDB_cursor_op op, std::string_view seek_key) {
  if (!Usable()) {
    valid_ = false;
    return Status(Code::kFailedPrecondition, "cursor's transaction is no longer active");
  }
  if ((op == MDB_NEXT || op == MDB_PREV) && !valid()) {
    valid_ = false;
    return Status(Code::kFailedPrecondition, "cursor is not positioned; use First/Last/Seek");
  }
  MDB_val k = ToVal(seek_key);
  MDB_val v{};
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  mutations_ = state_->mutations;
  if (rc == MDB_NOTFOUND) {
    valid_ = false;
    return Status::Ok();
  }
  if (rc != MDB_SUCCESS) {
    valid_ = false;
    return LmdbStatus(rc, "mdb_cursor_get");
  }
  valid_ = true;
  key_ = k;
  value_ = v;
  return Status::Ok();
}

Status Cursor::First() { return Move(MDB_FIRST, {}); }
Status Cursor::Last() { return Move(MDB_LAST, {}); }
// LMDB rejects an empty key; every key is >= "", so that is First().
Status Cursor::Seek(std::string_view key) { return key.empty() ? Move(MDB_FIRST, {}) : Move(MDB_SET_RANGE, key); }
Status Cursor::Next() { return Move(MDB_NEXT, {}); }
Status Cursor::Prev() { return Move(MDB_PREV, {}); }

}  // namespace daicho::storage::lmdb
