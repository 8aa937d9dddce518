#include "relay/postgres/pg_statements.h"

#include <array>

namespace daicho::relay::pg {
namespace {

#define DAICHO_PG_NAME(n) "d" #n

// Parameters whose type the context does not fix (a SELECT list, a CTE)
// carry a cast, so that the binary value is read as the intended type.
constexpr std::array<std::pair<const char*, const char*>, static_cast<size_t>(Stmt::kCount)> kStatements{{
    {DAICHO_PG_NAME(0), "SELECT disabled FROM daicho.contracts WHERE contract = $1"},
    {DAICHO_PG_NAME(1), "SELECT disabled FROM daicho.contracts WHERE contract = $1 FOR SHARE"},
    {DAICHO_PG_NAME(2), "SELECT contract, disabled FROM daicho.contracts ORDER BY contract"},
    {DAICHO_PG_NAME(3),
     "SELECT user_id, password_hash, disabled, admin, last_sync_ms, last_address FROM daicho.accounts "
     "WHERE contract = $1 AND folded = $2 ORDER BY user_id"},
    {DAICHO_PG_NAME(4),
     "SELECT user_id, password_hash, disabled, admin, last_sync_ms, last_address FROM daicho.accounts "
     "WHERE contract = $1 AND folded = $2 ORDER BY user_id FOR SHARE"},
    {DAICHO_PG_NAME(5),
     "SELECT user_id, password_hash, disabled, admin, last_sync_ms, last_address FROM daicho.accounts "
     "WHERE contract = $1 ORDER BY folded, user_id"},
    {DAICHO_PG_NAME(6),
     "SELECT user_id, password_hash, disabled, admin, last_sync_ms, last_address FROM daicho.accounts "
     "WHERE contract = $1 ORDER BY folded, user_id FOR SHARE"},
    {DAICHO_PG_NAME(7),
     "SELECT token_hash, user_id, created_ms, last_seen_ms, address FROM daicho.panel_sessions "
     "WHERE contract = $1 AND token_hash = $2"},
    {DAICHO_PG_NAME(8),
     "SELECT token_hash, user_id, created_ms, last_seen_ms, address FROM daicho.panel_sessions "
     "WHERE contract = $1 ORDER BY token_hash"},
    {DAICHO_PG_NAME(9),
     "SELECT salt, code_hash, created_ms, expires_ms, tries_left FROM daicho.reset_codes "
     "WHERE contract = $1 AND folded = $2 AND user_id = $3"},
    {DAICHO_PG_NAME(10),
     "SELECT time_ms, actor, address, via, action, target, detail FROM daicho.audit "
     "WHERE contract = $1 AND time_ms <= $2 ORDER BY time_ms DESC, seq DESC LIMIT $3"},
    {DAICHO_PG_NAME(11), "SELECT key_created_ms, key_changed_ms FROM daicho.contracts WHERE contract = $1"},
    {DAICHO_PG_NAME(12), "SELECT office_key FROM daicho.contracts WHERE contract = $1"},
    {DAICHO_PG_NAME(13),
     "SELECT installed, first_renewal, licences, backup_applied, billing_applied, free_choice "
     "FROM daicho.licences WHERE contract = $1"},
    {DAICHO_PG_NAME(14),
     "SELECT company_id, day, filing_id, imported_ms FROM daicho.filings WHERE contract = $1 "
     "ORDER BY company_id, day, filing_id"},
    {DAICHO_PG_NAME(15),
     "SELECT time_ms, line, licence_year, amount_yen, reference, note, actor FROM daicho.payments "
     "WHERE contract = $1 ORDER BY time_ms, seq"},
    {DAICHO_PG_NAME(16),
     "SELECT token_hash, replica, user_id, name, last_sync_ms, last_address, unsynced_records FROM daicho.devices "
     "WHERE contract = $1 AND token_hash = $2"},
    {DAICHO_PG_NAME(17),
     "SELECT token_hash, replica, user_id, name, last_sync_ms, last_address, unsynced_records FROM daicho.devices "
     "WHERE contract = $1 ORDER BY token_hash"},
    {DAICHO_PG_NAME(18), "SELECT login_generation, vendor_contract FROM daicho.relay_meta"},
    {DAICHO_PG_NAME(19), "SELECT login_generation, vendor_contract FROM daicho.relay_meta FOR SHARE"},
    {DAICHO_PG_NAME(20), "SELECT origin, seq FROM daicho.version_vectors WHERE contract = $1"},
    {DAICHO_PG_NAME(21), "SELECT payload FROM daicho.changes WHERE contract = $1 AND origin = $2 AND seq = $3"},
    // A row comparison: the primary key's index walks from (origin, seq).
    {DAICHO_PG_NAME(22),
     "SELECT origin, seq, payload FROM daicho.changes WHERE contract = $1 AND (origin, seq) >= ($2::bytea, "
     "$3::bigint) ORDER BY origin, seq LIMIT $4"},
    {DAICHO_PG_NAME(23),
     "SELECT origin, seq, payload FROM daicho.changes WHERE contract = $1 AND (origin, seq) > ($2::bytea, "
     "$3::bigint) ORDER BY origin, seq LIMIT $4"},
    {DAICHO_PG_NAME(24), "SELECT 1 FROM daicho.contracts WHERE contract = $1 FOR NO KEY UPDATE"},
    {DAICHO_PG_NAME(25), "INSERT INTO daicho.contracts (contract) VALUES ($1)"},
    {DAICHO_PG_NAME(26), "UPDATE daicho.contracts SET disabled = $2 WHERE contract = $1"},
    {DAICHO_PG_NAME(27), "DELETE FROM daicho.contracts WHERE contract = $1"},
    {DAICHO_PG_NAME(28),
     "INSERT INTO daicho.accounts (contract, folded, user_id, password_hash) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT (contract, folded, user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash"},
    {DAICHO_PG_NAME(29),
     "UPDATE daicho.accounts SET disabled = $4 WHERE contract = $1 AND folded = $2 AND user_id = $3"},
    {DAICHO_PG_NAME(30), "UPDATE daicho.accounts SET admin = $4 WHERE contract = $1 AND folded = $2 AND user_id = $3"},
    {DAICHO_PG_NAME(31),
     "UPDATE daicho.accounts SET last_sync_ms = $4, last_address = $5 "
     "WHERE contract = $1 AND folded = $2 AND user_id = $3"},
    {DAICHO_PG_NAME(32),
     "WITH sessions AS (DELETE FROM daicho.panel_sessions WHERE contract = $1::text AND user_id = $3::bytea) "
     "DELETE FROM daicho.accounts WHERE contract = $1::text AND folded = $2::bytea AND user_id = $3::bytea"},
    {DAICHO_PG_NAME(33),
     "INSERT INTO daicho.devices (contract, token_hash, replica, user_id, name, last_sync_ms, last_address, "
     "unsynced_records) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contract, token_hash) DO UPDATE SET "
     "replica = EXCLUDED.replica, user_id = EXCLUDED.user_id, name = EXCLUDED.name, last_sync_ms = "
     "EXCLUDED.last_sync_ms, last_address = EXCLUDED.last_address, unsynced_records = EXCLUDED.unsynced_records"},
    {DAICHO_PG_NAME(34), "DELETE FROM daicho.devices WHERE contract = $1 AND token_hash = $2"},
    {DAICHO_PG_NAME(35), "UPDATE daicho.contracts SET office_key = $2, key_id = $3 WHERE contract = $1"},
    {DAICHO_PG_NAME(36), "UPDATE daicho.contracts SET key_created_ms = $2, key_changed_ms = $3 WHERE contract = $1"},
    {DAICHO_PG_NAME(37),
     "INSERT INTO daicho.panel_sessions (contract, token_hash, user_id, created_ms, last_seen_ms, address) "
     "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contract, token_hash) DO UPDATE SET user_id = "
     "EXCLUDED.user_id, created_ms = EXCLUDED.created_ms, last_seen_ms = EXCLUDED.last_seen_ms, address = "
     "EXCLUDED.address"},
    {DAICHO_PG_NAME(38), "DELETE FROM daicho.panel_sessions WHERE contract = $1 AND token_hash = $2"},
    {DAICHO_PG_NAME(39),
     "INSERT INTO daicho.reset_codes (contract, folded, user_id, salt, code_hash, created_ms, expires_ms, "
     "tries_left) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (contract, folded, user_id) DO UPDATE SET "
     "salt = EXCLUDED.salt, code_hash = EXCLUDED.code_hash, created_ms = EXCLUDED.created_ms, expires_ms = "
     "EXCLUDED.expires_ms, tries_left = EXCLUDED.tries_left"},
    {DAICHO_PG_NAME(40), "DELETE FROM daicho.reset_codes WHERE contract = $1 AND folded = $2 AND user_id = $3"},
    // After every row of its millisecond; the row counter for TrimAudit.
    {DAICHO_PG_NAME(41),
     "WITH added AS (INSERT INTO daicho.audit SELECT $1::text, $2::bigint, COALESCE(max(seq) + 1, 0), $3::bytea, "
     "$4::bytea, $5::text, $6::text, $7::bytea, $8::bytea FROM daicho.audit WHERE contract = $1::text AND "
     "time_ms = $2::bigint) UPDATE daicho.contracts SET audit_rows = audit_rows + 1 WHERE contract = $1::text"},
    {DAICHO_PG_NAME(42), "SELECT audit_rows FROM daicho.contracts WHERE contract = $1"},
    {DAICHO_PG_NAME(43),
     "WITH trimmed AS (DELETE FROM daicho.audit WHERE contract = $1::text AND (time_ms, seq) IN (SELECT time_ms, "
     "seq FROM daicho.audit WHERE contract = $1::text ORDER BY time_ms, seq LIMIT $2::bigint) RETURNING 1) "
     "UPDATE daicho.contracts SET audit_rows = audit_rows - (SELECT count(*) FROM trimmed) "
     "WHERE contract = $1::text"},
    {DAICHO_PG_NAME(44), "UPDATE daicho.relay_meta SET login_generation = login_generation + 1"},
    {DAICHO_PG_NAME(45), "UPDATE daicho.relay_meta SET vendor_contract = $1"},
    {DAICHO_PG_NAME(46),
     "INSERT INTO daicho.licences (contract, installed, first_renewal, licences, backup_applied, billing_applied, "
     "free_choice) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (contract) DO UPDATE SET installed = "
     "EXCLUDED.installed, first_renewal = EXCLUDED.first_renewal, licences = EXCLUDED.licences, backup_applied = "
     "EXCLUDED.backup_applied, billing_applied = EXCLUDED.billing_applied, free_choice = EXCLUDED.free_choice"},
    {DAICHO_PG_NAME(47), "DELETE FROM daicho.licences WHERE contract = $1"},
    {DAICHO_PG_NAME(48),
     "INSERT INTO daicho.filings (contract, company_id, day, filing_id, imported_ms) VALUES ($1, $2, $3, $4, $5) "
     "ON CONFLICT DO NOTHING"},
    {DAICHO_PG_NAME(49),
     "INSERT INTO daicho.payments SELECT $1::text, $2::bigint, COALESCE(max(seq) + 1, 0), $3::smallint, $4::date, "
     "$5::bigint, $6::bytea, $7::bytea, $8::bytea FROM daicho.payments WHERE contract = $1::text AND time_ms = "
     "$2::bigint"},
    {DAICHO_PG_NAME(50),
     "INSERT INTO daicho.changes (contract, origin, seq, payload) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT DO NOTHING"},
    {DAICHO_PG_NAME(51),
     "INSERT INTO daicho.version_vectors (contract, origin, seq) VALUES ($1, $2, $3) "
     "ON CONFLICT (contract, origin) DO UPDATE SET seq = EXCLUDED.seq"},
    {DAICHO_PG_NAME(52), "UPDATE daicho.contracts SET change_count = change_count + $2 WHERE contract = $1"},
    {DAICHO_PG_NAME(53), "SELECT pg_notify('daicho_changes', $1::text)"},
    {DAICHO_PG_NAME(54), "SELECT contract, change_count FROM daicho.contracts WHERE contract = ANY ($1::text[])"},
}};

#undef DAICHO_PG_NAME

}  // namespace

const char* StmtName(Stmt stmt) { return kStatements[static_cast<size_t>(stmt)].first; }

std::span<const std::pair<const char*, const char*>> Statements() { return kStatements; }

}  // namespace daicho::relay::pg
