// Change files between offices (daicho/change_file.h): a file names its
// office and, from a PC holding the office key, is sealed with it. These
// tests set up each PC's office the way an unlock leaves it (office.key with
// its contract, client::PcState) without a relay; tests/apps/cli_sync_test.cc
// does the same through a relay, including what reaches it afterwards.
#include "daicho/change_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "client/pc_state.h"
#include "crypto/key_ring.h"
#include "crypto/office_key.h"
#include "daicho/replica.h"
#include "storage/codec/change_file.h"
#include "storage/codec/change_file_v1.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

constexpr char kContractA[] = "1111-2222-3333";
constexpr char kContractB[] = "4444-5555-6666";
constexpr char kPhone[] = "03-1111-2222";
constexpr char kTradeName[] = "株式会社山田建設";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class ChangeFileOfficeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replica> Open(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    return std::move(Replica::Open(dir_.Sub(name), options).value());
  }

  // `replica`'s PC holds `ring` for `contract`, as after `daicho key unlock`.
  static void JoinOffice(Replica& replica, const std::string& contract, const crypto::KeyRing& ring) {
    ASSERT_DAICHO_OK(client::PcState(replica).KeepRing(contract, ring, /*store_key=*/true));
  }

  static void WriteCustomer(Replica& replica, const std::string& id) {
    WriteTransaction txn = replica.BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", id, "trade_name", Value(kTradeName)));
    ASSERT_DAICHO_OK(txn.Set("customers", id, "phone", Value(kPhone)));
    ASSERT_DAICHO_OK(txn.Commit());
  }

  static void ExpectEmpty(const Replica& replica) {
    EXPECT_TRUE(replica.GetVersionVector()->empty());
    EXPECT_EQ(replica.Get("customers", "c1").status().code(), Code::kNotFound);
  }

  std::string File(const std::string& name) const { return dir_.Sub(name); }

  static crypto::KeyRing NewRing() { return std::move(crypto::KeyRing::Create().value()); }

  testing::TempDir dir_;
};

TEST_F(ChangeFileOfficeTest, AFileOfAnotherOfficeIsRefusedAndChangesNothing) {
  auto a = Open("a");
  auto b = Open("b");
  JoinOffice(*a, kContractA, NewRing());
  JoinOffice(*b, kContractB, NewRing());
  WriteCustomer(*a, "c1");
  ASSERT_DAICHO_OK(ExportChangeFile(*a, File("a.changes")));

  auto imported = ImportChangeFile(*b, File("a.changes"));
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), Code::kPermissionDenied) << imported.status();
  const std::string why = imported.status().message();
  EXPECT_TRUE(Contains(why, std::string("contract ") + kContractA)) << why;
  EXPECT_TRUE(Contains(why, std::string("contract ") + kContractB)) << why;
  EXPECT_TRUE(Contains(why, "nothing was imported")) << why;
  ExpectEmpty(*b);
}

TEST_F(ChangeFileOfficeTest, AFileOfTheSameOfficeRoundTripsSealed) {
  auto a = Open("a");
  auto b = Open("b");
  const crypto::KeyRing ring = NewRing();
  JoinOffice(*a, kContractA, ring);
  JoinOffice(*b, kContractA, ring);
  WriteCustomer(*a, "c1");

  auto written = ExportChangeFile(*a, File("a.changes"));
  ASSERT_DAICHO_OK(written);
  EXPECT_EQ(written->contract, kContractA);
  EXPECT_EQ(written->key_id, 1u);
  EXPECT_EQ(written->changes, 1u);
  const std::string bytes = testing::ReadFile(File("a.changes"));
  EXPECT_FALSE(Contains(bytes, kPhone));
  EXPECT_FALSE(Contains(bytes, kTradeName));
  EXPECT_FALSE(Contains(bytes, "trade_name"));
  EXPECT_FALSE(std::filesystem::exists(File("a.changes.tmp")));

  auto imported = ImportChangeFile(*b, File("a.changes"));
  ASSERT_DAICHO_OK(imported);
  EXPECT_EQ(imported->file.contract, kContractA);
  EXPECT_EQ(imported->file.key_id, 1u);
  EXPECT_EQ(imported->applied.applied, 1u);
  ASSERT_EQ(imported->applied.changed.size(), 1u);
  EXPECT_EQ(b->Get("customers", "c1")->Find("phone")->value, Value(kPhone));

  // Importing it again changes nothing.
  imported = ImportChangeFile(*b, File("a.changes"));
  ASSERT_DAICHO_OK(imported);
  EXPECT_EQ(imported->applied.applied, 0u);
  EXPECT_EQ(imported->applied.duplicates, 1u);
  EXPECT_EQ(*b->GetVersionVector(), *a->GetVersionVector());
}

TEST_F(ChangeFileOfficeTest, AFileSealedWithAKeyThisPcLacksSaysToUnlockFirst) {
  auto a = Open("a");
  auto b = Open("b");
  auto none = Open("none");
  const crypto::KeyRing old_ring = NewRing();
  JoinOffice(*a, kContractA, old_ring.Rotated().value());  // rotated on A: key 2
  JoinOffice(*b, kContractA, old_ring);
  WriteCustomer(*a, "c1");
  ASSERT_DAICHO_OK(ExportChangeFile(*a, File("a.changes")));

  for (Replica* pc : {b.get(), none.get()}) {
    auto imported = ImportChangeFile(*pc, File("a.changes"));
    ASSERT_FALSE(imported.ok());
    EXPECT_EQ(imported.status().code(), Code::kFailedPrecondition) << imported.status();
    EXPECT_TRUE(Contains(imported.status().message(), "office key 2")) << imported.status();
    EXPECT_TRUE(Contains(imported.status().message(), "daicho key unlock")) << imported.status();
    ExpectEmpty(*pc);
  }
}

TEST_F(ChangeFileOfficeTest, AnUnsealedFileIntoAReplicaWithAnOfficeKeyIsRefused) {
  auto loose = Open("loose");
  auto b = Open("b");
  JoinOffice(*b, kContractB, NewRing());
  WriteCustomer(*loose, "c1");
  auto written = ExportChangeFile(*loose, File("loose.changes"));
  ASSERT_DAICHO_OK(written);
  EXPECT_EQ(written->contract, "");
  EXPECT_EQ(written->key_id, 0u);

  auto imported = ImportChangeFile(*b, File("loose.changes"));
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), Code::kFailedPrecondition) << imported.status();
  EXPECT_TRUE(Contains(imported.status().message(), "not sealed")) << imported.status();
  EXPECT_TRUE(Contains(imported.status().message(), kContractB)) << imported.status();
  ExpectEmpty(*b);
}

TEST_F(ChangeFileOfficeTest, AKeylessFileIntoAKeylessReplicaWorks) {
  auto a = Open("a");
  auto b = Open("b");
  WriteCustomer(*a, "c1");
  ASSERT_DAICHO_OK(ExportChangeFile(*a, File("a.changes")));
  // Unsealed: the stick holds the data in clear (docs/security.md).
  EXPECT_TRUE(Contains(testing::ReadFile(File("a.changes")), kPhone));
  auto imported = ImportChangeFile(*b, File("a.changes"));
  ASSERT_DAICHO_OK(imported);
  EXPECT_EQ(imported->file.contract, "");
  EXPECT_EQ(imported->applied.applied, 1u);
  EXPECT_EQ(b->Get("customers", "c1")->Find("phone")->value, Value(kPhone));
}

// Old files name no office: as an unsealed file of a PC without a key.
TEST_F(ChangeFileOfficeTest, AVersion1FileGoesOnlyIntoAReplicaWithoutAnOfficeKey) {
  auto a = Open("a");
  auto loose = Open("loose");
  auto office = Open("office");
  JoinOffice(*office, kContractA, NewRing());
  WriteCustomer(*a, "c1");
  testing::WriteFile(File("old.changes"), testing::Version1ChangeFile(*a->ChangesSince(VersionVector())));

  auto refused = ImportChangeFile(*office, File("old.changes"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(Contains(refused.status().message(), "older daicho")) << refused.status();
  ExpectEmpty(*office);

  auto imported = ImportChangeFile(*loose, File("old.changes"));
  ASSERT_DAICHO_OK(imported);
  EXPECT_EQ(imported->file.version, 1u);
  EXPECT_EQ(imported->applied.applied, 1u);
}

// A sealed change altered, or moved to another seq, with a checksum that
// still fits: the seal catches it, and nothing of the file is applied.
TEST_F(ChangeFileOfficeTest, ATamperedSealedFileIsCorruptionAndAppliesNothing) {
  auto a = Open("a");
  auto b = Open("b");
  const crypto::KeyRing ring = NewRing();
  JoinOffice(*a, kContractA, ring);
  JoinOffice(*b, kContractA, ring);
  WriteCustomer(*a, "c1");
  WriteCustomer(*a, "c2");
  ASSERT_DAICHO_OK(ExportChangeFile(*a, File("a.changes")));
  auto good = storage::ReadChangeFile(File("a.changes"));
  ASSERT_DAICHO_OK(good);
  ASSERT_EQ(good->changes.size(), 2u);

  storage::ChangeFileContents flipped = *good;
  flipped.changes[1].payload.back() ^= 0x01;
  storage::ChangeFileContents swapped = *good;
  std::swap(swapped.changes[0].payload, swapped.changes[1].payload);
  storage::ChangeFileContents other_contract = *good;
  other_contract.header.contract = kContractB;
  JoinOffice(*a, kContractB, ring);  // so that only the seal can tell
  for (const auto* bad : {&flipped, &swapped}) {
    ASSERT_DAICHO_OK(storage::WriteChangeFile(File("bad.changes"), bad->header, bad->changes));
    auto imported = ImportChangeFile(*b, File("bad.changes"));
    ASSERT_FALSE(imported.ok());
    EXPECT_EQ(imported.status().code(), Code::kCorruption) << imported.status();
    EXPECT_TRUE(Contains(imported.status().message(), "nothing was imported")) << imported.status();
    ExpectEmpty(*b);
  }
  ASSERT_DAICHO_OK(storage::WriteChangeFile(File("moved.changes"), other_contract.header, other_contract.changes));
  auto imported = ImportChangeFile(*a, File("moved.changes"));
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), Code::kCorruption) << imported.status();
}

// A PC that keeps no office.key (unlocked with --no-store-key) but whose
// office has a key must not write an unsealed file; with the passphrase it
// writes a sealed one.
TEST_F(ChangeFileOfficeTest, ExportWithoutTheHeldKeyOfItsOfficeNeedsThePassphrase) {
  constexpr char kPassphrase[] = "office passphrase one";
  auto a = Open("a");
  const crypto::KeyRing ring = NewRing();
  auto code = crypto::NewRecoveryCode();
  ASSERT_DAICHO_OK(code);
  auto wrapped = crypto::WrapOfficeKey(ring, kContractA, kPassphrase, *code);
  ASSERT_DAICHO_OK(wrapped);
  ASSERT_DAICHO_OK(client::PcState(*a).SaveEnvelopes({kContractA, *wrapped}));
  WriteCustomer(*a, "c1");

  auto refused = ExportChangeFile(*a, File("a.changes"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(Contains(refused.status().message(), "daicho key unlock")) << refused.status();
  EXPECT_FALSE(std::filesystem::exists(File("a.changes")));

  ExportChangesOptions options;
  options.passphrase = kPassphrase;
  auto written = ExportChangeFile(*a, File("a.changes"), options);
  ASSERT_DAICHO_OK(written);
  EXPECT_EQ(written->contract, kContractA);
  EXPECT_EQ(written->key_id, 1u);
}

}  // namespace
}  // namespace daicho
