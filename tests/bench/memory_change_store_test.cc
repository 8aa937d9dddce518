// The light PCs' change store of bench/relay_cluster.cc: what a sync
// session needs of a ChangeStore (sync/change_store.h), and its observers.
#include "memory_change_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/replica_ids.h"

namespace daicho::bench {
namespace {

using testing::IdOf;

TEST(MemoryChangeStoreTest, CommitsAreHeldInSeqOrderAndCountedInTheVersionVector) {
  MemoryChangeStore store;
  store.Commit(IdOf(1), "a");
  store.Commit(IdOf(1), "b");
  store.Commit(IdOf(2), "c");
  auto vv = store.GetVersionVector();
  ASSERT_TRUE(vv.ok());
  EXPECT_EQ(vv->Get(IdOf(1)), 2u);
  EXPECT_EQ(vv->Get(IdOf(2)), 1u);
  auto all = store.ChangesSince(VersionVector(), 1 << 20, nullptr);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].origin, IdOf(1));
  EXPECT_EQ((*all)[1].seq, 2u);
  EXPECT_EQ((*all)[1].payload, "b");
}

TEST(MemoryChangeStoreTest, ChangesSinceStopsAtTheByteBudgetAndAtUpto) {
  MemoryChangeStore store;
  for (int i = 0; i < 5; ++i) store.Commit(IdOf(1), std::string(10, 'x'));
  VersionVector other;
  other.Advance(IdOf(1), 1);
  auto budget = store.ChangesSince(other, 25, nullptr);
  ASSERT_TRUE(budget.ok());
  ASSERT_EQ(budget->size(), 2u);  // seq 2 and 3: a third would pass 25 bytes
  EXPECT_EQ(budget->front().seq, 2u);
  auto one = store.ChangesSince(other, 1, nullptr);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);  // at least one change even over the budget
  VersionVector upto;
  upto.Advance(IdOf(1), 3);
  auto bounded = store.ChangesSince(VersionVector(), 1 << 20, &upto);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->size(), 3u);
}

TEST(MemoryChangeStoreTest, ApplySkipsDuplicatesAndTellsOfNewChangesOnly) {
  std::vector<uint64_t> told;
  MemoryChangeStore store([&told](const ChangeBlob& change) { told.push_back(change.seq); });
  const std::vector<ChangeBlob> first = {{IdOf(3), 1, "p1"}, {IdOf(3), 2, "p2"}};
  ASSERT_TRUE(store.Apply(first).ok());
  const std::vector<ChangeBlob> overlap = {{IdOf(3), 2, "p2"}, {IdOf(3), 3, "p3"}};
  ASSERT_TRUE(store.Apply(overlap).ok());
  EXPECT_EQ(told, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(store.GetVersionVector()->Get(IdOf(3)), 3u);
}

TEST(MemoryChangeStoreTest, AGapRefusesTheWholeBatch) {
  MemoryChangeStore store;
  const std::vector<ChangeBlob> gap = {{IdOf(4), 1, "p1"}, {IdOf(4), 3, "p3"}};
  EXPECT_EQ(store.Apply(gap).code(), Code::kProtocolError);
  EXPECT_TRUE(store.GetVersionVector()->empty());
  EXPECT_TRUE(store.ChangesSince(VersionVector(), 1 << 20, nullptr)->empty());
}

TEST(MemoryChangeStoreTest, ChangesSinceTellsOfEachChangeHandedOut) {
  std::vector<uint64_t> read;
  MemoryChangeStore store({}, [&read](const ChangeBlob& change) { read.push_back(change.seq); });
  store.Commit(IdOf(5), "a");
  store.Commit(IdOf(5), "b");
  ASSERT_TRUE(store.ChangesSince(VersionVector(), 1 << 20, nullptr).ok());
  EXPECT_EQ(read, (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace daicho::bench
