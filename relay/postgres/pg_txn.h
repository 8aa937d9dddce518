// The PostgreSQL backend's transactions: PgSession runs one transaction's
// statements on one pooled connection (its BEGIN sent with the first
// statement, in one round trip, so a function that reads nothing costs
// nothing), and the RelayReadTxn / RelayWriteTxn over it.
//
// A write transaction is READ COMMITTED: LockContract takes the contract's
// row FOR NO KEY UPDATE, and what it reads of contracts, accounts and
// relay_meta is share-locked until the commit (docs/formats.md, pg_backend.h).
// Each statement therefore sees the commits before it and nothing it read
// can change under it: RelayService's writes serialize as the seam promises.
//
// Thread-safety: one thread, the one running the transaction's function.
#ifndef DAICHO_RELAY_POSTGRES_PG_TXN_H_
#define DAICHO_RELAY_POSTGRES_PG_TXN_H_

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "daicho/status.h"
#include "relay/postgres/pg_codec.h"
#include "relay/postgres/pg_connection.h"
#include "relay/postgres/pg_statements.h"
#include "relay/relay_backend.h"

namespace daicho::relay::pg {

class PgSession {
 public:
  // `begin` is the transaction's BEGIN statement.
  PgSession(PgConn& conn, const char* begin) : conn_(conn), begin_(begin) {}

  // Runs one prepared statement.
  Result<PgResult> Run(Stmt stmt, const PgParams& params);
  // Runs several in one pipeline (one round trip); their results in order.
  Result<std::vector<PgResult>> RunAll(std::span<const std::pair<Stmt, const PgParams*>> calls);
  // Commits, if anything was sent.
  Status Commit();
  // Rolls back, if anything was sent; a failure leaves the connection
  // broken (the pool closes it).
  void Rollback();

  bool began() const { return began_; }
  PgConn& conn() { return conn_; }

 private:
  PgConn& conn_;
  const char* begin_;
  bool began_ = false;
};

// The transactions over `session`. A write transaction adds to `changed`
// each contract of which AppendChanges stored at least one change.
std::unique_ptr<RelayReadTxn> NewReadTxn(PgSession& session);
std::unique_ptr<RelayWriteTxn> NewWriteTxn(PgSession& session, std::vector<ContractNumber>& changed);

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_TXN_H_
