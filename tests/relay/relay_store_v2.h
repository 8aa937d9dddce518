// Test helpers: write a relay store in the layout of schema
// "daicho-relay-v2" (before user ids were folded and devices knew their
// replica) or "daicho-relay-v3" (before disabling and last syncs), as the
// old relays did, to test the upgrades. Header-only; used by
// relay_store_test.cc and relay_cli_test.cc (which link daicho_lmdb).
#ifndef DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_
#define DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_

#include <gtest/gtest.h>

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

// A store with the databases v2 and v3 had and one contract, marked
// `schema`; `fill` writes the rest in the same transaction.
inline void WriteOldStore(const std::string& dir, const ContractNumber& contract, const std::string& schema,
                          const std::function<void(storage::lmdb::WriteTxn&, OldStoreDbis&)>& fill) {
  std::filesystem::create_directories(dir);
  auto env = storage::lmdb::Env::Open(dir, storage::lmdb::EnvOptions());
  ASSERT_DAICHO_OK(env);
  OldStoreDbis dbis;
  for (const char* name : {"meta", "contracts", "users", "devices", "changes", "vv", "keys"}) {
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

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_RELAY_STORE_V2_H_
