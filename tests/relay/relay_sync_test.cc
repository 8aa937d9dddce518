// Replicas syncing through a real `daicho-relay serve` process on loopback:
// convergence, conflicts kept on every replica, logins refused cleanly,
// contracts isolated, a restarted relay keeping everything, device tokens
// (issued, scoped, revoked while serving) and live pushes to watch clients.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/key_ring.h"
#include "daicho/replica.h"
#include "relay/relay_service.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "sync/wire_codec.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_filesystem.h"
#include "tests/testing/websocket_client.h"
#include "tests/transport/raw_socket.h"
#include "tests/transport/watch_client.h"
#include "transport/sync_client.h"

namespace daicho::relay {
namespace {

using testing::RelayProcess;
using testing::RunRelayCommand;

constexpr char kContract[] = "1234-5678-9012";
constexpr char kOtherContract[] = "9999-0000-1111";

// The relay stores only changes sealed under a contract's office key. These
// tests are about the relay, not about unlocking keys (relay_e2e_test), so
// each contract gets a key whose envelopes are placeholders the relay never
// opens, and the test's PCs simply hold the key.
const crypto::KeyRing& OfficeKey(const std::string& contract) {
  static const auto* keys = new std::map<std::string, crypto::KeyRing>([] {
    std::map<std::string, crypto::KeyRing> made;
    for (const char* number : {kContract, kOtherContract}) made.emplace(number, crypto::KeyRing::Create().value());
    return made;
  }());
  // Malformed or unknown contracts are refused at login, before any key use.
  const auto it = keys->find(contract);
  return it != keys->end() ? it->second : keys->at(kContract);
}

Status PublishPlaceholderOfficeKey(RelayService& store, const ContractNumber& contract) {
  return store.PublishOfficeKey(contract, crypto::WrappedOfficeKey{1, "passphrase-envelope", "recovery-envelope", ""},
                                0);
}

// The session options of a login as `user` of `contract`.
sync::SessionOptions LoginAs(const std::string& contract, const std::string& user, sync::Credentials credentials) {
  sync::SessionOptions session;
  session.contract = contract;
  session.user = user;
  session.credentials = std::move(credentials);
  return session;
}

class RelaySyncTest : public ::testing::Test {
 public:
  void SetUp() override { CreateStore(dir_.Sub("relay")); }

  // The relay store of these tests in `dir`: both contracts with their
  // office keys and a user each.
  static void CreateStore(const std::string& dir) {
    auto store = OpenLmdbRelay(dir);
    ASSERT_DAICHO_OK(store);
    for (const char* number : {kContract, kOtherContract}) {
      auto contract = ContractNumber::Parse(number);
      ASSERT_DAICHO_OK(contract);
      ASSERT_DAICHO_OK((*store)->AddContract(*contract));
      ASSERT_DAICHO_OK(PublishPlaceholderOfficeKey(**store, *contract));
      // Made now, so that PC processes forked later hold the same keys.
      (void)OfficeKey(number);
    }
    ASSERT_DAICHO_OK((*store)->AddUser(*ContractNumber::Parse(kContract), "yamada@example.jp", "Yamada2024"));
    ASSERT_DAICHO_OK((*store)->AddUser(*ContractNumber::Parse(kOtherContract), "other@example.jp", "Other2024"));
  }

  std::unique_ptr<Replica> OpenReplica(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    auto replica = Replica::Open(dir_.Sub(name), options);
    EXPECT_DAICHO_OK(replica);
    return replica.ok() ? std::move(replica).value() : nullptr;
  }

  static Result<transport::SyncReport> Sync(const RelayProcess& relay, Replica& replica,
                                            const std::string& contract = kContract,
                                            const std::string& user = "yamada@example.jp",
                                            const std::string& password = "Yamada2024",
                                            size_t max_batch_bytes = 1 << 20) {
    sync::ReplicaChangeStore store(replica);
    sync::SealedChangeStore sealed(store, contract, OfficeKey(contract).Clone());
    sync::SessionOptions session = LoginAs(contract, user, sync::PasswordCredential{password});
    session.max_batch_bytes = max_batch_bytes;
    return transport::SyncOnce(relay.url(), sealed, replica.id(), session);
  }

  static Result<transport::SyncReport> SyncFor(const RelayProcess& relay, Replica& replica) {
    return Sync(relay, replica);
  }

  static void Set(Replica& replica, const std::string& id, const std::string& field, const std::string& value) {
    WriteTransaction txn = replica.BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", id, field, value));
    ASSERT_DAICHO_OK(txn.Commit());
  }

  testing::TempDir dir_;
};

// Issue 11 item 7: the relay's disk fills up. An upload is refused with a
// clear error (the PC keeps its changes and retries later), the operator's
// log says the disk is full and where, downloads go on, and once space is
// freed the upload goes through.
TEST_F(RelaySyncTest, FullDiskRefusesUploadsClearlyAndKeepsServingDownloads) {
  testing::TinyFilesystem fs;
  const std::string disk = dir_.Sub("disk");
  const std::string why = fs.Mount(disk, 8 << 20);
  if (!why.empty()) GTEST_SKIP() << "no tiny file system here: " << why;
  const std::string data = disk + "/relay";
  ASSERT_NO_FATAL_FAILURE(CreateStore(data));
  const std::string log = dir_.Sub("relay.log");
  RelayProcess relay(data, log);
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  Set(*a, "c1", "name", "佐藤商店");
  ASSERT_DAICHO_OK(Sync(relay, *a));

  ASSERT_TRUE(fs.Fill());
  // Far more than the few pages LMDB may still find free inside its file.
  const std::string memo(512 << 10, 'm');
  Set(*a, "c2", "memo", memo);
  auto refused = Sync(relay, *a);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable) << refused.status();
  EXPECT_NE(refused.status().message().find("cannot use its storage now; try again later"), std::string::npos)
      << refused.status();
  const std::string disk_full =
      "the disk is full (0 MB free on tmpfs, mounted at " + disk + "); free space and retry — nothing was lost";
  testing::WaitFor([&] { return testing::ReadFile(log).find(disk_full) != std::string::npos; });
  EXPECT_NE(testing::ReadFile(log).find(disk_full), std::string::npos) << testing::ReadFile(log);

  // Another PC still downloads everything stored.
  auto b = OpenReplica("b");
  ASSERT_DAICHO_OK(Sync(relay, *b));
  auto c1 = b->Get("customers", "c1");
  ASSERT_DAICHO_OK(c1);
  EXPECT_EQ(c1->Find("name")->value, Value("佐藤商店"));
  EXPECT_EQ(b->Get("customers", "c2").status().code(), Code::kNotFound);

  fs.Free();
  ASSERT_DAICHO_OK(Sync(relay, *a));
  ASSERT_DAICHO_OK(Sync(relay, *b));
  auto c2 = b->Get("customers", "c2");
  ASSERT_DAICHO_OK(c2);
  EXPECT_EQ(c2->Find("memo")->value, Value(memo));
}

TEST_F(RelaySyncTest, ThreeOfflineReplicasConvergeWithTheConflictOnEveryOne) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  auto b = OpenReplica("b");
  auto c = OpenReplica("c");
  Set(*a, "yamada", "trade_name", "株式会社山田建設");
  ASSERT_DAICHO_OK(Sync(relay, *a));
  ASSERT_DAICHO_OK(Sync(relay, *b));
  ASSERT_DAICHO_OK(Sync(relay, *c));
  // Offline edits: a different field on each, and the same field on a and b.
  Set(*a, "yamada", "phone", "03-1111-1111");
  Set(*b, "yamada", "phone", "03-2222-2222");
  Set(*c, "yamada", "address", "東京都新宿区");
  for (int round = 0; round < 2; ++round) {
    for (Replica* r : {a.get(), b.get(), c.get()}) ASSERT_DAICHO_OK(Sync(relay, *r));
  }
  const VersionVector vv = *a->GetVersionVector();
  for (Replica* r : {a.get(), b.get(), c.get()}) {
    EXPECT_EQ(*r->GetVersionVector(), vv);
    auto record = r->Get("customers", "yamada");
    ASSERT_DAICHO_OK(record);
    EXPECT_EQ(record->Find("address")->value, Value("東京都新宿区"));
    EXPECT_EQ(record->Find("trade_name")->value, Value("株式会社山田建設"));
    const FieldView* phone = record->Find("phone");
    ASSERT_NE(phone, nullptr);
    EXPECT_TRUE(phone->conflict);
    EXPECT_EQ(phone->siblings.size(), 2u);
  }
}

// Six PCs of one office, all logged in as the same user, sync at the same
// time (twice each, concurrently), then once more in turn: every PC and the
// relay hold every change, and the field all six edited is one conflict.
TEST_F(RelaySyncTest, ManyPcsUnderOneUserSyncAtOnceAndConverge) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  constexpr int kPcs = 6;
  constexpr int kChangesEach = 40;
  std::vector<std::unique_ptr<Replica>> pcs;
  for (int p = 0; p < kPcs; ++p) {
    pcs.push_back(OpenReplica("pc" + std::to_string(p)));
    ASSERT_NE(pcs.back(), nullptr);
    for (int i = 0; i < kChangesEach; ++i) {
      Set(*pcs.back(), "pc" + std::to_string(p) + "-c" + std::to_string(i), "trade_name",
          "record " + std::to_string(i));
    }
    Set(*pcs.back(), "shared", "phone", "03-0000-000" + std::to_string(p));
  }
  std::vector<Status> outcomes(kPcs * 2);
  {
    std::vector<std::jthread> threads;
    threads.reserve(kPcs);
    for (int p = 0; p < kPcs; ++p) {
      threads.emplace_back([&, p] {
        for (int round = 0; round < 2; ++round) {
          auto report = Sync(relay, *pcs[p]);
          outcomes[p * 2 + round] = report.ok() ? Status::Ok() : report.status();
        }
      });
    }
  }
  for (const Status& outcome : outcomes) EXPECT_DAICHO_OK(outcome);
  for (auto& pc : pcs) ASSERT_DAICHO_OK(Sync(relay, *pc));

  const VersionVector vv = *pcs[0]->GetVersionVector();
  EXPECT_EQ(vv.size(), static_cast<size_t>(kPcs));
  for (int p = 0; p < kPcs; ++p) {
    EXPECT_EQ(*pcs[p]->GetVersionVector(), vv) << "pc" << p;
    EXPECT_EQ(vv.Get(pcs[p]->id()), static_cast<uint64_t>(kChangesEach + 1));
    auto shared = pcs[p]->Get("customers", "shared");
    ASSERT_DAICHO_OK(shared);
    const FieldView* phone = shared->Find("phone");
    ASSERT_NE(phone, nullptr);
    EXPECT_TRUE(phone->conflict);
    EXPECT_EQ(phone->siblings.size(), static_cast<size_t>(kPcs));
    auto other =
        pcs[p]->Get("customers", "pc" + std::to_string((p + 1) % kPcs) + "-c" + std::to_string(kChangesEach - 1));
    EXPECT_DAICHO_OK(other);
  }
}

TEST_F(RelaySyncTest, BadLoginsAreRefusedWithClearErrorsAndChangeNothing) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  Set(*a, "c1", "name", "secret customer");

  auto wrong_password = Sync(relay, *a, kContract, "yamada@example.jp", "WrongPass1");
  ASSERT_FALSE(wrong_password.ok());
  EXPECT_EQ(wrong_password.status().code(), Code::kUnauthenticated) << wrong_password.status();
  auto unknown_user = Sync(relay, *a, kContract, "nobody@example.jp", "Yamada2024");
  ASSERT_FALSE(unknown_user.ok());
  EXPECT_EQ(unknown_user.status().code(), Code::kUnauthenticated) << unknown_user.status();
  auto malformed = Sync(relay, *a, "1234-5678", "yamada@example.jp", "Yamada2024");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.status().code(), Code::kUnauthenticated) << malformed.status();
  EXPECT_NE(malformed.status().message().find("NNNN-NNNN-NNNN"), std::string::npos) << malformed.status();

  // Another contract's valid login sees nothing of this contract.
  ASSERT_DAICHO_OK(Sync(relay, *a));
  auto other = OpenReplica("other");
  ASSERT_DAICHO_OK(Sync(relay, *other, kOtherContract, "other@example.jp", "Other2024"));
  EXPECT_TRUE(other->GetVersionVector()->empty());
  EXPECT_EQ(other->Get("customers", "c1").status().code(), Code::kNotFound);
}

TEST_F(RelaySyncTest, RepeatedWrongPasswordsThrottleTheAccountOverTheWire) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto refused = Sync(relay, *a, kContract, "yamada@example.jp", "Guessing" + std::to_string(attempt));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status();
  }
  // Now even the right password is refused for a while, without being checked.
  auto throttled = Sync(relay, *a);
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.status().code(), Code::kUnavailable) << throttled.status();
  EXPECT_NE(throttled.status().message().find("too many failed logins"), std::string::npos) << throttled.status();
  // Other accounts are not affected.
  auto other = OpenReplica("other");
  EXPECT_DAICHO_OK(Sync(relay, *other, kOtherContract, "other@example.jp", "Other2024"));
}

// Issue 12 item 4: `user passwd`, run beside the serving relay, lifts the
// account's throttle there too (the count belongs to the old password).
TEST_F(RelaySyncTest, APasswordSetByTheOperatorLiftsTheThrottleOfTheRunningRelay) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_EQ(Sync(relay, *a, kContract, "yamada@example.jp", "Guessing" + std::to_string(attempt)).status().code(),
              Code::kUnauthenticated);
  }
  ASSERT_EQ(Sync(relay, *a).status().code(), Code::kUnavailable);
  const std::string password_file = dir_.Sub("new-password");
  std::ofstream(password_file) << "Yamada2025\n";
  ASSERT_EQ(RunRelayCommand({"--data", dir_.Sub("relay"), "user", "passwd", kContract, "yamada@example.jp",
                             "--password-file", password_file}),
            0);
  EXPECT_DAICHO_OK(Sync(relay, *a, kContract, "yamada@example.jp", "Yamada2025"));
}

TEST_F(RelaySyncTest, StopsCleanlyOnSigtermAndKeepsEverythingAcrossARestart) {
  auto a = OpenReplica("a");
  for (int i = 0; i < 50; ++i) Set(*a, "c" + std::to_string(i), "name", "customer " + std::to_string(i));
  {
    RelayProcess relay(dir_.Sub("relay"));
    ASSERT_GT(relay.port(), 0);
    ASSERT_DAICHO_OK(Sync(relay, *a));
    const int status = relay.Stop();
    ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal instead of exiting";
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  RelayProcess restarted(dir_.Sub("relay"));
  ASSERT_GT(restarted.port(), 0);
  auto b = OpenReplica("b");
  auto report = Sync(restarted, *b);
  ASSERT_DAICHO_OK(report);
  EXPECT_EQ(report->changes_down, 50u);
  EXPECT_EQ(*b->GetVersionVector(), *a->GetVersionVector());
}

// A large upload in one-change batches (each acknowledged after the relay's
// commit), for the cut tests: 600 changes of ~6 KB, 3.6 MB in all.
constexpr int kUploadChanges = 600;
void CommitManySmallChanges(Replica& replica) {
  const std::string note(2000, 'x');
  for (int i = 0; i < kUploadChanges; ++i) {
    WriteTransaction txn = replica.BeginWrite();
    for (int k = 0; k < 3; ++k) {
      ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i * 3 + k), "note", note + std::to_string(i)));
    }
    ASSERT_DAICHO_OK(txn.Commit());
  }
}

// Waits until the relay's data file has grown past `bytes`: part of the
// upload is committed there, so a cut now falls mid-upload.
void WaitForRelayData(const std::string& relay_dir, uintmax_t bytes) {
  std::error_code ec;
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::file_size(relay_dir + "/data.mdb", ec) >= bytes && !ec; },
                               std::chrono::seconds(30), std::chrono::milliseconds(2)))
      << "the upload made no progress";
}

// After a cut: what the relay holds (seen by a fresh replica's download),
// then the uploader's second sync must send exactly the rest.
void CheckResumeSendsOnlyTheRest(RelaySyncTest& test, const RelayProcess& relay, Replica& uploader, Replica& fresh) {
  auto seen = RelaySyncTest::SyncFor(relay, fresh);
  ASSERT_DAICHO_OK(seen);
  const uint64_t held = fresh.GetVersionVector()->Get(uploader.id());
  EXPECT_GT(held, 0u) << "the cut came before any batch was acknowledged";
  EXPECT_LT(held, static_cast<uint64_t>(kUploadChanges)) << "the cut came after the upload ended";
  auto resumed = RelaySyncTest::SyncFor(relay, uploader);
  ASSERT_DAICHO_OK(resumed);
  EXPECT_EQ(resumed->changes_up, kUploadChanges - held) << "acknowledged batches were sent again";
  ASSERT_DAICHO_OK(RelaySyncTest::SyncFor(relay, fresh));
  EXPECT_EQ(*fresh.GetVersionVector(), *uploader.GetVersionVector());
  auto last = fresh.Get("customers", "c" + std::to_string(kUploadChanges * 3 - 1));
  ASSERT_DAICHO_OK(last);
  (void)test;
}

TEST_F(RelaySyncTest, RelayKilledMidUploadResumesWithoutResendingOrLosing) {
  auto a = OpenReplica("a");
  ASSERT_NO_FATAL_FAILURE(CommitManySmallChanges(*a));
  auto relay = std::make_unique<RelayProcess>(dir_.Sub("relay"));
  ASSERT_GT(relay->port(), 0);
  Result<transport::SyncReport> cut = Status(Code::kInternal, "not run");
  const uintmax_t empty_size = std::filesystem::file_size(dir_.Sub("relay") + "/data.mdb");
  std::thread upload([&] { cut = Sync(*relay, *a, kContract, "yamada@example.jp", "Yamada2024", 1); });
  WaitForRelayData(dir_.Sub("relay"), empty_size + (1u << 20));
  relay->Kill();
  const auto killed_at = std::chrono::steady_clock::now();
  upload.join();
  // The PC notices a dead relay at once, not at the next keep-alive ping.
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(10));
  ASSERT_FALSE(cut.ok()) << "the upload finished before the relay was killed";
  EXPECT_EQ(cut.status().code(), Code::kUnavailable) << cut.status();

  relay = std::make_unique<RelayProcess>(dir_.Sub("relay"));
  ASSERT_GT(relay->port(), 0);
  auto b = OpenReplica("b");
  CheckResumeSendsOnlyTheRest(*this, *relay, *a, *b);
}

TEST_F(RelaySyncTest, ClientKilledMidUploadResumesWithoutResendingOrLosing) {
  {
    auto a = OpenReplica("a");
    ASSERT_NO_FATAL_FAILURE(CommitManySmallChanges(*a));
  }
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  const uintmax_t empty_size = std::filesystem::file_size(dir_.Sub("relay") + "/data.mdb");
  // The PC's process dies mid-upload (the socket drops with it).
  const pid_t pc = testing::ForkAndRun([&] {
    ReplicaOptions options;
    auto a = Replica::Open(dir_.Sub("a"), options);
    if (a.ok()) (void)Sync(relay, **a, kContract, "yamada@example.jp", "Yamada2024", 1);
    return 0;
  });
  ASSERT_GE(pc, 0);
  WaitForRelayData(dir_.Sub("relay"), empty_size + (1u << 20));
  kill(pc, SIGKILL);
  int status = 0;
  waitpid(pc, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the upload finished before the PC was killed";

  auto a = OpenReplica("a");
  auto b = OpenReplica("b");
  CheckResumeSendsOnlyTheRest(*this, relay, *a, *b);
}

// One sync of `replica` logging in with `credentials` as `user` of `contract`.
Result<transport::SyncReport> SyncWith(const RelayProcess& relay, Replica& replica, const std::string& contract,
                                       const std::string& user, sync::Credentials credentials,
                                       const std::string& device_name = "",
                                       std::optional<uint64_t> unsynced_records = {}) {
  sync::ReplicaChangeStore store(replica);
  sync::SealedChangeStore sealed(store, contract, OfficeKey(contract).Clone());
  sync::SessionOptions session = LoginAs(contract, user, std::move(credentials));
  session.device_name = device_name;
  session.unsynced_records = unsynced_records;
  return transport::SyncOnce(relay.url(), sealed, replica.id(), session);
}

TEST_F(RelaySyncTest, DeviceTokenLogsInOnlyItsUserAtItsContractUntilRevokedWhileServing) {
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    ASSERT_DAICHO_OK((*store)->AddUser(*ContractNumber::Parse(kContract), "suzuki@example.jp", "Suzuki2024"));
  }
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  Set(*a, "c1", "name", "before the token");

  // "Save password": a password login naming the PC gets a token.
  auto login = SyncWith(relay, *a, kContract, "yamada@example.jp", sync::PasswordCredential{"Yamada2024"}, "office-pc");
  ASSERT_DAICHO_OK(login);
  ASSERT_TRUE(login->granted.has_value());
  const std::string token = login->granted->device_token;
  ASSERT_FALSE(token.empty());
  // A login without device_name gets none.
  auto plain = SyncWith(relay, *a, kContract, "yamada@example.jp", sync::PasswordCredential{"Yamada2024"});
  ASSERT_DAICHO_OK(plain);
  ASSERT_TRUE(plain->granted.has_value());
  EXPECT_TRUE(plain->granted->device_token.empty());

  // The token alone logs its user in and syncs; the relay keeps the count
  // of records the PC reports not backed up (for the admin panel).
  Set(*a, "c2", "name", "with the token");
  auto by_token = SyncWith(relay, *a, kContract, "yamada@example.jp", sync::DeviceTokenCredential{token}, "", 1);
  ASSERT_DAICHO_OK(by_token);
  EXPECT_EQ(by_token->changes_up, 1u);
  ASSERT_TRUE(by_token->granted.has_value());
  EXPECT_TRUE(by_token->granted->device_token.empty());
  {
    auto store = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(store);
    auto devices = (*store)->ListDevices(*ContractNumber::Parse(kContract), "yamada@example.jp");
    ASSERT_DAICHO_OK(devices);
    ASSERT_EQ(devices->size(), 1u);
    EXPECT_EQ((*devices)[0].unsynced_records, 1u);
  }

  // Not another user's, not at another contract.
  auto other_user = SyncWith(relay, *a, kContract, "suzuki@example.jp", sync::DeviceTokenCredential{token});
  ASSERT_FALSE(other_user.ok());
  EXPECT_EQ(other_user.status().code(), Code::kUnauthenticated) << other_user.status();
  auto other_contract = SyncWith(relay, *a, kOtherContract, "yamada@example.jp", sync::DeviceTokenCredential{token});
  ASSERT_FALSE(other_contract.ok());
  EXPECT_EQ(other_contract.status().code(), Code::kUnauthenticated) << other_contract.status();
  auto other_user_there = SyncWith(relay, *a, kOtherContract, "other@example.jp", sync::DeviceTokenCredential{token});
  ASSERT_FALSE(other_user_there.ok());
  EXPECT_EQ(other_user_there.status().code(), Code::kUnauthenticated) << other_user_there.status();

  // The refusals did not spoil the token for its own user.
  ASSERT_DAICHO_OK(SyncWith(relay, *a, kContract, "yamada@example.jp", sync::DeviceTokenCredential{token}));

  // The administrator revokes the PC's saved login while the relay serves
  // (LMDB lets the admin process share the data directory with `serve`).
  ASSERT_EQ(
      RunRelayCommand({"--data", dir_.Sub("relay"), "device", "revoke", kContract, "yamada@example.jp", "office-pc"}),
      0);
  Set(*a, "c3", "name", "after the revocation");
  auto revoked = SyncWith(relay, *a, kContract, "yamada@example.jp", sync::DeviceTokenCredential{token});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.status().code(), Code::kUnauthenticated) << revoked.status();
  // Revoking again finds nothing to revoke.
  EXPECT_NE(
      RunRelayCommand({"--data", dir_.Sub("relay"), "device", "revoke", kContract, "yamada@example.jp", "office-pc"}),
      0);

  // The password still works, and nothing of the refused syncs arrived.
  auto b = OpenReplica("b");
  auto check = Sync(relay, *b);
  ASSERT_DAICHO_OK(check);
  EXPECT_EQ(check->changes_down, 2u);  // c1, c2
  EXPECT_EQ(b->Get("customers", "c3").status().code(), Code::kNotFound);
}

TEST_F(RelaySyncTest, WatchClientsOfAContractGetEachOthersCommitsLiveAndAnotherContractGetsNothing) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  auto b = OpenReplica("b");
  auto c = OpenReplica("c");
  Set(*a, "a1", "name", "from A");
  Set(*c, "x1", "name", "another office");
  const sync::SessionOptions yamada = LoginAs(kContract, "yamada@example.jp", sync::PasswordCredential{"Yamada2024"});
  const sync::SessionOptions other = LoginAs(kOtherContract, "other@example.jp", sync::PasswordCredential{"Other2024"});

  const auto poll = std::chrono::milliseconds(20);
  testing::WatchClient wa(relay.url(), *a, yamada, poll, OfficeKey(kContract).Clone());
  testing::WatchClient wb(relay.url(), *b, yamada, poll, OfficeKey(kContract).Clone());
  testing::WatchClient wc(relay.url(), *c, other, poll, OfficeKey(kOtherContract).Clone());
  ASSERT_TRUE(testing::WaitFor([&] { return testing::VersionVectorOf(*b).Get(a->id()) == 1; }))
      << "B never caught up with A";
  // C's own change reached the relay (its peer holds it).
  ASSERT_TRUE(testing::WaitFor([&] { return wc.peer_holds().Get(c->id()) == 1; }));

  // Live both ways between A and B, neither reconnecting.
  Set(*a, "a2", "phone", "03-1111-2222");
  ASSERT_TRUE(testing::WaitFor([&] { return testing::VersionVectorOf(*b).Get(a->id()) == 2; }))
      << "A's commit never reached B";
  Set(*b, "b1", "phone", "06-3333-4444");
  ASSERT_TRUE(testing::WaitFor([&] { return testing::VersionVectorOf(*a).Get(b->id()) == 1; }))
      << "B's commit never reached A";
  EXPECT_FALSE(wa.ended());
  EXPECT_FALSE(wb.ended());
  auto a2 = b->Get("customers", "a2");
  ASSERT_DAICHO_OK(a2);
  EXPECT_EQ(a2->Find("phone")->value, Value("03-1111-2222"));
  EXPECT_TRUE(testing::WaitFor([&] {
    return wa.peer_holds() == testing::VersionVectorOf(*a) && wb.peer_holds() == testing::VersionVectorOf(*b);
  }));

  // A push to C would have gone out with B's; give it time to (wrongly) come.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const VersionVector vc = testing::VersionVectorOf(*c);
  EXPECT_EQ(vc.Get(a->id()), 0u);
  EXPECT_EQ(vc.Get(b->id()), 0u);
  EXPECT_EQ(wc.batches_received(), 0u);

  auto ra = wa.Stop();
  auto rb = wb.Stop();
  auto rc = wc.Stop();
  ASSERT_DAICHO_OK(ra);
  ASSERT_DAICHO_OK(rb);
  ASSERT_DAICHO_OK(rc);
  EXPECT_EQ(ra->changes_up, 2u);
  EXPECT_EQ(ra->changes_down, 1u);
  EXPECT_EQ(rb->changes_up, 1u);
  EXPECT_EQ(rb->changes_down, 2u);
  EXPECT_EQ(rc->changes_up, 1u);
  EXPECT_EQ(rc->changes_down, 0u);
  EXPECT_EQ(testing::VersionVectorOf(*a), testing::VersionVectorOf(*b));
}

// Issue 12 item 7: disabling a contract (or a user) from the command line
// ends the live sessions concerned at once with a clear reason, leaves
// other contracts syncing, refuses new logins while disabled, and lets the
// same PCs sync again once enabled.
TEST_F(RelaySyncTest, DisablingAContractOrUserEndsItsLiveSessionsUntilEnabled) {
  RelayProcess relay(dir_.Sub("relay"), dir_.Sub("relay.log"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  auto c = OpenReplica("c");
  Set(*a, "a1", "name", "from A");
  const sync::SessionOptions yamada = LoginAs(kContract, "yamada@example.jp", sync::PasswordCredential{"Yamada2024"});
  const sync::SessionOptions other = LoginAs(kOtherContract, "other@example.jp", sync::PasswordCredential{"Other2024"});
  const std::string data = dir_.Sub("relay");

  for (const std::vector<std::string>& disable :
       {std::vector<std::string>{"contract", "disable", kContract},
        std::vector<std::string>{"user", "disable", kContract, "yamada@example.jp"}}) {
    SCOPED_TRACE(disable[0]);
    testing::WatchClient wa(relay.url(), *a, yamada, std::chrono::milliseconds(20), OfficeKey(kContract).Clone());
    testing::WatchClient wc(relay.url(), *c, other, std::chrono::milliseconds(20), OfficeKey(kOtherContract).Clone());
    ASSERT_TRUE(testing::WaitFor([&] { return wa.peer_holds().Get(a->id()) == 1 || wa.ended(); }));
    ASSERT_FALSE(wa.ended());
    std::vector<std::string> args = {"--data", data};
    args.insert(args.end(), disable.begin(), disable.end());
    ASSERT_EQ(RunRelayCommand(args), 0);
    ASSERT_TRUE(testing::WaitFor([&] { return wa.ended(); })) << "the disabled session went on";
    auto ended = wa.Stop();
    ASSERT_FALSE(ended.ok());
    EXPECT_EQ(ended.status().code(), Code::kPermissionDenied) << ended.status();
    EXPECT_NE(ended.status().message().find("is disabled on this relay"), std::string::npos) << ended.status();
    EXPECT_FALSE(wc.ended()) << "another contract's session must go on";
    ASSERT_DAICHO_OK(wc.Stop());

    const auto refused = Sync(relay, *a);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << refused.status();

    args[3] = "enable";
    ASSERT_EQ(RunRelayCommand(args), 0);
    ASSERT_DAICHO_OK(Sync(relay, *a));
  }
  ASSERT_EQ(relay.Stop(), 0);
  EXPECT_NE(relay.log().find("outcome=\"permission_denied: login no longer allowed while connected: contract " +
                             std::string(kContract) + " is disabled"),
            std::string::npos)
      << relay.log();
}

// Issue 12 items 3 and 6: `serve` takes its connection caps as flags, raises
// and logs its open-file limit, keeps a sync working while connections are
// held at the cap, and answers health checks over plain HTTP.
// Issue 12 item 4: password guesses from many addresses wait for the
// relay's few Argon2id check slots; a PC logging in with its saved login
// (no password check) is admitted beside them, not queued behind them.
TEST_F(RelaySyncTest, ASavedLoginIsAdmittedWhileGuessesFromManyAddressesWaitForChecks) {
  RelayProcess relay(dir_.Sub("relay"));
  ASSERT_GT(relay.port(), 0);
  auto a = OpenReplica("a");
  Set(*a, "c1", "name", "before the flood");
  auto login = SyncWith(relay, *a, kContract, "yamada@example.jp", sync::PasswordCredential{"Yamada2024"}, "office-pc");
  ASSERT_DAICHO_OK(login);
  ASSERT_TRUE(login->granted.has_value());
  ASSERT_FALSE(login->granted->device_token.empty());
  Set(*a, "c1", "name", "during the flood");

  // Fewer guesses than the check gate holds (2 running + 32 waiting), each
  // from its own address so no address is throttled: every one is checked.
  constexpr int kGuesses = 30;
  std::atomic<int> sent{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> guessers;
  guessers.reserve(kGuesses);
  for (int i = 0; i < kGuesses; ++i) {
    guessers.emplace_back([&, i] {
      const std::string source = "127.0.2." + std::to_string(i + 1);
      auto client = testing::WebSocketClient::Connect(relay.url(), source);
      ++sent;  // counted even if the connect failed, so the test never waits for ever
      if (!client.ok()) return;
      sync::Hello guess;
      guess.replica_id = ReplicaId::Random().value();
      guess.contract = kContract;
      guess.user = "guess" + std::to_string(i) + "@example.jp";
      guess.credentials = sync::PasswordCredential{"Guess" + std::to_string(i) + "pw"};
      if (!(*client)->Send(sync::EncodeFrame(guess)).ok()) return;
      (void)(*client)->Receive();  // the refusal
      ++answered;
    });
  }
  while (sent.load() < kGuesses) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Let the guesses' Hellos reach the relay ahead of the PC's.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  auto saved =
      SyncWith(relay, *a, kContract, "yamada@example.jp", sync::DeviceTokenCredential{login->granted->device_token});
  const int answered_when_synced = answered.load();
  for (auto& guesser : guessers) guesser.join();
  ASSERT_DAICHO_OK(saved);
  EXPECT_EQ(saved->changes_up, 1u);
  EXPECT_EQ(answered.load(), kGuesses);
  // About 15 checks' time (two at a time) passes before the last guess is
  // answered; the PC did not wait for them.
  EXPECT_LT(answered_when_synced, kGuesses / 2) << "the saved login waited behind the password checks";
}

TEST_F(RelaySyncTest, ServeCapsHeldConnectionsAndAnswersHealthChecks) {
  RelayProcess relay(dir_.Sub("relay"), "", {"--max-connections", "4", "--max-connections-per-address", "4"});
  ASSERT_NE(relay.port(), 0);
  const auto port = static_cast<uint16_t>(relay.port());
  std::vector<int> held;
  held.reserve(10);
  for (int i = 0; i < 10; ++i) held.push_back(testing::ConnectFrom("127.0.0.1", port));

  auto a = OpenReplica("a");
  Set(*a, "c1", "name", "from a");
  ASSERT_DAICHO_OK(Sync(relay, *a));

  const std::string health = testing::HttpExchange(port, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_NE(health.find("\r\n\r\nok"), std::string::npos) << health;
  const std::string ready = testing::HttpExchange(port, "GET /readyz HTTP/1.1\r\nHost: relay\r\n\r\n");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200", 0), 0u) << ready;
  EXPECT_NE(ready.find("\r\n\r\nready"), std::string::npos) << ready;

  for (int fd : held) ::close(fd);
  relay.Stop();
  const std::string log = relay.log();
  EXPECT_NE(log.find("event=serve_limits open_file_limit="), std::string::npos) << log;
  EXPECT_NE(log.find("max_connections=4 max_connections_per_address=4"), std::string::npos) << log;
  EXPECT_NE(log.find("event=connection_shed"), std::string::npos) << log;
}

}  // namespace
}  // namespace daicho::relay
