// Unit tests of each merge rule of docs/merge-rules.md, one op at a
// time, plus a few end-to-end scenarios on in-memory replicas. Where a rule
// claims commutativity, the test applies the ops in every order that keeps
// per-origin seq order and checks the states are equal.
#include "core/merge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/record_view.h"
#include "memory_replica.h"
#include "tests/testing/op_builders.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using ::daicho::testing::AddOp;
using ::daicho::testing::DeleteOp;
using ::daicho::testing::SetAddOp;
using ::daicho::testing::SetOp;
using ::daicho::testing::SetRemoveOp;
using ::daicho::testing::UndeleteOp;
using ::daicho::testing::WithKindContext;
using testing::DumpState;
using testing::DumpView;
using testing::IdOf;
using testing::kTestEpochMs;
using testing::MemoryReplica;

const ReplicaId kA = IdOf(0x0a);
const ReplicaId kB = IdOf(0x0b);
const ReplicaId kC = IdOf(0x0c);

Dot A(uint64_t n) { return Dot{kA, n}; }
Dot B(uint64_t n) { return Dot{kB, n}; }
Dot C(uint64_t n) { return Dot{kC, n}; }
HlcTime T(uint64_t ms, uint32_t logical = 0) { return HlcTime{kTestEpochMs + ms, logical}; }

// The join of some dots: a context "has seen these".
VersionVector Seen(std::initializer_list<Dot> dots) {
  VersionVector vv;
  for (const Dot& d : dots) vv.Advance(d);
  return vv;
}

// One op as delivered: the op with its change's dot and stamp.
struct Delivery {
  Op op;
  Dot dot;
  HlcTime hlc;
};

RecordState ApplyInOrder(const std::vector<Delivery>& deliveries, const std::vector<size_t>& order) {
  RecordState state;
  for (size_t i : order) ApplyOp(state, deliveries[i].op, deliveries[i].dot, deliveries[i].hlc);
  return state;
}

RecordState ApplyAll(const std::vector<Delivery>& deliveries) {
  std::vector<size_t> order(deliveries.size());
  std::iota(order.begin(), order.end(), 0);
  return ApplyInOrder(deliveries, order);
}

// True iff `order` delivers each origin's ops in seq order (as the protocol does).
bool KeepsPerOriginOrder(const std::vector<Delivery>& deliveries, const std::vector<size_t>& order) {
  for (size_t i = 0; i < order.size(); ++i) {
    for (size_t j = i + 1; j < order.size(); ++j) {
      const Dot& earlier = deliveries[order[i]].dot;
      const Dot& later = deliveries[order[j]].dot;
      if (earlier.origin == later.origin && earlier.counter > later.counter) return false;
    }
  }
  return true;
}

// Applies the deliveries in every order allowed by per-origin order and
// expects the same state each time. Returns that state.
RecordState ExpectSameStateInEveryOrder(const std::vector<Delivery>& deliveries) {
  std::vector<size_t> order(deliveries.size());
  std::iota(order.begin(), order.end(), 0);
  RecordState reference = ApplyInOrder(deliveries, order);
  int orders = 0;
  do {
    if (!KeepsPerOriginOrder(deliveries, order)) continue;
    ++orders;
    const RecordState state = ApplyInOrder(deliveries, order);
    std::string order_text;
    for (size_t i : order) order_text += std::to_string(i) + " ";
    EXPECT_EQ(state, reference) << "order " << order_text << "\ngot:\n"
                                << DumpState(state) << "want:\n"
                                << DumpState(reference);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_GE(orders, 1);
  return reference;
}

Record View(const RecordState& state) { return MakeRecordView("customers", "c1", state); }

// ---------------------------------------------------------------- new records

// A state reused for record after record ends as a fresh one would, whatever
// the previous record left in it (fields, kinds, siblings, deletes).
TEST(NewRecordTest, ApplyingToAUsedStateEqualsApplyingToAnEmptyOne) {
  const std::vector<std::vector<Op>> records = {
      {SetOp("a", "1"), SetOp("b", "2", Seen({B(1)})), AddOp("c", 3), SetAddOp("d", "x")},
      {SetOp("b", "3")},
      {AddOp("a", -1), SetOp("b", "4"), AddOp("b", 2), SetRemoveOp("z", "x", {A(1)}), DeleteOp(Seen({A(1)}))},
      {},
      {UndeleteOp()},
      {SetOp("a", "1"), SetOp("b", "2"), SetOp("c", "3"), SetOp("d", "4"), SetOp("e", "5")},
      {SetOp("b", "1"), SetOp("a", "2")},  // not in canonical order
      {SetOp("a", 1.5), SetAddOp("a", "y"), SetAddOp("a", "z")},
  };
  RecordState reused;
  for (const std::vector<Op>& list : records) {
    RecordOps ops;
    ops.ops = list;
    RecordState fresh;
    ApplyRecordOps(fresh, ops, B(7), T(5));
    ApplyRecordOpsToNew(reused, ops, B(7), T(5));
    EXPECT_EQ(reused, fresh) << "got:\n" << DumpState(reused) << "want:\n" << DumpState(fresh);
  }
}

// ---------------------------------------------------------------- register

TEST(RegisterMergeTest, ConcurrentWritesBothSurviveAsConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {SetOp("name", "山田工務店"), B(1), T(200)},
  });
  const FieldState* field = state.FindField("name");
  ASSERT_NE(field, nullptr);
  ASSERT_TRUE(field->reg);
  EXPECT_EQ(field->reg->siblings.size(), 2u);
  EXPECT_TRUE(HasValueConflict(*field->reg));
  EXPECT_EQ(field->reg->context, Seen({A(1), B(1)}));

  const Record view = View(state);
  const FieldView* name = view.Find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_TRUE(name->conflict);
  EXPECT_TRUE(view.has_conflict());
  EXPECT_EQ(name->value, Value("山田工務店"));  // highest hlc
  ASSERT_EQ(name->siblings.size(), 2u);
  EXPECT_EQ(name->siblings[0].dot, B(1));
  EXPECT_EQ(name->siblings[1].dot, A(1));
}

TEST(RegisterMergeTest, DisplayedValueIsTheSiblingWithHighestHlcThenOrigin) {
  // A's write is newer: it is shown although A's id sorts first.
  RecordState newer_a = ApplyAll({{SetOp("name", "a"), A(1), T(300)}, {SetOp("name", "b"), B(1), T(200)}});
  EXPECT_EQ(View(newer_a).Find("name")->value, Value("a"));
  // Same stamp: the higher origin breaks the tie, whatever the delivery order.
  const RecordState tie = ExpectSameStateInEveryOrder({
      {SetOp("name", "a"), A(1), T(100)},
      {SetOp("name", "c"), C(1), T(100)},
      {SetOp("name", "b"), B(1), T(100)},
  });
  const Record tie_view = View(tie);
  const FieldView* name = tie_view.Find("name");
  EXPECT_EQ(name->value, Value("c"));
  ASSERT_EQ(name->siblings.size(), 3u);
  EXPECT_EQ(name->siblings[0].dot, C(1));
  EXPECT_EQ(name->siblings[1].dot, B(1));
  EXPECT_EQ(name->siblings[2].dot, A(1));
}

TEST(RegisterMergeTest, EqualValuesFromTwoWritersAreSiblingsButNotAConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("phone", "03-1234-5678"), A(1), T(100)},
      {SetOp("phone", "03-1234-5678"), B(1), T(200)},
  });
  const FieldState* field = state.FindField("phone");
  ASSERT_TRUE(field && field->reg);
  EXPECT_EQ(field->reg->siblings.size(), 2u);
  EXPECT_FALSE(HasValueConflict(*field->reg));
  const Record view = View(state);
  EXPECT_FALSE(view.Find("phone")->conflict);
  EXPECT_EQ(view.Find("phone")->siblings.size(), 2u);
  EXPECT_FALSE(view.has_conflict());
}

TEST(RegisterMergeTest, WriteThatSawTheSiblingsResolvesTheConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {SetOp("name", "山田工務店"), B(1), T(200)},
      {SetOp("name", "株式会社山田建設", Seen({A(1), B(1)})), C(1), T(300)},
  });
  const FieldState* field = state.FindField("name");
  ASSERT_TRUE(field && field->reg);
  ASSERT_EQ(field->reg->siblings.size(), 1u);
  EXPECT_EQ(field->reg->siblings[0].dot, C(1));
  EXPECT_FALSE(HasValueConflict(*field->reg));
  const Record view = View(state);
  EXPECT_EQ(view.Find("name")->value, Value("株式会社山田建設"));
  EXPECT_FALSE(view.has_conflict());
}

TEST(RegisterMergeTest, ResolvingWriteMayBeOlderThanTheValuesItReplaces) {
  // HLC is only for display: a write that saw the siblings replaces them even
  // with a lower stamp (the resolver's wall clock was behind).
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "x"), A(1), T(500)},
      {SetOp("name", "y"), B(1), T(600)},
      {SetOp("name", "z", Seen({A(1), B(1)})), C(1), T(50)},
  });
  EXPECT_EQ(View(state).Find("name")->value, Value("z"));
  EXPECT_EQ(View(state).Find("name")->siblings.size(), 1u);
}

TEST(RegisterMergeTest, WriteThatSawOneSiblingReplacesOnlyThatOne) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "a"), A(1), T(100)},
      {SetOp("name", "b"), B(1), T(200)},
      {SetOp("name", "c", Seen({A(1)})), C(1), T(300)},
  });
  const FieldState* field = state.FindField("name");
  ASSERT_EQ(field->reg->siblings.size(), 2u);
  EXPECT_EQ(field->reg->siblings[0].dot, B(1));
  EXPECT_EQ(field->reg->siblings[1].dot, C(1));
  EXPECT_TRUE(HasValueConflict(*field->reg));
}

TEST(RegisterMergeTest, SequentialWritesOfOneReplicaReplaceEachOther) {
  const RecordState state = ApplyAll({
      {SetOp("name", "a"), A(1), T(100)},
      {SetOp("name", "b", Seen({A(1)})), A(2), T(101)},
      {SetOp("name", "c", Seen({A(2)})), A(3), T(102)},
  });
  const FieldState* field = state.FindField("name");
  ASSERT_EQ(field->reg->siblings.size(), 1u);
  EXPECT_EQ(field->reg->siblings[0].value, Value("c"));
  EXPECT_EQ(field->reg->context, Seen({A(3)}));
}

TEST(RegisterMergeTest, LateSupersededWriteIsIgnored) {
  RecordState state;
  // B's write saw A's: it arrives first.
  EXPECT_TRUE(ApplyOp(state, SetOp("name", "new", Seen({A(1)})), B(1), T(200)));
  const RecordState before = state;
  // The write it superseded arrives late and must not come back.
  EXPECT_FALSE(ApplyOp(state, SetOp("name", "old"), A(1), T(100)));
  EXPECT_EQ(state, before) << DumpState(state);
  ASSERT_EQ(state.FindField("name")->reg->siblings.size(), 1u);
  EXPECT_EQ(View(state).Find("name")->value, Value("new"));
}

TEST(RegisterMergeTest, WriteCoveredByAContextThatRanAheadIsIgnored) {
  // B had seen A's 5th change (which wrote the field) when it wrote; this
  // replica holds none of A's changes yet. A's earlier write (seq 3) was in
  // the past of A's 5th, so B's write superseded it too.
  RecordState state;
  ApplyOp(state, SetOp("name", "b", Seen({A(5)})), B(1), T(200));
  ApplyOp(state, SetOp("name", "a3"), A(3), T(100));
  ApplyOp(state, SetOp("name", "a5", Seen({A(3)})), A(5), T(150));
  ASSERT_EQ(state.FindField("name")->reg->siblings.size(), 1u);
  EXPECT_EQ(state.FindField("name")->reg->siblings[0].dot, B(1));
}

TEST(RegisterMergeTest, WriteSupersedesWritesItsWriterSawOnlyThroughAnotherWrite) {
  // C overwrote A's value; B got C's change but never A's, and overwrote C's.
  // B's context is its field VV, which carries C's context: A's write is
  // superseded too, even at a replica that never gets C's change.
  MemoryReplica a(kA, kTestEpochMs), b(kB, kTestEpochMs), c(kC, kTestEpochMs);
  MemoryReplica x(IdOf(0x0f), kTestEpochMs);
  ChangeBuilder w;
  w.Set("customers", "c1", "name", "a");
  const Change from_a = *a.Commit(w);
  c.Receive(from_a);
  w.Set("customers", "c1", "name", "c");
  const Change from_c = *c.Commit(w);
  b.Receive(from_c);
  ASSERT_EQ(b.vv().Get(kA), 0u);
  w.Set("customers", "c1", "name", "b");
  const Change from_b = *b.Commit(w);
  EXPECT_TRUE(from_b.records[0].ops[0].context.Covers(A(1)));

  x.Receive(from_a);
  x.Receive(from_b);
  const Record view = x.View("customers", "c1");
  ASSERT_EQ(view.Find("name")->siblings.size(), 1u) << DumpView(view);
  EXPECT_EQ(view.Find("name")->value, Value("b"));
  // The other order, and with C's change too: the same.
  MemoryReplica y(IdOf(0x10), kTestEpochMs);
  y.Receive(from_b);
  y.Receive(from_a);
  EXPECT_EQ(y.records(), x.records());
  y.Receive(from_c);
  x.Receive(from_c);
  EXPECT_EQ(y.records(), x.records());
  EXPECT_EQ(x.View("customers", "c1").Find("name")->siblings.size(), 1u);
}

TEST(RegisterMergeTest, DuplicateDeliveryIsIdempotent) {
  RecordState state;
  ASSERT_TRUE(ApplyOp(state, SetOp("name", "a"), A(1), T(100)));
  ASSERT_TRUE(ApplyOp(state, SetOp("name", "b"), B(1), T(200)));
  const RecordState before = state;
  EXPECT_FALSE(ApplyOp(state, SetOp("name", "a"), A(1), T(100)));
  EXPECT_FALSE(ApplyOp(state, SetOp("name", "b"), B(1), T(200)));
  EXPECT_EQ(state, before) << DumpState(state);
}

TEST(RegisterMergeTest, AllValueTypesAreKept) {
  const std::vector<Value> values = {Value(),    Value(true),       Value(-42),
                                     Value(2.5), Value("株式会社"), Value(Bytes{std::string("\0\xff", 2)})};
  for (const Value& v : values) {
    RecordState state;
    ApplyOp(state, SetOp("f", v), A(1), T(1));
    EXPECT_EQ(View(state).Find("f")->value, v) << testing::DumpValue(v);
  }
}

// ----------------------------------------------------------------- counter

TEST(CounterMergeTest, AddsFromSeveralReplicasSum) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {AddOp("filings", 5), A(1), T(100)},
      {AddOp("filings", 7), B(1), T(100)},
      {AddOp("filings", -2), C(1), T(100)},
      {AddOp("filings", 1), A(2), T(200)},
  });
  const FieldState* field = state.FindField("filings");
  ASSERT_TRUE(field && field->counter);
  EXPECT_EQ(field->counter->Total(), 11);
  EXPECT_EQ(View(state).Find("filings")->value, Value(int64_t{11}));
  EXPECT_EQ(View(state).Find("filings")->kind, FieldKind::kCounter);
}

TEST(CounterMergeTest, NegativeAddsAccumulateSeparatelyFromPositiveOnes) {
  const RecordState state = ApplyAll({
      {AddOp("filings", 10), A(1), T(100)},
      {AddOp("filings", -3), A(2), T(101)},
      {AddOp("filings", -4), A(3), T(102)},
  });
  const CounterState& counter = *state.FindField("filings")->counter;
  ASSERT_EQ(counter.entries.size(), 1u);
  EXPECT_EQ(counter.entries[0].replica, kA);
  EXPECT_EQ(counter.entries[0].positive, 10u);
  EXPECT_EQ(counter.entries[0].negative, 7u);
  EXPECT_EQ(counter.entries[0].last_seq, 3u);
  EXPECT_EQ(counter.Total(), 3);
}

TEST(CounterMergeTest, EachDotIsAppliedOnce) {
  RecordState state;
  ASSERT_TRUE(ApplyOp(state, AddOp("filings", 5), A(1), T(100)));
  const RecordState before = state;
  EXPECT_FALSE(ApplyOp(state, AddOp("filings", 5), A(1), T(100)));
  EXPECT_EQ(state, before);
  EXPECT_EQ(state.FindField("filings")->counter->Total(), 5);
  ASSERT_TRUE(ApplyOp(state, AddOp("filings", 5), A(2), T(101)));
  EXPECT_EQ(state.FindField("filings")->counter->Total(), 10);
}

TEST(CounterMergeTest, Int64ExtremesDoNotOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  RecordState state = ExpectSameStateInEveryOrder({
      {AddOp("n", kMin), A(1), T(100)},
      {AddOp("n", kMax), B(1), T(100)},
  });
  const CounterState& counter = *state.FindField("n")->counter;
  EXPECT_EQ(counter.entries[0].negative, uint64_t{1} << 63);
  EXPECT_EQ(counter.entries[1].positive, static_cast<uint64_t>(kMax));
  EXPECT_EQ(counter.Total(), -1);

  // Past the int64 range the total wraps (two's complement), the same way on
  // every replica; P and N themselves stay exact until 2^64.
  ApplyOp(state, AddOp("n", kMax), B(2), T(101));
  EXPECT_EQ(state.FindField("n")->counter->entries[1].positive, 2 * static_cast<uint64_t>(kMax));
  EXPECT_EQ(state.FindField("n")->counter->Total(), kMax - 1);
  ApplyOp(state, AddOp("n", kMax), C(1), T(102));
  EXPECT_EQ(state.FindField("n")->counter->Total(), -3);  // kMin + 3 * kMax = 2^64 - 3, wrapped
}

TEST(CounterMergeTest, ZeroDeltaIsAnEditWithNoEffectOnTheTotal) {
  RecordState state;
  EXPECT_TRUE(ApplyOp(state, AddOp("n", 0), A(1), T(100)));
  EXPECT_EQ(state.FindField("n")->counter->Total(), 0);
  EXPECT_EQ(state.FindField("n")->counter->entries[0].last_seq, 1u);
}

// --------------------------------------------------------------------- set

TEST(SetMergeTest, AddWinsOverAConcurrentRemove) {
  // B removed the "大工" it saw (A's add); A re-added it and C added it, both
  // without seeing the remove.
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("trades", "大工"), A(1), T(100)},
      {SetRemoveOp("trades", "大工", {A(1)}), B(1), T(200)},
      {SetAddOp("trades", "大工"), A(2), T(150)},
      {SetAddOp("trades", "大工"), C(1), T(150)},
  });
  const SetState& set = *state.FindField("trades")->set;
  EXPECT_EQ(set.Present(), std::vector<std::string>{"大工"});
  ASSERT_EQ(set.elements.size(), 1u);
  EXPECT_EQ(set.elements[0].live, (std::vector<Dot>{A(2), C(1)}));
  EXPECT_EQ(View(state).Find("trades")->elements, std::vector<std::string>{"大工"});
}

TEST(SetMergeTest, RemoveOfAnObservedAddRemovesIt) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("trades", "電気"), A(1), T(100)},
      {SetAddOp("trades", "管"), A(2), T(101)},
      {SetRemoveOp("trades", "電気", {A(1)}), B(1), T(200)},
  });
  const SetState& set = *state.FindField("trades")->set;
  EXPECT_EQ(set.Present(), std::vector<std::string>{"管"});
  // The element stays known (with its tombstone) so a late add can be judged.
  ASSERT_EQ(set.elements.size(), 2u);
  EXPECT_TRUE(set.elements[1].live.empty());
  EXPECT_EQ(set.elements[1].value, "電気");
  EXPECT_EQ(set.elements[1].tombstone, Seen({A(1), B(1)}));
}

TEST(SetMergeTest, RemoveOfSeveralLiveDotsRemovesThemAll) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("trades", "大工"), A(1), T(100)},
      {SetAddOp("trades", "大工"), B(1), T(100)},
      {SetRemoveOp("trades", "大工", {A(1), B(1)}), C(1), T(200)},
  });
  EXPECT_TRUE(state.FindField("trades")->set->Present().empty());
}

TEST(SetMergeTest, LateAddCoveredByATombstoneIsIgnored) {
  RecordState state;
  // The remove (which saw A's two adds) arrives before the adds.
  ASSERT_TRUE(ApplyOp(state, SetRemoveOp("trades", "大工", {A(1), A(2)}), B(1), T(300)));
  const RecordState after_remove = state;
  EXPECT_FALSE(ApplyOp(state, SetAddOp("trades", "大工"), A(1), T(100)));
  EXPECT_FALSE(ApplyOp(state, SetAddOp("trades", "大工"), A(2), T(200)));
  EXPECT_EQ(state, after_remove) << DumpState(state);
  EXPECT_TRUE(state.FindField("trades")->set->Present().empty());
  // Same state as the causal order.
  EXPECT_EQ(state, ApplyAll({
                       {SetAddOp("trades", "大工"), A(1), T(100)},
                       {SetAddOp("trades", "大工"), A(2), T(200)},
                       {SetRemoveOp("trades", "大工", {A(1), A(2)}), B(1), T(300)},
                   }));
}

TEST(SetMergeTest, ReAddAfterRemoveMakesTheElementPresentAgain) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("trades", "大工"), A(1), T(100)},
      {SetRemoveOp("trades", "大工", {A(1)}), B(1), T(200)},
      {SetAddOp("trades", "大工"), B(2), T(300)},
  });
  const SetState& set = *state.FindField("trades")->set;
  EXPECT_EQ(set.Present(), std::vector<std::string>{"大工"});
  EXPECT_EQ(set.elements[0].live, std::vector<Dot>{B(2)});
}

TEST(SetMergeTest, RemoveOfAnElementNeverAddedLeavesNothingPresent) {
  RecordState state;
  ApplyOp(state, SetRemoveOp("trades", "大工", {}), A(1), T(100));
  EXPECT_TRUE(state.FindField("trades")->set->Present().empty());
  // A later add by another replica that did not see the remove is present.
  ApplyOp(state, SetAddOp("trades", "大工"), B(1), T(50));
  EXPECT_EQ(state.FindField("trades")->set->Present(), std::vector<std::string>{"大工"});
}

TEST(SetMergeTest, PresentElementsAreSortedBytewise) {
  const RecordState state = ApplyAll({
      {SetAddOp("trades", "管"), A(1), T(100)},
      {SetAddOp("trades", "Zinc"), A(2), T(101)},
      {SetAddOp("trades", "alpha"), A(3), T(102)},
      {SetAddOp("trades", "大工"), A(4), T(103)},
  });
  std::vector<std::string> want = {"Zinc", "alpha", "大工", "管"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(View(state).Find("trades")->elements, want);
}

TEST(SetMergeTest, DuplicateDeliveryIsIdempotent) {
  RecordState state;
  ApplyOp(state, SetAddOp("trades", "大工"), A(1), T(100));
  ApplyOp(state, SetRemoveOp("trades", "大工", {A(1)}), B(1), T(200));
  ApplyOp(state, SetAddOp("trades", "管"), C(1), T(300));
  const RecordState before = state;
  ApplyOp(state, SetAddOp("trades", "大工"), A(1), T(100));
  ApplyOp(state, SetRemoveOp("trades", "大工", {A(1)}), B(1), T(200));
  ApplyOp(state, SetAddOp("trades", "管"), C(1), T(300));
  EXPECT_EQ(state, before) << DumpState(state);
}

// ApplyOp promises "true iff the state changed". Re-delivering any op that is
// already applied changes nothing, so each must report false.
TEST(ApplyOpTest, RedeliveredOpReportsNoChange) {
  struct Case {
    const char* name;
    Op op;
  };
  const std::vector<Case> cases = {
      {"set register", SetOp("f", "v")},         {"counter add", AddOp("g", 3)},     {"set add", SetAddOp("h", "e")},
      {"set remove", SetRemoveOp("h", "e", {})}, {"delete", DeleteOp(Seen({A(1)}))}, {"undelete", UndeleteOp()},
  };
  for (const Case& c : cases) {
    RecordState state;
    EXPECT_TRUE(ApplyOp(state, c.op, A(1), T(100))) << c.name;
    const RecordState before = state;
    EXPECT_FALSE(ApplyOp(state, c.op, A(1), T(100))) << c.name << ": reported a change on re-delivery";
    EXPECT_EQ(state, before) << c.name;
  }
}

// The same without duplicates: a remove that arrives after a remove which
// saw more (E removed A's re-add A:3 and B's re-add B:2) finds nothing left
// to do, yet ApplyOp reports a change.
TEST(ApplyOpTest, LateRemoveThatChangesNothingReportsNoChange) {
  const ReplicaId kE = IdOf(0x0e);
  RecordState state;
  ASSERT_TRUE(ApplyOp(state, SetAddOp("trades", "大工"), A(1), T(100)));
  ASSERT_TRUE(ApplyOp(state, SetRemoveOp("trades", "大工", {A(3), B(2)}), Dot{kE, 1}, T(500)));
  const RecordState before = state;
  // B's own earlier remove of A:1: per-origin order holds (B:1 before B:2).
  const bool changed = ApplyOp(state, SetRemoveOp("trades", "大工", {A(1)}), B(1), T(200));
  ASSERT_EQ(state, before) << DumpState(state);
  EXPECT_FALSE(changed);
}

// ---------------------------------------------------------- delete/undelete

TEST(DeleteMergeTest, DeleteThatSawEverythingHidesTheRecordButKeepsItsData) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {AddOp("filings", 2), B(1), T(100)},
      {SetAddOp("trades", "大工"), B(2), T(100)},
      {DeleteOp(Seen({A(2), B(2)})), A(2), T(200)},
  });
  EXPECT_TRUE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  const Record view = View(state);
  EXPECT_TRUE(view.deleted);
  EXPECT_FALSE(view.delete_conflict);
  EXPECT_FALSE(view.has_conflict());
  ASSERT_NE(view.Find("name"), nullptr);
  EXPECT_EQ(view.Find("name")->value, Value("山田建設"));
  EXPECT_EQ(view.Find("filings")->value, Value(int64_t{2}));
  EXPECT_EQ(view.Find("trades")->elements, std::vector<std::string>{"大工"});
}

TEST(DeleteMergeTest, NeverDeletedRecordIsVisible) {
  const RecordState state = ApplyAll({{SetOp("name", "x"), A(1), T(100)}});
  EXPECT_FALSE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  EXPECT_FALSE(IsHidden(RecordState{}));
}

TEST(DeleteMergeTest, DeleteConcurrentWithAnUnseenEditLeavesTheRecordVisibleWithADeleteConflict) {
  // A deletes after its own write; B edits the phone without seeing the delete,
  // and A had not seen B's edit.
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {SetOp("phone", "03-0000-0000"), B(1), T(150)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
  });
  EXPECT_FALSE(IsHidden(state));
  EXPECT_TRUE(HasDeleteConflict(state));
  const Record view = View(state);
  EXPECT_FALSE(view.deleted);
  EXPECT_TRUE(view.delete_conflict);
  EXPECT_TRUE(view.has_conflict());
}

TEST(DeleteMergeTest, EachKindOfEditKeepsAConcurrentlyDeletedRecordAlive) {
  const std::vector<Op> edits = {SetOp("name", "x"), AddOp("filings", 1), SetAddOp("trades", "大工")};
  for (const Op& edit : edits) {
    const RecordState state = ExpectSameStateInEveryOrder({
        {SetOp("memo", "m"), A(1), T(100)},
        {DeleteOp(Seen({A(2)})), A(2), T(200)},
        {edit, B(1), T(150)},
    });
    EXPECT_TRUE(HasDeleteConflict(state)) << DumpState(state);
    EXPECT_FALSE(IsHidden(state));
  }
}

TEST(DeleteMergeTest, ConcurrentSetRemoveDoesNotKeepARecordAlive) {
  // A remove creates no live dot (docs/merge-rules.md: live dots are register siblings,
  // live set dots, counter-add dots, undeletes), so it cannot veto a delete.
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("trades", "大工"), A(1), T(100)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {SetRemoveOp("trades", "大工", {A(1)}), B(1), T(150)},
  });
  EXPECT_TRUE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
}

TEST(DeleteMergeTest, DeletingAgainResolvesTheDeleteConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {SetOp("phone", "03-0000-0000"), B(1), T(150)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {DeleteOp(Seen({A(2), B(1), C(1)})), C(1), T(300)},  // C saw both
  });
  EXPECT_TRUE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  EXPECT_TRUE(View(state).deleted);
  EXPECT_FALSE(View(state).has_conflict());
}

TEST(DeleteMergeTest, UndeletingResolvesTheDeleteConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {SetOp("phone", "03-0000-0000"), B(1), T(150)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {UndeleteOp(), C(1), T(300)},
  });
  EXPECT_FALSE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  EXPECT_FALSE(View(state).has_conflict());
}

TEST(DeleteMergeTest, UndeleteWinsOverAConcurrentDelete) {
  // A deleted (seq 2); B saw that and undeleted; A, not seeing the undelete,
  // deleted again (seq 3).
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {UndeleteOp(), B(1), T(300)},
      {DeleteOp(Seen({A(3)})), A(3), T(400)},
  });
  EXPECT_FALSE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  EXPECT_FALSE(View(state).deleted);
}

TEST(DeleteMergeTest, DeleteAfterUndeleteHidesTheRecordAgain) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "山田建設"), A(1), T(100)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {UndeleteOp(), B(1), T(300)},
      {DeleteOp(Seen({A(3), B(1)})), A(3), T(400)},
  });
  EXPECT_TRUE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
}

TEST(DeleteMergeTest, UndeleteOfARecordNeverDeletedChangesNothingVisible) {
  const RecordState state = ApplyAll({{SetOp("name", "x"), A(1), T(100)}, {UndeleteOp(), B(1), T(200)}});
  EXPECT_FALSE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
  EXPECT_FALSE(View(state).has_conflict());
}

TEST(DeleteMergeTest, OverwritingTheUnseenEditKeepsTheDeleteConflictUntilDeletedAgain) {
  // B's unseen edit kept the record alive; A then overwrote it (having seen
  // it, but not yet deleting again): the new value is A's, and A's first
  // delete does not cover it, so the conflict stays until deleted again.
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("name", "a"), A(1), T(100)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {SetOp("name", "b", Seen({A(1)})), B(1), T(150)},
      {SetOp("name", "c", Seen({A(1), B(1)})), A(3), T(300)},
  });
  EXPECT_TRUE(HasDeleteConflict(state));
  const RecordState resolved = ApplyAll({
      {SetOp("name", "a"), A(1), T(100)},
      {DeleteOp(Seen({A(2)})), A(2), T(200)},
      {SetOp("name", "b", Seen({A(1)})), B(1), T(150)},
      {DeleteOp(Seen({A(3), B(1)})), A(3), T(300)},
  });
  EXPECT_TRUE(IsHidden(resolved));
}

// End to end on in-memory replicas: the builder derives contexts and adds
// undeletes, the merge rules do the rest.
class DeleteScenarioTest : public ::testing::Test {
 protected:
  void Sync() {
    for (int round = 0; round < 2; ++round) {
      a_.SyncFrom(b_);
      b_.SyncFrom(a_);
    }
    ASSERT_EQ(a_.vv(), b_.vv());
    ASSERT_EQ(a_.records(), b_.records());
  }
  void Commit(MemoryReplica& r, ChangeBuilder& builder) {
    r.clock().Advance(10);
    ASSERT_TRUE(r.Commit(builder).has_value());
  }

  MemoryReplica a_{kA, kTestEpochMs};
  MemoryReplica b_{kB, kTestEpochMs};
};

TEST_F(DeleteScenarioTest, ConcurrentEditAndDeleteGiveADeleteConflictThatDeletingAgainResolves) {
  ChangeBuilder w;
  w.Set("customers", "c1", "name", "山田建設");
  Commit(a_, w);
  Sync();
  w.Delete("customers", "c1");
  Commit(a_, w);
  w.Set("customers", "c1", "phone", "03-0000-0000");
  Commit(b_, w);
  Sync();
  Record view = a_.View("customers", "c1");
  EXPECT_FALSE(view.deleted);
  EXPECT_TRUE(view.delete_conflict);
  EXPECT_EQ(DumpView(view), DumpView(b_.View("customers", "c1")));

  w.Delete("customers", "c1");
  Commit(b_, w);
  Sync();
  view = a_.View("customers", "c1");
  EXPECT_TRUE(view.deleted);
  EXPECT_FALSE(view.delete_conflict);
  EXPECT_EQ(view.Find("phone")->value, Value("03-0000-0000"));  // data kept
}

TEST_F(DeleteScenarioTest, EditingAHiddenRecordBringsItBack) {
  ChangeBuilder w;
  w.Set("customers", "c1", "name", "山田建設");
  w.Delete("customers", "c1");  // delete after a set in one transaction: both kept
  Commit(a_, w);
  Sync();
  ASSERT_TRUE(b_.View("customers", "c1").deleted);

  w.Add("customers", "c1", "filings", 1);
  Commit(b_, w);
  const Change& change = b_.log().back();
  ASSERT_EQ(change.records.size(), 1u);
  ASSERT_EQ(change.records[0].ops.size(), 2u);
  EXPECT_EQ(change.records[0].ops[0].type, OpType::kCounterAdd);
  EXPECT_EQ(change.records[0].ops[1].type, OpType::kUndelete);
  Sync();
  const Record view = a_.View("customers", "c1");
  EXPECT_FALSE(view.deleted);
  EXPECT_FALSE(view.delete_conflict);
  EXPECT_EQ(view.Find("name")->value, Value("山田建設"));  // everything restored
  EXPECT_EQ(view.Find("filings")->value, Value(int64_t{1}));
}

TEST_F(DeleteScenarioTest, UndeleteWinsOverAConcurrentDeleteAndDeletingAfterItHidesAgain) {
  ChangeBuilder w;
  w.Set("customers", "c1", "name", "山田建設");
  Commit(a_, w);
  w.Delete("customers", "c1");
  Commit(a_, w);
  Sync();
  w.Undelete("customers", "c1");
  Commit(b_, w);
  w.Delete("customers", "c1");  // A again, not having seen the undelete
  Commit(a_, w);
  Sync();
  EXPECT_FALSE(a_.View("customers", "c1").deleted);
  EXPECT_FALSE(a_.View("customers", "c1").delete_conflict);

  w.Delete("customers", "c1");
  Commit(a_, w);
  Sync();
  EXPECT_TRUE(b_.View("customers", "c1").deleted);
}

// ----------------------------------------------------------- kind conflict

TEST(KindConflictMergeTest, SameNameUsedAsRegisterAndCounterConcurrentlyKeepsBothStates) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("visits", "ten"), A(1), T(100)},
      {AddOp("visits", 10), B(1), T(200)},
  });
  const FieldState* field = state.FindField("visits");
  ASSERT_NE(field, nullptr);
  EXPECT_TRUE(field->reg.has_value());
  EXPECT_TRUE(field->counter.has_value());
  EXPECT_TRUE(HasKindConflict(*field));
  const Record view = View(state);
  const FieldView* visits = view.Find("visits");
  EXPECT_TRUE(visits->kind_conflict);
  EXPECT_TRUE(view.has_conflict());
  EXPECT_EQ(visits->kind, FieldKind::kCounter);  // newest op is B's add
  EXPECT_EQ(visits->value, Value(int64_t{10}));
  EXPECT_EQ(visits->modified, T(200));
}

TEST(KindConflictMergeTest, DisplaysTheKindWhoseNewestOpIsNewest) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("visits", "ten"), A(1), T(100)},
      {AddOp("visits", 10), B(1), T(200)},
      {SetOp("visits", "eleven", Seen({A(1)})), A(2), T(300)},
  });
  const Record view = View(state);
  const FieldView* visits = view.Find("visits");
  EXPECT_EQ(visits->kind, FieldKind::kRegister);
  EXPECT_EQ(visits->value, Value("eleven"));
  EXPECT_TRUE(visits->kind_conflict);
  EXPECT_FALSE(visits->conflict);
}

TEST(KindConflictMergeTest, EqualStampsAreBrokenByOrigin) {
  const RecordState counter_wins = ExpectSameStateInEveryOrder({
      {SetOp("x", "v"), A(1), T(100)},
      {AddOp("x", 1), B(1), T(100)},
  });
  EXPECT_EQ(View(counter_wins).Find("x")->kind, FieldKind::kCounter);
  const RecordState register_wins = ExpectSameStateInEveryOrder({
      {AddOp("x", 1), A(1), T(100)},
      {SetOp("x", "v"), B(1), T(100)},
  });
  EXPECT_EQ(View(register_wins).Find("x")->kind, FieldKind::kRegister);
}

TEST(KindConflictMergeTest, ThreeKindsOnOneName) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("x", "v"), A(1), T(100)},
      {AddOp("x", 1), B(1), T(300)},
      {SetAddOp("x", "e"), C(1), T(200)},
  });
  const Record view = View(state);
  const FieldView* x = view.Find("x");
  EXPECT_TRUE(x->kind_conflict);
  EXPECT_EQ(x->kind, FieldKind::kCounter);
  const FieldState* field = state.FindField("x");
  EXPECT_TRUE(field->reg && field->counter && field->set);
}

// ------------------------------------------- kinds of one name (supersession)

// The defect: a counter reused as text (or back) after being seen was a kind
// conflict for ever. Its ops carry the writer's kind context, so the later
// kind shows alone, also where it arrives before the ops it supersedes.
TEST(KindSupersessionMergeTest, SequentialReuseShowsTheNewKindWithoutAConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {AddOp("filings", 3), A(1), T(100)},
      {WithKindContext(SetOp("filings", "3件"), Seen({A(1)})), B(1), T(50)},  // older clock: causality decides
  });
  const FieldState* field = state.FindField("filings");
  ASSERT_NE(field, nullptr);
  EXPECT_TRUE(field->counter.has_value());  // kept, superseded
  EXPECT_TRUE(IsSuperseded(*field, FieldKind::kCounter));
  EXPECT_FALSE(IsSuperseded(*field, FieldKind::kRegister));
  EXPECT_FALSE(HasKindConflict(*field));
  EXPECT_FALSE(HasConflict(state));
  const Record view = View(state);
  const FieldView* filings = view.Find("filings");
  EXPECT_EQ(filings->kind, FieldKind::kRegister);
  EXPECT_EQ(filings->value, Value("3件"));
  EXPECT_FALSE(filings->kind_conflict);
  EXPECT_TRUE(filings->other_kinds.empty());
  EXPECT_EQ(filings->modified, T(100));
  EXPECT_FALSE(view.has_conflict());
}

TEST(KindSupersessionMergeTest, ConcurrentReuseIsAKindConflictThatALaterWriteOfAnyKindResolves) {
  const std::vector<Delivery> concurrent = {
      {SetOp("x", "ten"), A(1), T(100)},
      {AddOp("x", 10), B(1), T(200)},
  };
  const RecordState conflict = ExpectSameStateInEveryOrder(concurrent);
  const Record conflict_view = View(conflict);
  const FieldView* x = conflict_view.Find("x");
  EXPECT_TRUE(x->kind_conflict);
  EXPECT_EQ(x->kind, FieldKind::kCounter);
  ASSERT_EQ(x->other_kinds.size(), 1u);
  EXPECT_EQ(x->other_kinds[0].kind, FieldKind::kRegister);
  EXPECT_EQ(x->other_kinds[0].value, Value("ten"));

  // C saw both and settles on text, D on a set: either resolves.
  std::vector<Delivery> by_text = concurrent;
  by_text.push_back({WithKindContext(SetOp("x", "eleven", Seen({A(1)})), Seen({B(1)})), C(1), T(50)});
  const RecordState text = ExpectSameStateInEveryOrder(by_text);
  EXPECT_FALSE(View(text).Find("x")->kind_conflict);
  EXPECT_EQ(View(text).Find("x")->value, Value("eleven"));
  EXPECT_FALSE(HasConflict(text));

  std::vector<Delivery> by_set = concurrent;
  by_set.push_back({WithKindContext(SetAddOp("x", "e"), Seen({A(1), B(1)})), C(1), T(300)});
  const RecordState set = ExpectSameStateInEveryOrder(by_set);
  EXPECT_FALSE(View(set).Find("x")->kind_conflict);
  EXPECT_EQ(View(set).Find("x")->kind, FieldKind::kSet);
}

// Delivery across origins is not causal: C held B's remove, which was written
// after A's add, but not the add itself. C's text write covers only what C
// held, so A's add, which C's writer never saw, shows beside it as a kind
// conflict rather than being hidden.
TEST(KindSupersessionMergeTest, AnAddTheWriterNeverHeldStaysVisibleThoughItHeldALaterRemove) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetAddOp("x", "電気"), A(1), T(100)},
      {SetRemoveOp("x", "大工", {}), B(1), T(200)},  // B held A(1); nothing of 大工 to observe
      {WithKindContext(SetOp("x", "resolved"), Seen({B(1)})), C(1), T(300)},
  });
  const FieldState* field = state.FindField("x");
  ASSERT_NE(field, nullptr);
  EXPECT_FALSE(IsSuperseded(*field, FieldKind::kSet));
  EXPECT_TRUE(HasKindConflict(*field));
  const FieldView* x = View(state).Find("x");
  EXPECT_TRUE(x->kind_conflict);
  EXPECT_EQ(x->kind, FieldKind::kRegister);
}

// C held A's text but not B's reuse as a counter: its concurrent text write
// brings a dot B's kind context does not cover, so the text comes back, as a
// kind conflict beside the counter.
TEST(KindSupersessionMergeTest, AConcurrentOpOfASupersededKindRevivesItAsAKindConflict) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("x", "ten"), A(1), T(100)},
      {WithKindContext(AddOp("x", 10), Seen({A(1)})), B(1), T(200)},
      {SetOp("x", "twelve", Seen({A(1)})), C(1), T(150)},
  });
  const FieldState* field = state.FindField("x");
  EXPECT_FALSE(IsSuperseded(*field, FieldKind::kRegister));
  EXPECT_TRUE(HasKindConflict(*field));
  const Record view = View(state);
  const FieldView* x = view.Find("x");
  EXPECT_EQ(x->kind, FieldKind::kCounter);
  ASSERT_EQ(x->other_kinds.size(), 1u);
  EXPECT_EQ(x->other_kinds[0].value, Value("twelve"));
}

TEST(KindSupersessionMergeTest, ThreeKindsUsedInTurnShowTheLast) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("x", "v"), A(1), T(100)},
      {WithKindContext(AddOp("x", 1), Seen({A(1)})), A(2), T(200)},
      {WithKindContext(SetAddOp("x", "e"), Seen({A(1), A(2)})), B(1), T(150)},
  });
  const FieldState* field = state.FindField("x");
  EXPECT_TRUE(field->reg && field->counter && field->set);
  EXPECT_TRUE(IsSuperseded(*field, FieldKind::kRegister));
  EXPECT_TRUE(IsSuperseded(*field, FieldKind::kCounter));
  const Record view = View(state);
  const FieldView* x = view.Find("x");
  EXPECT_EQ(x->kind, FieldKind::kSet);
  EXPECT_FALSE(x->kind_conflict);
  EXPECT_EQ(x->elements, std::vector<std::string>{"e"});
}

// An op a rule ignores (a register write already covered) still brings its
// kind context, or replicas that received it before the covering write
// would disagree with those that received it after.
TEST(KindSupersessionMergeTest, IgnoredOpsStillCountTowardsTheKindContext) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {SetOp("x", "a"), A(1), T(100)},
      {AddOp("x", 5), B(1), T(110)},
      {WithKindContext(SetOp("x", "b", Seen({A(1)})), Seen({B(1)})), A(2), T(120)},
      {SetOp("x", "c", Seen({A(1), A(2)})), C(1), T(130)},  // C had not seen B's counter
  });
  const FieldState* field = state.FindField("x");
  EXPECT_TRUE(field->reg->kind_context.Covers(B(1)));
  EXPECT_TRUE(IsSuperseded(*field, FieldKind::kCounter));
  EXPECT_FALSE(View(state).Find("x")->kind_conflict);
  EXPECT_EQ(View(state).Find("x")->value, Value("c"));
}

// Dots of a superseded kind are history, like overwritten siblings: a
// delete that covers the live kind hides the record even if it did not see
// the superseded one (C held B's text, not A's counter, which B had seen).
TEST(KindSupersessionMergeTest, DotsOfASupersededKindDoNotKeepADeletedRecordAlive) {
  const RecordState state = ExpectSameStateInEveryOrder({
      {AddOp("x", 5), A(1), T(100)},
      {WithKindContext(SetOp("x", "five"), Seen({A(1)})), B(1), T(200)},
      {DeleteOp(Seen({B(1), C(1)})), C(1), T(300)},
  });
  EXPECT_TRUE(IsHidden(state));
  EXPECT_FALSE(HasDeleteConflict(state));
}

// End to end: the builder attaches kind contexts, coalesces kinds within a
// transaction, and restarts a kind the writer goes back to.
class KindSupersessionScenarioTest : public DeleteScenarioTest {
 protected:
  const FieldView& Field(MemoryReplica& r, const std::string& name) {
    view_ = r.View("customers", "c1");
    const FieldView* f = view_.Find(name);
    EXPECT_NE(f, nullptr) << name;
    return f ? *f : empty_;
  }
  Record view_;
  FieldView empty_;
};

TEST_F(KindSupersessionScenarioTest, ACounterReusedAfterTextRestartsFromZero) {
  ChangeBuilder w;
  w.Add("customers", "c1", "filings", 5);
  Commit(a_, w);
  w.Set("customers", "c1", "filings", "五件");
  Commit(a_, w);
  EXPECT_EQ(a_.log().back().records[0].ops[0].kind_context, Seen({A(1)}));
  Sync();
  EXPECT_EQ(Field(b_, "filings").kind, FieldKind::kRegister);
  EXPECT_FALSE(Field(b_, "filings").kind_conflict);

  w.Add("customers", "c1", "filings", 1);
  Commit(b_, w);
  Sync();
  for (MemoryReplica* r : {&a_, &b_}) {
    EXPECT_EQ(Field(*r, "filings").kind, FieldKind::kCounter);
    EXPECT_EQ(Field(*r, "filings").value, Value(int64_t{1}));  // not 6
    EXPECT_FALSE(Field(*r, "filings").kind_conflict);
  }
}

TEST_F(KindSupersessionScenarioTest, ASetReusedAfterTextRestartsEmpty) {
  ChangeBuilder w;
  w.SetAdd("customers", "c1", "trades", "建築");
  w.SetAdd("customers", "c1", "trades", "電気");
  Commit(a_, w);
  w.Set("customers", "c1", "trades", "建築;電気");
  Commit(a_, w);
  w.SetAdd("customers", "c1", "trades", "管");
  w.SetAdd("customers", "c1", "trades", "電気");
  Commit(a_, w);
  Sync();
  for (MemoryReplica* r : {&a_, &b_}) {
    EXPECT_EQ(Field(*r, "trades").kind, FieldKind::kSet);
    EXPECT_EQ(Field(*r, "trades").elements, (std::vector<std::string>{"管", "電気"}));  // bytewise
    EXPECT_FALSE(Field(*r, "trades").kind_conflict);
  }
}

TEST_F(KindSupersessionScenarioTest, WritesOfSeveralKindsInOneTransactionKeepTheLastKind) {
  ChangeBuilder w;
  w.Set("customers", "c1", "x", "text");
  w.Add("customers", "c1", "x", 2);
  w.SetAdd("customers", "c1", "y", "e");
  w.Set("customers", "c1", "y", "last");
  Commit(a_, w);
  const std::vector<Op>& ops = a_.log().back().records[0].ops;
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].type, OpType::kCounterAdd);
  EXPECT_EQ(ops[0].delta, 2);
  EXPECT_EQ(ops[1].type, OpType::kSetRegister);
  EXPECT_EQ(ops[1].value, Value("last"));
  EXPECT_FALSE(Field(a_, "x").kind_conflict);
}

TEST_F(KindSupersessionScenarioTest, AWriterThatKnowsNoOtherKindSendsNoKindContext) {
  ChangeBuilder w;
  w.Set("customers", "c1", "name", "山田");
  w.Add("customers", "c1", "filings", 1);
  w.SetAdd("customers", "c1", "trades", "建築");
  Commit(a_, w);
  w.Set("customers", "c1", "name", "山田建設");
  w.Add("customers", "c1", "filings", 1);
  w.SetRemove("customers", "c1", "trades", "建築");
  Commit(a_, w);
  for (const Change& change : a_.log()) {
    for (const Op& op : change.records[0].ops) EXPECT_TRUE(op.kind_context.empty()) << op.field;
  }
}

// Resolving a kind conflict: the user writes the kind they mean, having
// seen both; every replica then shows that kind alone.
TEST_F(KindSupersessionScenarioTest, AKindConflictIsResolvedByWritingTheFieldWithAnyKind) {
  ChangeBuilder w;
  w.Set("customers", "c1", "filings", "三件");
  Commit(a_, w);
  w.Add("customers", "c1", "filings", 3);
  Commit(b_, w);
  Sync();
  ASSERT_TRUE(Field(a_, "filings").kind_conflict);
  w.Add("customers", "c1", "filings", 1);
  Commit(a_, w);
  Sync();
  for (MemoryReplica* r : {&a_, &b_}) {
    EXPECT_FALSE(Field(*r, "filings").kind_conflict);
    EXPECT_EQ(Field(*r, "filings").kind, FieldKind::kCounter);
    EXPECT_EQ(Field(*r, "filings").value, Value(int64_t{4}));  // the counter was live: it continues
  }
}

}  // namespace
}  // namespace daicho::core
