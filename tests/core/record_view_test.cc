#include "core/record_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/merge.h"
#include "memory_replica.h"
#include "tests/testing/op_builders.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using ::daicho::testing::AddOp;
using ::daicho::testing::SetAddOp;
using ::daicho::testing::SetOp;
using testing::IdOf;
using testing::kTestEpochMs;

const ReplicaId kA = IdOf(0x0a);
const ReplicaId kB = IdOf(0x0b);
const ReplicaId kC = IdOf(0x0c);

HlcTime T(uint64_t ms) { return HlcTime{kTestEpochMs + ms, 0}; }

TEST(RecordViewTest, EmptyStateGivesAnEmptyVisibleRecord) {
  const Record r = MakeRecordView("customers", "c1", RecordState{});
  EXPECT_EQ(r.collection, "customers");
  EXPECT_EQ(r.id, "c1");
  EXPECT_FALSE(r.deleted);
  EXPECT_FALSE(r.delete_conflict);
  EXPECT_TRUE(r.fields.empty());
  EXPECT_FALSE(r.has_conflict());
  EXPECT_EQ(r.Find("name"), nullptr);
}

TEST(RecordViewTest, SiblingsAreOrderedDisplayedFirstThenByDescendingHlcAndOrigin) {
  RecordState state;
  ApplyOp(state, SetOp("name", "old"), Dot{kC, 1}, T(100));
  ApplyOp(state, SetOp("name", "newest"), Dot{kA, 1}, T(900));
  ApplyOp(state, SetOp("name", "tie-low"), Dot{kA, 2}, T(500));
  ApplyOp(state, SetOp("name", "tie-high"), Dot{kB, 1}, T(500));
  const Record r = MakeRecordView("customers", "c1", state);
  const FieldView* name = r.Find("name");
  ASSERT_NE(name, nullptr);
  ASSERT_EQ(name->siblings.size(), 4u);
  EXPECT_EQ(name->value, Value("newest"));
  EXPECT_EQ(name->siblings[0].value, Value("newest"));
  EXPECT_EQ(name->siblings[1].value, Value("tie-high"));
  EXPECT_EQ(name->siblings[2].value, Value("tie-low"));
  EXPECT_EQ(name->siblings[3].value, Value("old"));
  EXPECT_EQ(name->siblings[0].dot, (Dot{kA, 1}));
  EXPECT_EQ(name->siblings[0].hlc, T(900));
  EXPECT_TRUE(name->conflict);
  EXPECT_EQ(name->modified, T(900));
}

TEST(RecordViewTest, SingleValueIsNoConflict) {
  RecordState state;
  ApplyOp(state, SetOp("name", "山田建設"), Dot{kA, 1}, T(100));
  const Record r = MakeRecordView("customers", "c1", state);
  const FieldView* name = r.Find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->kind, FieldKind::kRegister);
  EXPECT_EQ(name->siblings.size(), 1u);
  EXPECT_FALSE(name->conflict);
  EXPECT_FALSE(name->kind_conflict);
  EXPECT_TRUE(name->elements.empty());
  EXPECT_FALSE(r.has_conflict());
}

TEST(RecordViewTest, FieldsAreSortedByNameAndFindLooksThemUp) {
  RecordState state;
  ApplyOp(state, SetOp("phone", "03"), Dot{kA, 1}, T(100));
  ApplyOp(state, SetAddOp("trades", "大工"), Dot{kA, 2}, T(101));
  ApplyOp(state, AddOp("filings", 3), Dot{kA, 3}, T(102));
  ApplyOp(state, SetOp("name", "x"), Dot{kA, 4}, T(103));
  const Record r = MakeRecordView("customers", "c1", state);
  ASSERT_EQ(r.fields.size(), 4u);
  EXPECT_EQ(r.fields[0].name, "filings");
  EXPECT_EQ(r.fields[1].name, "name");
  EXPECT_EQ(r.fields[2].name, "phone");
  EXPECT_EQ(r.fields[3].name, "trades");
  for (const FieldView& f : r.fields) {
    const FieldView* found = r.Find(f.name);
    ASSERT_NE(found, nullptr) << f.name;
    EXPECT_EQ(found->name, f.name);
  }
  EXPECT_EQ(r.Find("address"), nullptr);
  EXPECT_EQ(r.Find("zzz"), nullptr);
  EXPECT_EQ(r.Find(""), nullptr);
  EXPECT_EQ(r.Find("nam"), nullptr);
  EXPECT_EQ(r.modified, T(103));
}

TEST(RecordViewTest, CounterShowsItsTotalAndSetItsPresentElements) {
  RecordState state;
  ApplyOp(state, AddOp("filings", 3), Dot{kA, 1}, T(100));
  ApplyOp(state, AddOp("filings", -1), Dot{kB, 1}, T(100));
  ApplyOp(state, SetAddOp("trades", "管"), Dot{kA, 2}, T(101));
  ApplyOp(state, SetAddOp("trades", "大工"), Dot{kB, 2}, T(102));
  const Record r = MakeRecordView("customers", "c1", state);
  const FieldView* filings = r.Find("filings");
  EXPECT_EQ(filings->kind, FieldKind::kCounter);
  EXPECT_EQ(filings->value, Value(int64_t{2}));
  EXPECT_TRUE(filings->siblings.empty());
  const FieldView* trades = r.Find("trades");
  EXPECT_EQ(trades->kind, FieldKind::kSet);
  EXPECT_TRUE(trades->value.is_null());
  std::vector<std::string> want = {"管", "大工"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(trades->elements, want);
  EXPECT_EQ(trades->modified, T(102));
}

TEST(RecordViewTest, HasConflictReportsFieldKindAndDeleteConflicts) {
  {
    RecordState state;
    ApplyOp(state, SetOp("name", "a"), Dot{kA, 1}, T(100));
    ApplyOp(state, SetOp("name", "b"), Dot{kB, 1}, T(100));
    const Record r = MakeRecordView("customers", "c1", state);
    EXPECT_TRUE(r.Find("name")->conflict);
    EXPECT_TRUE(r.has_conflict());
  }
  {
    RecordState state;
    ApplyOp(state, SetOp("x", "a"), Dot{kA, 1}, T(100));
    ApplyOp(state, AddOp("x", 1), Dot{kB, 1}, T(100));
    const Record r = MakeRecordView("customers", "c1", state);
    EXPECT_FALSE(r.Find("x")->conflict);
    EXPECT_TRUE(r.Find("x")->kind_conflict);
    EXPECT_TRUE(r.has_conflict());
  }
  {
    RecordState state;
    Op del;
    del.type = OpType::kDelete;
    del.context.Advance(kA, 1);
    ApplyOp(state, del, Dot{kA, 1}, T(100));
    ApplyOp(state, SetOp("name", "b"), Dot{kB, 1}, T(100));
    const Record r = MakeRecordView("customers", "c1", state);
    EXPECT_TRUE(r.delete_conflict);
    EXPECT_FALSE(r.deleted);
    EXPECT_TRUE(r.has_conflict());
  }
}

TEST(RecordViewTest, HasConflictIsFalseWithoutConflicts) {
  Record r;
  r.fields.push_back(FieldView{});
  r.fields.back().name = "a";
  EXPECT_FALSE(r.has_conflict());
  r.deleted = true;  // hidden is not a conflict
  EXPECT_FALSE(r.has_conflict());
}

}  // namespace
}  // namespace daicho::core
