// Test helpers: write a relay store in the layout of schema
// "daicho-relay-v2" (before user ids were folded and devices knew their
// replica), "daicho-relay-v3" (before disabling and last syncs) or
// "daicho-relay-v4" (before the admin panel), as the old relays did, to
// test the upgrades. Header-only; used by
// relay_store_test.cc and relay_cli_test.cc (which link daicho_lmdb).
#ifndef DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_
#define DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "relay/password.h"
#include "relay/relay_backend.h"
#include "storage/lmdb/env.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {

using OldStoreDbis = std::map<std::string, storage::lmdb::Dbi>;

// A store with the databases v2 and v3 had (and v4's "disabled" for a v4
// store) and one contract, marked `schema`; `fill` writes the rest in the
// same transaction.
inline void WriteOldStore(const std::string& dir, const ContractNumber& contract, const std::string& schema,
                          const std::function<void(storage::lmdb::WriteTxn&, OldStoreDbis&)>& fill) {
  std::filesystem::create_directories(dir);
  storage::lmdb::EnvOptions options;
  options.max_dbs = 16;  // as many as a v5 relay opened
  auto env = storage::lmdb::Env::Open(dir, options);
  ASSERT_DAICHO_OK(env);
  OldStoreDbis dbis;
  std::vector<const char*> names = {"meta", "contracts", "users", "devices", "changes", "vv", "keys"};
  if (schema != "daicho-relay-v2" && schema != "daicho-relay-v3") names.push_back("disabled");
  if (schema == "daicho-relay-v5") {
    for (const char* name : {"admins", "sessions", "resets", "audit", "key_times", "seen"}) names.push_back(name);
  }
  for (const char* name : names) {
    auto dbi = env->OpenDbi(name, /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    dbis[name] = *dbi;
  }
  auto txn = env->BeginWrite();
  ASSERT_DAICHO_OK(txn);
  ASSERT_DAICHO_OK(txn->Put(dbis["contracts"], contract.str(), ""));
  fill(*txn, dbis);
  ASSERT_DAICHO_OK(txn->Put(dbis["meta"], "schema", schema));
  ASSERT_DAICHO_OK(txn->Commit());
}

// Users keyed by their exact id ({id, password}); device tokens with their
// v2 value "user id \0 device name" ({token, value}).
inline void WriteV2Store(const std::string& dir, const ContractNumber& contract,
                         const std::vector<std::pair<std::string, std::string>>& users,
                         const std::vector<std::pair<std::string, std::string>>& device_tokens) {
  WriteOldStore(dir, contract, "daicho-relay-v2", [&](storage::lmdb::WriteTxn& txn, OldStoreDbis& dbis) {
    for (const auto& [user, password] : users) {
      auto hash = HashPassword(password);
      ASSERT_DAICHO_OK(hash);
      ASSERT_DAICHO_OK(txn.Put(dbis["users"], contract.str() + user, *hash));
    }
    for (const auto& [token, user_and_name] : device_tokens) {
      ASSERT_DAICHO_OK(txn.Put(dbis["devices"], contract.str() + HashDeviceToken(token), user_and_name));
    }
  });
}

// One contract with one user (keyed "contract | folded id | \0 | id") and
// one device token in the v3 value "replica | user id | \0 | name".
inline void WriteV3Store(const std::string& dir, const ContractNumber& contract, const std::string& user,
                         const std::string& password, const std::string& token, const ReplicaId& replica,
                         const std::string& device_name) {
  WriteOldStore(dir, contract, "daicho-relay-v3", [&](storage::lmdb::WriteTxn& txn, OldStoreDbis& dbis) {
    auto hash = HashPassword(password);
    ASSERT_DAICHO_OK(hash);
    ASSERT_DAICHO_OK(txn.Put(dbis["users"], contract.str() + FoldUserId(user) + '\0' + user, *hash));
    ASSERT_DAICHO_OK(txn.Put(dbis["devices"], contract.str() + HashDeviceToken(token),
                             std::string(replica.AsStringView()) + user + '\0' + device_name));
  });
}

// 8 bytes big-endian, as the relay stores times and counters.
inline std::string BigEndian8(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

// What a v4 store holds of one account and its saved login.
struct V4Account {
  std::string user_id;
  std::string password;
  bool disabled = false;
  std::string token;  // empty: no saved login
  ReplicaId replica;
  std::string device_name;
  uint64_t last_sync_ms = 0;
  std::string last_address;
};

// One contract with `accounts`, one change (origin, seq 1, `payload`) and
// its version vector, office key envelopes `keys` and the login generation
// `logins`: every database v4 had, in its layout.
inline void WriteV4Store(const std::string& dir, const ContractNumber& contract, const std::vector<V4Account>& accounts,
                         const ReplicaId& origin, const std::string& payload, const std::string& keys,
                         uint64_t logins) {
  WriteOldStore(dir, contract, "daicho-relay-v4", [&](storage::lmdb::WriteTxn& txn, OldStoreDbis& dbis) {
    for (const V4Account& account : accounts) {
      auto hash = HashPassword(account.password);
      ASSERT_DAICHO_OK(hash);
      const std::string key = contract.str() + FoldUserId(account.user_id) + '\0' + account.user_id;
      ASSERT_DAICHO_OK(txn.Put(dbis["users"], key, *hash));
      if (account.disabled) ASSERT_DAICHO_OK(txn.Put(dbis["disabled"], key, ""));
      if (account.token.empty()) continue;
      ASSERT_DAICHO_OK(txn.Put(dbis["devices"], contract.str() + HashDeviceToken(account.token),
                               std::string(account.replica.AsStringView()) + account.user_id + '\0' +
                                   account.device_name + '\0' + BigEndian8(account.last_sync_ms) +
                                   account.last_address));
    }
    ASSERT_DAICHO_OK(
        txn.Put(dbis["changes"], contract.str() + std::string(origin.AsStringView()) + BigEndian8(1), payload));
    ASSERT_DAICHO_OK(txn.Put(dbis["vv"], contract.str() + std::string(origin.AsStringView()), BigEndian8(1)));
    ASSERT_DAICHO_OK(txn.Put(dbis["keys"], contract.str(), keys));
    ASSERT_DAICHO_OK(txn.Put(dbis["meta"], "logins", BigEndian8(logins)));
  });
}

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_
