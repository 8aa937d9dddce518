#include "relay/postgres/pg_txn.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "relay/postgres/pg_change_log_reader.h"

namespace daicho::relay::pg {

Result<PgResult> PgSession::Run(Stmt stmt, const PgParams& params) {
  const std::pair<Stmt, const PgParams*> call{stmt, &params};
  DAICHO_ASSIGN_OR_RETURN(std::vector<PgResult> results, RunAll(std::span(&call, 1)));
  return std::move(results.front());
}

Result<std::vector<PgResult>> PgSession::RunAll(std::span<const std::pair<Stmt, const PgParams*>> calls) {
  std::vector<PgQuery> queries;
  queries.reserve(calls.size() + 1);
  const bool first = !began_;
  if (first) queries.push_back(PgQuery{nullptr, begin_, nullptr});
  for (const auto& [stmt, params] : calls) queries.push_back(PgQuery{StmtName(stmt), nullptr, params});
  // Sent: the transaction is open even if a statement fails (it is then
  // rolled back).
  began_ = true;
  DAICHO_ASSIGN_OR_RETURN(std::vector<PgResult> results, conn_.Pipeline(queries));
  if (first) results.erase(results.begin());
  return results;
}

Status PgSession::Commit() {
  if (!began_) return Status::Ok();
  const PgQuery commit{nullptr, "COMMIT", nullptr};
  DAICHO_ASSIGN_OR_RETURN(std::vector<PgResult> results, conn_.Pipeline(std::span(&commit, 1)));
  // COMMIT of a transaction in which a statement failed rolls it back.
  if (std::string_view(PQcmdStatus(results[0].get())) != "COMMIT") {
    return Internal("store: the transaction was rolled back at its commit");
  }
  return Status::Ok();
}

void PgSession::Rollback() {
  if (!began_ || conn_.broken()) return;
  const PgQuery rollback{nullptr, "ROLLBACK", nullptr};
  (void)conn_.Pipeline(std::span(&rollback, 1));
}

namespace {

Status Bad(std::string_view what, const ContractNumber& contract) {
  return Corruption("bad " + std::string(what) + " of contract " + contract.str() + " in the store");
}

// Rows affected by an INSERT, UPDATE or DELETE.
int64_t Affected(const PgResult& result) {
  const char* tuples = PQcmdTuples(result.get());
  return tuples[0] == '\0' ? 0 : std::stoll(tuples);
}

AccountRecord ReadAccount(PgRow& row) {
  AccountRecord account;
  account.user_id = row.Bytes(0);
  account.password_hash = row.Bytes(1);
  account.disabled = row.Bool(2);
  account.admin = row.Bool(3);
  account.last_sync_ms = row.U64(4);
  account.last_address = row.Bytes(5);
  return account;
}

PanelSessionRecord ReadSession(PgRow& row) {
  return PanelSessionRecord{row.Bytes(0), row.Bytes(1), row.U64(2), row.U64(3), row.Bytes(4)};
}

DeviceRecord ReadDevice(PgRow& row) {
  DeviceRecord device;
  device.token_hash = row.Bytes(0);
  Result<ReplicaId> replica = ReplicaId::FromBytes(row.View(1));
  if (replica.ok()) {
    device.replica = *replica;
  } else {
    row.MarkBad();
  }
  device.user_id = row.Bytes(2);
  device.name = row.Bytes(3);
  device.last_sync_ms = row.U64(4);
  device.last_address = row.Bytes(5);
  if (!row.IsNull(6)) device.unsynced_records = row.U64(6);
  return device;
}

AuditRecord ReadAudit(PgRow& row) {
  return AuditRecord{row.U64(0), row.Bytes(1), row.Bytes(2), row.Bytes(3), row.Bytes(4), row.Bytes(5), row.Bytes(6)};
}

FilingRecord ReadFiling(PgRow& row) { return FilingRecord{row.Bytes(0), row.Date(1), row.Bytes(2), row.U64(3)}; }

PaymentRecord ReadPayment(PgRow& row) {
  PaymentRecord payment;
  payment.time_ms = row.U64(0);
  const int64_t line = row.Int(1);
  if (line < 0 || line > 2) row.MarkBad();
  payment.line = static_cast<entitlements::Line>(line);
  payment.licence_year = row.Date(2);
  payment.amount_yen = row.Int(3);
  payment.reference = row.Bytes(4);
  payment.note = row.Bytes(5);
  payment.actor = row.Bytes(6);
  return payment;
}

// The reads of both transaction kinds. In a write transaction (`locking`)
// the reads of contracts, accounts and relay_meta share-lock their rows.
template <typename Base>
class PgReads : public Base {
 public:
  PgReads(PgSession& session, bool locking) : session_(session), locking_(locking) {}

  Result<std::optional<ContractRecord>> GetContract(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(locking_ ? Stmt::kGetContractLocked : Stmt::kGetContract, Key(contract)));
    if (PQntuples(r.get()) == 0) return std::optional<ContractRecord>();
    PgRow row(r.get(), 0);
    const bool disabled = row.Bool(0);
    if (row.bad()) return Bad("contract row", contract);
    return std::optional<ContractRecord>(ContractRecord{contract, disabled});
  }

  Result<std::vector<ContractRecord>> ListContracts() override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kListContracts, PgParams()));
    std::vector<ContractRecord> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      PgRow row(r.get(), i);
      Result<ContractNumber> number = ContractNumber::Parse(row.View(0));
      const bool disabled = row.Bool(1);
      if (!number.ok() || row.bad()) return Corruption("bad contract row in the store");
      out.push_back(ContractRecord{*number, disabled});
    }
    return out;
  }

  Result<std::vector<AccountRecord>> FindAccounts(const ContractNumber& contract, std::string_view folded) override {
    return List<AccountRecord>(locking_ ? Stmt::kFindAccountsLocked : Stmt::kFindAccounts, Key(contract).Bytes(folded),
                               ReadAccount, "account", contract);
  }

  Result<std::vector<AccountRecord>> ListAccounts(const ContractNumber& contract) override {
    return List<AccountRecord>(locking_ ? Stmt::kListAccountsLocked : Stmt::kListAccounts, Key(contract), ReadAccount,
                               "account", contract);
  }

  Result<std::optional<PanelSessionRecord>> FindPanelSession(const ContractNumber& contract,
                                                             std::string_view token_hash) override {
    return One<PanelSessionRecord>(Stmt::kFindPanelSession, Key(contract).Bytes(token_hash), ReadSession,
                                   "panel session", contract);
  }

  Result<std::vector<PanelSessionRecord>> ListPanelSessions(const ContractNumber& contract) override {
    return List<PanelSessionRecord>(Stmt::kListPanelSessions, Key(contract), ReadSession, "panel session", contract);
  }

  Result<std::optional<ResetCodeRecord>> GetResetCode(const ContractNumber& contract, std::string_view folded,
                                                      std::string_view user_id) override {
    const std::string user(user_id);
    return One<ResetCodeRecord>(
        Stmt::kGetResetCode, Key(contract).Bytes(folded).Bytes(user_id),
        [&](PgRow& row) {
          const int64_t tries = row.Int(4);
          if (tries < 0 || tries > 255) row.MarkBad();
          return ResetCodeRecord{user,       row.Bytes(1), row.Bytes(0),
                                 row.U64(2), row.U64(3),   static_cast<uint32_t>(tries)};
        },
        "reset code", contract);
  }

  Result<std::vector<AuditRecord>> ListAudit(const ContractNumber& contract, uint64_t before_ms,
                                             size_t limit) override {
    if (limit == 0 || before_ms == 0) return std::vector<AuditRecord>();
    // "Older than before_ms" is "at most before_ms - 1"; UINT64_MAX (the
    // newest) and any other value beyond what a bigint holds mean all.
    const uint64_t at_most = std::min<uint64_t>(before_ms - 1, std::numeric_limits<int64_t>::max());
    const uint64_t rows = std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max());
    return List<AuditRecord>(Stmt::kListAudit, Key(contract).U64(at_most).U64(rows), ReadAudit, "audit row", contract);
  }

  Result<OfficeKeyTimes> GetOfficeKeyTimes(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kGetOfficeKeyTimes, Key(contract)));
    if (PQntuples(r.get()) == 0) return OfficeKeyTimes{};
    PgRow row(r.get(), 0);
    OfficeKeyTimes times{row.U64(0), row.U64(1)};
    if (row.bad()) return Bad("office key times", contract);
    return times;
  }

  Result<std::optional<entitlements::Licence>> GetLicence(const ContractNumber& contract) override {
    return One<entitlements::Licence>(
        Stmt::kGetLicence, Key(contract),
        [](PgRow& row) {
          entitlements::Licence licence;
          if (!row.IsNull(0)) licence.installed = row.Date(0);
          licence.first_renewal = row.Date(1);
          const int64_t licences = row.Int(2);
          const int64_t choice = row.Int(5);
          if (licences < 0 || licences > std::numeric_limits<uint32_t>::max() || (choice != 1 && choice != 2)) {
            row.MarkBad();
          }
          licence.licences = static_cast<uint32_t>(licences);
          licence.backup_applied = row.Bool(3);
          licence.billing_applied = row.Bool(4);
          licence.free_choice = static_cast<entitlements::Option>(choice);
          return licence;
        },
        "licence", contract);
  }

  Result<std::vector<FilingRecord>> ListFilings(const ContractNumber& contract) override {
    return List<FilingRecord>(Stmt::kListFilings, Key(contract), ReadFiling, "filing", contract);
  }

  Result<std::vector<PaymentRecord>> ListPayments(const ContractNumber& contract) override {
    return List<PaymentRecord>(Stmt::kListPayments, Key(contract), ReadPayment, "payment", contract);
  }

  Result<std::optional<DeviceRecord>> FindDevice(const ContractNumber& contract, std::string_view token_hash) override {
    return One<DeviceRecord>(Stmt::kFindDevice, Key(contract).Bytes(token_hash), ReadDevice, "device", contract);
  }

  Result<std::vector<DeviceRecord>> ListDevices(const ContractNumber& contract) override {
    return List<DeviceRecord>(Stmt::kListDevices, Key(contract), ReadDevice, "device", contract);
  }

  Result<crypto::WrappedOfficeKey> GetOfficeKey(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kGetOfficeKey, Key(contract)));
    if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return crypto::WrappedOfficeKey();
    auto keys = crypto::ParseWrappedOfficeKey(PgRow(r.get(), 0).View(0));
    if (!keys.ok()) return Corruption("stored office key of contract " + contract.str() + " is damaged");
    return keys;
  }

  Result<uint64_t> GetLoginGeneration() override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Meta());
    PgRow row(r.get(), 0);
    const uint64_t generation = row.U64(0);
    if (row.bad()) return Corruption("bad login generation in the store");
    return generation;
  }

  Result<std::optional<ContractNumber>> GetVendorContract() override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Meta());
    if (PQgetisnull(r.get(), 0, 1)) return std::optional<ContractNumber>();
    Result<ContractNumber> number = ContractNumber::Parse(PgRow(r.get(), 0).View(1));
    if (!number.ok()) return Corruption("bad vendor contract in the store");
    return std::optional<ContractNumber>(*number);
  }

  Result<VersionVector> GetVersionVector(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kGetVersionVector, Key(contract)));
    VersionVector out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      PgRow row(r.get(), i);
      Result<ReplicaId> origin = ReplicaId::FromBytes(row.View(0));
      const uint64_t seq = row.U64(1);
      if (!origin.ok() || row.bad()) return Bad("version vector entry", contract);
      out.Advance(*origin, seq);
    }
    return out;
  }

  Result<std::optional<std::string>> GetChange(const ContractNumber& contract, const ReplicaId& origin,
                                               uint64_t seq) override {
    if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::optional<std::string>();
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kGetChange, Key(contract).Bytes(origin.AsStringView()).U64(seq)));
    if (PQntuples(r.get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(PgRow(r.get(), 0).Bytes(0));
  }

  Result<std::unique_ptr<core::ChangeLogReader>> OpenChangeLog(const ContractNumber& contract) override {
    return std::unique_ptr<core::ChangeLogReader>(std::make_unique<PgChangeLogReader>(session_, contract));
  }

 protected:
  static PgParams Key(const ContractNumber& contract) {
    PgParams params;
    params.Bytes(contract.str());
    return params;
  }

  Result<PgResult> Run(Stmt stmt, const PgParams& params) { return session_.Run(stmt, params); }

  Result<PgResult> Meta() {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(locking_ ? Stmt::kGetMetaLocked : Stmt::kGetMeta, PgParams()));
    if (PQntuples(r.get()) != 1) return Corruption("daicho.relay_meta does not hold one row");
    return r;
  }

  // Every row of `stmt`, decoded by `read`.
  template <typename Record, typename Read>
  Result<std::vector<Record>> List(Stmt stmt, const PgParams& params, Read read, std::string_view what,
                                   const ContractNumber& contract) {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(stmt, params));
    std::vector<Record> out;
    out.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      PgRow row(r.get(), i);
      Record record = read(row);
      if (row.bad()) return Bad(what, contract);
      out.push_back(std::move(record));
    }
    return out;
  }

  // The row of `stmt`, if any.
  template <typename Record, typename Read>
  Result<std::optional<Record>> One(Stmt stmt, const PgParams& params, Read read, std::string_view what,
                                    const ContractNumber& contract) {
    DAICHO_ASSIGN_OR_RETURN(std::vector<Record> rows, (List<Record>(stmt, params, read, what, contract)));
    if (rows.empty()) return std::optional<Record>();
    return std::optional<Record>(std::move(rows.front()));
  }

  PgSession& session_;
  const bool locking_;
};

class PgReadTxn final : public PgReads<RelayReadTxn> {
 public:
  explicit PgReadTxn(PgSession& session) : PgReads<RelayReadTxn>(session, /*locking=*/false) {}
};

class PgWriteTxn final : public PgReads<RelayWriteTxn> {
 public:
  PgWriteTxn(PgSession& session, std::vector<ContractNumber>& changed)
      : PgReads<RelayWriteTxn>(session, /*locking=*/true), changed_(changed) {}

  Result<bool> LockContract(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kLockContract, Key(contract)));
    return PQntuples(r.get()) == 1;
  }

  Status PutContract(const ContractNumber& contract) override { return Exec(Stmt::kPutContract, Key(contract)); }

  Status SetContractDisabled(const ContractNumber& contract, bool disabled) override {
    return Exec(Stmt::kSetContractDisabled, Key(contract).Bool(disabled));
  }

  // Every other table's rows of the contract go with it (ON DELETE CASCADE).
  Status DeleteContract(const ContractNumber& contract) override {
    return ExecOne(Stmt::kDeleteContract, Key(contract), "contract " + contract.str());
  }

  Status PutAccount(const ContractNumber& contract, std::string_view folded, const AccountRecord& account) override {
    return Exec(Stmt::kPutAccount, Key(contract).Bytes(folded).Bytes(account.user_id).Bytes(account.password_hash));
  }

  Status SetAccountDisabled(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                            bool disabled) override {
    return Exec(Stmt::kSetAccountDisabled, Key(contract).Bytes(folded).Bytes(user_id).Bool(disabled));
  }

  Status SetAccountAdmin(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                         bool admin) override {
    return Exec(Stmt::kSetAccountAdmin, Key(contract).Bytes(folded).Bytes(user_id).Bool(admin));
  }

  Status SetAccountLastSync(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                            uint64_t time_ms, std::string_view address) override {
    return Exec(Stmt::kSetAccountLastSync, Key(contract).Bytes(folded).Bytes(user_id).U64(time_ms).Bytes(address));
  }

  // Its reset code goes with it (ON DELETE CASCADE), its sessions in the
  // same statement.
  Status DeleteAccount(const ContractNumber& contract, std::string_view folded, std::string_view user_id) override {
    return ExecOne(Stmt::kDeleteAccount, Key(contract).Bytes(folded).Bytes(user_id),
                   "user " + std::string(user_id) + " of contract " + contract.str());
  }

  Status PutDevice(const ContractNumber& contract, const DeviceRecord& device) override {
    PgParams params = Key(contract);
    params.Bytes(device.token_hash)
        .Bytes(device.replica.AsStringView())
        .Bytes(device.user_id)
        .Bytes(device.name)
        .U64(device.last_sync_ms)
        .Bytes(device.last_address);
    if (device.unsynced_records) {
      params.U64(*device.unsynced_records);
    } else {
      params.Null();
    }
    return Exec(Stmt::kPutDevice, params);
  }

  Status DeleteDevice(const ContractNumber& contract, std::string_view token_hash) override {
    return ExecOne(Stmt::kDeleteDevice, Key(contract).Bytes(token_hash), "device of contract " + contract.str());
  }

  Status PutOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys) override {
    return Exec(Stmt::kPutOfficeKey,
                Key(contract).Bytes(crypto::SerializeWrappedOfficeKey(keys)).U64(keys.current_key_id));
  }

  Status PutOfficeKeyTimes(const ContractNumber& contract, const OfficeKeyTimes& times) override {
    return Exec(Stmt::kPutOfficeKeyTimes, Key(contract).U64(times.created_ms).U64(times.changed_ms));
  }

  Status PutPanelSession(const ContractNumber& contract, const PanelSessionRecord& session) override {
    return Exec(Stmt::kPutPanelSession, Key(contract)
                                            .Bytes(session.token_hash)
                                            .Bytes(session.user_id)
                                            .U64(session.created_ms)
                                            .U64(session.last_seen_ms)
                                            .Bytes(session.address));
  }

  Status DeletePanelSession(const ContractNumber& contract, std::string_view token_hash) override {
    return Exec(Stmt::kDeletePanelSession, Key(contract).Bytes(token_hash));
  }

  Status PutResetCode(const ContractNumber& contract, std::string_view folded, const ResetCodeRecord& code) override {
    // The sizes the LMDB store's fixed layout needs, so both refuse alike.
    if (code.salt.size() != 16 || code.code_hash.size() != 32 || code.tries_left > 255) {
      return InvalidArgument("a reset code needs a 16-byte salt, a 32-byte hash and at most 255 tries");
    }
    return Exec(Stmt::kPutResetCode, Key(contract)
                                         .Bytes(folded)
                                         .Bytes(code.user_id)
                                         .Bytes(code.salt)
                                         .Bytes(code.code_hash)
                                         .U64(code.created_ms)
                                         .U64(code.expires_ms)
                                         .I16(static_cast<int16_t>(code.tries_left)));
  }

  Status DeleteResetCode(const ContractNumber& contract, std::string_view folded, std::string_view user_id) override {
    return Exec(Stmt::kDeleteResetCode, Key(contract).Bytes(folded).Bytes(user_id));
  }

  Status AppendAudit(const ContractNumber& contract, const AuditRecord& record) override {
    return Exec(Stmt::kAppendAudit, Key(contract)
                                        .U64(record.time_ms)
                                        .Bytes(record.actor)
                                        .Bytes(record.address)
                                        .Bytes(record.via)
                                        .Bytes(record.action)
                                        .Bytes(record.target)
                                        .Bytes(record.detail));
  }

  Status TrimAudit(const ContractNumber& contract, size_t keep) override {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(Stmt::kAuditRows, Key(contract)));
    if (PQntuples(r.get()) == 0) return Status::Ok();
    PgRow row(r.get(), 0);
    const uint64_t rows = row.U64(0);
    if (row.bad()) return Bad("audit row count", contract);
    if (rows <= keep) return Status::Ok();
    return Exec(Stmt::kTrimAudit, Key(contract).U64(rows - keep));
  }

  Status BumpLoginGeneration() override { return Exec(Stmt::kBumpLoginGeneration, PgParams()); }

  Status SetVendorContract(const ContractNumber& contract) override {
    return Exec(Stmt::kSetVendorContract, Key(contract));
  }

  Status PutLicence(const ContractNumber& contract, const entitlements::Licence& licence) override {
    PgParams params = Key(contract);
    if (licence.installed) {
      params.Date(*licence.installed);
    } else {
      params.Null();
    }
    params.Date(licence.first_renewal)
        .I64(licence.licences)
        .Bool(licence.backup_applied)
        .Bool(licence.billing_applied)
        .I16(static_cast<int16_t>(licence.free_choice));
    return Exec(Stmt::kPutLicence, params);
  }

  Status DeleteLicence(const ContractNumber& contract) override { return Exec(Stmt::kDeleteLicence, Key(contract)); }

  Result<bool> PutFiling(const ContractNumber& contract, const FilingRecord& filing) override {
    DAICHO_ASSIGN_OR_RETURN(
        PgResult r,
        Run(Stmt::kPutFiling,
            Key(contract).Bytes(filing.company_id).Date(filing.date).Bytes(filing.filing_id).U64(filing.imported_ms)));
    return Affected(r) == 1;
  }

  Status AppendPayment(const ContractNumber& contract, const PaymentRecord& payment) override {
    return Exec(Stmt::kAppendPayment, Key(contract)
                                          .U64(payment.time_ms)
                                          .I16(static_cast<int16_t>(payment.line))
                                          .Date(payment.licence_year)
                                          .I64(payment.amount_yen)
                                          .Bytes(payment.reference)
                                          .Bytes(payment.note)
                                          .Bytes(payment.actor));
  }

  // One pipeline: the inserts, the vector's entries and the change counter.
  Status AppendChanges(const ContractNumber& contract, std::span<const ChangeBlob* const> changes,
                       const VersionVector& advanced) override {
    std::vector<PgParams> params;
    params.reserve(changes.size() + advanced.entries().size() + 1);
    std::vector<std::pair<Stmt, const PgParams*>> calls;
    for (const ChangeBlob* blob : changes) {
      params.push_back(Key(contract));
      params.back().Bytes(blob->origin.AsStringView()).U64(blob->seq).Bytes(blob->payload);
      calls.emplace_back(Stmt::kInsertChange, &params.back());
    }
    for (const auto& entry : advanced.entries()) {
      params.push_back(Key(contract));
      params.back().Bytes(entry.replica.AsStringView()).U64(entry.counter);
      calls.emplace_back(Stmt::kAdvanceVersionVector, &params.back());
    }
    params.push_back(Key(contract));
    params.back().I64(static_cast<int64_t>(changes.size()));
    calls.emplace_back(Stmt::kCountChanges, &params.back());
    DAICHO_ASSIGN_OR_RETURN(std::vector<PgResult> results, session_.RunAll(calls));
    int64_t inserted = 0;
    for (size_t i = 0; i < changes.size(); ++i) inserted += Affected(results[i]);
    // PlanApply dropped what the log holds, under the contract's lock: a
    // conflict here means a writer without that lock.
    if (inserted != static_cast<int64_t>(changes.size())) {
      return Internal("the change log of contract " + contract.str() + " was written without the contract lock");
    }
    if (inserted > 0 && std::find(changed_.begin(), changed_.end(), contract) == changed_.end()) {
      changed_.push_back(contract);
    }
    return Status::Ok();
  }

 private:
  Status Exec(Stmt stmt, const PgParams& params) { return Run(stmt, params).status(); }

  // kNotFound "<what> not found" when no row was affected (as LMDB's Del).
  Status ExecOne(Stmt stmt, const PgParams& params, const std::string& what) {
    DAICHO_ASSIGN_OR_RETURN(PgResult r, Run(stmt, params));
    if (Affected(r) == 0) return NotFound(what + " not found");
    return Status::Ok();
  }

  std::vector<ContractNumber>& changed_;
};

}  // namespace

std::unique_ptr<RelayReadTxn> NewReadTxn(PgSession& session) { return std::make_unique<PgReadTxn>(session); }

std::unique_ptr<RelayWriteTxn> NewWriteTxn(PgSession& session, std::vector<ContractNumber>& changed) {
  return std::make_unique<PgWriteTxn>(session, changed);
}

}  // namespace daicho::relay::pg
