// End-to-end tests of the `daicho` command-line app: each test runs the real
// binary (DAICHO_CLI_PATH) in a temp directory and checks exit code, stdout
// and stderr.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "csv_test_util.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_filesystem.h"

namespace {

using nlohmann::json;

using daicho::testing::ReadFile;
using daicho::testing::RunResult;
using daicho::testing::WithoutVersionColumn;
using daicho::testing::WriteFile;

class CliTest : public ::testing::Test {
 protected:
  // Runs daicho with `args` (see RunProgram).
  RunResult Run(const std::vector<std::string>& args) {
    return daicho::testing::RunProgram(DAICHO_CLI_PATH, args, dir_.path().string());
  }

  // Runs a command that must succeed; returns its stdout.
  std::string Ok(const std::vector<std::string>& args) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(args, r);
    EXPECT_EQ(r.err, "") << Describe(args, r);
    return r.out;
  }

  static std::string Describe(const std::vector<std::string>& args, const RunResult& r) {
    std::string s = "daicho";
    for (const std::string& a : args) s += " " + a;
    return s + "\nexit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
  }

  std::string Db(const std::string& name) { return dir_.Sub(name); }

  std::string Init(const std::string& name) {
    std::string out = Ok({"init", "--db", Db(name)});
    EXPECT_EQ(out.size(), 33u) << out;  // 32 hex digits + newline
    return Db(name);
  }

  std::string GetJson(const std::string& db, const std::string& collection, const std::string& id) {
    return Ok({"get", "--db", db, collection, id, "--json"});
  }

  // Copies everything `from` holds to `to` through a change file.
  void Exchange(const std::string& from, const std::string& to, const std::string& file) {
    Ok({"export-changes", "--db", from, dir_.Sub(file)});
    Ok({"import-changes", "--db", to, dir_.Sub(file)});
  }

  daicho::testing::TempDir dir_;
};

TEST_F(CliTest, InitPrintsTheIdThatIdCommandPrints) {
  std::string out = Ok({"init", "--db", Db("pc1")});
  ASSERT_EQ(out.size(), 33u);
  EXPECT_EQ(out.find_first_not_of("0123456789abcdef"), 32u);
  EXPECT_EQ(Ok({"id", "--db", Db("pc1")}), out);
  // --db also works before the subcommand.
  EXPECT_EQ(Ok({"--db", Db("pc1"), "id"}), out);
  EXPECT_EQ(Ok({"vv", "--db", Db("pc1")}), "\n");
}

TEST_F(CliTest, InitTwiceFails) {
  Init("pc1");
  RunResult r = Run({"init", "--db", Db("pc1")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, MissingDbIsAUsageError) {
  RunResult r = Run({"get", "customers", "c1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--db"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, UnknownOrMissingSubcommandIsAUsageError) {
  EXPECT_EQ(Run({"frobnicate", "--db", Db("x")}).exit_code, 2);
  EXPECT_EQ(Run({"--db", Db("x")}).exit_code, 2);
  EXPECT_EQ(Run({"get", "--db", Db("x"), "customers"}).exit_code, 2);  // id missing
  EXPECT_EQ(Run({"get", "--db", Db("x"), "customers", "c1", "extra"}).exit_code, 2);
}

TEST_F(CliTest, HelpExitsZero) {
  RunResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("import-changes"), std::string::npos) << r.out;
  RunResult set_help = Run({"set", "--help"});
  EXPECT_EQ(set_help.exit_code, 0);
  EXPECT_NE(set_help.out.find("FIELD[]+=X"), std::string::npos) << set_help.out;
  RunResult export_help = Run({"export", "--help"});
  EXPECT_NE(export_help.out.find("joined"), std::string::npos) << export_help.out;
}

// Issue 12 item 7: both programs say which version they are.
TEST_F(CliTest, VersionIsTheProjectVersion) {
  RunResult r = Run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "daicho " DAICHO_VERSION "\n");
}

TEST_F(CliTest, CommandsOnAMissingReplicaFailClearly) {
  RunResult r = Run({"get", "--db", Db("nowhere"), "customers", "c1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no daicho replica"), std::string::npos) << r.err;
  EXPECT_EQ(Run({"set", "--db", Db("nowhere"), "customers", "c1", "a=b"}).exit_code, 1);
  EXPECT_EQ(Run({"id", "--db", Db("nowhere")}).exit_code, 1);
}

// Issue 11 item 7: a full disk is named as such (not "Input/output error"),
// with what to do; what was stored stays, and the same command works once
// space is freed.
TEST_F(CliTest, FullDiskSaysSoAndLosesNothing) {
  daicho::testing::TinyFilesystem fs;
  const std::string disk = Db("disk");
  const std::string why = fs.Mount(disk, 4 << 20);
  if (!why.empty()) GTEST_SKIP() << "no tiny file system here: " << why;
  const std::string db = disk + "/pc1";
  Ok({"init", "--db", db});
  Ok({"set", "--db", db, "customers", "c1", "name=佐藤商店"});
  ASSERT_TRUE(fs.Fill());
  // 600 KB in arguments of at most 128 KB each.
  std::vector<std::string> big = {"set", "--db", db, "customers", "c2"};
  for (int i = 0; i < 6; ++i) big.push_back("memo" + std::to_string(i) + "=" + std::string(100 << 10, 'm'));
  RunResult full = Run(big);
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_EQ(full.out, "");
  EXPECT_NE(full.err.find("the disk is full (0 MB free on tmpfs, mounted at " + disk +
                          "); free space and "
                          "retry — nothing was lost"),
            std::string::npos)
      << full.err;
  EXPECT_EQ(json::parse(GetJson(db, "customers", "c1"))["fields"]["name"], "佐藤商店");
  EXPECT_EQ(Run({"get", "--db", db, "customers", "c2"}).exit_code, 1);

  fs.Free();
  EXPECT_NE(Ok(big).find("committed customers/c2"), std::string::npos);
  EXPECT_EQ(json::parse(GetJson(db, "customers", "c2"))["fields"]["memo5"], std::string(100 << 10, 'm'));
}

TEST_F(CliTest, SetAndGetEveryKindOfField) {
  std::string db = Init("pc1");
  std::string out =
      Ok({"set", "--db", db, "customers", "c1", "trade_name=株式会社山田建設", "note=a=b", "employees:=42",
          "ratio:=0.25", "active:=true", "fax:=null", "quoted:=\"東京\"", "filings+=3", "filings+=-1",
          "trades[]+=土木工事業", "trades[]+=建築工事業", "trades[]+=管工事業", "trades[]-=管工事業"});
  EXPECT_NE(out.find("committed customers/c1"), std::string::npos) << out;

  json j = json::parse(GetJson(db, "customers", "c1"));
  EXPECT_EQ(j["collection"], "customers");
  EXPECT_EQ(j["id"], "c1");
  EXPECT_EQ(j["deleted"], false);
  const json& f = j["fields"];
  EXPECT_EQ(f["trade_name"], "株式会社山田建設");
  EXPECT_EQ(f["note"], "a=b");
  EXPECT_EQ(f["employees"], 42);
  EXPECT_TRUE(f["employees"].is_number_integer());
  EXPECT_EQ(f["ratio"], 0.25);
  EXPECT_EQ(f["active"], true);
  EXPECT_TRUE(f["fax"].is_null());
  EXPECT_EQ(f["quoted"], "東京");
  EXPECT_EQ(f["filings"], 2);
  EXPECT_EQ(f["trades"], json::array({"土木工事業", "建築工事業"}));
  EXPECT_TRUE(j["conflicts"].empty());
  EXPECT_FALSE(j.contains("delete_conflict"));

  std::string text = Ok({"get", "--db", db, "customers", "c1"});
  EXPECT_NE(text.find("trade_name: 株式会社山田建設\n"), std::string::npos) << text;
  EXPECT_NE(text.find("filings: 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("employees: 42\n"), std::string::npos) << text;

  // Same state, same bytes.
  EXPECT_EQ(GetJson(db, "customers", "c1"), GetJson(db, "customers", "c1"));
}

TEST_F(CliTest, GetOfAnUnknownRecordFails) {
  std::string db = Init("pc1");
  RunResult r = Run({"get", "--db", db, "customers", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no record"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, BadAssignmentSyntaxWritesNothing) {
  std::string db = Init("pc1");
  for (const char* bad : {"no_operator", "=x", "x-=1", "filings+=one", "t[]=x", "n:=[1]", "n:=oops"}) {
    RunResult r = Run({"set", "--db", db, "customers", "c1", "good=1", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Run({"get", "--db", db, "customers", "c1"}).exit_code, 1);
  EXPECT_EQ(Ok({"vv", "--db", db}), "\n");
}

TEST_F(CliTest, InvalidUtf8IsRefusedAndNothingWritten) {
  std::string db = Init("pc1");
  RunResult r = Run({"set", "--db", db, "customers", "c1", "ok=fine", "name=\xff\xfe bad"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\\xff"), std::string::npos) << r.err;
  EXPECT_EQ(Run({"set", "--db", db, "customers", "c1", "tags[]+=\xe6\x9d"}).exit_code, 2);
  EXPECT_EQ(Run({"get", "--db", db, "customers", "c1"}).exit_code, 1);
  Ok({"set", "--db", db, "customers", "c1", "phone=1"});
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c1", "phone", "\xff"}).exit_code, 2);
}

TEST_F(CliTest, DeleteAndUndelete) {
  std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "name=a"});
  Ok({"set", "--db", db, "customers", "c2", "name=b"});
  EXPECT_EQ(Ok({"delete", "--db", db, "customers", "c1"}), "deleted customers/c1\n");

  json j = json::parse(GetJson(db, "customers", "c1"));
  EXPECT_EQ(j["deleted"], true);
  EXPECT_EQ(j["fields"]["name"], "a");  // data kept for undelete
  EXPECT_NE(Ok({"get", "--db", db, "customers", "c1"}).find("[deleted]"), std::string::npos);

  json listed = json::parse(Ok({"list", "--db", db, "customers", "--json"}));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], "c2");
  json all = json::parse(Ok({"list", "--db", db, "customers", "--json", "--include-deleted"}));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["id"], "c1");

  EXPECT_EQ(Ok({"undelete", "--db", db, "customers", "c1"}), "undeleted customers/c1\n");
  EXPECT_EQ(json::parse(GetJson(db, "customers", "c1"))["deleted"], false);
  EXPECT_EQ(json::parse(Ok({"list", "--db", db, "customers", "--json"})).size(), 2u);
}

TEST_F(CliTest, DeleteOrUndeleteOfAnUnknownRecordFails) {
  std::string db = Init("pc1");
  RunResult d = Run({"delete", "--db", db, "customers", "ghost"});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("no record"), std::string::npos) << d.err;
  EXPECT_EQ(Run({"undelete", "--db", db, "customers", "ghost"}).exit_code, 1);
  EXPECT_EQ(Ok({"vv", "--db", db}), "\n");
}

TEST_F(CliTest, ResolveErrors) {
  std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "phone=1", "filings+=1"});
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c9", "phone", "x"}).exit_code, 1);
  RunResult no_field = Run({"resolve", "--db", db, "customers", "c1", "phnoe", "x"});
  EXPECT_EQ(no_field.exit_code, 1);
  EXPECT_NE(no_field.err.find("no field"), std::string::npos) << no_field.err;
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c1", "filings", "x"}).exit_code, 1);
  // Without a conflict, resolve just sets the value.
  Ok({"resolve", "--db", db, "customers", "c1", "phone", "2"});
  EXPECT_EQ(json::parse(GetJson(db, "customers", "c1"))["fields"]["phone"], "2");
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c1", "phone", "a", "b"}).exit_code, 2);
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c1", "phone", "x", "--as", "counter"}).exit_code, 2);
  EXPECT_EQ(Run({"resolve", "--db", db, "customers", "c1", "phone", "x", "--as", "list"}).exit_code, 2);
}

// Issue 11, item 11: a field reused with another kind on one PC shows the
// new kind with no conflict on every PC; used as two kinds on two PCs at
// once it is a kind conflict, shown with both values, that `resolve --as`
// settles with either kind.
TEST_F(CliTest, AFieldReusedWithAnotherKindAndAKindConflictSettledByResolve) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "c1", "filings+=2", "trades[]+=建築"});
  Ok({"set", "--db", pc1, "customers", "c1", "filings=二件"});
  Exchange(pc1, pc2, "reuse.changes");
  json reused = json::parse(GetJson(pc2, "customers", "c1"));
  EXPECT_EQ(reused["fields"]["filings"], "二件");
  EXPECT_FALSE(reused.contains("kind_conflicts")) << reused;
  EXPECT_EQ(reused["kinds"], (json{{"trades", "set"}})) << reused;
  EXPECT_EQ(Ok({"conflicts", "--db", pc2, "--json"}), "[]\n");

  // Now both PCs use "trades" differently at once.
  Ok({"set", "--db", pc1, "customers", "c1", "trades=建築・電気"});
  Ok({"set", "--db", pc2, "customers", "c1", "trades[]+=電気"});
  Exchange(pc1, pc2, "pc1.changes");
  Exchange(pc2, pc1, "pc2.changes");
  const std::string both = GetJson(pc1, "customers", "c1");
  EXPECT_EQ(both, GetJson(pc2, "customers", "c1"));
  json conflict = json::parse(both);
  ASSERT_TRUE(conflict["kind_conflicts"].contains("trades")) << both;
  json kinds = conflict["kind_conflicts"]["trades"];
  ASSERT_EQ(kinds.size(), 2u) << both;
  EXPECT_EQ(kinds[0]["value"], conflict["fields"]["trades"]);  // the shown kind first
  std::set<std::string> names = {kinds[0]["kind"], kinds[1]["kind"]};
  EXPECT_EQ(names, (std::set<std::string>{"set", "text"}));
  const std::string text = Ok({"get", "--db", pc1, "customers", "c1"});
  EXPECT_NE(text.find("[kind conflict: also used as"), std::string::npos) << text;

  EXPECT_NE(
      Ok({"resolve", "--db", pc2, "customers", "c1", "trades", "建築", "電気", "管", "--as", "set"}).find("(as a set)"),
      std::string::npos);
  Exchange(pc2, pc1, "resolve.changes");
  for (const std::string& db : {pc1, pc2}) {
    json settled = json::parse(GetJson(db, "customers", "c1"));
    EXPECT_FALSE(settled.contains("kind_conflicts")) << settled;
    EXPECT_EQ(settled["fields"]["trades"], json::array({"建築", "管", "電気"})) << settled;  // bytewise
    EXPECT_EQ(Ok({"conflicts", "--db", db, "--json"}), "[]\n");
  }
}

TEST_F(CliTest, ListOfAnEmptyCollection) {
  std::string db = Init("pc1");
  EXPECT_EQ(Ok({"list", "--db", db, "customers", "--json"}), "[]\n");
  EXPECT_EQ(Ok({"conflicts", "--db", db, "--json"}), "[]\n");
  EXPECT_EQ(Ok({"conflicts", "--db", db}), "no conflicts\n");
  EXPECT_EQ(Ok({"export", "--db", db, "customers"}), "id,daicho.version\r\n");
  EXPECT_EQ(Ok({"export", "--db", db, "customers", "--format", "json"}), "[]\n");
}

TEST_F(CliTest, ExportRejectsAnUnknownFormat) {
  std::string db = Init("pc1");
  EXPECT_EQ(Run({"export", "--db", db, "customers", "--format", "xml"}).exit_code, 2);
}

TEST_F(CliTest, JapaneseTextRoundTripsThroughSetGetExportImport) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "山田", "商号=株式会社山田建設", "代表者=山田 太郎",
      "所在地=東京都千代田区霞が関1-1-1, 3階", "備考=「許可」更新\n二行目", "業種[]+=土木工事業",
      "業種[]+=とび・土工・コンクリート工事業"});
  json j = json::parse(GetJson(pc1, "customers", "山田"));
  EXPECT_EQ(j["id"], "山田");
  EXPECT_EQ(j["fields"]["商号"], "株式会社山田建設");
  EXPECT_EQ(j["fields"]["所在地"], "東京都千代田区霞が関1-1-1, 3階");
  EXPECT_EQ(j["fields"]["備考"], "「許可」更新\n二行目");

  std::string csv = WithoutVersionColumn(Ok({"export", "--db", pc1, "customers"}));
  EXPECT_EQ(csv,
            "id,代表者,備考,商号,所在地,業種[]\r\n"
            "山田,山田 太郎,\"「許可」更新\n二行目\",株式会社山田建設,"
            "\"東京都千代田区霞が関1-1-1, 3階\","
            "とび・土工・コンクリート工事業;土木工事業\r\n");
  // Without the version tokens: pc2 never received pc1's changes.
  WriteFile(dir_.Sub("export.csv"), csv);
  Ok({"import", "--db", pc2, "customers", dir_.Sub("export.csv")});
  EXPECT_EQ(WithoutVersionColumn(Ok({"export", "--db", pc2, "customers"})), csv);
  json j2 = json::parse(GetJson(pc2, "customers", "山田"));
  EXPECT_EQ(j2["fields"]["商号"], "株式会社山田建設");
  // The set column comes back as a set.
  EXPECT_EQ(j2["fields"]["業種"], json::array({"とび・土工・コンクリート工事業", "土木工事業"}));
}

TEST_F(CliTest, CsvImportOfManyRowsCrossesBatchesAndExportsIdentically) {
  constexpr int kRows = 2500;
  std::string csv = "id,address,name,note,phone\r\n";
  for (int i = 0; i < kRows; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "c%05d", i);
    std::string note;
    if (i % 7 == 0) note = "\"line1\nline2, \"\"quoted\"\"\"";
    if (i % 11 == 0) note = "plain note " + std::to_string(i);
    std::string phone = i % 5 == 0 ? "" : "03-0000-" + std::to_string(1000 + i);
    csv += std::string(id) + ",東京都千代田区" + std::to_string(i) + "番地,株式会社テスト" + std::to_string(i) + "," +
           note + "," + phone + "\r\n";
  }
  std::string db = Init("pc1");
  WriteFile(dir_.Sub("in.csv"), csv);
  std::string out = Ok({"import", "--db", db, "customers", dir_.Sub("in.csv")});
  EXPECT_TRUE(out.starts_with("imported into customers: 2500 rows changed, 0 unchanged, 0 with only an id; ")) << out;
  EXPECT_TRUE(out.ends_with("; 3 transactions; read as UTF-8\n")) << out;
  EXPECT_EQ(WithoutVersionColumn(Ok({"export", "--db", db, "customers"})), csv);
  EXPECT_EQ(json::parse(Ok({"list", "--db", db, "customers", "--json"})).size(), static_cast<size_t>(kRows));
  // Three transactions were committed: three changes.
  std::string vv = Ok({"vv", "--db", db});
  EXPECT_TRUE(vv.ends_with(":3\n")) << vv;
  // Empty cells were skipped, not written as "".
  json c0 = json::parse(GetJson(db, "customers", "c00000"));
  EXPECT_FALSE(c0["fields"].contains("phone"));
}

TEST_F(CliTest, CsvImportSkipsByteOrderMarkAndAcceptsLf) {
  std::string db = Init("pc1");
  WriteFile(dir_.Sub("bom.csv"), "\xEF\xBB\xBFid,name\n1,株式会社山田建設\n\n");
  Ok({"import", "--db", db, "customers", dir_.Sub("bom.csv")});
  EXPECT_EQ(WithoutVersionColumn(Ok({"export", "--db", db, "customers"})), "id,name\r\n1,株式会社山田建設\r\n");
}

TEST_F(CliTest, CsvImportErrorsWriteNothing) {
  std::string db = Init("pc1");
  struct Case {
    const char* content;
    const char* message;
  };
  for (const Case& c : {Case{"id,name\n1,ok\n2,\"never closed\n", "line 3"}, Case{"id,name\n1,a,extra\n", "line 2"},
                        Case{"id,name\n,nameless\n", "empty record id"}, Case{"id,name,name\n1,a,b\n", "twice"},
                        Case{"id,name\n1,\xff\n", "UTF-8"}, Case{"", "empty"}}) {
    WriteFile(dir_.Sub("bad.csv"), c.content);
    RunResult r = Run({"import", "--db", db, "customers", dir_.Sub("bad.csv")});
    EXPECT_EQ(r.exit_code, 1) << c.content;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(Run({"import", "--db", db, "customers", dir_.Sub("missing.csv")}).exit_code, 1);
  EXPECT_EQ(Ok({"list", "--db", db, "customers", "--json"}), "[]\n");
  EXPECT_EQ(Ok({"vv", "--db", db}), "\n");
}

TEST_F(CliTest, ExportJsonIsTheListOfRecords) {
  std::string db = Init("pc1");
  Ok({"set", "--db", db, "customers", "c1", "name=a", "filings+=2"});
  Ok({"set", "--db", db, "customers", "c2", "name=b"});
  EXPECT_EQ(Ok({"export", "--db", db, "customers", "--format", "json"}),
            Ok({"list", "--db", db, "customers", "--json"}));
  EXPECT_EQ(WithoutVersionColumn(Ok({"export", "--db", db, "customers"})), "id,filings#,name\r\nc1,2,a\r\nc2,,b\r\n");
}

TEST_F(CliTest, ChangeFilesAreIdempotent) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "c1", "name=a"});
  Ok({"set", "--db", pc1, "customers", "c2", "name=b"});
  std::string file = dir_.Sub("pc1.changes");
  EXPECT_EQ(Ok({"export-changes", "--db", pc1, file}), "wrote 2 changes to " + file + "\n");
  EXPECT_EQ(Ok({"import-changes", "--db", pc2, file}), "applied 2 changes, 0 duplicates, 2 records changed\n");
  std::string before = Ok({"list", "--db", pc2, "customers", "--json"});
  EXPECT_EQ(Ok({"import-changes", "--db", pc2, file}), "applied 0 changes, 2 duplicates, 0 records changed\n");
  EXPECT_EQ(Ok({"list", "--db", pc2, "customers", "--json"}), before);
  EXPECT_EQ(before, Ok({"list", "--db", pc1, "customers", "--json"}));
  EXPECT_EQ(Ok({"vv", "--db", pc2}), Ok({"vv", "--db", pc1}));
}

TEST_F(CliTest, ExportChangesSinceAVersionVector) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "c1", "name=a"});
  Exchange(pc1, pc2, "first.changes");
  Ok({"set", "--db", pc1, "customers", "c1", "phone=1"});
  std::string vv2 = Ok({"vv", "--db", pc2});
  vv2.pop_back();  // newline
  std::string file = dir_.Sub("delta.changes");
  EXPECT_EQ(Ok({"export-changes", "--db", pc1, file, "--since", vv2}), "wrote 1 change to " + file + "\n");
  Ok({"import-changes", "--db", pc2, file});
  EXPECT_EQ(GetJson(pc2, "customers", "c1"), GetJson(pc1, "customers", "c1"));

  RunResult bad = Run({"export-changes", "--db", pc1, file, "--since", "not-a-vv"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--since"), std::string::npos) << bad.err;
}

TEST_F(CliTest, ImportChangesWithAGapFailsAndAppliesNothing) {
  std::string pc1 = Init("pc1");
  std::string pc3 = Init("pc3");
  Ok({"set", "--db", pc1, "customers", "c1", "name=a"});
  Ok({"set", "--db", pc1, "customers", "c1", "name=b"});
  std::string vv1 = Ok({"vv", "--db", pc1});
  std::string first = vv1.substr(0, vv1.find(':')) + ":1";
  std::string file = dir_.Sub("gap.changes");
  Ok({"export-changes", "--db", pc1, file, "--since", first});
  RunResult r = Run({"import-changes", "--db", pc3, file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--since"), std::string::npos) << r.err;
  EXPECT_EQ(Ok({"vv", "--db", pc3}), "\n");
}

TEST_F(CliTest, CorruptChangeFilesAreRefused) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "c1", "name=株式会社山田建設", "filings+=1"});
  std::string file = dir_.Sub("good.changes");
  Ok({"export-changes", "--db", pc1, file});
  std::string good = ReadFile(file);
  ASSERT_GT(good.size(), 8u);

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x5a;
  for (const std::string& bad : {std::string("this is not a change file"), good.substr(0, good.size() - 3),
                                 good.substr(0, good.size() / 2), flipped, std::string()}) {
    WriteFile(dir_.Sub("bad.changes"), bad);
    RunResult r = Run({"import-changes", "--db", pc2, dir_.Sub("bad.changes")});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Run({"import-changes", "--db", pc2, dir_.Sub("missing.changes")}).exit_code, 1);
  EXPECT_EQ(Ok({"vv", "--db", pc2}), "\n");
  EXPECT_EQ(Run({"get", "--db", pc2, "customers", "c1"}).exit_code, 1);
}

// The acceptance scenario: two office PCs edit the same customer
// offline, swap change files both ways, and end up identical, with the
// disputed phone number shown as a conflict until someone resolves it.
TEST_F(CliTest, ConcurrentEditsMergeAndConflictsResolveAcrossReplicas) {
  std::string pc1 = Init("pc1");
  std::string pc2 = Init("pc2");
  Ok({"set", "--db", pc1, "customers", "c1", "trade_name=株式会社山田建設", "representative=山田太郎",
      "address=東京都千代田区霞が関1-1-1", "phone=03-1111-1111", "permit_number=東京都知事 許可（般-5）第12345号",
      "trades[]+=土木工事業", "filings+=1"});
  Exchange(pc1, pc2, "initial.changes");
  ASSERT_EQ(GetJson(pc1, "customers", "c1"), GetJson(pc2, "customers", "c1"));

  // Offline on both PCs.
  Ok({"set", "--db", pc1, "customers", "c1", "phone=03-2222-2222", "trades[]+=建築工事業", "filings+=1"});
  Ok({"set", "--db", pc2, "customers", "c1", "address=東京都新宿区西新宿2-8-1", "phone=03-3333-3333",
      "trades[]+=管工事業", "filings+=1"});
  Exchange(pc1, pc2, "pc1.changes");
  Exchange(pc2, pc1, "pc2.changes");

  std::string get1 = GetJson(pc1, "customers", "c1");
  std::string get2 = GetJson(pc2, "customers", "c1");
  EXPECT_EQ(get1, get2);
  json j = json::parse(get1);
  EXPECT_EQ(j["fields"]["address"], "東京都新宿区西新宿2-8-1");
  EXPECT_EQ(j["fields"]["representative"], "山田太郎");
  EXPECT_EQ(j["fields"]["filings"], 3);
  EXPECT_EQ(j["fields"]["trades"], json::array({"土木工事業", "建築工事業", "管工事業"}));
  ASSERT_TRUE(j["conflicts"].contains("phone")) << get1;
  json phones = j["conflicts"]["phone"];
  ASSERT_EQ(phones.size(), 2u);
  EXPECT_NE(std::find(phones.begin(), phones.end(), "03-2222-2222"), phones.end());
  EXPECT_NE(std::find(phones.begin(), phones.end(), "03-3333-3333"), phones.end());
  EXPECT_EQ(phones[0], j["fields"]["phone"]);  // the displayed value comes first
  EXPECT_EQ(j["conflicts"].size(), 1u);

  std::string conflicts1 = Ok({"conflicts", "--db", pc1, "--json"});
  EXPECT_EQ(conflicts1, Ok({"conflicts", "--db", pc2, "--json"}));
  json c = json::parse(conflicts1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["id"], "c1");
  std::string human = Ok({"conflicts", "--db", pc1});
  EXPECT_NE(human.find("[conflict: 2 values]"), std::string::npos) << human;

  // Re-importing a change file already applied changes nothing.
  EXPECT_EQ(Ok({"import-changes", "--db", pc2, dir_.Sub("pc1.changes")}),
            "applied 0 changes, 2 duplicates, 0 records changed\n");
  EXPECT_EQ(GetJson(pc2, "customers", "c1"), get2);

  Ok({"resolve", "--db", pc1, "customers", "c1", "phone", "03-3333-3333"});
  Exchange(pc1, pc2, "resolve.changes");
  Exchange(pc2, pc1, "back.changes");
  EXPECT_EQ(Ok({"conflicts", "--db", pc1, "--json"}), "[]\n");
  EXPECT_EQ(Ok({"conflicts", "--db", pc2, "--json"}), "[]\n");
  std::string final1 = GetJson(pc1, "customers", "c1");
  EXPECT_EQ(final1, GetJson(pc2, "customers", "c1"));
  json f = json::parse(final1);
  EXPECT_EQ(f["fields"]["phone"], "03-3333-3333");
  EXPECT_EQ(f["fields"]["address"], "東京都新宿区西新宿2-8-1");
  EXPECT_TRUE(f["conflicts"].empty());
  EXPECT_EQ(Ok({"vv", "--db", pc1}), Ok({"vv", "--db", pc2}));
}

}  // namespace
