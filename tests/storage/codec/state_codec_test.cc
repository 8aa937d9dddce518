// Tests of storage/codec/state_codec.h: record states round-trip byte for byte
// through a replica dictionary, encode deterministically and compactly (what
// the merge rules imply is left out, and register values, which live in the
// change log), and bytes that are not exactly a
// canonical encoding (random, truncated, mutated, hand-made) give kCorruption,
// never a crash or a state the rest of the code cannot handle.
#include "storage/codec/state_codec.h"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/merge.h"
#include "core/record_view.h"
#include "storage/codec/codec_test_util.h"
#include "tests/testing/memory_replica_dictionary.h"
#include "tests/testing/random_bytes.h"
#include "tests/testing/test_util.h"

namespace daicho::storage {
namespace {

using ::daicho::testing::ByteEdits;
using ::daicho::testing::IdOf;
using ::daicho::testing::MemoryReplicaDictionary;
using ::daicho::testing::MutateBytes;
using ::daicho::testing::ProbeReport;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::SetOp;
using ::daicho::testing::Vv;

using namespace std::string_literals;

// Field flags as docs/formats.md defines them (white box).
constexpr uint8_t kRegister = 1, kCounter = 2, kContextImplied = 8, kNewestImplied = 16, kOneSibling = 32,
                  kSameSibling = 64, kKindContexts = 128;
// The tag byte a v2 state put before a sibling's value (a string).
constexpr uint8_t kV2StringTag = 5;

// The dictionary most tests decode with: ids 1, 2, 3 at indexes 0, 1, 2.
MemoryReplicaDictionary Dict() { return MemoryReplicaDictionary({IdOf(1), IdOf(2), IdOf(3)}); }

std::string Encode(const core::RecordState& state) {
  MemoryReplicaDictionary dict = Dict();
  auto bytes = EncodeRecordState(state, dict);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(dict.ids().size(), 3u) << "the state names a replica outside the test dictionary";
  return bytes.ok() ? *bytes : "";
}

Result<core::RecordState> Decode(std::string_view bytes) { return DecodeRecordState(bytes, Dict()); }

// `state` as a decode returns it: register siblings without their values
// (those are read from the change log, not the state).
core::RecordState WithoutValues(core::RecordState state) {
  for (core::FieldState& f : state.fields) {
    if (!f.reg) continue;
    for (core::RegisterSibling& s : f.reg->siblings) s.value = Value();
  }
  return state;
}

// A state using every part of the format: all value types, siblings, a field
// holding all three kinds, counter extremes, set tombstones, deletes and
// undeletes, HLCs before, equal to and (crafted) after `modified`.
core::RecordState RichState() {
  const ReplicaId a = IdOf(1), b = IdOf(2), c = IdOf(3);
  core::RecordState state;
  core::FieldState& name = state.FieldFor("name");
  name.reg.emplace();
  name.reg->siblings = {
      {Dot{a, 3}, HlcTime{1700000000000, 1}, Value("株式会社山田建設 東京都千代田区")},
      {Dot{b, 5}, HlcTime{1700000000001, 0}, Value(Bytes{"\0\x01\xff"s})},
  };
  name.reg->context = Vv({{a, 3}, {b, 5}, {c, 2}});
  name.reg->newest = core::OpStamp{HlcTime{1700000000001, 0}, b};

  core::FieldState& values = state.FieldFor("values");
  values.reg.emplace();
  values.reg->siblings = {
      {Dot{a, 1}, HlcTime{1, 0}, Value()},
      {Dot{a, 2}, HlcTime{2, 0}, Value(true)},
      {Dot{b, 1}, HlcTime{3, 0}, Value(std::numeric_limits<int64_t>::min())},
      {Dot{c, 1}, HlcTime{4, 0}, Value(-0.5)},
      {Dot{c, 2}, HlcTime{5, 0}, Value("")},
  };
  values.reg->context = Vv({{a, 2}, {b, 1}, {c, 2}});
  values.reg->newest = core::OpStamp{HlcTime{5, 0}, c};

  core::FieldState& mixed = state.FieldFor("mixed");
  mixed.reg.emplace();
  mixed.reg->siblings = {{Dot{c, 9}, HlcTime{9, 9}, Value(std::numeric_limits<int64_t>::max())}};
  mixed.reg->context = Vv({{c, 9}});
  mixed.reg->newest = core::OpStamp{HlcTime{9, 9}, c};
  mixed.counter.emplace();
  mixed.counter->entries = {{a, 10, 3, 4}, {c, 0, std::numeric_limits<uint64_t>::max(), 7}};
  mixed.counter->newest = core::OpStamp{HlcTime{8, 0}, a};
  mixed.set.emplace();
  mixed.set->elements = {
      {"大工", {Dot{a, 1}, Dot{b, 2}}, Vv({{a, 1}, {b, 2}, {c, 7}})},
      {"左官", {}, Vv({{c, 3}})},
      {"鳶", {Dot{a, 4}}, Vv({{a, 4}})},
  };
  mixed.set->newest = core::OpStamp{HlcTime{std::numeric_limits<uint64_t>::max(), 0}, b};
  // Kind contexts: stored per kind when any is not empty.
  mixed.reg->kind_context = Vv({{a, 4}});
  mixed.set->kind_context = Vv({{a, 4}, {c, 9}});

  state.deletes = Vv({{a, 4}, {c, 1}});
  state.undeletes = Vv({{b, 5}});
  state.modified = HlcTime{std::numeric_limits<uint64_t>::max(), std::numeric_limits<uint32_t>::max()};
  return state;
}

// The state the merge rules build from `ops`, applied in order.
struct Delivery {
  core::Op op;
  Dot dot;
  HlcTime hlc;
};
core::RecordState Build(const std::vector<Delivery>& deliveries) {
  core::RecordState state;
  for (const Delivery& d : deliveries) core::ApplyOp(state, d.op, d.dot, d.hlc);
  return state;
}

core::Op Kind(core::OpType type, std::string field = "", std::string element = "") {
  core::Op op;
  op.type = type;
  op.field = std::move(field);
  op.element = std::move(element);
  return op;
}

void ExpectRoundTrip(const core::RecordState& state) {
  const std::string bytes = Encode(state);
  auto decoded = Decode(bytes);
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, WithoutValues(state));
  EXPECT_EQ(Encode(*decoded), bytes) << "re-encoding differs";
}

void ExpectCorrupt(std::string_view bytes, const std::string& why) {
  auto decoded = Decode(bytes);
  EXPECT_FALSE(decoded.ok()) << why << ": accepted " << core::HexEncode(bytes);
  if (!decoded.ok()) {
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << why << ": " << decoded.status();
  }
}

// Hand-made encodings of a one-field state (modified = {1000, 0}).
class Handmade {
 public:
  Handmade() : w_(bytes_) {
    w_.Byte(0);  // no deletes, no undeletes
    w_.Varint(1000);
    w_.Varint(0);
  }
  BinaryWriter& w() { return w_; }
  std::string bytes() const { return bytes_; }

 private:
  std::string bytes_;
  BinaryWriter w_;
};

// ---- round trips ----

TEST(StateCodecTest, RichStateRoundTripsByteIdentical) {
  const core::RecordState state = RichState();
  ExpectRoundTrip(state);
  EXPECT_EQ(Encode(state), Encode(RichState())) << "encoding is deterministic";
  ExpectRoundTrip(core::RecordState());
}

TEST(StateCodecTest, EveryKindRoundTrips) {
  const ReplicaId a = IdOf(1), b = IdOf(2), c = IdOf(3);
  const HlcTime t1{1700000000000, 0}, t2{1700000000000, 1}, t3{1700000360000, 0};
  SCOPED_TRACE("single writer");
  ExpectRoundTrip(Build({{SetOp("name", "山田"), {a, 1}, t1}, {SetOp("name", "田中", Vv({{a, 1}})), {a, 2}, t2}}));
  SCOPED_TRACE("value conflict of three writers");
  ExpectRoundTrip(
      Build({{SetOp("name", "x"), {a, 1}, t1}, {SetOp("name", "y"), {b, 1}, t2}, {SetOp("name", "z"), {c, 7}, t3}}));
  SCOPED_TRACE("conflict resolved, context beyond the sibling");
  ExpectRoundTrip(Build({{SetOp("name", "x"), {a, 1}, t1},
                         {SetOp("name", "y"), {b, 1}, t2},
                         {SetOp("name", "r", Vv({{a, 1}, {b, 1}})), {c, 1}, t3}}));
  SCOPED_TRACE("kind conflict");
  core::Op add = Kind(core::OpType::kCounterAdd, "m");
  add.delta = -5;
  ExpectRoundTrip(
      Build({{SetOp("m", 1.5), {a, 1}, t1}, {add, {b, 1}, t2}, {Kind(core::OpType::kSetAdd, "m", "e"), {c, 1}, t3}}));
  SCOPED_TRACE("a counter reused as text, then as a set");
  core::Op reuse_add = Kind(core::OpType::kCounterAdd, "filings");
  reuse_add.delta = 3;
  core::Op reuse_text = SetOp("filings", "三件");
  reuse_text.kind_context = Vv({{a, 1}});
  core::Op reuse_set = Kind(core::OpType::kSetAdd, "filings", "建築");
  reuse_set.kind_context = Vv({{a, 1}, {b, 1}});
  ExpectRoundTrip(Build({{reuse_add, {a, 1}, t1}, {reuse_text, {b, 1}, t2}, {reuse_set, {c, 1}, t3}}));
  SCOPED_TRACE("set add and remove");
  core::Op remove = Kind(core::OpType::kSetRemove, "tags", "VIP");
  remove.observed = {Dot{a, 1}};
  ExpectRoundTrip(Build({{Kind(core::OpType::kSetAdd, "tags", "VIP"), {a, 1}, t1},
                         {Kind(core::OpType::kSetAdd, "tags", "休眠"), {b, 1}, t2},
                         {remove, {c, 1}, t3}}));
  SCOPED_TRACE("delete, then undelete");
  core::Op del = Kind(core::OpType::kDelete);
  del.context = Vv({{a, 1}});
  ExpectRoundTrip(
      Build({{SetOp("name", "x"), {a, 1}, t1}, {del, {b, 1}, t2}, {Kind(core::OpType::kUndelete), {c, 1}, t3}}));
}

// One state and one buffer reused for record after record (as Apply does)
// give what fresh ones give, whatever the previous record held.
TEST(StateCodecTest, DecodingIntoAUsedStateEqualsAFreshDecode) {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  const HlcTime t1{1700000000000, 0}, t2{1700000000000, 1};
  core::Op add = Kind(core::OpType::kCounterAdd, "name");
  add.delta = 3;
  core::Op del = Kind(core::OpType::kDelete);
  del.context = Vv({{a, 1}});
  const std::vector<core::RecordState> states = {
      RichState(),
      Build({{SetOp("name", "x"), {a, 1}, t1}}),
      core::RecordState(),
      Build({{SetOp("a", "x"), {a, 1}, t1}, {SetOp("name", "y"), {b, 1}, t2}, {add, {b, 2}, t2}, {del, {b, 3}, t2}}),
      RichState(),
      Build({{SetOp("zzz", "x"), {a, 1}, t1}}),
  };
  MemoryReplicaDictionary dict = Dict();
  core::RecordState reused;
  std::string buffer = "left over";
  for (const core::RecordState& state : states) {
    const std::string bytes = Encode(state);
    ASSERT_DAICHO_OK(EncodeRecordState(state, dict, buffer));
    EXPECT_EQ(buffer, bytes);
    ASSERT_DAICHO_OK(DecodeRecordState(bytes, dict, reused));
    EXPECT_EQ(reused, WithoutValues(state));
  }
}

// Equal states give equal bytes only under one dictionary: another store
// may number the same replicas differently, and the bytes then differ while
// the states they decode to are equal.
TEST(StateCodecTest, BytesDependOnTheDictionaryStatesDoNot) {
  const core::RecordState state = RichState();
  MemoryReplicaDictionary forward({IdOf(1), IdOf(2), IdOf(3)}), backward({IdOf(3), IdOf(2), IdOf(1)});
  auto one = EncodeRecordState(state, forward);
  auto other = EncodeRecordState(state, backward);
  ASSERT_DAICHO_OK(one);
  ASSERT_DAICHO_OK(other);
  EXPECT_NE(*one, *other);
  auto decoded = DecodeRecordState(*other, backward);
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, WithoutValues(state));
}

// A sibling's value lives once, in the change that wrote it: states that
// differ only in their values encode to the same bytes, and decode to null
// values.
TEST(StateCodecTest, SiblingValuesAreNotStored) {
  const core::RecordState state = RichState();
  const core::RecordState bare = WithoutValues(state);
  ASSERT_NE(state, bare);
  EXPECT_EQ(Encode(state), Encode(bare));
  core::RecordState other = state;
  other.FieldFor("name").reg->siblings[0].value = Value(std::string(1000, 'x'));
  EXPECT_EQ(Encode(other), Encode(state));
  auto decoded = Decode(Encode(state));
  ASSERT_DAICHO_OK(decoded);
  for (const core::FieldState& f : decoded->fields) {
    if (!f.reg) continue;
    for (const core::RegisterSibling& s : f.reg->siblings) EXPECT_EQ(s.value, Value()) << f.name;
  }
}

TEST(StateCodecTest, EncodingAssignsIndexesInOrderOfFirstUse) {
  MemoryReplicaDictionary dict;
  const core::RecordState state =
      Build({{SetOp("b", "x"), {IdOf(7), 1}, {5, 0}}, {SetOp("a", "y"), {IdOf(9), 1}, {6, 0}}});
  ASSERT_DAICHO_OK(EncodeRecordState(state, dict));
  // Field "a" (IdOf(9)) is written first.
  EXPECT_EQ(dict.ids(), (std::vector<ReplicaId>{IdOf(9), IdOf(7)}));
}

// ---- what is left out ----

TEST(StateCodecTest, ImpliedContextIsLeftOutAndRestored) {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  const core::RecordState implied = Build({{SetOp("f", "x"), {a, 4}, {10, 0}}, {SetOp("f", "y"), {b, 2}, {11, 0}}});
  ASSERT_EQ(implied.fields[0].reg->context, Vv({{a, 4}, {b, 2}}));
  core::RecordState wider = implied;
  wider.fields[0].reg->context.Advance(IdOf(3), 1);  // a write both siblings superseded
  core::RecordState higher = implied;
  higher.fields[0].reg->context.Advance(a, 5);
  ExpectRoundTrip(implied);
  ExpectRoundTrip(wider);
  ExpectRoundTrip(higher);
  EXPECT_LT(Encode(implied).size() + 4, Encode(wider).size());
  EXPECT_LT(Encode(implied).size() + 1, Encode(higher).size());

  // An explicit context equal to the implied one is not canonical.
  Handmade bad;
  bad.w().Varint(1);
  bad.w().Bytes("f");
  bad.w().Byte(kRegister | kOneSibling | kNewestImplied);
  bad.w().Varint(0);  // dot: replica index 0 (IdOf(1)), counter 1
  bad.w().Varint(1);
  bad.w().Varint(0);  // hlc = modified
  std::string good = bad.bytes();
  bad.w().Varint(1);  // context {IdOf(1): 1}
  bad.w().Varint(0);
  bad.w().Varint(1);
  ExpectCorrupt(bad.bytes(), "explicit context equal to the implied one");
  good[good.size() - 4] = static_cast<char>(kRegister | kOneSibling | kNewestImplied | kContextImplied);
  ASSERT_DAICHO_OK(Decode(good));
  EXPECT_EQ(Decode(good)->fields[0].reg->context, Vv({{IdOf(1), 1}}));
}

TEST(StateCodecTest, ImpliedNewestIsLeftOutAndRestored) {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  const core::RecordState implied = Build({{SetOp("f", "x"), {a, 1}, {10, 0}}});
  ASSERT_EQ(implied.fields[0].reg->newest, (core::OpStamp{{10, 0}, a}));
  // A later write that a rule ignored (its dot was already covered) still
  // raises `newest`, which then differs from every sibling's stamp.
  core::RecordState raised = implied;
  raised.fields[0].reg->newest = core::OpStamp{{12, 0}, b};
  raised.modified = {12, 0};
  ExpectRoundTrip(implied);
  ExpectRoundTrip(raised);
  EXPECT_LT(Encode(implied).size(), Encode(raised).size());
  // A register of no siblings cannot imply one.
  core::RecordState empty = implied;
  empty.fields[0].reg->siblings.clear();
  empty.fields[0].reg->context = VersionVector();
  ExpectRoundTrip(empty);

  // An explicit stamp equal to the newest sibling's is not canonical.
  Handmade bad;
  bad.w().Varint(1);
  bad.w().Bytes("f");
  bad.w().Byte(kRegister | kOneSibling | kContextImplied);
  bad.w().Varint(0);
  bad.w().Varint(1);
  bad.w().Varint(0);
  bad.w().Varint(0);  // newest: hlc = modified, replica index 0
  bad.w().Varint(0);
  ExpectCorrupt(bad.bytes(), "explicit newest equal to the implied one");
}

TEST(StateCodecTest, ImpliedTombstoneIsLeftOutAndRestored) {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  const core::RecordState added = Build({{Kind(core::OpType::kSetAdd, "t", "x"), {a, 1}, {1, 0}},
                                         {Kind(core::OpType::kSetAdd, "t", "x"), {b, 3}, {2, 0}}});
  ASSERT_EQ(added.fields[0].set->elements[0].tombstone, Vv({{a, 1}, {b, 3}}));
  core::RecordState removed = added;
  removed.fields[0].set->elements[0].tombstone.Advance(IdOf(3), 1);
  ExpectRoundTrip(added);
  ExpectRoundTrip(removed);
  EXPECT_LT(Encode(added).size() + 4, Encode(removed).size());
}

// Fields written by one change share their sibling: each after the first
// says so in its flags instead of repeating dot and hlc.
TEST(StateCodecTest, SiblingSharedWithThePreviousFieldIsLeftOut) {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  core::Op add = Kind(core::OpType::kCounterAdd, "c");
  add.delta = 3;
  const HlcTime t1{10, 0}, t2{11, 0};
  const core::RecordState state = Build({
      {SetOp("a", "x"), {a, 1}, t1},
      {SetOp("b", "x"), {a, 1}, t1},
      {add, {a, 1}, t1},  // c breaks the run
      {SetOp("d", "x"), {a, 1}, t1},
      {SetOp("e", "y"), {b, 1}, t2},
      {SetOp("f", "z"), {b, 1}, t2},
      {SetOp("g", "x"), {a, 1}, t1},
      {SetOp("h", "w"), {a, 2}, t1},  // same hlc, other dot
  });
  ExpectRoundTrip(state);
  core::RecordState lone = Build({{SetOp("a", "x"), {a, 1}, t1}});
  core::RecordState pair = Build({{SetOp("a", "x"), {a, 1}, t1}, {SetOp("b", "x"), {a, 1}, t1}});
  ExpectRoundTrip(lone);
  ExpectRoundTrip(pair);
  // The second field costs its name and a flags byte.
  EXPECT_EQ(Encode(pair).size(), Encode(lone).size() + 3);

  auto field = [](Handmade& h, const char* name, uint8_t flags) {
    h.w().Bytes(name);
    h.w().Byte(flags);
  };
  constexpr uint8_t kSingle = kRegister | kOneSibling | kContextImplied | kNewestImplied;
  Handmade orphan;
  orphan.w().Varint(1);
  field(orphan, "a", kSingle | kSameSibling);
  ExpectCorrupt(orphan.bytes(), "same-sibling flag on the first field");
  Handmade after_counter;
  after_counter.w().Varint(2);
  field(after_counter, "a", kCounter);
  after_counter.w().Varint(0);  // no entries
  after_counter.w().Varint(0);  // newest: hlc = modified, replica index 0
  after_counter.w().Varint(0);
  field(after_counter, "b", kSingle | kSameSibling);
  ExpectCorrupt(after_counter.bytes(), "same-sibling flag after a field without a register");
  Handmade repeated;
  repeated.w().Varint(2);
  field(repeated, "a", kSingle);
  repeated.w().Varint(0);  // dot 0:1, hlc = modified
  repeated.w().Varint(1);
  repeated.w().Varint(0);
  std::string good = repeated.bytes();
  field(repeated, "b", kSingle);
  repeated.w().Varint(0);
  repeated.w().Varint(1);
  repeated.w().Varint(0);
  ExpectCorrupt(repeated.bytes(), "a sibling stored though the same as the previous field's");
  Handmade shared;
  shared.w().Varint(2);
  field(shared, "a", kSingle);
  shared.w().Varint(0);
  shared.w().Varint(1);
  shared.w().Varint(0);
  field(shared, "b", kSingle | kSameSibling);
  auto decoded = Decode(shared.bytes());
  ASSERT_DAICHO_OK(decoded);
  ASSERT_EQ(decoded->fields.size(), 2u);
  EXPECT_EQ(decoded->fields[1].reg->siblings, decoded->fields[0].reg->siblings);
  Handmade several;
  several.w().Varint(2);
  field(several, "a", kSingle);
  several.w().Varint(0);
  several.w().Varint(1);
  several.w().Varint(0);
  field(several, "b", kRegister | kSameSibling);
  ExpectCorrupt(several.bytes(), "same-sibling flag without one sibling");
}

// The figure the storage rework is about: a 12-field customer record written
// by one replica costs little beyond its field names (values are not stored).
TEST(StateCodecTest, SingleWriterLedgerRecordIsCompact) {
  const ReplicaId self = ReplicaId::Random().value();
  core::RecordOps ops;
  size_t payload = 0;
  const char* const names_list[] = {"address", "category", "created", "email", "kana",    "memo",
                                    "name",    "phone",    "postal",  "rank",  "updated", "zip"};
  for (int i = 0; i < 12; ++i) {
    const std::string value = std::string(38, static_cast<char>('a' + i));
    ops.ops.push_back(SetOp(names_list[i], Value(value)));
    payload += std::string_view(names_list[i]).size() + value.size();
  }
  core::RecordState state;
  // Seq 5000 (a 2-byte varint), a realistic stamp.
  core::ApplyRecordOps(state, ops, Dot{self, 5000}, HlcTime{1764400000000, 3});
  MemoryReplicaDictionary dict({IdOf(1), IdOf(2), self});
  auto bytes = EncodeRecordState(state, dict);
  ASSERT_DAICHO_OK(bytes);
  auto decoded = DecodeRecordState(*bytes, dict);
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, WithoutValues(state));
  size_t names = 0;
  for (const char* name : names_list) names += std::string_view(name).size();
  ASSERT_GT(bytes->size(), names);
  const size_t overhead = bytes->size() - names;
  RecordProperty("overhead_bytes", static_cast<int>(overhead));
  std::printf("12-field state: %zu bytes for %zu of values (not stored), %zu of names, %.1f bytes per field besides\n",
              bytes->size(), payload - names, names, overhead / 12.0);
  // The first field: name length, flags, dot (index + 2-byte counter) and
  // hlc, 6 bytes; the others share its sibling: name length and flags. And
  // 9 bytes for the whole record.
  EXPECT_LE(overhead, 6u + 11u * 2u + 9u);
}

// ---- validation ----

TEST(StateCodecTest, FieldsOutOfOrderOrRepeatedAreCorruption) {
  core::RecordState state = RichState();
  std::swap(state.fields[0], state.fields[1]);
  ExpectCorrupt(Encode(state), "fields out of order");
  state = RichState();
  state.fields[1].name = state.fields[0].name;
  ExpectCorrupt(Encode(state), "field repeated");
}

// A stored field with no register, counter or set state is not something
// the merge code ever writes; reading it back (MakeRecordView) would
// dereference a missing register. The decoder must refuse it.
TEST(StateCodecTest, FieldOfNoKindIsCorruption) {
  core::RecordState state = RichState();
  state.FieldFor("empty");
  ExpectCorrupt(Encode(state), "a field with no state");
}

TEST(StateCodecTest, BreakingTheCanonicalFormIsCorruption) {
  const core::RecordState base = RichState();
  auto field = [](core::RecordState& s, const char* name) -> core::FieldState& { return s.FieldFor(name); };

  core::RecordState s = base;
  std::swap(field(s, "values").reg->siblings[0], field(s, "values").reg->siblings[1]);
  ExpectCorrupt(Encode(s), "siblings out of order");
  s = base;
  field(s, "values").reg->siblings[1].dot = field(s, "values").reg->siblings[0].dot;
  ExpectCorrupt(Encode(s), "sibling dot repeated");
  s = base;
  field(s, "values").reg->siblings[0].dot.counter = 0;
  ExpectCorrupt(Encode(s), "dot with counter 0");
  s = base;
  s.fields[0].name = "\xc0\xaf"s;
  ExpectCorrupt(Encode(s), "field name not UTF-8");
  s = base;
  s.fields[0].name = "a\0b"s;
  ExpectCorrupt(Encode(s), "field name with NUL");
  s = base;
  field(s, "mixed").set->elements[0].value = "\xc0\xaf"s;
  ExpectCorrupt(Encode(s), "set element not UTF-8");
  s = base;
  std::swap(field(s, "mixed").set->elements[0], field(s, "mixed").set->elements[1]);
  ExpectCorrupt(Encode(s), "set elements out of order");
  s = base;
  std::swap(field(s, "mixed").set->elements[0].live[0], field(s, "mixed").set->elements[0].live[1]);
  ExpectCorrupt(Encode(s), "live dots out of order");
  s = base;
  std::swap(field(s, "mixed").counter->entries[0], field(s, "mixed").counter->entries[1]);
  ExpectCorrupt(Encode(s), "counter entries out of order");

  const std::string valid = Encode(base);
  ExpectCorrupt(valid + "\0"s, "a trailing byte");
  std::string flags = valid;
  flags[0] = static_cast<char>(flags[0] | 0x80);
  ExpectCorrupt(flags, "unknown state flag");
}

TEST(StateCodecTest, IndexOutsideTheDictionaryIsCorruption) {
  const core::RecordState state = Build({{SetOp("f", "x"), {IdOf(3), 1}, {1, 0}}});
  const std::string bytes = Encode(state);  // IdOf(3) is index 2
  MemoryReplicaDictionary short_dict({IdOf(1), IdOf(2)});
  auto decoded = DecodeRecordState(bytes, short_dict);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption) << decoded.status();
  EXPECT_NE(decoded.status().message().find("replica index 2"), std::string::npos) << decoded.status();

  Handmade bad;
  bad.w().Varint(1);
  bad.w().Bytes("f");
  bad.w().Byte(kCounter);
  bad.w().Varint(1);
  bad.w().Varint(uint64_t{1} << 40);  // an index no dictionary could hold
  ExpectCorrupt(bad.bytes(), "huge replica index");
}

TEST(StateCodecTest, HandmadeOddsAndEndsAreCorruption) {
  auto one_field = [](uint8_t flags) {
    Handmade h;
    h.w().Varint(1);
    h.w().Bytes("f");
    h.w().Byte(flags);
    return h;
  };
  ExpectCorrupt(one_field(kCounter | kContextImplied).bytes(), "register flags on a counter");
  ExpectCorrupt(one_field(kSameSibling | kCounter).bytes(), "same-sibling flag on a counter");
  // A counter of one entry, then its kind context: empty ones are never stored.
  auto counter_with_kind_context = [&](uint64_t entries) {
    Handmade h = one_field(kCounter | kKindContexts);
    h.w().Varint(1);  // one entry: replica 0, +1 -0, last seq 1
    h.w().Varint(0);
    h.w().Varint(1);
    h.w().Varint(0);
    h.w().Varint(1);
    h.w().Varint(0);  // newest: hlc = modified, replica 0
    h.w().Varint(0);
    h.w().Varint(entries);
    if (entries == 1) {
      h.w().Varint(1);
      h.w().Varint(2);
    }
    return h;
  };
  ASSERT_DAICHO_OK(Decode(counter_with_kind_context(1).bytes()));
  ExpectCorrupt(counter_with_kind_context(0).bytes(), "kind contexts flagged, all empty");
  Handmade counted = one_field(kRegister | kContextImplied | kNewestImplied);
  counted.w().Varint(1);  // one sibling, with a count
  counted.w().Varint(0);
  counted.w().Varint(1);
  counted.w().Varint(0);
  ExpectCorrupt(counted.bytes(), "one sibling stored with a count");
  Handmade huge = one_field(kRegister);
  huge.w().Varint(uint64_t{1} << 60);  // sibling count far beyond the input
  ExpectCorrupt(huge.bytes(), "sibling count beyond the input");
  Handmade tag = one_field(kRegister | kOneSibling | kContextImplied | kNewestImplied);
  tag.w().Varint(0);
  tag.w().Varint(1);
  tag.w().Varint(0);
  ASSERT_DAICHO_OK(Decode(tag.bytes()));
  tag.w().Byte(kV2StringTag);  // a v2 sibling went on with its value
  tag.w().Bytes("x");
  ExpectCorrupt(tag.bytes(), "a value after a sibling (format v2)");
  Handmade long_form = one_field(kRegister | kOneSibling | kContextImplied | kNewestImplied);
  long_form.w().Varint(0);
  long_form.w().Varint(1);
  long_form.w().Varint(1);  // same wall as modified, logical 0: equal to modified
  long_form.w().Varint(0);
  ExpectCorrupt(long_form.bytes(), "HLC equal to modified in long form");
  Handmade before_epoch = one_field(kRegister | kOneSibling | kContextImplied | kNewestImplied);
  before_epoch.w().Varint(0);
  before_epoch.w().Varint(1);
  before_epoch.w().Varint(2000);  // 1998 ms before modified's 1000
  before_epoch.w().Varint(0);
  ExpectCorrupt(before_epoch.bytes(), "HLC before the epoch");
}

// ---- garbage ----

// What the rest of the code needs from a decoded state; "" if all holds.
std::string CheckUsable(const core::RecordState& state) {
  for (size_t i = 0; i < state.fields.size(); ++i) {
    const core::FieldState& f = state.fields[i];
    if (!f.reg && !f.counter && !f.set) return "field '" + f.name + "' holds no kind";
    if (i > 0 && !(state.fields[i - 1].name < f.name)) return "fields not sorted";
  }
  return "";
}

// Decodes `bytes`, requiring a clean outcome: kCorruption, or a usable state
// that reads, merges and re-encodes to the same bytes (the format is
// canonical). Returns a problem or "".
std::string Probe(std::string_view bytes) {
  auto decoded = Decode(bytes);
  if (!decoded.ok()) {
    return decoded.status().code() == Code::kCorruption ? "" : "not corruption: " + decoded.status().ToString();
  }
  if (std::string problem = CheckUsable(*decoded); !problem.empty()) return "accepted: " + problem;
  (void)core::MakeRecordView("c", "r", *decoded);
  (void)core::IsHidden(*decoded);
  (void)core::HasConflict(*decoded);
  if (Encode(*decoded) != bytes) return "accepted a non-canonical encoding";
  return "";
}

std::vector<std::string> ValidEncodings() {
  const ReplicaId a = IdOf(1);
  return {Encode(RichState()), Encode(core::RecordState()),
          Encode(Build({{SetOp("name", "山田"), {a, 300}, {1700000000000, 0}},
                        {SetOp("zip", 100), {a, 301}, {1700000000005, 2}}}))};
}

TEST(StateCodecTest, RandomBytesNeverCrashAndGiveCorruption) {
  std::mt19937 rng(20240601);
  ProbeReport report;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = RandomBytes(rng, rng() % 120);
    report.Check(Probe, bytes, "random input " + std::to_string(i));
    if (Decode(bytes).ok()) ++accepted;
  }
  EXPECT_LT(accepted, 200);
}

TEST(StateCodecTest, EveryTruncationIsCorruption) {
  ProbeReport report;
  for (const std::string& valid : ValidEncodings()) {
    for (size_t length = 0; length < valid.size(); ++length) {
      const std::string_view prefix = std::string_view(valid).substr(0, length);
      report.Check(Probe, prefix, "prefix of " + std::to_string(length));
      EXPECT_FALSE(Decode(prefix).ok()) << "prefix of " << length << " of " << core::HexEncode(valid);
    }
  }
}

TEST(StateCodecTest, MutatedEncodingsNeverCrash) {
  std::mt19937 rng(7);
  ProbeReport report;
  for (const std::string& valid : ValidEncodings()) {
    for (int i = 0; i < 5000; ++i) {
      const std::string bytes = MutateBytes(valid, rng, ByteEdits::kReplaceFlipInsertErase);
      report.Check(Probe, bytes, "mutation " + std::to_string(i));
    }
  }
}

}  // namespace
}  // namespace daicho::storage
