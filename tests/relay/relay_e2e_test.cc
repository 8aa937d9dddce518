// End-to-end encryption through a real `daicho-relay serve` process, with
// RelayClient as an app embeds it: the relay and its log never see record
// values; PCs get the office key with the passphrase or the recovery code;
// a wrong passphrase gets nothing; a rotation keeps old changes readable to
// holders of the new key and locks out holders of only the old one; a relay
// password reset leaves data access intact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "daicho/office_key.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "relay/relay_service.h"
#include "tests/relay/office_pc.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using testing::CreateRelayStoreWithUser;
using testing::RelayProcess;
using testing::RunRelayCommand;

constexpr char kContract[] = "2468-1357-0000";
constexpr char kUser[] = "office@example.jp";
constexpr char kPassword[] = "Office2024";
constexpr char kPassphrase[] = "桜の木の下で 2024 office";
constexpr char kCanaryJapanese[] = "株式会社カナリア建設（許可番号）";
constexpr char kCanaryAscii[] = "CANARY-ascii-7f3e9b";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

using Pc = testing::OfficePc;
using testing::NameOf;
using testing::SetName;

class RelayE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_DAICHO_OK(CreateRelayStoreWithUser(dir_.Sub("relay"), kContract, kUser, kPassword));
    relay_ = std::make_unique<RelayProcess>(dir_.Sub("relay"), dir_.Sub("relay.log"));
    ASSERT_GT(relay_->port(), 0);
  }

  // A new PC's replica in directory `name` and its client, not connected.
  Pc OpenPc(const std::string& name) { return testing::OpenOfficePc(dir_.Sub(name)); }

  // The relay settings of the test's contract and user.
  RelaySettings Settings(const std::string& device_name = "") const {
    RelaySettings settings;
    settings.url = relay_->url();
    settings.contract = kContract;
    settings.user = kUser;
    settings.device_name = device_name;
    return settings;
  }

  // A PC connected to the relay (saved login), holding no office key yet.
  Pc NewPc(const std::string& name) { return testing::ConnectedOfficePc(dir_.Sub(name), Settings(name), kPassword); }

  testing::TempDir dir_;
  std::unique_ptr<RelayProcess> relay_;
};

TEST_F(RelayE2eTest, RecordValuesNeverReachTheRelayOrItsLogInClear) {
  Pc a = NewPc("a");
  auto recovery_code = InitOfficeKey(*a.client, kPassphrase);
  ASSERT_DAICHO_OK(recovery_code);
  SetName(*a.replica, "c1", kCanaryJapanese);
  SetName(*a.replica, "c2", kCanaryAscii);
  ASSERT_DAICHO_OK(a.client->Sync());

  Pc b = NewPc("b");
  SyncOptions unlock;
  unlock.passphrase = kPassphrase;
  ASSERT_DAICHO_OK(b.client->Sync(unlock));
  EXPECT_EQ(NameOf(*b.replica, "c1"), kCanaryJapanese);
  EXPECT_EQ(NameOf(*b.replica, "c2"), kCanaryAscii);
  ASSERT_EQ(relay_->Stop(), 0);

  const std::string log = ReadFile(dir_.Sub("relay.log"));
  EXPECT_NE(log.find("event=session_end"), std::string::npos) << "the relay logged no session: " << log;
  size_t files = 0;
  std::vector<std::filesystem::path> scanned = {dir_.Sub("relay.log")};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.Sub("relay"))) {
    if (entry.is_regular_file()) scanned.push_back(entry.path());
  }
  for (const auto& path : scanned) {
    const std::string bytes = ReadFile(path);
    ++files;
    for (const std::string& canary :
         std::vector<std::string>{kCanaryJapanese, kCanaryAscii, kPassphrase, *recovery_code}) {
      EXPECT_EQ(bytes.find(canary), std::string::npos) << path << " holds \"" << canary << "\" in clear";
    }
  }
  EXPECT_GE(files, 2u);  // the log and the relay's data file at least
}

// The log lines of this test's relay containing `part`.
std::vector<std::string> LinesWith(const std::string& log, const std::string& part) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(part) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

// Issue 12 item 6: the operator's log is one stream of lines, each starting
// with an ISO-8601 UTC timestamp, naming contract, user and PC on every
// session line (refused logins too), counting changes and bytes from the
// PC's point of view (uploaded = what the PC sent), and naming key setup,
// rotation and passphrase changes.
TEST_F(RelayE2eTest, LogLinesCarryATimestampWhoAndDirectionsAsThePcSeesThem) {
  Pc a = NewPc("a");
  const std::string a_id = a.replica->id().ToHex().substr(0, 8);
  ASSERT_DAICHO_OK(InitOfficeKey(*a.client, kPassphrase));
  for (int i = 0; i < 3; ++i) SetName(*a.replica, "c" + std::to_string(i), "uploaded by a");
  ASSERT_DAICHO_OK(a.client->Sync());
  Pc b = NewPc("b");
  const std::string b_id = b.replica->id().ToHex().substr(0, 8);
  SyncOptions unlock;
  unlock.passphrase = kPassphrase;
  ASSERT_DAICHO_OK(b.client->Sync(unlock));

  // A login with a wrong password, from a third PC.
  Pc intruder = OpenPc("intruder");
  EXPECT_EQ(intruder.client->Connect(Settings("intruder pc"), "Wrong2024x", /*save_password=*/true).code(),
            Code::kUnauthenticated);

  ASSERT_DAICHO_OK(RotateOfficeKey(*a.client, "a rotated passphrase"));
  ASSERT_DAICHO_OK(ChangeOfficePassphrase(*a.client, "a changed passphrase"));
  ASSERT_EQ(relay_->Stop(), 0);
  const std::string log = relay_->log();

  const std::regex stamped(
      "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z event=[a-z_]+( [a-z_]+=(\"([^\"\\\\]|\\\\.)*\"|[^ \"]+))*");
  std::vector<std::string> lines = LinesWith(log, "");
  ASSERT_GE(lines.size(), 2u) << log;
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, stamped)) << line;
  EXPECT_NE(lines.front().find(" event=relay_started listen=127.0.0.1:"), std::string::npos) << lines.front();
  EXPECT_NE(lines.back().find(" event=relay_stopped signal=SIGTERM"), std::string::npos) << lines.back();

  // A's upload: 3 changes up, nothing down.
  const auto a_uploads = LinesWith(log, "contract=" + std::string(kContract) + " user=" + kUser + " device=" + a_id +
                                            " outcome=\"ok\" changes_uploaded=3 changes_downloaded=0");
  EXPECT_EQ(a_uploads.size(), 1u) << log;
  // B's download: the same 3 changes down, nothing up.
  const auto b_downloads = LinesWith(log, "device=" + b_id +
                                              " outcome=\"ok\" changes_uploaded=0 "
                                              "changes_downloaded=3");
  EXPECT_EQ(b_downloads.size(), 1u) << log;
  for (const std::string& line : a_uploads) {
    std::smatch bytes;
    ASSERT_TRUE(std::regex_search(line, bytes, std::regex("bytes_uploaded=(\\d+) bytes_downloaded=(\\d+)$"))) << line;
    EXPECT_GT(std::stoull(bytes[1]), std::stoull(bytes[2])) << "A sent more than it got: " << line;
  }
  // The refused login names whom it tried to log in as.
  const std::string intruder_id = intruder.replica->id().ToHex().substr(0, 8);
  const auto refused = LinesWith(log, "device=" + intruder_id);
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_NE(refused[0].find("event=session_end peer=127.0.0.1:"), std::string::npos) << refused[0];
  EXPECT_NE(refused[0].find("contract=" + std::string(kContract) + " user=" + kUser + " device=" + intruder_id +
                            " device_name=\"intruder pc\" outcome=\"unauthenticated: wrong contract number, user id "
                            "or password\""),
            std::string::npos)
      << refused[0];

  // Key setup, rotation and passphrase change, each named, by A.
  const std::string by_a = "contract=" + std::string(kContract) + " user=" + kUser + " device=" + a_id;
  EXPECT_EQ(LinesWith(log, "event=office_key_published peer=127.0.0.1 " + by_a + " kind=init key_id=1").size(), 1u)
      << log;
  EXPECT_EQ(LinesWith(log, "event=office_key_published peer=127.0.0.1 " + by_a + " kind=rotation key_id=2").size(), 1u)
      << log;
  EXPECT_EQ(LinesWith(log, "event=office_key_published peer=127.0.0.1 " + by_a + " kind=rewrap key_id=2").size(), 1u)
      << log;
}

TEST_F(RelayE2eTest, PassphraseAndRecoveryCodeOpenEverythingAndAWrongPassphraseNothing) {
  Pc a = NewPc("a");
  auto recovery_code = InitOfficeKey(*a.client, kPassphrase);
  ASSERT_DAICHO_OK(recovery_code);
  // The first PC's key is kept owner-only in its replica directory.
  const auto key_file = std::filesystem::path(a.replica->path()) / "office.key";
  ASSERT_TRUE(std::filesystem::exists(key_file));
  EXPECT_EQ(std::filesystem::status(key_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Only one first PC: a second init is refused and changes nothing.
  EXPECT_EQ(InitOfficeKey(*a.client, "another passphrase").status().code(), Code::kFailedPrecondition);
  SetName(*a.replica, "c1", kCanaryJapanese);
  ASSERT_DAICHO_OK(a.client->Sync());

  Pc b = NewPc("b");
  ASSERT_DAICHO_OK(UnlockOfficeKey(*b.client, kPassphrase));
  ASSERT_DAICHO_OK(b.client->Sync());
  EXPECT_EQ(NameOf(*b.replica, "c1"), kCanaryJapanese);

  // Typed loosely (lower case, spaces) as people do.
  std::string typed = *recovery_code;
  for (char& c : typed) c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Pc c = NewPc("c");
  ASSERT_DAICHO_OK(RecoverOfficeKey(*c.client, typed));
  ASSERT_DAICHO_OK(c.client->Sync());
  EXPECT_EQ(NameOf(*c.replica, "c1"), kCanaryJapanese);

  Pc d = NewPc("d");
  const Status wrong = UnlockOfficeKey(*d.client, "not the office passphrase");
  EXPECT_EQ(wrong.code(), Code::kUnauthenticated) << wrong;
  EXPECT_NE(wrong.message().find("passphrase is wrong"), std::string::npos) << wrong;
  auto refused = d.client->Sync();
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("key unlock"), std::string::npos) << refused.status();
  EXPECT_TRUE(d.replica->GetVersionVector()->empty());
  EXPECT_EQ(NameOf(*d.replica, "c1"), "");
  EXPECT_EQ(GetOfficeKeyStatus(*d.client)->key_id, 0u);
}

TEST_F(RelayE2eTest, RotationKeepsOldChangesOpenForTheNewKeyAndLocksOutTheOldOne) {
  Pc a = NewPc("a");
  ASSERT_DAICHO_OK(InitOfficeKey(*a.client, kPassphrase));
  SetName(*a.replica, "old", "before the rotation");
  ASSERT_DAICHO_OK(a.client->Sync());
  Pc b = NewPc("b");
  SyncOptions unlock;
  unlock.passphrase = kPassphrase;
  ASSERT_DAICHO_OK(b.client->Sync(unlock));
  const VersionVector b_before = *b.replica->GetVersionVector();

  // A member left: a new key and a new passphrase.
  const std::string new_passphrase = "a new office passphrase";
  auto new_code = RotateOfficeKey(*a.client, new_passphrase);
  ASSERT_DAICHO_OK(new_code);
  EXPECT_EQ(GetOfficeKeyStatus(*a.client)->key_id, 2u);
  EXPECT_EQ(GetOfficeKeyStatus(*a.client)->keys_held, 2u);
  SetName(*a.replica, "new", "after the rotation");
  ASSERT_DAICHO_OK(a.client->Sync());

  // B holds only key 1: it cannot open the new change, and stores nothing.
  auto locked_out = b.client->Sync();
  EXPECT_EQ(locked_out.status().code(), Code::kFailedPrecondition) << locked_out.status();
  EXPECT_NE(locked_out.status().message().find("rotated"), std::string::npos) << locked_out.status();
  EXPECT_EQ(*b.replica->GetVersionVector(), b_before);
  EXPECT_EQ(NameOf(*b.replica, "new"), "");
  // The old passphrase no longer opens the office key.
  EXPECT_EQ(UnlockOfficeKey(*b.client, kPassphrase).code(), Code::kUnauthenticated);

  // A new PC with only the new recovery code reads changes of both keys.
  Pc c = NewPc("c");
  ASSERT_DAICHO_OK(RecoverOfficeKey(*c.client, *new_code));
  ASSERT_DAICHO_OK(c.client->Sync());
  EXPECT_EQ(NameOf(*c.replica, "old"), "before the rotation");
  EXPECT_EQ(NameOf(*c.replica, "new"), "after the rotation");

  // B unlocks with the new passphrase (a sync can do it) and catches up.
  SyncOptions unlock_new;
  unlock_new.passphrase = new_passphrase;
  ASSERT_DAICHO_OK(b.client->Sync(unlock_new));
  EXPECT_EQ(NameOf(*b.replica, "new"), "after the rotation");

  // Changing the passphrase keeps the key: the old one stops working.
  const std::string third_passphrase = "the third passphrase";
  ASSERT_DAICHO_OK(ChangeOfficePassphrase(*b.client, third_passphrase));
  Pc d = NewPc("d");
  EXPECT_EQ(UnlockOfficeKey(*d.client, new_passphrase).code(), Code::kUnauthenticated);
  ASSERT_DAICHO_OK(UnlockOfficeKey(*d.client, third_passphrase));
  EXPECT_EQ(GetOfficeKeyStatus(*d.client)->key_id, 2u);
}

TEST_F(RelayE2eTest, ARelayPasswordResetLeavesDataAccessIntact) {
  Pc a = NewPc("a");
  ASSERT_DAICHO_OK(InitOfficeKey(*a.client, kPassphrase));
  SetName(*a.replica, "c1", kCanaryAscii);
  ASSERT_DAICHO_OK(a.client->Sync());

  // The vendor resets the user's login password (e-mailed reset).
  const std::string password_file = dir_.Sub("new-password");
  std::ofstream(password_file) << "ResetPassword9\n";
  ASSERT_EQ(RunRelayCommand(
                {"--data", dir_.Sub("relay"), "user", "passwd", kContract, kUser, "--password-file", password_file}),
            0);

  // A new PC logs in with the new password and opens the data with the
  // unchanged office passphrase.
  Pc b = OpenPc("b");
  ASSERT_DAICHO_OK(b.client->Connect(Settings(), "ResetPassword9", /*save_password=*/false));
  OfficeKeyOptions key_options;
  key_options.password = "ResetPassword9";
  key_options.store_key = false;  // asked per session, kept in memory only
  ASSERT_DAICHO_OK(UnlockOfficeKey(*b.client, kPassphrase, key_options));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(b.replica->path()) / "office.key"));
  SyncOptions sync;
  sync.password = "ResetPassword9";
  ASSERT_DAICHO_OK(b.client->Sync(sync));
  EXPECT_EQ(NameOf(*b.replica, "c1"), kCanaryAscii);
  // The reset signed the user out on every PC (issue 11 item 9): the first
  // PC's saved login is refused with a clear reason and recorded as such,
  // and once it connects with the new password its stored key still works.
  Status refused = a.client->Sync().status();
  EXPECT_EQ(refused.code(), Code::kUnauthenticated);
  EXPECT_NE(refused.message().find("saved login was revoked or replaced"), std::string::npos) << refused;
  EXPECT_TRUE(a.client->GetBackupStatus()->saved_login_refused);
  RelaySettings a_settings = *a.client->Settings().value();
  a_settings.device_token.clear();
  ASSERT_DAICHO_OK(a.client->Connect(a_settings, "ResetPassword9", /*save_password=*/true));
  EXPECT_FALSE(a.client->GetBackupStatus()->saved_login_refused);
  ASSERT_DAICHO_OK(a.client->Sync());
}

}  // namespace
}  // namespace daicho::relay
