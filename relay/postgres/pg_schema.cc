#include "relay/postgres/pg_schema.h"

#include <array>

namespace daicho::relay::pg {
namespace {

// Schema v1. bytea for every string the relay treats as bytes (ids, names,
// hashes, addresses), so that order is byte order as in the LMDB store and
// no collation or encoding check can reorder or refuse a value; contract
// numbers are text in the "C" collation for the same reason. The foreign
// keys to contracts make an insert take FOR KEY SHARE on the contract's row,
// which does not conflict with a writer's FOR NO KEY UPDATE.
constexpr const char* kSchemaV1 = R"sql(
CREATE SCHEMA daicho;
CREATE TABLE daicho.relay_meta (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  schema_version integer NOT NULL,
  compatible_from integer NOT NULL,
  login_generation bigint NOT NULL DEFAULT 0,
  vendor_contract text COLLATE "C" NULL);
INSERT INTO daicho.relay_meta (schema_version, compatible_from) VALUES (1, 1);
CREATE TABLE daicho.contracts (
  contract text COLLATE "C" PRIMARY KEY CHECK (contract ~ '^[0-9]{4}-[0-9]{4}-[0-9]{4}$'),
  disabled boolean NOT NULL DEFAULT false,
  key_id bigint NOT NULL DEFAULT 0,
  office_key bytea NULL,
  key_created_ms bigint NOT NULL DEFAULT 0,
  key_changed_ms bigint NOT NULL DEFAULT 0,
  change_count bigint NOT NULL DEFAULT 0,
  audit_rows bigint NOT NULL DEFAULT 0) WITH (fillfactor = 80);
CREATE TABLE daicho.accounts (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  folded bytea NOT NULL,
  user_id bytea NOT NULL,
  password_hash text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  admin boolean NOT NULL DEFAULT false,
  last_sync_ms bigint NOT NULL DEFAULT 0,
  last_address bytea NOT NULL DEFAULT '',
  PRIMARY KEY (contract, folded, user_id));
CREATE TABLE daicho.devices (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  replica bytea NOT NULL CHECK (octet_length(replica) = 16),
  user_id bytea NOT NULL,
  name bytea NOT NULL,
  last_sync_ms bigint NOT NULL,
  last_address bytea NOT NULL,
  unsynced_records bigint NULL,
  PRIMARY KEY (contract, token_hash));
CREATE TABLE daicho.panel_sessions (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  token_hash bytea NOT NULL,
  user_id bytea NOT NULL,
  created_ms bigint NOT NULL,
  last_seen_ms bigint NOT NULL,
  address bytea NOT NULL,
  PRIMARY KEY (contract, token_hash));
CREATE INDEX ON daicho.panel_sessions (contract, user_id);
CREATE TABLE daicho.reset_codes (
  contract text COLLATE "C" NOT NULL,
  folded bytea NOT NULL,
  user_id bytea NOT NULL,
  salt bytea NOT NULL,
  code_hash bytea NOT NULL,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  tries_left smallint NOT NULL,
  PRIMARY KEY (contract, folded, user_id),
  FOREIGN KEY (contract, folded, user_id) REFERENCES daicho.accounts ON DELETE CASCADE);
CREATE TABLE daicho.audit (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  time_ms bigint NOT NULL,
  seq integer NOT NULL,
  actor bytea NOT NULL,
  address bytea NOT NULL,
  via text NOT NULL,
  action text NOT NULL,
  target bytea NOT NULL,
  detail bytea NOT NULL,
  PRIMARY KEY (contract, time_ms, seq));
CREATE TABLE daicho.licences (
  contract text COLLATE "C" PRIMARY KEY REFERENCES daicho.contracts ON DELETE CASCADE,
  installed date NULL,
  first_renewal date NOT NULL,
  licences bigint NOT NULL,
  backup_applied boolean NOT NULL,
  billing_applied boolean NOT NULL,
  free_choice smallint NOT NULL);
CREATE TABLE daicho.filings (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  company_id bytea NOT NULL,
  day date NOT NULL,
  filing_id bytea NOT NULL,
  imported_ms bigint NOT NULL,
  PRIMARY KEY (contract, company_id, day, filing_id));
CREATE TABLE daicho.payments (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  time_ms bigint NOT NULL,
  seq integer NOT NULL,
  line smallint NOT NULL,
  licence_year date NOT NULL,
  amount_yen bigint NOT NULL,
  reference bytea NOT NULL,
  note bytea NOT NULL,
  actor bytea NOT NULL,
  PRIMARY KEY (contract, time_ms, seq));
CREATE TABLE daicho.changes (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  origin bytea NOT NULL CHECK (octet_length(origin) = 16),
  seq bigint NOT NULL CHECK (seq > 0),
  payload bytea NOT NULL,
  PRIMARY KEY (contract, origin, seq));
-- Sealed payloads are ciphertext: never try to compress them.
ALTER TABLE daicho.changes ALTER payload SET STORAGE EXTERNAL;
CREATE TABLE daicho.version_vectors (
  contract text COLLATE "C" NOT NULL REFERENCES daicho.contracts ON DELETE CASCADE,
  origin bytea NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (contract, origin));
)sql";

// v2 and later: a new entry here (and in docs/formats.md).
constexpr std::array kMigrations{Migration{1, 1, kSchemaV1}};

// Whatever else runs migrations at the same time waits here (any constant
// of this program's own).
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(7206127318455401216)";

struct StoredVersion {
  int version = 0;
  int compatible_from = 0;
};

// The schema's version; kNotFound if the database holds no relay store.
Result<StoredVersion> ReadVersion(PgConn& conn) {
  static constexpr const char* kSql = "SELECT schema_version, compatible_from FROM daicho.relay_meta";
  // Asked first: a failed SELECT of a missing table would end the transaction.
  static constexpr const char* kExists = "SELECT to_regclass('daicho.relay_meta') IS NOT NULL";
  const PgQuery exists{nullptr, kExists, nullptr};
  DAICHO_ASSIGN_OR_RETURN(auto found, conn.Pipeline(std::span(&exists, 1)));
  PgRow row(found[0].get(), 0);
  if (!row.Bool(0)) return NotFound("the database holds no relay store (run `daicho-relay --store ... init`)");
  const PgQuery read{nullptr, kSql, nullptr};
  DAICHO_ASSIGN_OR_RETURN(auto stored, conn.Pipeline(std::span(&read, 1)));
  if (PQntuples(stored[0].get()) != 1) return Corruption("daicho.relay_meta does not hold one row");
  PgRow meta(stored[0].get(), 0);
  StoredVersion version{static_cast<int>(meta.Int(0)), static_cast<int>(meta.Int(1))};
  if (meta.bad()) return Corruption("bad schema version in daicho.relay_meta");
  return version;
}

Status Run(PgConn& conn, const char* sql) {
  const PgQuery query{nullptr, sql, nullptr};
  return conn.Pipeline(std::span(&query, 1)).status();
}

// The simple-query protocol runs a migration's several statements at once
// (the extended protocol of Pipeline takes one).
Status RunScript(PgConn& conn, const char* sql) {
  PgResult result(PQexec(conn.raw(), sql));
  if (PQresultStatus(result.get()) == PGRES_COMMAND_OK || PQresultStatus(result.get()) == PGRES_TUPLES_OK) {
    return Status::Ok();
  }
  const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  return StatusFromSqlState(state ? state : "08006", std::string("store: ") + PQerrorMessage(conn.raw()));
}

// Runs `body` in one transaction holding the migration lock.
template <typename Body>
Status InMigrationTxn(PgConn& conn, Body body) {
  DAICHO_RETURN_IF_ERROR(Run(conn, "BEGIN"));
  Status status = Run(conn, kLockSql);
  if (status.ok()) status = body();
  if (status.ok()) return Run(conn, "COMMIT");
  (void)Run(conn, "ROLLBACK");
  return status;
}

// Applies the steps after `from`.
Status ApplySteps(PgConn& conn, std::span<const Migration> steps, int from) {
  for (const Migration& step : steps) {
    if (step.version <= from) continue;
    Status applied = RunScript(conn, step.sql);
    if (!applied.ok()) return applied.WithContext("migrating the store to v" + std::to_string(step.version));
    const std::string set = "UPDATE daicho.relay_meta SET schema_version = " + std::to_string(step.version) +
                            ", compatible_from = " + std::to_string(step.compatible_from);
    DAICHO_RETURN_IF_ERROR(RunScript(conn, set.c_str()));
  }
  return Status::Ok();
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Status CreateSchema(PgConn& conn, std::span<const Migration> steps) {
  return InMigrationTxn(conn, [&]() -> Status {
    Result<StoredVersion> stored = ReadVersion(conn);
    if (stored.ok()) return AlreadyExists("the database holds a relay store already: nothing to do");
    if (stored.status().code() != Code::kNotFound) return stored.status();
    return ApplySteps(conn, steps, 0);
  });
}

Result<PgSchemaVersion> Migrate(PgConn& conn, std::span<const Migration> steps) {
  const int newest = steps.back().version;
  PgSchemaVersion result;
  DAICHO_RETURN_IF_ERROR(InMigrationTxn(conn, [&]() -> Status {
    DAICHO_ASSIGN_OR_RETURN(StoredVersion stored, ReadVersion(conn));
    if (stored.version > newest) {
      return FailedPrecondition("the store's schema v" + std::to_string(stored.version) +
                                " was made by a newer daicho-relay (this one knows v" + std::to_string(newest) + ")");
    }
    result = {stored.version, newest};
    return ApplySteps(conn, steps, stored.version);
  }));
  return result;
}

Status CheckSchema(PgConn& conn, std::span<const Migration> steps) {
  const int newest = steps.back().version;
  DAICHO_ASSIGN_OR_RETURN(StoredVersion stored, ReadVersion(conn));
  if (stored.version < newest) {
    return FailedPrecondition("the store's schema is v" + std::to_string(stored.version) +
                              ", this daicho-relay needs v" + std::to_string(newest) +
                              ": run `daicho-relay --store ... migrate`");
  }
  if (stored.compatible_from > newest) {
    return FailedPrecondition("the store's schema v" + std::to_string(stored.version) +
                              " was made by a newer daicho-relay that this one (v" + std::to_string(newest) +
                              ") cannot serve");
  }
  return Status::Ok();
}

}  // namespace daicho::relay::pg
