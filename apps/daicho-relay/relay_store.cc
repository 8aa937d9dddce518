#include "apps/daicho-relay/relay_store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <tuple>
#include <utility>

#include "apps/daicho-relay/password.h"
#include "crypto/sealed_change.h"
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
constexpr std::string_view kRelaySchema = "daicho-relay-v2";
constexpr std::string_view kPlaintextRelaySchema = "daicho-relay-v1";
constexpr size_t kMaxDeviceNameBytes = 100;
// Throttle entries of accounts whose last failure is older than this are
// forgotten when the table gets large, so probing many ids cannot grow it
// without bound.
constexpr size_t kThrottlePruneSize = 10000;

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

std::string UserKey(const ContractNumber& contract, std::string_view user) {
  return contract.str() + std::string(user);
}

std::string ChangeKey(const ContractNumber& contract, const ReplicaId& origin, uint64_t seq) {
  return contract.str() + std::string(origin.AsStringView()) + EncodeU64(seq);
}

std::string VvKey(const ContractNumber& contract, const ReplicaId& origin) {
  return contract.str() + std::string(origin.AsStringView());
}

Status CheckDeviceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameBytes || name.find('\0') != std::string_view::npos) {
    return InvalidArgument("a device name must be 1-" + std::to_string(kMaxDeviceNameBytes) +
                           " bytes without NUL");
  }
  return Status::Ok();
}

Status Unauthenticated() { return Status(Code::kUnauthenticated, "wrong contract number, user id or password"); }

}  // namespace

struct RelayStore::Impl {
  std::string path;
  RelayStoreOptions options;
  storage::lmdb::Env env;
  Dbi meta, contracts, users, devices, changes, vv, keys;

  storage::lmdb::GrowingWriter writer;

  struct Throttle {
    int failures = 0;
    uint64_t last_failure_ms = 0;
  };
  std::mutex throttle_mu;
  std::map<std::string, Throttle> throttles;  // UserKey -> state

  Impl(std::string p, const RelayStoreOptions& o, storage::lmdb::Env e)
      : path(std::move(p)), options(o), env(std::move(e)), writer(env) {
    if (!options.clock) options.clock = SystemClock();
  }

  Status RequireContract(const storage::lmdb::TxnBase& txn, const ContractNumber& contract) const {
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(contracts, contract.str()));
    if (!found) return NotFound("no contract " + contract.str());
    return Status::Ok();
  }

  Status RequireUser(const storage::lmdb::TxnBase& txn, const ContractNumber& contract, std::string_view user) const {
    DAICHO_RETURN_IF_ERROR(RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(users, UserKey(contract, user)));
    if (!found) return NotFound("no user " + std::string(user) + " in contract " + contract.str());
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
  static Result<std::vector<std::pair<std::string, std::string>>> ScanPrefix(const storage::lmdb::TxnBase& txn,
                                                                             Dbi dbi, std::string_view prefix) {
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

  // Devices of one user: (devices key, device name).
  Result<std::vector<std::pair<std::string, std::string>>> UserDevices(const storage::lmdb::TxnBase& txn,
                                                                       const ContractNumber& contract,
                                                                       std::string_view user) const {
    DAICHO_ASSIGN_OR_RETURN(auto entries, ScanPrefix(txn, devices, contract.str()));
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [key, value] : entries) {
      const size_t sep = value.find('\0');
      if (sep == std::string::npos) return Corruption("bad device entry in contract " + contract.str());
      if (std::string_view(value).substr(0, sep) == user) out.emplace_back(key, value.substr(sep + 1));
    }
    return out;
  }

  // Throttling. Returns kUnavailable while the account is in its window.
  Status CheckThrottle(const std::string& account) {
    std::lock_guard lock(throttle_mu);
    auto it = throttles.find(account);
    if (it == throttles.end() || it->second.failures < options.throttle_after_failures) return Status::Ok();
    const uint64_t window = Window(it->second.failures);
    const uint64_t until = it->second.last_failure_ms + window;
    const uint64_t now = options.clock->NowMillis();
    if (now >= until) return Status::Ok();
    const uint64_t wait_s = (until - now + 999) / 1000;
    return Status(Code::kUnavailable, "too many failed logins, retry in " + std::to_string(wait_s) + " s");
  }

  uint64_t Window(int failures) const {
    const int doublings = failures - options.throttle_after_failures;
    uint64_t window = options.throttle_initial_ms;
    for (int i = 0; i < doublings && window < options.throttle_max_ms; ++i) window *= 2;
    return std::min(window, options.throttle_max_ms);
  }

  void RecordFailure(const std::string& account) {
    std::lock_guard lock(throttle_mu);
    const uint64_t now = options.clock->NowMillis();
    if (throttles.size() >= kThrottlePruneSize) {
      for (auto it = throttles.begin(); it != throttles.end();) {
        it = now - it->second.last_failure_ms > options.throttle_max_ms ? throttles.erase(it) : std::next(it);
      }
    }
    Throttle& t = throttles[account];
    ++t.failures;
    t.last_failure_ms = now;
  }

  void ClearThrottle(const std::string& account) {
    std::lock_guard lock(throttle_mu);
    throttles.erase(account);
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
        if (!cursor.valid() || !cursor.key().starts_with(prefix) ||
            cursor.key().size() != prefix.size() + 8 || DecodeU64(cursor.key().substr(prefix.size())) != expect) {
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
      // Contracts are never removed, but check inside the transaction anyway:
      // a handle must not write keys of a contract that is not there.
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
          return Status(Code::kProtocolError, "gap: change " + blob.origin.ToHex() + ":" +
                                                  std::to_string(blob.seq) + " arrived but " +
                                                  std::to_string(held + 1) + " is missing");
        }
        if (current_key != 0) {
          // Only ciphertext under the current key: a PC that missed a
          // rotation (or was lost and still holds the old key) is refused.
          auto sealed_under = crypto::SealedKeyId(blob.payload);
          if (!sealed_under.ok()) {
            return Status(Code::kFailedPrecondition, "change " + blob.origin.ToHex() + ":" +
                                                         std::to_string(blob.seq) +
                                                         " is not sealed with the office key; the relay "
                                                         "stores only encrypted changes");
          }
          if (*sealed_under != current_key) {
            return Status(Code::kFailedPrecondition,
                          "changes must be sealed under the current office key " + std::to_string(current_key) +
                              ", not key " + std::to_string(*sealed_under) +
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

Result<std::unique_ptr<RelayStore>> RelayStore::Open(const std::string& dir, const RelayStoreOptions& options) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  storage::lmdb::StoreDirectoryOptions dir_options;
  dir_options.what = "relay store";
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.verify_on_open = options.verify_on_open;
  dir_options.env.max_dbs = 8;
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
      return InvalidArgument(dir + " is an LMDB database but not a daicho relay store (if creating it was "
                             "interrupted, remove the directory and create it again)");
    }
    if (*schema == kPlaintextRelaySchema) {
      return Status(Code::kFailedPrecondition,
                    dir + " is a relay store from before end-to-end encryption (its changes are plaintext): "
                          "move it aside and create a new one; the offices' PCs upload everything again");
    }
    if (*schema != kRelaySchema) {
      return InvalidArgument(dir + " is an LMDB database but not a daicho relay store (format '" +
                             *schema + "', expected '" + std::string(kRelaySchema) + "')");
    }
  }
  const std::pair<const char*, Dbi*> dbis[] = {{"meta", &impl->meta},         {"contracts", &impl->contracts},
                                               {"users", &impl->users},       {"devices", &impl->devices},
                                               {"changes", &impl->changes},   {"vv", &impl->vv},
                                               {"keys", &impl->keys}};
  for (const auto& [name, handle] : dbis) {
    auto opened = impl->env.OpenDbi(name, /*create=*/true);
    if (!opened.ok()) return opened.status().WithContext("opening " + dir);
    *handle = *opened;
  }
  if (creating) {
    DAICHO_RETURN_IF_ERROR(
        impl->writer.Run([&](WriteTxn& txn) { return txn.Put(impl->meta, kSchemaKey, kRelaySchema); }));
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
  // The same id re-wraps the current key (a new passphrase); the next id is
  // a rotation. Anything else would strand PCs holding the current key.
  if (keys.current_key_id != replaces_key_id && keys.current_key_id != replaces_key_id + 1) {
    return InvalidArgument("office key " + std::to_string(keys.current_key_id) + " cannot replace key " +
                           std::to_string(replaces_key_id));
  }
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(crypto::WrappedOfficeKey stored, impl_->ReadOfficeKey(txn, contract));
    if (stored.current_key_id != replaces_key_id) {
      return Status(Code::kFailedPrecondition,
                    stored.empty() ? std::string("the office key is not set up yet")
                                   : "the office key changed meanwhile (the relay now has key " +
                                         std::to_string(stored.current_key_id) + "): unlock it first");
    }
    return txn.Put(impl_->keys, contract.str(), crypto::SerializeWrappedOfficeKey(keys));
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
  {
    // Fail fast before the slow hash; checked again in the write below.
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  }
  DAICHO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  const std::string key = UserKey(contract, user_id);
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetCopy(impl_->users, key));
    if (found) {
      return Status(Code::kAlreadyExists,
                    "user " + std::string(user_id) + " already exists in contract " + contract.str());
    }
    return txn.Put(impl_->users, key, hash);
  });
}

Status RelayStore::SetPassword(const ContractNumber& contract, std::string_view user_id, std::string_view password) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(ValidatePassword(password));
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_RETURN_IF_ERROR(impl_->RequireUser(txn, contract, user_id));
  }
  DAICHO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  const std::string key = UserKey(contract, user_id);
  DAICHO_RETURN_IF_ERROR(impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireUser(txn, contract, user_id));
    return txn.Put(impl_->users, key, hash);
  }));
  impl_->ClearThrottle(key);
  return Status::Ok();
}

Result<std::vector<std::string>> RelayStore::ListUsers(const ContractNumber& contract) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto entries, Impl::ScanPrefix(txn, impl_->users, contract.str()));
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (const auto& entry : entries) out.push_back(entry.first.substr(ContractNumber::kSize));
  return out;
}

Status RelayStore::Authenticate(const ContractNumber& contract, std::string_view user_id, std::string_view password) {
  // A malformed id names no account: refuse it at once, without hashing
  // (the id rules are public, so this says nothing) and without a throttle
  // entry (an arbitrarily long id must not be kept in memory).
  if (!ValidateUserId(user_id).ok()) return Unauthenticated();
  const std::string key = UserKey(contract, user_id);
  DAICHO_RETURN_IF_ERROR(impl_->CheckThrottle(key));
  std::optional<std::string> hash;
  {
    std::shared_lock<std::shared_mutex> lock;
    DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
    DAICHO_ASSIGN_OR_RETURN(auto has_contract, txn.GetCopy(impl_->contracts, contract.str()));
    if (has_contract) {
      DAICHO_ASSIGN_OR_RETURN(hash, txn.GetCopy(impl_->users, key));
    }
  }
  // The read transaction has ended: the slow verify holds nothing. An
  // unknown account is verified against a dummy hash so that its refusal
  // takes as long as a wrong password's.
  const bool match = VerifyPassword(hash ? *hash : DummyPasswordHash(), password) && hash.has_value();
  if (!match) {
    impl_->RecordFailure(key);
    return Unauthenticated();
  }
  impl_->ClearThrottle(key);
  return Status::Ok();
}

Result<std::string> RelayStore::IssueDeviceToken(const ContractNumber& contract, std::string_view user_id,
                                                 std::string_view device_name) {
  DAICHO_RETURN_IF_ERROR(ValidateUserId(user_id));
  DAICHO_RETURN_IF_ERROR(CheckDeviceName(device_name));
  const std::string token = NewDeviceToken();
  const std::string token_key = contract.str() + HashDeviceToken(token);
  std::string value(user_id);
  value.push_back('\0');
  value.append(device_name);
  DAICHO_RETURN_IF_ERROR(impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireUser(txn, contract, user_id));
    DAICHO_ASSIGN_OR_RETURN(auto existing, impl_->UserDevices(txn, contract, user_id));
    for (const auto& [key, name] : existing) {
      if (name == device_name) DAICHO_RETURN_IF_ERROR(txn.Del(impl_->devices, key));
    }
    return txn.Put(impl_->devices, token_key, value);
  }));
  return token;
}

Result<std::string> RelayStore::AuthenticateDevice(const ContractNumber& contract, std::string_view token) {
  if (token.size() != kDeviceTokenBytes) return Status(Code::kUnauthenticated, "unknown or revoked device token");
  const std::string token_hash = HashDeviceToken(token);
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  // The lookup compares hashes of 256-bit random tokens, so its timing says
  // nothing useful about a token; the found key is compared again in
  // constant time all the same.
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->devices));
  DAICHO_RETURN_IF_ERROR(cursor.Seek(contract.str() + token_hash));
  if (!cursor.valid() || !cursor.key().starts_with(contract.str()) ||
      !TokenHashEquals(cursor.key().substr(ContractNumber::kSize), token_hash)) {
    return Status(Code::kUnauthenticated, "unknown or revoked device token");
  }
  const std::string_view value = cursor.value();
  const size_t sep = value.find('\0');
  if (sep == std::string_view::npos) return Corruption("bad device entry in contract " + contract.str());
  std::string user(value.substr(0, sep));
  DAICHO_ASSIGN_OR_RETURN(auto user_hash, txn.GetCopy(impl_->users, UserKey(contract, user)));
  if (!user_hash) return Status(Code::kUnauthenticated, "unknown or revoked device token");
  return user;
}

Status RelayStore::RevokeDevice(const ContractNumber& contract, std::string_view user_id,
                                std::string_view device_name) {
  return impl_->writer.Run([&](WriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
    DAICHO_ASSIGN_OR_RETURN(auto existing, impl_->UserDevices(txn, contract, user_id));
    bool found = false;
    for (const auto& [key, name] : existing) {
      if (name != device_name) continue;
      DAICHO_RETURN_IF_ERROR(txn.Del(impl_->devices, key));
      found = true;
    }
    if (!found) {
      return NotFound("no device '" + std::string(device_name) + "' of user " + std::string(user_id) +
                      " in contract " + contract.str());
    }
    return Status::Ok();
  });
}

Result<std::vector<std::string>> RelayStore::ListDevices(const ContractNumber& contract,
                                                         std::string_view user_id) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_RETURN_IF_ERROR(impl_->RequireContract(txn, contract));
  DAICHO_ASSIGN_OR_RETURN(auto existing, impl_->UserDevices(txn, contract, user_id));
  std::vector<std::string> out;
  for (auto& entry : existing) out.push_back(std::move(entry.second));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<net::ChangeStore>> RelayStore::ContractChanges(const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(bool exists, HasContract(contract));
  if (!exists) return NotFound("no contract " + contract.str());
  return std::unique_ptr<net::ChangeStore>(std::make_unique<ContractChangeStore>(impl_, contract));
}

}  // namespace daicho::relay
