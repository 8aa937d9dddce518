// Helpers of the PostgreSQL backend's tests: a fresh database with the
// schema, a backend over it, and SQL run beside the backend.
#ifndef DAICHO_TESTS_RELAY_POSTGRES_PG_TEST_UTIL_H_
#define DAICHO_TESTS_RELAY_POSTGRES_PG_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "relay/postgres/pg_backend.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/pg_instance.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {

class PgBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    ASSERT_DAICHO_OK(PgBackend::CreateSchema(db_.conninfo()));
  }

  // A backend over the test's database naming itself `node_id`.
  std::shared_ptr<PgBackend> OpenBackend(const std::string& node_id = "node-a") {
    PgBackendOptions options;
    options.node_id = node_id;
    auto backend = PgBackend::Open(db_.conninfo(), options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? *backend : nullptr;
  }

  // The first field of `sql`'s result, run on a connection of its own.
  std::string Sql(const std::string& sql) {
    auto value = db_.instance().Query(db_.name(), sql);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : "";
  }

  // Ends the server processes of this test's connections named
  // `application_name` (waiting until they are gone); how many there were.
  // Other tests share the instance, and their nodes may bear the same names.
  int Terminate(const std::string& application_name) {
    return std::stoi(
        Sql("SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE "
            "datname = current_database() AND application_name = '" +
            application_name + "'"));
  }

  // Adds `contract`.
  void AddContract(PgBackend& backend, const ContractNumber& contract) {
    ASSERT_DAICHO_OK(backend.Write([&](RelayWriteTxn& txn) { return txn.PutContract(contract); }));
  }

  // Appends the next change of `origin` as ContractChangeStore::Apply does:
  // under the contract's lock, after the held version vector.
  static Status AppendNext(PgBackend& backend, const ContractNumber& contract, const ReplicaId& origin) {
    return backend.Write([&](RelayWriteTxn& txn) -> Status {
      DAICHO_ASSIGN_OR_RETURN(bool found, txn.LockContract(contract));
      if (!found) return NotFound("no contract");
      DAICHO_ASSIGN_OR_RETURN(VersionVector held, txn.GetVersionVector(contract));
      const ChangeBlob blob = Blob(origin, held.Get(origin) + 1);
      const ChangeBlob* blobs[] = {&blob};
      VersionVector advanced;
      advanced.Advance(origin, blob.seq);
      return txn.AppendChanges(contract, blobs, advanced);
    });
  }

  daicho::testing::PgTestDatabase db_;
  const ContractNumber a_ = Contract("0000-0000-0001");
  const ContractNumber b_ = Contract("0000-0000-0002");
};

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_POSTGRES_PG_TEST_UTIL_H_
