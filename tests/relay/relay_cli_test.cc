// End-to-end tests of the `daicho-relay` administration commands, run as the
// vendor's operator would run them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "relay/entitlements/entitlements.h"
#include "relay/entitlements_view.h"
#include "relay/password.h"
#include "relay/relay_service.h"
#include "relay_store_v2.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "text/date_text.h"

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
    std::string path = dir_.Sub("password.txt");
    WriteFile(path, password + "\n");
    return path;
  }
  // A store with contract kContract and its users sato@ (password
  // Sato20245) and ito@example.jp (Ito202456).
  void AddSatoAndIto() {
    ASSERT_EQ(Run({"init"}).exit_code, 0);
    ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
    ASSERT_EQ(
        Run({"user", "add", kContract, "sato@example.jp", "--password-file", PasswordFile("Sato20245")}).exit_code, 0);
    ASSERT_EQ(Run({"user", "add", kContract, "ito@example.jp", "--password-file", PasswordFile("Ito202456")}).exit_code,
              0);
  }
  // Whether the command succeeds printing exactly what `pattern` (a
  // std::regex) matches.
  ::testing::AssertionResult Prints(const std::vector<std::string>& args, const std::string& pattern) {
    const RunResult result = Run(args);
    if (result.exit_code == 0 && std::regex_match(result.out, std::regex(pattern))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "exit " << result.exit_code << "\nout:\n"
                                         << result.out << "err:\n"
                                         << result.err;
  }
  daicho::testing::TempDir dir_;
};

TEST_F(RelayCliTest, ContractAndUserAddedByCommandsCanLogIn) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  RunResult added = Run({"contract", "add", kContract});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  RunResult user = Run({"user", "add", kContract, "yamada@example.jp", "--password-file", PasswordFile("Yamada2024")});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  RunResult listed = Run({"user", "list", kContract});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "yamada@example.jp  user   enabled   devices 0  last sync never\n");

  auto store = OpenLmdbRelay(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  auto contract = ContractNumber::Parse(kContract);
  ASSERT_DAICHO_OK(contract);
  EXPECT_DAICHO_OK((*store)->LogIn(*contract, "yamada@example.jp", "Yamada2024"));
}

// `vendor init` names the vendor's staff contract (adding it when missing);
// its staff are added as any users, and an office's licence cannot move to it.
TEST_F(RelayCliTest, VendorInitNamesTheStaffContractOnce) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  EXPECT_TRUE(Prints({"vendor", "init", "9999-0000-0001"},
                     "contract 9999-0000-0001 was added and is the vendor's staff contract: .*"
                     "daicho-relay user add 9999-0000-0001 USER`\n"));
  EXPECT_TRUE(
      Prints({"vendor", "init", "9999-0000-0001"}, "contract 9999-0000-0001 is the vendor's staff contract: .*\n"));
  ASSERT_EQ(Run({"user", "add", "9999-0000-0001", "staff@vendor.jp", "--password-file", PasswordFile("Staff2024x")})
                .exit_code,
            0);
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  RunResult other = Run({"vendor", "init", kContract});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("already 9999-0000-0001"), std::string::npos) << other.err;
  RunResult licence = Run({"contract", "licence", "9999-0000-0001", "--renews", "2026-04-01", "--options", "backup"});
  EXPECT_EQ(licence.exit_code, 1);
  EXPECT_NE(licence.err.find("vendor's staff contract"), std::string::npos) << licence.err;
}

TEST_F(RelayCliTest, PasswdReplacesThePassword) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  ASSERT_EQ(
      Run({"user", "add", kContract, "sato@example.jp", "--password-file", PasswordFile("OldPassw0rd")}).exit_code, 0);
  RunResult changed =
      Run({"user", "passwd", kContract, "sato@example.jp", "--password-file", PasswordFile("NewPassw0rd")});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  auto store = OpenLmdbRelay(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  auto contract = ContractNumber::Parse(kContract);
  ASSERT_DAICHO_OK(contract);
  EXPECT_EQ((*store)->LogIn(*contract, "sato@example.jp", "OldPassw0rd").status().code(), Code::kUnauthenticated);
  EXPECT_DAICHO_OK((*store)->LogIn(*contract, "sato@example.jp", "NewPassw0rd"));
}

TEST_F(RelayCliTest, BadInputGivesClearErrorsAndChangesNothing) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  RunResult malformed = Run({"contract", "add", "12-34"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("NNNN-NNNN-NNNN"), std::string::npos) << malformed.err;

  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  RunResult twice = Run({"contract", "add", kContract});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("already"), std::string::npos) << twice.err;

  RunResult short_password =
      Run({"user", "add", kContract, "ito@example.jp", "--password-file", PasswordFile("short")});
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
  WriteV2Store(dir_.Sub("relay"), contract, {{"Kato@Example.jp", "Passw0rd11"}, {"kato@example.jp", "Passw0rd22"}}, {});
  RunResult listed = Run({"user", "list", kContract});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out,
            "Kato@Example.jp  user   enabled   devices 0  last sync never\n"
            "kato@example.jp  user   enabled   devices 0  last sync never\n");
  EXPECT_NE(listed.err.find("differ only in letter case (Kato@Example.jp, kato@example.jp)"), std::string::npos)
      << listed.err;
  EXPECT_NE(listed.err.find("user remove " + std::string(kContract)), std::string::npos) << listed.err;

  RunResult removed = Run({"user", "remove", kContract, "kato@example.jp"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  listed = Run({"user", "list", kContract});
  EXPECT_EQ(listed.out, "Kato@Example.jp  user   enabled   devices 0  last sync never\n");
  EXPECT_EQ(listed.err, "");
  auto store = OpenLmdbRelay(dir_.Sub("relay"));
  ASSERT_DAICHO_OK(store);
  EXPECT_DAICHO_OK((*store)->LogIn(contract, "KATO@EXAMPLE.JP", "Passw0rd11"));
}

// Issue 12 item 7: a mistyped --data used to create (and serve) a new empty
// store silently; now only `init` creates one and every other command, serve
// included, refuses with what to do.
TEST_F(RelayCliTest, AMistypedDataDirectoryIsRefusedAndOnlyInitCreatesAStore) {
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"contract", "add", kContract}, std::vector<std::string>{"contract", "list"},
        std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"}}) {
    RunResult refused = Run(command);
    EXPECT_EQ(refused.exit_code, 1) << command[0] << " " << command[1] << ": " << refused.err;
    EXPECT_NE(refused.err.find("no relay store here (" + dir_.Sub("relay") +
                               "); create one with `daicho-relay --data " + dir_.Sub("relay") + " init`"),
              std::string::npos)
        << refused.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("relay")));
  // An existing but empty directory (made by a package, say) is no store either.
  std::filesystem::create_directories(dir_.Sub("relay"));
  EXPECT_EQ(Run({"contract", "list"}).exit_code, 1);

  RunResult created = Run({"init"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("created an empty relay store in " + dir_.Sub("relay")), std::string::npos) << created.out;
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  RunResult again = Run({"init"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already holds a relay store"), std::string::npos) << again.err;
  EXPECT_EQ(Run({"contract", "list"}).out.find(kContract), 0u) << "a second init must keep the store";

  // A directory of other files is never made into a store.
  WriteFile(dir_.Sub("other.txt"), "x");
  RunResult foreign =
      daicho::testing::RunProgram(DAICHO_RELAY_PATH, {"--data", dir_.path().string(), "init"}, dir_.path().string());
  EXPECT_EQ(foreign.exit_code, 1) << foreign.err;
}

TEST_F(RelayCliTest, VersionIsTheProjectVersion) {
  RunResult version = daicho::testing::RunProgram(DAICHO_RELAY_PATH, {"--version"}, dir_.path().string());
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out, "daicho-relay " DAICHO_VERSION "\n");
}

// Issue 12 item 7: contracts are listed, disabled (logins refused, data
// kept), enabled, and removed only when disabled and confirmed.
TEST_F(RelayCliTest, ContractsAreListedDisabledEnabledAndRemovedOnlyWhenDisabledWithYes) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  ASSERT_EQ(Run({"contract", "add", "1111-2222-3333"}).exit_code, 0);
  ASSERT_EQ(
      Run({"user", "add", kContract, "yamada@example.jp", "--password-file", PasswordFile("Yamada2024")}).exit_code, 0);
  RunResult listed = Run({"contract", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out,
            "1111-2222-3333  enabled   users 0  devices 0  key -\n"
            "1234-5678-9012  enabled   users 1  devices 0  key -\n");

  RunResult disabled = Run({"contract", "disable", kContract});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_NE(disabled.out.find("nothing is deleted"), std::string::npos) << disabled.out;
  EXPECT_NE(Run({"contract", "list"}).out.find("1234-5678-9012  disabled  users 1"), std::string::npos);
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    const Status refused =
        (*store)->LogIn(ContractNumber::Parse(kContract).value(), "yamada@example.jp", "Yamada2024").status();
    EXPECT_EQ(refused.code(), Code::kPermissionDenied) << refused;
  }
  ASSERT_EQ(Run({"contract", "enable", kContract}).exit_code, 0);
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    EXPECT_DAICHO_OK((*store)->LogIn(ContractNumber::Parse(kContract).value(), "yamada@example.jp", "Yamada2024"));
  }

  // Remove: --yes is required (usage), and the contract must be disabled.
  RunResult unconfirmed = Run({"contract", "remove", kContract});
  EXPECT_EQ(unconfirmed.exit_code, 2);
  EXPECT_NE(unconfirmed.err.find("--yes"), std::string::npos) << unconfirmed.err;
  RunResult enabled = Run({"contract", "remove", kContract, "--yes"});
  EXPECT_EQ(enabled.exit_code, 1);
  EXPECT_NE(enabled.err.find("disable it first"), std::string::npos) << enabled.err;
  ASSERT_EQ(Run({"contract", "disable", kContract}).exit_code, 0);
  RunResult removed = Run({"contract", "remove", kContract, "--yes"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(Run({"contract", "list"}).out, "1111-2222-3333  enabled   users 0  devices 0  key -\n");
  RunResult gone = Run({"user", "list", kContract});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("no contract"), std::string::npos) << gone.err;
  EXPECT_EQ(Run({"contract", "disable", "9999-9999-9999"}).exit_code, 1);
  EXPECT_EQ(Run({"contract", "enable", "12-34"}).exit_code, 2);
}

TEST_F(RelayCliTest, UsersAreDisabledAndEnabledWithoutLosingTheirSavedLogins) {
  ASSERT_NO_FATAL_FAILURE(AddSatoAndIto());
  const ContractNumber contract = ContractNumber::Parse(kContract).value();
  ReplicaId::Bytes bytes{};
  bytes[0] = 0x3f;
  const ReplicaId pc(bytes);
  std::string token;
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    token = (*store)->IssueDeviceToken(contract, "sato@example.jp", pc, "reception").value();
  }
  RunResult disabled = Run({"user", "disable", kContract, "Sato@example.jp"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_EQ(Run({"user", "list", kContract}).out,
            "ito@example.jp  user   enabled   devices 0  last sync never\n"
            "sato@example.jp  user   disabled  devices 1  last sync never\n");
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    EXPECT_EQ((*store)->AuthenticateDevice(contract, "sato@example.jp", token, pc).code(), Code::kPermissionDenied);
    EXPECT_DAICHO_OK((*store)->LogIn(contract, "ito@example.jp", "Ito202456"));
  }
  ASSERT_EQ(Run({"user", "enable", kContract, "sato@example.jp"}).exit_code, 0);
  EXPECT_EQ(Run({"user", "list", kContract}).out,
            "ito@example.jp  user   enabled   devices 0  last sync never\n"
            "sato@example.jp  user   enabled   devices 1  last sync never\n");
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    EXPECT_DAICHO_OK((*store)->AuthenticateDevice(contract, "sato@example.jp", token, pc));
  }
  EXPECT_EQ(Run({"user", "disable", kContract, "nobody@example.jp"}).exit_code, 1);
  EXPECT_EQ(Run({"user", "disable", kContract}).exit_code, 2);
}

// Issue 12 item 7: `device list` says when and from where each PC last synced.
TEST_F(RelayCliTest, DeviceListShowsEachPcsLastSyncAndAddress) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  ASSERT_EQ(Run({"user", "add", kContract, "sato@example.jp", "--password-file", PasswordFile("Sato20245")}).exit_code,
            0);
  const ContractNumber contract = ContractNumber::Parse(kContract).value();
  ReplicaId::Bytes one{}, two{};
  one[0] = 0x3f;
  two[0] = 0x7c;
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    ASSERT_DAICHO_OK((*store)->IssueDeviceToken(contract, "sato@example.jp", ReplicaId(one), "front desk"));
    ASSERT_DAICHO_OK((*store)->IssueDeviceToken(contract, "sato@example.jp", ReplicaId(two), "back office"));
    ASSERT_DAICHO_OK((*store)->RecordDeviceSync(contract, "sato@example.jp", ReplicaId(one), "127.0.0.9"));
  }
  RunResult listed = Run({"device", "list", kContract, "sato@example.jp"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::regex expected(
      "7c000000  never  -  back office\n"
      "3f000000  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  127\\.0\\.0\\.9  front desk\n");
  EXPECT_TRUE(std::regex_match(listed.out, expected)) << listed.out;
}

// Issue 14: the operator names a contract's first admin, sees each user's
// role and last sync, the office key's status and the audit log.
TEST_F(RelayCliTest, OperatorManagesAdminsAndSeesKeyStatusAndTheAuditLog) {
  ASSERT_NO_FATAL_FAILURE(AddSatoAndIto());
  RunResult made = Run({"user", "admin", kContract, "Sato@example.jp"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("now an admin"), std::string::npos) << made.out;
  ASSERT_EQ(Run({"user", "admin", kContract, "ito@example.jp"}).exit_code, 0);
  ASSERT_EQ(Run({"user", "unadmin", kContract, "ito@example.jp"}).exit_code, 0);
  EXPECT_EQ(Run({"user", "admin", kContract, "nobody@example.jp"}).exit_code, 1);
  EXPECT_EQ(Run({"user", "admin", kContract}).exit_code, 2);

  const ContractNumber contract = ContractNumber::Parse(kContract).value();
  RunResult key = Run({"key", "status", kContract});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  EXPECT_NE(key.out.find("no office key yet"), std::string::npos) << key.out;
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    ASSERT_DAICHO_OK((*store)->RecordDeviceSync(contract, "ito@example.jp", Origin(1), "127.0.0.9"));
    ASSERT_DAICHO_OK(
        (*store)->PublishOfficeKey(contract, crypto::WrappedOfficeKey{1, "passphrase", "recovery", ""}, 0));
  }
  const std::string stamp = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ";
  EXPECT_TRUE(
      Prints({"user", "list", kContract}, "ito@example.jp  user   enabled   devices 0  last sync " + stamp +
                                              " from 127\\.0\\.0\\.9\n"
                                              "sato@example.jp  admin  enabled   devices 0  last sync never\n"));
  // Times only: never key material.
  EXPECT_TRUE(Prints({"key", "status", kContract}, "key 1  created " + stamp + "  changed " + stamp + "\n"));
  EXPECT_TRUE(Prints({"audit", "list", kContract},
                     "(" + stamp + "  operator  cli  -  user\\.(unadmin|admin|add)  (ito|sato)@example\\.jp\n){5}"));
  const RunResult audit = Run({"audit", "list", kContract});
  EXPECT_NE(audit.out.find("  user.unadmin  ito@example.jp\n"), std::string::npos) << audit.out;
  EXPECT_LT(audit.out.find("user.unadmin"), audit.out.find("user.admin  ito")) << "newest first";
  RunResult last = Run({"audit", "list", kContract, "--limit", "1"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(std::count(last.out.begin(), last.out.end(), '\n'), 1) << last.out;
  EXPECT_NE(last.out.find("user.unadmin"), std::string::npos) << last.out;
  EXPECT_EQ(Run({"audit", "list", kContract, "--limit", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"audit", "list", "9999-9999-9999"}).exit_code, 1);
  EXPECT_EQ(Run({"key", "status", "9999-9999-9999"}).exit_code, 1);
}

// Issue 12 item 7: exit codes as the CLI's: 0 ok, 1 error, 2 usage.
TEST_F(RelayCliTest, UsageErrorsExitTwoAndRuntimeErrorsOne) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  EXPECT_EQ(Run({"contract"}).exit_code, 2);
  EXPECT_EQ(Run({"contract", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"user", "add", kContract}).exit_code, 2);
  EXPECT_EQ(Run({"serve"}).exit_code, 2);
  EXPECT_EQ(Run({"serve", "--listen", "127.0.0.1"}).exit_code, 2);
  EXPECT_EQ(Run({"serve", "--listen", "127.0.0.1:0", "--tls-cert", "c.pem"}).exit_code, 2);
  EXPECT_EQ(Run({"serve", "--listen", "127.0.0.1:0", "--trusted-proxy", "10.0.0.0/33"}).exit_code, 2);
  EXPECT_EQ(Run({"serve", "--listen", "127.0.0.1:0", "--trusted-proxy", "proxy.example.jp"}).exit_code, 2);
  EXPECT_EQ(Run({"serve", "--listen", "127.0.0.1:0", "--drain-seconds", "-1"}).exit_code, 2);
  EXPECT_EQ(daicho::testing::RunProgram(DAICHO_RELAY_PATH, {"contract", "list"}, dir_.path().string()).exit_code, 2);
  EXPECT_EQ(Run({"contract", "list"}).exit_code, 0);
  EXPECT_EQ(Run({"user", "list", kContract}).exit_code, 1);
  EXPECT_EQ(Run({"device", "list", kContract, "x@example.jp"}).exit_code, 1);
}

TEST_F(RelayCliTest, MailTestLandsInTheOutboxAndBadMailSettingsAreUsageErrors) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  RunResult sent = Run({"mail", "test", "--to", "taro@example.jp", "--mail-from", "noreply@relay.example.jp"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const std::string outbox = dir_.Sub("relay") + "/outbox";
  EXPECT_EQ(sent.out, "sent a test mail to taro@example.jp (outbox " + outbox + ")\n");
  std::vector<std::filesystem::path> mails;
  for (const auto& entry : std::filesystem::directory_iterator(outbox)) mails.push_back(entry.path());
  ASSERT_EQ(mails.size(), 1u);
  const std::string mail = daicho::testing::ReadFile(mails[0].string());
  EXPECT_NE(mail.find("To: <taro@example.jp>\r\n"), std::string::npos) << mail;

  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"mail", "test", "--to", "taro@example.jp"}, "--mail-from is needed"},
      {{"mail", "test", "--to", "taro", "--mail-from", "noreply@relay.example.jp"}, "not a mail address"},
      {{"mail", "test", "--to", "taro@example.jp", "--mail-from", "noreply@relay.example.jp", "--smtp-url",
        "http://127.0.0.1:1"},
       "must start with smtps://"},
      {{"mail", "test", "--to", "taro@example.jp", "--mail-from", "noreply@relay.example.jp", "--smtp-user", "u"},
       "need --smtp-url"},
  };
  for (const auto& [args, message] : refused) {
    RunResult result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
  }
  mails.clear();
  for (const auto& entry : std::filesystem::directory_iterator(outbox)) mails.push_back(entry.path());
  EXPECT_EQ(mails.size(), 1u);
}

// Issue 15: the vendor records a licence, imports filings (a bad file
// imports nothing), records a payment and reads the evaluation, as text side
// by side and as JSON. Days are relative to today in Japan, as the relay
// judges them by its clock.
TEST_F(RelayCliTest, VendorRecordsALicenceFilingsAndPaymentsAndReadsTheEntitlements) {
  using entitlements::Date;
  using std::chrono::days;
  using std::chrono::sys_days;
  const Date today = text::JapanDay(std::chrono::system_clock::now());
  // The current licence year began 30 days ago; its renewal was judged on
  // the year before.
  const Date renewed{sys_days(today) - days(30)};
  const Date first_renewal = entitlements::AddYears(renewed, -1);
  const std::string counted_day = text::FormatIsoDate(Date{sys_days(today) - days(100)});
  const std::string old_day = text::FormatIsoDate(Date{sys_days(today) - days(100 + 2 * 365)});
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ASSERT_EQ(Run({"contract", "add", kContract}).exit_code, 0);
  EXPECT_TRUE(Prints({"contract", "entitlements", kContract},
                     "contract +1234-5678-9012\nlicence year from +unmanaged\n(.|\n)*"));

  RunResult recorded = Run({"contract", "licence", kContract, "--renews", text::FormatIsoDate(first_renewal),
                            "--options", "backup,billing"});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_NE(recorded.out.find("Internet backup    REFUSED: short 2 (11,000 yen)"), std::string::npos) << recorded.out;

  // 39 companies filed for in the counted year and two years before (not
  // new), and one row whose day is no date: nothing is imported.
  std::string csv = "契約番号,会社ID,申請日\r\n";
  for (int i = 0; i < 39; ++i) {
    csv += std::string(kContract) + ",K-" + std::to_string(i) + "," + old_day + "\r\n";
    csv += std::string(kContract) + ",K-" + std::to_string(i) + "," + counted_day + "\r\n";
  }
  WriteFile(dir_.Sub("filings.csv"), csv + std::string(kContract) + ",K-99,2025-02-30\r\n");
  RunResult refused = Run({"filings", "import", dir_.Sub("filings.csv")});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("1 bad row, nothing was imported:\nline 80: filing day '2025-02-30' is not a date"),
            std::string::npos)
      << refused.err;
  EXPECT_TRUE(Prints({"filings", "list", kContract}, "no filings imported for contract 1234-5678-9012\n"));
  WriteFile(dir_.Sub("filings.csv"), csv);
  EXPECT_TRUE(Prints({"filings", "import", dir_.Sub("filings.csv")},
                     "imported 78 rows: 78 new, 0 already imported, for 1 contract\\(s\\); read as UTF-8\n"
                     "  1234-5678-9012\n"));
  EXPECT_TRUE(Prints({"filings", "import", dir_.Sub("filings.csv")},
                     "imported 78 rows: 0 new, 78 already imported, for 0 contract\\(s\\); read as UTF-8\n"));

  RunResult paid = Run({"contract", "pay", kContract, "--option", "backup", "--amount", "11000", "--reference", "R-1"});
  ASSERT_EQ(paid.exit_code, 0) << paid.err;
  EXPECT_NE(paid.out.find("recorded 11,000 yen for backup of contract 1234-5678-9012"), std::string::npos);
  EXPECT_EQ(
      Run({"contract", "pay", kContract, "--option", "backup", "--amount", "11000", "--reference", "R-1"}).exit_code, 1)
      << "a payment recorded twice";
  EXPECT_TRUE(Prints({"contract", "payments", kContract}, "[0-9-]{10}  backup  11,000 yen  licence year " +
                                                              text::FormatIsoDate(renewed) + "  R-1  operator\n"));

  RunResult json_run = Run({"contract", "entitlements", kContract, "--json"});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const nlohmann::json evaluation = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(evaluation["contract"], kContract);
  EXPECT_EQ(evaluation["today"], text::FormatIsoDate(today));
  const nlohmann::json& current = evaluation["current"];
  EXPECT_EQ(current["year_start"], text::FormatIsoDate(renewed));
  EXPECT_EQ(current["filings"], 39);
  EXPECT_EQ(current["backup"]["status"], "paid");
  EXPECT_EQ(current["billing"]["status"], "needs_payment");
  EXPECT_EQ(current["billing"]["shortfall"], 2);
  EXPECT_EQ(current["billing"]["fee_yen"], 11000);
  EXPECT_NE(current["billing"]["reason_ja"].get<std::string>().find(
                "請求管理: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"),
            std::string::npos);

  RunResult unmanaged = Run({"contract", "licence", kContract, "--unmanaged"});
  EXPECT_EQ(unmanaged.exit_code, 0) << unmanaged.err;
  EXPECT_NE(Run({"contract", "entitlements", kContract}).out.find("unmanaged"), std::string::npos);
  EXPECT_EQ(Run({"contract", "pay", kContract, "--option", "extra", "--amount", "5500"}).exit_code, 1);
  EXPECT_EQ(Run({"contract", "licence", kContract, "--options", "backup"}).exit_code, 1) << "no day given";
}

}  // namespace
}  // namespace daicho::relay
