// End-to-end tests of the `daicho-relay` administration commands, run as the
// vendor's operator would run them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apps/daicho-relay/relay_store.h"
#include "relay_store_v2.h"
#include "run_program.h"
#include "test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::RunResult;
using daicho::testing::WriteFile;

constexpr char kContract[] = "1234-5678-9012";

class RelayCliTest : public ::testing::Test {
 protected:
  RunResult Run(const std::vector<std::string>& args) {
    std::vector<std::string> full = {"--data", dir_.Sub("relay")};
    full.insert(full.end(), args.begin(), args.end());
    return daicho::testing::RunProgram(DAICHO_RELAY_PATH, full, dir_.path().string());
  }
  std::string PasswordFile(const std::string& password) {
    const std::string path = dir_.Sub("password.txt");
    WriteFile(path, password + "\n");
    return path;
  }
  daicho::testing::TempDir dir_;
};

TEST_F(RelayCliTest, ContractAndUserAddedByCommandsCanLogIn) {
  RunResult added = Run({"contract", "add", kContract});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  RunResult user = Run({"user", "add", kContract, "yamada@example.jp", "--password-file", PasswordFile("Yamada2024")});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  RunResult listed = Run({"user", "list", kContract});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "yamada@example.jp\n");

  auto store = RelayStore::Open(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  auto contract = ContractNumber::Parse(kContract);
  ASSERT_DAICHO_OK(contract);
  EXPECT_DAICHO_OK((*store)->LogIn(*contract, "yamada@example.jp", "Yamada2024"));
}

TEST_F(RelayCliTest, PasswdReplacesThePassword) {
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  ASSERT_EQ(Run({"user", "add", kContract, "sato@example.jp", "--password-file", PasswordFile("OldPassw0rd")}).exit_code, 0);
  RunResult changed = Run({"user", "passwd", kContract, "sato@example.jp", "--password-file", PasswordFile("NewPassw0rd")});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  auto store = RelayStore::Open(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  auto contract = ContractNumber::Parse(kContract);
  ASSERT_DAICHO_OK(contract);
  EXPECT_EQ((*store)->LogIn(*contract, "sato@example.jp", "OldPassw0rd").status().code(), Code::kUnauthenticated);
  EXPECT_DAICHO_OK((*store)->LogIn(*contract, "sato@example.jp", "NewPassw0rd"));
}

TEST_F(RelayCliTest, BadInputGivesClearErrorsAndChangesNothing) {
  RunResult malformed = Run({"contract", "add", "12-34"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("NNNN-NNNN-NNNN"), std::string::npos) << malformed.err;

  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  RunResult twice = Run({"contract", "add", kContract});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("already"), std::string::npos) << twice.err;

  RunResult short_password = Run({"user", "add", kContract, "ito@example.jp", "--password-file", PasswordFile("short")});
  EXPECT_EQ(short_password.exit_code, 1);
  EXPECT_NE(short_password.err.find("8-100"), std::string::npos) << short_password.err;
  RunResult unknown_contract =
      Run({"user", "add", "9999-9999-9999", "ito@example.jp", "--password-file", PasswordFile("Passw0rd99")});
  EXPECT_EQ(unknown_contract.exit_code, 1);
  EXPECT_NE(unknown_contract.err.find("no contract"), std::string::npos) << unknown_contract.err;
  RunResult missing_file = Run({"user", "add", kContract, "ito@example.jp", "--password-file", dir_.Sub("nope")});
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_NE(missing_file.err.find("cannot open"), std::string::npos) << missing_file.err;

  RunResult listed = Run({"user", "list", kContract});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "");
  EXPECT_EQ(Run({"device", "revoke", kContract, "ito@example.jp", "pc1"}).exit_code, 1);
  EXPECT_EQ(Run({}).exit_code, 2);
}

// A store upgraded from v2 may hold ids that differ only in letter case:
// every command warns the operator (naming them and what to do) until all
// but one are removed, and then the one left logs in with any spelling.
TEST_F(RelayCliTest, UpgradedStoreWithCaseTwinsWarnsUntilTheOperatorRemovesOne) {
  const ContractNumber contract = ContractNumber::Parse(kContract).value();
  WriteV2Store(dir_.Sub("relay"), contract, {{"Kato@Example.jp", "Passw0rd11"}, {"kato@example.jp", "Passw0rd22"}},
               {});
  RunResult listed = Run({"user", "list", kContract});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "Kato@Example.jp\nkato@example.jp\n");
  EXPECT_NE(listed.err.find("differ only in letter case (Kato@Example.jp, kato@example.jp)"), std::string::npos)
      << listed.err;
  EXPECT_NE(listed.err.find("user remove " + std::string(kContract)), std::string::npos) << listed.err;

  RunResult removed = Run({"user", "remove", kContract, "kato@example.jp"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  listed = Run({"user", "list", kContract});
  EXPECT_EQ(listed.out, "Kato@Example.jp\n");
  EXPECT_EQ(listed.err, "");
  auto store = RelayStore::Open(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  EXPECT_DAICHO_OK((*store)->LogIn(contract, "KATO@EXAMPLE.JP", "Passw0rd11"));
}

}  // namespace
}  // namespace daicho::relay
