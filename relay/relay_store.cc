#include "relay/relay_store.h"

#include <algorithm>
#include <optional>
#include <shared_mutex>
#include <tuple>
#include <utility>

#include "crypto/sealed_change.h"
#include "relay/password.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "storage/lmdb/growing_writer.h"
#include "storage/lmdb/store_directory.h"

namespace daicho::relay {
namespace {

using storage::lmdb::Dbi;
using storage::lmdb::ReadTxn;
using storage::lmdb::WriteTxn;

using storage::lmdb::kSchemaKey;
// v2: changes are sealed by the PCs (end-to-end encryption) and each
// contract has its office key envelopes. A v1 store holds plaintext changes.
// v3: user ids keyed case-folded, devices identified by their replica id,
// the login generation (an upgrade of v2 is done at open, UpgradeFromV2).
// v4: disabled contracts and users, each device's last sync and address
// (UpgradeFromV3). A relay binary older than v4 refuses a v4 store, so it
// cannot serve a contract this one disabled.
constexpr std::string_view kRelaySchema = "daicho-relay-v4";
constexpr std::string_view kRelaySchemaV3 = "daicho-relay-v3";
constexpr std::string_view kRelaySchemaV2 = "daicho-relay-v2";
constexpr std::string_view kPlaintextRelaySchema = "daicho-relay-v1";
constexpr std::string_view kLoginGenerationKey = "logins";
constexpr size_t kReplicaIdBytes = sizeof(ReplicaId::Bytes);
constexpr size_t kShortIdDigits = 8;
constexpr size_t kMaxDeviceNameBytes = 100;
// A device's last sync is recorded to about this precision: PCs syncing
// more often from one address do not each cost a write.
constexpr uint64_t kDeviceSyncResolutionMs = 60'000;

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t DecodeU64(std::string_view b) {
  uint64_t v = 0;
  for (char c : b.substr(0, 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// Keys of the users database: all spellings of one id share the prefix.
std::string AccountPrefix(const ContractNumber& contract, std::string_view user_id) {
  std::string prefix = contract.str() + FoldUserId(user_id);
  prefix.push_back('\0');
  return prefix;
}

std::string AccountKey(const ContractNumber& contract, std::string_view user_id) {
  return AccountPrefix(contract, user_id) + std::string(user_id);
}

// Throttling counts failures per account, whatever the spelling, and per
// password: the tail of the stored hash (salted afresh by every password
// change) is part of the key, so a new password, set by `user passwd` in
// another process too, starts a fresh count.
std::string ThrottleKey(const ContractNumber& contract, std::string_view user_id, std::string_view hash) {
  constexpr size_t kStampChars = 16;
  const std::string_view stamp = hash.substr(hash.size() - std::min(hash.size(), kStampChars));
  return contract.str() + FoldUserId(user_id) + '\0' + std::string(stamp);
}

std::string EncodeDevice(const ReplicaId& replica, std::string_view user_id, std::string_view name,
                         uint64_t last_sync_ms, std::string_view last_address) {
  std::string value(replica.AsStringView());
  value.append(user_id);
  value.push_back('\0');
  value.append(name);
  value.push_back('\0');
  value.append(EncodeU64(last_sync_ms));
  value.append(last_address);
  return value;
}

bool IsHexDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

std::string ChangeKey(const ContractNumber& contract, const ReplicaId& origin, uint64_t seq) {
  return contract.str() + std::string(origin.AsStringView()) + EncodeU64(seq);
}

std::string VvKey(const ContractNumber& contract, const ReplicaId& origin) {
  return contract.str() + std::string(origin.AsStringView());
}

Status CheckDeviceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameBytes || name.find('\0') != std::string_view::npos) {
    return InvalidArgument("a device name must be 1-" + std::to_string(kMaxDeviceNameBytes) + " bytes without NUL");
  }
  return Status::Ok();
}

Status Unauthenticated() { return Status(Code::kUnauthenticated, "wrong contract number, user id or password"); }
Status UnknownDeviceToken() { return Status(Code::kUnauthenticated, "unknown, revoked or replaced device token"); }

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

}  // namespace

struct RelayStore::Impl {
  std::string path;
  RelayStoreOptions options;
  storage::lmdb::Env env;
  Dbi meta, contracts, users, disabled, devices, changes, vv, keys;

  storage::lmdb::GrowingWriter writer;

  LoginThrottle throttle;
  PasswordGate password_gate;

  static RelayStoreOptions WithClock(RelayStoreOptions o) {
    if (!o.clock) o.clock = SystemClock();
    return o;
  }

  Impl(std::string p, const RelayStoreOptions& o, storage::lmdb::Env e)
      : path(std::move(p)),
        options(WithClock(o)),
        env(std::move(e)),
        writer(env),
        throttle(options.throttle, options.clock),
        password_gate(options.password_checks) {}

  Status RequireContract(const storage::lmdb::TxnBase& txn, const ContractNumber& contract) const {
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(contracts, contract.str()));
    if (!found) return NotFound("no contract " + contract.str());
    return Status::Ok();
  }

  struct Account {
    std::string key;      // in `users`
    std::string user_id;  // as added
    std::string hash;
  };

  // The account `user_id` names: the one id that folds equal to it, or,
  // among ids folding equal (case conflicts kept from before v3), the one
  // spelled exactly so. nullopt if none.
  Result<std::optional<Account>> FindAccount(const storage::lmdb::TxnBase& txn, const ContractNumber& contract,
                                             std::string_view user_id) const {
    const std::string prefix = AccountPrefix(contract, user_id);
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn, users, prefix));
    for (auto& [key, hash] : entries) {
      std::string exact = key.substr(prefix.size());
      if (entries.size() == 1 || exact == user_id) {
        return std::optional<Account>(Account{std::move(key), std::move(exact), std::move(hash)});
      }
    }
    return std::optional<Account>();
  }

  Result<Account> RequireAccount(const storage::lmdb::TxnBase& txn, const ContractNumber& contract,
                                 std::string_view user_id) const {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, contract, user_id));
    if (!account) return NotFound("no user " + std::string(user_id) + " in contract " + contract.str());
    return *std::move(account);
  }

  struct DeviceEntry {
    std::string key;  // in `devices`
    ReplicaId replica;
    std::string user_id;  // the account's id as added
    std::string name;
    uint64_t last_sync_ms = 0;
    std::string last_address;

    std::string Encode() const { return EncodeDevice(replica, user_id, name, last_sync_ms, last_address); }
  };

  static Result<DeviceEntry> DecodeDevice(std::string key, std::string_view value, const ContractNumber& contract) {
    const size_t user_end = value.find('\0', kReplicaIdBytes);
    const size_t name_end = user_end == std::string_view::npos ? user_end : value.find('\0', user_end + 1);
    if (value.size() < kReplicaIdBytes || name_end == std::string_view::npos || value.size() < name_end + 9) {
      return Corruption("bad device entry in contract " + contract.str());
    }
    ReplicaId::Bytes bytes{};
    std::copy_n(value.begin(), kReplicaIdBytes, bytes.begin());
    return DeviceEntry{std::move(key),
                       ReplicaId(bytes),
                       std::string(value.substr(kReplicaIdBytes, user_end - kReplicaIdBytes)),
                       std::string(value.substr(user_end + 1, name_end - user_end - 1)),
                       DecodeU64(value.substr(name_end + 1, 8)),
                       std::string(value.substr(name_end + 9))};
  }

  // kPermissionDenied if the contract or the account (its users key) is
  // disabled. Asked only after the credentials proved right, so a refusal
  // tells nothing to someone guessing.
  Status RequireEnabled(const storage::lmdb::TxnBase& txn, const ContractNumber& contract,
                        const std::string& account_key, std::string_view user_id) const {
    DAICHO_ASSIGN_OR_RETURN(auto contract_off, txn.GetCopy(disabled, contract.str()));
    if (contract_off) {
      return Status(Code::kPermissionDenied,
                    "contract " + contract.str() + " is disabled on this relay (its data is kept): ask the vendor");
    }
    DAICHO_ASSIGN_OR_RETURN(auto user_off, txn.GetCopy(disabled, account_key));
    if (user_off) {
      return Status(Code::kPermissionDenied, "user " + std::string(user_id) + " of contract " + contract.str() +
                                                 " is disabled on this relay: ask the vendor");
    }
    return Status::Ok();
  }

  // The devices of the account with id `user_id` (exact, as added).
  Result<std::vector<DeviceEntry>> AccountDevices(const storage::lmdb::TxnBase& txn, const ContractNumber& contract,
                                                  std::string_view user_id) const {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn, devices, contract.str()));
    std::vector<DeviceEntry> out;
    for (auto& [key, value] : entries) {
      DAICHO_ASSIGN_OR_RETURN(DeviceEntry device, DecodeDevice(std::move(key), value, contract));
      if (device.user_id == user_id) out.push_back(std::move(device));
    }
    return out;
  }

  Result<uint64_t> ReadLoginGeneration(const storage::lmdb::TxnBase& txn) const {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetCopy(meta, kLoginGenerationKey));
    if (!stored) return uint64_t{0};
    if (stored->size() != 8) return Corruption("bad login generation in " + path);
    return DecodeU64(*stored);
  }

  // In every write transaction that ends logins: serving processes see the
  // counter move and recheck their sessions (RelayStore::LoginGeneration).
  Status BumpLoginGeneration(WriteTxn& txn) {
    DAICHO_ASSIGN_OR_RETURN(uint64_t generation, ReadLoginGeneration(txn));
    return txn.Put(meta, kLoginGenerationKey, EncodeU64(generation + 1));
  }

  // Revokes all the tokens of the account `user_id` (exact); whether any was.
  Result<bool> RevokeAccountDevices(WriteTxn& txn, const ContractNumber& contract, std::string_view user_id) {
    DAICHO_ASSIGN_OR_RETURN(auto owned, AccountDevices(txn, contract, user_id));
    for (const DeviceEntry& device : owned) DAICHO_RETURN_IF_ERROR(txn.Del(devices, device.key));
    return !owned.empty();
  }

  // v2 -> v3 in one write transaction: user keys gain their folded prefix,
  // device entries a zero replica id (bound at their next use). Ids that fold
  // equal stay separate accounts (CaseConflicts reports them).
  Status UpgradeFromV2(WriteTxn& txn) {
    DAICHO_ASSIGN_OR_RETURN(auto old_users, ScanPrefix(txn, users, ""));
    for (const auto& [key, hash] : old_users) {
      if (key.size() <= ContractNumber::kSize) return Corruption("bad user entry in " + path);
      DAICHO_ASSIGN_OR_RETURN(ContractNumber contract, ContractNumber::Parse(key.substr(0, ContractNumber::kSize)));
      DAICHO_RETURN_IF_ERROR(txn.Del(users, key));
      DAICHO_RETURN_IF_ERROR(txn.Put(users, AccountKey(contract, key.substr(ContractNumber::kSize)), hash));
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

  // The contract's office key envelopes; empty (id 0) before `key init`.
  Result<crypto::WrappedOfficeKey> ReadOfficeKey(const storage::lmdb::TxnBase& txn,
                                                 const ContractNumber& contract) const {
    DAICHO_ASSIGN_OR_RETURN(auto stored, txn.GetCopy(keys, contract.str()));
    if (!stored) return crypto::WrappedOfficeKey();
    auto keys = crypto::ParseWrappedOfficeKey(*stored);
    if (!keys.ok()) return Corruption("stored office key of contract " + contract.str() + " is damaged");
    return keys;
  }

  // Entries of `dbi` whose key starts with `prefix`, in key order.
  static Result<std::vector<std::pair<std::string, std::string>>> ScanPrefix(const storage::lmdb::TxnBase& txn, Dbi dbi,
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

  Result<VersionVector> ReadVv(const storage::lmdb::TxnBase& txn, const ContractNumber& contract) const {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn, vv, contract.str()));
    VersionVector out;
    for (const auto& [key, value] : entries) {
      auto origin = ReplicaId::FromBytes(std::string_view(key).substr(ContractNumber::kSize));
      if (!origin.ok() || value.size() != 8) return Corruption("bad version vector entry of " + contract.str());
      out.Advance(*origin, DecodeU64(value));
    }
    return out;
  }
};

namespace {

// One contract's changes. Holds the store's internals alive.
class ContractChangeStore final : public net::ChangeStore {
 public:
  ContractChangeStore(std::shared_ptr<RelayStore::Impl> impl, ContractNumber contract)
      : impl_(std::move(impl)), contract_(std::move(contract)) {}

  Result<VersionVector> GetVersionVector() override {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    return impl_->ReadVv(txn, contract_);
  }

  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    // The VV and the changes come from one snapshot, so they agree.
    DAICHO_ASSIGN_OR_RETURN(VersionVector held, impl_->ReadVv(txn, contract_));
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->changes));
    std::vector<ChangeBlob> out;
    size_t bytes = 0;
    for (const auto& entry : held.entries()) {
      const uint64_t first = other.Get(entry.replica) + 1;
      const uint64_t last = upto ? std::min(entry.counter, upto->Get(entry.replica)) : entry.counter;
      if (first > last) continue;
      const std::string prefix = VvKey(contract_, entry.replica);
      DAICHO_RETURN_IF_ERROR(cursor.Seek(ChangeKey(contract_, entry.replica, first)));
      for (uint64_t expect = first; expect <= last; ++expect) {
        if (!cursor.valid() || !cursor.key().starts_with(prefix) || cursor.key().size() != prefix.size() + 8 ||
            DecodeU64(cursor.key().substr(prefix.size())) != expect) {
          return Corruption("relay change log of " + contract_.str() + " lacks " + entry.replica.ToHex() + ":" +
                            std::to_string(expect));
        }
        if (!out.empty() && bytes + cursor.value().size() > max_bytes) return out;
        bytes += cursor.value().size();
        out.push_back(ChangeBlob{entry.replica, expect, std::string(cursor.value())});
        DAICHO_RETURN_IF_ERROR(cursor.Next());
      }
    }
    return out;
  }

  Status Apply(std::span<const ChangeBlob> changes) override {
    for (const ChangeBlob& blob : changes) {
      if (blob.origin.IsZero() || blob.seq == 0) {
        return Status(Code::kProtocolError, "a change needs a non-zero origin and a seq >= 1");
      }
      if (blob.payload.size() > impl_->options.max_change_bytes) {
        return Status(Code::kResourceExhausted, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                    " has " + std::to_string(blob.payload.size()) +
                                                    " bytes, more than the limit of " +
                                                    std::to_string(impl_->options.max_change_bytes));
      }
    }
    std::vector<size_t> order(changes.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(changes[a].origin, changes[a].seq) < std::tie(changes[b].origin, changes[b].seq);
    });
    Status status = impl_->writer.Run([&](WriteTxn& txn) -> Status {
      // A handle must not write keys of a contract removed meanwhile.
      DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract_));
      DAICHO_ASSIGN_OR_RETURN(VersionVector held_vv, impl_->ReadVv(txn, contract_));
      crypto::KeyId current_key = 0;
      if (impl_->options.require_sealed_changes) {
        DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey office_key, impl_->ReadOfficeKey(txn, contract_));
        if (office_key.empty()) {
          return Status(Code::kFailedPrecondition,
                        "the office key is not set up: run `daicho key init` on the office's first PC");
        }
        current_key = office_key.current_key_id;
      }
      VersionVector new_vv = held_vv;
      for (size_t index : order) {
        const ChangeBlob& blob = changes[index];
        const uint64_t held = new_vv.Get(blob.origin);
        if (blob.seq <= held) {
          // Two different changes under one dot mean a replica id was reused.
          // Sealed payloads of one change differ (random nonces), so only the
          // PCs, which see plaintext, can tell; unsealed ones are compared here.
          if (current_key != 0) continue;
          DAICHO_ASSIGN_OR_RETURN(auto stored,
                                  txn.GetCopy(impl_->changes, ChangeKey(contract_, blob.origin, blob.seq)));
          if (stored && *stored != blob.payload) {
            return Status(Code::kProtocolError, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                    " differs from the one the relay holds");
          }
          continue;
        }
        if (blob.seq != held + 1) {
          return Status(Code::kProtocolError, "gap: change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                  " arrived but " + std::to_string(held + 1) + " is missing");
        }
        if (current_key != 0) {
          // Only ciphertext under the current key: a PC that missed a
          // rotation (or was lost and still holds the old key) is refused.
          auto sealed_under = crypto::SealedKeyId(blob.payload);
          if (!sealed_under.ok()) {
            return Status(Code::kFailedPrecondition, "change " + blob.origin.ToHex() + ":" + std::to_string(blob.seq) +
                                                         " is not sealed with the office key; the relay "
                                                         "stores only encrypted changes");
          }
          if (*sealed_under != current_key) {
            return Status(Code::kFailedPrecondition, "changes must be sealed under the current office key " +
                                                         std::to_string(current_key) + ", not key " +
                                                         std::to_string(*sealed_under) +
                                                         ": unlock the current key on this PC (daicho key unlock)");
          }
        }
        DAICHO_RETURN_IF_ERROR(txn.Put(impl_->changes, ChangeKey(contract_, blob.origin, blob.seq), blob.payload));
        new_vv.Advance(blob.origin, blob.seq);
      }
      for (const auto& entry : new_vv.entries()) {
        if (entry.counter == held_vv.Get(entry.replica)) continue;
        DAICHO_RETURN_IF_ERROR(txn.Put(impl_->vv, VvKey(contract_, entry.replica), EncodeU64(entry.counter)));
      }
      return Status::Ok();
    });
    if (!status.ok()) return status.WithContext("storing changes of contract " + contract_.str());
    return Status::Ok();
  }

 private:
  std::shared_ptr<RelayStore::Impl> impl_;
  const ContractNumber contract_;
};

}  // namespace

RelayStore::RelayStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RelayStore::~RelayStore() = default;

const std::string& RelayStore::path() const { return impl_->path; }

PasswordGate& RelayStore::TEST_password_gate() { return impl_->password_gate; }

Result<std::unique_ptr<RelayStore>> RelayStore::Open(const std::string& dir, const RelayStoreOptions& options) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  storage::lmdb::StoreDirectoryOptions dir_options;
  dir_options.what = "relay store";
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.verify_on_open = options.verify_on_open;
  dir_options.env.max_dbs = 12;
  dir_options.env.map_size = options.initial_map_bytes;
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::OpenedStore opened, storage::lmdb::OpenStoreDirectory(dir, dir_options));
  const bool creating = opened.created;
  auto impl = std::make_shared<Impl>(dir, options, std::move(opened.env));

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
    if (*schema != kRelaySchema && *schema != kRelaySchemaV3 && *schema != kRelaySchemaV2) {
      return InvalidArgument(dir + " is an LMDB database but not a daicho relay store (format '" + *schema +
                             "', expected '" + std::string(kRelaySchema) + "')");
    }
  }
  const std::pair<const char*, Dbi*> dbis[] = {{"meta", &impl->meta},       {"contracts", &impl->contracts},
                                               {"users", &impl->users},     {"disabled", &impl->disabled},
                                               {"devices", &impl->devices}, {"changes", &impl->changes},
                                               {"vv", &impl->vv},           {"keys", &impl->keys}};
  for (const auto& [name, handle] : dbis) {
    auto opened = impl->env.OpenDbi(name, /*create=*/true);
    if (!opened.ok()) return opened.status().WithContext("opening " + dir);
    *handle = *opened;
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
      if (*schema == kRelaySchemaV2) DAICHO_RETURN_IF_ERROR(impl->UpgradeFromV2(txn));
      DAICHO_RETURN_IF_ERROR(impl->UpgradeFromV3(txn));
      return txn.Put(impl->meta, kSchemaKey, kRelaySchema);
    });
    if (!upgraded.ok()) return upgraded.WithContext("upgrading " + dir + " to " + std::string(kRelaySchema));
  }
  return std::unique_ptr<RelayStore>(new RelayStore(std::move(impl)));
}

Status RelayStore::AddContract(const ContractNumber& contract) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(impl_->contracts, contract.str()));
    if (found) return Status(Code::kAlreadyExists, "contract " + contract.str() + " already exists");
    return txn.Put(impl_->contracts, contract.str(), "");
  });
}

Result<crypto::WrappedOfficeKey> RelayStore::GetOfficeKey(const ContractNumber& contract) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  return impl_->ReadOfficeKey(txn, contract);
}

Status RelayStore::PublishOfficeKey(const ContractNumber& contract, const crypto::WrappedOfficeKey& keys,
                                    crypto::KeyId replaces_key_id) {
  if (keys.empty() || keys.passphrase_wrapped.empty() || keys.recovery_wrapped.empty()) {
    return InvalidArgument("an office key needs a key id and both envelopes");
  }
  // The same id re-wraps the current key (a new passphrase); a higher id is
  // a rotation: the next one, or further when a PC holds keys newer than a
  // relay restored from an older backup. A lower id would strand PCs
  // holding the current key.
  if (keys.current_key_id < replaces_key_id) {
    return InvalidArgument("office key " + std::to_string(keys.current_key_id) + " cannot replace key " +
                           std::to_string(replaces_key_id));
  }
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey stored, impl_->ReadOfficeKey(txn, contract));
    if (stored.current_key_id != replaces_key_id) {
      return Status(Code::kFailedPrecondition, stored.empty()
                                                   ? std::string("the office key is not set up yet")
                                                   : "the office key changed meanwhile (the relay now has key " +
                                                         std::to_string(stored.current_key_id) + "): unlock it first");
    }
    return txn.Put(impl_->keys, contract.str(), crypto::SerializeWrappedOfficeKey(keys));
  });
}

Result<std::vector<RelayStore::ContractInfo>> RelayStore::ListContracts() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto numbers, Impl::ScanPrefix(txn, impl_->contracts, ""));
  std::vector<ContractInfo> out;
  for (const auto& entry : numbers) {
    DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(entry.first));
    ContractInfo info{number};
    DAICHO_ASSIGN_OR_RETURN(auto off, txn.GetCopy(impl_->disabled, number.str()));
    info.disabled = off.has_value();
    DAICHO_ASSIGN_OR_RETURN(auto users, Impl::ScanPrefix(txn, impl_->users, number.str()));
    info.users = users.size();
    DAICHO_ASSIGN_OR_RETURN(auto devices, Impl::ScanPrefix(txn, impl_->devices, number.str()));
    info.devices = devices.size();
    DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey keys, impl_->ReadOfficeKey(txn, number));
    info.key_id = keys.current_key_id;
    out.push_back(std::move(info));
  }
  return out;
}

Status RelayStore::SetContractDisabled(const ContractNumber& contract, bool disabled) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    if (!disabled) return DelIfPresent(txn, impl_->disabled, contract.str());
    DAICHO_RETURN_IF_ERROR(txn.Put(impl_->disabled, contract.str(), ""));
    return impl_->BumpLoginGeneration(txn);
  });
}

Status RelayStore::RemoveContract(const ContractNumber& contract) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto off, txn.GetCopy(impl_->disabled, contract.str()));
    if (!off) {
      return Status(Code::kFailedPrecondition, "contract " + contract.str() +
                                                   " is not disabled: disable it first (its PCs' sessions end), "
                                                   "then remove it");
    }
    // Every key of a contract starts with its 14-byte number.
    for (Dbi dbi : {impl_->users, impl_->disabled, impl_->devices, impl_->changes, impl_->vv, impl_->keys}) {
      DAICHO_RETURN_IF_ERROR(DeletePrefix(txn, dbi, contract.str()));
    }
    DAICHO_RETURN_IF_ERROR(txn.Del(impl_->contracts, contract.str()));
    return impl_->BumpLoginGeneration(txn);
  });
}

Result<bool> RelayStore::HasContract(const ContractNumber& contract) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(impl_->contracts, contract.str()));
  return found.has_value();
}

Status RelayStore::AddUser(const ContractNumber& contract, std::string_view user_id, std::string_view password) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(ValidatePassword(password));
  const std::string prefix = AccountPrefix(contract, user_id);
  // Fails fast before the slow hash; checked again in the write below.
  auto check = [&](const storage::lmdb::TxnBase& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto existing, Impl::ScanPrefix(txn, impl_->users, prefix));
    if (existing.empty()) return Status::Ok();
    const std::string as = existing.front().first.substr(prefix.size());
    return Status(
        Code::kAlreadyExists,
        "user " + std::string(user_id) + " already exists in contract " + contract.str() +
            (as == user_id ? std::string() : " as " + as + " (user ids are the same whatever the letter case)"));
  };
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_RETURN_IF_ERROR(check(txn));
  }
  DAICHO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(check(txn));
    return txn.Put(impl_->users, AccountKey(contract, user_id), hash);
  });
}

Status RelayStore::SetPassword(const ContractNumber& contract, std::string_view user_id, std::string_view password) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(ValidatePassword(password));
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_RETURN_IF_ERROR(impl_->RequireAccount(txn, contract, user_id).status());
  }
  DAICHO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  DAICHO_RETURN_IF_ERROR(impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_RETURN_IF_ERROR(txn.Put(impl_->users, account.key, hash));
    // A new password signs the user out everywhere (it is what an operator
    // does when a password may be known to someone else).
    DAICHO_RETURN_IF_ERROR(impl_->RevokeAccountDevices(txn, contract, account.user_id).status());
    return impl_->BumpLoginGeneration(txn);
  }));
  return Status::Ok();
}

Status RelayStore::RemoveUser(const ContractNumber& contract, std::string_view user_id) {
  DAICHO_RETURN_IF_ERROR(impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_RETURN_IF_ERROR(txn.Del(impl_->users, account.key));
    DAICHO_RETURN_IF_ERROR(DelIfPresent(txn, impl_->disabled, account.key));
    DAICHO_RETURN_IF_ERROR(impl_->RevokeAccountDevices(txn, contract, account.user_id).status());
    return impl_->BumpLoginGeneration(txn);
  }));
  return Status::Ok();
}

Result<std::vector<std::string>> RelayStore::ListUsers(const ContractNumber& contract) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto entries, Impl::ScanPrefix(txn, impl_->users, contract.str()));
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (const auto& entry : entries) {
    const size_t sep = entry.first.find('\0', ContractNumber::kSize);
    if (sep == std::string::npos) return Corruption("bad user entry in contract " + contract.str());
    out.push_back(entry.first.substr(sep + 1));
  }
  return out;
}

Status RelayStore::SetUserDisabled(const ContractNumber& contract, std::string_view user_id, bool disabled) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    if (!disabled) return DelIfPresent(txn, impl_->disabled, account.key);
    DAICHO_RETURN_IF_ERROR(txn.Put(impl_->disabled, account.key, ""));
    return impl_->BumpLoginGeneration(txn);
  });
}

Result<std::vector<std::string>> RelayStore::DisabledUsers(const ContractNumber& contract) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto entries, Impl::ScanPrefix(txn, impl_->disabled, contract.str()));
  std::vector<std::string> out;
  for (const auto& entry : entries) {
    const size_t sep = entry.first.find('\0', ContractNumber::kSize);
    if (sep != std::string::npos) out.push_back(entry.first.substr(sep + 1));  // the contract's own mark has none
  }
  return out;
}

Result<std::vector<RelayStore::CaseConflict>> RelayStore::CaseConflicts() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto entries, Impl::ScanPrefix(txn, impl_->users, ""));
  std::vector<CaseConflict> out;
  std::string group_prefix;
  std::vector<std::string> group;
  auto close_group = [&]() -> Status {
    if (group.size() > 1) {
      DAICHO_ASSIGN_OR_RETURN(ContractNumber contract,
                              ContractNumber::Parse(group_prefix.substr(0, ContractNumber::kSize)));
      out.push_back(CaseConflict{contract, std::move(group)});
    }
    group.clear();
    return Status::Ok();
  };
  for (const auto& [key, hash] : entries) {
    const size_t sep = key.find('\0', ContractNumber::kSize);
    if (sep == std::string::npos) return Corruption("bad user entry in " + impl_->path);
    if (key.compare(0, sep + 1, group_prefix) != 0) {
      DAICHO_RETURN_IF_ERROR(close_group());
      group_prefix = key.substr(0, sep + 1);
    }
    group.push_back(key.substr(sep + 1));
  }
  DAICHO_RETURN_IF_ERROR(close_group());
  return out;
}

Result<RelayStore::PasswordLogin> RelayStore::LogIn(const ContractNumber& contract, std::string_view user_id,
                                                    std::string_view password, std::string_view peer_address) {
  // A malformed id names no account: refuse it without hashing (the id
  // rules are public, so this says nothing) and without an account entry
  // (an arbitrarily long id must not be kept in memory); the address counts.
  if (!ValidateUserId(user_id).ok()) {
    DAICHO_RETURN_IF_ERROR(impl_->throttle.Check({}, peer_address));
    impl_->throttle.RecordFailure({}, peer_address);
    return Unauthenticated();
  }
  std::optional<Impl::Account> account;
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(auto has_contract, txn.GetCopy(impl_->contracts, contract.str()));
    if (has_contract) {
      DAICHO_ASSIGN_OR_RETURN(account, impl_->FindAccount(txn, contract, user_id));
    }
  }
  const std::string throttle_key = ThrottleKey(contract, user_id, account ? account->hash : std::string());
  // Refused here, a throttled login does not even wait for a gate slot.
  DAICHO_RETURN_IF_ERROR(impl_->throttle.Check(throttle_key, peer_address));
  // The read transaction has ended: the slow verify holds nothing but its
  // gate slot. An unknown contract or user is verified against a dummy hash,
  // through the same gate, so that its refusal costs what a wrong
  // password's does.
  bool match = false;
  {
    DAICHO_ASSIGN_OR_RETURN(PasswordGate::Slot slot, impl_->password_gate.Enter());
    // Asked again with the slot held: guesses sent in parallel waited here
    // while the earlier ones failed, and are throttled as a sequence is.
    DAICHO_RETURN_IF_ERROR(impl_->throttle.Check(throttle_key, peer_address));
    match = VerifyPassword(account ? account->hash : DummyPasswordHash(), password) && account.has_value();
    // Counted before the slot is given back, so the check it lets in next
    // sees this failure.
    if (!match) impl_->throttle.RecordFailure(throttle_key, peer_address);
  }
  if (!match) return Unauthenticated();
  impl_->throttle.RecordSuccess(throttle_key);
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_RETURN_IF_ERROR(impl_->RequireEnabled(txn, contract, account->key, account->user_id));
  }
  // The hash is salted afresh by every password change: it stamps this one.
  return PasswordLogin{std::move(account->user_id), std::move(account->hash)};
}

Status RelayStore::CheckPasswordLogin(const ContractNumber& contract, const PasswordLogin& login) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto account, impl_->FindAccount(txn, contract, login.user_id));
  if (!account || account->user_id != login.user_id || account->hash != login.stamp) {
    return Status(Code::kUnauthenticated, "the password of " + login.user_id + " was changed or the user removed");
  }
  return impl_->RequireEnabled(txn, contract, account->key, account->user_id);
}

std::string RelayStore::Device::ShortId() const {
  return replica.IsZero() ? std::string(kShortIdDigits, '-') : replica.ToHex().substr(0, kShortIdDigits);
}

Result<std::string> RelayStore::IssueDeviceToken(const ContractNumber& contract, std::string_view user_id,
                                                 const ReplicaId& replica, std::string_view device_name) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(CheckDeviceName(device_name));
  if (replica.IsZero()) return InvalidArgument("a device token needs the PC's replica id");
  const std::string token = NewDeviceToken();
  const std::string token_key = contract.str() + HashDeviceToken(token);
  DAICHO_RETURN_IF_ERROR(impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto owned, impl_->AccountDevices(txn, contract, account.user_id));
    // Only this PC's earlier token goes: a PC of the same name is another device.
    bool replaced = false;
    for (const Impl::DeviceEntry& device : owned) {
      if (device.replica != replica) continue;
      DAICHO_RETURN_IF_ERROR(txn.Del(impl_->devices, device.key));
      replaced = true;
    }
    DAICHO_RETURN_IF_ERROR(
        txn.Put(impl_->devices, token_key, EncodeDevice(replica, account.user_id, device_name, 0, "")));
    return replaced ? impl_->BumpLoginGeneration(txn) : Status::Ok();
  }));
  return token;
}

Status RelayStore::AuthenticateDevice(const ContractNumber& contract, std::string_view user_id, std::string_view token,
                                      const ReplicaId& replica) {
  if (token.size() != kDeviceTokenBytes) return UnknownDeviceToken();
  const std::string token_hash = HashDeviceToken(token);
  const std::string token_key = contract.str() + token_hash;
  // Finds the token's entry, checks its account; true if it still needs its replica id.
  auto check = [&](const storage::lmdb::TxnBase& txn) -> Result<bool> {
    // The lookup compares hashes of 256-bit random tokens, so its timing
    // says nothing useful about a token; the found key is compared again in
    // constant time all the same.
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->devices));
    DAICHO_RETURN_IF_ERROR(cursor.Seek(token_key));
    if (!cursor.valid() || !cursor.key().starts_with(contract.str()) ||
        !TokenHashEquals(cursor.key().substr(ContractNumber::kSize), token_hash)) {
      return UnknownDeviceToken();
    }
    DAICHO_ASSIGN_OR_RETURN(Impl::DeviceEntry device,
                            Impl::DecodeDevice(std::string(cursor.key()), cursor.value(), contract));
    DAICHO_ASSIGN_OR_RETURN(auto account, impl_->FindAccount(txn, contract, user_id));
    if (!account || account->user_id != device.user_id) return UnknownDeviceToken();
    DAICHO_RETURN_IF_ERROR(impl_->RequireEnabled(txn, contract, account->key, account->user_id));
    return device.replica.IsZero() && !replica.IsZero();
  };
  bool unbound = false;
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(unbound, check(txn));
  }
  if (!unbound) return Status::Ok();
  // A token from before v3: it now belongs to the replica that used it.
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(bool still_unbound, check(txn));
    if (!still_unbound) return Status::Ok();
    DAICHO_ASSIGN_OR_RETURN(auto value, txn.GetCopy(impl_->devices, token_key));
    if (!value) return UnknownDeviceToken();
    DAICHO_ASSIGN_OR_RETURN(Impl::DeviceEntry device, Impl::DecodeDevice(token_key, *value, contract));
    device.replica = replica;
    return txn.Put(impl_->devices, token_key, device.Encode());
  });
}

Status RelayStore::LogInWithDevice(const ContractNumber& contract, std::string_view user_id, std::string_view token,
                                   const ReplicaId& replica, std::string_view peer_address) {
  DAICHO_RETURN_IF_ERROR(impl_->throttle.Check({}, peer_address));
  Status authenticated = AuthenticateDevice(contract, user_id, token, replica);
  if (authenticated.code() == Code::kUnauthenticated) impl_->throttle.RecordFailure({}, peer_address);
  return authenticated;
}

Status RelayStore::RevokeDevice(const ContractNumber& contract, std::string_view user_id, std::string_view device) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto owned, impl_->AccountDevices(txn, contract, account.user_id));
    // By replica id first (what `device list` shows), else by name.
    std::vector<const Impl::DeviceEntry*> matches;
    if (device.size() >= kShortIdDigits && device.size() <= 2 * kReplicaIdBytes && IsHexDigits(device)) {
      const std::string prefix = FoldUserId(device);  // hex digits: lower case
      for (const auto& entry : owned) {
        if (!entry.replica.IsZero() && entry.replica.ToHex().starts_with(prefix)) matches.push_back(&entry);
      }
    }
    if (matches.empty()) {
      for (const auto& entry : owned) {
        if (entry.name == device) matches.push_back(&entry);
      }
    }
    if (matches.empty()) {
      return NotFound("no device '" + std::string(device) + "' of user " + account.user_id + " in contract " +
                      contract.str());
    }
    if (matches.size() > 1) {
      std::string ids;
      for (const auto* entry : matches) {
        ids += (ids.empty() ? "" : ", ") + Device{entry->name, entry->replica, 0, ""}.ShortId();
      }
      return Status(Code::kFailedPrecondition, std::to_string(matches.size()) + " devices of user " + account.user_id +
                                                   " match '" + std::string(device) + "': revoke one by its id (" +
                                                   ids + ")");
    }
    DAICHO_RETURN_IF_ERROR(txn.Del(impl_->devices, matches.front()->key));
    return impl_->BumpLoginGeneration(txn);
  });
}

Result<std::vector<RelayStore::Device>> RelayStore::ListDevices(const ContractNumber& contract,
                                                                std::string_view user_id) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto account, impl_->FindAccount(txn, contract, user_id));
  std::vector<Device> out;
  if (!account) return out;
  DAICHO_ASSIGN_OR_RETURN(auto owned, impl_->AccountDevices(txn, contract, account->user_id));
  for (auto& entry : owned) {
    out.push_back(Device{std::move(entry.name), entry.replica, entry.last_sync_ms, std::move(entry.last_address)});
  }
  std::sort(out.begin(), out.end(),
            [](const Device& a, const Device& b) { return std::tie(a.name, a.replica) < std::tie(b.name, b.replica); });
  return out;
}

Status RelayStore::RecordDeviceSync(const ContractNumber& contract, std::string_view user_id, const ReplicaId& replica,
                                    std::string_view address) {
  const uint64_t now = impl_->options.clock->NowMillis();
  // A login of a PC without a saved login, or one recorded within the last
  // kDeviceSyncResolutionMs from the same address, changes nothing worth an
  // LMDB write (an fsync) on every session.
  auto needs_write = [&](const storage::lmdb::TxnBase& txn) -> Result<bool> {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto owned, impl_->AccountDevices(txn, contract, account.user_id));
    return std::any_of(owned.begin(), owned.end(), [&](const Impl::DeviceEntry& d) {
      return d.replica == replica &&
             (d.last_address != address || now < d.last_sync_ms || now - d.last_sync_ms >= kDeviceSyncResolutionMs);
    });
  };
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(bool write, needs_write(txn));
    if (!write) return Status::Ok();
  }
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(Impl::Account account, impl_->RequireAccount(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto owned, impl_->AccountDevices(txn, contract, account.user_id));
    for (Impl::DeviceEntry& device : owned) {
      if (device.replica != replica) continue;
      device.last_sync_ms = now;
      device.last_address = std::string(address);
      DAICHO_RETURN_IF_ERROR(txn.Put(impl_->devices, device.key, device.Encode()));
    }
    return Status::Ok();
  });
}

Result<uint64_t> RelayStore::LoginGeneration() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  return impl_->ReadLoginGeneration(txn);
}

Result<std::unique_ptr<net::ChangeStore>> RelayStore::ContractChanges(const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(bool exists, HasContract(contract));
  if (!exists) return NotFound("no contract " + contract.str());
  return std::unique_ptr<net::ChangeStore>(std::make_unique<ContractChangeStore>(impl_, contract));
}

}  // namespace daicho::relay
