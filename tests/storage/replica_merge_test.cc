// Tests of the public Replica API on LMDB: counters, sets, contexts, deletes, paging and conflicts across replicas.
#include "daicho/replica.h"

#include <execinfo.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/change.h"
#include "storage/codec/change_codec.h"
#include "storage/lmdb/env.h"
#include "storage/replica_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using ::daicho::testing::CreateOptions;
using ::daicho::testing::DeleteRecord;
using ::daicho::testing::Describe;
using ::daicho::testing::Exchange;
using ::daicho::testing::kYamada;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;

TEST_F(ReplicaTest, CounterFieldSumsAddsAcrossTransactionsAndReplicas) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", 5));
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", -2));  // coalesced with the +5
    auto info = txn.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_EQ(info->ops, 1u);
  }
  auto record = a->Get("permits", "p1");
  ASSERT_DAICHO_OK(record);
  ASSERT_NE(record->Find("filed"), nullptr);
  EXPECT_EQ(record->Find("filed")->kind, FieldKind::kCounter);
  EXPECT_EQ(record->Find("filed")->value, Value(3));

  ASSERT_DAICHO_OK(Pull(*b, *a));
  // Concurrent adds on both sides both count.
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", 10));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", -7));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  // Delivering everything again changes nothing.
  ASSERT_DAICHO_OK(b->Apply(*a->ChangesSince(VersionVector())));
  for (Replica* r : {a.get(), b.get()}) {
    auto got = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(got);
    EXPECT_EQ(got->Find("filed")->value, Value(6));
    EXPECT_FALSE(got->has_conflict());
  }
}

TEST_F(ReplicaTest, RecordContextTellsWhichFieldsChangedAndSetWithContextKeepsNewerValues) {
  auto v = OpenOrNull(Path("v"), CreateOptions());
  auto w = OpenOrNull(Path("w"), CreateOptions());
  ASSERT_NE(v, nullptr);
  ASSERT_NE(w, nullptr);
  {
    WriteTransaction txn = v->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c3", "phone", Value("03-1111")));
    ASSERT_DAICHO_OK(txn.Add("customers", "c3", "filings", 2));
    ASSERT_DAICHO_OK(txn.SetAdd("customers", "c3", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  EXPECT_EQ(v->GetRecordContext("customers", "nobody").status().code(), Code::kNotFound);
  auto before = v->GetRecordContext("customers", "c3");
  ASSERT_DAICHO_OK(before);
  ASSERT_EQ(before->fields.size(), 3u);
  for (const auto& f : before->fields) EXPECT_EQ(f.context.Get(v->id()), 1u) << f.name;
  EXPECT_EQ(before->record.Get(v->id()), 1u);
  EXPECT_TRUE(before->ForField("missing").empty());

  // W changes the phone and the counter; V learns of it.
  ASSERT_DAICHO_OK(Pull(*w, *v));
  {
    WriteTransaction txn = w->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c3", "phone", Value("03-2222")));
    ASSERT_DAICHO_OK(txn.Add("customers", "c3", "filings", 1));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Pull(*v, *w));
  auto after = v->GetRecordContext("customers", "c3");
  ASSERT_DAICHO_OK(after);
  EXPECT_FALSE(before->ForField("phone").Dominates(after->ForField("phone")));
  EXPECT_FALSE(before->ForField("filings").Dominates(after->ForField("filings")));
  EXPECT_TRUE(before->ForField("trades").Dominates(after->ForField("trades")));

  // A write made "as of" the old context keeps W's newer phone beside it.
  {
    WriteTransaction txn = v->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetWithContext("customers", "c3", "phone", Value("03-3333"), before->record));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Pull(*w, *v));
  for (Replica* r : {v.get(), w.get()}) {
    auto got = r->Get("customers", "c3");
    ASSERT_DAICHO_OK(got);
    const FieldView* phone = got->Find("phone");
    ASSERT_NE(phone, nullptr);
    EXPECT_TRUE(phone->conflict);
    ASSERT_EQ(phone->siblings.size(), 2u);
    std::set<std::string> values;
    for (const Sibling& s : phone->siblings) values.insert(s.value.as_string());
    EXPECT_EQ(values, (std::set<std::string>{"03-2222", "03-3333"}));
  }
}

TEST_F(ReplicaTest, SetFieldAddsAndRemovesElements) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  {
    WriteTransaction txn = a->BeginWrite();
    for (const char* trade : {"大工", "左官", "電気", "配管"})
      ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", trade));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "左官"));
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "配管"));
    ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", "配管"));     // the last op per element wins
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "塗装"));  // never present: harmless
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto record = a->Get("permits", "p1");
  ASSERT_DAICHO_OK(record);
  const FieldView* trades = record->Find("trades");
  ASSERT_NE(trades, nullptr);
  EXPECT_EQ(trades->kind, FieldKind::kSet);
  std::vector<std::string> expected = {"大工", "配管", "電気"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(trades->elements, expected);

  // A remove concurrent with an add of the same element: the add wins.
  ASSERT_DAICHO_OK(Pull(*b, *a));
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto got = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(got);
    EXPECT_EQ(got->Find("trades")->elements, expected);
  }
}

TEST_F(ReplicaTest, DeleteOrUndeleteOfMissingRecordIsNotFound) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("a")));
  WriteTransaction txn = replica->BeginWrite();
  EXPECT_EQ(txn.Delete("customers", "nobody").code(), Code::kNotFound);
  EXPECT_EQ(txn.Undelete("customers", "nobody").code(), Code::kNotFound);
  EXPECT_EQ(txn.Delete("suppliers", "c1").code(), Code::kNotFound);
  EXPECT_EQ(txn.size(), 0u);
  EXPECT_EQ(txn.Commit().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(replica->Get("customers", "nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(replica->GetVersionVector()->Total(), 1u);
}

TEST_F(ReplicaTest, DeleteHidesRecordFromListButGetReturnsItsData) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value(kYamada)));
    ASSERT_DAICHO_OK(txn.Add("customers", "c1", "visits", 3));
    ASSERT_DAICHO_OK(txn.SetAdd("customers", "c1", "tags", "VIP"));
    ASSERT_DAICHO_OK(txn.Set("customers", "c2", "name", Value("other")));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c1"));

  auto record = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_TRUE(record->deleted);
  EXPECT_FALSE(record->delete_conflict);
  ASSERT_EQ(record->fields.size(), 3u);
  EXPECT_EQ(record->Find("name")->value, Value(kYamada));
  EXPECT_EQ(record->Find("visits")->value, Value(3));
  EXPECT_EQ(record->Find("tags")->elements, std::vector<std::string>{"VIP"});

  auto page = replica->List("customers");
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].id, "c2");
  ListOptions with_deleted;
  with_deleted.include_deleted = true;
  page = replica->List("customers", with_deleted);
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].id, "c1");
  EXPECT_TRUE(page->records[0].deleted);
  auto conflicts = replica->ListConflicts();
  ASSERT_DAICHO_OK(conflicts);
  EXPECT_TRUE(conflicts->empty());

  // Undelete brings everything back.
  {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Undelete("customers", "c1"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  record = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_FALSE(record->deleted);
  EXPECT_EQ(record->Find("visits")->value, Value(3));
  EXPECT_EQ(replica->List("customers")->records.size(), 2u);

  // Editing a deleted record brings it back too.
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c2"));
  EXPECT_TRUE(replica->Get("customers", "c2")->deleted);
  ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "name", Value("back")));
  record = replica->Get("customers", "c2");
  ASSERT_DAICHO_OK(record);
  EXPECT_FALSE(record->deleted);
  EXPECT_EQ(record->Find("name")->value, Value("back"));
}

TEST_F(ReplicaTest, ListPagesThroughRecordsInIdOrder) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  std::vector<std::string> ids;
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "c%04d", (i * 97) % 250);  // committed out of order
      ids.emplace_back(id);
      ASSERT_DAICHO_OK(txn.Set("customers", id, "n", Value(i)));
    }
    // Neighbouring collections must not leak into the listing.
    ASSERT_DAICHO_OK(txn.Set("customer", "zzz", "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Set("customers2", "a", "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> listed;
  ListOptions options;
  options.limit = 100;
  std::vector<size_t> page_sizes;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = replica->List("customers", options);
    ASSERT_DAICHO_OK(page);
    page_sizes.push_back(page->records.size());
    for (const Record& r : page->records) {
      EXPECT_EQ(r.collection, "customers");
      listed.push_back(r.id);
    }
    if (page->next_start_after.empty()) break;
    EXPECT_EQ(page->next_start_after, page->records.back().id);
    options.start_after = page->next_start_after;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{100, 100, 50}));
  EXPECT_EQ(listed, ids);

  // limit 0: everything at once. start_after need not be an existing id.
  options.limit = 0;
  options.start_after = "";
  EXPECT_EQ(replica->List("customers", options)->records.size(), 250u);
  options.start_after = "c0199x";
  auto tail = replica->List("customers", options);
  ASSERT_DAICHO_OK(tail);
  ASSERT_EQ(tail->records.size(), 50u);
  EXPECT_EQ(tail->records.front().id, "c0200");
  EXPECT_TRUE(tail->next_start_after.empty());
}

TEST_F(ReplicaTest, ListIncludesDeletedRecordsOnlyWhenAsked) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; ++i) ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(1000 + i), "n", Value(i)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; i += 2) ASSERT_DAICHO_OK(txn.Delete("customers", "c" + std::to_string(1000 + i)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto count = [&](bool include_deleted) {
    ListOptions options;
    options.limit = 100;
    options.include_deleted = include_deleted;
    size_t visible = 0, hidden = 0;
    for (int guard = 0; guard < 10; ++guard) {
      auto page = replica->List("customers", options);
      EXPECT_DAICHO_OK(page);
      if (!page.ok()) break;
      EXPECT_LE(page->records.size(), 100u);
      for (const Record& r : page->records) (r.deleted ? hidden : visible)++;
      if (page->next_start_after.empty()) break;
      options.start_after = page->next_start_after;
    }
    return std::pair(visible, hidden);
  };
  EXPECT_EQ(count(false), std::pair(size_t{125}, size_t{0}));
  EXPECT_EQ(count(true), std::pair(size_t{125}, size_t{125}));
}

// "" means done: a caller paging until next_start_after is empty must not be
// sent after a page that can only be empty.
TEST_F(ReplicaTest, ListSaysDoneWhenOnlyDeletedRecordsRemain) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    for (const char* id : {"a", "b", "c", "d"}) ASSERT_DAICHO_OK(txn.Set("customers", id, "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c"));
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "d"));
  ListOptions options;
  options.limit = 2;
  auto page = replica->List("customers", options);
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->next_start_after, "") << "the remaining records are all deleted";
}

TEST_F(ReplicaTest, ConcurrentEditsAreListedAsConflictOnBothReplicasUntilResolved) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田")));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("佐藤")));
  ASSERT_DAICHO_OK(Pull(*b, *a));

  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田建設")));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "name", Value("山田工務店")));
  // Equal concurrent values are not a conflict.
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("佐藤商店")));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c2", "name", Value("佐藤商店")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));

  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u) << Describe(*conflicts);
    const Record& c1 = (*conflicts)[0];
    EXPECT_EQ(c1.collection, "customers");
    EXPECT_EQ(c1.id, "c1");
    const FieldView* name = c1.Find("name");
    ASSERT_NE(name, nullptr);
    EXPECT_TRUE(name->conflict);
    ASSERT_EQ(name->siblings.size(), 2u);
    std::set<std::string> values = {name->siblings[0].value.as_string(), name->siblings[1].value.as_string()};
    EXPECT_EQ(values, (std::set<std::string>{"山田建設", "山田工務店"}));
    EXPECT_EQ(name->value, name->siblings[0].value);
    EXPECT_FALSE(r->Get("customers", "c2")->has_conflict());
  }
  EXPECT_EQ(Describe(*a->ListConflicts()), Describe(*b->ListConflicts()));

  // Writing over the conflict on one side resolves it everywhere.
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "name", Value("山田建設")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    EXPECT_TRUE(conflicts->empty()) << Describe(*conflicts);
    auto c1 = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(c1);
    EXPECT_EQ(c1->Find("name")->value, Value("山田建設"));
    EXPECT_EQ(c1->Find("name")->siblings.size(), 1u);
  }
}

TEST_F(ReplicaTest, DeleteConcurrentWithEditIsADeleteConflictUntilDeletedAgain) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田")));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  ASSERT_DAICHO_OK(DeleteRecord(*a, "customers", "c1"));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "phone", Value("03-1111-2222")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_TRUE((*conflicts)[0].delete_conflict);
    EXPECT_FALSE((*conflicts)[0].deleted);
    EXPECT_EQ(r->List("customers")->records.size(), 1u);
  }
  ASSERT_DAICHO_OK(DeleteRecord(*a, "customers", "c1"));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    EXPECT_TRUE(r->Get("customers", "c1")->deleted);
    EXPECT_TRUE(r->List("customers")->records.empty());
  }
}

TEST_F(ReplicaTest, OneNameUsedWithTwoKindsIsAKindConflict) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "permits", "p1", "count", Value("three")));
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "count", 3));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_TRUE((*conflicts)[0].Find("count")->kind_conflict);
  }
  EXPECT_EQ(Describe(*a->ListConflicts()), Describe(*b->ListConflicts()));

  // Writing the field with any kind, having seen the conflict, settles it
  // on every replica, and the conflict index forgets the record.
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "count", 1));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(record);
    EXPECT_FALSE(record->Find("count")->kind_conflict);
    EXPECT_EQ(record->Find("count")->value, Value(int64_t{4}));
  }
}

// The defect of issue 11, item 11: a counter reused as text (and back) on
// one PC was a kind conflict on every replica for ever. Now the kind written
// last shows alone, through the stores and the change format, and a counter
// taken up again starts from 0.
TEST_F(ReplicaTest, ANameReusedWithAnotherKindShowsTheNewKindWithoutConflict) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto commit = [](Replica& r, const std::function<Status(WriteTransaction&)>& edit) {
    WriteTransaction txn = r.BeginWrite();
    ASSERT_DAICHO_OK(edit(txn));
    ASSERT_DAICHO_OK(txn.Commit());
  };
  commit(*a, [](WriteTransaction& t) { return t.Add("customers", "c1", "filings", 3); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  commit(*b, [](WriteTransaction& t) { return t.Set("customers", "c1", "filings", Value("三件")); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    const FieldView* filings = record->Find("filings");
    EXPECT_EQ(filings->kind, FieldKind::kRegister);
    EXPECT_EQ(filings->value, Value("三件"));
    EXPECT_FALSE(filings->kind_conflict);
    EXPECT_FALSE(record->has_conflict());
  }
  commit(*a, [](WriteTransaction& t) { return t.Add("customers", "c1", "filings", 1); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    EXPECT_EQ(record->Find("filings")->kind, FieldKind::kCounter);
    EXPECT_EQ(record->Find("filings")->value, Value(int64_t{1}));
    EXPECT_FALSE(record->Find("filings")->kind_conflict);
  }
}

}  // namespace
}  // namespace daicho
