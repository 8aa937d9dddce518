#include "daicho/version_vector.h"

#include <gtest/gtest.h>

#include "memory_replica.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using core::testing::IdOf;
using core::testing::Vv;

const ReplicaId kA = IdOf(0x0a);
const ReplicaId kB = IdOf(0x0b);
const ReplicaId kC = IdOf(0x0c);

TEST(VersionVectorTest, EmptyVectorHasZeroForEveryReplica) {
  VersionVector vv;
  EXPECT_TRUE(vv.empty());
  EXPECT_EQ(vv.size(), 0u);
  EXPECT_EQ(vv.Get(kA), 0u);
  EXPECT_EQ(vv.Total(), 0u);
  EXPECT_EQ(vv.ToString(), "");
}

TEST(VersionVectorTest, CountMissingFromCountsOnlyWhatTheOtherLacks) {
  const VersionVector mine = Vv({{kA, 5}, {kB, 2}});
  const VersionVector theirs = Vv({{kA, 3}, {kB, 4}, {kC, 7}});
  EXPECT_EQ(mine.CountMissingFrom(theirs), 2u);  // A 4..5; B is covered
  EXPECT_EQ(theirs.CountMissingFrom(mine), 9u);  // B 3..4 and C 1..7
  EXPECT_EQ(mine.CountMissingFrom(VersionVector()), mine.Total());
  EXPECT_EQ(mine.CountMissingFrom(mine), 0u);
}

TEST(VersionVectorTest, AdvanceRaisesButNeverLowersAnEntry) {
  VersionVector vv;
  vv.Advance(kA, 3);
  EXPECT_EQ(vv.Get(kA), 3u);
  vv.Advance(kA, 2);
  EXPECT_EQ(vv.Get(kA), 3u);
  vv.Advance(Dot{kA, 7});
  EXPECT_EQ(vv.Get(kA), 7u);
  EXPECT_EQ(vv.Get(kB), 0u);
}

TEST(VersionVectorTest, AdvanceToZeroAddsNoEntry) {
  VersionVector vv;
  vv.Advance(kA, 0);
  EXPECT_TRUE(vv.empty());
  EXPECT_EQ(vv, VersionVector());
}

TEST(VersionVectorTest, EntriesStaySortedByReplicaWhateverTheInsertionOrder) {
  VersionVector vv;
  vv.Advance(kC, 1);
  vv.Advance(kA, 2);
  vv.Advance(kB, 3);
  ASSERT_EQ(vv.size(), 3u);
  EXPECT_EQ(vv.entries()[0], (VersionVector::Entry{kA, 2}));
  EXPECT_EQ(vv.entries()[1], (VersionVector::Entry{kB, 3}));
  EXPECT_EQ(vv.entries()[2], (VersionVector::Entry{kC, 1}));
  EXPECT_EQ(vv.Total(), 6u);
  EXPECT_EQ(vv, Vv({{kA, 2}, {kB, 3}, {kC, 1}}));
}

TEST(VersionVectorTest, CoversDotsUpToTheEntry) {
  const VersionVector vv = Vv({{kA, 3}});
  EXPECT_TRUE(vv.Covers(Dot{kA, 1}));
  EXPECT_TRUE(vv.Covers(Dot{kA, 3}));
  EXPECT_FALSE(vv.Covers(Dot{kA, 4}));
  EXPECT_FALSE(vv.Covers(Dot{kB, 1}));
}

TEST(VersionVectorTest, DominatesIsPointwiseGreaterOrEqual) {
  const VersionVector big = Vv({{kA, 3}, {kB, 2}});
  EXPECT_TRUE(big.Dominates(Vv({{kA, 3}})));
  EXPECT_TRUE(big.Dominates(Vv({{kA, 1}, {kB, 2}})));
  EXPECT_TRUE(big.Dominates(VersionVector()));
  EXPECT_TRUE(big.Dominates(big));
  EXPECT_FALSE(big.Dominates(Vv({{kA, 4}})));
  EXPECT_FALSE(big.Dominates(Vv({{kC, 1}})));
  EXPECT_FALSE(big.Dominates(Vv({{kA, 1}, {kC, 1}})));
  EXPECT_FALSE(VersionVector().Dominates(big));
}

TEST(VersionVectorTest, JoinTakesThePointwiseMaximum) {
  VersionVector vv = Vv({{kA, 3}, {kC, 1}});
  vv.Join(Vv({{kA, 1}, {kB, 5}, {kC, 4}}));
  EXPECT_EQ(vv, Vv({{kA, 3}, {kB, 5}, {kC, 4}}));
  ASSERT_EQ(vv.size(), 3u);
  EXPECT_EQ(vv.entries()[1].replica, kB);
}

TEST(VersionVectorTest, JoinWithEmptyAndIntoEmpty) {
  VersionVector vv = Vv({{kA, 3}});
  vv.Join(VersionVector());
  EXPECT_EQ(vv, Vv({{kA, 3}}));
  VersionVector empty;
  empty.Join(vv);
  EXPECT_EQ(empty, vv);
}

// Join raises shared entries in place and merges new ones from the back:
// every interleaving of old and new replicas gives the pointwise maximum.
TEST(VersionVectorTest, JoinMatchesEntryByEntryAdvance) {
  for (unsigned mask_x = 0; mask_x < 64; ++mask_x) {
    for (unsigned mask_y = 0; mask_y < 64; ++mask_y) {
      VersionVector x, y;
      for (unsigned r = 0; r < 6; ++r) {
        if (mask_x & (1u << r)) x.Advance(IdOf(static_cast<uint8_t>(r + 1)), 10 + r * mask_y % 7);
        if (mask_y & (1u << r)) y.Advance(IdOf(static_cast<uint8_t>(r + 1)), 10 + r * mask_x % 5);
      }
      VersionVector expected = x;
      for (const VersionVector::Entry& e : y.entries()) expected.Advance(e.replica, e.counter);
      VersionVector joined = x;
      joined.Join(y);
      ASSERT_EQ(joined, expected) << x.ToString() << " join " << y.ToString();
    }
  }
}

TEST(VersionVectorTest, JoinIsCommutativeAssociativeAndIdempotent) {
  const VersionVector x = Vv({{kA, 3}, {kB, 1}});
  const VersionVector y = Vv({{kB, 4}, {kC, 2}});
  const VersionVector z = Vv({{kA, 1}, {kC, 9}});
  VersionVector xy = x;
  xy.Join(y);
  VersionVector yx = y;
  yx.Join(x);
  EXPECT_EQ(xy, yx);
  VersionVector xy_z = xy;
  xy_z.Join(z);
  VersionVector yz = y;
  yz.Join(z);
  VersionVector x_yz = x;
  x_yz.Join(yz);
  EXPECT_EQ(xy_z, x_yz);
  VersionVector xx = x;
  xx.Join(x);
  EXPECT_EQ(xx, x);
}

TEST(VersionVectorTest, CompareEqualVectorsIsEqual) {
  EXPECT_EQ(Vv({{kA, 2}, {kB, 1}}).Compare(Vv({{kB, 1}, {kA, 2}})), Causality::kEqual);
  EXPECT_EQ(VersionVector().Compare(VersionVector()), Causality::kEqual);
}

TEST(VersionVectorTest, CompareOlderVectorIsBefore) {
  EXPECT_EQ(Vv({{kA, 1}}).Compare(Vv({{kA, 2}})), Causality::kBefore);
  EXPECT_EQ(VersionVector().Compare(Vv({{kA, 1}})), Causality::kBefore);
  EXPECT_EQ(Vv({{kA, 2}}).Compare(Vv({{kA, 2}, {kB, 1}})), Causality::kBefore);
}

TEST(VersionVectorTest, CompareNewerVectorIsAfter) {
  EXPECT_EQ(Vv({{kA, 2}}).Compare(Vv({{kA, 1}})), Causality::kAfter);
  EXPECT_EQ(Vv({{kA, 2}, {kB, 1}}).Compare(Vv({{kA, 2}})), Causality::kAfter);
}

TEST(VersionVectorTest, ConcurrentWritesCompareConcurrent) {
  EXPECT_EQ(Vv({{kA, 1}}).Compare(Vv({{kB, 1}})), Causality::kConcurrent);
  EXPECT_EQ(Vv({{kA, 2}, {kB, 1}}).Compare(Vv({{kA, 1}, {kB, 2}})), Causality::kConcurrent);
}

TEST(VersionVectorTest, ToStringIsSortedHexColonCounter) {
  const VersionVector vv = Vv({{kB, 12}, {kA, 3}});
  EXPECT_EQ(vv.ToString(), kA.ToHex() + ":3," + kB.ToHex() + ":12");
}

TEST(VersionVectorTest, ToStringParseRoundTrips) {
  for (const VersionVector& vv :
       {VersionVector(), Vv({{kA, 1}}), Vv({{kA, 3}, {kB, 18446744073709551615ull}, {kC, 7}})}) {
    auto parsed = VersionVector::Parse(vv.ToString());
    ASSERT_DAICHO_OK(parsed);
    EXPECT_EQ(*parsed, vv) << vv.ToString();
  }
}

TEST(VersionVectorTest, ParseAcceptsUpperCaseHexAndAnyEntryOrder) {
  std::string upper = kB.ToHex() + ":2," + kA.ToHex() + ":1";
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto parsed = VersionVector::Parse(upper);
  ASSERT_DAICHO_OK(parsed);
  EXPECT_EQ(*parsed, Vv({{kA, 1}, {kB, 2}}));
}

TEST(VersionVectorTest, ParseRejectsMalformedInput) {
  const std::string a = kA.ToHex();
  const std::vector<std::string> bad = {
      a,                               // no ':'
      a + ":",                         // no counter
      a + ":x",                        // counter not a number
      a + ":-1",                       // negative
      a + ":1x",                       // trailing junk
      a + ":99999999999999999999999",  // counter overflows uint64
      a.substr(2) + ":1",              // id too short
      "zz" + a.substr(2) + ":1",       // id not hex
      ":1",                            // empty id
      "," + a + ":1",                  // empty entry
      a + ":1,,",                      // empty entry
  };
  for (const std::string& text : bad) {
    auto parsed = VersionVector::Parse(text);
    EXPECT_FALSE(parsed.ok()) << "accepted '" << text << "'";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument) << text;
    }
  }
}

// ToString never ends with ',': "a:1," is not its form and must be refused,
// like the empty entry in "a:1,,b:2".
TEST(VersionVectorTest, ParseRejectsTrailingComma) {
  const std::string text = kA.ToHex() + ":1,";
  auto parsed = VersionVector::Parse(text);
  EXPECT_FALSE(parsed.ok()) << "accepted '" << text << "' as " << parsed->ToString();
}

}  // namespace
}  // namespace daicho
