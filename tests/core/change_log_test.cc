#include "core/change_log.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "memory_replica.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using testing::IdOf;
using testing::Vv;

const ReplicaId kA = IdOf(0x0a);
const ReplicaId kB = IdOf(0x0b);
const ReplicaId kC = IdOf(0x0c);

ChangeBlob Blob(const ReplicaId& origin, uint64_t seq, std::string payload = "") {
  if (payload.empty()) payload = "p" + std::to_string(origin.bytes()[0]) + ":" + std::to_string(seq);
  return ChangeBlob{origin, seq, std::move(payload)};
}

// The plan's steps as (index, duplicate) pairs, for one EXPECT_EQ.
std::vector<std::pair<size_t, bool>> Steps(const ApplyPlan& plan) {
  std::vector<std::pair<size_t, bool>> out;
  for (const ApplyStep& step : plan.steps) out.emplace_back(step.index, step.duplicate);
  return out;
}

TEST(PlanApplyTest, NewChangesInOrderAdvanceTheVersionVector) {
  const std::vector<ChangeBlob> blobs = {Blob(kA, 1), Blob(kA, 2), Blob(kA, 3)};
  const ApplyPlan plan = PlanApply(VersionVector(), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{0, false}, {1, false}, {2, false}}));
  EXPECT_FALSE(plan.gap.has_value());
  EXPECT_EQ(plan.new_vv, Vv({{kA, 3}}));
}

TEST(PlanApplyTest, HeldChangesAreDuplicates) {
  const std::vector<ChangeBlob> blobs = {Blob(kA, 2), Blob(kA, 3), Blob(kA, 4)};
  const ApplyPlan plan = PlanApply(Vv({{kA, 3}}), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{0, true}, {1, true}, {2, false}}));
  EXPECT_FALSE(plan.gap.has_value());
  EXPECT_EQ(plan.new_vv, Vv({{kA, 4}}));
}

TEST(PlanApplyTest, AChangeTwiceInOneBatchIsADuplicateTheSecondTime) {
  const std::vector<ChangeBlob> blobs = {Blob(kA, 1), Blob(kA, 1)};
  const ApplyPlan plan = PlanApply(VersionVector(), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{0, false}, {1, true}}));
  EXPECT_EQ(plan.new_vv, Vv({{kA, 1}}));
}

TEST(PlanApplyTest, UnsortedBatchIsPlannedInOriginAndSeqOrder) {
  const std::vector<ChangeBlob> blobs = {Blob(kB, 2), Blob(kA, 2), Blob(kB, 1), Blob(kA, 1)};
  const ApplyPlan plan = PlanApply(VersionVector(), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{3, false}, {1, false}, {2, false}, {0, false}}));
  EXPECT_FALSE(plan.gap.has_value());
  EXPECT_EQ(plan.new_vv, Vv({{kA, 2}, {kB, 2}}));
}

TEST(PlanApplyTest, EqualChangesKeepTheirBatchOrder) {
  const std::vector<ChangeBlob> blobs = {Blob(kB, 1), Blob(kA, 1, "x"), Blob(kA, 1, "y")};
  const ApplyPlan plan = PlanApply(VersionVector(), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{1, false}, {2, true}, {0, false}}));
}

TEST(PlanApplyTest, GapEndsTheStepsAndNamesTheChange) {
  // A 1 is held; A 3 leaves 2 missing. B sorts after A, so it is not reached.
  const std::vector<ChangeBlob> blobs = {Blob(kB, 1), Blob(kA, 3), Blob(kA, 1)};
  const ApplyPlan plan = PlanApply(VersionVector(), blobs);
  EXPECT_EQ(Steps(plan), (std::vector<std::pair<size_t, bool>>{{2, false}}));
  ASSERT_TRUE(plan.gap.has_value());
  EXPECT_EQ(*plan.gap, 1u);
  EXPECT_EQ(plan.new_vv, Vv({{kA, 1}}));
}

TEST(PlanApplyTest, GapAfterHeldChanges) {
  const std::vector<ChangeBlob> blobs = {Blob(kA, 5)};
  const ApplyPlan plan = PlanApply(Vv({{kA, 3}}), blobs);
  EXPECT_TRUE(plan.steps.empty());
  ASSERT_TRUE(plan.gap.has_value());
  EXPECT_EQ(*plan.gap, 0u);
  EXPECT_EQ(plan.new_vv, Vv({{kA, 3}}));
}

TEST(PlanApplyTest, SeveralOriginsAdvanceIndependently) {
  const std::vector<ChangeBlob> blobs = {Blob(kC, 1), Blob(kA, 4), Blob(kB, 1), Blob(kA, 3), Blob(kB, 2)};
  const ApplyPlan plan = PlanApply(Vv({{kA, 3}, {kC, 7}}), blobs);
  EXPECT_EQ(Steps(plan),
            (std::vector<std::pair<size_t, bool>>{{3, true}, {1, false}, {2, false}, {4, false}, {0, true}}));
  EXPECT_FALSE(plan.gap.has_value());
  EXPECT_EQ(plan.new_vv, Vv({{kA, 4}, {kB, 2}, {kC, 7}}));
}

TEST(PlanApplyTest, EmptyBatchPlansNothing) {
  const ApplyPlan plan = PlanApply(Vv({{kA, 2}}), {});
  EXPECT_TRUE(plan.steps.empty());
  EXPECT_FALSE(plan.gap.has_value());
  EXPECT_EQ(plan.new_vv, Vv({{kA, 2}}));
}

TEST(ChangeLogErrorTest, GapErrorNamesTheChangeAndTheMissingOne) {
  const Status status = GapError(Blob(kA, 5), 3);
  EXPECT_EQ(status.code(), Code::kProtocolError);
  EXPECT_EQ(status.message(), "gap: change " + kA.ToHex() + ":5 arrived but 4 is missing");
}

TEST(ChangeLogErrorTest, ReusedDotErrorEndsWithTheHolder) {
  const Status status = ReusedDotError(Blob(kB, 2), "the relay holds");
  EXPECT_EQ(status.code(), Code::kProtocolError);
  EXPECT_EQ(status.message(), "change " + kB.ToHex() + ":2 differs from the one the relay holds");
}

// A change log in memory; `seeks` counts Seek calls.
class MemoryChangeLog final : public ChangeLogReader {
 public:
  void Add(const ReplicaId& origin, uint64_t seq, std::string payload) { entries_[{origin, seq}] = std::move(payload); }

  Status Seek(const ReplicaId& origin, uint64_t seq) override {
    ++seeks;
    at_ = entries_.lower_bound({origin, seq});
    Load();
    return Status::Ok();
  }
  Status Next() override {
    if (at_ == entries_.end()) return Status(Code::kFailedPrecondition, "Next past the end");
    ++at_;
    Load();
    return Status::Ok();
  }
  const ChangeLogEntry* current() const override { return at_ == entries_.end() ? nullptr : &entry_; }

  int seeks = 0;

 private:
  void Load() {
    if (at_ == entries_.end()) return;
    entry_ = ChangeLogEntry{at_->first.first, at_->first.second, at_->second};
  }

  std::map<std::pair<ReplicaId, uint64_t>, std::string> entries_;
  std::map<std::pair<ReplicaId, uint64_t>, std::string>::const_iterator at_ = entries_.end();
  ChangeLogEntry entry_;
};

class ChangesSinceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t seq = 1; seq <= 3; ++seq) log_.Add(kA, seq, Blob(kA, seq).payload);
    for (uint64_t seq = 1; seq <= 2; ++seq) log_.Add(kB, seq, Blob(kB, seq).payload);
  }

  // "origin:seq" of each change CollectChangesSince returns, or the error.
  std::vector<std::string> Collect(const VersionVector& other, size_t max_bytes = SIZE_MAX,
                                   const VersionVector* upto = nullptr) {
    auto got = CollectChangesSince(log_, "test log", held_, other, max_bytes, upto);
    if (!got.ok()) return {got.status().ToString()};
    std::vector<std::string> out;
    for (const ChangeBlob& blob : *got) {
      EXPECT_EQ(blob.payload, Blob(blob.origin, blob.seq).payload);
      out.push_back(std::to_string(blob.origin.bytes()[0]) + ":" + std::to_string(blob.seq));
    }
    return out;
  }

  MemoryChangeLog log_;
  VersionVector held_ = Vv({{kA, 3}, {kB, 2}});
};

TEST_F(ChangesSinceTest, ReturnsWhatTheOtherLacksPerOriginInSeqOrder) {
  EXPECT_EQ(Collect(VersionVector()), (std::vector<std::string>{"10:1", "10:2", "10:3", "11:1", "11:2"}));
  EXPECT_EQ(Collect(Vv({{kA, 2}})), (std::vector<std::string>{"10:3", "11:1", "11:2"}));
  EXPECT_EQ(Collect(Vv({{kA, 3}, {kB, 2}})), (std::vector<std::string>{}));
  // An origin the other is ahead of (or the log does not hold) is skipped without a seek.
  log_.seeks = 0;
  EXPECT_EQ(Collect(Vv({{kA, 9}, {kC, 4}})), (std::vector<std::string>{"11:1", "11:2"}));
  EXPECT_EQ(log_.seeks, 1);
}

TEST_F(ChangesSinceTest, UptoLimitsEachOrigin) {
  const VersionVector upto = Vv({{kA, 2}, {kC, 9}});
  EXPECT_EQ(Collect(VersionVector(), SIZE_MAX, &upto), (std::vector<std::string>{"10:1", "10:2"}));
  EXPECT_EQ(Collect(Vv({{kA, 1}}), SIZE_MAX, &upto), (std::vector<std::string>{"10:2"}));
}

TEST_F(ChangesSinceTest, ByteBudgetStopsAfterTheChangeThatFits) {
  const size_t each = Blob(kA, 1).payload.size();  // every payload here has this size
  EXPECT_EQ(Collect(VersionVector(), 2 * each), (std::vector<std::string>{"10:1", "10:2"}));
  EXPECT_EQ(Collect(VersionVector(), 2 * each + 1), (std::vector<std::string>{"10:1", "10:2"}));
  // At least one change, however small the budget.
  EXPECT_EQ(Collect(VersionVector(), 0), (std::vector<std::string>{"10:1"}));
  EXPECT_EQ(Collect(Vv({{kA, 3}}), 1), (std::vector<std::string>{"11:1"}));
}

TEST_F(ChangesSinceTest, MissingEntryIsCorruptionNamingTheLogAndTheChange) {
  held_ = Vv({{kA, 3}, {kB, 3}});  // the log holds B 1..2 only
  EXPECT_EQ(Collect(Vv({{kA, 3}})), (std::vector<std::string>{"corruption: test log lacks " + kB.ToHex() + ":3"}));
  // A hole inside an origin's run, and an origin the log lacks altogether.
  MemoryChangeLog holey;
  holey.Add(kA, 1, "a");
  holey.Add(kA, 3, "c");
  holey.Add(kC, 1, "z");
  auto got = CollectChangesSince(holey, "test log", Vv({{kA, 3}}), VersionVector(), SIZE_MAX, nullptr);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_EQ(got.status().message(), "test log lacks " + kA.ToHex() + ":2");
  got = CollectChangesSince(holey, "test log", Vv({{kB, 1}}), VersionVector(), SIZE_MAX, nullptr);
  EXPECT_EQ(got.status().message(), "test log lacks " + kB.ToHex() + ":1");
}

TEST_F(ChangesSinceTest, VisitorStopsTheWalkAndItsErrorIsReturned) {
  std::vector<uint64_t> seen;
  Status status = ForEachChangeSince(log_, "test log", held_, VersionVector(), nullptr,
                                     [&](const ChangeLogEntry& entry) -> Result<bool> {
                                       seen.push_back(entry.seq);
                                       return seen.size() < 2;
                                     });
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
  seen.clear();
  status = ForEachChangeSince(log_, "test log", held_, VersionVector(), nullptr,
                              [&](const ChangeLogEntry& entry) -> Result<bool> {
                                seen.push_back(entry.seq);
                                return Corruption("bad change");
                              });
  EXPECT_EQ(status.message(), "bad change");
  EXPECT_EQ(seen, (std::vector<uint64_t>{1}));
}

}  // namespace
}  // namespace daicho::core
