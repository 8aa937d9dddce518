// Tests of storage/codec/change_codec.h: change payloads round-trip byte for byte
// for every op and value type, encode deterministically and compactly (the
// ledger workload's changes), and ChangeView finds a record's register values
// through the record index without decoding the rest. Damaged payloads
// (truncated, bytes flipped, a bad index) give kCorruption or
// kResourceExhausted, or a valid change, never a crash or an over-read.
#include "storage/codec/change_codec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "storage/codec/binary.h"
#include "storage/codec/codec_test_util.h"
#include "tests/testing/random_bytes.h"
#include "tests/testing/test_util.h"

namespace daicho::storage {
namespace {

using ::daicho::testing::AddOp;
using ::daicho::testing::DeleteOp;
using ::daicho::testing::IdOf;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::SetAddOp;
using ::daicho::testing::SetOp;
using ::daicho::testing::SetRemoveOp;
using ::daicho::testing::UndeleteOp;
using ::daicho::testing::Vv;
using ::daicho::testing::WithKindContext;

using namespace std::string_literals;

// Every op type and value type, contexts empty and not, a field with a
// register, a counter and set ops at once, several collections.
core::Change RichChange() {
  const ReplicaId a = IdOf(1), b = IdOf(2), c = IdOf(0xc3);
  core::Change change;
  change.origin = a;
  change.seq = 7;
  change.hlc = HlcTime{1700000000123, 4};

  core::RecordOps& c1 = change.records.emplace_back();
  c1.collection = "customers";
  c1.id = "c1";
  c1.ops = {
      SetOp("mixed", Value(std::numeric_limits<int64_t>::max()), Vv({{c, 9}})),
      AddOp("mixed", -1),
      SetAddOp("mixed", "大工"),
      SetOp("name", Value("株式会社山田建設"), Vv({{a, 6}, {b, 2}})),
      SetOp("photo", Value(Bytes{"\x89PNG\0"s})),
      SetAddOp("tags", "VIP"),
      SetRemoveOp("tags", "休眠", {Dot{a, 2}, Dot{b, 1}, Dot{c, 300}}),
      SetRemoveOp("tags", "左官", {}),
      AddOp("visits", std::numeric_limits<int64_t>::min()),
      DeleteOp(Vv({{a, 7}, {b, 2}})),
  };

  core::RecordOps& c2 = change.records.emplace_back();
  c2.collection = "customers";
  c2.id = "c2";
  c2.ops = {UndeleteOp()};

  core::RecordOps& c3 = change.records.emplace_back();
  c3.collection = "customers";
  c3.id = "c3";
  c3.ops = {AddOp("visits", 0), DeleteOp({})};

  core::RecordOps& p1 = change.records.emplace_back();
  p1.collection = "permits";
  p1.id = "p1";
  p1.ops = {
      SetOp("cancelled", Value(false)),
      SetOp("empty", Value("")),
      SetOp("fee", Value(12345.678), Vv({{b, 1}})),
      SetOp("low", Value(std::numeric_limits<int64_t>::min())),
      SetOp("minus", Value(-0.0)),
      SetOp("name", Value(true)),
      SetOp("note", Value()),
      SetOp("raw", Value(Bytes{})),
  };
  return change;
}

// Ops with kind contexts (a name reused with another kind): version 3. One
// kind per field, set ops of one field sharing their kind context.
core::Change KindContextChange() {
  const ReplicaId a = IdOf(1), b = IdOf(2), c = IdOf(0xc3);
  core::Change change;
  change.origin = b;
  change.seq = 4;
  change.hlc = HlcTime{1700000000999, 0};
  core::RecordOps& c1 = change.records.emplace_back();
  c1.collection = "customers";
  c1.id = "c1";
  c1.ops = {
      WithKindContext(AddOp("filings", -3), Vv({{a, 3}})),
      WithKindContext(SetOp("name", Value("山田建設"), Vv({{b, 3}})), Vv({{c, 1}, {a, 2}})),
      SetOp("phone", Value("03-1234-5678"), Vv({{b, 3}})),
      WithKindContext(SetAddOp("trades", "建築"), Vv({{a, 1}})),
      WithKindContext(SetRemoveOp("trades", "電気", {Dot{a, 1}}), Vv({{a, 1}})),
  };
  core::RecordOps& c2 = change.records.emplace_back();
  c2.collection = "customers";
  c2.id = "c2";
  c2.ops = {SetOp("note", Value("x")), UndeleteOp()};
  return change;
}

const std::vector<std::string>& LedgerFields() {
  static const std::vector<std::string> fields = {"address", "contact", "email",  "fax",    "industry", "memo",
                                                  "name",    "phone",   "postal", "region", "status",   "title"};
  return fields;
}

// A 40-byte string that differs per record and field.
std::string LedgerValue(uint32_t record, size_t field) {
  std::string v = "value " + std::to_string(record) + "/" + std::to_string(field) + " ";
  v.resize(40, 'x');
  return v;
}

std::string LedgerId(uint32_t record) {
  std::string digits = std::to_string(record);
  return "c" + std::string(7 - std::min<size_t>(7, digits.size()), '0') + digits;
}

// What the ledger import commits: `records` new customers of 12 string
// fields (empty contexts: the records are new).
core::Change LedgerChange(uint32_t first, uint32_t records, const VersionVector& context = {}) {
  core::Change change;
  change.origin = IdOf(1);
  change.seq = 1;
  change.hlc = HlcTime{1700000000000, 0};
  for (uint32_t r = first; r < first + records; ++r) {
    core::RecordOps& rec = change.records.emplace_back();
    rec.collection = "customers";
    rec.id = LedgerId(r);
    for (size_t f = 0; f < LedgerFields().size(); ++f) {
      rec.ops.push_back(SetOp(LedgerFields()[f], Value(LedgerValue(r, f)), context));
    }
  }
  return change;
}

bool CleanFailure(const Status& status) {
  return status.code() == Code::kCorruption || status.code() == Code::kResourceExhausted;
}

// Runs every reader over `bytes`, which may be damaged: each must fail
// cleanly or give a result that re-encodes stably. Returns a problem or "".
std::string Probe(std::string_view bytes, const core::Change& original) {
  const ReplicaId origin = IdOf(9);
  auto decoded = DecodeChangePayload(origin, 3, bytes, Limits());
  if (!decoded.ok()) {
    if (!CleanFailure(decoded.status())) return "decode: " + decoded.status().ToString();
  } else {
    const std::string again = EncodeChangePayload(*decoded);
    auto redecoded = DecodeChangePayload(origin, 3, again, Limits());
    if (!redecoded.ok()) return "re-encoding does not decode: " + redecoded.status().ToString();
    if (!(*redecoded == *decoded)) return "re-encoding decodes differently";
    if (EncodeChangePayload(*redecoded) != again) return "re-encoding is not stable";
  }
  auto keys = DecodeChangeRecordKeys(origin, 3, bytes, Limits());
  if (!keys.ok() && !CleanFailure(keys.status())) return "keys: " + keys.status().ToString();
  if (keys.ok() != decoded.ok()) {
    // The keys-only walk skips the UTF-8 checks of values and elements,
    // so only it may accept what the full decode refuses.
    if (!keys.ok()) return "keys refused what the full decode accepted: " + keys.status().ToString();
  }
  auto view = ChangeView::Parse(bytes, Limits());
  if (!view.ok()) {
    if (decoded.ok()) return "view refused what the full decode accepted: " + view.status().ToString();
    return CleanFailure(view.status()) ? "" : "view: " + view.status().ToString();
  }
  for (size_t i = 0; i < view->record_count(); ++i) {
    auto rec = view->Record(i);
    if (!rec.ok() && !CleanFailure(rec.status())) return "record: " + rec.status().ToString();
  }
  for (const core::RecordOps& rec : original.records) {
    for (const std::string_view id : {std::string_view(rec.id), std::string_view("zz"), std::string_view("c")}) {
      auto found = view->Find(rec.collection, id);
      if (!found.ok()) {
        if (!CleanFailure(found.status())) return "find: " + found.status().ToString();
        continue;
      }
      if (!found->has_value()) continue;
      for (const core::Op& op : rec.ops) {
        auto value = (*found)->RegisterValue(op.field);
        if (!value.ok() && !CleanFailure(value.status())) return "register value: " + value.status().ToString();
      }
    }
  }
  return "";
}

// ---- round trips ----

TEST(ChangeCodecTest, EveryOpAndValueTypeRoundTripsByteIdentical) {
  const core::Change change = RichChange();
  const std::string bytes = EncodeChangePayload(change);
  auto decoded = DecodeChangePayload(change.origin, change.seq, bytes, Limits());
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, change);
  EXPECT_EQ(EncodeChangePayload(*decoded), bytes);
  // No kind contexts: version 2, which peers before kind contexts read.
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kChangeFormatVersionWithoutKindContexts);
  // -0.0 keeps its sign bit.
  EXPECT_TRUE(std::signbit(decoded->records[3].ops[4].value.as_double()));
}

TEST(ChangeCodecTest, KindContextsRoundTripAsVersion3) {
  const core::Change change = KindContextChange();
  const std::string bytes = EncodeChangePayload(change);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kChangeFormatVersion);
  for (ValueDecoding values : {ValueDecoding::kMaterialize, ValueDecoding::kCheckOnly}) {
    auto decoded = DecodeChangePayload(change.origin, change.seq, bytes, Limits(), values);
    ASSERT_DAICHO_OK(decoded);
    EXPECT_EQ(decoded->records[0].ops[1].kind_context, Vv({{IdOf(1), 2}, {IdOf(0xc3), 1}}));
    EXPECT_EQ(decoded->records[0].ops[4].kind_context, Vv({{IdOf(1), 1}}));
    if (values == ValueDecoding::kMaterialize) {
      EXPECT_EQ(*decoded, change);
      EXPECT_EQ(EncodeChangePayload(*decoded), bytes);
    }
  }
  // Without the kind contexts the same change is a version 2 payload, the
  // kind contexts costing nothing.
  core::Change plain = change;
  for (core::Op& op : plain.records[0].ops) op.kind_context = VersionVector();
  const std::string plain_bytes = EncodeChangePayload(plain);
  EXPECT_EQ(static_cast<uint8_t>(plain_bytes[0]), kChangeFormatVersionWithoutKindContexts);
  EXPECT_LT(plain_bytes.size(), bytes.size());
}

// One change, one payload, and the rules the merge relies on: kind contexts
// only in version 3 and only on field ops, version 3 only with one, one kind
// and one kind context per (record, field).
TEST(ChangeCodecTest, KindContextRulesAreChecked) {
  auto code = [](const std::string& bytes) { return DecodeChangePayload(IdOf(2), 4, bytes, Limits()).status().code(); };
  std::string v3 = EncodeChangePayload(KindContextChange());
  v3[0] = static_cast<char>(kChangeFormatVersionWithoutKindContexts);
  EXPECT_EQ(code(v3), Code::kCorruption);
  std::string v2 = EncodeChangePayload(RichChange());
  v2[0] = static_cast<char>(kChangeFormatVersion);
  EXPECT_EQ(code(v2), Code::kCorruption);

  core::Change two_kinds = KindContextChange();
  two_kinds.records[0].ops.insert(two_kinds.records[0].ops.begin() + 2, AddOp("name", 1));
  EXPECT_EQ(code(EncodeChangePayload(two_kinds)), Code::kCorruption);

  core::Change two_contexts = KindContextChange();
  two_contexts.records[0].ops[4].kind_context = Vv({{IdOf(1), 2}});
  EXPECT_EQ(code(EncodeChangePayload(two_contexts)), Code::kCorruption);
  two_contexts.records[0].ops[4].kind_context = VersionVector();
  EXPECT_EQ(code(EncodeChangePayload(two_contexts)), Code::kCorruption);

  // A v2 payload may hold several kinds of one field (what daicho wrote
  // before kind contexts): still read.
  ASSERT_DAICHO_OK(DecodeChangePayload(IdOf(2), 4, EncodeChangePayload(RichChange()), Limits()));
}

TEST(ChangeCodecTest, EmptyChangeRoundTrips) {
  core::Change change;
  change.origin = IdOf(4);
  change.seq = 1;
  change.hlc = HlcTime{std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint32_t>::max()};
  const std::string bytes = EncodeChangePayload(change);
  auto decoded = DecodeChangePayload(change.origin, change.seq, bytes, Limits());
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, change);
  auto view = ChangeView::Parse(bytes, Limits());
  ASSERT_DAICHO_OK(view);
  EXPECT_EQ(view->record_count(), 0u);
  EXPECT_EQ(view->hlc(), change.hlc);
  auto found = view->Find("customers", "c1");
  ASSERT_DAICHO_OK(found);
  EXPECT_FALSE(found->has_value());
}

// One Change reused for change after change (as Apply does) decodes each
// as a fresh one would, whatever the previous change left in it.
TEST(ChangeCodecTest, DecodingIntoAUsedChangeEqualsAFreshDecode) {
  core::Change empty;
  empty.origin = IdOf(4);
  empty.seq = 1;
  const std::vector<core::Change> changes = {RichChange(), LedgerChange(0, 3),
                                             empty,        KindContextChange(),
                                             RichChange(), LedgerChange(5, 40, Vv({{IdOf(1), 2}})),
                                             RichChange(), KindContextChange()};
  for (ValueDecoding values : {ValueDecoding::kMaterialize, ValueDecoding::kCheckOnly}) {
    core::Change reused;
    for (const core::Change& change : changes) {
      const std::string bytes = EncodeChangePayload(change);
      auto fresh = DecodeChangePayload(change.origin, change.seq, bytes, Limits(), values);
      ASSERT_DAICHO_OK(fresh);
      ASSERT_DAICHO_OK(DecodeChangePayload(change.origin, change.seq, bytes, Limits(), values, reused));
      EXPECT_EQ(reused, *fresh);
    }
  }
}

TEST(ChangeCodecTest, EqualChangesEncodeToEqualBytes) {
  const std::string first = EncodeChangePayload(RichChange());
  EXPECT_EQ(EncodeChangePayload(RichChange()), first);
  // Origin and seq travel beside the payload: not part of it.
  core::Change other = RichChange();
  other.origin = IdOf(0x77);
  other.seq = 99;
  EXPECT_EQ(EncodeChangePayload(other), first);
  // A different value gives different bytes.
  other.records[0].ops[3].value = Value("株式会社山田建築");
  EXPECT_NE(EncodeChangePayload(other), first);
}

TEST(ChangeCodecTest, RecordKeysAreTheRecordsInOrder) {
  const core::Change change = RichChange();
  auto keys = DecodeChangeRecordKeys(change.origin, change.seq, EncodeChangePayload(change), Limits());
  ASSERT_DAICHO_OK(keys);
  const std::vector<RecordKey> expected = {
      {"customers", "c1"}, {"customers", "c2"}, {"customers", "c3"}, {"permits", "p1"}};
  EXPECT_EQ(*keys, expected);
}

// ---- size ----

size_t Occurrences(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

TEST(ChangeCodecTest, LedgerChangeOfAThousandRecordsIsCompact) {
  const core::Change change = LedgerChange(0, 1000);
  const std::string bytes = EncodeChangePayload(change);
  size_t value_bytes = 0, ops = 0;
  for (const core::RecordOps& rec : change.records) {
    for (const core::Op& op : rec.ops) {
      value_bytes += op.value.as_string().size();
      ++ops;
    }
  }
  ASSERT_EQ(ops, 12000u);
  // Names are in the tables once, not per record or op.
  EXPECT_EQ(Occurrences(bytes, "customers"), 1u);
  EXPECT_EQ(Occurrences(bytes, "address"), 1u);
  // Everything besides the values (field names, record ids, the record
  // index, headers) spread over the ops.
  const double overhead = static_cast<double>(bytes.size() - value_bytes) / ops;
  EXPECT_LT(overhead, 8.0) << bytes.size() << " bytes";
  std::printf("ledger change: %zu bytes for %zu value bytes; %.2f bytes per op besides the values\n", bytes.size(),
              value_bytes, overhead);

  // Updates carry the writer's field context: one entry more per op.
  const std::string updates = EncodeChangePayload(LedgerChange(0, 1000, Vv({{IdOf(1), 1234}})));
  std::printf("ledger update change: %.2f bytes per op besides the values\n",
              static_cast<double>(updates.size() - value_bytes) / ops);
  EXPECT_LT(static_cast<double>(updates.size() - value_bytes) / ops, 12.0);
}

// ---- ChangeView ----

TEST(ChangeCodecTest, ViewFindsFirstMiddleLastAndMissingRecords) {
  const core::Change change = LedgerChange(1, 1000);
  const std::string bytes = EncodeChangePayload(change);
  auto view = ChangeView::Parse(bytes, Limits());
  ASSERT_DAICHO_OK(view);
  EXPECT_EQ(view->record_count(), 1000u);
  EXPECT_EQ(view->hlc(), change.hlc);
  for (uint32_t r : {1u, 500u, 501u, 1000u}) {
    SCOPED_TRACE(r);
    auto found = view->Find("customers", LedgerId(r));
    ASSERT_DAICHO_OK(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->collection(), "customers");
    EXPECT_EQ((*found)->id(), LedgerId(r));
    EXPECT_EQ((*found)->op_count(), 12u);
    for (size_t f = 0; f < LedgerFields().size(); ++f) {
      auto value = (*found)->RegisterValue(LedgerFields()[f]);
      ASSERT_DAICHO_OK(value);
      ASSERT_TRUE(value->has_value());
      EXPECT_EQ(**value, Value(LedgerValue(r, f)));
    }
    auto absent = (*found)->RegisterValue("zzz");
    ASSERT_DAICHO_OK(absent);
    EXPECT_FALSE(absent->has_value());
  }
  for (const auto& [collection, id] :
       std::vector<std::pair<std::string, std::string>>{{"customers", LedgerId(0)},          // before the first
                                                        {"customers", LedgerId(1001)},       // after the last
                                                        {"customers", LedgerId(500) + "x"},  // between two
                                                        {"customers", ""},
                                                        {"permits", LedgerId(500)},  // another collection
                                                        {"a", LedgerId(500)},
                                                        {"customerz", LedgerId(500)}}) {
    SCOPED_TRACE(collection + "/" + id);
    auto found = view->Find(collection, id);
    ASSERT_DAICHO_OK(found);
    EXPECT_FALSE(found->has_value());
  }
}

TEST(ChangeCodecTest, ViewRegisterValuesEqualTheFullDecode) {
  for (const core::Change& change : {RichChange(), KindContextChange(), LedgerChange(0, 37)}) {
    const std::string bytes = EncodeChangePayload(change);
    auto decoded = DecodeChangePayload(change.origin, change.seq, bytes, Limits());
    ASSERT_DAICHO_OK(decoded);
    auto view = ChangeView::Parse(bytes, Limits());
    ASSERT_DAICHO_OK(view);
    ASSERT_EQ(view->record_count(), decoded->records.size());
    for (size_t i = 0; i < decoded->records.size(); ++i) {
      const core::RecordOps& rec = decoded->records[i];
      SCOPED_TRACE(rec.collection + "/" + rec.id);
      auto by_index = view->Record(i);
      ASSERT_DAICHO_OK(by_index);
      EXPECT_EQ(by_index->collection(), rec.collection);
      EXPECT_EQ(by_index->id(), rec.id);
      auto found = view->Find(rec.collection, rec.id);
      ASSERT_DAICHO_OK(found);
      ASSERT_TRUE(found->has_value());
      EXPECT_EQ((*found)->op_count(), rec.ops.size());
      for (const core::Op& op : rec.ops) {
        if (op.field.empty()) continue;
        auto value = (*found)->RegisterValue(op.field);
        ASSERT_DAICHO_OK(value);
        // A field's register op, if any, is its first op.
        const auto reg = std::find_if(rec.ops.begin(), rec.ops.end(), [&](const core::Op& o) {
          return o.field == op.field && o.type == core::OpType::kSetRegister;
        });
        if (reg == rec.ops.end()) {
          EXPECT_FALSE(value->has_value()) << op.field;
        } else {
          ASSERT_TRUE(value->has_value()) << op.field;
          EXPECT_EQ(**value, reg->value) << op.field;
        }
      }
    }
  }
}

// The one-pass read of many fields gives what RegisterValue gives field by
// field: for every subset of a record's field names (plus names the change
// lacks), in order.
TEST(ChangeCodecTest, RegisterValuesInOnePassEqualRegisterValue) {
  for (const core::Change& change : {RichChange(), KindContextChange(), LedgerChange(0, 37)}) {
    const std::string bytes = EncodeChangePayload(change);
    auto view = ChangeView::Parse(bytes, Limits());
    ASSERT_DAICHO_OK(view);
    for (const core::RecordOps& rec : change.records) {
      SCOPED_TRACE(rec.collection + "/" + rec.id);
      auto found = view->Find(rec.collection, rec.id);
      ASSERT_DAICHO_OK(found);
      ASSERT_TRUE(found->has_value());
      std::vector<std::string> names = {"", "a", "zzz", "name0"};
      for (const core::Op& op : rec.ops) {
        if (!op.field.empty()) names.push_back(op.field + "x");
        if (!op.field.empty()) names.push_back(op.field);
      }
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      for (size_t mask_seed = 0; mask_seed < 16; ++mask_seed) {
        std::vector<std::string_view> wanted;
        for (size_t i = 0; i < names.size(); ++i) {
          if (mask_seed == 0 || (i * 7 + mask_seed) % 3 != 0) wanted.push_back(names[i]);
        }
        std::vector<std::optional<Value>> values(wanted.size(), Value("stale"));
        ASSERT_DAICHO_OK((*found)->RegisterValues(wanted, values));
        for (size_t i = 0; i < wanted.size(); ++i) {
          if (wanted[i].empty()) {
            EXPECT_FALSE(values[i].has_value());
            continue;
          }
          auto one = (*found)->RegisterValue(wanted[i]);
          ASSERT_DAICHO_OK(one);
          EXPECT_EQ(values[i], *one) << wanted[i];
        }
      }
    }
  }
}

TEST(ChangeCodecTest, RegisterValuesWantsAscendingNamesAndMatchingSlots) {
  const std::string bytes = EncodeChangePayload(RichChange());
  auto view = ChangeView::Parse(bytes, Limits());
  ASSERT_DAICHO_OK(view);
  auto found = view->Find("customers", "c1");
  ASSERT_DAICHO_OK(found);
  ASSERT_TRUE(found->has_value());
  std::vector<std::string_view> unordered = {"name", "kana"};
  std::vector<std::optional<Value>> two(2);
  EXPECT_EQ((*found)->RegisterValues(unordered, two).code(), Code::kInvalidArgument);
  std::vector<std::string_view> repeated = {"name", "name"};
  EXPECT_EQ((*found)->RegisterValues(repeated, two).code(), Code::kInvalidArgument);
  std::vector<std::optional<Value>> one(1);
  EXPECT_EQ((*found)->RegisterValues(unordered, one).code(), Code::kInvalidArgument);
  std::vector<std::string_view> none;
  std::vector<std::optional<Value>> no_slots;
  EXPECT_DAICHO_OK((*found)->RegisterValues(none, no_slots));
}

// Applying a change needs no copy of its register values (states do not
// hold them): kCheckOnly decodes everything else alike, leaves the values
// null, and still refuses a bad one.
TEST(ChangeCodecTest, CheckOnlyDecodeLeavesValuesNullButChecksThem) {
  const core::Change change = RichChange();
  const std::string bytes = EncodeChangePayload(change);
  auto checked = DecodeChangePayload(change.origin, change.seq, bytes, Limits(), ValueDecoding::kCheckOnly);
  ASSERT_DAICHO_OK(checked);
  core::Change expected = change;
  for (core::RecordOps& rec : expected.records) {
    for (core::Op& op : rec.ops) {
      if (op.type == core::OpType::kSetRegister) op.value = Value();
    }
  }
  EXPECT_EQ(*checked, expected);

  core::Change bad = RichChange();
  bad.records[3].ops[2].value = Value("\xff\xfe"s);  // "fee": not UTF-8
  const std::string bad_bytes = EncodeChangePayload(bad);
  auto refused = DecodeChangePayload(bad.origin, bad.seq, bad_bytes, Limits(), ValueDecoding::kCheckOnly);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorruption) << refused.status();
}

TEST(ChangeCodecTest, ViewChecksTheValuesItReturns) {
  core::Change change = RichChange();
  change.records[3].ops[2].value = Value("\xff\xfe"s);  // "fee": not UTF-8
  const std::string bytes = EncodeChangePayload(change);
  auto view = ChangeView::Parse(bytes, Limits());
  ASSERT_DAICHO_OK(view);
  auto found = view->Find("permits", "p1");
  ASSERT_DAICHO_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->RegisterValue("fee").status().code(), Code::kCorruption);
  auto other = (*found)->RegisterValue("note");
  ASSERT_DAICHO_OK(other);
  EXPECT_EQ(*other, std::optional<Value>(Value()));

  Limits small;
  small.max_value_bytes = 8;
  const std::string rich = EncodeChangePayload(RichChange());  // outlives the view
  view = ChangeView::Parse(rich, small);
  ASSERT_DAICHO_OK(view);
  found = view->Find("customers", "c1");
  ASSERT_DAICHO_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->RegisterValue("name").status().code(), Code::kCorruption);
}

// ---- damaged payloads ----

// Offsets of the record index in a payload: entry i at IndexEntry(bytes, i).
size_t IndexEntry(const std::string& bytes, size_t i) {
  BinaryReader r(bytes);
  uint32_t index_offset = 0;
  EXPECT_TRUE(r.Seek(bytes.size() - 4) && r.Fixed32(index_offset));
  return index_offset + 4 * i;
}

void PutFixed32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
}

uint32_t GetFixed32(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return v;
}

TEST(ChangeCodecTest, CorruptIndexIsCorruption) {
  const core::Change change = LedgerChange(0, 100);
  const std::string valid = EncodeChangePayload(change);
  auto expect_corrupt = [&](const std::string& bytes, const char* why, bool view_parses) {
    SCOPED_TRACE(why);
    EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, Limits()).status().code(), Code::kCorruption);
    EXPECT_EQ(DecodeChangeRecordKeys(change.origin, 1, bytes, Limits()).status().code(), Code::kCorruption);
    auto view = ChangeView::Parse(bytes, Limits());
    if (!view_parses) {
      EXPECT_EQ(view.status().code(), Code::kCorruption);
      return;
    }
    ASSERT_DAICHO_OK(view);
    // Some lookup runs into the damage and says so.
    bool corruption_seen = false;
    for (const core::RecordOps& rec : change.records) {
      auto found = view->Find(rec.collection, rec.id);
      if (!found.ok()) {
        EXPECT_EQ(found.status().code(), Code::kCorruption);
        corruption_seen = true;
      }
    }
    EXPECT_TRUE(corruption_seen);
  };

  std::string bytes = valid;
  PutFixed32(bytes, IndexEntry(bytes, 50), static_cast<uint32_t>(bytes.size()));
  expect_corrupt(bytes, "entry past the records", true);

  bytes = valid;
  PutFixed32(bytes, IndexEntry(bytes, 50), 2);
  expect_corrupt(bytes, "entry before the records", true);

  bytes = valid;
  const uint32_t e10 = GetFixed32(bytes, IndexEntry(bytes, 10));
  PutFixed32(bytes, IndexEntry(bytes, 10), GetFixed32(bytes, IndexEntry(bytes, 80)));
  PutFixed32(bytes, IndexEntry(bytes, 80), e10);
  expect_corrupt(bytes, "two entries swapped", true);

  bytes = valid;
  PutFixed32(bytes, IndexEntry(bytes, 50), GetFixed32(bytes, IndexEntry(bytes, 50)) + 1);
  expect_corrupt(bytes, "entry inside its record", true);

  bytes = valid;
  PutFixed32(bytes, bytes.size() - 8, 99);
  expect_corrupt(bytes, "record count of the trailer", false);

  bytes = valid;
  PutFixed32(bytes, bytes.size() - 4, GetFixed32(bytes, bytes.size() - 4) + 4);
  expect_corrupt(bytes, "index offset", false);

  bytes = valid;
  PutFixed32(bytes, bytes.size() - 4, 0xFFFFFFFFu);
  expect_corrupt(bytes, "index offset past the end", false);

  bytes = valid;
  PutFixed32(bytes, IndexEntry(bytes, 0), GetFixed32(bytes, IndexEntry(bytes, 0)) + 1);
  expect_corrupt(bytes, "first entry", false);
}

TEST(ChangeCodecTest, EveryTruncationIsCorruption) {
  for (const core::Change& change : {RichChange(), KindContextChange(), LedgerChange(0, 20)}) {
    const std::string valid = EncodeChangePayload(change);
    int problems = 0;
    for (size_t length = 0; length < valid.size(); ++length) {
      const std::string prefix = valid.substr(0, length);  // a copy, so ASan sees over-reads
      auto decoded = DecodeChangePayload(change.origin, 1, prefix, Limits());
      EXPECT_EQ(decoded.status().code(), Code::kCorruption) << "prefix of " << length;
      const std::string problem = Probe(prefix, change);
      if (!problem.empty() && ++problems <= 3) ADD_FAILURE() << "prefix of " << length << ": " << problem;
    }
  }
}

TEST(ChangeCodecTest, FlippedBytesNeverCrash) {
  for (const core::Change& change : {RichChange(), KindContextChange(), LedgerChange(0, 8)}) {
    const std::string valid = EncodeChangePayload(change);
    int problems = 0;
    // Every bit of every byte.
    for (size_t pos = 0; pos < valid.size(); ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bytes = valid;
        bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
        const std::string problem = Probe(bytes, change);
        if (!problem.empty() && ++problems <= 3)
          ADD_FAILURE() << "bit " << bit << " of byte " << pos << ": " << problem;
      }
    }
    // Random bytes at random places, a few at a time.
    std::mt19937 rng(20241129);
    for (int i = 0; i < 3000; ++i) {
      std::string bytes = valid;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      const std::string problem = Probe(bytes, change);
      if (!problem.empty() && ++problems <= 3) ADD_FAILURE() << "mutation " << i << ": " << problem;
    }
  }
}

TEST(ChangeCodecTest, RandomBytesAndOtherFormatsAreCorruption) {
  std::mt19937 rng(5);
  const core::Change change = RichChange();
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = RandomBytes(rng, rng() % 100);
    if (i % 2 == 0 && !bytes.empty()) bytes[0] = static_cast<char>(kChangeFormatVersion);
    const std::string problem = Probe(bytes, change);
    if (!problem.empty()) ADD_FAILURE() << "random input " << i << ": " << problem;
  }
  // Another version byte (1: the Protobuf payloads before this format).
  std::string bytes = EncodeChangePayload(change);
  bytes[0] = 1;
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, Limits()).status().code(), Code::kCorruption);
  EXPECT_EQ(ChangeView::Parse(bytes, Limits()).status().code(), Code::kCorruption);
}

// One change, one payload: a varint in a longer form than needed is refused.
TEST(ChangeCodecTest, PaddedVarintIsCorruption) {
  auto payload = [](const std::string& logical) {
    // An empty change: version, HLC, no replicas, collections, fields or
    // records, then the trailer (count 0, index at the trailer).
    std::string bytes = "\x02\x01"s + logical + "\x00\x00\x00\x00"s;
    const auto index_offset = static_cast<uint32_t>(bytes.size());
    bytes.append(4, '\0');
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>(index_offset >> (8 * i));
    return bytes;
  };
  auto decoded = DecodeChangePayload(IdOf(1), 1, payload("\x05"), Limits());
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(decoded->hlc, (HlcTime{1, 5}));
  EXPECT_EQ(DecodeChangePayload(IdOf(1), 1, payload("\x85\x00"s), Limits()).status().code(), Code::kCorruption);
  EXPECT_EQ(ChangeView::Parse(payload("\x85\x00"s), Limits()).status().code(), Code::kCorruption);
}

// ---- limits ----

TEST(ChangeCodecTest, LimitsGiveResourceExhaustedOrCorruption) {
  const core::Change change = RichChange();
  const std::string bytes = EncodeChangePayload(change);
  Limits small;
  small.max_change_bytes = bytes.size() - 1;
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(DecodeChangeRecordKeys(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ChangeView::Parse(bytes, small).status().code(), Code::kResourceExhausted);

  small = Limits();
  small.max_ops_per_change = change.OpCount() - 1;
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(DecodeChangeRecordKeys(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  small.max_ops_per_change = change.OpCount();
  EXPECT_DAICHO_OK(DecodeChangePayload(change.origin, 1, bytes, small));

  small = Limits();
  small.max_name_bytes = 8;  // "customers" is 9
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kCorruption);
  EXPECT_EQ(ChangeView::Parse(bytes, small).status().code(), Code::kCorruption);

  small = Limits();
  small.max_value_bytes = 5;  // the "VIP" element fits, the company name does not
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kCorruption);
}

TEST(ChangeCodecTest, OverlongRecordKeyIsCorruption) {
  core::Change change = LedgerChange(0, 1);
  Limits limits;
  limits.max_name_bytes = 400;
  change.records[0].collection = std::string(255, 'c');
  change.records[0].id = std::string(255, 'i');  // 255 + 1 + 255 = 511: fits
  EXPECT_DAICHO_OK(DecodeChangePayload(change.origin, 1, EncodeChangePayload(change), limits));
  change.records[0].id += "i";
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, EncodeChangePayload(change), limits).status().code(),
            Code::kCorruption);
}

}  // namespace
}  // namespace daicho::storage
