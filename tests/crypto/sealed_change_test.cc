#include "crypto/sealed_change.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "crypto/key_ring.h"
#include "daicho/replica_id.h"
#include "tests/testing/test_util.h"

namespace daicho::crypto {
namespace {

// Byte offset of the key id (u32 LE) in a sealed payload: after magic and format.
constexpr size_t kKeyIdOffset = 2;

void SetKeyId(std::string& sealed, KeyId id) {
  for (size_t i = 0; i < 4; ++i) sealed[kKeyIdOffset + i] = static_cast<char>(id >> (8 * i));
}

class SealedChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = KeyRing::Create();
    ASSERT_DAICHO_OK(ring);
    ring1_ = std::move(*ring);
    auto rotated = ring1_.Rotated();
    ASSERT_DAICHO_OK(rotated);
    ring12_ = std::move(*rotated);
    address_ = ChangeAddress{contract_, ReplicaId::Random().value(), 42};
  }

  std::string Seal(const KeyRing& ring, std::string_view payload) {
    auto sealed = SealChange(ring, address_, payload);
    EXPECT_DAICHO_OK(sealed);
    return sealed.ok() ? *sealed : std::string();
  }

  std::string contract_ = "contract-0001";
  KeyRing ring1_;   // key 1
  KeyRing ring12_;  // keys 1 and 2 (2 current)
  ChangeAddress address_;
};

TEST_F(SealedChangeTest, RoundTripsPayloads) {
  std::string big(1 << 20, '\0');
  std::mt19937 rng(7);
  for (char& c : big) c = static_cast<char>(rng());
  for (const std::string& payload :
       {std::string(), std::string("x"), std::string("顧客台帳: 山田太郎さんの住所を更新しました"),
        std::string("nul\0inside", 10), big}) {
    const std::string sealed = Seal(ring12_, payload);
    auto opened = OpenChange(ring12_, address_, sealed);
    ASSERT_DAICHO_OK(opened);
    EXPECT_EQ(*opened, payload);
  }
}

TEST_F(SealedChangeTest, OverheadIsFixed) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{65536}}) {
    EXPECT_EQ(Seal(ring1_, std::string(n, 'a')).size(), n + kSealOverheadBytes) << n;
  }
}

TEST_F(SealedChangeTest, SealingTheSamePayloadTwiceDiffers) {
  const std::string a = Seal(ring1_, "same payload");
  const std::string b = Seal(ring1_, "same payload");
  EXPECT_NE(a, b) << "the nonce must be random";
  EXPECT_NE(a.substr(6, 24), b.substr(6, 24));
}

TEST_F(SealedChangeTest, CiphertextHidesThePlaintext) {
  const std::string canary = "CANARY-7f3a9c-秘密の顧客名";
  const std::string sealed = Seal(ring1_, "prefix " + canary + " suffix " + canary);
  EXPECT_EQ(sealed.find(canary), std::string::npos);
  EXPECT_EQ(sealed.find("CANARY"), std::string::npos);
}

TEST_F(SealedChangeTest, EveryFlippedBitIsDetected) {
  const std::string payload = "small change";
  const std::string sealed = Seal(ring1_, payload);
  ASSERT_EQ(sealed.size(), payload.size() + kSealOverheadBytes);
  for (size_t pos = 0; pos < sealed.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = sealed;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
      auto opened = OpenChange(ring1_, address_, damaged);
      ASSERT_FALSE(opened.ok()) << "byte " << pos << " bit " << bit << " opened as " << *opened;
      const bool in_key_id = pos >= kKeyIdOffset && pos < kKeyIdOffset + 4;
      if (in_key_id && opened.status().code() == Code::kFailedPrecondition) {
        continue;  // now names a key this ring lacks: indistinguishable from a newer key
      }
      EXPECT_EQ(opened.status().code(), Code::kCorruption) << "byte " << pos << " bit " << bit;
    }
  }
}

TEST_F(SealedChangeTest, EveryTruncationIsCorruption) {
  const std::string sealed = Seal(ring1_, "small change");
  for (size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_EQ(OpenChange(ring1_, address_, sealed.substr(0, n)).status().code(), Code::kCorruption) << n;
  }
  EXPECT_EQ(OpenChange(ring1_, address_, sealed + "x").status().code(), Code::kCorruption);
}

TEST_F(SealedChangeTest, MovedPayloadDoesNotOpen) {
  const std::string sealed = Seal(ring1_, "belongs at seq 42");
  ChangeAddress other_seq = address_;
  other_seq.seq = 43;
  ChangeAddress other_origin = address_;
  other_origin.origin = ReplicaId::Random().value();
  ChangeAddress other_contract = address_;
  other_contract.contract = "contract-0002";
  ChangeAddress prefix_contract = address_;
  prefix_contract.contract = "contract-000";
  for (const ChangeAddress& moved : {other_seq, other_origin, other_contract, prefix_contract}) {
    EXPECT_EQ(OpenChange(ring1_, moved, sealed).status().code(), Code::kCorruption);
  }
  EXPECT_DAICHO_OK(OpenChange(ring1_, address_, sealed));
}

TEST_F(SealedChangeTest, RelabelledKeyIdDoesNotOpen) {
  // Sealed under key 2; the header relabelled to key 1, which the ring holds.
  std::string sealed = Seal(ring12_, "under key 2");
  SetKeyId(sealed, 1);
  EXPECT_EQ(OpenChange(ring12_, address_, sealed).status().code(), Code::kCorruption);
  // Sealed under key 1, relabelled to key 2.
  sealed = Seal(ring1_, "under key 1");
  SetKeyId(sealed, 2);
  EXPECT_EQ(OpenChange(ring12_, address_, sealed).status().code(), Code::kCorruption);
  SetKeyId(sealed, 0);
  EXPECT_EQ(OpenChange(ring12_, address_, sealed).status().code(), Code::kCorruption);
}

TEST_F(SealedChangeTest, KeyMissingFromRingIsFailedPrecondition) {
  const std::string sealed = Seal(ring12_, "under key 2");
  auto opened = OpenChange(ring1_, address_, sealed);
  EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("key 2"), std::string::npos) << opened.status();
}

TEST_F(SealedChangeTest, RotatedRingOpensOldAndNewPayloads) {
  const std::string under1 = Seal(ring1_, "before rotation");
  const std::string under2 = Seal(ring12_, "after rotation");
  ASSERT_EQ(SealedKeyId(under1).value(), 1u);
  ASSERT_EQ(SealedKeyId(under2).value(), 2u);
  auto old_opened = OpenChange(ring12_, address_, under1);
  ASSERT_DAICHO_OK(old_opened);
  EXPECT_EQ(*old_opened, "before rotation");
  auto new_opened = OpenChange(ring12_, address_, under2);
  ASSERT_DAICHO_OK(new_opened);
  EXPECT_EQ(*new_opened, "after rotation");
}

TEST_F(SealedChangeTest, AnotherOfficesKeyDoesNotOpen) {
  auto other = KeyRing::Create();  // also id 1, another key
  ASSERT_DAICHO_OK(other);
  EXPECT_EQ(OpenChange(*other, address_, Seal(ring1_, "ours")).status().code(), Code::kCorruption);
}

TEST_F(SealedChangeTest, SealedKeyIdReadsTheClearHeader) {
  auto id = SealedKeyId(Seal(ring12_, "payload"));
  ASSERT_DAICHO_OK(id);
  EXPECT_EQ(*id, 2u);
  std::string big_id = Seal(ring1_, "");
  SetKeyId(big_id, 0x01020304);
  EXPECT_EQ(SealedKeyId(big_id).value(), 0x01020304u);
}

TEST_F(SealedChangeTest, SealedKeyIdRefusesOtherBytes) {
  const std::string sealed = Seal(ring1_, "payload");
  std::string bad_magic = sealed;
  bad_magic[0] = 'x';
  std::string bad_format = sealed;
  bad_format[1] = 2;
  std::string id_zero = sealed;
  SetKeyId(id_zero, 0);
  for (const std::string& bytes : {std::string(), std::string("plain text change"), sealed.substr(0, 6),
                                   sealed.substr(0, kSealOverheadBytes - 1), bad_magic, bad_format, id_zero}) {
    EXPECT_EQ(SealedKeyId(bytes).status().code(), Code::kCorruption);
  }
}

TEST_F(SealedChangeTest, SealingNeedsAKey) {
  EXPECT_EQ(SealChange(KeyRing(), address_, "payload").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenChange(KeyRing(), address_, Seal(ring1_, "payload")).status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace daicho::crypto
