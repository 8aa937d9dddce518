#include "relay/postgres/pg_backend.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "relay/postgres/pg_change_feed.h"
#include "relay/postgres/pg_connection.h"
#include "relay/postgres/pg_schema.h"
#include "relay/postgres/pg_statements.h"
#include "relay/postgres/pg_txn.h"

namespace daicho::relay {

using pg::PgConn;
using pg::PgLease;
using pg::PgSession;

struct PgBackend::Impl {
  // Signs this backend's change notices (its own feed skips them): the node
  // name and a random suffix, since two processes may be given one name.
  std::string node_id;
  std::string application_name;
  std::shared_ptr<pg::PgPool> pool;
};

namespace {

// A Write or Read is tried at most this often, for at most this long.
constexpr int kMaxAttempts = 8;
constexpr auto kRetryBudget = std::chrono::seconds(5);

std::string RandomNodeId() {
  std::random_device random;
  char id[9];
  std::snprintf(id, sizeof id, "%08x", static_cast<unsigned>(random()));
  return id;
}

// 5 ms doubling, each wait jittered to [half, whole], so writers that
// collided do not collide again in step.
void Backoff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const auto whole = std::chrono::microseconds(5000) * (1 << std::min(attempt, 8));
  std::uniform_int_distribution<int64_t> pick(whole.count() / 2, whole.count());
  std::this_thread::sleep_for(std::chrono::microseconds(pick(random)));
}

// Whether a transaction that failed on `conn` may run again: the server
// refused it for a reason another try can pass (pg_connection.h), or the
// connection was lost before anything was committed.
bool MayRetry(const PgConn& conn, bool commit_sent) {
  if (conn.broken()) return !commit_sent;
  return pg::RetryableSqlState(conn.first_error());
}

Result<std::unique_ptr<PgConn>> ConnectOnce(const std::string& conninfo) {
  return PgConn::Connect(conninfo, "daicho-relay");
}

}  // namespace

PgBackend::PgBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgBackend::~PgBackend() = default;

Status PgBackend::CreateSchema(const std::string& conninfo) {
  DAICHO_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, ConnectOnce(conninfo));
  return pg::CreateSchema(*conn, pg::Migrations());
}

Result<PgSchemaVersion> PgBackend::Migrate(const std::string& conninfo) {
  DAICHO_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, ConnectOnce(conninfo));
  return pg::Migrate(*conn, pg::Migrations());
}

Result<std::shared_ptr<PgBackend>> PgBackend::Open(const std::string& conninfo, const PgBackendOptions& options) {
  {
    DAICHO_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, ConnectOnce(conninfo));
    DAICHO_RETURN_IF_ERROR(pg::CheckSchema(*conn, pg::Migrations()));
  }
  auto impl = std::make_unique<Impl>();
  impl->node_id = options.node_id.empty() ? RandomNodeId() : options.node_id + "." + RandomNodeId();
  impl->application_name = "daicho-relay " + (options.node_id.empty() ? impl->node_id : options.node_id);
  impl->pool = std::make_shared<pg::PgPool>(conninfo, impl->application_name, options.max_connections);
  return std::shared_ptr<PgBackend>(new PgBackend(std::move(impl)));
}

namespace {

// Runs `body` in a transaction begun with `begin`, again while it fails in
// a way another try can pass (MayRetry), within kMaxAttempts and
// kRetryBudget. A write whose COMMIT was sent and whose answer was lost is
// never run again. After a write committed, its change notices are sent.
Status RunTransaction(pg::PgPool& pool, const std::string& node_id, const char* begin, bool write,
                      const std::function<Status(PgSession&, std::vector<ContractNumber>&)>& body) {
  const auto deadline = std::chrono::steady_clock::now() + kRetryBudget;
  for (int attempt = 0;; ++attempt) {
    Status status;
    bool retry = false;
    {
      DAICHO_ASSIGN_OR_RETURN(PgLease lease, pool.Acquire());
      std::vector<ContractNumber> changed;
      PgSession session(*lease, begin);
      status = body(session, changed);
      if (!lease->first_error().empty()) {
        session.Rollback();
        // The function may have gone on past a failed statement.
        if (status.ok()) status = lease->first_failure();
        retry = MayRetry(*lease, /*commit_sent=*/false);
      } else if (!status.ok()) {
        session.Rollback();
        return status;  // the function's own
      } else {
        const bool commit_sent = write && session.began();
        status = session.Commit();
        if (!status.ok() && lease->broken() && commit_sent) {
          // Committed or not: nobody knows. Running it again could apply
          // it twice (an audit row, a payment); the caller's peer retries
          // what it got no answer to.
          return Unavailable("the store's answer to a commit was lost (" + status.message() + "); retry");
        }
        retry = !status.ok() && MayRetry(*lease, commit_sent);
      }
      if (status.ok()) {
        // Each in its own statement after the commit, never inside it: a
        // transaction that NOTIFYs takes a global lock at commit. A lost
        // notice only delays a push: the feed's watcher re-checks change
        // counters (change_feed.h), so a failure here is ignored.
        std::vector<pg::PgParams> params(changed.size());
        std::vector<pg::PgQuery> notices;
        for (size_t i = 0; i < changed.size(); ++i) {
          params[i].Bytes(changed[i].str() + " " + node_id);
          notices.push_back(pg::PgQuery{pg::StmtName(pg::Stmt::kNotifyChanges), nullptr, &params[i]});
        }
        if (!notices.empty()) (void)lease->Pipeline(notices);
        return status;
      }
    }
    if (!retry || attempt + 1 >= kMaxAttempts || std::chrono::steady_clock::now() > deadline) return status;
    Backoff(attempt);
  }
}

}  // namespace

Status PgBackend::Read(const std::function<Status(RelayReadTxn&)>& fn) const {
  return RunTransaction(*impl_->pool, impl_->node_id, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                        /*write=*/false,
                        [&](PgSession& session, std::vector<ContractNumber>&) { return fn(*pg::NewReadTxn(session)); });
}

Status PgBackend::Write(const std::function<Status(RelayWriteTxn&)>& fn) {
  return RunTransaction(
      *impl_->pool, impl_->node_id, "BEGIN ISOLATION LEVEL READ COMMITTED", /*write=*/true,
      [&](PgSession& session, std::vector<ContractNumber>& changed) { return fn(*pg::NewWriteTxn(session, changed)); });
}

std::unique_ptr<ChangeFeed> PgBackend::OpenChangeFeed() const {
  return std::make_unique<pg::PgChangeFeed>(impl_->application_name, impl_->node_id, impl_->pool);
}

std::string RedactConninfo(std::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "(unreadable conninfo)";
  }
  bool has_password = false;
  std::string redacted;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string keyword = option->keyword;
    if (keyword == "password") has_password = true;
    std::string value = keyword == "password" ? "***" : option->val;
    std::string quoted = "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    quoted.push_back('\'');
    if (!redacted.empty()) redacted.push_back(' ');
    redacted += keyword + "=" + quoted;
  }
  PQconninfoFree(options);
  // Without a password the conninfo is shown as given.
  return has_password ? redacted : std::string(conninfo);
}

}  // namespace daicho::relay
