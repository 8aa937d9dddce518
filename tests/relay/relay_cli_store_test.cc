// `daicho-relay`'s store flags, run as the vendor's operator would: every
// command names exactly one store, --data DIR (LMDB) or --store CONNINFO
// (PostgreSQL, on the tests' shared instance); only `init` creates one;
// `migrate` says what it did; a password in the conninfo is never shown.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/pg_instance.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::RunResult;

constexpr char kContract[] = "1234-5678-9012";

class RelayCliStoreTest : public ::testing::Test {
 protected:
  RunResult Run(const std::vector<std::string>& args) {
    return daicho::testing::RunProgram(DAICHO_RELAY_PATH, args, dir_.path().string());
  }
  std::vector<std::string> OnStore(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--store", database_.conninfo()});
    return args;
  }

  daicho::testing::TempDir dir_;
  daicho::testing::PgTestDatabase database_;
};

TEST_F(RelayCliStoreTest, EveryCommandNamesExactlyOneStore) {
  RunResult neither = Run({"contract", "list"});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--data DIR (one relay process) or --store CONNINFO (PostgreSQL)"), std::string::npos)
      << neither.err;
  RunResult both = Run({"--data", dir_.Sub("relay"), "--store", database_.conninfo(), "contract", "list"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

TEST_F(RelayCliStoreTest, APostgresStoreIsMadeOnlyByInitAndServesEveryCommand) {
  ASSERT_TRUE(database_.ok());
  RunResult missing = Run(OnStore({"contract", "list"}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no relay store in the database"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("init`"), std::string::npos) << missing.err;

  RunResult created = Run(OnStore({"init"}));
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("created an empty relay store in the database"), std::string::npos) << created.out;
  RunResult again = Run(OnStore({"init"}));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds a relay store: nothing to do"), std::string::npos) << again.err;
  RunResult migrated = Run(OnStore({"migrate"}));
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("is already at schema version"), std::string::npos) << migrated.out;

  const std::string password_file = dir_.Sub("password.txt");
  daicho::testing::WriteFile(password_file, "Yamada2024\n");
  ASSERT_EQ(Run(OnStore({"contract", "add", kContract})).exit_code, 0);
  ASSERT_EQ(Run(OnStore({"user", "add", kContract, "yamada@example.jp", "--password-file", password_file})).exit_code,
            0);
  RunResult listed = Run(OnStore({"user", "list", kContract}));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "yamada@example.jp  user   enabled   devices 0  last sync never\n");
  RunResult contracts = Run(OnStore({"contract", "list"}));
  EXPECT_EQ(contracts.out, std::string(kContract) + "  enabled   users 1  devices 0  key -\n");
}

TEST_F(RelayCliStoreTest, ANodeOnPostgresNeedsAPlaceForItsMail) {
  ASSERT_TRUE(database_.ok());
  ASSERT_EQ(Run(OnStore({"init"})).exit_code, 0);
  RunResult serve = Run(OnStore({"serve", "--listen", "127.0.0.1:0"}));
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find("give --mail-outbox DIR or --smtp-url"), std::string::npos) << serve.err;
}

TEST_F(RelayCliStoreTest, APasswordInTheConninfoIsNeverShown) {
  ASSERT_TRUE(database_.ok());
  // The test instance trusts loopback, so the password is not even needed.
  std::string conninfo = database_.conninfo() + " password=sekret-7f3e";
  RunResult missing = Run({"--store", conninfo, "contract", "list"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.find("sekret-7f3e"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("password='***'"), std::string::npos) << missing.err;
}

TEST_F(RelayCliStoreTest, MigrateOnADataDirectorySaysLmdbUpgradesWhenOpened) {
  ASSERT_EQ(Run({"--data", dir_.Sub("relay"), "init"}).exit_code, 0);
  RunResult migrated = Run({"--data", dir_.Sub("relay"), "migrate"});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.out.find("is up to date"), std::string::npos) << migrated.out;
}

}  // namespace
}  // namespace daicho::relay
