#include "apps/daicho/json_output.h"

#include <gtest/gtest.h>

#include "apps/daicho/text_output.h"

namespace daicho::cli {
namespace {

FieldView Register(std::string name, std::vector<Value> siblings) {
  FieldView f;
  f.name = std::move(name);
  f.kind = FieldKind::kRegister;
  f.value = siblings.front();
  for (Value& v : siblings) f.siblings.push_back(Sibling{std::move(v), {}, {}});
  for (const Sibling& s : f.siblings) f.conflict = f.conflict || !(s.value == f.value);
  return f;
}

Record Customer() {
  Record r;
  r.collection = "customers";
  r.id = "c1";
  FieldView filings;
  filings.name = "filings";
  filings.kind = FieldKind::kCounter;
  filings.value = Value(int64_t{3});
  FieldView trades;
  trades.name = "trades";
  trades.kind = FieldKind::kSet;
  trades.elements = {"土木工事業", "建築工事業"};
  r.fields = {Register("address", {Value("大阪府大阪市北区1-1")}),
              filings,
              Register("phone", {Value("06-1111-1111"), Value("06-2222-2222")}),
              Register("score", {Value(1.5)}),
              Register("signature", {Value(Bytes{"\x01\xab"})}),
              Register("trade_name", {Value("株式会社山田建設")}),
              trades,
              Register("vip", {Value(true)}),
              Register("zip", {Value()})};
  return r;
}

TEST(JsonOutputTest, RecordHasTheDocumentedShape) {
  std::string expected = R"({
  "collection": "customers",
  "id": "c1",
  "deleted": false,
  "fields": {
    "address": "大阪府大阪市北区1-1",
    "filings": 3,
    "phone": "06-1111-1111",
    "score": 1.5,
    "signature": "01ab",
    "trade_name": "株式会社山田建設",
    "trades": [
      "土木工事業",
      "建築工事業"
    ],
    "vip": true,
    "zip": null
  },
  "conflicts": {
    "phone": [
      "06-1111-1111",
      "06-2222-2222"
    ]
  },
  "kinds": {
    "filings": "counter",
    "trades": "set"
  }
}
)";
  EXPECT_EQ(DumpJson(RecordToJson(Customer())), expected);
}

TEST(JsonOutputTest, DeleteConflictAppearsOnlyWhenSet) {
  Record r = Customer();
  EXPECT_FALSE(RecordToJson(r).contains("delete_conflict"));
  r.delete_conflict = true;
  EXPECT_EQ(RecordToJson(r)["delete_conflict"], true);
}

TEST(JsonOutputTest, KindConflictListsEveryKindInConflictShownFirst) {
  Record r = Customer();
  FieldView& filings = r.fields[1];
  filings.kind_conflict = true;
  filings.other_kinds = {KindValue{FieldKind::kRegister, Value("三件"), {}},
                         KindValue{FieldKind::kSet, Value(), {"b", "a"}}};
  const Json j = RecordToJson(r);
  EXPECT_EQ(
      j["kind_conflicts"].dump(),
      R"({"filings":[{"kind":"counter","value":3},{"kind":"text","value":"三件"},{"kind":"set","value":["a","b"]}]})");
  std::ostringstream text;
  WriteRecordText(text, r);
  EXPECT_NE(text.str().find("filings: 3 [kind conflict: also used as a text 三件, a set {b, a};"), std::string::npos)
      << text.str();
}

TEST(JsonOutputTest, EqualSiblingsAreNotAConflict) {
  Record r;
  r.collection = "c";
  r.id = "1";
  r.fields = {Register("phone", {Value("same"), Value("same")})};
  EXPECT_TRUE(RecordToJson(r)["conflicts"].empty());
}

TEST(JsonOutputTest, EmptyListIsAnEmptyArray) { EXPECT_EQ(DumpJson(RecordsToJson({})), "[]\n"); }

TEST(JsonOutputTest, IntegersStayIntegers) {
  EXPECT_EQ(ValueToJson(Value(int64_t{-9007199254740993})).dump(), "-9007199254740993");
}

TEST(TextOutputTest, ShowsFieldsAndConflictingSiblings) {
  std::ostringstream out;
  Record r = Customer();
  r.deleted = true;
  WriteRecordText(out, r);
  std::string text = out.str();
  EXPECT_NE(text.find("customers/c1 [deleted]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("trade_name: 株式会社山田建設\n"), std::string::npos) << text;
  EXPECT_NE(text.find("filings: 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("trades: {土木工事業, 建築工事業}\n"), std::string::npos) << text;
  EXPECT_NE(text.find("phone: 06-1111-1111 [conflict: 2 values]\n"
                      "  = 06-1111-1111 (shown)\n"
                      "  = 06-2222-2222\n"),
            std::string::npos)
      << text;
}

TEST(TextOutputTest, CellTextOfEachKind) {
  Record r = Customer();
  EXPECT_EQ(FieldCellText(*r.Find("filings")), "3");
  EXPECT_EQ(FieldCellText(*r.Find("trades")), "土木工事業;建築工事業");
  EXPECT_EQ(FieldCellText(*r.Find("zip")), "");
  EXPECT_EQ(FieldCellText(*r.Find("score")), "1.5");
  EXPECT_EQ(FieldCellText(*r.Find("vip")), "true");
}

TEST(TextOutputTest, QuoteForMessageEscapesControlsAndInvalidBytes) {
  EXPECT_EQ(QuoteForMessage("東京"), "'東京'");
  EXPECT_EQ(QuoteForMessage("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(QuoteForMessage("\xff"
                            "a"),
            "'\\xffa'");
}

}  // namespace
}  // namespace daicho::cli
