// The LMDB backend of the relay: opening a directory (busy, missing,
// foreign, damaged), map growth under writes and readers, the upgrades of
// v2 to v5 stores, and a change store handle outliving the service.
#include "relay/lmdb/lmdb_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daicho/replica.h"
#include "relay/password.h"
#include "relay/relay_service.h"
#include "tests/relay/relay_store_v2.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::TempDir;

// A relay whose first map (128 KiB) is smaller than one batch of the
// growth tests: their writes fill it and run again on a grown map.
std::unique_ptr<RelayService> OpenTinyMapRelay(const std::string& dir) {
  LmdbBackendOptions options;
  options.initial_map_bytes = 128 << 10;
  return std::move(OpenLmdbRelay(dir, OpaqueBlobOptions(), options).value());
}

// The devices of taro@example.jp, after checking that `token` (PC-4's, as
// the upgrade tests write it) still logs in.
std::vector<RelayService::Device> LoggedInDevices(RelayService& store, const ContractNumber& contract,
                                                  const std::string& token) {
  EXPECT_DAICHO_OK(store.AuthenticateDevice(contract, "taro@example.jp", token, Origin(4)));
  auto devices = store.ListDevices(contract, "taro@example.jp");
  EXPECT_DAICHO_OK(devices);
  return devices.ok() ? *std::move(devices) : std::vector<RelayService::Device>();
}

// Issue 11 items 8 and 10: a v2 store opens upgraded; its logins keep
// working, old tokens learn their replica at their next use, and ids that
// differ only in case stay two accounts, reported, until one is removed.
TEST(RelayStoreUpgradeTest, V2StoreIsUpgradedKeepingLoginsAndReportingCaseConflicts) {
  TempDir dir;
  const ContractNumber contract = Contract("0000-0000-0001");
  const std::string token = NewDeviceToken();
  WriteV2Store(
      dir.Sub("relay"), contract,
      {{"Yamada@Example.jp", "Password1"}, {"yamada@example.jp", "Password2"}, {"taro@example.jp", "Password3"}},
      {{token, std::string("taro@example.jp\0PC-1", 20)}});
  auto opened = OpenLmdbRelay(dir.Sub("relay"));
  ASSERT_DAICHO_OK(opened);
  RelayService& store = **opened;

  auto conflicts = store.CaseConflicts();
  ASSERT_DAICHO_OK(conflicts);
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].contract, contract);
  EXPECT_EQ((*conflicts)[0].user_ids, (std::vector<std::string>{"Yamada@Example.jp", "yamada@example.jp"}));
  // Not merged: each logs in with its own spelling and password only.
  EXPECT_DAICHO_OK(store.LogIn(contract, "Yamada@Example.jp", "Password1"));
  EXPECT_DAICHO_OK(store.LogIn(contract, "yamada@example.jp", "Password2"));
  EXPECT_EQ(store.LogIn(contract, "Yamada@Example.jp", "Password2").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(store.LogIn(contract, "YAMADA@EXAMPLE.JP", "Password1").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(store.AddUser(contract, "YAMADA@example.jp", "Password4").code(), Code::kAlreadyExists);
  // Other ids are folded now.
  EXPECT_DAICHO_OK(store.LogIn(contract, "Taro@Example.JP", "Password3"));

  // The old token still logs in and then belongs to the replica using it.
  auto devices = store.ListDevices(contract, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_TRUE((*devices)[0].replica.IsZero());
  EXPECT_EQ((*devices)[0].ShortId(), "--------");
  EXPECT_DAICHO_OK(store.AuthenticateDevice(contract, "taro@example.jp", token, Origin(7)));
  devices = store.ListDevices(contract, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].replica, Origin(7));
  EXPECT_EQ((*devices)[0].name, "PC-1");

  // The operator keeps one spelling: it then logs in with any.
  ASSERT_DAICHO_OK(store.RemoveUser(contract, "yamada@example.jp"));
  EXPECT_TRUE(store.CaseConflicts()->empty());
  EXPECT_DAICHO_OK(store.LogIn(contract, "YAMADA@EXAMPLE.JP", "Password1"));
  opened->reset();
  auto reopened = OpenLmdbRelay(dir.Sub("relay"));
  ASSERT_DAICHO_OK(reopened);
  EXPECT_EQ(UserIds(**reopened, contract).value(), (std::vector<std::string>{"taro@example.jp", "Yamada@Example.jp"}));
  EXPECT_DAICHO_OK((*reopened)->AuthenticateDevice(contract, "taro@example.jp", token, Origin(7)));
  // Through v3 and v4 to v5 in one go.
  EXPECT_NE(ReadFile(dir.Sub("relay") + "/data.mdb").find("daicho-relay-v6"), std::string::npos);
}

TEST(RelayStoreOpenTest, SecondOpenOfTheSameDirectoryIsBusy) {
  TempDir dir;
  auto first = OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions());
  ASSERT_DAICHO_OK(first);
  EXPECT_EQ(OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions()).status().code(), Code::kBusy);
}

// The vendor's staff contract is one meta key: absent in a new store, kept
// across a reopen, and a damaged value is corruption, not another contract.
TEST(RelayStoreMetaTest, TheVendorContractIsKeptInTheMetaDatabase) {
  TempDir dir;
  {
    auto backend = LmdbBackend::Open(dir.Sub("relay"));
    ASSERT_DAICHO_OK(backend);
    ASSERT_DAICHO_OK((*backend)->Read([](RelayReadTxn& txn) -> Status {
      DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
      EXPECT_EQ(vendor, std::nullopt);
      return Status::Ok();
    }));
    ASSERT_DAICHO_OK(
        (*backend)->Write([](RelayWriteTxn& txn) { return txn.SetVendorContract(Contract("9999-0000-0001")); }));
  }
  auto backend = LmdbBackend::Open(dir.Sub("relay"));
  ASSERT_DAICHO_OK(backend);
  ASSERT_DAICHO_OK((*backend)->Read([](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
    EXPECT_EQ(vendor, Contract("9999-0000-0001"));
    return Status::Ok();
  }));
}

TEST(RelayStoreOpenTest, RefusesMissingDirectoryWithoutCreate) {
  TempDir dir;
  LmdbBackendOptions options;
  options.create_if_missing = false;
  EXPECT_EQ(LmdbBackend::Open(dir.Sub("none"), options).status().code(), Code::kNotFound);
}

TEST(RelayStoreOpenTest, RefusesADirectoryWithOtherFiles) {
  TempDir dir;
  std::ofstream(dir.Sub("notes.txt")) << "hello";
  EXPECT_EQ(OpenLmdbRelay(dir.path().string()).status().code(), Code::kInvalidArgument);
}

TEST(RelayStoreOpenTest, RefusesAForeignLmdbEnvironment) {
  TempDir dir;
  // A daicho replica is an LMDB environment too, but not a relay store.
  {
    ReplicaOptions replica_options;
    replica_options.create_if_missing = true;
    auto replica = Replica::Open(dir.Sub("replica"), replica_options);
    ASSERT_DAICHO_OK(replica);
  }
  auto opened = OpenLmdbRelay(dir.Sub("replica"));
  EXPECT_EQ(opened.status().code(), Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("not a daicho relay store"), std::string::npos) << opened.status();
}

TEST(RelayStoreOpenTest, RefusesADamagedDataFile) {
  TempDir dir;
  {
    auto store = std::move(OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions()).value());
    ASSERT_DAICHO_OK(store->AddContract(Contract("1234-5678-9012")));
  }
  std::ofstream(dir.Sub("relay") + "/data.mdb", std::ios::binary | std::ios::trunc) << "garbage";
  EXPECT_EQ(OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions()).status().code(), Code::kCorruption);
}

TEST(RelayStoreGrowthTest, GrowsATinyMapWhenFull) {
  TempDir dir;
  auto store = OpenTinyMapRelay(dir.Sub("relay"));
  const ContractNumber a = Contract("9999-0000-9999");
  ASSERT_DAICHO_OK(store->AddContract(a));
  auto changes = std::move(store->ContractChanges(a).value());
  // 4 MiB in batches of 256 KiB, each bigger than the first map.
  const ReplicaId x = Origin(3);
  uint64_t seq = 0;
  for (int batch = 0; batch < 16; ++batch) {
    std::vector<ChangeBlob> blobs;
    for (int i = 0; i < 4; ++i) {
      ++seq;
      blobs.push_back(Blob(x, seq, std::string(64 << 10, static_cast<char>('a' + seq % 26))));
    }
    ASSERT_DAICHO_OK(changes->Apply(blobs));
  }
  EXPECT_EQ(changes->GetVersionVector()->Get(x), seq);
  auto all = changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(all);
  ASSERT_EQ(all->size(), seq);
  EXPECT_EQ(all->back().payload, std::string(64 << 10, static_cast<char>('a' + seq % 26)));
  // The file (never larger than the map) outgrew the first map many times.
  EXPECT_GT(std::filesystem::file_size(dir.Sub("relay") + "/data.mdb"), uint64_t{4} << 20);
}

TEST(RelayStoreGrowthTest, GrowsWhileOtherThreadsReadAndWrite) {
  TempDir dir;
  auto store = OpenTinyMapRelay(dir.Sub("relay"));
  constexpr int kThreads = 4;
  constexpr uint64_t kChanges = 30;
  std::vector<ContractNumber> contracts;
  for (int i = 0; i < kThreads; ++i) {
    contracts.push_back(Contract("1000-0000-000" + std::to_string(i)));
    ASSERT_DAICHO_OK(store->AddContract(contracts.back()));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto changes = std::move(store->ContractChanges(contracts[t]).value());
      for (uint64_t seq = 1; seq <= kChanges; ++seq) {
        Status applied = changes->Apply(std::vector{Blob(Origin(9), seq, std::string(32 << 10, 'g'))});
        if (!applied.ok()) {
          ADD_FAILURE() << applied;
          ++failures;
        }
        if (!changes->GetVersionVector().ok() || !changes->ChangesSince(VersionVector(), 1 << 16, nullptr).ok())
          ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& contract : contracts) {
    auto changes = std::move(store->ContractChanges(contract).value());
    EXPECT_EQ(changes->GetVersionVector()->Get(Origin(9)), kChanges);
  }
}

TEST(RelayStoreOpenTest, ChangeStoreHandleOutlivesTheRelayStore) {
  TempDir dir;
  auto store = std::move(OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions()).value());
  const ContractNumber a = Contract("5555-5555-5555");
  ASSERT_DAICHO_OK(store->AddContract(a));
  auto changes = std::move(store->ContractChanges(a).value());
  store.reset();
  ASSERT_DAICHO_OK(changes->Apply(std::vector{Blob(Origin(1), 1)}));
  // The environment stays open (and its directory taken) until the last handle goes.
  EXPECT_EQ(OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions()).status().code(), Code::kBusy);
  changes.reset();
  auto reopened = OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions());
  ASSERT_DAICHO_OK(reopened);
  EXPECT_EQ((*reopened)->ContractChanges(a).value()->GetVersionVector()->Get(Origin(1)), 1u);
}

// Issue 12 item 7: a v3 store (before disabling and last syncs) is upgraded
// in place at open, its logins and devices kept.
TEST(RelayStoreUpgradeTest, V3StoreIsUpgradedKeepingUsersAndDevices) {
  TempDir dir;
  const ContractNumber contract = Contract("0000-0000-0001");
  const std::string token = NewDeviceToken();
  WriteV3Store(dir.Sub("relay"), contract, "Taro@Example.jp", "Password1", token, Origin(4), "PC-4");
  {
    auto opened = OpenLmdbRelay(dir.Sub("relay"));
    ASSERT_DAICHO_OK(opened);
    RelayService& store = **opened;
    EXPECT_DAICHO_OK(store.LogIn(contract, "taro@example.jp", "Password1"));
    auto devices = LoggedInDevices(store, contract, token);
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].name, "PC-4");
    EXPECT_EQ(devices[0].replica, Origin(4));
    EXPECT_EQ(devices[0].last_sync_ms, 0u);
    EXPECT_EQ(devices[0].unsynced_records, std::nullopt);
    ASSERT_DAICHO_OK(store.RecordDeviceSync(contract, "taro@example.jp", Origin(4), "127.0.0.4"));
    ASSERT_DAICHO_OK(store.SetContractDisabled(contract, true));
  }
  EXPECT_NE(ReadFile(dir.Sub("relay") + "/data.mdb").find("daicho-relay-v6"), std::string::npos);
  auto reopened = OpenLmdbRelay(dir.Sub("relay"));
  ASSERT_DAICHO_OK(reopened);
  EXPECT_EQ((*reopened)->ListDevices(contract, "taro@example.jp")->at(0).last_address, "127.0.0.4");
  EXPECT_EQ((*reopened)->LogIn(contract, "taro@example.jp", "Password1").status().code(), Code::kPermissionDenied);
}

// Issue 14: a v4 store (before the admin panel) is upgraded in place at
// open: everything reads back, the new data starts empty (no admin until
// the operator names one; office key times unknown), and it all works.
TEST(RelayStoreUpgradeTest, V4StoreIsUpgradedKeepingEverythingWithNoAdminYet) {
  TempDir dir;
  const ContractNumber contract = Contract("0000-0000-0004");
  const std::string token = NewDeviceToken();
  const crypto::WrappedOfficeKey keys{3, "passphrase-envelope", "recovery-envelope", "ring"};
  const uint64_t synced = 1'700'000'123'000;
  WriteV4Store(dir.Sub("relay"), contract,
               {{"Taro@Example.jp", "Password1", false, token, Origin(4), "PC-4", synced, "192.0.2.4"},
                {"hanako@example.jp", "Password2", true, "", ReplicaId(), "", 0, ""}},
               Origin(9), "sealed change", crypto::SerializeWrappedOfficeKey(keys), 7);
  {
    auto opened = OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions());
    ASSERT_DAICHO_OK(opened);
    RelayService& store = **opened;
    EXPECT_EQ(store.LoginGeneration().value(), 7u);
    EXPECT_DAICHO_OK(store.LogIn(contract, "taro@example.jp", "Password1"));
    EXPECT_EQ(store.LogIn(contract, "hanako@example.jp", "Password2").status().code(), Code::kPermissionDenied);
    auto devices = LoggedInDevices(store, contract, token);
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].name, "PC-4");
    EXPECT_EQ(devices[0].replica, Origin(4));
    EXPECT_EQ(devices[0].last_sync_ms, synced);
    EXPECT_EQ(devices[0].last_address, "192.0.2.4");
    EXPECT_EQ(devices[0].unsynced_records, std::nullopt);
    auto users = store.ListUserInfo(contract);
    ASSERT_DAICHO_OK(users);
    ASSERT_EQ(users->size(), 2u);
    for (const RelayService::UserInfo& user : *users) {
      EXPECT_FALSE(user.admin) << user.user_id;
      EXPECT_EQ(user.last_sync_ms, 0u) << user.user_id;
    }
    EXPECT_TRUE((*users)[0].disabled);
    EXPECT_EQ((*users)[1].devices, 1u);
    EXPECT_EQ(*store.GetOfficeKey(contract), keys);
    auto key_status = store.GetOfficeKeyStatus(contract);
    ASSERT_DAICHO_OK(key_status);
    EXPECT_EQ(key_status->key_id, 3u);
    EXPECT_EQ(key_status->created_ms, 0u) << "unknown: published before v5";
    EXPECT_EQ(key_status->changed_ms, 0u);
    auto changes = std::move(store.ContractChanges(contract).value());
    EXPECT_EQ(changes->GetVersionVector()->Get(Origin(9)), 1u);
    auto all = changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr);
    ASSERT_DAICHO_OK(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].payload, "sealed change");
    EXPECT_TRUE(store.ListAudit(contract, UINT64_MAX, 10)->empty());
    // The panel's data works on the upgraded store.
    ASSERT_DAICHO_OK(store.SetUserAdmin(contract, "taro@example.jp", true));
    ASSERT_DAICHO_OK(store.RecordDeviceSync(contract, "taro@example.jp", Origin(4), "192.0.2.5", 3));
    EXPECT_DAICHO_OK(store.OpenPanelSession(contract, "taro@example.jp", "Password1", "192.0.2.5"));
  }
  EXPECT_NE(ReadFile(dir.Sub("relay") + "/data.mdb").find("daicho-relay-v6"), std::string::npos);
  auto reopened = OpenLmdbRelay(dir.Sub("relay"));
  ASSERT_DAICHO_OK(reopened);
  auto users = (*reopened)->ListUserInfo(contract);
  ASSERT_DAICHO_OK(users);
  EXPECT_TRUE((*users)[1].admin);
  EXPECT_EQ((*users)[1].last_address, "192.0.2.5");
  EXPECT_EQ((*reopened)->ListDevices(contract, "taro@example.jp")->at(0).unsynced_records, 3u);
  EXPECT_EQ((*reopened)->ListAudit(contract, UINT64_MAX, 10)->size(), 2u);  // admin, login
}

// Issue 15: a v5 store opens as v6 with every contract unmanaged (no
// licence, filings or payments) and everything of v5 kept; licences work on
// it at once.
TEST(RelayStoreUpgradeTest, V5StoreIsUpgradedWithEveryContractUnmanaged) {
  TempDir dir;
  const ContractNumber contract = Contract("0000-0000-0005");
  WriteOldStore(dir.Sub("relay"), contract, "daicho-relay-v5", [&](storage::lmdb::WriteTxn& txn, OldStoreDbis& dbis) {
    auto hash = HashPassword("Password1");
    ASSERT_DAICHO_OK(hash);
    const std::string key = contract.str() + "taro@example.jp" + '\0' + "taro@example.jp";
    ASSERT_DAICHO_OK(txn.Put(dbis["users"], key, *hash));
    ASSERT_DAICHO_OK(txn.Put(dbis["admins"], key, ""));
    // One audit row (actor "", address "", via "cli", action "user.add").
    auto field = [](std::string_view text) { return BigEndian8(text.size()).substr(4) + std::string(text); };
    ASSERT_DAICHO_OK(
        txn.Put(dbis["audit"], contract.str() + BigEndian8(1'700'000'000'000) + std::string(4, '\0'),
                field("") + field("") + field("cli") + field("user.add") + field("taro@example.jp") + field("")));
    ASSERT_DAICHO_OK(txn.Put(dbis["audit"], contract.str(), BigEndian8(1)));
  });
  {
    auto opened = OpenLmdbRelay(dir.Sub("relay"), OpaqueBlobOptions());
    ASSERT_DAICHO_OK(opened);
    RelayService& store = **opened;
    EXPECT_TRUE(store.ListUserInfo(contract)->at(0).admin);
    ASSERT_EQ(store.ListAudit(contract, UINT64_MAX, 10)->size(), 1u);
    EXPECT_EQ(*store.GetLicence(contract), std::nullopt);
    EXPECT_EQ(*store.EvaluateEntitlements(contract), std::nullopt);
    EXPECT_TRUE(store.ListFilings(contract)->empty());
    EXPECT_TRUE(store.ListPayments(contract)->empty());
    entitlements::Licence licence;
    licence.first_renewal = entitlements::Date{std::chrono::year{2025}, std::chrono::April, std::chrono::day{1}};
    licence.backup_applied = true;
    ASSERT_DAICHO_OK(store.SetLicence(contract, licence));
  }
  EXPECT_NE(ReadFile(dir.Sub("relay") + "/data.mdb").find("daicho-relay-v6"), std::string::npos);
  auto reopened = OpenLmdbRelay(dir.Sub("relay"));
  ASSERT_DAICHO_OK(reopened);
  EXPECT_TRUE((*reopened)->GetLicence(contract)->has_value());
}

// A write that fills the map is aborted and run again on a doubled map
// (storage/lmdb/growing_writer.h): what it stores, and the generation bumps
// of the writes between, count once.
TEST(RelayStoreGrowthTest, WritesRunAgainOnATinyMapApplyTheirEffectsOnce) {
  TempDir dir;
  auto store = OpenTinyMapRelay(dir.Sub("relay"));
  const ContractNumber a = Contract("9999-0000-9999");
  const std::string user = "taro@example.jp";
  ASSERT_DAICHO_OK(store->AddContract(a));
  ASSERT_DAICHO_OK(store->AddUser(a, user, "Password1"));
  auto changes = std::move(store->ContractChanges(a).value());
  const uint64_t start = store->LoginGeneration().value();
  constexpr int kRounds = 12;
  uint64_t seq = 0;
  std::string token;
  for (int round = 0; round < kRounds; ++round) {
    // 256 KiB per batch, each bigger than the first map.
    std::vector<ChangeBlob> blobs;
    for (int i = 0; i < 4; ++i) {
      ++seq;
      blobs.push_back(Blob(Origin(3), seq, std::string(64 << 10, static_cast<char>('a' + seq % 26))));
    }
    ASSERT_DAICHO_OK(changes->Apply(blobs));
    // The same PC's token again: the earlier one is replaced, logins end.
    auto issued = store->IssueDeviceToken(a, user, Origin(1), "PC-1");
    ASSERT_DAICHO_OK(issued);
    token = *std::move(issued);
  }
  EXPECT_EQ(store->LoginGeneration().value(), start + kRounds - 1);
  EXPECT_EQ(store->ListDevices(a, user)->size(), 1u);
  EXPECT_DAICHO_OK(store->AuthenticateDevice(a, user, token, Origin(1)));
  EXPECT_EQ(changes->GetVersionVector()->Get(Origin(3)), seq);
  EXPECT_EQ(changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), seq);
  // The map did grow: the file (never larger than the map) outgrew the first one.
  EXPECT_GT(std::filesystem::file_size(dir.Sub("relay") + "/data.mdb"), uint64_t{2} << 20);
}

}  // namespace
}  // namespace daicho::relay
