// The SQL of the PostgreSQL backend: one table of named statements,
// prepared once on each pooled connection (PgPool), run with binary
// parameters and results. Every table is qualified `daicho.` (the schema of
// pg_schema.h), so the store may share a database with other schemas.
#ifndef DAICHO_RELAY_POSTGRES_PG_STATEMENTS_H_
#define DAICHO_RELAY_POSTGRES_PG_STATEMENTS_H_

#include <span>
#include <utility>

namespace daicho::relay::pg {

enum class Stmt : int {
  // Reads; the *Locked forms are a write transaction's, share-locking what
  // they read (see pg_txn.h).
  kGetContract,
  kGetContractLocked,
  kListContracts,
  kFindAccounts,
  kFindAccountsLocked,
  kListAccounts,
  kListAccountsLocked,
  kFindPanelSession,
  kListPanelSessions,
  kGetResetCode,
  kListAudit,
  kGetOfficeKeyTimes,
  kGetOfficeKey,
  kGetLicence,
  kListFilings,
  kListPayments,
  kFindDevice,
  kListDevices,
  kGetMeta,
  kGetMetaLocked,
  kGetVersionVector,
  kGetChange,
  kChangesFrom,
  kChangesAfter,
  // Writes.
  kLockContract,
  kPutContract,
  kSetContractDisabled,
  kDeleteContract,
  kPutAccount,
  kSetAccountDisabled,
  kSetAccountAdmin,
  kSetAccountLastSync,
  kDeleteAccount,
  kPutDevice,
  kDeleteDevice,
  kPutOfficeKey,
  kPutOfficeKeyTimes,
  kPutPanelSession,
  kDeletePanelSession,
  kPutResetCode,
  kDeleteResetCode,
  kAppendAudit,
  kAuditRows,
  kTrimAudit,
  kBumpLoginGeneration,
  kSetVendorContract,
  kPutLicence,
  kDeleteLicence,
  kPutFiling,
  kAppendPayment,
  kInsertChange,
  kAdvanceVersionVector,
  kCountChanges,
  // After a commit, and the change feed's reads.
  kNotifyChanges,
  kChangeCounts,
  kCount
};

// The prepared name of `stmt` ("d<number>").
const char* StmtName(Stmt stmt);
// Every (name, SQL) pair, in Stmt order.
std::span<const std::pair<const char*, const char*>> Statements();

// The channel the backend NOTIFYs after a commit that stored changes; the
// payload is "<contract> <node id>" (pg_change_feed.h).
inline constexpr const char* kChangesChannel = "daicho_changes";

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_STATEMENTS_H_
