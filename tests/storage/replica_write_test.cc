// Tests of the public Replica API on LMDB: commits and reads of every value type, argument checks and size limits.
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

using namespace std::string_literals;

using ::daicho::testing::CreateOptions;
using ::daicho::testing::Describe;
using ::daicho::testing::DumpCollection;
using ::daicho::testing::kYamada;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;

TEST_F(ReplicaTest, FieldsOfEveryValueTypeRoundTrip) {
  const std::vector<std::pair<std::string, Value>> fields = {
      {"a_null", Value()},
      {"b_true", Value(true)},
      {"c_false", Value(false)},
      {"d_int_min", Value(std::numeric_limits<int64_t>::min())},
      {"e_int_max", Value(std::numeric_limits<int64_t>::max())},
      {"f_zero", Value(0)},
      {"g_double", Value(3.141592653589793)},
      {"h_double_tiny", Value(std::numeric_limits<double>::denorm_min())},
      {"i_double_huge", Value(-std::numeric_limits<double>::max())},
      {"j_japanese", Value(kYamada)},
      {"k_empty_string", Value("")},
      {"l_bytes", Value(Bytes{"\0a\0\xff\x80\0"s})},
      {"m_empty_bytes", Value(Bytes{})},
      {"n_emoji", Value("🏗️ 工事中")},
  };
  auto check = [&](const Replica& replica) {
    auto record = replica.Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    EXPECT_FALSE(record->deleted);
    EXPECT_FALSE(record->has_conflict());
    ASSERT_EQ(record->fields.size(), fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      const FieldView& f = record->fields[i];
      EXPECT_EQ(f.name, fields[i].first);
      EXPECT_EQ(f.kind, FieldKind::kRegister);
      EXPECT_EQ(f.value.type(), fields[i].second.type()) << f.name;
      EXPECT_EQ(f.value, fields[i].second) << f.name << ": " << Describe(f.value);
      ASSERT_EQ(f.siblings.size(), 1u);
      EXPECT_EQ(f.siblings[0].value, fields[i].second);
    }
    EXPECT_EQ(record->Find("l_bytes")->value.as_bytes().data.size(), 6u);
    EXPECT_NE(record->Find("j_japanese")->value, Value(Bytes{std::string(kYamada)}));
  };
  {
    auto replica = OpenOrNull(Path("r"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    WriteTransaction txn = replica->BeginWrite();
    for (const auto& [name, value] : fields) ASSERT_DAICHO_OK(txn.Set("customers", "c1", name, value));
    EXPECT_EQ(txn.size(), fields.size());
    auto info = txn.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_EQ(info->dot, (Dot{replica->id(), 1}));
    EXPECT_EQ(info->ops, fields.size());
    EXPECT_EQ(txn.size(), 0u);
    check(*replica);
  }
  auto replica = OpenOrNull(Path("r"), QuietOptions());
  ASSERT_NE(replica, nullptr);
  check(*replica);
}

TEST_F(ReplicaTest, JapaneseNamesForCollectionsIdsAndFieldsRoundTrip) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "顧客", "山田-001", "会社名", Value(kYamada)));
  auto record = replica->Get("顧客", "山田-001");
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->collection, "顧客");
  EXPECT_EQ(record->id, "山田-001");
  ASSERT_NE(record->Find("会社名"), nullptr);
  EXPECT_EQ(record->Find("会社名")->value, Value(kYamada));
}

TEST_F(ReplicaTest, InvalidUtf8IsRejectedAndNothingIsCommitted) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  const std::vector<std::string> bad = {"\xff",
                                        "abc\x80",
                                        "\xc0\xaf" /* overlong '/' */,
                                        "\xed\xa0\x80" /* surrogate */,
                                        "\xe6\xa0" /* truncated 3-byte */,
                                        "\xf4\x90\x80\x80" /* past U+10FFFF */,
                                        std::string(kYamada).substr(0, 4) /* cut inside a character */};
  WriteTransaction txn = replica->BeginWrite();
  for (const std::string& s : bad) {
    SCOPED_TRACE(::testing::PrintToString(s));
    EXPECT_EQ(txn.Set("customers", "c1", "name", Value(s)).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.SetAdd("customers", "c1", "tags", s).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.SetRemove("customers", "c1", "tags", s).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.Set(s, "c1", "name", Value("x")).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.Set("customers", s, "name", Value("x")).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.Set("customers", "c1", s, Value("x")).code(), Code::kInvalidArgument);
    EXPECT_EQ(txn.Add("customers", "c1", s, 1).code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(txn.size(), 0u);
  EXPECT_EQ(txn.Commit().status().code(), Code::kFailedPrecondition);

  // The same bytes as Bytes are fine: they are not text.
  ASSERT_DAICHO_OK(txn.Set("customers", "c2", "blob", Value(Bytes{"\xff\xfe"s})));
  ASSERT_DAICHO_OK(txn.Commit());

  EXPECT_EQ(replica->Get("customers", "c1").status().code(), Code::kNotFound);
  auto vv = replica->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Total(), 1u);
}

TEST_F(ReplicaTest, RejectedWriteDoesNotSpoilTheRestOfTheTransaction) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value("good")));
  EXPECT_EQ(txn.Set("customers", "c1", "note", Value("\xff"s)).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.size(), 1u);
  ASSERT_DAICHO_OK(txn.Commit());
  auto record = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->fields.size(), 1u);
  EXPECT_EQ(record->Find("note"), nullptr);
}

TEST_F(ReplicaTest, OversizedValuesAreResourceExhausted) {
  ReplicaOptions options = CreateOptions();
  options.limits.max_value_bytes = 16;
  options.limits.max_name_bytes = 8;
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  EXPECT_EQ(txn.Set("c", "r1", "f", Value(std::string(17, 'x'))).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.Set("c", "r1", "f", Value(Bytes{std::string(17, 'x')})).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.SetAdd("c", "r1", "s", std::string(17, 'x')).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.Set("c", "r1", std::string(9, 'f'), Value(1)).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.Set("c", std::string(9, 'r'), "f", Value(1)).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.size(), 0u);
  // At the limit is fine.
  EXPECT_DAICHO_OK(txn.Set("c", "r1", "f", Value(std::string(16, 'x'))));
  EXPECT_DAICHO_OK(txn.Set("c", "r1", "g", Value(Bytes{std::string(16, 'x')})));
  EXPECT_DAICHO_OK(txn.Set("c", std::string(8, 'r'), std::string(8, 'f'), Value(1)));
  ASSERT_DAICHO_OK(txn.Commit());
  auto record = replica->Get("c", "r1");
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->Find("f")->value, Value(std::string(16, 'x')));
}

TEST_F(ReplicaTest, OversizedTransactionIsResourceExhaustedAndLeavesStoreUnchanged) {
  ReplicaOptions options = CreateOptions();
  options.limits.max_change_bytes = 1000;  // 100 small records encode to about 1.8 KB
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "c", "keep", "f", Value("kept")));
  const std::string before = DumpCollection(*replica, "c");

  WriteTransaction txn = replica->BeginWrite();
  for (int i = 0; i < 100; ++i) ASSERT_DAICHO_OK(txn.Set("c", "r" + std::to_string(i), "f", Value("value")));
  auto committed = txn.Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Code::kResourceExhausted) << committed.status();
  EXPECT_EQ(txn.size(), 0u);

  EXPECT_EQ(DumpCollection(*replica, "c"), before);
  EXPECT_EQ(replica->Get("c", "r0").status().code(), Code::kNotFound);
  EXPECT_EQ(replica->GetVersionVector()->Get(replica->id()), 1u);
  auto changes = replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_EQ(changes->size(), 1u);

  // The failed commit used no seq.
  WriteTransaction next = replica->BeginWrite();
  ASSERT_DAICHO_OK(next.Set("c", "r0", "f", Value("small")));
  auto info = next.Commit();
  ASSERT_DAICHO_OK(info);
  EXPECT_EQ(info->dot.counter, 2u);
}

// Issue 11 item 2: 20 rows of 900 KB in one transaction made an 18 MB change
// that no sync could send (one frame carries 16 MiB), blocking the backup for
// ever. Such a commit is refused up front, saying how to get the data in.
TEST_F(ReplicaTest, ACommitTooLargeForOneSyncFrameIsRefusedSayingHowToSplitIt) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  const std::string scan(900 * 1000, 's');
  for (int i = 0; i < 20; ++i) ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(i), "scan", Value(scan)));
  auto committed = txn.Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Code::kResourceExhausted) << committed.status();
  const std::string message = committed.status().message();
  EXPECT_NE(message.find(std::to_string(Limits{}.max_commit_bytes)), std::string::npos) << message;
  EXPECT_NE(message.find("180"), std::string::npos) << message;  // its size: 18,0xx,xxx bytes
  EXPECT_NE(message.find("split"), std::string::npos) << message;
  EXPECT_TRUE(replica->GetVersionVector()->empty());
  EXPECT_EQ(replica->Get("customers", "c0").status().code(), Code::kNotFound);

  // Half of it fits.
  WriteTransaction half = replica->BeginWrite();
  for (int i = 0; i < 10; ++i) ASSERT_DAICHO_OK(half.Set("customers", "c" + std::to_string(i), "scan", Value(scan)));
  ASSERT_DAICHO_OK(half.Commit());
}

TEST_F(ReplicaTest, EmptyNamesAreInvalidArgument) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "c", "r", "f", Value(1)));
  WriteTransaction txn = replica->BeginWrite();
  EXPECT_EQ(txn.Set("", "r", "f", Value(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Set("c", "", "f", Value(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Set("c", "r", "", Value(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Add("c", "r", "", 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.SetAdd("c", "", "s", "e").code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.SetRemove("", "r", "s", "e").code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Delete("", "r").code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Undelete("c", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.Set("c", "r\0x"s, "f", Value(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.size(), 0u);
  EXPECT_EQ(replica->Get("", "r").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(replica->Get("c", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(replica->List("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(replica->GetVersionVector()->Total(), 1u);
}

TEST_F(ReplicaTest, EmptyTransactionCommitIsFailedPrecondition) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  auto committed = txn.Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.status().code(), Code::kFailedPrecondition) << committed.status();
  EXPECT_TRUE(replica->GetVersionVector()->empty());
  auto changes = replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_TRUE(changes->empty());
}

TEST_F(ReplicaTest, ApplyRefusesChangesOverTheLimitsAndAppliesNothing) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "c", "small", "f", Value("ok")));
  ASSERT_DAICHO_OK(SetValue(*a, "c", "big", "f", Value(std::string(5000, 'x'))));
  auto changes = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);

  ReplicaOptions strict = CreateOptions();
  strict.limits.max_change_bytes = 1000;
  auto b = OpenOrNull(Path("b"), strict);
  ASSERT_NE(b, nullptr);
  auto applied = b->Apply(*changes);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Code::kResourceExhausted) << applied.status();
  EXPECT_TRUE(b->GetVersionVector()->empty());

  ReplicaOptions narrow = CreateOptions();
  narrow.limits.max_value_bytes = 1000;
  auto c = OpenOrNull(Path("c"), narrow);
  ASSERT_NE(c, nullptr);
  applied = c->Apply(*changes);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Code::kCorruption) << applied.status();
  EXPECT_TRUE(c->GetVersionVector()->empty());
  EXPECT_EQ(c->Get("c", "small").status().code(), Code::kNotFound);
}

TEST_F(ReplicaTest, TransactionOverTheOpLimitIsResourceExhausted) {
  ReplicaOptions options = CreateOptions();
  options.limits.max_ops_per_change = 3;
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  for (int i = 0; i < 3; ++i) ASSERT_DAICHO_OK(txn.Set("c", "r", "f" + std::to_string(i), Value(i)));
  EXPECT_EQ(txn.Set("c", "r", "f3", Value(3)).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.Add("c", "r", "n", 1).code(), Code::kResourceExhausted);
  EXPECT_EQ(txn.size(), 3u);
  ASSERT_DAICHO_OK(txn.Commit());
  EXPECT_EQ(replica->Get("c", "r")->fields.size(), 3u);
}

// Limits::max_name_bytes applies to the collection and the id separately,
// but both end up in one LMDB key (collection \0 id, at most 511 bytes).
// Names that Set() accepts must be storable: refuse them up front or store
// them, never fail later in Commit().
TEST_F(ReplicaTest, NamesAcceptedBySetCanBeCommitted) {
  const Limits limits;
  const std::string collection(limits.max_name_bytes, 'c');
  const std::string id(limits.max_name_bytes, 'i');
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  Status set = txn.Set(collection, id, "f", Value(1));
  if (!set.ok()) {
    EXPECT_EQ(set.code(), Code::kResourceExhausted) << set;
    return;
  }
  auto committed = txn.Commit();
  ASSERT_DAICHO_OK(committed);
  EXPECT_DAICHO_OK(replica->Get(collection, id));
}

// The same for a change from elsewhere: one that passes validation but cannot
// be stored would fail every Apply of its batch, forever, on every replica
// that pulls it (from a relay, say). It must be applied or refused as a bad
// change (kCorruption / kResourceExhausted), not blamed on the caller.
TEST_F(ReplicaTest, RemoteChangeWithLongestAllowedNamesIsAppliedOrRefusedAsBad) {
  const Limits limits;
  core::Change change;
  change.origin = ReplicaId::Random().value();
  change.seq = 1;
  change.hlc = HlcTime{1'700'000'000'000, 0};
  core::RecordOps& rec = change.records.emplace_back();
  rec.collection = std::string(limits.max_name_bytes, 'c');
  rec.id = std::string(limits.max_name_bytes, 'i');
  core::Op& op = rec.ops.emplace_back();
  op.type = core::OpType::kSetRegister;
  op.field = "f";
  op.value = Value(1);
  const std::vector<ChangeBlob> batch = {{change.origin, 1, storage::EncodeChangePayload(change)}};

  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  auto applied = replica->Apply(batch);
  if (applied.ok()) {
    EXPECT_DAICHO_OK(replica->Get(rec.collection, rec.id));
  } else {
    EXPECT_TRUE(applied.status().code() == Code::kCorruption || applied.status().code() == Code::kResourceExhausted)
        << applied.status();
  }
}

// A clock for tests: moves only when told to.

}  // namespace
}  // namespace daicho
