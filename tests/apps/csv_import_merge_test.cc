// CSV imports with version tokens on real replicas: the writes an import
// makes must merge like any other, whatever order the other PCs receive
// them in. Found by the deterministic simulation (tests/reliability/):
// an import over a value the exporter held as superseded, without holding
// the superseded write itself, brought that write back on PCs that
// received it last.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "apps/daicho/csv_ledger.h"
#include "apps/daicho/text_output.h"
#include "daicho/replica.h"
#include "storage/replica_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho::cli {
namespace {

using daicho::testing::TempDir;

// `to` receives `from`'s own changes only (a batch cut after one origin, or
// a LAN peer that has not yet passed on what it got from others).
void PullOwn(Replica& to, const Replica& from) {
  auto vv = to.GetVersionVector();
  ASSERT_TRUE(vv.ok()) << vv.status();
  auto changes = from.ChangesSince(*vv);
  ASSERT_TRUE(changes.ok()) << changes.status();
  std::vector<ChangeBlob> own;
  for (ChangeBlob& c : *changes) {
    if (c.origin == from.id()) own.push_back(std::move(c));
  }
  ASSERT_TRUE(to.Apply(own).ok());
}

std::vector<std::string> SiblingValues(const Replica& replica) {
  auto record = replica.Get("customers", "c1");
  EXPECT_TRUE(record.ok()) << record.status();
  std::vector<std::string> out;
  if (!record.ok()) return out;
  const FieldView* phone = record->Find("phone");
  if (phone == nullptr) return out;
  for (const Sibling& s : phone->siblings) out.push_back(s.value.ToDisplayString());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CsvImportMergeTest, AnImportOverASupersededValueConvergesInEveryDeliveryOrder) {
  TempDir tmp;
  auto open = [&](const std::string& name) {
    auto r = Replica::Open(tmp.Sub(name), testing::CreateOptions());
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(r).value();
  };
  auto a = open("a"), b = open("b"), c = open("c"), v = open("v"), r1 = open("r1"), r2 = open("r2");

  ASSERT_DAICHO_OK(testing::SetValue(*a, "customers", "c1", "phone", "03-1111"));
  PullOwn(*b, *a);
  ASSERT_DAICHO_OK(testing::SetValue(*b, "customers", "c1", "phone", "03-2222"));  // saw A's
  ASSERT_DAICHO_OK(testing::SetValue(*c, "customers", "c1", "phone", "03-3333"));  // saw nothing

  // V holds B's write but not A's, and exports the row.
  PullOwn(*v, *b);
  auto seen = v->GetVersionVector();
  ASSERT_TRUE(seen.ok());
  auto exported = v->Get("customers", "c1");
  ASSERT_TRUE(exported.ok());
  auto context = v->GetRecordContext("customers", "c1");
  ASSERT_TRUE(context.ok());
  auto layout = ParseCsvHeader({"id", "phone", std::string(kVersionColumn)});
  ASSERT_TRUE(layout.ok());
  const std::string token = EncodeRowToken(MakeRowToken(*exported, *context, v->id(), *seen));

  // C's write arrives; the clerk's edit of the file is imported beside it.
  PullOwn(*v, *c);
  auto row = ParseCsvRow(*layout, 2, {"c1", "03-9999", token});
  ASSERT_TRUE(row.ok()) << row.status();
  auto now = v->Get("customers", "c1");
  auto now_context = v->GetRecordContext("customers", "c1");
  ASSERT_TRUE(now.ok() && now_context.ok());
  RowPlan plan = PlanRow(*row, &*now, &*now_context, v->id(), "customers");
  ASSERT_EQ(plan.writes.size(), 1u);
  EXPECT_EQ(plan.writes[0].type, CellWrite::Type::kSetWithContext);
  WriteTransaction txn = v->BeginWrite();
  ASSERT_DAICHO_OK(ApplyCellWrite(txn, "customers", *row, plan.writes[0]));
  ASSERT_TRUE(txn.Commit().ok());

  // Two PCs receive the same four writers' changes in opposite orders.
  for (Replica* from : {a.get(), b.get(), c.get(), v.get()}) PullOwn(*r1, *from);
  for (Replica* from : {v.get(), c.get(), b.get(), a.get()}) PullOwn(*r2, *from);
  // A's value was superseded by B's, which the import superseded in turn:
  // only C's concurrent value and the file's remain, everywhere.
  const std::vector<std::string> expected = {"03-3333", "03-9999"};
  EXPECT_EQ(SiblingValues(*r1), expected);
  EXPECT_EQ(SiblingValues(*r2), expected);
}

}  // namespace
}  // namespace daicho::cli
