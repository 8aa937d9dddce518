// The typed fixture of RelayService's suite: every test runs over every
// backend (LMDB and PostgreSQL; a backend passes when the whole suite does).
#ifndef DAICHO_TESTS_RELAY_RELAY_SERVICE_FIXTURE_H_
#define DAICHO_TESTS_RELAY_RELAY_SERVICE_FIXTURE_H_

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "relay/lmdb/lmdb_backend.h"
#include "relay/postgres/pg_backend.h"
#include "relay/relay_service.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/pg_instance.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {

// A backend factory opens its kind of store, again after the service over
// it is gone (the same data), and shows the bytes it keeps at rest.
class LmdbBackendFactory {
 public:
  static constexpr const char* kName = "Lmdb";
  Result<std::shared_ptr<RelayBackend>> Open() {
    DAICHO_ASSIGN_OR_RETURN(std::shared_ptr<RelayBackend> backend, LmdbBackend::Open(dir_.Sub("relay")));
    return backend;
  }
  std::string StoredBytes() const { return ReadFile(dir_.Sub("relay") + "/data.mdb"); }

 private:
  daicho::testing::TempDir dir_;
};

// A database of its own on the tests' shared PostgreSQL instance; the first
// Open creates the schema, later ones find the same data.
class PgBackendFactory {
 public:
  static constexpr const char* kName = "Postgres";
  Result<std::shared_ptr<RelayBackend>> Open() {
    if (!database_.ok()) return Unavailable("no PostgreSQL database for the test");
    if (!created_) {
      DAICHO_RETURN_IF_ERROR(PgBackend::CreateSchema(database_.conninfo()));
      created_ = true;
    }
    DAICHO_ASSIGN_OR_RETURN(std::shared_ptr<RelayBackend> backend, PgBackend::Open(database_.conninfo()));
    return backend;
  }
  // The database's files after a checkpoint: what sits on the disk.
  std::string StoredBytes() const { return database_.StoredBytes(); }

 private:
  daicho::testing::PgTestDatabase database_;
  bool created_ = false;
};

using Backends = ::testing::Types<LmdbBackendFactory, PgBackendFactory>;

class BackendNames {
 public:
  template <typename Factory>
  static std::string GetName(int) {
    return Factory::kName;
  }
};

template <typename Factory>
class RelayServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.clock = clock_;
    Open();
  }

  void Reopen() {
    store_.reset();
    Open();
  }

  void Open() {
    auto backend = factory_.Open();
    ASSERT_DAICHO_OK(backend);
    auto created = RelayService::Create(*std::move(backend), options_);
    ASSERT_DAICHO_OK(created);
    store_ = std::move(*created);
  }

  // Adds `contract` and its `users`, each with the password "Password1".
  void AddContractWithUsers(const ContractNumber& contract, std::initializer_list<std::string_view> users) {
    ASSERT_DAICHO_OK(store_->AddContract(contract));
    for (std::string_view user : users) ASSERT_DAICHO_OK(store_->AddUser(contract, user, "Password1"));
  }

  Factory factory_;
  std::shared_ptr<daicho::testing::FakeClock> clock_ = std::make_shared<daicho::testing::FakeClock>();
  RelayServiceOptions options_ = OpaqueBlobOptions();
  std::unique_ptr<RelayService> store_;
  const ContractNumber a_ = Contract("0000-0000-0001");
  const ContractNumber b_ = Contract("0000-0000-0002");
};
}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_RELAY_SERVICE_FIXTURE_H_
