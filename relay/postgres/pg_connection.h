// One libpq connection of the relay's PostgreSQL backend, the pool of them,
// and the one mapping of SQLSTATE codes to daicho Codes (CONVENTIONS §3).
//
// Every statement goes through PgConn::Pipeline: one or more statements
// sent in libpq's pipeline mode and ended by one Sync, so a batch (a
// transaction's lazy BEGIN and its first statement, AppendChanges' inserts)
// costs one round trip. Parameters and results are binary (pg_codec.h).
//
// Thread-safety: a PgConn belongs to one thread at a time (the pool hands
// it out); PgPool is thread-safe.
#ifndef DAICHO_RELAY_POSTGRES_PG_CONNECTION_H_
#define DAICHO_RELAY_POSTGRES_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/status.h"
#include "relay/entitlements/entitlements.h"
#include "relay/postgres/pg_codec.h"

namespace daicho::relay::pg {

struct PgResultFree {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

// The Code for an error the server reported with `sqlstate`.
Status StatusFromSqlState(std::string_view sqlstate, std::string message);
// Whether a transaction that failed with `sqlstate` may simply be run again
// (serialization failure, deadlock, unique violation of a racing first
// insert, lock timeout).
bool RetryableSqlState(std::string_view sqlstate);

// One statement of a pipeline: a prepared statement by name, or SQL without
// parameters (BEGIN, COMMIT).
struct PgQuery {
  const char* prepared = nullptr;
  const char* sql = nullptr;
  const PgParams* params = nullptr;
};

// The fields of one result row, decoded; a field of the wrong size or a
// NULL where none may be makes bad() true (the caller says kCorruption).
class PgRow {
 public:
  PgRow(const PGresult* result, int row) : result_(result), row_(row) {}
  bool IsNull(int column) const { return PQgetisnull(result_, row_, column) != 0; }
  std::string_view View(int column) const;
  std::string Bytes(int column) const { return std::string(View(column)); }
  int64_t Int(int column);
  uint64_t U64(int column);  // a negative value is bad
  bool Bool(int column);
  entitlements::Date Date(int column);
  // A value out of its range: the row is bad.
  void MarkBad() { bad_ = true; }
  bool bad() const { return bad_; }

 private:
  const PGresult* result_;
  int row_;
  bool bad_ = false;
};

class PgConn {
 public:
  // Connects with `conninfo` (connect_timeout 5 s unless it names one;
  // application_name `application_name` unless it names one) and sets the
  // session's timeouts. kUnavailable if the server cannot be reached.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& conninfo, const std::string& application_name);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs `queries` in one pipeline; their results in order. The first
  // failure ends it: its Status (the later statements were not run).
  Result<std::vector<PgResult>> Pipeline(std::span<const PgQuery> queries);
  // Prepares each (name, SQL) pair, in one pipeline.
  Status Prepare(std::span<const std::pair<const char*, const char*>> statements);

  // SQLSTATE of the first failure since ClearError(), "" if none, and its
  // Status.
  const std::string& first_error() const { return first_error_; }
  const Status& first_failure() const { return first_failure_; }
  void ClearError() {
    first_error_.clear();
    first_failure_ = Status::Ok();
  }
  // The connection is gone (or its state unknown): it must not be reused.
  bool broken() const;
  // Idle, outside any transaction: fit to go back to the pool.
  bool idle() const { return !broken() && PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  int backend_pid() const { return PQbackendPID(conn_); }
  PGconn* raw() { return conn_; }

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  Status Failed(const PGresult* result);

  PGconn* conn_;
  std::string first_error_;
  Status first_failure_;
  bool lost_ = false;
};

class PgPool;

// A connection lent by the pool; returned when destroyed.
class PgLease {
 public:
  PgLease(PgPool* pool, std::unique_ptr<PgConn> conn) : pool_(pool), conn_(std::move(conn)) {}
  PgLease(PgLease&&) = default;
  PgLease& operator=(PgLease&&) = delete;
  ~PgLease();
  PgConn& operator*() const { return *conn_; }
  PgConn* operator->() const { return conn_.get(); }

 private:
  PgPool* pool_;
  std::unique_ptr<PgConn> conn_;
};

// Up to `max_connections` connections, each opened when first needed with
// every statement of pg_statements.h prepared on it.
class PgPool {
 public:
  PgPool(std::string conninfo, std::string application_name, size_t max_connections);
  // A connection; waits up to 10 s for one to come back when all are lent
  // (then kUnavailable "the store is busy").
  Result<PgLease> Acquire();
  const std::string& conninfo() const { return conninfo_; }

 private:
  friend class PgLease;
  void Release(std::unique_ptr<PgConn> conn);

  const std::string conninfo_;
  const std::string application_name_;
  const size_t max_connections_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  size_t open_ = 0;  // lent or idle
};

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_CONNECTION_H_
