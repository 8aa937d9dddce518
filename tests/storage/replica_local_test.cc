// Tests of what a replica keeps for its own sync client: local settings
// (durable, never synced, never a change) and RecordsChangedSince (the records
// a peer that holds a given version vector has not seen yet).
#include "daicho/replica.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/change.h"
#include "storage/codec/change_codec.h"
#include "storage/lmdb/env.h"
#include "storage/lmdb/store_directory.h"
#include "storage/replica_test_util.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

using ::daicho::testing::CreateOptions;
using ::daicho::testing::DeleteRecord;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::SetValue;

std::optional<std::string> SettingOrDie(const Replica& replica, std::string_view name) {
  auto got = replica.GetLocalSetting(name);
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *got : std::optional<std::string>("<error>");
}

// The records ChangesSince(other) touches, by full decode: what
// RecordsChangedSince must agree with.
std::vector<RecordKey> KeysByFullDecode(const Replica& replica, const VersionVector& other) {
  auto blobs = replica.ChangesSince(other);
  EXPECT_TRUE(blobs.ok()) << blobs.status();
  std::set<RecordKey> keys;
  if (!blobs.ok()) return {};
  for (const ChangeBlob& blob : *blobs) {
    auto change = storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, Limits{});
    EXPECT_TRUE(change.ok()) << change.status();
    if (!change.ok()) continue;
    for (const core::RecordOps& rec : change->records) keys.insert(RecordKey{rec.collection, rec.id});
  }
  return {keys.begin(), keys.end()};
}

std::vector<RecordKey> Keys(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<RecordKey> out;
  for (const auto& [c, i] : list) out.push_back(RecordKey{c, i});
  return out;
}

class ReplicaLocalTest : public ::daicho::testing::ReplicaDirTest {};

// ---- Local settings ----

TEST_F(ReplicaLocalTest, SettingIsUnsetThenSetOverwrittenAndErased) {
  auto replica = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(SettingOrDie(*replica, "relay_url"), std::nullopt);

  ASSERT_DAICHO_OK(replica->SetLocalSetting("relay_url", "wss://relay.example.jp/sync"));
  EXPECT_EQ(SettingOrDie(*replica, "relay_url"), "wss://relay.example.jp/sync");

  ASSERT_DAICHO_OK(replica->SetLocalSetting("relay_url", "wss://other.example.jp"));
  EXPECT_EQ(SettingOrDie(*replica, "relay_url"), "wss://other.example.jp");

  // Empty values and arbitrary bytes are values like any other.
  ASSERT_DAICHO_OK(replica->SetLocalSetting("backup", ""));
  EXPECT_EQ(SettingOrDie(*replica, "backup"), "");
  const std::string binary = "\0\xff\x01token\0"s;
  ASSERT_DAICHO_OK(replica->SetLocalSetting("login_token", binary));
  EXPECT_EQ(SettingOrDie(*replica, "login_token"), binary);

  ASSERT_DAICHO_OK(replica->EraseLocalSetting("relay_url"));
  EXPECT_EQ(SettingOrDie(*replica, "relay_url"), std::nullopt);
  EXPECT_EQ(SettingOrDie(*replica, "backup"), "");  // others untouched
  // Erasing what is not set is fine.
  ASSERT_DAICHO_OK(replica->EraseLocalSetting("relay_url"));
  ASSERT_DAICHO_OK(replica->EraseLocalSetting("never_set"));
}

TEST_F(ReplicaLocalTest, SettingsSurviveReopen) {
  {
    auto replica = OpenOrNull(Path("a"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    ASSERT_DAICHO_OK(replica->SetLocalSetting("relay_url", "wss://relay.example.jp"));
    ASSERT_DAICHO_OK(replica->SetLocalSetting("last_sync_ms", "1718000000000"));
    ASSERT_DAICHO_OK(replica->SetLocalSetting("gone", "x"));
    ASSERT_DAICHO_OK(replica->EraseLocalSetting("gone"));
  }
  auto replica = OpenOrNull(Path("a"), QuietOptions());
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(SettingOrDie(*replica, "relay_url"), "wss://relay.example.jp");
  EXPECT_EQ(SettingOrDie(*replica, "last_sync_ms"), "1718000000000");
  EXPECT_EQ(SettingOrDie(*replica, "gone"), std::nullopt);
}

TEST_F(ReplicaLocalTest, InvalidNamesAreInvalidArgumentAndChangeNothing) {
  auto replica = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  const std::string longest(kMaxLocalSettingNameBytes, 'n');
  ASSERT_DAICHO_OK(replica->SetLocalSetting(longest, "kept"));
  ASSERT_DAICHO_OK(replica->SetLocalSetting("a", "kept"));

  const std::string bad_names[] = {"", std::string(kMaxLocalSettingNameBytes + 1, 'n'), "a\0b"s, "a\0"s};
  for (const std::string& name : bad_names) {
    SCOPED_TRACE(::testing::PrintToString(name));
    EXPECT_EQ(replica->SetLocalSetting(name, "v").code(), Code::kInvalidArgument);
    EXPECT_EQ(replica->EraseLocalSetting(name).code(), Code::kInvalidArgument);
    EXPECT_EQ(replica->GetLocalSetting(name).status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(SettingOrDie(*replica, longest), "kept");
  EXPECT_EQ(SettingOrDie(*replica, "a"), "kept");
}

TEST_F(ReplicaLocalTest, OversizedValueIsResourceExhaustedAndKeepsTheOldValue) {
  auto replica = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(replica->SetLocalSetting("big", "old"));
  EXPECT_EQ(replica->SetLocalSetting("big", std::string(kMaxLocalSettingValueBytes + 1, 'v')).code(),
            Code::kResourceExhausted);
  EXPECT_EQ(SettingOrDie(*replica, "big"), "old");
  EXPECT_EQ(replica->SetLocalSetting("new", std::string(kMaxLocalSettingValueBytes + 1, 'v')).code(),
            Code::kResourceExhausted);
  EXPECT_EQ(SettingOrDie(*replica, "new"), std::nullopt);

  const std::string largest(kMaxLocalSettingValueBytes, 'v');
  ASSERT_DAICHO_OK(replica->SetLocalSetting("big", largest));
  EXPECT_EQ(SettingOrDie(*replica, "big"), largest);
}

TEST_F(ReplicaLocalTest, SettingsAreNeverAChangeAndNeverSynced) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田")));
  const VersionVector vv = *a->GetVersionVector();

  ASSERT_DAICHO_OK(a->SetLocalSetting("relay_url", "wss://relay.example.jp"));
  ASSERT_DAICHO_OK(a->SetLocalSetting("acked_vv", "opaque"));
  ASSERT_DAICHO_OK(a->EraseLocalSetting("acked_vv"));
  EXPECT_EQ(*a->GetVersionVector(), vv);
  EXPECT_TRUE(a->ChangesSince(vv)->empty());
  EXPECT_EQ(a->ChangesSince(VersionVector())->size(), 1u);
  EXPECT_TRUE(a->RecordsChangedSince(vv)->empty());

  ASSERT_DAICHO_OK(Pull(*b, *a));
  EXPECT_EQ(*b->GetVersionVector(), vv);
  EXPECT_EQ(SettingOrDie(*b, "relay_url"), std::nullopt);
}

// Names equal to the fixed meta keys live apart from them: the store still
// opens as the same replica with the same state.
TEST_F(ReplicaLocalTest, SettingsNamedLikeMetaKeysLeaveTheReplicaStateAlone) {
  const char* const meta_like[] = {"schema", "replica_id", "device_marker", "epoch", "vv", "hlc"};
  ReplicaId id;
  VersionVector vv;
  {
    auto replica = OpenOrNull(Path("a"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("山田")));
    id = replica->id();
    vv = *replica->GetVersionVector();
    for (const char* name : meta_like) ASSERT_DAICHO_OK(replica->SetLocalSetting(name, "garbage"));
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "name", Value("佐藤")));
    vv = *replica->GetVersionVector();
  }
  std::vector<std::string> warnings;
  ReplicaOptions options = QuietOptions();
  options.warning_log = [&](std::string_view w) { warnings.emplace_back(w); };
  {
    auto replica = OpenOrNull(Path("a"), options);
    ASSERT_NE(replica, nullptr);
    EXPECT_EQ(replica->id(), id);
    EXPECT_EQ(*replica->GetVersionVector(), vv);
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    for (const char* name : meta_like) EXPECT_EQ(SettingOrDie(*replica, name), "garbage");
  }
  // White box: the settings are prefixed keys in meta; the fixed keys are as
  // the replica wrote them.
  auto env = storage::lmdb::Env::Open(Path("a"), storage::lmdb::EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto meta = env->OpenDbi("meta", /*create=*/false);
  ASSERT_DAICHO_OK(meta);
  auto txn = env->BeginRead();
  ASSERT_DAICHO_OK(txn);
  auto schema = txn->GetCopy(*meta, "schema");
  ASSERT_DAICHO_OK(schema);
  EXPECT_EQ(*schema, "daicho-replica-v4");
  auto raw_id = txn->GetCopy(*meta, "replica_id");
  ASSERT_DAICHO_OK(raw_id);
  EXPECT_EQ(*raw_id, std::string(id.AsStringView()));
  auto setting = txn->GetCopy(*meta, "local_setting\0vv"s);
  ASSERT_DAICHO_OK(setting);
  EXPECT_EQ(*setting, "garbage");
}

// A store of an older format is refused with a message saying so, not
// misread (v1 held Protobuf states, v2 register values inside the states);
// a newer one asks for an upgrade; v3 (v4 without kind contexts) is
// upgraded in place.
TEST_F(ReplicaLocalTest, StoreOfAnotherFormatVersionIsRefused) {
  ASSERT_DAICHO_OK(SetValue(*OpenOrNull(Path("a"), CreateOptions()), "customers", "c1", "name", Value("x")));
  auto set_schema = [&](std::string_view marker) {
    auto env = storage::lmdb::Env::Open(Path("a"), storage::lmdb::EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto meta = env->OpenDbi("meta", /*create=*/false);
    ASSERT_DAICHO_OK(meta);
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    ASSERT_DAICHO_OK(txn->Put(*meta, "schema", marker));
    ASSERT_DAICHO_OK(txn->Commit());
  };
  for (int older : {1, 2}) {
    SCOPED_TRACE("format v" + std::to_string(older));
    set_schema("daicho-replica-v" + std::to_string(older));
    for (bool create : {false, true}) {
      ReplicaOptions options = QuietOptions();
      options.create_if_missing = create;
      auto opened = Replica::Open(Path("a"), options);
      ASSERT_FALSE(opened.ok());
      EXPECT_EQ(opened.status().code(), Code::kFailedPrecondition) << opened.status();
      EXPECT_NE(opened.status().message().find("made by an older daicho (format v" + std::to_string(older) + ")"),
                std::string::npos)
          << opened.status();
      EXPECT_NE(opened.status().message().find("reads format v4"), std::string::npos) << opened.status();
    }
  }
  set_schema("daicho-replica-v5");
  auto newer = Replica::Open(Path("a"), QuietOptions());
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), Code::kFailedPrecondition) << newer.status();
  EXPECT_NE(newer.status().message().find("newer daicho (format v5)"), std::string::npos) << newer.status();
  // Refusing wrote nothing: with a v3 marker (the format before kind
  // contexts) the store opens as it was, and is marked v4 from then on.
  set_schema("daicho-replica-v3");
  {
    auto replica = OpenOrNull(Path("a"), QuietOptions());
    ASSERT_NE(replica, nullptr);
    auto record = replica->Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    EXPECT_EQ(record->Find("name")->value, Value("x"));
  }
  std::string schema;
  {
    auto env = storage::lmdb::Env::Open(Path("a"), storage::lmdb::EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto marker = storage::lmdb::ReadSchemaMarker(*env);
    ASSERT_DAICHO_OK(marker);
    ASSERT_TRUE(marker->has_value());
    schema = **marker;
  }
  EXPECT_EQ(schema, "daicho-replica-v4");
}

// Record states hold no register values: each is read from the change that
// wrote it. A change log damaged under a state is corruption, said as such,
// and only the reads that need the damaged change fail.
TEST_F(ReplicaLocalTest, ValueWhoseChangeIsMissingOrWrongIsCorruption) {
  ReplicaId id;
  {
    auto replica = OpenOrNull(Path("a"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("山田")));
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "name", Value("佐藤")));
    id = replica->id();
    EXPECT_EQ(replica->Get("customers", "c1")->Find("name")->value, Value("山田"));
  }
  const std::string change1 = std::string(id.AsStringView()) + std::string("\0\0\0\0\0\0\0\1", 8);
  const std::string change2 = std::string(id.AsStringView()) + std::string("\0\0\0\0\0\0\0\2", 8);
  auto damage = [&](bool remove) {
    auto env = storage::lmdb::Env::Open(Path("a"), storage::lmdb::EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto changes = env->OpenDbi("changes", /*create=*/false);
    ASSERT_DAICHO_OK(changes);
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    if (remove) {
      ASSERT_DAICHO_OK(txn->Del(*changes, change1));
    } else {
      auto other = txn->GetCopy(*changes, change2);  // touches c2 only
      ASSERT_DAICHO_OK(other);
      ASSERT_TRUE(other->has_value());
      ASSERT_DAICHO_OK(txn->Put(*changes, change1, **other));
    }
    ASSERT_DAICHO_OK(txn->Commit());
  };
  for (bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "change removed" : "change replaced by another");
    damage(remove);
    auto replica = OpenOrNull(Path("a"), QuietOptions());
    ASSERT_NE(replica, nullptr);
    const std::string expected = remove ? "missing from the change log" : "which does not touch it";
    auto got = replica->Get("customers", "c1");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), Code::kCorruption) << got.status();
    EXPECT_NE(got.status().message().find(expected), std::string::npos) << got.status();
    auto page = replica->List("customers");
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.status().code(), Code::kCorruption) << page.status();
    auto fine = replica->Get("customers", "c2");
    ASSERT_DAICHO_OK(fine);
    EXPECT_EQ(fine->Find("name")->value, Value("佐藤"));
    // Serving changes to a peer finds the hole too.
    auto served = replica->ChangesSince(VersionVector());
    if (remove) {
      EXPECT_EQ(served.status().code(), Code::kCorruption);
      EXPECT_EQ(served.status().message(), "change log lacks " + id.ToHex() + ":1");
      EXPECT_EQ(replica->RecordsChangedSince(VersionVector()).status().message(),
                "change log lacks " + id.ToHex() + ":1");
    } else {
      EXPECT_DAICHO_OK(served);
    }
  }
}

TEST_F(ReplicaLocalTest, CopiedStoreTakesANewIdAndKeepsItsSettings) {
  ReplicaId original_id;
  {
    auto replica = OpenOrNull(Path("original"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    original_id = replica->id();
    ASSERT_DAICHO_OK(replica->SetLocalSetting("relay_url", "wss://relay.example.jp"));
  }
  fs::copy(Path("original"), Path("copy"), fs::copy_options::recursive);
  auto copy = OpenOrNull(Path("copy"), QuietOptions());
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy->id(), original_id);
  EXPECT_EQ(SettingOrDie(*copy, "relay_url"), "wss://relay.example.jp");
}

// ---- RecordsChangedSince ----

TEST_F(ReplicaLocalTest, RecordsChangedSinceEmptyIsEveryRecordOfLocalAndAppliedChanges) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a->RecordsChangedSince(VersionVector())->empty());

  ASSERT_DAICHO_OK(SetValue(*b, "invoices", "2024-001", "total", Value(int64_t{120000})));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c9", "name", Value("佐藤")));
  ASSERT_DAICHO_OK(Pull(*a, *b));
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c2", "name", Value("鈴木")));
    ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value("山田")));
    ASSERT_DAICHO_OK(txn.Add("invoices", "2024-001", "paid", 5000));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto keys = a->RecordsChangedSince(VersionVector());
  ASSERT_DAICHO_OK(keys);
  EXPECT_EQ(*keys, Keys({{"customers", "c1"}, {"customers", "c2"}, {"customers", "c9"}, {"invoices", "2024-001"}}));
  EXPECT_EQ(*keys, KeysByFullDecode(*a, VersionVector()));
}

TEST_F(ReplicaLocalTest, RecordsChangedSinceSkipsWhatTheOtherVersionVectorCovers) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "b1", "name", Value("x")));  // b:1
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "b2", "name", Value("x")));  // b:2
  ASSERT_DAICHO_OK(Pull(*a, *b));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "a1", "name", Value("x")));  // a:1
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "a2", "name", Value("x")));  // a:2
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "a3", "name", Value("x")));  // a:3

  // The relay has a:1..2 and all of b.
  VersionVector acked;
  acked.Advance(a->id(), 2);
  acked.Advance(b->id(), 2);
  EXPECT_EQ(*a->RecordsChangedSince(acked), Keys({{"customers", "a3"}}));

  // Only b:1 and nothing of a.
  VersionVector partial;
  partial.Advance(b->id(), 1);
  const auto expected = Keys({{"customers", "a1"}, {"customers", "a2"}, {"customers", "a3"}, {"customers", "b2"}});
  EXPECT_EQ(*a->RecordsChangedSince(partial), expected);
  EXPECT_EQ(*a->RecordsChangedSince(partial), KeysByFullDecode(*a, partial));

  // Covered, or even ahead (the other side has more): nothing.
  EXPECT_TRUE(a->RecordsChangedSince(*a->GetVersionVector())->empty());
  VersionVector ahead = *a->GetVersionVector();
  ahead.Advance(a->id(), 99);
  ahead.Advance(ReplicaId::Random().value(), 7);
  EXPECT_TRUE(a->RecordsChangedSince(ahead)->empty());
}

TEST_F(ReplicaLocalTest, RecordsChangedSinceIncludesDeletedRecords) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("x")));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("x")));
  const VersionVector acked = *a->GetVersionVector();
  ASSERT_DAICHO_OK(DeleteRecord(*a, "customers", "c1"));
  EXPECT_EQ(*a->RecordsChangedSince(acked), Keys({{"customers", "c1"}}));
  EXPECT_EQ(*a->RecordsChangedSince(VersionVector()), Keys({{"customers", "c1"}, {"customers", "c2"}}));
}

TEST_F(ReplicaLocalTest, RecordChangedManyTimesIsListedOnce) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "visits", Value(int64_t{i})));
  EXPECT_EQ(*a->RecordsChangedSince(VersionVector()), Keys({{"customers", "c1"}}));

  // Enough repeats that the scan has to drop duplicates on the way.
  constexpr int kRecords = 3000;
  for (int round = 0; round < 3; ++round) {
    WriteTransaction txn = a->BeginWrite();
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_DAICHO_OK(txn.Set("bulk", "r" + std::to_string(i), "round", Value(int64_t{round})));
    }
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto keys = a->RecordsChangedSince(VersionVector());
  ASSERT_DAICHO_OK(keys);
  EXPECT_EQ(keys->size(), kRecords + 1u);
  EXPECT_TRUE(std::is_sorted(keys->begin(), keys->end()));
  EXPECT_EQ(std::adjacent_find(keys->begin(), keys->end()), keys->end());
  EXPECT_EQ(*keys, KeysByFullDecode(*a, VersionVector()));
}

TEST_F(ReplicaLocalTest, RecordsChangedSinceOfADamagedChangeIsCorruption) {
  ReplicaId id;
  {
    auto a = OpenOrNull(Path("a"), CreateOptions());
    ASSERT_NE(a, nullptr);
    ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("x")));
    id = a->id();
  }
  {
    // Overwrite the stored payload of a:1 (the data file's structure stays intact).
    auto env = storage::lmdb::Env::Open(Path("a"), storage::lmdb::EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto changes = env->OpenDbi("changes", /*create=*/false);
    ASSERT_DAICHO_OK(changes);
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    std::string key(id.AsStringView());
    key += "\0\0\0\0\0\0\0\x01"s;
    ASSERT_DAICHO_OK(txn->Put(*changes, key, "\xff\xff\xff not a change"));
    ASSERT_DAICHO_OK(txn->Commit());
  }
  auto a = OpenOrNull(Path("a"), QuietOptions());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->RecordsChangedSince(VersionVector()).status().code(), Code::kCorruption);
  VersionVector covered;
  covered.Advance(id, 1);
  EXPECT_TRUE(a->RecordsChangedSince(covered)->empty());  // the damaged change is not read
}

}  // namespace
}  // namespace daicho
