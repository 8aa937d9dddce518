// Tests of the public Replica API on LMDB: exchanging changes: ChangesSince, Apply (duplicates, gaps, damage), the
// change listener.
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
using ::daicho::testing::DumpCollection;
using ::daicho::testing::kYamada;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;

TEST_F(ReplicaTest, VersionVectorCountsCommits) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  EXPECT_TRUE(replica->GetVersionVector()->empty());
  for (int i = 1; i <= 3; ++i) {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("c", "r" + std::to_string(i), "f", Value(i)));
    auto info = txn.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_EQ(info->dot, (Dot{replica->id(), static_cast<uint64_t>(i)}));
  }
  auto vv = replica->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->size(), 1u);
  EXPECT_EQ(vv->Get(replica->id()), 3u);
  EXPECT_EQ(vv->Total(), 3u);
}

TEST_F(ReplicaTest, ChangesSinceEmptyReturnsEverythingInPerOriginSeqOrder) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 4; ++i) ASSERT_DAICHO_OK(SetValue(*a, "c", "a" + std::to_string(i), "f", Value(i)));
  for (int i = 0; i < 3; ++i) ASSERT_DAICHO_OK(SetValue(*b, "c", "b" + std::to_string(i), "f", Value(i)));
  ASSERT_DAICHO_OK(Pull(*a, *b));
  ASSERT_DAICHO_OK(SetValue(*a, "c", "a4", "f", Value(4)));

  auto changes = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_EQ(changes->size(), 8u);
  std::map<ReplicaId, uint64_t> last;
  for (const ChangeBlob& c : *changes) {
    EXPECT_EQ(c.seq, last[c.origin] + 1) << c.origin.ToHex();
    last[c.origin] = c.seq;
    EXPECT_FALSE(c.payload.empty());
  }
  EXPECT_EQ(last[a->id()], 5u);
  EXPECT_EQ(last[b->id()], 3u);

  // What a third replica applies from them equals the holder's state.
  auto c = OpenOrNull(Path("c"), CreateOptions());
  ASSERT_NE(c, nullptr);
  auto applied = c->Apply(*changes);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 8u);
  EXPECT_EQ(*c->GetVersionVector(), *a->GetVersionVector());
  EXPECT_EQ(DumpCollection(*c, "c"), DumpCollection(*a, "c"));
}

TEST_F(ReplicaTest, ChangesSinceOtherVersionVectorReturnsOnlyTheDelta) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_DAICHO_OK(SetValue(*a, "c", "r" + std::to_string(i), "f", Value(i)));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  EXPECT_TRUE(a->ChangesSince(*b->GetVersionVector())->empty());
  ASSERT_DAICHO_OK(SetValue(*a, "c", "r1", "f", Value(100)));
  ASSERT_DAICHO_OK(SetValue(*a, "c", "r2", "f", Value(200)));
  ASSERT_DAICHO_OK(SetValue(*b, "c", "r3", "f", Value(300)));

  auto delta = a->ChangesSince(*b->GetVersionVector());
  ASSERT_DAICHO_OK(delta);
  ASSERT_EQ(delta->size(), 2u);
  EXPECT_EQ((*delta)[0].origin, a->id());
  EXPECT_EQ((*delta)[0].seq, 6u);
  EXPECT_EQ((*delta)[1].seq, 7u);

  // A VV that knows of changes this replica lacks asks for nothing extra.
  VersionVector ahead = *a->GetVersionVector();
  ahead.Advance(ReplicaId::Random().value(), 9);
  EXPECT_TRUE(a->ChangesSince(ahead)->empty());
}

TEST_F(ReplicaTest, MaxBytesBoundsABatchAndRepeatedCallsReturnEverything) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 30; ++i) {
    ASSERT_DAICHO_OK(SetValue(*a, "c", "r" + std::to_string(i), "f", Value(std::string(500 + 37 * i, 'x'))));
  }
  ASSERT_DAICHO_OK(Pull(*b, *a));  // b holds a's changes: a mix of origins to page through
  for (int i = 0; i < 10; ++i)
    ASSERT_DAICHO_OK(SetValue(*b, "c", "b" + std::to_string(i), "f", Value(std::string(800, 'y'))));

  auto one = b->ChangesSince(VersionVector(), 1);
  ASSERT_DAICHO_OK(one);
  EXPECT_EQ(one->size(), 1u) << "at least one change, however small max_bytes is";

  constexpr size_t kMaxBytes = 3000;
  auto c = OpenOrNull(Path("c"), CreateOptions());
  ASSERT_NE(c, nullptr);
  int batches = 0;
  for (; batches < 100; ++batches) {
    auto vv = c->GetVersionVector();
    ASSERT_DAICHO_OK(vv);
    auto batch = b->ChangesSince(*vv, kMaxBytes);
    ASSERT_DAICHO_OK(batch);
    if (batch->empty()) break;
    size_t bytes = 0;
    for (const ChangeBlob& blob : *batch) bytes += blob.payload.size();
    EXPECT_TRUE(bytes <= kMaxBytes || batch->size() == 1) << bytes << " bytes in " << batch->size();
    auto applied = c->Apply(*batch);
    ASSERT_DAICHO_OK(applied);
    EXPECT_EQ(applied->applied, batch->size());
  }
  EXPECT_GT(batches, 5);
  EXPECT_EQ(*c->GetVersionVector(), *b->GetVersionVector());
  EXPECT_EQ(DumpCollection(*c, "c"), DumpCollection(*b, "c"));
}

TEST_F(ReplicaTest, ApplyIsIdempotent) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 5; ++i) {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("c", "r" + std::to_string(i % 2), "f", Value(i)));
    ASSERT_DAICHO_OK(txn.Add("c", "r" + std::to_string(i % 2), "n", i));
    ASSERT_DAICHO_OK(txn.SetAdd("c", "r" + std::to_string(i % 2), "s", "e" + std::to_string(i)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto all = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(all);
  const std::vector<ChangeBlob> first_three(all->begin(), all->begin() + 3);

  auto applied = b->Apply(first_three);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 3u);
  EXPECT_EQ(applied->duplicates, 0u);

  applied = b->Apply(*all);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 2u);
  EXPECT_EQ(applied->duplicates, 3u);
  const std::string state = DumpCollection(*b, "c");
  const VersionVector vv = *b->GetVersionVector();

  applied = b->Apply(*all);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 0u);
  EXPECT_EQ(applied->duplicates, 5u);
  EXPECT_TRUE(applied->changed.empty());
  // Duplicates inside one batch too.
  std::vector<ChangeBlob> doubled = *all;
  doubled.insert(doubled.end(), all->begin(), all->end());
  applied = b->Apply(doubled);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->duplicates, 10u);

  EXPECT_EQ(DumpCollection(*b, "c"), state);
  EXPECT_EQ(*b->GetVersionVector(), vv);
  EXPECT_EQ(state, DumpCollection(*a, "c"));
  EXPECT_EQ(b->Get("c", "r0")->Find("n")->value, Value(0 + 2 + 4));

  // The replica's own changes sent back to it are duplicates too.
  applied = a->Apply(*all);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->duplicates, 5u);
}

TEST_F(ReplicaTest, ApplyWithAGapIsProtocolErrorAndAppliesNothing) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  auto c = OpenOrNull(Path("c"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_DAICHO_OK(SetValue(*a, "c", "a" + std::to_string(i), "f", Value(i)));
  ASSERT_DAICHO_OK(SetValue(*b, "c", "b0", "f", Value(0)));
  ASSERT_DAICHO_OK(SetValue(*c, "c", "mine", "f", Value(0)));
  auto from_a = a->ChangesSince(VersionVector());
  auto from_b = b->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(from_a);
  ASSERT_DAICHO_OK(from_b);
  const std::string before = DumpCollection(*c, "c");
  const VersionVector vv_before = *c->GetVersionVector();

  std::vector<std::vector<ChangeBlob>> bad_batches = {
      {(*from_a)[0], (*from_a)[2]},                // skips seq 2
      {(*from_a)[1], (*from_a)[2]},                // starts at 2
      {(*from_b)[0], (*from_a)[0], (*from_a)[2]},  // a good origin does not save the batch
  };
  const std::string a_hex = a->id().ToHex();
  const std::vector<std::string> messages = {
      "applying changes: gap: change " + a_hex + ":3 arrived but 2 is missing",
      "applying changes: gap: change " + a_hex + ":2 arrived but 1 is missing",
      "applying changes: gap: change " + a_hex + ":3 arrived but 2 is missing",
  };
  int listener_calls = 0;
  c->SetChangeListener([&](const std::vector<RecordKey>&) { ++listener_calls; });
  for (size_t i = 0; i < bad_batches.size(); ++i) {
    auto applied = c->Apply(bad_batches[i]);
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.status().code(), Code::kProtocolError) << applied.status();
    EXPECT_EQ(applied.status().message(), messages[i]);
    EXPECT_EQ(*c->GetVersionVector(), vv_before);
    EXPECT_EQ(DumpCollection(*c, "c"), before);
    auto changes = c->ChangesSince(VersionVector());
    ASSERT_DAICHO_OK(changes);
    EXPECT_EQ(changes->size(), 1u);
  }
  EXPECT_EQ(listener_calls, 0);

  // Nothing was half-applied: the full sequence still applies cleanly.
  std::vector<ChangeBlob> good = *from_a;
  good.push_back((*from_b)[0]);
  auto applied = c->Apply(good);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 4u);
  EXPECT_EQ(applied->duplicates, 0u);
}

TEST_F(ReplicaTest, ApplyOfGarbagePayloadIsCorruptionAndAppliesNothing) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (int i = 0; i < 2; ++i) ASSERT_DAICHO_OK(SetValue(*a, "c", "a" + std::to_string(i), "f", Value(i)));
  auto from_a = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(from_a);
  for (const std::string& garbage : {"\xff\xff\xff\xff"s, RandomBytes(300, 5), (*from_a)[1].payload.substr(0, 7)}) {
    std::vector<ChangeBlob> batch = *from_a;
    batch[1].payload = garbage;
    auto applied = b->Apply(batch);
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.status().code(), Code::kCorruption) << applied.status();
    EXPECT_TRUE(b->GetVersionVector()->empty());
    EXPECT_EQ(b->Get("c", "a0").status().code(), Code::kNotFound);
  }
  ASSERT_DAICHO_OK(b->Apply(*from_a));
}

TEST_F(ReplicaTest, ChangesOfSeveralOriginsApplyInAnyOrder) {
  std::vector<std::unique_ptr<Replica>> sources;
  for (int r = 0; r < 3; ++r) {
    sources.push_back(OpenOrNull(Path("src" + std::to_string(r)), CreateOptions()));
    ASSERT_NE(sources.back(), nullptr);
  }
  // Some cross-talk so that changes depend on other origins' changes.
  for (int round = 0; round < 4; ++round) {
    for (int r = 0; r < 3; ++r) {
      WriteTransaction txn = sources[r]->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set("c", "shared", "f", Value(round * 10 + r)));
      ASSERT_DAICHO_OK(txn.Add("c", "shared", "n", 1));
      ASSERT_DAICHO_OK(txn.SetAdd("c", "s" + std::to_string(r), "tags", "t" + std::to_string(round)));
      ASSERT_DAICHO_OK(txn.Commit());
    }
    ASSERT_DAICHO_OK(Pull(*sources[(round + 1) % 3], *sources[round % 3]));
  }
  std::vector<ChangeBlob> all;
  for (int r = 0; r < 3; ++r) {
    for (int other = 0; other < 3; ++other) ASSERT_DAICHO_OK(Pull(*sources[r], *sources[other]));
  }
  all = *sources[0]->ChangesSince(VersionVector());
  ASSERT_EQ(all.size(), 12u);

  std::mt19937 rng(2024);
  for (int trial = 0; trial < 3; ++trial) {
    std::shuffle(all.begin(), all.end(), rng);
    auto sink = OpenOrNull(Path("sink" + std::to_string(trial)), CreateOptions());
    ASSERT_NE(sink, nullptr);
    auto applied = sink->Apply(all);
    ASSERT_DAICHO_OK(applied);
    EXPECT_EQ(applied->applied, 12u);
    EXPECT_EQ(*sink->GetVersionVector(), *sources[0]->GetVersionVector());
    EXPECT_EQ(DumpCollection(*sink, "c"), DumpCollection(*sources[0], "c"));
    EXPECT_EQ(sink->Get("c", "shared")->Find("n")->value, Value(12));
  }
}

TEST_F(ReplicaTest, ChangeListenerReceivesExactlyTheChangedRecords) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("x")));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("y")));
  ASSERT_DAICHO_OK(SetValue(*a, "permits", "p1", "no", Value(1)));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "phone", Value("z")));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "untouched", "name", Value("b")));

  std::vector<std::vector<RecordKey>> calls;
  b->SetChangeListener([&](const std::vector<RecordKey>& keys) { calls.push_back(keys); });
  auto changes = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  auto applied = b->Apply(*changes);
  ASSERT_DAICHO_OK(applied);
  const std::vector<RecordKey> expected = {{"customers", "c1"}, {"customers", "c2"}, {"permits", "p1"}};
  EXPECT_EQ(applied->changed, expected);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], expected);

  // Only duplicates: nothing changed, no call.
  ASSERT_DAICHO_OK(b->Apply(*changes));
  EXPECT_EQ(calls.size(), 1u);

  // Local commits are not reported; a removed listener is not called.
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "name", Value("local")));
  EXPECT_EQ(calls.size(), 1u);
  b->SetChangeListener(nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c9", "name", Value("n")));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  EXPECT_EQ(calls.size(), 1u);
}

TEST_F(ReplicaTest, AppliedChangesAreDurableAndPassedOn) {
  ReplicaId a_id;
  {
    auto a = OpenOrNull(Path("a"), CreateOptions());
    auto b = OpenOrNull(Path("b"), CreateOptions());
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    a_id = a->id();
    ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value(kYamada)));
    ASSERT_DAICHO_OK(Pull(*b, *a));
  }
  auto b = OpenOrNull(Path("b"), QuietOptions());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->GetVersionVector()->Get(a_id), 1u);
  // b passes on what it got from a to a third replica that never met a.
  auto c = OpenOrNull(Path("c"), CreateOptions());
  ASSERT_NE(c, nullptr);
  ASSERT_DAICHO_OK(Pull(*c, *b));
  auto record = c->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->Find("name")->value, Value(kYamada));
  EXPECT_EQ(record->Find("name")->siblings[0].dot, (Dot{a_id, 1}));
}

TEST_F(ReplicaTest, ListenerMayReadTheReplicaItListensTo) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value(kYamada)));
  std::vector<std::string> seen;
  b->SetChangeListener([&](const std::vector<RecordKey>& keys) {
    for (const RecordKey& key : keys) {
      auto record = b->Get(key.collection, key.id);
      seen.push_back(record.ok() ? record->Find("name")->value.as_string() : record.status().ToString());
    }
    EXPECT_DAICHO_OK(b->GetVersionVector());
  });
  ASSERT_DAICHO_OK(Pull(*b, *a));
  EXPECT_EQ(seen, std::vector<std::string>{std::string(kYamada)});
}

}  // namespace
}  // namespace daicho
