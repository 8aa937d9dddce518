#include "apps/daicho/csv_ledger.h"

#include <gtest/gtest.h>

#include "apps/daicho/text_output.h"
#include "core/memory_replica.h"
#include "tests/testing/test_util.h"

namespace daicho::cli {
namespace {

using core::testing::IdOf;

const ReplicaId kV = IdOf(0x0a);  // exports, later imports
const ReplicaId kW = IdOf(0x0b);  // edits in between

VersionVector Vv(std::initializer_list<Dot> dots) {
  VersionVector vv;
  for (const Dot& d : dots) vv.Advance(d);
  return vv;
}

FieldView Text(const std::string& name, const std::string& value, Dot dot) {
  FieldView f;
  f.name = name;
  f.value = Value(value);
  f.siblings.push_back({Value(value), dot, HlcTime{}});
  return f;
}

FieldView Counter(const std::string& name, int64_t total) {
  FieldView f;
  f.name = name;
  f.kind = FieldKind::kCounter;
  f.value = Value(total);
  return f;
}

FieldView Set(const std::string& name, std::vector<std::string> elements) {
  FieldView f;
  f.name = name;
  f.kind = FieldKind::kSet;
  f.elements = std::move(elements);
  return f;
}

Record Rec(std::vector<FieldView> fields) {
  Record r;
  r.collection = "customers";
  r.id = "c003";
  r.fields = std::move(fields);
  return r;
}

RecordContext Context(std::initializer_list<std::pair<std::string, VersionVector>> fields) {
  RecordContext c;
  for (const auto& [name, vv] : fields) {
    c.fields.push_back({name, vv});
    c.record.Join(vv);
  }
  return c;
}

// A layout and the rows of a file, as the importer parses them.
class PlanTest : public ::testing::Test {
 protected:
  void Header(std::vector<std::string> header) {
    Result<CsvLayout> layout = ParseCsvHeader(header);
    ASSERT_TRUE(layout.ok()) << layout.status();
    layout_ = std::move(layout).value();
  }
  ParsedRow Row(std::vector<std::string> cells) {
    Result<ParsedRow> row = ParseCsvRow(layout_, 2, cells);
    EXPECT_TRUE(row.ok()) << row.status();
    return row.ok() ? std::move(row).value() : ParsedRow{};
  }
  // The row as exported from `record` (context `ctx`, exporter VV `vv`).
  std::vector<std::string> Exported(const Record& record, const RecordContext& ctx, const VersionVector& vv) {
    std::vector<std::string> cells = {record.id};
    for (const CsvColumn& c : layout_.columns) {
      if (c.field == kVersionColumn) {
        cells.push_back(EncodeRowToken(MakeRowToken(record, ctx, kV, vv)));
        continue;
      }
      const FieldView* f = record.Find(c.field);
      cells.push_back(f != nullptr && f->kind == c.kind ? FieldCellText(*f) : "");
    }
    return cells;
  }
  CsvLayout layout_;
};

TEST(CsvLedgerTest, ColumnHeadersMarkKindsAndRoundTrip) {
  const std::vector<CsvColumn> columns = {{"phone", FieldKind::kRegister},
                                          {"filings", FieldKind::kCounter},
                                          {"trades", FieldKind::kSet},
                                          {"no#", FieldKind::kRegister},
                                          {"wow!", FieldKind::kRegister},
                                          {"x[]", FieldKind::kRegister},
                                          {std::string(kVersionColumn), FieldKind::kRegister},
                                          {"a#", FieldKind::kCounter}};
  std::vector<std::string> header = {"id"};
  for (const CsvColumn& c : columns) header.push_back(ColumnHeader(c));
  EXPECT_EQ(header[2], "filings#");
  EXPECT_EQ(header[3], "trades[]");
  EXPECT_EQ(header[4], "no#!");
  EXPECT_EQ(header[7], "daicho.version!");
  Result<CsvLayout> layout = ParseCsvHeader(header);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->columns, columns);
  EXPECT_FALSE(layout->token_column.has_value());
  // A plain name ending in '!' typed by hand stays as it is.
  EXPECT_EQ(ParseCsvHeader({"id", "urgent!"})->columns[0].field, "urgent!");
}

TEST(CsvLedgerTest, HeaderErrorsNameTheColumn) {
  EXPECT_NE(ParseCsvHeader({"id", "a", "a"}).status().message().find("column 3"), std::string::npos);
  EXPECT_FALSE(ParseCsvHeader({"id", "#"}).ok());
  EXPECT_FALSE(ParseCsvHeader({"id", "daicho.version", "daicho.version"}).ok());
  // One name as two kinds is two columns (an export of a kind conflict).
  EXPECT_TRUE(ParseCsvHeader({"id", "a", "a#"}).ok());
}

TEST(CsvLedgerTest, SetCellsEscapeTheSeparator) {
  const std::vector<std::string> elements = {"C:\\dir", "a;b", "土木工事業"};
  const std::string cell = SetCellText(elements);
  EXPECT_EQ(cell, "C:\\\\dir;a\\;b;土木工事業");
  EXPECT_EQ(ParseSetCell(cell), elements);
  // Typed by hand: unsorted, repeated, a stray backslash, empty pieces.
  EXPECT_EQ(ParseSetCell("b;a;;b;C:\\x;"), (std::vector<std::string>{"C:\\x", "a", "b"}));
  EXPECT_TRUE(ParseSetCell("").empty());
}

TEST(CsvLedgerTest, TokensRoundTripAndBadOnesAreRefused) {
  Record r = Rec({Text("phone", "03-1111", Dot{kV, 1}), Counter("filings", -3), Set("trades", {"a", "b"})});
  RecordContext ctx = Context({{"phone", Vv({Dot{kV, 1}})}, {"filings", Vv({Dot{kW, 2}})}});
  RowToken token = MakeRowToken(r, ctx, kV, Vv({Dot{kV, 5}, Dot{kW, 7}, Dot{IdOf(0x0c), 9}}));
  // Only the replicas that touched the record, at what the exporter held.
  EXPECT_EQ(token.seen, Vv({Dot{kV, 5}, Dot{kW, 7}}));
  EXPECT_EQ(token.digests.size(), 3u);
  ASSERT_EQ(token.counters.size(), 1u);
  EXPECT_EQ(token.counters[0].second, -3);
  const std::string text = EncodeRowToken(token);
  EXPECT_TRUE(text.starts_with("v2.")) << text;
  Result<RowToken> back = DecodeRowToken(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, token);

  EXPECT_NE(DecodeRowToken("hello").status().message().find("not a daicho version token"), std::string::npos);
  EXPECT_NE(DecodeRowToken("v3.AAAA").status().message().find("another format"), std::string::npos);
  for (const std::string& bad : {text.substr(0, text.size() - 3), text + "A", text.substr(0, 5) + "*" + text.substr(6),
                                 std::string("v1."), std::string("v2.")}) {
    Result<RowToken> decoded = DecodeRowToken(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
  }
}

TEST(CsvLedgerTest, TokensOfEarlierVersionsAreStillRead) {
  // Written by daicho before register contexts: seen {V:5}, one digest, no counters.
  Result<RowToken> v1 = DecodeRowToken("v1.AQoKCgoKCgoKCgoKCgoKCgoFAYh3ZlVEMyIRAA");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->seen, Vv({Dot{kV, 5}}));
  EXPECT_EQ(v1->digests, std::vector<uint64_t>{0x1122334455667788u});
  EXPECT_TRUE(v1->register_contexts.empty());
  EXPECT_EQ(v1->ContextFor("phone"), v1->seen);
}

TEST(CsvLedgerTest, ARegisterContextPastTheExportersChangesTravelsInTheToken) {
  // The exporter holds W's write of the phone, which superseded X's write 3,
  // but not X's changes themselves (they come from another PC).
  const ReplicaId kX = IdOf(0x0c);
  Record r = Rec({Text("phone", "03-1111", Dot{kW, 1}), Text("name", "山田", Dot{kW, 1})});
  RecordContext ctx = Context({{"name", Vv({Dot{kW, 1}})}, {"phone", Vv({Dot{kW, 1}, Dot{kX, 3}})}});
  RowToken token = MakeRowToken(r, ctx, kV, Vv({Dot{kW, 1}}));
  EXPECT_EQ(token.seen, Vv({Dot{kW, 1}}));
  ASSERT_EQ(token.register_contexts.size(), 1u);
  EXPECT_EQ(token.register_contexts[0].second, Vv({Dot{kX, 3}}));
  // A write over the exported phone supersedes X's write too; the name's does not.
  EXPECT_EQ(token.ContextFor("phone"), Vv({Dot{kW, 1}, Dot{kX, 3}}));
  EXPECT_EQ(token.ContextFor("name"), Vv({Dot{kW, 1}}));
  Result<RowToken> back = DecodeRowToken(EncodeRowToken(token));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, token);
}

TEST(CsvLedgerTest, CounterCellThatIsNotANumberIsAnError) {
  Result<CsvLayout> layout = ParseCsvHeader({"id", "filings#"});
  ASSERT_TRUE(layout.ok());
  Result<ParsedRow> row = ParseCsvRow(*layout, 4, {"c1", "three"});
  ASSERT_FALSE(row.ok());
  EXPECT_NE(row.status().message().find("column 2"), std::string::npos) << row.status();
}

TEST(CsvLedgerTest, CellsTheStoreWouldRefuseAreErrorsBeforeAnyWrite) {
  const Limits limits;
  Result<CsvLayout> layout = ParseCsvHeader({"id", "scan"});
  ASSERT_TRUE(layout.ok());
  Result<ParsedRow> big = ParseCsvRow(*layout, 3, {"c1", std::string(limits.max_value_bytes + 1, 'x')});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("column 2"), std::string::npos) << big.status();
  EXPECT_TRUE(ParseCsvRow(*layout, 3, {"c1", std::string(limits.max_value_bytes, 'x')}).ok());
  EXPECT_FALSE(ParseCsvRow(*layout, 3, {std::string(limits.max_name_bytes + 1, 'i'), "x"}).ok());
  EXPECT_FALSE(ParseCsvHeader({"id", std::string(limits.max_name_bytes + 1, 'n')}).ok());
}

// Found by the fuzzer (tests/reliability/fuzz, csv_import): a record id or
// field name holding a NUL byte passed these checks and was refused by the
// store only when its row was written, after earlier batches were committed.
TEST(CsvLedgerTest, NamesWithANulByteAreErrorsBeforeAnyWrite) {
  Result<CsvLayout> layout = ParseCsvHeader({"id", "name"});
  ASSERT_TRUE(layout.ok());
  Result<ParsedRow> row = ParseCsvRow(*layout, 5,
                                      {std::string("c\0"
                                                   "1",
                                                   3),
                                       "x"});
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), Code::kInvalidArgument);
  EXPECT_NE(row.status().message().find("column 1"), std::string::npos) << row.status();
  EXPECT_NE(row.status().message().find("NUL"), std::string::npos) << row.status();

  Result<CsvLayout> header = ParseCsvHeader({"id", std::string("na\0"
                                                               "me",
                                                               5)});
  ASSERT_FALSE(header.ok());
  EXPECT_NE(header.status().message().find("column 2"), std::string::npos) << header.status();
  EXPECT_NE(header.status().message().find("NUL"), std::string::npos) << header.status();
}

TEST_F(PlanTest, UneditedRowWritesNothingEvenAfterNewerEdits) {
  Header({"id", "filings#", "phone", "trades[]", "daicho.version"});
  Record at_export = Rec({Counter("filings", 2), Text("phone", "03-1111", Dot{kV, 1}), Set("trades", {"a", "b"})});
  RecordContext ctx = Context({{"phone", Vv({Dot{kV, 1}})}});
  ParsedRow row = Row(Exported(at_export, ctx, Vv({Dot{kV, 1}})));
  RowPlan same = PlanRow(row, &at_export, &ctx, kV, "customers");
  EXPECT_TRUE(same.writes.empty());
  EXPECT_FALSE(same.only_id);

  // W changed every field since; the file's unedited cells leave them be.
  Record now = Rec({Counter("filings", 3), Text("phone", "03-2222", Dot{kW, 1}), Set("trades", {"a", "c"})});
  RowPlan plan = PlanRow(row, &now, &ctx, kV, "customers");
  EXPECT_TRUE(plan.writes.empty());
  EXPECT_EQ(plan.conflicts, 0u);
}

TEST_F(PlanTest, EditedRegisterChangedSinceTheExportBecomesAConflict) {
  Header({"id", "name", "phone", "daicho.version"});
  Record at_export = Rec({Text("name", "山田", Dot{kV, 1}), Text("phone", "03-1111", Dot{kV, 1})});
  RecordContext ctx = Context({{"phone", Vv({Dot{kV, 1}})}, {"name", Vv({Dot{kV, 1}})}});
  std::vector<std::string> cells = Exported(at_export, ctx, Vv({Dot{kV, 1}}));
  cells[1] = "山田建設";  // edited, unchanged in the ledger: a plain write
  cells[2] = "03-3333";   // edited, and W wrote the phone since
  Record now = Rec({Text("name", "山田", Dot{kV, 1}), Text("phone", "03-2222", Dot{kW, 1})});
  RowPlan plan = PlanRow(Row(cells), &now, &ctx, kV, "customers");
  ASSERT_EQ(plan.writes.size(), 2u);
  EXPECT_EQ(plan.writes[0].type, CellWrite::Type::kSet);
  EXPECT_EQ(plan.writes[0].text, "山田建設");
  EXPECT_EQ(plan.writes[1].type, CellWrite::Type::kSetWithContext);
  EXPECT_EQ(plan.writes[1].text, "03-3333");
  EXPECT_EQ(plan.cells_written, 2u);
  EXPECT_EQ(plan.conflicts, 1u);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("daicho resolve customers c003 phone"), std::string::npos) << plan.notes[0];

  // Run again after the import: the file's value is there beside W's.
  Record after = Rec({Text("name", "山田建設", Dot{kV, 2}), Text("phone", "03-2222", Dot{kW, 1})});
  after.fields[1].siblings.push_back({Value("03-3333"), Dot{kV, 2}, HlcTime{}});
  EXPECT_TRUE(PlanRow(Row(cells), &after, &ctx, kV, "customers").writes.empty());
}

TEST_F(PlanTest, EditedCounterAddsTheDifferenceToTheExportedTotal) {
  Header({"id", "filings#", "daicho.version"});
  Record at_export = Rec({Counter("filings", 2)});
  RecordContext ctx = Context({{"filings", Vv({Dot{kV, 1}})}});
  std::vector<std::string> cells = Exported(at_export, ctx, Vv({Dot{kV, 1}}));
  cells[1] = "5";  // the clerk counted 3 more filings
  // Meanwhile W added 1: both additions count.
  Record now = Rec({Counter("filings", 3)});
  RecordContext ctx_now = Context({{"filings", Vv({Dot{kV, 1}, Dot{kW, 1}})}});
  RowPlan plan = PlanRow(Row(cells), &now, &ctx_now, kV, "customers");
  ASSERT_EQ(plan.writes.size(), 1u);
  EXPECT_EQ(plan.writes[0].type, CellWrite::Type::kAdd);
  EXPECT_EQ(plan.writes[0].delta, 3);

  // After that import this PC's own add is newer than the token: a second
  // run does not add it again, and says so unless the total already matches.
  Record again = Rec({Counter("filings", 6)});
  RecordContext ctx_again = Context({{"filings", Vv({Dot{kV, 2}, Dot{kW, 1}})}});
  RowPlan rerun = PlanRow(Row(cells), &again, &ctx_again, kV, "customers");
  EXPECT_TRUE(rerun.writes.empty());
  ASSERT_EQ(rerun.notes.size(), 1u);
  EXPECT_NE(rerun.notes[0].find("not added again"), std::string::npos);
  Record matching = Rec({Counter("filings", 5)});
  RowPlan quiet = PlanRow(Row(cells), &matching, &ctx_again, kV, "customers");
  EXPECT_TRUE(quiet.writes.empty());
  EXPECT_TRUE(quiet.notes.empty());
}

TEST_F(PlanTest, EditedSetCellAddsAndRemovesOnlyTheFilesDifference) {
  Header({"id", "trades[]", "daicho.version"});
  Record at_export = Rec({Set("trades", {"大工", "左官"})});
  RecordContext ctx = Context({{"trades", Vv({Dot{kV, 1}})}});
  std::vector<std::string> cells = Exported(at_export, ctx, Vv({Dot{kV, 1}}));
  cells[1] = "大工;電気";  // removed 左官, added 電気
  // W added 配管 since: it stays.
  Record now = Rec({Set("trades", {"大工", "左官", "配管"})});
  RowPlan plan = PlanRow(Row(cells), &now, &ctx, kV, "customers");
  ASSERT_EQ(plan.writes.size(), 2u);
  EXPECT_EQ(plan.writes[0].type, CellWrite::Type::kSetAdd);
  EXPECT_EQ(plan.writes[0].text, "電気");
  EXPECT_EQ(plan.writes[1].type, CellWrite::Type::kSetRemove);
  EXPECT_EQ(plan.writes[1].text, "左官");
  EXPECT_EQ(plan.cells_written, 1u);

  // W removed 左官 since and the file still lists it: it stays removed.
  Record removed = Rec({Set("trades", {"大工"})});
  RowPlan unedited = PlanRow(Row(Exported(at_export, ctx, Vv({Dot{kV, 1}}))), &removed, &ctx, kV, "customers");
  EXPECT_TRUE(unedited.writes.empty());
}

TEST_F(PlanTest, RowsWithoutATokenArePlainWritesOfTheDifference) {
  Header({"id", "filings#", "phone", "trades[]"});
  Record now = Rec({Counter("filings", 2), Text("phone", "03-1111", Dot{kW, 1}), Set("trades", {"a", "b"})});
  RowPlan plan = PlanRow(Row({"c003", "5", "03-1111", "b;c"}), &now, nullptr, kV, "customers");
  ASSERT_EQ(plan.writes.size(), 3u);
  EXPECT_EQ(plan.writes[0].type, CellWrite::Type::kAdd);
  EXPECT_EQ(plan.writes[0].delta, 3);
  EXPECT_EQ(plan.writes[1].type, CellWrite::Type::kSetAdd);
  EXPECT_EQ(plan.writes[2].type, CellWrite::Type::kSetRemove);
  EXPECT_EQ(plan.cells_written, 2u);  // the phone is unchanged

  RowPlan fresh = PlanRow(Row({"c009", "4", "03", ""}), nullptr, nullptr, kV, "customers");
  ASSERT_EQ(fresh.writes.size(), 2u);
  EXPECT_EQ(fresh.writes[0].delta, 4);
  EXPECT_EQ(fresh.writes[1].type, CellWrite::Type::kSet);
}

TEST_F(PlanTest, RowWithOnlyAnIdWritesNothing) {
  Header({"id", "phone", "trades[]"});
  RowPlan plan = PlanRow(Row({"c010", "", ""}), nullptr, nullptr, kV, "customers");
  EXPECT_TRUE(plan.only_id);
  EXPECT_TRUE(plan.writes.empty());
}

TEST_F(PlanTest, EditsOfARecordDeletedSinceTheExportAreReportedNotImported) {
  Header({"id", "phone", "daicho.version"});
  Record at_export = Rec({Text("phone", "03-1111", Dot{kV, 1})});
  RecordContext ctx = Context({{"phone", Vv({Dot{kV, 1}})}});
  std::vector<std::string> cells = Exported(at_export, ctx, Vv({Dot{kV, 1}}));
  cells[1] = "03-3333";
  Record now = at_export;
  now.deleted = true;
  RowPlan plan = PlanRow(Row(cells), &now, &ctx, kV, "customers");
  EXPECT_TRUE(plan.writes.empty());
  EXPECT_FALSE(plan.only_id);
  ASSERT_EQ(plan.notes.size(), 1u);
  EXPECT_NE(plan.notes[0].find("deleted since the export"), std::string::npos);
}

}  // namespace
}  // namespace daicho::cli
