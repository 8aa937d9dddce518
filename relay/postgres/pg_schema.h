// The PostgreSQL store's schema `daicho` and its versions (docs/formats.md
// "The relay on PostgreSQL").
//
// `daicho.relay_meta` holds `schema_version` (the last migration applied)
// and `compatible_from` (the oldest version of this code that may still
// serve the schema). A migration that only adds (a table, a nullable
// column) keeps `compatible_from`, so older nodes keep serving during a
// rolling upgrade; one that changes what old code reads raises it.
#ifndef DAICHO_RELAY_POSTGRES_PG_SCHEMA_H_
#define DAICHO_RELAY_POSTGRES_PG_SCHEMA_H_

#include <span>
#include <string>

#include "daicho/status.h"
#include "relay/postgres/pg_backend.h"
#include "relay/postgres/pg_connection.h"

namespace daicho::relay::pg {

// One step of the schema: after it the schema is at `version`, servable by
// code of version `compatible_from` or newer.
struct Migration {
  int version = 0;
  int compatible_from = 0;
  const char* sql = nullptr;  // statements run in the migration's transaction
};

// The steps this build knows, oldest first; the last one's version is the
// one it reads and writes.
std::span<const Migration> Migrations();

// CreateSchema/Migrate/CheckSchema over an explicit list of steps (the
// tests add a step to prove migrating).
Status CreateSchema(PgConn& conn, std::span<const Migration> steps);
Result<PgSchemaVersion> Migrate(PgConn& conn, std::span<const Migration> steps);
// Ok if code at `steps`' last version may serve the database's schema:
// kNotFound (no relay store), kFailedPrecondition (older: run migrate; or
// made by a newer daicho-relay that this one cannot serve).
Status CheckSchema(PgConn& conn, std::span<const Migration> steps);

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_SCHEMA_H_
