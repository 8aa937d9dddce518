// PgBackend: the relay's RelayBackend on PostgreSQL 15, so that several
// relay nodes share one store and any node can serve any contract
// (docs/operations.md "Several nodes with PostgreSQL").
//
// The store is a versioned schema `daicho` in one database (tables and
// versions in docs/formats.md "The relay on PostgreSQL"). `CreateSchema`
// (`daicho-relay --store ... init`) makes it, `Migrate` (`... migrate`)
// brings an older one up to date; Open refuses a database without the
// schema or with an older one, so a mistyped --store never serves an empty
// store and a node never writes a schema it does not understand.
//
// Connections: a conninfo as libpq takes it ("postgresql://h1:5432,h2:5432/
// daicho?target_session_attrs=read-write" or "host=... dbname=..."), so
// after a failover the promoted standby is found. The backend keeps a pool
// of up to `max_connections` connections, opened when needed.
//
// Transactions: a Read is one REPEATABLE READ READ ONLY transaction; a
// Write one READ COMMITTED transaction in which LockContract takes the
// contract's row `FOR NO KEY UPDATE` and rows read are share-locked, so
// RelayService's writers of a contract serialize as the seam promises. A
// Write is run again on a serialization failure, a deadlock, a lock timeout,
// a unique violation of a first insert, or a connection lost before COMMIT
// was sent; a connection lost after it (the outcome unknown) is kUnavailable
// and never run again. Codes beyond the seam's: kUnavailable (the store
// cannot be reached, is busy, or is read-only during a failover).
//
// Thread-safety: Read and Write may be called concurrently from any thread.
#ifndef DAICHO_RELAY_POSTGRES_PG_BACKEND_H_
#define DAICHO_RELAY_POSTGRES_PG_BACKEND_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "daicho/status.h"
#include "relay/change_feed.h"
#include "relay/relay_backend.h"

namespace daicho::relay {

struct PgBackendOptions {
  // Connections to the store at most (each a PostgreSQL backend process).
  size_t max_connections = 16;
  // Names this node in the store's connections (application_name, as
  // pg_stat_activity shows them) and, with a random suffix, in the change
  // notices it sends, so that its own feed skips them while another
  // process given the same name still hears them; empty: a random id.
  std::string node_id;
};

// The schema versions this build reads and writes (docs/formats.md).
struct PgSchemaVersion {
  int from = 0;  // before the call
  int to = 0;    // after it
};

class PgBackend final : public RelayBackend {
 public:
  ~PgBackend() override;
  PgBackend(const PgBackend&) = delete;
  PgBackend& operator=(const PgBackend&) = delete;

  // Creates the schema, at the newest version, in the database `conninfo`
  // names. kAlreadyExists if it holds one already (nothing is changed);
  // kUnavailable if it cannot be reached.
  static Status CreateSchema(const std::string& conninfo);
  // Applies the migrations the database's schema lacks, in one transaction
  // (two nodes migrating at once: the second finds nothing to do). kNotFound
  // if it holds no relay store; kFailedPrecondition if it was made by a
  // newer daicho-relay.
  static Result<PgSchemaVersion> Migrate(const std::string& conninfo);
  // Opens the store. kNotFound: no relay store in that database (run init);
  // kFailedPrecondition: an older schema (run migrate) or one made by a
  // newer daicho-relay that this one cannot serve; kUnavailable.
  static Result<std::shared_ptr<PgBackend>> Open(const std::string& conninfo, const PgBackendOptions& options = {});

  Status Read(const std::function<Status(RelayReadTxn&)>& fn) const override;
  Status Write(const std::function<Status(RelayWriteTxn&)>& fn) override;

  // A feed of the changes other nodes commit, over a connection of its own.
  std::unique_ptr<ChangeFeed> OpenChangeFeed() const;

  struct Impl;

 private:
  explicit PgBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `conninfo` as it may be shown in logs and messages: its password, if any,
// replaced by "***". A conninfo libpq cannot parse is shown as "(unreadable
// conninfo)".
std::string RedactConninfo(std::string_view conninfo);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_POSTGRES_PG_BACKEND_H_
