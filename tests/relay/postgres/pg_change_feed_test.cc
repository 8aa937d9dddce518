// PgChangeFeed: another node's commits arrive, this node's own are skipped,
// a lost listener reconnects and says so, change counters are read.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "tests/relay/postgres/pg_test_util.h"
#include "tests/testing/process.h"

namespace daicho::relay {
namespace {

using daicho::testing::WaitFor;

// What a feed reported, from its thread.
class Recorder {
 public:
  ChangeFeed::Handlers Handlers() {
    return {[this](const ContractNumber& contract) {
              std::lock_guard lock(mu_);
              changed_.push_back(contract);
            },
            [this] { ++resyncs_; }};
  }
  std::vector<ContractNumber> changed() {
    std::lock_guard lock(mu_);
    return changed_;
  }
  bool Saw(const ContractNumber& contract) {
    const auto all = changed();
    return std::find(all.begin(), all.end(), contract) != all.end();
  }
  int resyncs() const { return resyncs_.load(); }

 private:
  std::mutex mu_;
  std::vector<ContractNumber> changed_;
  std::atomic<int> resyncs_{0};
};

TEST_F(PgBackendTest, FeedReportsOtherNodesCommitsAndSkipsItsOwn) {
  auto node_a = OpenBackend("node-a");
  auto node_b = OpenBackend("node-b");
  AddContract(*node_a, a_);
  AddContract(*node_a, b_);
  Recorder recorder;
  auto feed = node_a->OpenChangeFeed();
  ASSERT_DAICHO_OK(feed->Start(recorder.Handlers()));
  ASSERT_TRUE(WaitFor([&] { return feed->connected() && recorder.resyncs() == 1; }));
  EXPECT_EQ(feed->Start(recorder.Handlers()).code(), Code::kFailedPrecondition);

  // Node a's own commit, then node b's: notifications arrive in commit
  // order, so once b's is in, a's would have been too.
  ASSERT_DAICHO_OK(AppendNext(*node_a, a_, Origin(1)));
  ASSERT_DAICHO_OK(AppendNext(*node_b, b_, Origin(2)));
  ASSERT_TRUE(WaitFor([&] { return recorder.Saw(b_); }));
  EXPECT_FALSE(recorder.Saw(a_));
  ASSERT_DAICHO_OK(AppendNext(*node_b, a_, Origin(2)));
  ASSERT_TRUE(WaitFor([&] { return recorder.Saw(a_); }));

  // A write that stores no change sends nothing.
  ASSERT_DAICHO_OK(node_b->Write([&](RelayWriteTxn& txn) { return txn.SetContractDisabled(b_, true); }));
  ASSERT_DAICHO_OK(AppendNext(*node_b, a_, Origin(3)));
  ASSERT_TRUE(WaitFor([&] { return recorder.changed().size() == 3; }));
  EXPECT_EQ(recorder.changed(), (std::vector<ContractNumber>{b_, a_, a_}));
  feed->Stop();
  feed->Stop();
  EXPECT_FALSE(feed->connected());
}

// Two relay processes on one host get the host name as their node name by
// default: each must still hear the other's commits.
TEST_F(PgBackendTest, NodesGivenTheSameNameStillHearEachOther) {
  auto first = OpenBackend("relay.example");
  auto second = OpenBackend("relay.example");
  AddContract(*first, a_);
  Recorder recorder;
  auto feed = first->OpenChangeFeed();
  ASSERT_DAICHO_OK(feed->Start(recorder.Handlers()));
  ASSERT_TRUE(WaitFor([&] { return feed->connected(); }));
  ASSERT_DAICHO_OK(AppendNext(*second, a_, Origin(1)));
  EXPECT_TRUE(WaitFor([&] { return recorder.Saw(a_); }));
}

TEST_F(PgBackendTest, FeedReconnectsAndResyncsAfterItsConnectionIsKilled) {
  auto node_a = OpenBackend("node-a");
  auto node_b = OpenBackend("node-b");
  AddContract(*node_a, a_);
  Recorder recorder;
  auto feed = node_a->OpenChangeFeed();
  ASSERT_DAICHO_OK(feed->Start(recorder.Handlers()));
  ASSERT_TRUE(WaitFor([&] { return feed->connected(); }));
  ASSERT_EQ(Terminate("daicho-relay node-a feed"), 1);
  ASSERT_TRUE(WaitFor([&] { return recorder.resyncs() == 2 && feed->connected(); }));
  ASSERT_DAICHO_OK(AppendNext(*node_b, a_, Origin(1)));
  EXPECT_TRUE(WaitFor([&] { return recorder.Saw(a_); }));
}

TEST_F(PgBackendTest, ChangeCountsGrowWithTheLog) {
  auto node = OpenBackend();
  AddContract(*node, a_);
  AddContract(*node, b_);
  auto feed = node->OpenChangeFeed();
  const ContractNumber unknown = Contract("0000-0000-0009");
  const std::vector<ContractNumber> asked = {a_, b_, unknown};
  auto before = feed->ChangeCounts(asked);
  ASSERT_DAICHO_OK(before);
  EXPECT_EQ(*before, (std::vector<std::pair<ContractNumber, uint64_t>>{{a_, 0}, {b_, 0}}));
  for (int i = 0; i < 3; ++i) ASSERT_DAICHO_OK(AppendNext(*node, a_, Origin(1)));
  auto after = feed->ChangeCounts(asked);
  ASSERT_DAICHO_OK(after);
  EXPECT_EQ(*after, (std::vector<std::pair<ContractNumber, uint64_t>>{{a_, 3}, {b_, 0}}));
  auto none = feed->ChangeCounts({});
  ASSERT_DAICHO_OK(none);
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace daicho::relay
