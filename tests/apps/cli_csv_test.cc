// `daicho export` / `daicho import` end to end: stale files never overwrite
// newer edits, every kind round-trips, big files are split into changes that
// sync. Runs the real binary (cli_harness.h); the replicas are opened in this
// process only between commands, to look at the committed changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "csv_test_util.h"
#include "daicho/replica.h"

namespace daicho::testing {
namespace {

using nlohmann::json;

// The frame limit of the sync transport (transport/websocket_options.h): a change that
// does not fit one frame cannot be sent.
constexpr size_t kWireFrameLimit = 16u << 20;

// The replica at `path` opened in this process, or nullptr after a failure.
std::unique_ptr<Replica> OpenOrNull(const std::string& path, bool create) {
  ReplicaOptions options;
  options.create_if_missing = create;
  Result<std::unique_ptr<Replica>> replica = Replica::Open(path, options);
  EXPECT_TRUE(replica.ok()) << path << ": " << replica.status();
  return replica.ok() ? std::move(replica).value() : nullptr;
}

class CliCsvTest : public CliTest {
 protected:
  // Copies everything `from` holds to `to` through a change file ("sync").
  void Exchange(const std::string& from, const std::string& to) {
    const std::string file = dir_.Sub("exchange.changes");
    Ok({"export-changes", "--db", from, file});
    Ok({"import-changes", "--db", to, file});
  }
  void Sync(const std::string& a, const std::string& b) {
    Exchange(a, b);
    Exchange(b, a);
  }
  json Get(const std::string& db, const std::string& id) {
    return json::parse(Ok({"get", "--db", db, "customers", id, "--json"}));
  }
  std::string Vv(const std::string& db) { return Ok({"vv", "--db", db}); }
  // Exports customers from `db` to a file; returns its path.
  std::string Export(const std::string& db, const std::string& name) {
    std::string path = dir_.Sub(name);
    WriteFile(path, Ok({"export", "--db", db, "customers"}));
    return path;
  }
  std::string Import(const std::string& db, const std::string& path) {
    return Ok({"import", "--db", db, "customers", path});
  }
  // Replaces the first `from` in the file with `to` (an edit in a spreadsheet).
  static void Edit(const std::string& path, const std::string& from, const std::string& to) {
    std::string text = ReadFile(path);
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << text;
    WriteFile(path, text.replace(at, from.size(), to));
  }
};

TEST_F(CliCsvTest, StaleImportKeepsTheNewerPhoneAndAnEditedCellBecomesAConflict) {
  const std::string v = Init("v");
  const std::string w = Init("w");
  Ok({"set", "--db", v, "customers", "c003", "name=山田建設", "phone=03-1111"});
  Sync(v, w);
  const std::string old_csv = Export(v, "old.csv");
  Ok({"set", "--db", w, "customers", "c003", "phone=03-2222"});
  Sync(v, w);

  // The file as exported: nothing in it was edited, so nothing is written.
  std::string out = Import(v, old_csv);
  EXPECT_TRUE(Contains(out, "0 rows changed, 1 unchanged")) << out;
  EXPECT_TRUE(Contains(out, "0 cells written")) << out;
  Sync(v, w);
  for (const std::string& db : {v, w}) {
    json c = Get(db, "c003");
    EXPECT_EQ(c["fields"]["phone"], "03-2222") << db;
    EXPECT_TRUE(c["conflicts"].empty()) << c.dump();
  }

  // The clerk typed another phone into the old file: it is kept beside W's
  // newer one, as a conflict on every PC.
  Edit(old_csv, "03-1111", "03-3333");
  out = Import(v, old_csv);
  EXPECT_TRUE(Contains(out, "line 2: c003 phone changed on another PC since the export")) << out;
  EXPECT_TRUE(Contains(out, "1 row changed")) << out;
  EXPECT_TRUE(Contains(out, "1 cell written, 1 conflict kept beside newer values")) << out;
  Sync(v, w);
  for (const std::string& db : {v, w}) {
    json c = Get(db, "c003");
    ASSERT_TRUE(c["conflicts"].contains("phone")) << db << ": " << c.dump();
    std::vector<std::string> values = c["conflicts"]["phone"];
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, (std::vector<std::string>{"03-2222", "03-3333"})) << db;
    EXPECT_EQ(c["fields"]["name"], "山田建設");
  }
  // Running the same import again changes nothing.
  const std::string before = Vv(v);
  out = Import(v, old_csv);
  EXPECT_TRUE(Contains(out, "0 cells written")) << out;
  EXPECT_EQ(Vv(v), before);
}

TEST_F(CliCsvTest, RoundTripOfEveryKindWritesNothing) {
  const std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "name=山田建設", "filings+=3", "trades[]+=土木工事業", "trades[]+=a;b",
      "score:=1.5"});
  Ok({"set", "--db", db, "customers", "c2", "name=佐藤", "filings+=-2"});
  const std::string csv = Export(db, "all.csv");
  const std::string text = ReadFile(csv);
  EXPECT_TRUE(text.starts_with("id,filings#,name,score,trades[],daicho.version\r\n")) << text;
  EXPECT_TRUE(Contains(text, ",3,山田建設,1.5,a\\;b;土木工事業,v2.")) << text;

  const std::string before = Vv(db);
  const std::string out = Import(db, csv);
  EXPECT_EQ(out,
            "imported into customers: 0 rows changed, 2 unchanged, 0 with only an id; 0 cells written, "
            "0 conflicts kept beside newer values; 0 transactions; read as UTF-8\n");
  EXPECT_EQ(Vv(db), before);  // no change committed
  json c1 = Get(db, "c1");
  EXPECT_FALSE(c1.contains("kind_conflicts")) << c1.dump();
  EXPECT_EQ(c1["fields"]["filings"], 3);
  EXPECT_EQ(c1["fields"]["trades"], json::array({"a;b", "土木工事業"}));
  EXPECT_EQ(Ok({"export", "--db", db, "customers"}), text);

  // Into a PC that never received those changes, the tokens cannot be read:
  // refused, unless the version column is taken out.
  const std::string pc2 = Init("pc2");
  EXPECT_TRUE(Contains(Fails({"import", "--db", pc2, "customers", csv}),
                       "line 2: the file was exported from "
                       "changes this PC has not received yet"));
  EXPECT_EQ(Vv(pc2), "\n");
  WriteFile(csv, WithoutVersionColumn(text));
  EXPECT_TRUE(Contains(Import(pc2, csv), "2 rows changed")) << csv;
  json copy = Get(pc2, "c1");
  EXPECT_FALSE(copy.contains("kind_conflicts")) << copy.dump();
  EXPECT_EQ(copy["fields"]["filings"], 3);
  EXPECT_EQ(copy["fields"]["trades"], json::array({"a;b", "土木工事業"}));
  EXPECT_EQ(Get(pc2, "c2")["fields"]["filings"], -2);
  EXPECT_TRUE(Contains(Import(pc2, csv), "0 cells written"));
}

// Japanese words as Excel's "CSV (comma delimited)" writes them on a
// Japanese Windows: Shift_JIS (CP932), with the NEC and IBM extensions.
struct SjisWord {
  const char* utf8;
  const char* sjis;
};
constexpr SjisWord kSjisWords[] = {
    {"株式会社", "\x8A\x94\x8E\xAE\x89\xEF\x8E\xD0"},
    {"山田", "\x8E\x52\x93\x63"},
    {"髙橋", "\xFB\xFC\x8B\xB4"},  // 髙 as the IBM extension FBFC
    {"顧客名", "\x8C\xDA\x8B\x71\x96\xBC"},
    {"件数", "\x8C\x8F\x90\x94"},
    {"業種", "\x8B\xC6\x8E\xED"},
    {"建築", "\x8C\x9A\x92\x7A"},
    {"土木", "\x93\x79\x96\xD8"},
    {"①", "\x87\x40"},
    {"㈱", "\x87\x8A"},
    {"～", "\x81\x60"},
};

// `utf8` as Excel would save it in Shift_JIS: every word of kSjisWords
// replaced by its bytes; what is left must be ASCII.
std::string ToSjis(std::string utf8) {
  if (utf8.starts_with("\xEF\xBB\xBF")) utf8.erase(0, 3);  // Excel drops the mark
  std::string ascii_left = utf8;
  for (const SjisWord& w : kSjisWords) {
    for (std::string* text : {&utf8, &ascii_left}) {
      for (size_t at = text->find(w.utf8); at != std::string::npos; at = text->find(w.utf8, at)) {
        text->replace(at, std::strlen(w.utf8), text == &utf8 ? w.sjis : "");
      }
    }
  }
  EXPECT_TRUE(std::all_of(ascii_left.begin(), ascii_left.end(), [](char c) { return (c & 0x80) == 0; }))
      << "a word is missing from kSjisWords: " << ascii_left;
  return utf8;
}

TEST_F(CliCsvTest, ShiftJisFileFromExcelImportsWithItsJapaneseHeaders) {
  const std::string path = dir_.Sub("excel.csv");
  WriteFile(path, ToSjis("id,顧客名,件数#,業種[]\r\nc1,株式会社山田,3,建築;土木\r\nc2,①㈱髙橋～,1,\r\n"));
  const std::string detected = Init("detected");
  const std::string explicit_db = Init("explicit");
  const std::string out = Import(detected, path);
  EXPECT_TRUE(Contains(out, "2 rows changed")) << out;
  EXPECT_TRUE(Contains(out, "; read as Shift_JIS (CP932), as it is not UTF-8\n")) << out;
  EXPECT_TRUE(Contains(Ok({"import", "--db", explicit_db, "customers", path, "--encoding", "cp932"}),
                       "; read as Shift_JIS (CP932)\n"));
  for (const std::string& db : {detected, explicit_db}) {
    json c1 = Get(db, "c1");
    EXPECT_EQ(c1["fields"]["顧客名"], "株式会社山田") << c1.dump();
    EXPECT_EQ(c1["fields"]["件数"], 3) << c1.dump();
    EXPECT_EQ(c1["fields"]["業種"], json::array({"土木", "建築"})) << c1.dump();
    EXPECT_EQ(Get(db, "c2")["fields"]["顧客名"], "①㈱髙橋～");
  }
  // Read as UTF-8 it is not text: refused, naming where, nothing written.
  const std::string utf8_db = Init("utf8");
  const std::string before = Vv(utf8_db);
  const std::string err = Fails({"import", "--db", utf8_db, "customers", path, "--encoding", "utf-8"});
  EXPECT_TRUE(Contains(err, "line 1, column 2")) << err;
  EXPECT_TRUE(Contains(err, "nothing imported")) << err;
  EXPECT_EQ(Vv(utf8_db), before);
}

TEST_F(CliCsvTest, BytesThatAreNotShiftJisNameTheCellAndImportNothing) {
  const std::string path = dir_.Sub("broken.csv");
  // Line 3, second column: 0x85 0x40 is no character in CP932.
  WriteFile(path, ToSjis("id,顧客名\r\nc1,山田\r\nc2,株式会社") + "\x85\x40\r\n");
  const std::string db = Init("pc1");
  const std::string before = Vv(db);
  for (const std::vector<std::string>& encoding : {std::vector<std::string>{}, {"--encoding", "cp932"}}) {
    std::vector<std::string> args = {"import", "--db", db, "customers", path};
    args.insert(args.end(), encoding.begin(), encoding.end());
    const std::string err = Fails(args);
    EXPECT_TRUE(Contains(err, "line 3, column 2")) << err;
    EXPECT_TRUE(Contains(err, "85 40")) << err;
    EXPECT_TRUE(Contains(err, "nothing imported")) << err;
  }
  EXPECT_EQ(Vv(db), before);
  EXPECT_EQ(Run({"get", "--db", db, "customers", "c1"}).exit_code, 1);
}

TEST_F(CliCsvTest, ExcelExportIsUtf8WithAByteOrderMarkAndCrlfAndComesBackFromShiftJis) {
  const std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "顧客名=株式会社山田", "件数+=3", "業種[]+=建築"});
  Ok({"set", "--db", db, "customers", "c2", "顧客名=土木", "件数+=1"});
  const std::string excel = Ok({"export", "--db", db, "customers", "--excel"});
  ASSERT_TRUE(
      excel.starts_with("\xEF\xBB\xBF"
                        "id,件数#,業種[],顧客名,daicho.version\r\n"))
      << excel;
  for (size_t at = excel.find('\n'); at != std::string::npos; at = excel.find('\n', at + 1)) {
    EXPECT_EQ(excel[at - 1], '\r') << "a line ends without CR at byte " << at;
  }
  EXPECT_TRUE(excel.ends_with("\r\n"));
  // The same rows as the plain export, which has no mark.
  EXPECT_EQ(excel.substr(3), Ok({"export", "--db", db, "customers"}));

  // Opened and saved again: as is (UTF-8 with the mark) nothing changes.
  const std::string path = dir_.Sub("excel.csv");
  WriteFile(path, excel);
  std::string out = Import(db, path);
  EXPECT_TRUE(Contains(out, "0 rows changed, 2 unchanged")) << out;
  EXPECT_TRUE(Contains(out, "read as UTF-8")) << out;
  // Saved as "CSV (comma delimited)" (Shift_JIS) with one name edited: only
  // that cell is written, the version column still tells edited from not.
  std::string edited = excel;
  const size_t at = edited.find(",株式会社山田,");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, std::string(",株式会社山田,").size(), ",髙橋,");
  WriteFile(path, ToSjis(edited));
  out = Import(db, path);
  EXPECT_TRUE(Contains(out, "1 row changed, 1 unchanged")) << out;
  EXPECT_TRUE(Contains(out, "1 cell written")) << out;
  EXPECT_TRUE(Contains(out, "read as Shift_JIS (CP932)")) << out;
  json c1 = Get(db, "c1");
  EXPECT_EQ(c1["fields"]["顧客名"], "髙橋") << c1.dump();
  EXPECT_EQ(c1["fields"]["件数"], 3) << c1.dump();
  EXPECT_EQ(c1["fields"]["業種"], json::array({"建築"})) << c1.dump();
}

TEST_F(CliCsvTest, EditedCounterAndSetCellsApplyTheirDifference) {
  const std::string v = Init("v");
  const std::string w = Init("w");
  Ok({"set", "--db", v, "customers", "c1", "filings+=2", "trades[]+=大工", "trades[]+=左官"});
  Sync(v, w);
  const std::string csv = Export(v, "c.csv");
  // Since the export, W counted one more filing and added a trade.
  Ok({"set", "--db", w, "customers", "c1", "filings+=1", "trades[]+=配管"});
  Sync(v, w);
  // In the file: 3 more filings (2 -> 5); 左官 dropped, 電気 added.
  Edit(csv, ",2,大工;左官,", ",5,大工;電気,");
  const std::string out = Import(v, csv);
  EXPECT_TRUE(Contains(out, "1 row changed")) << out;
  EXPECT_TRUE(Contains(out, "2 cells written")) << out;
  Sync(v, w);
  for (const std::string& db : {v, w}) {
    json c = Get(db, "c1");
    EXPECT_EQ(c["fields"]["filings"], 6) << db;  // 2 + W's 1 + the file's 3
    EXPECT_EQ(c["fields"]["trades"], json::array({"大工", "配管", "電気"})) << db;
    EXPECT_FALSE(c.contains("kind_conflicts")) << c.dump();
  }
  // The same file again: the counter is not added twice.
  const std::string again = Import(v, csv);
  EXPECT_TRUE(Contains(again, "0 cells written")) << again;
  EXPECT_TRUE(Contains(again, "not added again")) << again;
  EXPECT_EQ(Get(v, "c1")["fields"]["filings"], 6);
}

TEST_F(CliCsvTest, RowWithOnlyAnIdIsReportedAndCreatesNothing) {
  const std::string db = Init("pc1");
  const std::string csv = dir_.Sub("ids.csv");
  WriteFile(csv, "id,name,filings#\nc1,,\nc2,佐藤,\n");
  const std::string out = Import(db, csv);
  EXPECT_TRUE(Contains(out, "line 2: only an id, nothing to write\n")) << out;
  EXPECT_TRUE(Contains(out, "1 row changed, 0 unchanged, 1 with only an id")) << out;
  RunResult missing = Run({"get", "--db", db, "customers", "c1"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
}

TEST_F(CliCsvTest, BadVersionTokenNamesTheLineAndWritesNothing) {
  const std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "name=a"});
  Ok({"set", "--db", db, "customers", "c2", "name=b"});
  const std::string csv = Export(db, "t.csv");
  Edit(csv, "a,", "A,");
  std::string text = ReadFile(csv);
  const size_t token = text.rfind(",v2.");
  ASSERT_NE(token, std::string::npos);
  WriteFile(csv, text.replace(token + 1, 2, "v9"));  // c2's token, on line 3
  const std::string before = Vv(db);
  const std::string err = Fails({"import", "--db", db, "customers", csv});
  EXPECT_TRUE(Contains(err, "line 3, column 3: version token of another format")) << err;
  EXPECT_TRUE(Contains(err, "nothing imported")) << err;
  EXPECT_EQ(Vv(db), before);
  EXPECT_EQ(Get(db, "c1")["fields"]["name"], "a");

  WriteFile(csv, "id,name,daicho.version\nc1,x,v1.!!\n");
  EXPECT_TRUE(Contains(Fails({"import", "--db", db, "customers", csv}), "line 2, column 3: damaged version token"));
  EXPECT_EQ(Vv(db), before);
}

// Found by the fuzzer (tests/reliability/fuzz, csv_import): a record id with
// a NUL byte was refused only when its row was written, so a big file with
// one late in it left its first batch of rows imported.
TEST_F(CliCsvTest, ARecordIdWithANulByteLateInABigFileImportsNothing) {
  std::string csv = "id,name\n";
  for (int i = 0; i < 1001; ++i) csv += "c" + std::to_string(i) + ",n\n";
  csv += std::string(
      "bad\0"
      "id,n\n",
      9);
  const std::string path = dir_.Sub("nul.csv");
  WriteFile(path, csv);
  const std::string db = Init("pc1");
  const std::string before = Vv(db);
  const std::string err = Fails({"import", "--db", db, "customers", path});
  EXPECT_TRUE(Contains(err, "line 1003, column 1")) << err;
  EXPECT_TRUE(Contains(err, "nothing imported")) << err;
  EXPECT_EQ(Vv(db), before);
  RunResult missing = Run({"get", "--db", db, "customers", "c0"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
}

TEST_F(CliCsvTest, BigImportCommitsSeveralChangesThatFitTheWireAndSync) {
  constexpr int kRows = 20;
  const std::string big(900 * 1000, 'x');
  std::string csv = "id,scan\r\n";
  for (int i = 0; i < kRows; ++i) csv += "c" + std::to_string(100 + i) + "," + big + std::to_string(i) + "\r\n";
  const std::string path = dir_.Sub("big.csv");
  // A partial import first (the header and 8 rows), as if an earlier run had stopped.
  size_t end_of_row_8 = 0;
  for (int line = 0; line < 9; ++line) end_of_row_8 = csv.find("\r\n", end_of_row_8) + 2;
  WriteFile(path, csv.substr(0, end_of_row_8));
  const std::string v = Init("v");
  Import(v, path);
  WriteFile(path, csv);
  const std::string out = Import(v, path);
  EXPECT_TRUE(Contains(out, "12 rows changed, 8 unchanged")) << out;
  EXPECT_TRUE(Contains(out, "split by size")) << out;

  std::unique_ptr<Replica> source = OpenOrNull(v, false);
  ASSERT_NE(source, nullptr);
  Result<std::vector<ChangeBlob>> changes = source->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_GE(changes->size(), 5u);
  for (const ChangeBlob& c : *changes) EXPECT_LT(c.payload.size(), kWireFrameLimit / 2) << "seq " << c.seq;

  std::unique_ptr<Replica> other = OpenOrNull(dir_.Sub("other"), true);
  ASSERT_NE(other, nullptr);
  ASSERT_DAICHO_OK(other->Apply(*changes));
  for (int i : {0, 7, 8, 19}) {
    Result<Record> r = other->Get("customers", "c" + std::to_string(100 + i));
    ASSERT_DAICHO_OK(r);
    EXPECT_EQ(r->Find("scan")->value, Value(big + std::to_string(i)));
  }
}

TEST_F(CliCsvTest, OneRowLargerThanABatchIsSpreadOverSeveralChanges) {
  // Five cells of a million bytes: more than one batch (4 MiB) holds.
  const std::string big(1000 * 1000, 'y');
  std::string csv = "id,a,b,c,d,e\r\nc1";
  for (char c : std::string("abcde")) csv += "," + big + c;
  csv += "\r\nc2,small,,,,\r\n";
  const std::string path = dir_.Sub("wide.csv");
  WriteFile(path, csv);
  const std::string db = Init("pc1");
  const std::string out = Import(db, path);
  EXPECT_TRUE(Contains(out, "2 rows changed")) << out;
  EXPECT_TRUE(Contains(out, "6 cells written")) << out;
  EXPECT_TRUE(Contains(out, "; 2 transactions (split by size")) << out;

  std::unique_ptr<Replica> replica = OpenOrNull(db, false);
  ASSERT_NE(replica, nullptr);
  Result<std::vector<ChangeBlob>> changes = replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_EQ(changes->size(), 2u);
  for (const ChangeBlob& c : *changes) EXPECT_LT(c.payload.size(), kWireFrameLimit / 2) << "seq " << c.seq;
  Result<Record> c1 = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(c1);
  ASSERT_EQ(c1->fields.size(), 5u);
  EXPECT_EQ(c1->Find("e")->value, Value(big + "e"));
}

}  // namespace
}  // namespace daicho::testing
