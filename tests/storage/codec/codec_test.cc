// Tests of storage/codec/version_vector_codec.h and change_codec.h: change
// payloads and stored version vectors encode deterministically and
// round-trip byte for byte; bytes that are not a well-formed encoding
// (random, truncated, mutated) give kCorruption and never a crash or a state
// the rest of the code cannot handle. Record states: state_codec_test.cc.
#include "storage/codec/version_vector_codec.h"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/merge.h"
#include "core/record_view.h"
#include "storage/codec/change_codec.h"
#include "storage/codec/codec_test_util.h"
#include "storage/codec/state_codec.h"
#include "storage/lmdb/env.h"
#include "storage/replica/store_replica_dictionary.h"
#include "tests/testing/random_bytes.h"
#include "tests/testing/test_util.h"

namespace daicho::storage {
namespace {

using ::daicho::testing::ByteEdits;
using ::daicho::testing::IdOf;
using ::daicho::testing::MutateBytes;
using ::daicho::testing::ProbeReport;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::SetOp;
using ::daicho::testing::Vv;

using namespace std::string_literals;
using ::daicho::testing::TempDir;

core::Change RichChange() {
  const ReplicaId a = IdOf(1), b = IdOf(2);
  core::Change change;
  change.origin = a;
  change.seq = 7;
  change.hlc = HlcTime{1700000000123, 4};

  core::RecordOps& c1 = change.records.emplace_back();
  c1.collection = "customers";
  c1.id = "c1";
  c1.ops.push_back(SetOp("name", Value("株式会社山田建設"), Vv({{a, 6}, {b, 2}})));
  c1.ops.push_back(SetOp("photo", Value(Bytes{"\x89PNG\0"s}), VersionVector()));
  core::Op add;
  add.type = core::OpType::kSetAdd;
  add.field = "tags";
  add.element = "VIP";
  c1.ops.push_back(add);
  core::Op remove;
  remove.type = core::OpType::kSetRemove;
  remove.field = "tags";
  remove.element = "休眠";
  remove.observed = {Dot{a, 2}, Dot{b, 1}};
  c1.ops.push_back(remove);
  core::Op visits;
  visits.type = core::OpType::kCounterAdd;
  visits.field = "visits";
  visits.delta = std::numeric_limits<int64_t>::min();
  c1.ops.push_back(visits);
  core::Op del;
  del.type = core::OpType::kDelete;
  del.context = Vv({{a, 7}, {b, 2}});
  c1.ops.push_back(del);

  core::RecordOps& c2 = change.records.emplace_back();
  c2.collection = "customers";
  c2.id = "c2";
  c2.ops.emplace_back().type = core::OpType::kUndelete;

  core::RecordOps& p1 = change.records.emplace_back();
  p1.collection = "permits";
  p1.id = "p1";
  p1.ops.push_back(SetOp("cancelled", Value(false), VersionVector()));
  p1.ops.push_back(SetOp("fee", Value(12345.678), Vv({{b, 1}})));
  p1.ops.push_back(SetOp("note", Value(), VersionVector()));
  return change;
}

// What the rest of the code needs from a decoded state; "" if all holds.
std::string CheckUsable(const core::RecordState& state) {
  for (size_t i = 0; i < state.fields.size(); ++i) {
    const core::FieldState& f = state.fields[i];
    if (!f.reg && !f.counter && !f.set) return "field '" + f.name + "' holds no kind";
    if (i > 0 && !(state.fields[i - 1].name < f.name)) return "fields not sorted";
  }
  return "";
}

std::string ProbeChange(std::string_view bytes) {
  const ReplicaId origin = IdOf(9);
  auto decoded = DecodeChangePayload(origin, 3, bytes, Limits());
  if (!decoded.ok()) {
    const Code code = decoded.status().code();
    return code == Code::kCorruption || code == Code::kResourceExhausted
               ? ""
               : "not corruption: " + decoded.status().ToString();
  }
  // A decoded change must be safe to apply.
  for (const core::RecordOps& rec : decoded->records) {
    core::RecordState state;
    core::ApplyRecordOps(state, rec, decoded->dot(), decoded->hlc);
    if (std::string problem = CheckUsable(state); !problem.empty()) return "applied: " + problem;
    (void)core::MakeRecordView(rec.collection, rec.id, state);
  }
  const std::string again = EncodeChangePayload(*decoded);
  auto redecoded = DecodeChangePayload(origin, 3, again, Limits());
  if (!redecoded.ok()) return "re-encoding does not decode: " + redecoded.status().ToString();
  if (!(*redecoded == *decoded)) return "re-encoding decodes differently";
  if (EncodeChangePayload(*redecoded) != again) return "re-encoding is not stable";
  return "";
}

std::string ProbeVersionVector(std::string_view bytes) {
  auto decoded = DecodeVersionVector(bytes);
  if (!decoded.ok()) {
    return decoded.status().code() == Code::kCorruption ? "" : "not corruption: " + decoded.status().ToString();
  }
  auto again = DecodeVersionVector(EncodeVersionVector(*decoded));
  if (!again.ok() || !(*again == *decoded)) return "re-encoding differs";
  return "";
}

using Probe = ProbeReport::Probe;

// ---- round trips ----

TEST(CodecTest, ChangePayloadRoundTripIsByteIdentical) {
  const core::Change change = RichChange();
  const std::string bytes = EncodeChangePayload(change);
  auto decoded = DecodeChangePayload(change.origin, change.seq, bytes, Limits());
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, change);
  EXPECT_EQ(EncodeChangePayload(*decoded), bytes);
  EXPECT_EQ(decoded->OpCount(), 10u);
}

TEST(CodecTest, VersionVectorRoundTrips) {
  const VersionVector vv = Vv({{IdOf(1), 1}, {IdOf(7), std::numeric_limits<uint64_t>::max()}, {IdOf(3), 42}});
  const std::string bytes = EncodeVersionVector(vv);
  auto decoded = DecodeVersionVector(bytes);
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(*decoded, vv);
  EXPECT_EQ(EncodeVersionVector(*decoded), bytes);
  auto empty = DecodeVersionVector(EncodeVersionVector(VersionVector()));
  ASSERT_DAICHO_OK(empty);
  EXPECT_TRUE(empty->empty());
}

// What a real replica writes (payloads in `changes`, states in `records`
// with the store's replica dictionary) round-trips too.
TEST(CodecTest, WhatAReplicaStoresRoundTripsByteIdentical) {
  TempDir tmp;
  const std::string dir = tmp.Sub("r");
  {
    ReplicaOptions options;
    options.create_if_missing = true;
    auto replica = Replica::Open(dir, options);
    ASSERT_DAICHO_OK(replica);
    for (int i = 0; i < 5; ++i) {
      WriteTransaction txn = (*replica)->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i % 3), "name", Value("山田 " + std::to_string(i))));
      ASSERT_DAICHO_OK(txn.Add("customers", "c" + std::to_string(i % 3), "visits", i - 2));
      ASSERT_DAICHO_OK(txn.SetAdd("customers", "c" + std::to_string(i % 3), "tags", "t" + std::to_string(i)));
      if (i == 3) ASSERT_DAICHO_OK(txn.SetRemove("customers", "c0", "tags", "t0"));
      if (i == 4) ASSERT_DAICHO_OK(txn.Delete("customers", "c2"));
      ASSERT_DAICHO_OK(txn.Commit());
    }
    auto changes = (*replica)->ChangesSince(VersionVector());
    ASSERT_DAICHO_OK(changes);
    ASSERT_EQ(changes->size(), 5u);
    for (const ChangeBlob& blob : *changes) {
      auto decoded = DecodeChangePayload(blob.origin, blob.seq, blob.payload, Limits());
      ASSERT_DAICHO_OK(decoded);
      EXPECT_EQ(EncodeChangePayload(*decoded), blob.payload) << "seq " << blob.seq;
    }
  }
  lmdb::EnvOptions env_options;
  env_options.read_only = true;
  auto env = lmdb::Env::Open(dir, env_options);
  ASSERT_DAICHO_OK(env);
  auto records = env->OpenDbi("records", /*create=*/false);
  ASSERT_DAICHO_OK(records);
  auto meta = env->OpenDbi("meta", /*create=*/false);
  ASSERT_DAICHO_OK(meta);
  auto txn = env->BeginRead();
  ASSERT_DAICHO_OK(txn);
  StoreReplicaDictionary store_dict(*meta);
  StoreReplicaDictionary::ReadView dict = store_dict.ForRead(*txn);
  auto cursor = txn->OpenCursor(*records);
  ASSERT_DAICHO_OK(cursor);
  ASSERT_DAICHO_OK(cursor->First());
  int count = 0;
  while (cursor->valid()) {
    auto decoded = DecodeRecordState(cursor->value(), dict);
    ASSERT_DAICHO_OK(decoded);
    // Every id has its index already: a read view re-encodes.
    auto again = EncodeRecordState(*decoded, dict);
    ASSERT_DAICHO_OK(again);
    EXPECT_EQ(*again, std::string(cursor->value()));
    ++count;
    ASSERT_DAICHO_OK(cursor->Next());
  }
  EXPECT_EQ(count, 3);
}

// ---- validation ----

TEST(CodecTest, ChangeWithSeqZeroIsCorruption) {
  const core::Change change = RichChange();
  auto decoded = DecodeChangePayload(change.origin, 0, EncodeChangePayload(change), Limits());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
}

TEST(CodecTest, ChangeOverTheLimitsIsRefused) {
  const core::Change change = RichChange();
  const std::string bytes = EncodeChangePayload(change);
  Limits small;
  small.max_change_bytes = bytes.size() - 1;
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  small = Limits();
  small.max_ops_per_change = 9;
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kResourceExhausted);
  small = Limits();
  small.max_value_bytes = 8;  // the company name is longer
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kCorruption);
  small = Limits();
  small.max_name_bytes = 5;  // "customers"
  EXPECT_EQ(DecodeChangePayload(change.origin, 1, bytes, small).status().code(), Code::kCorruption);
}

TEST(CodecTest, ChangeBreakingTheCanonicalFormIsCorruption) {
  const ReplicaId origin = IdOf(1);
  auto expect_corrupt = [&](const core::Change& change, const char* why) {
    auto decoded = DecodeChangePayload(origin, 1, EncodeChangePayload(change), Limits());
    EXPECT_FALSE(decoded.ok()) << why;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::kCorruption) << why << ": " << decoded.status();
    }
  };
  core::Change base = RichChange();

  core::Change swapped = base;
  std::swap(swapped.records[0], swapped.records[1]);
  expect_corrupt(swapped, "records out of order");

  core::Change repeated = base;
  repeated.records[1] = repeated.records[0];
  expect_corrupt(repeated, "record repeated");

  core::Change ops_swapped = base;
  std::swap(ops_swapped.records[0].ops[0], ops_swapped.records[0].ops[1]);
  expect_corrupt(ops_swapped, "ops out of order");

  core::Change delete_first = base;
  std::rotate(delete_first.records[0].ops.rbegin(), delete_first.records[0].ops.rbegin() + 1,
              delete_first.records[0].ops.rend());
  expect_corrupt(delete_first, "delete before field ops");

  core::Change bad_utf8 = base;
  bad_utf8.records[0].ops[0].value = Value("\xff\xfe"s);
  expect_corrupt(bad_utf8, "string value not UTF-8");

  core::Change bad_element = base;
  bad_element.records[0].ops[2].element = "\xc0\xaf"s;
  expect_corrupt(bad_element, "set element not UTF-8");

  core::Change empty_field = base;
  empty_field.records[2].ops[0].field = "";
  expect_corrupt(empty_field, "empty field name");

  core::Change nul_id = base;
  nul_id.records[2].id = "p\0"s;
  expect_corrupt(nul_id, "record id with NUL");

  core::Change empty_collection = base;
  empty_collection.records[0].collection = "";
  expect_corrupt(empty_collection, "empty collection");

  core::Change zero_dot = base;
  zero_dot.records[0].ops[3].observed.push_back(Dot{origin, 0});
  expect_corrupt(zero_dot, "observed dot with counter 0");
}

TEST(CodecTest, VersionVectorWithAMalformedReplicaIdIsCorruption) {
  // One entry whose id is 3 bytes long.
  const std::string bytes =
      "\x01"
      "abc"
      "\x01"s;
  auto decoded = DecodeVersionVector(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption) << decoded.status();
}

// The stored form is canonical: entries in id order, counters >= 1, nothing
// after the last entry.
TEST(CodecTest, VersionVectorNotInCanonicalFormIsCorruption) {
  const std::string a(IdOf(1).AsStringView()), b(IdOf(2).AsStringView());
  const std::string valid = "\x02"s + a + "\x05" + b + "\x07";
  ASSERT_DAICHO_OK(DecodeVersionVector(valid));
  EXPECT_EQ(EncodeVersionVector(*DecodeVersionVector(valid)), valid);
  const std::pair<const char*, std::string> bad[] = {
      {"out of order", "\x02"s + b + "\x05" + a + "\x07"},
      {"repeated", "\x02"s + a + "\x05" + a + "\x07"},
      {"counter 0", "\x01"s + a + "\x00"s},
      {"trailing byte", valid + "\x00"s},
      {"count beyond the input", "\x03"s + a + "\x05" + b + "\x07"},
  };
  for (const auto& [why, bytes] : bad) {
    auto decoded = DecodeVersionVector(bytes);
    EXPECT_FALSE(decoded.ok()) << why;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::kCorruption) << why;
    }
  }
}

// ---- garbage ----

std::vector<std::string> ValidEncodings(Probe probe) {
  if (probe == &ProbeChange) return {EncodeChangePayload(RichChange())};
  return {EncodeVersionVector(Vv({{IdOf(1), 5}, {IdOf(2), 300}}))};
}

struct NamedProbe {
  const char* name;
  Probe probe;
};
constexpr NamedProbe kProbes[] = {
    {"change payload", &ProbeChange},
    {"version vector", &ProbeVersionVector},
};

TEST(CodecTest, RandomBytesNeverCrashAndGiveCorruption) {
  std::mt19937 rng(20240601);
  for (const NamedProbe& p : kProbes) {
    SCOPED_TRACE(p.name);
    ProbeReport report;
    for (int i = 0; i < 4000; ++i) {
      const std::string bytes = RandomBytes(rng, rng() % 200);
      report.Check(p.probe, bytes, "random input " + std::to_string(i));
    }
  }
}

TEST(CodecTest, TruncatedEncodingsNeverCrash) {
  for (const NamedProbe& p : kProbes) {
    SCOPED_TRACE(p.name);
    ProbeReport report;
    for (const std::string& valid : ValidEncodings(p.probe)) {
      for (size_t length = 0; length < valid.size(); ++length) {
        const std::string_view prefix = std::string_view(valid).substr(0, length);
        report.Check(p.probe, prefix, "prefix of " + std::to_string(length));
        if (p.probe == &ProbeVersionVector) {
          EXPECT_FALSE(DecodeVersionVector(prefix).ok()) << "prefix of " << length << " accepted";
        }
      }
    }
  }
}

TEST(CodecTest, MutatedEncodingsNeverCrash) {
  std::mt19937 rng(7);
  for (const NamedProbe& p : kProbes) {
    SCOPED_TRACE(p.name);
    ProbeReport report;
    for (const std::string& valid : ValidEncodings(p.probe)) {
      if (valid.empty()) continue;
      for (int i = 0; i < 3000; ++i) {
        const std::string bytes = MutateBytes(valid, rng, ByteEdits::kReplaceFlipInsert);
        report.Check(p.probe, bytes, "mutation " + std::to_string(i));
      }
    }
  }
}

}  // namespace
}  // namespace daicho::storage
