// Tests of the public Replica API on LMDB: clocks stepping back or far ahead, several threads at once, map growth.
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

using ::daicho::testing::CreateOptions;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;

class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t now_ms) : now_ms_(now_ms) {}
  uint64_t NowMillis() const override { return now_ms_.load(); }
  void Set(uint64_t ms) { now_ms_.store(ms); }

 private:
  std::atomic<uint64_t> now_ms_;
};

TEST_F(ReplicaTest, StampsStayIncreasingWhenTheClockStepsBackEvenAcrossReopen) {
  auto clock = std::make_shared<ManualClock>(1'700'000'000'000);
  ReplicaOptions options = CreateOptions();
  options.clock = clock;
  HlcTime last;
  {
    auto replica = OpenOrNull(Path("r"), options);
    ASSERT_NE(replica, nullptr);
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("c", "r", "f", Value(1)));
    auto info = txn.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_EQ(info->hlc.wall_ms, 1'700'000'000'000u);
    last = info->hlc;
    clock->Set(1'600'000'000'000);  // the PC's clock is set back
    WriteTransaction again = replica->BeginWrite();
    ASSERT_DAICHO_OK(again.Set("c", "r", "f", Value(2)));
    info = again.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_GT(info->hlc, last);
    last = info->hlc;
  }
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  WriteTransaction txn = replica->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("c", "r", "f", Value(3)));
  auto info = txn.Commit();
  ASSERT_DAICHO_OK(info);
  EXPECT_GT(info->hlc, last) << "the clock state is kept across a reopen";
  EXPECT_EQ(replica->Get("c", "r")->Find("f")->value, Value(3));
}

TEST_F(ReplicaTest, ChangeFromAClockFarAheadIsAppliedButDoesNotDragTheLocalClock) {
  constexpr uint64_t kNow = 1'700'000'000'000;
  constexpr uint64_t kDay = 24 * 3600 * 1000;
  auto wrong_clock = std::make_shared<ManualClock>(kNow + 30 * kDay);  // a PC a month ahead
  auto right_clock = std::make_shared<ManualClock>(kNow);
  ReplicaOptions wrong = CreateOptions();
  wrong.clock = wrong_clock;
  ReplicaOptions right = CreateOptions();
  right.clock = right_clock;
  std::vector<std::string> warnings;
  right.warning_log = [&](std::string_view w) { warnings.emplace_back(w); };
  auto a = OpenOrNull(Path("a"), wrong);
  auto b = OpenOrNull(Path("b"), right);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("from the future")));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  EXPECT_EQ(b->Get("customers", "c1")->Find("name")->value, Value("from the future"));
  EXPECT_EQ(warnings.size(), 1u);

  WriteTransaction txn = b->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", "c2", "name", Value("now")));
  auto info = txn.Commit();
  ASSERT_DAICHO_OK(info);
  EXPECT_EQ(info->hlc.wall_ms, kNow) << "the local clock was dragged to the remote stamp";

  // A stamp within the allowed skew is adopted: later local stamps sort after it.
  auto close_clock = std::make_shared<ManualClock>(kNow + 1000);
  ReplicaOptions close = CreateOptions();
  close.clock = close_clock;
  auto c = OpenOrNull(Path("c"), close);
  ASSERT_NE(c, nullptr);
  WriteTransaction from_c = c->BeginWrite();
  ASSERT_DAICHO_OK(from_c.Set("customers", "c3", "name", Value("a second ahead")));
  auto c_info = from_c.Commit();
  ASSERT_DAICHO_OK(c_info);
  ASSERT_DAICHO_OK(Pull(*b, *c));
  WriteTransaction later = b->BeginWrite();
  ASSERT_DAICHO_OK(later.Set("customers", "c3", "name", Value("edited after")));
  info = later.Commit();
  ASSERT_DAICHO_OK(info);
  EXPECT_GT(info->hlc, c_info->hlc);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(ReplicaTest, ConcurrentCommitsAppliesAndReadsFromSeveralThreads) {
  ReplicaOptions options = CreateOptions();
  options.initial_map_bytes = 256 << 10;  // growth while other threads work
  auto replica = OpenOrNull(Path("r"), options);
  auto source = OpenOrNull(Path("source"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_NE(source, nullptr);
  constexpr int kSourceCommits = 60;
  for (int i = 0; i < kSourceCommits; ++i) {
    WriteTransaction txn = source->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("remote", "r" + std::to_string(i), "f", Value(std::string(4000, 'r'))));
    ASSERT_DAICHO_OK(txn.Add("shared", "counter", "n", 1));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  constexpr int kThreads = 4;
  constexpr int kCommitsPerThread = 25;
  std::atomic<int> errors{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        WriteTransaction txn = replica->BeginWrite();
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!txn.Set("local", id, "f", Value(std::string(3000, 'l'))).ok()) ++errors;
        if (!txn.Add("shared", "counter", "n", 1).ok()) ++errors;
        if (!txn.Commit().ok()) ++errors;
      }
    });
  }
  threads.emplace_back([&] {  // applies the source's changes in small batches
    for (int guard = 0; guard < 1000; ++guard) {
      auto vv = replica->GetVersionVector();
      auto batch = source->ChangesSince(*vv, 10000);
      if (!batch.ok()) ++errors;
      if (!batch.ok() || batch->empty()) break;
      if (!replica->Apply(*batch).ok()) ++errors;
    }
  });
  std::thread reader([&] {
    while (!done.load()) {
      ListOptions all;
      all.limit = 0;
      if (!replica->List("local", all).ok()) ++errors;
      if (!replica->ChangesSince(VersionVector()).ok()) ++errors;
      auto counter = replica->Get("shared", "counter");
      if (!counter.ok() && counter.status().code() != Code::kNotFound) ++errors;
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);

  auto vv = replica->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(replica->id()), static_cast<uint64_t>(kThreads * kCommitsPerThread));
  EXPECT_EQ(vv->Get(source->id()), static_cast<uint64_t>(kSourceCommits));
  EXPECT_EQ(replica->Get("shared", "counter")->Find("n")->value, Value(kThreads * kCommitsPerThread + kSourceCommits));
  ListOptions all;
  all.limit = 0;
  EXPECT_EQ(replica->List("local", all)->records.size(), static_cast<size_t>(kThreads * kCommitsPerThread));
  auto changes = replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_EQ(changes->size(), static_cast<size_t>(kThreads * kCommitsPerThread + kSourceCommits));
}

TEST_F(ReplicaTest, TinyInitialMapGrowsToHoldSeveralMegabytes) {
  ReplicaOptions options = CreateOptions();
  options.initial_map_bytes = 256 << 10;
  constexpr int kTransactions = 24;
  constexpr int kFieldsPerTransaction = 8;
  constexpr size_t kValueBytes = 30 << 10;  // 24 * 8 * 30 KiB = 5.6 MiB
  auto value_for = [](int t, int f) {
    std::string v = std::to_string(t) + "/" + std::to_string(f) + ":";
    v.resize(kValueBytes, static_cast<char>('a' + (t + f) % 26));
    return v;
  };
  {
    auto replica = OpenOrNull(Path("r"), options);
    ASSERT_NE(replica, nullptr);
    for (int t = 0; t < kTransactions; ++t) {
      WriteTransaction txn = replica->BeginWrite();
      for (int f = 0; f < kFieldsPerTransaction; ++f) {
        ASSERT_DAICHO_OK(txn.Set("docs", "d" + std::to_string(t), "part" + std::to_string(f), Value(value_for(t, f))));
      }
      ASSERT_DAICHO_OK(txn.Commit());
    }
    // One value near the default per-value limit on its own.
    ASSERT_DAICHO_OK(SetValue(*replica, "docs", "big", "scan", Value(Bytes{std::string(1000 << 10, '\x01')})));
  }
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->GetVersionVector()->Get(replica->id()), static_cast<uint64_t>(kTransactions + 1));
  for (int t = 0; t < kTransactions; ++t) {
    auto record = replica->Get("docs", "d" + std::to_string(t));
    ASSERT_DAICHO_OK(record);
    ASSERT_EQ(record->fields.size(), static_cast<size_t>(kFieldsPerTransaction));
    for (int f = 0; f < kFieldsPerTransaction; ++f) {
      EXPECT_EQ(record->fields[f].value, Value(value_for(t, f))) << t << "/" << f;
    }
  }
  EXPECT_EQ(replica->Get("docs", "big")->Find("scan")->value.as_bytes().data.size(), size_t{1000 << 10});
  // And it keeps growing after a reopen with the same tiny setting.
  for (int t = 0; t < 8; ++t) {
    ASSERT_DAICHO_OK(
        SetValue(*replica, "docs", "more" + std::to_string(t), "f", Value(Bytes{std::string(600 << 10, 'm')})));
  }
  auto changes = replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  EXPECT_EQ(changes->size(), static_cast<size_t>(kTransactions + 9));
}

// Readers on other threads keep working while commits grow the map.
TEST_F(ReplicaTest, ReadsOnOtherThreadsSurviveMapGrowth) {
  ReplicaOptions options = CreateOptions();
  options.initial_map_bytes = 256 << 10;
  auto replica = OpenOrNull(Path("r"), options);
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "docs", "d0", "f", Value("first")));
  std::atomic<bool> done{false};
  std::atomic<int> read_errors{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto record = replica->Get("docs", "d0");
      if (!record.ok() || record->Find("f")->value != Value("first")) ++read_errors;
      auto page = replica->List("docs");
      if (!page.ok()) ++read_errors;
      ++reads;
    }
  });
  for (int t = 1; t <= 16; ++t) {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("docs", "d" + std::to_string(t), "f", Value(Bytes{std::string(200 << 10, 'x')})));
    auto committed = txn.Commit();
    EXPECT_DAICHO_OK(committed);
  }
  done = true;
  reader.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(replica->GetVersionVector()->Total(), 17u);
}

}  // namespace
}  // namespace daicho
