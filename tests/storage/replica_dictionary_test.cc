// Tests of storage/replica/store_replica_dictionary.h: the store-wide replica dictionary in
// meta is dense and never gives one index two ids or one id two indexes —
// across transactions that abort, across dictionaries (processes) whose
// caches are stale, across reopening a replica, and with two forked
// processes assigning at the same time.
#include "storage/replica/store_replica_dictionary.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "daicho/replica.h"
#include "storage/lmdb/env.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/memory_replica_dictionary.h"
#include "tests/testing/test_util.h"

namespace daicho::storage {
namespace {

using ::daicho::testing::ForkAndRun;
using ::daicho::testing::MemoryReplicaDictionary;
using ::daicho::testing::TempDir;
using ::daicho::testing::WaitExitCode;

ReplicaId IdOf(uint32_t n) {
  ReplicaId::Bytes bytes{};
  for (int i = 0; i < 4; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  bytes[15] = 0xd1;
  return ReplicaId(bytes);
}

struct Store {
  lmdb::Env env;
  lmdb::Dbi meta;
};

Result<Store> OpenStore(const std::string& dir) {
  std::filesystem::create_directories(dir);
  DAICHO_ASSIGN_OR_RETURN(lmdb::Env env, lmdb::Env::Open(dir, lmdb::EnvOptions{}));
  DAICHO_ASSIGN_OR_RETURN(lmdb::Dbi meta, env.OpenDbi("meta", /*create=*/true));
  return Store{std::move(env), meta};
}

// Every entry of the dictionary in `meta`, by index; fails on a gap.
Result<std::vector<ReplicaId>> ReadEntries(const lmdb::Env& env, lmdb::Dbi meta) {
  DAICHO_ASSIGN_OR_RETURN(lmdb::ReadTxn txn, env.BeginRead());
  std::vector<ReplicaId> ids;
  DAICHO_ASSIGN_OR_RETURN(lmdb::Cursor cursor, txn.OpenCursor(meta));
  const std::string prefix("replica\0", 8);
  DAICHO_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.valid() && cursor.key().starts_with(prefix)) {
    if (cursor.key() != ReplicaDictionaryKey(static_cast<uint32_t>(ids.size()))) {
      return Corruption("dictionary key out of sequence at entry " + std::to_string(ids.size()));
    }
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, ReplicaId::FromBytes(cursor.value()));
    ids.push_back(id);
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return ids;
}

// Assigns (or finds) `ids` in one committed write transaction.
Result<std::vector<uint32_t>> Assign(lmdb::Env& env, const StoreReplicaDictionary& dict,
                                     const std::vector<ReplicaId>& ids) {
  DAICHO_ASSIGN_OR_RETURN(lmdb::WriteTxn txn, env.BeginWrite());
  StoreReplicaDictionary::WriteView view = dict.ForWrite(txn);
  std::vector<uint32_t> out;
  for (const ReplicaId& id : ids) {
    DAICHO_ASSIGN_OR_RETURN(uint32_t index, view.IndexOf(id));
    out.push_back(index);
  }
  DAICHO_RETURN_IF_ERROR(txn.Commit());
  return out;
}

TEST(ReplicaDictionaryTest, MemoryDictionaryAssignsInOrderOfFirstUse) {
  MemoryReplicaDictionary dict;
  EXPECT_EQ(*dict.IndexOf(IdOf(5)), 0u);
  EXPECT_EQ(*dict.IndexOf(IdOf(3)), 1u);
  EXPECT_EQ(*dict.IndexOf(IdOf(5)), 0u);
  EXPECT_EQ(*dict.IdAt(1), IdOf(3));
  EXPECT_EQ(dict.IdAt(2).status().code(), Code::kCorruption);
}

TEST(ReplicaDictionaryTest, KeysAreDenseAndSortByIndex) {
  EXPECT_EQ(ReplicaDictionaryKey(0), std::string("replica\0\0\0\0\0", 12));
  EXPECT_LT(ReplicaDictionaryKey(255), ReplicaDictionaryKey(256));
  EXPECT_LT(ReplicaDictionaryKey(65535), ReplicaDictionaryKey(1u << 24));
}

// Two dictionaries on one store stand for two processes: each one's cache
// goes stale when the other assigns, and neither may reuse an index.
TEST(ReplicaDictionaryTest, StaleCachesCatchUpInsteadOfReassigning) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("s"));
  ASSERT_DAICHO_OK(store);
  StoreReplicaDictionary one(store->meta), two(store->meta);

  auto first = Assign(store->env, one, {IdOf(1), IdOf(2)});
  ASSERT_DAICHO_OK(first);
  EXPECT_EQ(*first, (std::vector<uint32_t>{0, 1}));
  // `two` has cached nothing: it must find 1 and 2, not give them new indexes.
  auto second = Assign(store->env, two, {IdOf(3), IdOf(2), IdOf(1)});
  ASSERT_DAICHO_OK(second);
  EXPECT_EQ(*second, (std::vector<uint32_t>{2, 1, 0}));
  // `one` has cached 1 and 2 only; IdOf(3) is found, IdOf(4) gets 3.
  auto third = Assign(store->env, one, {IdOf(4), IdOf(3)});
  ASSERT_DAICHO_OK(third);
  EXPECT_EQ(*third, (std::vector<uint32_t>{3, 2}));

  // A reader with a stale cache meets an index it lacks: it reads it.
  StoreReplicaDictionary reader(store->meta);
  auto txn = store->env.BeginRead();
  ASSERT_DAICHO_OK(txn);
  StoreReplicaDictionary::ReadView view = reader.ForRead(*txn);
  EXPECT_EQ(*view.IdAt(3), IdOf(4));
  EXPECT_EQ(*view.IndexOf(IdOf(3)), 2u);
  EXPECT_EQ(view.IdAt(4).status().code(), Code::kCorruption);
  EXPECT_EQ(view.IndexOf(IdOf(99)).status().code(), Code::kInternal) << "a read view cannot assign";
  EXPECT_EQ(reader.TEST_cached_size(), 4u);

  auto entries = ReadEntries(store->env, store->meta);
  ASSERT_DAICHO_OK(entries);
  EXPECT_EQ(*entries, (std::vector<ReplicaId>{IdOf(1), IdOf(2), IdOf(3), IdOf(4)}));
}

// An index assigned in a transaction that aborts was never assigned: no
// cache may remember it.
TEST(ReplicaDictionaryTest, AbortedAssignmentLeavesNoTrace) {
  TempDir tmp;
  auto store = OpenStore(tmp.Sub("s"));
  ASSERT_DAICHO_OK(store);
  StoreReplicaDictionary dict(store->meta);
  {
    auto txn = store->env.BeginWrite();
    ASSERT_DAICHO_OK(txn);
    StoreReplicaDictionary::WriteView view = dict.ForWrite(*txn);
    EXPECT_EQ(*view.IndexOf(IdOf(7)), 0u);
    EXPECT_EQ(*view.IdAt(0), IdOf(7));
    EXPECT_EQ(view.TEST_assigned(), 1u);
  }  // aborted
  EXPECT_EQ(dict.TEST_cached_size(), 0u);
  auto assigned = Assign(store->env, dict, {IdOf(8), IdOf(7)});
  ASSERT_DAICHO_OK(assigned);
  EXPECT_EQ(*assigned, (std::vector<uint32_t>{0, 1}));
}

void WaitForGo(int fd) {
  char byte;
  while (read(fd, &byte, 1) < 0 && errno == EINTR) {
  }
}

// Two processes assign overlapping sets of ids in different orders, in many
// small transactions at once. Every id ends up with exactly one index, the
// indexes are dense, and what each process was told agrees with the store.
TEST(ReplicaDictionaryTest, TwoProcessesAssigningAtOnceAgree) {
  TempDir tmp;
  const std::string dir = tmp.Sub("s");
  ASSERT_DAICHO_OK(OpenStore(dir));  // created, then closed before the fork
  constexpr uint32_t kIds = 60;
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> children;
  for (int child = 0; child < 2; ++child) {
    const std::string report = tmp.Sub("report" + std::to_string(child));
    children.push_back(ForkAndRun([&, child]() -> int {
      close(go[1]);
      WaitForGo(go[0]);
      auto store = OpenStore(dir);
      if (!store.ok()) return 2;
      StoreReplicaDictionary dict(store->meta);
      std::vector<ReplicaId> ids;
      for (uint32_t i = 0; i < kIds; ++i) ids.push_back(IdOf(i));
      std::mt19937 rng(static_cast<unsigned>(child) + 11);
      std::shuffle(ids.begin(), ids.end(), rng);
      FILE* out = std::fopen(report.c_str(), "w");
      if (out == nullptr) return 3;
      for (size_t start = 0; start < ids.size(); start += 3) {
        const std::vector<ReplicaId> batch(ids.begin() + static_cast<long>(start),
                                           ids.begin() + static_cast<long>(std::min(start + 3, ids.size())));
        auto indexes = Assign(store->env, dict, batch);
        if (!indexes.ok()) return 4;
        for (size_t k = 0; k < batch.size(); ++k) std::fprintf(out, "%s %u\n", batch[k].ToHex().c_str(), (*indexes)[k]);
      }
      std::fclose(out);
      return 0;
    }));
  }
  close(go[0]);
  close(go[1]);  // go
  for (pid_t pid : children) EXPECT_EQ(WaitExitCode(pid), 0);

  auto store = OpenStore(dir);
  ASSERT_DAICHO_OK(store);
  auto entries = ReadEntries(store->env, store->meta);
  ASSERT_DAICHO_OK(entries);
  ASSERT_EQ(entries->size(), kIds);
  EXPECT_EQ(std::set<ReplicaId>(entries->begin(), entries->end()).size(), kIds);
  for (int child = 0; child < 2; ++child) {
    FILE* in = std::fopen(tmp.Sub("report" + std::to_string(child)).c_str(), "r");
    ASSERT_NE(in, nullptr);
    char hex[33];
    unsigned index = 0;
    int lines = 0;
    while (std::fscanf(in, "%32s %u", hex, &index) == 2) {
      ++lines;
      ASSERT_LT(index, entries->size());
      EXPECT_EQ((*entries)[index].ToHex(), hex) << "child " << child << " was told index " << index;
    }
    std::fclose(in);
    EXPECT_EQ(lines, static_cast<int>(kIds));
  }
}

// Through the Replica: states name other replicas by index; after a reopen
// (an empty cache) they read back, and the dictionary holds each id once.
TEST(ReplicaDictionaryTest, ReplicaStatesReadBackAfterReopen) {
  TempDir tmp;
  ReplicaOptions options;
  options.create_if_missing = true;
  options.warning_log = [](std::string_view) {};
  std::vector<ReplicaId> writers;
  {
    auto target = Replica::Open(tmp.Sub("target"), options);
    ASSERT_DAICHO_OK(target);
    for (int i = 0; i < 4; ++i) {
      auto source = Replica::Open(tmp.Sub("source" + std::to_string(i)), options);
      ASSERT_DAICHO_OK(source);
      writers.push_back((*source)->id());
      WriteTransaction txn = (*source)->BeginWrite();
      ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value("writer " + std::to_string(i))));
      ASSERT_DAICHO_OK(txn.Add("customers", "c1", "visits", i + 1));
      ASSERT_DAICHO_OK(txn.Commit());
      auto changes = (*source)->ChangesSince(VersionVector());
      ASSERT_DAICHO_OK(changes);
      ASSERT_DAICHO_OK((*target)->Apply(*changes));
    }
    WriteTransaction txn = (*target)->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetAdd("customers", "c1", "tags", "VIP"));
    ASSERT_DAICHO_OK(txn.Commit());
    writers.push_back((*target)->id());
  }
  options.create_if_missing = false;
  auto target = Replica::Open(tmp.Sub("target"), options);
  ASSERT_DAICHO_OK(target);
  auto record = (*target)->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  const FieldView* name = record->Find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->siblings.size(), 4u) << "four concurrent writers, four values";
  const FieldView* visits = record->Find("visits");
  ASSERT_NE(visits, nullptr);
  EXPECT_EQ(visits->value, Value(int64_t{1 + 2 + 3 + 4}));
  target->reset();

  auto env = lmdb::Env::Open(tmp.Sub("target"), lmdb::EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto meta = env->OpenDbi("meta", /*create=*/false);
  ASSERT_DAICHO_OK(meta);
  auto entries = ReadEntries(*env, *meta);
  ASSERT_DAICHO_OK(entries);
  std::sort(writers.begin(), writers.end());
  std::vector<ReplicaId> sorted = *entries;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, writers);
}

}  // namespace
}  // namespace daicho::storage
