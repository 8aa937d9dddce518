#include "relay/lmdb/lmdb_backend.h"

#include <algorithm>
#include <optional>
#include <shared_mutex>
#include <span>
#include <utility>

#include "relay/password.h"
#include "storage/lmdb/change_log_reader.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "storage/lmdb/growing_writer.h"
#include "storage/lmdb/store_directory.h"

namespace daicho::relay {
namespace {

using storage::lmdb::Dbi;
using storage::lmdb::TxnBase;
using storage::lmdb::WriteTxn;

using storage::lmdb::kSchemaKey;
// v2: changes are sealed by the PCs (end-to-end encryption) and each
// contract has its office key envelopes. A v1 store holds plaintext changes.
// v3: user ids keyed case-folded, devices identified by their replica id,
// the login generation (an upgrade of v2 is done at open, UpgradeFromV2).
// v4: disabled contracts and users, each device's last sync and address
// (UpgradeFromV3). A relay binary older than v4 refuses a v4 store, so it
// cannot serve a contract this one disabled.
// v5: the admin panel's roles, sessions, reset codes and audit log, each
// account's last sync, the office key's times and each device's unsynced
// count (UpgradeFromV4). A relay binary older than v5 refuses a v5 store.
// v6: licences, filings and payments, the entitlement rules' facts (the
// databases start empty: every contract unmanaged). A relay binary older
// than v6 refuses a v6 store, so it cannot serve an office its licence
// refuses.
constexpr std::string_view kRelaySchema = "daicho-relay-v6";
constexpr std::string_view kRelaySchemaV5 = "daicho-relay-v5";
constexpr std::string_view kRelaySchemaV4 = "daicho-relay-v4";
constexpr std::string_view kRelaySchemaV3 = "daicho-relay-v3";
constexpr std::string_view kRelaySchemaV2 = "daicho-relay-v2";
constexpr std::string_view kPlaintextRelaySchema = "daicho-relay-v1";
constexpr std::string_view kLoginGenerationKey = "logins";
constexpr std::string_view kVendorContractKey = "vendor_contract";

// 2 to 6 for the relay schemas this binary opens (older ones are upgraded),
// 0 for anything else.
int SchemaVersion(std::string_view schema) {
  const std::string_view known[] = {kRelaySchemaV2, kRelaySchemaV3, kRelaySchemaV4, kRelaySchemaV5, kRelaySchema};
  for (size_t i = 0; i < std::size(known); ++i) {
    if (schema == known[i]) return static_cast<int>(i) + 2;
  }
  return 0;
}
constexpr size_t kReplicaIdBytes = sizeof(ReplicaId::Bytes);
// Fixed sizes of a reset code's salt and hash in its value.
constexpr size_t kResetSaltBytes = 16;
constexpr size_t kResetHashBytes = 32;
// A device's unsynced count: a byte saying whether it is known, then 8.
constexpr size_t kUnsyncedBytes = 9;

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// Big-endian; fewer than 8 bytes decode as that many (a 4-byte field).
uint64_t DecodeU64(std::string_view b) {
  uint64_t v = 0;
  for (char c : b.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// Keys of the users database: all spellings of one id share the prefix.
std::string AccountPrefix(const ContractNumber& contract, std::string_view folded) {
  std::string prefix = contract.str() + std::string(folded);
  prefix.push_back('\0');
  return prefix;
}

std::string AccountKey(const ContractNumber& contract, std::string_view folded, std::string_view user_id) {
  return AccountPrefix(contract, folded) + std::string(user_id);
}

std::string EncodeDevice(const DeviceRecord& device) {
  std::string value(device.replica.AsStringView());
  value.append(device.user_id);
  value.push_back('\0');
  value.append(device.name);
  value.push_back('\0');
  value.append(EncodeU64(device.last_sync_ms));
  value.push_back(device.unsynced_records.has_value() ? '\1' : '\0');
  value.append(EncodeU64(device.unsynced_records.value_or(0)));
  value.append(device.last_address);
  return value;
}

Result<DeviceRecord> DecodeDevice(std::string_view token_hash, std::string_view value, const ContractNumber& contract) {
  const size_t user_end = value.find('\0', kReplicaIdBytes);
  const size_t name_end = user_end == std::string_view::npos ? user_end : value.find('\0', user_end + 1);
  const size_t unsynced_at = name_end + 9;
  if (value.size() < kReplicaIdBytes || name_end == std::string_view::npos ||
      value.size() < unsynced_at + kUnsyncedBytes) {
    return Corruption("bad device entry in contract " + contract.str());
  }
  ReplicaId::Bytes bytes{};
  std::copy_n(value.begin(), kReplicaIdBytes, bytes.begin());
  DeviceRecord device{std::string(token_hash),
                      ReplicaId(bytes),
                      std::string(value.substr(kReplicaIdBytes, user_end - kReplicaIdBytes)),
                      std::string(value.substr(user_end + 1, name_end - user_end - 1)),
                      DecodeU64(value.substr(name_end + 1, 8)),
                      std::string(value.substr(unsynced_at + kUnsyncedBytes)),
                      std::nullopt};
  if (value[unsynced_at] != '\0') device.unsynced_records = DecodeU64(value.substr(unsynced_at + 1, 8));
  return device;
}

std::string EncodeSession(const PanelSessionRecord& session) {
  std::string value = session.user_id;
  value.push_back('\0');
  value.append(EncodeU64(session.created_ms));
  value.append(EncodeU64(session.last_seen_ms));
  value.append(session.address);
  return value;
}

Result<PanelSessionRecord> DecodeSession(std::string_view token_hash, std::string_view value,
                                         const ContractNumber& contract) {
  const size_t user_end = value.find('\0');
  if (user_end == std::string_view::npos || value.size() < user_end + 17) {
    return Corruption("bad panel session entry in contract " + contract.str());
  }
  return PanelSessionRecord{std::string(token_hash), std::string(value.substr(0, user_end)),
                            DecodeU64(value.substr(user_end + 1, 8)), DecodeU64(value.substr(user_end + 9, 8)),
                            std::string(value.substr(user_end + 17))};
}

// Audit rows: each text field as a 4-byte big-endian length and its bytes
// (details may hold any byte).
void AppendField(std::string& out, std::string_view field) {
  out.append(EncodeU64(field.size()).substr(4));
  out.append(field);
}

bool ReadField(std::string_view& in, std::string& field) {
  if (in.size() < 4) return false;
  const uint64_t size = DecodeU64(in.substr(0, 4));
  if (in.size() - 4 < size) return false;
  field = std::string(in.substr(4, size));
  in.remove_prefix(4 + size);
  return true;
}

std::string EncodeAudit(const AuditRecord& record) {
  std::string value;
  for (const std::string* field :
       {&record.actor, &record.address, &record.via, &record.action, &record.target, &record.detail}) {
    AppendField(value, *field);
  }
  return value;
}

Result<AuditRecord> DecodeAudit(std::string_view key, std::string_view value, const ContractNumber& contract) {
  AuditRecord record;
  record.time_ms = DecodeU64(key.substr(ContractNumber::kSize, 8));
  for (std::string* field :
       {&record.actor, &record.address, &record.via, &record.action, &record.target, &record.detail}) {
    if (!ReadField(value, *field)) return Corruption("bad audit entry in contract " + contract.str());
  }
  if (!value.empty()) return Corruption("bad audit entry in contract " + contract.str());
  return record;
}

// Audit and payment keys: contract | time (8) | sequence within the
// millisecond (4), so a cursor walks a contract's rows in time order. The
// audit key of the contract alone holds how many rows it has (TrimAudit).
constexpr size_t kTimedKeyBytes = ContractNumber::kSize + 12;

// A day as 4 big-endian bytes of YYYYMMDD: keys sort by day.
std::string EncodeDate(entitlements::Date day) {
  const uint64_t number = static_cast<uint64_t>(static_cast<int>(day.year())) * 10000 +
                          static_cast<unsigned>(day.month()) * 100 + static_cast<unsigned>(day.day());
  return EncodeU64(number).substr(4);
}

std::optional<entitlements::Date> DecodeDate(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  const uint64_t number = DecodeU64(bytes);
  const entitlements::Date day{std::chrono::year(static_cast<int>(number / 10000)),
                               std::chrono::month(static_cast<unsigned>(number / 100 % 100)),
                               std::chrono::day(static_cast<unsigned>(number % 100))};
  if (!day.ok()) return std::nullopt;
  return day;
}

// A licence: version (1) | installed (4; 0: none) | first renewal (4) |
// licences (4) | applied options (1: bit 0 backup, bit 1 billing) | free
// choice (1, entitlements::Option).
constexpr char kLicenceVersion = 1;
constexpr size_t kLicenceBytes = 15;

std::string EncodeLicence(const entitlements::Licence& licence) {
  std::string value(1, kLicenceVersion);
  value.append(licence.installed ? EncodeDate(*licence.installed) : std::string(4, '\0'));
  value.append(EncodeDate(licence.first_renewal));
  value.append(EncodeU64(licence.licences).substr(4));
  value.push_back(static_cast<char>((licence.backup_applied ? 1 : 0) | (licence.billing_applied ? 2 : 0)));
  value.push_back(static_cast<char>(licence.free_choice));
  return value;
}

Result<entitlements::Licence> DecodeLicence(std::string_view value, const ContractNumber& contract) {
  const Status bad = Corruption("bad licence entry of contract " + contract.str());
  if (value.size() != kLicenceBytes || value[0] != kLicenceVersion) return bad;
  entitlements::Licence licence;
  if (value.substr(1, 4) != std::string_view("\0\0\0\0", 4)) {
    licence.installed = DecodeDate(value.substr(1, 4));
    if (!licence.installed) return bad;
  }
  const auto renewal = DecodeDate(value.substr(5, 4));
  const auto options = static_cast<unsigned char>(value[13]);
  const auto choice = static_cast<unsigned char>(value[14]);
  if (!renewal || options > 3 || (choice != 1 && choice != 2)) return bad;
  licence.first_renewal = *renewal;
  licence.licences = static_cast<uint32_t>(DecodeU64(value.substr(9, 4)));
  licence.backup_applied = (options & 1) != 0;
  licence.billing_applied = (options & 2) != 0;
  licence.free_choice = static_cast<entitlements::Option>(choice);
  return licence;
}

// Filing keys: contract | company id | '\0' | day (4) | filing id, so a
// company's filings are together in day order; the value is when it was
// imported (8).
std::string FilingKey(const ContractNumber& contract, const FilingRecord& filing) {
  std::string key = contract.str() + filing.company_id;
  key.push_back('\0');
  key.append(EncodeDate(filing.date));
  key.append(filing.filing_id);
  return key;
}

Result<FilingRecord> DecodeFiling(std::string_view key, std::string_view value, const ContractNumber& contract) {
  key.remove_prefix(ContractNumber::kSize);
  const size_t company_end = key.find('\0');
  const auto day = company_end == std::string_view::npos ? std::nullopt : DecodeDate(key.substr(company_end + 1, 4));
  if (!day || value.size() != 8) return Corruption("bad filing entry of contract " + contract.str());
  return FilingRecord{std::string(key.substr(0, company_end)), *day, std::string(key.substr(company_end + 5)),
                      DecodeU64(value)};
}

// Payments: line (1) | licence year (4) | amount (8, two's complement) |
// reference, note, actor (as audit fields).
std::string EncodePayment(const PaymentRecord& payment) {
  std::string value(1, static_cast<char>(payment.line));
  value.append(EncodeDate(payment.licence_year));
  value.append(EncodeU64(static_cast<uint64_t>(payment.amount_yen)));
  for (const std::string* field : {&payment.reference, &payment.note, &payment.actor}) AppendField(value, *field);
  return value;
}

Result<PaymentRecord> DecodePayment(std::string_view key, std::string_view value, const ContractNumber& contract) {
  const Status bad = Corruption("bad payment entry of contract " + contract.str());
  if (value.size() < 13 || static_cast<unsigned char>(value[0]) > 2) return bad;
  const auto year = DecodeDate(value.substr(1, 4));
  if (!year) return bad;
  PaymentRecord payment;
  payment.time_ms = DecodeU64(key.substr(ContractNumber::kSize, 8));
  payment.line = static_cast<entitlements::Line>(value[0]);
  payment.licence_year = *year;
  payment.amount_yen = static_cast<int64_t>(DecodeU64(value.substr(5, 8)));
  value.remove_prefix(13);
  for (std::string* field : {&payment.reference, &payment.note, &payment.actor}) {
    if (!ReadField(value, *field)) return bad;
  }
  if (!value.empty()) return bad;
  return payment;
}

std::string VvKey(const ContractNumber& contract, const ReplicaId& origin) {
  return contract.str() + std::string(origin.AsStringView());
}

// Deletes `key` if it is there.
Status DelIfPresent(WriteTxn& txn, Dbi dbi, std::string_view key) {
  Status status = txn.Del(dbi, key);
  return status.code() == Code::kNotFound ? Status::Ok() : status;
}

// Deletes every entry of `dbi` whose key starts with `prefix`. Keys are
// gathered in bounded rounds with no cursor open while deleting.
Status DeletePrefix(WriteTxn& txn, Dbi dbi, std::string_view prefix) {
  constexpr size_t kRound = 1024;
  for (;;) {
    std::vector<std::string> keys;
    {
      DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(dbi));
      DAICHO_RETURN_IF_ERROR(cursor.Seek(prefix));
      while (keys.size() < kRound && cursor.valid() && cursor.key().starts_with(prefix)) {
        keys.emplace_back(cursor.key());
        DAICHO_RETURN_IF_ERROR(cursor.Next());
      }
    }
    for (const std::string& key : keys) DAICHO_RETURN_IF_ERROR(txn.Del(dbi, key));
    if (keys.size() < kRound) return Status::Ok();
  }
}

// Entries of `dbi` whose key starts with `prefix`, in key order.
Result<std::vector<std::pair<std::string, std::string>>> ScanPrefix(const TxnBase& txn, Dbi dbi,
                                                                    std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(dbi));
  DAICHO_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.valid() && cursor.key().starts_with(prefix)) {
    out.emplace_back(std::string(cursor.key()), std::string(cursor.value()));
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

}  // namespace

struct LmdbBackend::Impl {
  std::string path;
  storage::lmdb::Env env;
  Dbi meta, contracts, users, disabled, devices, changes, vv, keys;
  Dbi admins, sessions, resets, audit, key_times, seen;  // v5
  Dbi licences, filings, payments;                       // v6
  storage::lmdb::GrowingWriter writer;

  Impl(std::string p, storage::lmdb::Env e) : path(std::move(p)), env(std::move(e)), writer(env) {}

  // v2 -> v3 in one write transaction: user keys gain their folded prefix,
  // device entries a zero replica id (bound at their next use). Ids that fold
  // equal stay separate accounts (RelayService::CaseConflicts reports them).
  Status UpgradeFromV2(WriteTxn& txn) {
    DAICHO_ASSIGN_OR_RETURN(auto old_users, ScanPrefix(txn, users, ""));
    for (const auto& [key, hash] : old_users) {
      if (key.size() <= ContractNumber::kSize) return Corruption("bad user entry in " + path);
      DAICHO_ASSIGN_OR_RETURN(ContractNumber contract, ContractNumber::Parse(key.substr(0, ContractNumber::kSize)));
      const std::string user_id = key.substr(ContractNumber::kSize);
      DAICHO_RETURN_IF_ERROR(txn.Del(users, key));
      DAICHO_RETURN_IF_ERROR(txn.Put(users, AccountKey(contract, FoldUserId(user_id), user_id), hash));
    }
    DAICHO_ASSIGN_OR_RETURN(auto old_devices, ScanPrefix(txn, devices, ""));
    for (const auto& [key, value] : old_devices) {
      if (value.find('\0') == std::string::npos) return Corruption("bad device entry in " + path);
      DAICHO_RETURN_IF_ERROR(txn.Put(devices, key, std::string(kReplicaIdBytes, '\0') + value));
    }
    return Status::Ok();
  }

  // v3 -> v4, in the same write transaction as an earlier step: device
  // entries gain "no sync recorded yet"; nothing is disabled.
  Status UpgradeFromV3(WriteTxn& txn) {
    DAICHO_ASSIGN_OR_RETURN(auto old_devices, ScanPrefix(txn, devices, ""));
    for (const auto& [key, value] : old_devices) {
      if (value.size() < kReplicaIdBytes || value.find('\0', kReplicaIdBytes) == std::string::npos) {
        return Corruption("bad device entry in " + path);
      }
      DAICHO_RETURN_IF_ERROR(txn.Put(devices, key, value + '\0' + EncodeU64(0)));
    }
    return Status::Ok();
  }

  // v4 -> v5, in the same write transaction as earlier steps: device entries
  // gain "unsynced count unknown" after their last sync; the new databases
  // start empty (no admin until the operator names one, office key times
  // unknown).
  Status UpgradeFromV4(WriteTxn& txn) {
    DAICHO_ASSIGN_OR_RETURN(auto old_devices, ScanPrefix(txn, devices, ""));
    for (const auto& [key, value] : old_devices) {
      const size_t user_end = value.find('\0', kReplicaIdBytes);
      const size_t name_end = user_end == std::string::npos ? user_end : value.find('\0', user_end + 1);
      if (value.size() < kReplicaIdBytes || name_end == std::string::npos || value.size() < name_end + 9) {
        return Corruption("bad device entry in " + path);
      }
      std::string upgraded = value;
      upgraded.insert(name_end + 9, std::string(kUnsyncedBytes, '\0'));
      DAICHO_RETURN_IF_ERROR(txn.Put(devices, key, upgraded));
    }
    return Status::Ok();
  }
};

namespace {

// The reads of both transaction kinds, over an LMDB transaction.
template <typename Base>
class LmdbReads : public Base {
 public:
  LmdbReads(const LmdbBackend::Impl& impl, const TxnBase& txn) : impl_(impl), txn_(txn) {}

  Result<std::optional<ContractRecord>> GetContract(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto found, txn_.GetCopy(impl_.contracts, contract.str()));
    if (!found) return std::optional<ContractRecord>();
    DAICHO_ASSIGN_OR_RETURN(bool off, IsMarked(contract.str()));
    return std::optional<ContractRecord>(ContractRecord{contract, off});
  }

  Result<std::vector<ContractRecord>> ListContracts() override {
    DAICHO_ASSIGN_OR_RETURN(auto numbers, ScanPrefix(txn_, impl_.contracts, ""));
    std::vector<ContractRecord> out;
    out.reserve(numbers.size());
    for (const auto& entry : numbers) {
      DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(entry.first));
      DAICHO_ASSIGN_OR_RETURN(bool off, IsMarked(number.str()));
      out.push_back(ContractRecord{number, off});
    }
    return out;
  }

  Result<std::vector<AccountRecord>> FindAccounts(const ContractNumber& contract, std::string_view folded) override {
    const std::string prefix = AccountPrefix(contract, folded);
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn_, impl_.users, prefix));
    std::vector<AccountRecord> out;
    out.reserve(entries.size());
    for (auto& [key, hash] : entries) {
      DAICHO_ASSIGN_OR_RETURN(AccountRecord account, ReadAccount(key, key.substr(prefix.size()), std::move(hash)));
      out.push_back(std::move(account));
    }
    return out;
  }

  Result<std::vector<AccountRecord>> ListAccounts(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn_, impl_.users, contract.str()));
    std::vector<AccountRecord> out;
    out.reserve(entries.size());
    for (auto& [key, hash] : entries) {
      const size_t sep = key.find('\0', ContractNumber::kSize);
      if (sep == std::string::npos) return Corruption("bad user entry in contract " + contract.str());
      DAICHO_ASSIGN_OR_RETURN(AccountRecord account, ReadAccount(key, key.substr(sep + 1), std::move(hash)));
      out.push_back(std::move(account));
    }
    return out;
  }

  Result<std::optional<PanelSessionRecord>> FindPanelSession(const ContractNumber& contract,
                                                             std::string_view token_hash) override {
    return FindByToken<PanelSessionRecord>(impl_.sessions, contract, token_hash, DecodeSession);
  }

  Result<std::vector<PanelSessionRecord>> ListPanelSessions(const ContractNumber& contract) override {
    return ListByToken<PanelSessionRecord>(impl_.sessions, contract, DecodeSession);
  }

  Result<std::optional<ResetCodeRecord>> GetResetCode(const ContractNumber& contract, std::string_view folded,
                                                      std::string_view user_id) override {
    DAICHO_ASSIGN_OR_RETURN(auto value, txn_.GetCopy(impl_.resets, AccountKey(contract, folded, user_id)));
    if (!value) return std::optional<ResetCodeRecord>();
    constexpr size_t kTimesAt = kResetSaltBytes + kResetHashBytes;
    if (value->size() != kTimesAt + 17) return Corruption("bad reset code entry in contract " + contract.str());
    return std::optional<ResetCodeRecord>(ResetCodeRecord{
        std::string(user_id), value->substr(kResetSaltBytes, kResetHashBytes), value->substr(0, kResetSaltBytes),
        DecodeU64(value->substr(kTimesAt, 8)), DecodeU64(value->substr(kTimesAt + 8, 8)),
        static_cast<unsigned char>((*value)[kTimesAt + 16])});
  }

  Result<std::vector<AuditRecord>> ListAudit(const ContractNumber& contract, uint64_t before_ms,
                                             size_t limit) override {
    std::vector<AuditRecord> out;
    if (limit == 0) return out;
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn_.OpenCursor(impl_.audit));
    // The first row at or after `before_ms`, then backwards.
    DAICHO_RETURN_IF_ERROR(cursor.Seek(contract.str() + EncodeU64(before_ms)));
    DAICHO_RETURN_IF_ERROR(cursor.valid() ? cursor.Prev() : cursor.Last());
    while (out.size() < limit && cursor.valid() && cursor.key().size() == kTimedKeyBytes &&
           cursor.key().starts_with(contract.str())) {
      DAICHO_ASSIGN_OR_RETURN(AuditRecord record, DecodeAudit(cursor.key(), cursor.value(), contract));
      out.push_back(std::move(record));
      DAICHO_RETURN_IF_ERROR(cursor.Prev());
    }
    return out;
  }

  Result<OfficeKeyTimes> GetOfficeKeyTimes(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn_.GetCopy(impl_.key_times, contract.str()));
    if (!stored) return OfficeKeyTimes{};
    if (stored->size() != 16) return Corruption("bad office key times of contract " + contract.str());
    return OfficeKeyTimes{DecodeU64(*stored), DecodeU64(stored->substr(8))};
  }

  Result<std::optional<entitlements::Licence>> GetLicence(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn_.GetCopy(impl_.licences, contract.str()));
    if (!stored) return std::optional<entitlements::Licence>();
    DAICHO_ASSIGN_OR_RETURN(entitlements::Licence licence, DecodeLicence(*stored, contract));
    return std::optional<entitlements::Licence>(licence);
  }

  Result<std::vector<FilingRecord>> ListFilings(const ContractNumber& contract) override {
    return ListDecoded<FilingRecord>(impl_.filings, contract, DecodeFiling);
  }

  Result<std::vector<PaymentRecord>> ListPayments(const ContractNumber& contract) override {
    return ListDecoded<PaymentRecord>(impl_.payments, contract, DecodePayment);
  }

  Result<std::optional<DeviceRecord>> FindDevice(const ContractNumber& contract, std::string_view token_hash) override {
    return FindByToken<DeviceRecord>(impl_.devices, contract, token_hash, DecodeDevice);
  }

  Result<std::vector<DeviceRecord>> ListDevices(const ContractNumber& contract) override {
    return ListByToken<DeviceRecord>(impl_.devices, contract, DecodeDevice);
  }

  Result<crypto::WrappedOfficeKey> GetOfficeKey(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn_.GetCopy(impl_.keys, contract.str()));
    if (!stored) return crypto::WrappedOfficeKey();
    auto keys = crypto::ParseWrappedOfficeKey(*stored);
    if (!keys.ok()) return Corruption("stored office key of contract " + contract.str() + " is damaged");
    return keys;
  }

  Result<uint64_t> GetLoginGeneration() override {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn_.GetCopy(impl_.meta, kLoginGenerationKey));
    if (!stored) return uint64_t{0};
    if (stored->size() != 8) return Corruption("bad login generation in " + impl_.path);
    return DecodeU64(*stored);
  }

  Result<std::optional<ContractNumber>> GetVendorContract() override {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn_.GetCopy(impl_.meta, kVendorContractKey));
    if (!stored) return std::optional<ContractNumber>();
    Result<ContractNumber> number = ContractNumber::Parse(*stored);
    if (!number.ok()) return Corruption("bad vendor contract in " + impl_.path);
    return std::optional<ContractNumber>(*number);
  }

  Result<VersionVector> GetVersionVector(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn_, impl_.vv, contract.str()));
    VersionVector out;
    for (const auto& [key, value] : entries) {
      auto origin = ReplicaId::FromBytes(std::string_view(key).substr(ContractNumber::kSize));
      if (!origin.ok() || value.size() != 8) return Corruption("bad version vector entry of " + contract.str());
      out.Advance(*origin, DecodeU64(value));
    }
    return out;
  }

  Result<std::optional<std::string>> GetChange(const ContractNumber& contract, const ReplicaId& origin,
                                               uint64_t seq) override {
    return txn_.GetCopy(impl_.changes, storage::lmdb::ChangeLogKey(contract.str(), origin, seq));
  }

  Result<std::unique_ptr<core::ChangeLogReader>> OpenChangeLog(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn_.OpenCursor(impl_.changes));
    return std::unique_ptr<core::ChangeLogReader>(
        std::make_unique<storage::lmdb::LmdbChangeLogReader>(std::move(cursor), contract.str()));
  }

 protected:
  // Devices and panel sessions are keyed contract | token hash; `decode`
  // makes a record of (token hash, value, contract).
  template <typename Record, typename Decode>
  Result<std::optional<Record>> FindByToken(Dbi dbi, const ContractNumber& contract, std::string_view token_hash,
                                            Decode decode) const {
    DAICHO_ASSIGN_OR_RETURN(auto value, txn_.GetCopy(dbi, contract.str() + std::string(token_hash)));
    if (!value) return std::optional<Record>();
    DAICHO_ASSIGN_OR_RETURN(Record record, decode(token_hash, *value, contract));
    return std::optional<Record>(std::move(record));
  }

  template <typename Record, typename Decode>
  Result<std::vector<Record>> ListByToken(Dbi dbi, const ContractNumber& contract, Decode decode) const {
    return ListDecoded<Record>(dbi, contract,
                               [&](std::string_view key, std::string_view value, const ContractNumber& owner) {
                                 return decode(key.substr(ContractNumber::kSize), value, owner);
                               });
  }

  // Every entry of the contract in `dbi`, decoded by `decode` from (key,
  // value, contract).
  template <typename Record, typename Decode>
  Result<std::vector<Record>> ListDecoded(Dbi dbi, const ContractNumber& contract, Decode decode) const {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn_, dbi, contract.str()));
    std::vector<Record> out;
    out.reserve(entries.size());
    for (const auto& [key, value] : entries) {
      DAICHO_ASSIGN_OR_RETURN(Record record, decode(key, value, contract));
      out.push_back(std::move(record));
    }
    return out;
  }

  // Whether `key` (a contract's or an account's) has a disabled mark.
  Result<bool> IsMarked(std::string_view key) const {
    DAICHO_ASSIGN_OR_RETURN(auto mark, txn_.GetCopy(impl_.disabled, key));
    return mark.has_value();
  }

  // The account under users key `key`, with its marks and last sync.
  Result<AccountRecord> ReadAccount(std::string_view key, std::string user_id, std::string hash) const {
    AccountRecord account;
    account.user_id = std::move(user_id);
    account.password_hash = std::move(hash);
    DAICHO_ASSIGN_OR_RETURN(account.disabled, IsMarked(key));
    DAICHO_ASSIGN_OR_RETURN(auto admin, txn_.GetCopy(impl_.admins, key));
    account.admin = admin.has_value();
    DAICHO_ASSIGN_OR_RETURN(auto seen, txn_.GetCopy(impl_.seen, key));
    if (seen) {
      if (seen->size() < 8) return Corruption("bad last sync of user " + account.user_id);
      account.last_sync_ms = DecodeU64(*seen);
      account.last_address = seen->substr(8);
    }
    return account;
  }

  const LmdbBackend::Impl& impl_;
  const TxnBase& txn_;
};

class LmdbReadTxn final : public LmdbReads<RelayReadTxn> {
 public:
  using LmdbReads<RelayReadTxn>::LmdbReads;
};

class LmdbWriteTxn final : public LmdbReads<RelayWriteTxn> {
 public:
  LmdbWriteTxn(const LmdbBackend::Impl& impl, WriteTxn& txn) : LmdbReads<RelayWriteTxn>(impl, txn), write_(txn) {}

  // LMDB has one writer at a time: there is nothing to lock.
  Result<bool> LockContract(const ContractNumber& contract) override {
    DAICHO_ASSIGN_OR_RETURN(auto found, write_.GetCopy(impl_.contracts, contract.str()));
    return found.has_value();
  }

  Status PutContract(const ContractNumber& contract) override {
    return write_.Put(impl_.contracts, contract.str(), "");
  }

  Status SetContractDisabled(const ContractNumber& contract, bool disabled) override {
    return SetMark(contract.str(), disabled);
  }

  Status DeleteContract(const ContractNumber& contract) override {
    // Every key of a contract starts with its 14-byte number.
    for (Dbi dbi :
         {impl_.users, impl_.disabled, impl_.devices, impl_.changes, impl_.vv, impl_.keys, impl_.admins, impl_.sessions,
          impl_.resets, impl_.audit, impl_.key_times, impl_.seen, impl_.licences, impl_.filings, impl_.payments}) {
      DAICHO_RETURN_IF_ERROR(DeletePrefix(write_, dbi, contract.str()));
    }
    return write_.Del(impl_.contracts, contract.str());
  }

  Status PutAccount(const ContractNumber& contract, std::string_view folded, const AccountRecord& account) override {
    return write_.Put(impl_.users, AccountKey(contract, folded, account.user_id), account.password_hash);
  }

  Status SetAccountDisabled(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                            bool disabled) override {
    return SetMark(AccountKey(contract, folded, user_id), disabled);
  }

  Status SetAccountAdmin(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                         bool admin) override {
    const std::string key = AccountKey(contract, folded, user_id);
    if (!admin) return DelIfPresent(write_, impl_.admins, key);
    return write_.Put(impl_.admins, key, "");
  }

  Status SetAccountLastSync(const ContractNumber& contract, std::string_view folded, std::string_view user_id,
                            uint64_t time_ms, std::string_view address) override {
    return write_.Put(impl_.seen, AccountKey(contract, folded, user_id), EncodeU64(time_ms) + std::string(address));
  }

  Status DeleteAccount(const ContractNumber& contract, std::string_view folded, std::string_view user_id) override {
    const std::string key = AccountKey(contract, folded, user_id);
    DAICHO_RETURN_IF_ERROR(write_.Del(impl_.users, key));
    for (Dbi dbi : {impl_.disabled, impl_.admins, impl_.seen, impl_.resets}) {
      DAICHO_RETURN_IF_ERROR(DelIfPresent(write_, dbi, key));
    }
    DAICHO_ASSIGN_OR_RETURN(auto sessions, ListPanelSessions(contract));
    for (const PanelSessionRecord& session : sessions) {
      if (session.user_id == user_id) DAICHO_RETURN_IF_ERROR(DeletePanelSession(contract, session.token_hash));
    }
    return Status::Ok();
  }

  Status PutDevice(const ContractNumber& contract, const DeviceRecord& device) override {
    return write_.Put(impl_.devices, contract.str() + device.token_hash, EncodeDevice(device));
  }

  Status DeleteDevice(const ContractNumber& contract, std::string_view token_hash) override {
    return write_.Del(impl_.devices, contract.str() + std::string(token_hash));
  }

  Status PutOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys) override {
    return write_.Put(impl_.keys, contract.str(), crypto::SerializeWrappedOfficeKey(keys));
  }

  Status PutOfficeKeyTimes(const ContractNumber& contract, const OfficeKeyTimes& times) override {
    return write_.Put(impl_.key_times, contract.str(), EncodeU64(times.created_ms) + EncodeU64(times.changed_ms));
  }

  Status PutPanelSession(const ContractNumber& contract, const PanelSessionRecord& session) override {
    return write_.Put(impl_.sessions, contract.str() + session.token_hash, EncodeSession(session));
  }

  Status DeletePanelSession(const ContractNumber& contract, std::string_view token_hash) override {
    return DelIfPresent(write_, impl_.sessions, contract.str() + std::string(token_hash));
  }

  Status PutResetCode(const ContractNumber& contract, std::string_view folded, const ResetCodeRecord& code) override {
    if (code.salt.size() != kResetSaltBytes || code.code_hash.size() != kResetHashBytes || code.tries_left > 255) {
      return InvalidArgument("a reset code needs a 16-byte salt, a 32-byte hash and at most 255 tries");
    }
    std::string value = code.salt + code.code_hash + EncodeU64(code.created_ms) + EncodeU64(code.expires_ms);
    value.push_back(static_cast<char>(code.tries_left));
    return write_.Put(impl_.resets, AccountKey(contract, folded, code.user_id), value);
  }

  Status DeleteResetCode(const ContractNumber& contract, std::string_view folded, std::string_view user_id) override {
    return DelIfPresent(write_, impl_.resets, AccountKey(contract, folded, user_id));
  }

  Status AppendAudit(const ContractNumber& contract, const AuditRecord& record) override {
    DAICHO_ASSIGN_OR_RETURN(std::string key, NextTimedKey(impl_.audit, contract, record.time_ms));
    DAICHO_RETURN_IF_ERROR(write_.Put(impl_.audit, key, EncodeAudit(record)));
    DAICHO_ASSIGN_OR_RETURN(uint64_t rows, AuditRows(contract));
    return write_.Put(impl_.audit, contract.str(), EncodeU64(rows + 1));
  }

  Status TrimAudit(const ContractNumber& contract, size_t keep) override {
    DAICHO_ASSIGN_OR_RETURN(uint64_t rows, AuditRows(contract));
    if (rows <= keep) return Status::Ok();
    std::vector<std::string> oldest;
    {
      DAICHO_ASSIGN_OR_RETURN(auto cursor, write_.OpenCursor(impl_.audit));
      // Past the row count, the contract's first (oldest) row.
      DAICHO_RETURN_IF_ERROR(cursor.Seek(contract.str() + std::string(1, '\0')));
      while (oldest.size() < rows - keep && cursor.valid() && cursor.key().starts_with(contract.str())) {
        oldest.emplace_back(cursor.key());
        DAICHO_RETURN_IF_ERROR(cursor.Next());
      }
    }
    for (const std::string& key : oldest) DAICHO_RETURN_IF_ERROR(write_.Del(impl_.audit, key));
    return write_.Put(impl_.audit, contract.str(), EncodeU64(rows - oldest.size()));
  }

  Status BumpLoginGeneration() override {
    DAICHO_ASSIGN_OR_RETURN(uint64_t generation, GetLoginGeneration());
    return write_.Put(impl_.meta, kLoginGenerationKey, EncodeU64(generation + 1));
  }

  Status SetVendorContract(const ContractNumber& contract) override {
    return write_.Put(impl_.meta, kVendorContractKey, contract.str());
  }

  Status AppendChanges(const ContractNumber& contract, std::span<const ChangeBlob* const> changes,
                       const VersionVector& advanced) override {
    for (const ChangeBlob* blob : changes) {
      DAICHO_RETURN_IF_ERROR(write_.Put(
          impl_.changes, storage::lmdb::ChangeLogKey(contract.str(), blob->origin, blob->seq), blob->payload));
    }
    for (const auto& entry : advanced.entries()) {
      DAICHO_RETURN_IF_ERROR(write_.Put(impl_.vv, VvKey(contract, entry.replica), EncodeU64(entry.counter)));
    }
    return Status::Ok();
  }

  Status PutLicence(const ContractNumber& contract, const entitlements::Licence& licence) override {
    return write_.Put(impl_.licences, contract.str(), EncodeLicence(licence));
  }

  Status DeleteLicence(const ContractNumber& contract) override {
    return DelIfPresent(write_, impl_.licences, contract.str());
  }

  Result<bool> PutFiling(const ContractNumber& contract, const FilingRecord& filing) override {
    const std::string key = FilingKey(contract, filing);
    DAICHO_ASSIGN_OR_RETURN(auto present, write_.GetCopy(impl_.filings, key));
    if (present) return false;
    DAICHO_RETURN_IF_ERROR(write_.Put(impl_.filings, key, EncodeU64(filing.imported_ms)));
    return true;
  }

  Status AppendPayment(const ContractNumber& contract, const PaymentRecord& payment) override {
    DAICHO_ASSIGN_OR_RETURN(std::string key, NextTimedKey(impl_.payments, contract, payment.time_ms));
    return write_.Put(impl_.payments, key, EncodePayment(payment));
  }

 private:
  // The key of a row appended at `time_ms` to a timed database (audit,
  // payments): after the last row of the same millisecond, if any.
  Result<std::string> NextTimedKey(Dbi dbi, const ContractNumber& contract, uint64_t time_ms) {
    const std::string millisecond = contract.str() + EncodeU64(time_ms);
    DAICHO_ASSIGN_OR_RETURN(auto same, ScanPrefix(write_, dbi, millisecond));
    uint32_t sequence = 0;
    if (!same.empty()) sequence = static_cast<uint32_t>(DecodeU64(same.back().first.substr(millisecond.size()))) + 1;
    return millisecond + EncodeU64(sequence).substr(4);
  }

  Result<uint64_t> AuditRows(const ContractNumber& contract) {
    DAICHO_ASSIGN_OR_RETURN(auto stored, write_.GetCopy(impl_.audit, contract.str()));
    if (!stored) return uint64_t{0};
    if (stored->size() != 8) return Corruption("bad audit row count of contract " + contract.str());
    return DecodeU64(*stored);
  }

  Status SetMark(std::string_view key, bool marked) {
    if (!marked) return DelIfPresent(write_, impl_.disabled, key);
    return write_.Put(impl_.disabled, key, "");
  }

  WriteTxn& write_;
};

}  // namespace

LmdbBackend::LmdbBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LmdbBackend::~LmdbBackend() = default;

Status LmdbBackend::Read(const std::function<Status(RelayReadTxn&)>& fn) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  LmdbReadTxn relay_txn(*impl_, txn);
  return fn(relay_txn);
}

Status LmdbBackend::Write(const std::function<Status(RelayWriteTxn&)>& fn) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    LmdbWriteTxn relay_txn(*impl_, txn);
    return fn(relay_txn);
  });
}

Result<std::shared_ptr<LmdbBackend>> LmdbBackend::Open(const std::string& dir, const LmdbBackendOptions& options) {
  storage::lmdb::StoreDirectoryOptions dir_options;
  dir_options.what = "relay store";
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.verify_on_open = options.verify_on_open;
  dir_options.env.max_dbs = 24;
  dir_options.env.map_size = options.initial_map_bytes;
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::OpenedStore opened, storage::lmdb::OpenStoreDirectory(dir, dir_options));
  const bool creating = opened.created;
  auto impl = std::make_unique<Impl>(dir, std::move(opened.env));

  // A foreign LMDB environment (a replica, anything else) has no relay schema
  // marker: refuse it before creating any database in it.
  if (!creating) {
    DAICHO_ASSIGN_OR_RETURN(auto schema, storage::lmdb::ReadSchemaMarker(impl->env));
    if (!schema) {
      // The schema key is written right after the databases are created; a
      // store without it is foreign, or its creation was cut off.
      return InvalidArgument(dir +
                             " is an LMDB database but not a daicho relay store (if creating it was "
                             "interrupted, remove the directory and create it again)");
    }
    if (*schema == kPlaintextRelaySchema) {
      return Status(Code::kFailedPrecondition,
                    dir +
                        " is a relay store from before end-to-end encryption (its changes are plaintext): "
                        "move it aside and create a new one; the offices' PCs upload everything again");
    }
    if (SchemaVersion(*schema) == 0) {
      return InvalidArgument(dir + " is an LMDB database but not a daicho relay store (format '" + *schema +
                             "', expected '" + std::string(kRelaySchema) + "')");
    }
  }
  const std::pair<const char*, Dbi*> dbis[] = {{"meta", &impl->meta},       {"contracts", &impl->contracts},
                                               {"users", &impl->users},     {"disabled", &impl->disabled},
                                               {"devices", &impl->devices}, {"changes", &impl->changes},
                                               {"vv", &impl->vv},           {"keys", &impl->keys}};
  // Added by v5: opening an older store creates them empty.
  const std::pair<const char*, Dbi*> v5_dbis[] = {{"admins", &impl->admins},       {"sessions", &impl->sessions},
                                                  {"resets", &impl->resets},       {"audit", &impl->audit},
                                                  {"key_times", &impl->key_times}, {"seen", &impl->seen}};
  // Added by v6.
  const std::pair<const char*, Dbi*> v6_dbis[] = {
      {"licences", &impl->licences}, {"filings", &impl->filings}, {"payments", &impl->payments}};
  using DbiList = std::span<const std::pair<const char*, Dbi*>>;
  for (DbiList list : {DbiList(dbis), DbiList(v5_dbis), DbiList(v6_dbis)}) {
    for (const auto& [name, handle] : list) {
      auto opened = impl->env.OpenDbi(name, /*create=*/true);
      if (!opened.ok()) return opened.status().WithContext("opening " + dir);
      *handle = *opened;
    }
  }
  if (creating) {
    DAICHO_RETURN_IF_ERROR(
        impl->writer.Run([&](WriteTxn& txn) { return txn.Put(impl->meta, kSchemaKey, kRelaySchema); }));
  } else {
    // Checked again inside the write: two processes may open an old store
    // at once. All steps commit together, or none.
    Status upgraded = impl->writer.Run([&](WriteTxn& txn) -> Status {
      DAICHO_ASSIGN_OR_RETURN(auto schema, txn.GetCopy(impl->meta, kSchemaKey));
      if (!schema || *schema == kRelaySchema) return Status::Ok();
      const int version = SchemaVersion(*schema);
      if (version <= 2) DAICHO_RETURN_IF_ERROR(impl->UpgradeFromV2(txn));
      if (version <= 3) DAICHO_RETURN_IF_ERROR(impl->UpgradeFromV3(txn));
      if (version <= 4) DAICHO_RETURN_IF_ERROR(impl->UpgradeFromV4(txn));
      // v5 -> v6 only adds databases, created empty above.
      return txn.Put(impl->meta, kSchemaKey, kRelaySchema);
    });
    if (!upgraded.ok()) return upgraded.WithContext("upgrading " + dir + " to " + std::string(kRelaySchema));
  }
  return std::shared_ptr<LmdbBackend>(new LmdbBackend(std::move(impl)));
}

}  // namespace daicho::relay
