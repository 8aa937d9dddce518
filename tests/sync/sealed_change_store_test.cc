// SealedChangeStore: what a PC receives from a relay opens only if it is
// exactly what an office PC sealed for that contract, origin and seq, under
// a key the PC holds. Anything else is refused as a whole batch and leaves
// the replica untouched.
#include "sync/sealed_change_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/sealed_change.h"
#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "tests/testing/test_util.h"

namespace daicho::sync {
namespace {

constexpr char kContract[] = "1111-2222-3333";

class SealedChangeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Open("a");
    b_ = Open("b");
    for (int i = 1; i <= 2; ++i) {
      WriteTransaction txn = a_->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i), "name", "山田建設 " + std::to_string(i)));
      ASSERT_DAICHO_OK(txn.Commit());
    }
    ring_ = std::move(crypto::KeyRing::Create().value());
  }

  std::unique_ptr<Replica> Open(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    return std::move(Replica::Open(dir_.Sub(name), options).value());
  }

  // A's two changes as they go to the relay.
  std::vector<ChangeBlob> SealedFromA(const crypto::KeyRing& ring, const std::string& contract = kContract) {
    ReplicaChangeStore inner(*a_);
    SealedChangeStore sealed(inner, contract, ring.Clone());
    auto changes = sealed.ChangesSince(VersionVector(), SIZE_MAX, nullptr);
    EXPECT_DAICHO_OK(changes);
    EXPECT_EQ(changes->size(), 2u);
    return *std::move(changes);
  }

  // Applies `changes` to B through its sealed store holding `ring`.
  Status ApplyToB(const std::vector<ChangeBlob>& changes, const crypto::KeyRing& ring) {
    ReplicaChangeStore inner(*b_);
    SealedChangeStore sealed(inner, kContract, ring.Clone());
    return sealed.Apply(changes);
  }

  void ExpectBUntouched() {
    EXPECT_TRUE(b_->GetVersionVector()->empty());
    EXPECT_EQ(b_->Get("customers", "c1").status().code(), Code::kNotFound);
  }

  testing::TempDir dir_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
  crypto::KeyRing ring_;
};

TEST_F(SealedChangeStoreTest, SealedChangesOpenOnAnotherPcOfTheOffice) {
  const auto changes = SealedFromA(ring_);
  for (const ChangeBlob& change : changes) {
    EXPECT_EQ(change.payload.find("山田建設"), std::string::npos) << "a value left the PC in clear";
  }
  ASSERT_DAICHO_OK(ApplyToB(changes, ring_));
  EXPECT_EQ(b_->Get("customers", "c2")->Find("name")->value.as_string(), "山田建設 2");
}

TEST_F(SealedChangeStoreTest, BitFlipsAndTruncationAreRefusedAndNothingIsApplied) {
  const auto changes = SealedFromA(ring_);
  for (size_t pos : {size_t{0}, size_t{3}, size_t{10}, changes[1].payload.size() / 2, changes[1].payload.size() - 1}) {
    auto tampered = changes;
    tampered[1].payload[pos] = static_cast<char>(tampered[1].payload[pos] ^ 0x01);
    EXPECT_NE(ApplyToB(tampered, ring_).code(), Code::kOk) << "flip at " << pos;
    ExpectBUntouched();
  }
  auto truncated = changes;
  truncated[1].payload.pop_back();
  const Status refused = ApplyToB(truncated, ring_);
  EXPECT_EQ(refused.code(), Code::kCorruption);
  EXPECT_NE(refused.message().find(":2"), std::string::npos) << "names the change: " << refused;
  ExpectBUntouched();
}

TEST_F(SealedChangeStoreTest, PayloadsMovedToAnotherSeqOriginOrContractAreRefused) {
  const auto changes = SealedFromA(ring_);
  auto swapped = changes;
  std::swap(swapped[0].payload, swapped[1].payload);
  EXPECT_EQ(ApplyToB(swapped, ring_).code(), Code::kCorruption);
  ExpectBUntouched();

  auto other_origin = changes;
  for (ChangeBlob& change : other_origin) change.origin = b_->id();
  EXPECT_EQ(ApplyToB(other_origin, ring_).code(), Code::kCorruption);
  ExpectBUntouched();

  // Sealed for another contract (with the same key bytes, even).
  EXPECT_EQ(ApplyToB(SealedFromA(ring_, "9999-8888-7777"), ring_).code(), Code::kCorruption);
  ExpectBUntouched();
}

TEST_F(SealedChangeStoreTest, AChangeUnderAKeyThePcLacksIsRefused) {
  // Sealed under key 1; B holds only key 2 (the key ring of older keys
  // missing), as after a rotation without the ring.
  auto rotated = std::move(ring_.Rotated().value());
  crypto::KeyRing only_new;
  ASSERT_DAICHO_OK(only_new.Add(2, *rotated.Find(2)));
  const Status refused = ApplyToB(SealedFromA(ring_), only_new);
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("key 1"), std::string::npos) << refused;
  ExpectBUntouched();
  // Another office's key opens nothing either.
  EXPECT_EQ(ApplyToB(SealedFromA(ring_), crypto::KeyRing::Create().value()).code(), Code::kCorruption);
  ExpectBUntouched();
  // The whole ring opens it.
  ASSERT_DAICHO_OK(ApplyToB(SealedFromA(ring_), rotated));
}

TEST_F(SealedChangeStoreTest, WithoutAKeyNothingIsSentOrApplied) {
  ReplicaChangeStore inner(*a_);
  SealedChangeStore sealed(inner, kContract, crypto::KeyRing());
  EXPECT_EQ(sealed.ChangesSince(VersionVector(), SIZE_MAX, nullptr).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ApplyToB(SealedFromA(ring_), crypto::KeyRing()).code(), Code::kFailedPrecondition);
  ExpectBUntouched();
}

}  // namespace
}  // namespace daicho::sync
