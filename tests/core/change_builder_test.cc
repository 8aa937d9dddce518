#include "core/change_builder.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/merge.h"
#include "memory_replica.h"
#include "tests/testing/op_builders.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using ::daicho::testing::AddOp;
using ::daicho::testing::DeleteOp;
using ::daicho::testing::SetAddOp;
using ::daicho::testing::SetOp;
using ::daicho::testing::WithKindContext;
using testing::DumpChange;
using testing::IdOf;
using testing::kTestEpochMs;

const ReplicaId kA = IdOf(0x0a);
const ReplicaId kB = IdOf(0x0b);
const ReplicaId kW = IdOf(0x0e);  // the writer

VersionVector Seen(std::initializer_list<Dot> dots) {
  VersionVector vv;
  for (const Dot& d : dots) vv.Advance(d);
  return vv;
}

class ChangeBuilderTest : public ::testing::Test {
 protected:
  // The writer's record states, as the lookup sees them.
  RecordState& StateOf(const std::string& collection, const std::string& id) { return states_[{collection, id}]; }
  void Apply(const std::string& collection, const std::string& id, const Op& op, const Dot& dot) {
    ApplyOp(StateOf(collection, id), op, dot, HlcTime{kTestEpochMs, 0});
  }
  Change Build(const ChangeBuilder& builder) {
    return builder.Build(dot_, hlc_, own_vv_, [this](const std::string& c, const std::string& i) -> const RecordState* {
      auto it = states_.find({c, i});
      return it == states_.end() ? nullptr : &it->second;
    });
  }
  // The ops of the only record in `change` (a copy: `change` is often a temporary).
  static std::vector<Op> OnlyRecordOps(const Change& change) {
    EXPECT_EQ(change.records.size(), 1u) << DumpChange(change);
    return change.records.empty() ? std::vector<Op>() : change.records[0].ops;
  }
  static std::vector<OpType> Types(const std::vector<Op>& ops) {
    std::vector<OpType> out;
    out.reserve(ops.size());
    for (const Op& op : ops) out.push_back(op.type);
    return out;
  }
  std::map<std::pair<std::string, std::string>, RecordState> states_;
  Dot dot_{kW, 4};
  HlcTime hlc_{kTestEpochMs + 1000, 2};
  VersionVector own_vv_ = Seen({Dot{kW, 4}, Dot{kA, 7}});
};

TEST_F(ChangeBuilderTest, NewBuilderIsEmpty) {
  ChangeBuilder builder;
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.size(), 0u);
  EXPECT_TRUE(builder.Keys().empty());
  EXPECT_TRUE(Build(builder).records.empty());
}

TEST_F(ChangeBuilderTest, ChangeCarriesTheDotAndStamp) {
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "山田建設");
  const Change change = Build(builder);
  EXPECT_EQ(change.origin, kW);
  EXPECT_EQ(change.seq, 4u);
  EXPECT_EQ(change.dot(), dot_);
  EXPECT_EQ(change.hlc, hlc_);
  EXPECT_EQ(change.OpCount(), 1u);
  ASSERT_EQ(change.records.size(), 1u);
  EXPECT_EQ(change.records[0].collection, "customers");
  EXPECT_EQ(change.records[0].id, "c1");
}

TEST_F(ChangeBuilderTest, RegisterWritesToOneFieldCoalesceToTheLast) {
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "山田");
  builder.Set("customers", "c1", "name", "山田建設");
  builder.Set("customers", "c1", "name", "株式会社山田建設");
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].type, OpType::kSetRegister);
  EXPECT_EQ(ops[0].field, "name");
  EXPECT_EQ(ops[0].value, Value("株式会社山田建設"));
}

TEST_F(ChangeBuilderTest, CounterAddsToOneFieldSum) {
  ChangeBuilder builder;
  builder.Add("customers", "c1", "filings", 5);
  builder.Add("customers", "c1", "filings", -2);
  builder.Add("customers", "c1", "filings", 4);
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].type, OpType::kCounterAdd);
  EXPECT_EQ(ops[0].delta, 7);
}

TEST_F(ChangeBuilderTest, CounterAddsThatCancelStillProduceAnOp) {
  ChangeBuilder builder;
  builder.Add("customers", "c1", "filings", 5);
  builder.Add("customers", "c1", "filings", -5);
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].delta, 0);
}

TEST_F(ChangeBuilderTest, CounterSumWrapsLikeTheMergedTotal) {
  ChangeBuilder builder;
  builder.Add("customers", "c1", "n", std::numeric_limits<int64_t>::max());
  builder.Add("customers", "c1", "n", 1);
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].delta, std::numeric_limits<int64_t>::min());
}

TEST_F(ChangeBuilderTest, SetKeepsTheLastOpPerElement) {
  ChangeBuilder builder;
  builder.SetAdd("customers", "c1", "trades", "大工");
  builder.SetRemove("customers", "c1", "trades", "大工");
  builder.SetRemove("customers", "c1", "trades", "電気");
  builder.SetAdd("customers", "c1", "trades", "電気");
  builder.SetAdd("customers", "c1", "trades", "管");
  builder.SetAdd("customers", "c1", "trades", "管");
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 3u);
  // Sorted by element (bytewise).
  EXPECT_EQ(ops[0].element, "大工");
  EXPECT_EQ(ops[0].type, OpType::kSetRemove);
  EXPECT_EQ(ops[1].element, "管");
  EXPECT_EQ(ops[1].type, OpType::kSetAdd);
  EXPECT_EQ(ops[2].element, "電気");
  EXPECT_EQ(ops[2].type, OpType::kSetAdd);
}

TEST_F(ChangeBuilderTest, RegisterContextIsTheWritersWholeFieldVersionVector) {
  // The writer holds a conflict: two siblings, and a context beyond them.
  Apply("customers", "c1", SetOp("name", "a", Seen({Dot{kA, 2}})), Dot{kA, 3});
  Apply("customers", "c1", SetOp("name", "b"), Dot{kB, 1});
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "resolved");
  builder.Set("customers", "c1", "phone", "03");
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].field, "name");
  EXPECT_EQ(ops[0].context, Seen({Dot{kA, 3}, Dot{kB, 1}}));
  EXPECT_EQ(ops[1].field, "phone");
  EXPECT_TRUE(ops[1].context.empty());  // never written here
}

TEST_F(ChangeBuilderTest, RegisterContextIsNotTheWritersOwnVersionVector) {
  // A field never written has an empty context even though the writer holds
  // other changes: the context speaks for this field only.
  Apply("customers", "c1", SetOp("phone", "03"), Dot{kA, 1});
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "x");
  EXPECT_TRUE(OnlyRecordOps(Build(builder))[0].context.empty());
}

TEST_F(ChangeBuilderTest, SetWithContextCarriesTheGivenContextAndKeepsNewerValues) {
  // A value read at {A:1} and written back later: B's newer value is not
  // covered by that context, so both stay (a conflict), A's old one goes.
  Apply("customers", "c1", SetOp("phone", "old"), Dot{kA, 1});
  Apply("customers", "c1", SetOp("phone", "newer", Seen({Dot{kA, 1}})), Dot{kB, 1});
  ChangeBuilder builder;
  builder.SetWithContext("customers", "c1", "phone", "from file", Seen({Dot{kA, 1}}));
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].context, Seen({Dot{kA, 1}}));
  RecordState state = StateOf("customers", "c1");
  ApplyOp(state, ops[0], dot_, hlc_);
  ASSERT_EQ(state.FindField("phone")->reg->siblings.size(), 2u);
  EXPECT_EQ(state.FindField("phone")->reg->siblings[0].value, Value("newer"));

  // A later plain Set of the same field takes the whole field VV again.
  builder.Set("customers", "c1", "phone", "resolved");
  EXPECT_EQ(OnlyRecordOps(Build(builder))[0].context, Seen({Dot{kA, 1}, Dot{kB, 1}}));
}

TEST_F(ChangeBuilderTest, SetRemoveCarriesTheElementsLiveDots) {
  Apply("customers", "c1", SetAddOp("trades", "大工"), Dot{kA, 1});
  Apply("customers", "c1", SetAddOp("trades", "大工"), Dot{kB, 2});
  Apply("customers", "c1", SetAddOp("trades", "管"), Dot{kB, 3});
  ChangeBuilder builder;
  builder.SetRemove("customers", "c1", "trades", "大工");
  builder.SetRemove("customers", "c1", "trades", "電気");  // not present here
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].element, "大工");
  EXPECT_EQ(ops[0].observed, (std::vector<Dot>{Dot{kA, 1}, Dot{kB, 2}}));
  EXPECT_EQ(ops[1].element, "電気");
  EXPECT_TRUE(ops[1].observed.empty());
}

TEST_F(ChangeBuilderTest, DeleteContextIsTheWritersOwnVersionVector) {
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 7});
  ChangeBuilder builder;
  builder.Delete("customers", "c1");
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].type, OpType::kDelete);
  EXPECT_EQ(ops[0].context, own_vv_);
  EXPECT_TRUE(ops[0].context.Covers(dot_));
}

TEST_F(ChangeBuilderTest, RecordsAreSortedAndFieldOpsComeBeforeDeleteOrUndelete) {
  ChangeBuilder builder;
  builder.Delete("permits", "p1");
  builder.Set("customers", "c2", "phone", "03");
  builder.Set("customers", "c2", "name", "x");
  builder.Delete("customers", "c2");  // after the sets: a delete of the edited record
  builder.Undelete("customers", "c1");
  builder.Add("customers", "c1", "filings", 1);
  builder.SetAdd("customers", "c1", "trades", "大工");
  const Change change = Build(builder);
  ASSERT_EQ(change.records.size(), 3u) << DumpChange(change);
  EXPECT_EQ(change.records[0].collection, "customers");
  EXPECT_EQ(change.records[0].id, "c1");
  EXPECT_EQ(Types(change.records[0].ops),
            (std::vector<OpType>{OpType::kCounterAdd, OpType::kSetAdd, OpType::kUndelete}));
  EXPECT_EQ(change.records[0].ops[0].field, "filings");
  EXPECT_EQ(change.records[0].ops[1].field, "trades");
  EXPECT_EQ(change.records[1].id, "c2");
  EXPECT_EQ(Types(change.records[1].ops),
            (std::vector<OpType>{OpType::kSetRegister, OpType::kSetRegister, OpType::kDelete}));
  EXPECT_EQ(change.records[1].ops[0].field, "name");
  EXPECT_EQ(change.records[1].ops[1].field, "phone");
  EXPECT_EQ(change.records[2].collection, "permits");
  EXPECT_EQ(Types(change.records[2].ops), std::vector<OpType>{OpType::kDelete});

  const auto keys = builder.Keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], (std::pair<std::string, std::string>{"customers", "c1"}));
  EXPECT_EQ(keys[1], (std::pair<std::string, std::string>{"customers", "c2"}));
  EXPECT_EQ(keys[2], (std::pair<std::string, std::string>{"permits", "p1"}));
}

TEST_F(ChangeBuilderTest, EditsJumpingBetweenRecordsAndFieldsLandInOrder) {
  ChangeBuilder builder;
  builder.Set("customers", "c1", "f1", "first");
  builder.Set("customers", "c2", "f1", "other record");
  builder.Set("customers", "c1", "f0", "before");  // back to c1, a field sorting first
  builder.Set("customers", "c1", "f2", "after");
  builder.Set("customers", "c1", "f1", "last");  // overwrites in the middle
  const Change change = Build(builder);
  ASSERT_EQ(change.records.size(), 2u) << DumpChange(change);
  const auto& c1 = change.records[0].ops;
  ASSERT_EQ(c1.size(), 3u) << DumpChange(change);
  EXPECT_EQ(c1[0].field, "f0");
  EXPECT_EQ(c1[1].field, "f1");
  EXPECT_EQ(c1[1].value, Value("last"));
  EXPECT_EQ(c1[2].field, "f2");
  EXPECT_EQ(change.records[1].ops.at(0).value, Value("other record"));
  EXPECT_EQ(builder.size(), 5u);
  builder.Clear();
  builder.Set("customers", "c1", "f9", "after clear");
  EXPECT_EQ(Build(builder).records.at(0).ops.size(), 1u);
}

// One dot cannot order two kinds (their kind contexts could not tell which
// came last), so a transaction writes a name with the kind it used last.
TEST_F(ChangeBuilderTest, OneNameUsedAsTwoKindsInOneTransactionKeepsTheLastKind) {
  ChangeBuilder builder;
  builder.Add("customers", "c1", "x", 1);
  builder.Set("customers", "c1", "x", "v");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), (std::vector<OpType>{OpType::kSetRegister}));
  builder.Clear();
  builder.Set("customers", "c1", "x", "v");
  builder.SetAdd("customers", "c1", "x", "e");
  builder.Add("customers", "c1", "x", 2);
  builder.Add("customers", "c1", "x", 3);
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  EXPECT_EQ(Types(ops), (std::vector<OpType>{OpType::kCounterAdd}));
  EXPECT_EQ(ops.at(0).delta, 5);
}

// The kind context is what the writer holds of the name's other kinds
// (superseded ones included); a kind reused after another superseded it
// starts afresh in the same change.
TEST_F(ChangeBuilderTest, KindContextJoinsTheOtherKindsAndAReusedCounterStartsFromZero) {
  Apply("customers", "c1", AddOp("x", 7), Dot{kA, 1});
  Apply("customers", "c1", WithKindContext(SetOp("x", "seven"), Seen({Dot{kA, 1}})), Dot{kA, 2});
  ChangeBuilder builder;
  builder.Add("customers", "c1", "x", 2);
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(Types(ops), (std::vector<OpType>{OpType::kCounterAdd}));
  EXPECT_EQ(ops[0].delta, 2 - 7);
  EXPECT_EQ(ops[0].kind_context, Seen({Dot{kA, 2}}));  // the register's field VV
}

TEST_F(ChangeBuilderTest, SetAfterDeleteInOneTransactionCancelsTheDelete) {
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 1});
  for (int edit = 0; edit < 4; ++edit) {
    ChangeBuilder builder;
    builder.Delete("customers", "c1");
    switch (edit) {
      case 0:
        builder.Set("customers", "c1", "name", "y");
        break;
      case 1:
        builder.Add("customers", "c1", "filings", 1);
        break;
      case 2:
        builder.SetAdd("customers", "c1", "trades", "大工");
        break;
      case 3:
        builder.SetRemove("customers", "c1", "trades", "大工");
        break;
    }
    const std::vector<Op> ops = OnlyRecordOps(Build(builder));
    ASSERT_EQ(ops.size(), 1u) << "edit " << edit;
    EXPECT_NE(ops[0].type, OpType::kDelete) << "edit " << edit;
    EXPECT_NE(ops[0].type, OpType::kUndelete) << "edit " << edit;  // visible here: nothing to bring back
  }
}

TEST_F(ChangeBuilderTest, LastOfDeleteAndUndeleteWins) {
  ChangeBuilder builder;
  builder.Delete("customers", "c1");
  builder.Undelete("customers", "c1");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), std::vector<OpType>{OpType::kUndelete});
  builder.Delete("customers", "c1");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), std::vector<OpType>{OpType::kDelete});
}

TEST_F(ChangeBuilderTest, EditOfAHiddenRecordAddsAnUndelete) {
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 1});
  Apply("customers", "c1", DeleteOp(Seen({Dot{kA, 2}})), Dot{kA, 2});
  ASSERT_TRUE(IsHidden(StateOf("customers", "c1")));
  ChangeBuilder builder;
  builder.Set("customers", "c1", "phone", "03");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), (std::vector<OpType>{OpType::kSetRegister, OpType::kUndelete}));
}

TEST_F(ChangeBuilderTest, EditAfterDeleteOfAHiddenRecordUndeletesIt) {
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 1});
  Apply("customers", "c1", DeleteOp(Seen({Dot{kA, 2}})), Dot{kA, 2});
  ChangeBuilder builder;
  builder.Delete("customers", "c1");
  builder.SetRemove("customers", "c1", "trades", "大工");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), (std::vector<OpType>{OpType::kSetRemove, OpType::kUndelete}));
}

TEST_F(ChangeBuilderTest, DeleteOfAHiddenRecordStaysADelete) {
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 1});
  Apply("customers", "c1", DeleteOp(Seen({Dot{kA, 2}})), Dot{kA, 2});
  ChangeBuilder builder;
  builder.Delete("customers", "c1");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), std::vector<OpType>{OpType::kDelete});
}

TEST_F(ChangeBuilderTest, EditOfARecordInDeleteConflictAddsNoUndelete) {
  // Visible (an unseen edit kept it alive): the edit needs no undelete.
  Apply("customers", "c1", SetOp("name", "x"), Dot{kA, 1});
  Apply("customers", "c1", DeleteOp(Seen({Dot{kA, 2}})), Dot{kA, 2});
  Apply("customers", "c1", SetOp("phone", "03"), Dot{kB, 1});
  ASSERT_TRUE(HasDeleteConflict(StateOf("customers", "c1")));
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "y");
  EXPECT_EQ(Types(OnlyRecordOps(Build(builder))), std::vector<OpType>{OpType::kSetRegister});
}

TEST_F(ChangeBuilderTest, UnknownRecordGetsEmptyContexts) {
  ChangeBuilder builder;
  builder.Set("customers", "new", "name", "x");
  builder.SetRemove("customers", "new", "trades", "大工");
  const std::vector<Op> ops = OnlyRecordOps(Build(builder));
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_TRUE(ops[0].context.empty());
  EXPECT_TRUE(ops[1].observed.empty());
}

TEST_F(ChangeBuilderTest, BuildDoesNotConsumeTheEditsAndClearDoes) {
  ChangeBuilder builder;
  builder.Set("customers", "c1", "name", "x");
  builder.Add("customers", "c1", "filings", 1);
  EXPECT_FALSE(builder.empty());
  EXPECT_GE(builder.size(), 2u);
  EXPECT_EQ(Build(builder), Build(builder));
  builder.Clear();
  EXPECT_TRUE(builder.empty());
  EXPECT_EQ(builder.size(), 0u);
  EXPECT_TRUE(Build(builder).records.empty());
}

}  // namespace
}  // namespace daicho::core
