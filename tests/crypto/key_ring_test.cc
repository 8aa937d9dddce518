#include "crypto/key_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "storage/codec/binary.h"
#include "tests/testing/test_util.h"

namespace daicho::crypto {
namespace {

// Same ids and, for each, the same key bytes.
::testing::AssertionResult SameRing(const KeyRing& a, const KeyRing& b) {
  if (a.ids() != b.ids()) return ::testing::AssertionFailure() << "the rings hold different key ids";
  for (KeyId id : a.ids()) {
    if (*a.Find(id) != *b.Find(id)) return ::testing::AssertionFailure() << "key " << id << " differs";
  }
  return ::testing::AssertionSuccess();
}

KeyRing::Key KeyOf(unsigned char fill) {
  KeyRing::Key key{};
  key.fill(fill);
  return key;
}

// A serialized ring written by hand: format byte, key count, (id, key)...
std::string RingBytes(uint8_t format, const std::vector<KeyId>& ids) {
  std::string out;
  storage::BinaryWriter w(out);
  w.Byte(format);
  w.Varint(ids.size());
  for (KeyId id : ids) {
    w.Fixed32(id);
    w.Raw(std::string(kDataKeyBytes, static_cast<char>(id)));
  }
  return out;
}

TEST(KeyRingTest, DefaultRingIsEmpty) {
  KeyRing ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.current_id(), 0u);
  EXPECT_TRUE(ring.ids().empty());
  EXPECT_EQ(ring.Find(1), nullptr);
}

TEST(KeyRingTest, CreateGivesOneRandomKeyWithIdOne) {
  auto a = KeyRing::Create();
  auto b = KeyRing::Create();
  ASSERT_DAICHO_OK(a);
  ASSERT_DAICHO_OK(b);
  EXPECT_FALSE(a->empty());
  EXPECT_EQ(a->current_id(), 1u);
  EXPECT_EQ(a->ids(), std::vector<KeyId>{1});
  ASSERT_NE(a->Find(1), nullptr);
  EXPECT_EQ(a->Find(0), nullptr);
  EXPECT_EQ(a->Find(2), nullptr);
  EXPECT_NE(*a->Find(1), *b->Find(1)) << "two new offices must not share a key";
  EXPECT_NE(*a->Find(1), KeyOf(0)) << "the key must not be all zero";
}

TEST(KeyRingTest, RotatedAddsNextIdAsCurrentAndKeepsOlderKeys) {
  auto first = KeyRing::Create();
  ASSERT_DAICHO_OK(first);
  auto second = first->Rotated();
  ASSERT_DAICHO_OK(second);
  EXPECT_EQ(second->current_id(), 2u);
  EXPECT_EQ(second->ids(), (std::vector<KeyId>{1, 2}));
  ASSERT_NE(second->Find(1), nullptr);
  ASSERT_NE(second->Find(2), nullptr);
  EXPECT_EQ(*second->Find(1), *first->Find(1));
  EXPECT_NE(*second->Find(2), *first->Find(1));
  // The original is left as it was.
  EXPECT_EQ(first->ids(), std::vector<KeyId>{1});

  auto third = second->Rotated();
  ASSERT_DAICHO_OK(third);
  EXPECT_EQ(third->ids(), (std::vector<KeyId>{1, 2, 3}));
  EXPECT_EQ(*third->Find(1), *first->Find(1));
  EXPECT_EQ(*third->Find(2), *second->Find(2));
}

TEST(KeyRingTest, SerializeParseRoundTrips) {
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  auto rotated = ring->Rotated();
  ASSERT_DAICHO_OK(rotated);
  auto again = rotated->Rotated();
  ASSERT_DAICHO_OK(again);
  for (const KeyRing* r : {&*ring, &*again}) {
    auto parsed = KeyRing::Parse(r->Serialize());
    ASSERT_DAICHO_OK(parsed);
    EXPECT_TRUE(SameRing(*parsed, *r));
    EXPECT_EQ(parsed->current_id(), r->current_id());
  }
}

TEST(KeyRingTest, EmptyRingRoundTrips) {
  auto parsed = KeyRing::Parse(KeyRing().Serialize());
  ASSERT_DAICHO_OK(parsed);
  EXPECT_TRUE(parsed->empty());
}

TEST(KeyRingTest, ParseRefusesEveryTruncation) {
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  auto rotated = ring->Rotated();
  ASSERT_DAICHO_OK(rotated);
  const std::string bytes = rotated->Serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(KeyRing::Parse(bytes.substr(0, n)).status().code(), Code::kCorruption) << "length " << n;
  }
}

TEST(KeyRingTest, ParseRefusesTrailingBytes) {
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  EXPECT_EQ(KeyRing::Parse(ring->Serialize() + '\0').status().code(), Code::kCorruption);
  EXPECT_EQ(KeyRing::Parse(ring->Serialize() + ring->Serialize()).status().code(), Code::kCorruption);
}

TEST(KeyRingTest, ParseRefusesIdsOutOfOrderOrZero) {
  ASSERT_DAICHO_OK(KeyRing::Parse(RingBytes(1, {1, 2, 5})));  // the hand-made form itself is valid
  EXPECT_EQ(KeyRing::Parse(RingBytes(1, {2, 1})).status().code(), Code::kCorruption);
  EXPECT_EQ(KeyRing::Parse(RingBytes(1, {1, 1})).status().code(), Code::kCorruption);
  EXPECT_EQ(KeyRing::Parse(RingBytes(1, {0})).status().code(), Code::kCorruption);
  EXPECT_EQ(KeyRing::Parse(RingBytes(1, {0, 1})).status().code(), Code::kCorruption);
}

TEST(KeyRingTest, ParseRefusesUnknownFormat) {
  EXPECT_EQ(KeyRing::Parse(RingBytes(0, {1})).status().code(), Code::kCorruption);
  EXPECT_EQ(KeyRing::Parse(RingBytes(2, {1})).status().code(), Code::kCorruption);
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  std::string bytes = ring->Serialize();
  bytes[0] = static_cast<char>(bytes[0] ^ 0x80);
  EXPECT_EQ(KeyRing::Parse(bytes).status().code(), Code::kCorruption);
}

TEST(KeyRingTest, ParseRefusesAbsurdKeyCount) {
  std::string bytes;
  storage::BinaryWriter w(bytes);
  w.Byte(1);
  w.Varint(uint64_t{1} << 40);
  EXPECT_EQ(KeyRing::Parse(bytes).status().code(), Code::kCorruption);
}

TEST(KeyRingTest, AddKeepsIdsSorted) {
  KeyRing ring;
  ASSERT_DAICHO_OK(ring.Add(3, KeyOf(3)));
  ASSERT_DAICHO_OK(ring.Add(1, KeyOf(1)));
  ASSERT_DAICHO_OK(ring.Add(2, KeyOf(2)));
  EXPECT_EQ(ring.ids(), (std::vector<KeyId>{1, 2, 3}));
  EXPECT_EQ(ring.current_id(), 3u);
  for (KeyId id : ring.ids()) {
    ASSERT_NE(ring.Find(id), nullptr);
    EXPECT_EQ(*ring.Find(id), KeyOf(static_cast<unsigned char>(id)));
  }
}

TEST(KeyRingTest, AddOfSameIdWithAnotherKeyIsCorruption) {
  KeyRing ring;
  ASSERT_DAICHO_OK(ring.Add(1, KeyOf(0xAA)));
  EXPECT_EQ(ring.Add(1, KeyOf(0xBB)).code(), Code::kCorruption);
  EXPECT_EQ(*ring.Find(1), KeyOf(0xAA)) << "the key held must not be replaced";
  EXPECT_DAICHO_OK(ring.Add(1, KeyOf(0xAA)));
  EXPECT_EQ(ring.ids(), std::vector<KeyId>{1});
}

TEST(KeyRingTest, AddRefusesIdZero) {
  KeyRing ring;
  EXPECT_EQ(ring.Add(0, KeyOf(1)).code(), Code::kCorruption);
  EXPECT_TRUE(ring.empty());
}

TEST(KeyRingTest, CloneEqualsOriginal) {
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  auto rotated = ring->Rotated();
  ASSERT_DAICHO_OK(rotated);
  KeyRing copy = rotated->Clone();
  EXPECT_TRUE(SameRing(copy, *rotated));
  EXPECT_EQ(copy.Serialize(), rotated->Serialize());
  // The copy is independent of the original.
  ASSERT_DAICHO_OK(copy.Add(7, KeyOf(7)));
  EXPECT_EQ(rotated->Find(7), nullptr);
}

TEST(KeyRingTest, MoveLeavesSourceEmpty) {
  auto ring = KeyRing::Create();
  ASSERT_DAICHO_OK(ring);
  const KeyRing::Key key = *ring->Find(1);
  KeyRing moved = std::move(*ring);
  EXPECT_TRUE(ring->empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  ASSERT_NE(moved.Find(1), nullptr);
  EXPECT_EQ(*moved.Find(1), key);
  KeyRing assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(*assigned.Find(1), key);
}

TEST(KeyRingTest, RotationRefusedWhenIdsAreUsedUp) {
  KeyRing ring;
  ASSERT_DAICHO_OK(ring.Add(UINT32_MAX, KeyOf(9)));
  EXPECT_EQ(ring.Rotated().status().code(), Code::kResourceExhausted);
}

}  // namespace
}  // namespace daicho::crypto
