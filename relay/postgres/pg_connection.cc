#include "relay/postgres/pg_connection.h"

#include "relay/postgres/pg_statements.h"

namespace daicho::relay::pg {
namespace {

// The session settings every connection gets (docs/operations.md): a hung
// statement, a transaction left open, or a lock held too long ends with an
// error instead of holding up the node.
constexpr const char* kSessionSettings =
    "SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'; SET lock_timeout = '10s'";

// libpq's message without its trailing newline.
std::string ConnMessage(PGconn* conn) {
  std::string message = conn == nullptr ? "out of memory" : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

Status StatusFromSqlState(std::string_view sqlstate, std::string message) {
  const std::string_view cls = sqlstate.substr(0, 2);
  // Connection problems, shutdowns, "cannot connect now" (a standby in
  // recovery), too many connections, a statement timeout, a read-only
  // server during a failover: another try later may work.
  if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300" ||
      sqlstate == "57014" || sqlstate == "25006" || sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01") {
    return Unavailable(std::move(message));
  }
  if (sqlstate == "53100") return ResourceExhausted(std::move(message));  // disk full, as LMDB's full map
  if (cls == "22") return InvalidArgument(std::move(message));
  if (cls == "23") return Internal(std::move(message));
  if (sqlstate == "42P01" || sqlstate == "3F000") return NotFound(std::move(message));
  return IoError(std::move(message));
}

bool RetryableSqlState(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "23505" || sqlstate == "55P03";
}

std::string_view PgRow::View(int column) const {
  return {PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column))};
}

int64_t PgRow::Int(int column) {
  const std::optional<int64_t> value = IsNull(column) ? std::nullopt : DecodeInt(View(column));
  bad_ = bad_ || !value;
  return value.value_or(0);
}

uint64_t PgRow::U64(int column) {
  const int64_t value = Int(column);
  bad_ = bad_ || value < 0;
  return static_cast<uint64_t>(value);
}

bool PgRow::Bool(int column) {
  const std::optional<bool> value = IsNull(column) ? std::nullopt : DecodeBool(View(column));
  bad_ = bad_ || !value;
  return value.value_or(false);
}

entitlements::Date PgRow::Date(int column) {
  const auto value = IsNull(column) ? std::nullopt : DecodeDate(View(column));
  bad_ = bad_ || !value;
  return value.value_or(entitlements::Date{});
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& conninfo, const std::string& application_name) {
  // Keywords before "dbname" are defaults the conninfo may override; the
  // fallback name is used only when the conninfo names none. TCP
  // keepalives find a server that vanished (a failover) within about 25 s
  // even on a connection that only listens.
  const char* keywords[] = {"connect_timeout",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "dbname",
                            "fallback_application_name",
                            nullptr};
  const char* values[] = {"5", "10", "5", "3", conninfo.c_str(), application_name.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (raw == nullptr || PQstatus(raw) != CONNECTION_OK) {
    Status status = Unavailable("cannot connect to the store: " + ConnMessage(raw));
    PQfinish(raw);
    return status;
  }
  // libpq prints server notices (a shutting-down server's WARNING, say) to
  // stderr, which is the relay's log: unformatted lines there would break
  // it. What a notice means reaches the relay as an error of its own.
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConn> conn(new PgConn(raw));
  PgResult set(PQexec(raw, kSessionSettings));
  if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) return conn->Failed(set.get());
  return conn;
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::broken() const { return lost_ || PQstatus(conn_) != CONNECTION_OK; }

Status PgConn::Failed(const PGresult* result) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string message = result == nullptr ? std::string() : PQresultErrorMessage(result);
  if (message.empty()) message = ConnMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // No SQLSTATE: libpq lost the connection itself.
  const std::string sqlstate = state != nullptr ? state : "08006";
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || PQstatus(conn_) != CONNECTION_OK) lost_ = true;
  Status status = StatusFromSqlState(sqlstate, "store: " + message);
  if (first_error_.empty()) {
    first_error_ = lost_ ? "08006" : sqlstate;
    first_failure_ = status;
  }
  return status;
}

Result<std::vector<PgResult>> PgConn::Pipeline(std::span<const PgQuery> queries) {
  if (broken()) return Failed(nullptr);
  if (PQenterPipelineMode(conn_) != 1) return Failed(nullptr);
  for (const PgQuery& q : queries) {
    const PgParams* p = q.params;
    if (p != nullptr && !p->status().ok()) {
      // Nothing was sent yet for this one: leave the pipeline with what went before discarded.
      PQpipelineSync(conn_);
      while (PGresult* r = PQgetResult(conn_)) {
        const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync) break;
      }
      PQexitPipelineMode(conn_);
      return p->status();
    }
    const int sent = q.prepared != nullptr
                         ? PQsendQueryPrepared(conn_, q.prepared, p ? p->size() : 0, p ? p->values() : nullptr,
                                               p ? p->lengths() : nullptr, p ? p->formats() : nullptr, 1)
                         : PQsendQueryParams(conn_, q.sql, 0, nullptr, nullptr, nullptr, nullptr, 1);
    if (sent != 1) return Failed(nullptr);
  }
  if (PQpipelineSync(conn_) != 1) return Failed(nullptr);

  // Each statement's results end with a NULL; the Sync's result ends the
  // pipeline. A failed statement makes the later ones PIPELINE_ABORTED.
  std::vector<PgResult> results;
  Status failure;
  size_t index = 0;
  size_t nulls_in_a_row = 0;
  for (;;) {
    PgResult r(PQgetResult(conn_));
    if (!r) {
      ++index;
      // Past every statement and still no Sync: the connection is gone.
      if (++nulls_in_a_row > 2 || PQstatus(conn_) != CONNECTION_OK) {
        lost_ = true;
        return failure.ok() ? Failed(nullptr) : failure;
      }
      continue;
    }
    nulls_in_a_row = 0;
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    if (status == PGRES_FATAL_ERROR) {
      if (failure.ok()) failure = Failed(r.get());
      if (lost_) return failure;
    } else if (status != PGRES_PIPELINE_ABORTED && results.size() == index) {
      results.push_back(std::move(r));
    }
  }
  if (PQexitPipelineMode(conn_) != 1) lost_ = true;
  if (!failure.ok()) return failure;
  if (results.size() != queries.size()) {
    lost_ = true;
    return Internal("store: " + std::to_string(results.size()) + " results for " + std::to_string(queries.size()) +
                    " statements");
  }
  return results;
}

Status PgConn::Prepare(std::span<const std::pair<const char*, const char*>> statements) {
  if (PQenterPipelineMode(conn_) != 1) return Failed(nullptr);
  for (const auto& [name, sql] : statements) {
    if (PQsendPrepare(conn_, name, sql, 0, nullptr) != 1) return Failed(nullptr);
  }
  if (PQpipelineSync(conn_) != 1) return Failed(nullptr);
  Status failure;
  for (;;) {
    PgResult r(PQgetResult(conn_));
    if (!r) {
      if (PQstatus(conn_) != CONNECTION_OK) return Failed(nullptr);
      continue;
    }
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    if (status == PGRES_FATAL_ERROR && failure.ok()) failure = Failed(r.get());
  }
  PQexitPipelineMode(conn_);
  return failure;
}

PgLease::~PgLease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

PgPool::PgPool(std::string conninfo, std::string application_name, size_t max_connections)
    : conninfo_(std::move(conninfo)),
      application_name_(std::move(application_name)),
      max_connections_(max_connections == 0 ? 1 : max_connections) {}

Result<PgLease> PgPool::Acquire() {
  {
    std::unique_lock lock(mu_);
    const bool ready =
        returned_.wait_for(lock, std::chrono::seconds(10), [&] { return !idle_.empty() || open_ < max_connections_; });
    if (!ready)
      return Unavailable("the store is busy: all " + std::to_string(max_connections_) + " connections in use");
    if (!idle_.empty()) {
      std::unique_ptr<PgConn> conn = std::move(idle_.back());
      idle_.pop_back();
      return PgLease(this, std::move(conn));
    }
    ++open_;  // reserved while connecting, outside the lock
  }
  Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(conninfo_, application_name_);
  Status prepared = conn.ok() ? (*conn)->Prepare(Statements()) : conn.status();
  if (!prepared.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
    return prepared;
  }
  return PgLease(this, *std::move(conn));
}

void PgPool::Release(std::unique_ptr<PgConn> conn) {
  // A broken connection, or one left inside a transaction, is closed: the
  // next Acquire opens a fresh one.
  const bool keep = conn->idle();
  const bool lost = conn->broken();
  conn->ClearError();
  if (!keep) conn.reset();
  std::vector<std::unique_ptr<PgConn>> stale;
  {
    std::lock_guard lock(mu_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
    // A lost connection means the server went away or failed over: the
    // idle ones are most likely lost too, and a retry must not meet them.
    if (lost) {
      open_ -= idle_.size();
      stale.swap(idle_);
    }
  }
  returned_.notify_all();
}

}  // namespace daicho::relay::pg
