#include "storage/lmdb/verify.h"

#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

namespace fs = std::filesystem;
using daicho::testing::ForkAndRun;
using daicho::testing::TempDir;

// Offsets of the LMDB 0.9 on-disk format that the damage below aims at.
constexpr size_t kPageSizeAt = 40;       // meta: FREE_DBI.md_pad
constexpr size_t kMainRootAt = 128;      // meta: MAIN_DBI.md_root
constexpr size_t kTxnIdAt = 144;         // meta: mm_txnid
constexpr size_t kPageFlagsAt = 10;      // page header
constexpr size_t kOverflowPagesAt = 12;  // page header of an overflow page
constexpr size_t kPageHeaderSize = 16;
constexpr uint16_t kBranch = 0x01;
constexpr uint16_t kLeaf = 0x02;
constexpr uint16_t kOverflow = 0x04;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
T Get(const std::string& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(value));
  return value;
}

template <typename T>
void Set(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof(value));
}

size_t PageSizeOf(const std::string& bytes) { return Get<uint32_t>(bytes, kPageSizeAt); }

// The meta page LMDB uses: the one with the larger txnid.
size_t NewestMeta(const std::string& bytes) {
  const size_t ps = PageSizeOf(bytes);
  return Get<uint64_t>(bytes, ps + kTxnIdAt) > Get<uint64_t>(bytes, kTxnIdAt) ? 1 : 0;
}

// Pages whose header carries exactly `flags` (live or free: callers that need
// live pages use an environment written in a single transaction).
std::vector<size_t> PagesWithFlags(const std::string& bytes, uint16_t flags) {
  const size_t ps = PageSizeOf(bytes);
  std::vector<size_t> pages;
  for (size_t p = 2; p < bytes.size() / ps; ++p) {
    if (Get<uint64_t>(bytes, p * ps) == p && Get<uint16_t>(bytes, p * ps + kPageFlagsAt) == flags) {
      pages.push_back(p);
    }
  }
  return pages;
}

std::string Key(int i, size_t width) {
  std::string key = std::to_string(1000000 + i);
  key.resize(width, static_cast<char>('a' + i % 26));
  return key;
}

std::string Value(int i, size_t size) {
  std::string value(size, '\0');
  for (size_t j = 0; j < size; ++j) value[j] = static_cast<char>('A' + (i + j) % 53);
  return value;
}

MDB_stat StatOf(Env& env, MDB_dbi dbi) {
  MDB_stat st{};
  auto txn = env.BeginRead();
  EXPECT_TRUE(txn.ok()) << txn.status();
  if (txn.ok()) {
    EXPECT_EQ(mdb_stat(txn->raw(), dbi, &st), 0);
  }
  return st;
}

// Shape of a ledger-like environment built through the Env wrappers.
struct Shape {
  int records = 0;       // entries of "records"
  size_t key_width = 0;  // long keys make deep trees from few entries
  size_t value_size = 0;
  int big_values = 0;  // entries of "changes", on overflow pages
  int batch = 0;       // records per transaction
  bool single_commit = false;
};

// Writes the environment; with !single_commit, also deletes a third of the
// records and some big values in later commits so the freelist is not empty.
void Build(const fs::path& dir, const Shape& shape) {
  auto env = Env::Open(dir.string(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto meta = env->OpenDbi("meta", true);
  auto records = env->OpenDbi("records", true);
  auto changes = env->OpenDbi("changes", true);
  auto conflicts = env->OpenDbi("conflicts", true);  // stays empty
  ASSERT_DAICHO_OK(meta);
  ASSERT_DAICHO_OK(records);
  ASSERT_DAICHO_OK(changes);
  ASSERT_DAICHO_OK(conflicts);
  const int batch = shape.single_commit ? shape.records + 1 : shape.batch;
  for (int first = 0; first < shape.records; first += batch) {
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    for (int i = first; i < first + batch && i < shape.records; ++i) {
      ASSERT_DAICHO_OK(txn->Put(*records, Key(i, shape.key_width), Value(i, shape.value_size)));
    }
    if (first == 0) {
      ASSERT_DAICHO_OK(txn->Put(*meta, "schema", "daicho-1"));
      ASSERT_DAICHO_OK(txn->Put(*meta, "replica", "r-0001"));
      for (int i = 0; i < shape.big_values; ++i) {
        ASSERT_DAICHO_OK(txn->Put(*changes, Key(i, 8), Value(i, 3000 + 997 * static_cast<size_t>(i % 17))));
      }
    }
    ASSERT_DAICHO_OK(txn->Commit());
  }
  if (shape.single_commit) return;
  auto txn = env->BeginWrite();
  ASSERT_DAICHO_OK(txn);
  for (int i = 0; i < shape.records; i += 3) ASSERT_DAICHO_OK(txn->Del(*records, Key(i, shape.key_width)));
  for (int i = 0; i < shape.big_values; i += 4) ASSERT_DAICHO_OK(txn->Del(*changes, Key(i, 8)));
  // A big value shrunk in place keeps its longer overflow run.
  if (shape.big_values > 1) ASSERT_DAICHO_OK(txn->Put(*changes, Key(1, 8), Value(1, 2500)));
  ASSERT_DAICHO_OK(txn->Commit());
  auto again = env->BeginWrite();
  ASSERT_DAICHO_OK(again);
  ASSERT_DAICHO_OK(again->Put(*meta, "last_commit", "2"));
  ASSERT_DAICHO_OK(again->Commit());
}

volatile uint64_t g_sink = 0;

// What a process does with a store at open: list the databases, read every
// one with cursors in both directions and by seeks, then write to each.
// Errors are fine (LMDB may detect damage); only a crash is not. Returns 0.
int ReadAndWriteEverything(const std::string& dir) {
  EnvOptions options;
  options.flags = MDB_NOSYNC;  // test speed only; durability is not under test
  auto env = Env::Open(dir, options);
  if (!env.ok()) return 0;
  std::vector<std::string> names;
  uint64_t sink = 0;
  {
    auto txn = env->BeginRead();
    if (!txn.ok()) return 0;
    auto main = txn->OpenCursor(Dbi{1});  // MAIN_DBI: one entry per named database
    if (!main.ok()) return 0;
    for (Status s = main->First(); s.ok() && main->valid(); s = main->Next()) {
      names.emplace_back(main->key());
    }
  }
  std::vector<Dbi> dbis;
  for (const std::string& name : names) {
    auto dbi = env->OpenDbi(name, false);
    if (dbi.ok()) dbis.push_back(*dbi);
  }
  for (const Dbi& dbi : dbis) {
    auto txn = env->BeginRead();
    if (!txn.ok()) continue;
    auto cursor = txn->OpenCursor(dbi);
    if (!cursor.ok()) continue;
    std::vector<std::string> some_keys;
    int n = 0;
    for (Status s = cursor->First(); s.ok() && cursor->valid(); s = cursor->Next(), ++n) {
      for (char c : cursor->key()) sink += static_cast<unsigned char>(c);
      for (char c : cursor->value()) sink += static_cast<unsigned char>(c);
      if (n % 7 == 0) some_keys.emplace_back(cursor->key());
    }
    for (Status s = cursor->Last(); s.ok() && cursor->valid(); s = cursor->Prev()) {
      sink += cursor->value().size();
    }
    for (const std::string& key : some_keys) {
      if (cursor->Seek(key).ok() && cursor->valid()) sink += cursor->value().size();
      auto got = txn->Get(dbi, key);
      if (got.ok()) sink += got->size();
    }
  }
  {
    auto txn = env->BeginWrite();
    if (!txn.ok()) return 0;
    for (const Dbi& dbi : dbis) {
      std::string first;
      {
        auto cursor = txn->OpenCursor(dbi);
        if (cursor.ok() && cursor->First().ok() && cursor->valid()) first = std::string(cursor->key());
      }
      if (!txn->Put(dbi, "zz-written-after-open", std::string(3000, 'w')).ok()) break;
      if (!first.empty() && !txn->Del(dbi, first).ok()) break;
    }
    (void)txn->Commit();
  }
  g_sink = sink;  // keeps the reads from being optimized out
  return 0;
}

struct ChildEnd {
  bool signaled = false;
  int signal = 0;
};

ChildEnd ExerciseInChild(const fs::path& dir) {
  const pid_t pid = ForkAndRun([&] {
    ::alarm(60);  // a hang shows up as SIGALRM
    return ReadAndWriteEverything(dir.string());
  });
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return ChildEnd{WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

struct Tally {
  int refused = 0;
  int accepted = 0;
};

// The property that matters: VerifyDataFile refuses the damaged file, or
// LMDB can use it without crashing.
void ExpectRefusedOrUsable(const fs::path& case_dir, const std::string& bytes, const std::string& label, Tally* tally) {
  std::error_code ec;
  fs::remove_all(case_dir, ec);
  fs::create_directories(case_dir);
  WriteFile(case_dir / "data.mdb", bytes);
  const Status status = VerifyDataFile((case_dir / "data.mdb").string());
  if (!status.ok()) {
    EXPECT_TRUE(status.code() == Code::kCorruption || status.code() == Code::kIoError) << label << ": " << status;
    ++tally->refused;
    return;
  }
  ++tally->accepted;
  const ChildEnd end = ExerciseInChild(case_dir);
  EXPECT_FALSE(end.signaled) << label << ": verified Ok, but LMDB died from signal " << end.signal << " ("
                             << strsignal(end.signal) << ")";
}

class VerifyDataFileTest : public ::testing::Test {
 protected:
  fs::path EnvDir(const std::string& name) {
    fs::path dir = tmp_.path() / name;
    fs::create_directories(dir);
    return dir;
  }
  static std::string DataFile(const fs::path& dir) { return (dir / "data.mdb").string(); }

  // A few dozen pages: every one of them can be damaged in turn.
  fs::path BuildSmall() {
    fs::path dir = EnvDir("small");
    Build(dir, Shape{.records = 150, .key_width = 100, .value_size = 60, .big_values = 6, .batch = 50});
    return dir;
  }
  // Depth 3 in "records", overflow values, a non-empty freelist.
  fs::path BuildLarge() {
    fs::path dir = EnvDir("large");
    Build(dir, Shape{.records = 3000, .key_width = 300, .value_size = 40, .big_values = 40, .batch = 500});
    return dir;
  }

  TempDir tmp_;
};

TEST_F(VerifyDataFileTest, FreshEnvironmentVerifies) {
  const fs::path dir = EnvDir("fresh");
  { ASSERT_DAICHO_OK(Env::Open(dir.string(), EnvOptions{})); }
  ASSERT_DAICHO_OK(VerifyDataFile(DataFile(dir)));
  {
    auto env = Env::Open(dir.string(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
    ASSERT_DAICHO_OK(env->OpenDbi("records", true));  // one commit, empty database
  }
  EXPECT_DAICHO_OK(VerifyDataFile(DataFile(dir)));
}

TEST_F(VerifyDataFileTest, DeepTreesOverflowValuesAndFreelistVerify) {
  const fs::path dir = BuildLarge();
  {
    auto env = Env::Open(dir.string(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto records = env->OpenDbi("records", false);
    auto changes = env->OpenDbi("changes", false);
    ASSERT_DAICHO_OK(records);
    ASSERT_DAICHO_OK(changes);
    EXPECT_GE(StatOf(*env, records->handle).ms_depth, 3u);
    EXPECT_GT(StatOf(*env, changes->handle).ms_overflow_pages, 0u);
    EXPECT_GT(StatOf(*env, 0).ms_entries, 0u);  // FREE_DBI: freed pages recorded
  }
  EXPECT_DAICHO_OK(VerifyDataFile(DataFile(dir)));
}

TEST_F(VerifyDataFileTest, EnvironmentVerifiesAfterEveryCommitAndAfterGrow) {
  const fs::path dir = EnvDir("grow");
  EnvOptions options;
  options.map_size = 1 << 20;
  auto env = Env::Open(dir.string(), options);
  ASSERT_DAICHO_OK(env);
  auto dbi = env->OpenDbi("records", true);
  ASSERT_DAICHO_OK(dbi);
  int grows = 0;
  std::mt19937 rng(7);
  for (int round = 0; round < 30; ++round) {
    for (;;) {
      auto txn = env->BeginWrite();
      ASSERT_DAICHO_OK(txn);
      Status status;
      for (int i = 0; i < 60 && status.ok(); ++i) {
        const int k = static_cast<int>(rng() % 2000);
        status = (rng() % 4 == 0) ? txn->Del(*dbi, Key(k, 40)) : txn->Put(*dbi, Key(k, 40), Value(k, rng() % 3000));
        if (status.code() == Code::kNotFound) status = Status::Ok();
      }
      if (status.ok()) status = txn->Commit();
      if (status.ok()) break;
      ASSERT_TRUE(txn->map_full()) << status;
      txn->Abort();
      ASSERT_DAICHO_OK(env->Grow());
      ++grows;
    }
    // Verifying beside an open (idle) environment is fine: nothing changes.
    const Status verified = VerifyDataFile(DataFile(dir));
    ASSERT_TRUE(verified.ok()) << "after round " << round << ": " << verified;
  }
  EXPECT_GT(grows, 0);
}

TEST_F(VerifyDataFileTest, CopiesMadeByLmdbVerify) {
  const fs::path dir = BuildSmall();
  auto env = Env::Open(dir.string(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  const fs::path copy = EnvDir("copy");
  const fs::path compact = EnvDir("compact");
  ASSERT_EQ(mdb_env_copy2(env->raw(), copy.c_str(), 0), 0);
  ASSERT_EQ(mdb_env_copy2(env->raw(), compact.c_str(), MDB_CP_COMPACT), 0);
  EXPECT_DAICHO_OK(VerifyDataFile(DataFile(copy)));
  EXPECT_DAICHO_OK(VerifyDataFile(DataFile(compact)));
}

TEST_F(VerifyDataFileTest, MissingFileIsNotFound) {
  const Status status = VerifyDataFile((tmp_.path() / "nope" / "data.mdb").string());
  EXPECT_EQ(status.code(), Code::kNotFound) << status;
}

TEST_F(VerifyDataFileTest, DirectoryIsIoError) {
  const Status status = VerifyDataFile(tmp_.path().string());
  EXPECT_EQ(status.code(), Code::kIoError) << status;
}

TEST_F(VerifyDataFileTest, EmptyFileIsCorruption) {
  WriteFile(tmp_.path() / "data.mdb", "");
  const Status status = VerifyDataFile((tmp_.path() / "data.mdb").string());
  EXPECT_EQ(status.code(), Code::kCorruption) << status;
  EXPECT_NE(status.message().find("empty"), std::string::npos) << status;
}

TEST_F(VerifyDataFileTest, TruncatedFileIsCorruption) {
  const std::string bytes = ReadFile(BuildLarge() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const fs::path file = tmp_.path() / "cut.mdb";
  struct Cut {
    size_t size;
    const char* expect;
  };
  for (const Cut& cut : {Cut{100, "too short"}, Cut{ps, "too short"}, Cut{bytes.size() - 100, "whole number"},
                         Cut{bytes.size() / 2 / ps * ps, "beyond the end of the file"},
                         Cut{bytes.size() / 8 * 7 / ps * ps, "beyond the end of the file"}}) {
    WriteFile(file, bytes.substr(0, cut.size));
    const Status status = VerifyDataFile(file.string());
    EXPECT_EQ(status.code(), Code::kCorruption) << "cut at " << cut.size << ": " << status;
    EXPECT_NE(status.message().find(cut.expect), std::string::npos) << status;
  }
}

TEST_F(VerifyDataFileTest, ZeroedMetaPagesAreCorruption) {
  const std::string bytes = ReadFile(BuildSmall() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const fs::path file = tmp_.path() / "zeroed.mdb";
  for (int mask = 1; mask <= 3; ++mask) {
    std::string damaged = bytes;
    if (mask & 1) std::fill_n(damaged.begin(), ps, '\0');
    if (mask & 2) std::fill_n(damaged.begin() + static_cast<std::ptrdiff_t>(ps), ps, '\0');
    WriteFile(file, damaged);
    const Status status = VerifyDataFile(file.string());
    EXPECT_EQ(status.code(), Code::kCorruption) << "mask " << mask << ": " << status;
    EXPECT_NE(status.message().find("meta page"), std::string::npos) << status;
  }
}

TEST_F(VerifyDataFileTest, DamagedTxnIdIsCorruption) {
  const std::string bytes = ReadFile(BuildSmall() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const size_t newest = NewestMeta(bytes);
  const uint64_t txnid = Get<uint64_t>(bytes, newest * ps + kTxnIdAt);
  const fs::path file = tmp_.path() / "txnid.mdb";
  // The older meta made to look newest (it would make LMDB open a stale
  // snapshot), with the wrong and with the right parity; and made older still.
  for (uint64_t forged : {txnid + 1000, txnid + 1001, uint64_t{0}, txnid - 3}) {
    std::string damaged = bytes;
    Set<uint64_t>(damaged, (1 - newest) * ps + kTxnIdAt, forged);
    WriteFile(file, damaged);
    const Status status = VerifyDataFile(file.string());
    EXPECT_EQ(status.code(), Code::kCorruption) << "txnid " << forged << ": " << status;
    EXPECT_NE(status.message().find("txnid"), std::string::npos) << status;
  }
}

TEST_F(VerifyDataFileTest, BranchPointerPastTheEndNamesThePage) {
  const fs::path dir = EnvDir("single");
  Build(dir, Shape{.records = 400, .key_width = 200, .value_size = 30, .big_values = 4, .single_commit = true});
  std::string bytes = ReadFile(dir / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const std::vector<size_t> branches = PagesWithFlags(bytes, kBranch);
  ASSERT_FALSE(branches.empty());
  const size_t page = branches.front() * ps;
  const size_t node = page + Get<uint16_t>(bytes, page + kPageHeaderSize);  // node 0
  Set<uint16_t>(bytes, node + 2, 0x7fff);                                   // high bits of the child page number
  WriteFile(dir / "data.mdb", bytes);
  const Status status = VerifyDataFile(DataFile(dir));
  EXPECT_EQ(status.code(), Code::kCorruption) << status;
  EXPECT_NE(status.message().find("referenced by page " + std::to_string(branches.front())), std::string::npos)
      << status;
  EXPECT_NE(status.message().find("beyond"), std::string::npos) << status;
}

TEST_F(VerifyDataFileTest, OverflowRunTooShortNamesThePage) {
  const fs::path dir = EnvDir("single");
  Build(dir, Shape{.records = 20, .key_width = 20, .value_size = 30, .big_values = 4, .single_commit = true});
  std::string bytes = ReadFile(dir / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const std::vector<size_t> overflows = PagesWithFlags(bytes, kOverflow);
  ASSERT_FALSE(overflows.empty());
  Set<uint32_t>(bytes, overflows.front() * ps + kOverflowPagesAt, 0);
  WriteFile(dir / "data.mdb", bytes);
  const Status status = VerifyDataFile(DataFile(dir));
  EXPECT_EQ(status.code(), Code::kCorruption) << status;
  EXPECT_NE(status.message().find("overflow page " + std::to_string(overflows.front())), std::string::npos) << status;
}

TEST_F(VerifyDataFileTest, DupSortDatabaseIsRefusedAsUnsupported) {
  const fs::path dir = EnvDir("dupsort");
  {
    auto env = Env::Open(dir.string(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn->raw(), "dups", MDB_CREATE | MDB_DUPSORT, &dbi), 0);
    for (const char* data : {"one", "two"}) {
      MDB_val key{3, const_cast<char*>("key")};
      MDB_val value{std::strlen(data), const_cast<char*>(data)};
      ASSERT_EQ(mdb_put(txn->raw(), dbi, &key, &value, 0), 0);
    }
    ASSERT_DAICHO_OK(txn->Commit());
  }
  const Status status = VerifyDataFile(DataFile(dir));
  EXPECT_EQ(status.code(), Code::kCorruption) << status;
  EXPECT_NE(status.message().find("DUPSORT"), std::string::npos) << status;
}

TEST_F(VerifyDataFileTest, DamagedNewestSnapshotTellsAboutThePreviousOne) {
  std::string bytes = ReadFile(BuildSmall() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const uint64_t root = Get<uint64_t>(bytes, NewestMeta(bytes) * ps + kMainRootAt);
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(root * ps), ps, '\0');
  const fs::path file = tmp_.path() / "newest.mdb";
  WriteFile(file, bytes);
  const Status status = VerifyDataFile(file.string());
  EXPECT_EQ(status.code(), Code::kCorruption) << status;
  EXPECT_NE(status.message().find("page " + std::to_string(root)), std::string::npos) << status;
  EXPECT_NE(status.message().find("previous snapshot"), std::string::npos) << status;
}

// Every page of a small store in turn: all of it random, or a few bytes of it.
TEST_F(VerifyDataFileTest, DamageToAnyPageIsRefusedOrHarmless) {
  const std::string bytes = ReadFile(BuildSmall() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const size_t pages = bytes.size() / ps;
  ASSERT_GE(pages, 20u);
  const fs::path case_dir = tmp_.path() / "case";
  Tally tally;
  for (size_t p = 0; p < pages; ++p) {
    std::mt19937 rng(static_cast<unsigned>(p) + 1);
    std::string whole = bytes;
    for (size_t i = 0; i < ps; ++i) whole[p * ps + i] = static_cast<char>(rng());
    ExpectRefusedOrUsable(case_dir, whole, "random page " + std::to_string(p), &tally);
    for (int variant = 0; variant < 3; ++variant) {
      std::string patched = bytes;
      const size_t at = p * ps + rng() % (ps - 8);
      for (size_t i = 0; i < 8; ++i) patched[at + i] = static_cast<char>(rng());
      ExpectRefusedOrUsable(case_dir, patched, "8 random bytes at offset " + std::to_string(at), &tally);
    }
  }
  std::cout << "[          ] " << pages << " pages: " << tally.refused << " damaged files refused, " << tally.accepted
            << " accepted and used without a crash\n";
  EXPECT_GT(tally.refused, 0);
  EXPECT_GT(tally.accepted, 0);
}

// A bad sector or half-restored backup: 4096 random bytes anywhere.
TEST_F(VerifyDataFileTest, RandomOverwritesAreRefusedOrHarmless) {
  const std::string bytes = ReadFile(BuildLarge() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const fs::path case_dir = tmp_.path() / "case";
  std::vector<size_t> offsets = {bytes.size() * 35 / 100 / ps * ps, bytes.size() / 2 / ps * ps, bytes.size() * 35 / 100,
                                 bytes.size() / 2};
  std::mt19937_64 rng(20240229);
  while (offsets.size() < 240) offsets.push_back(rng() % (bytes.size() - 4096));
  Tally tally;
  for (size_t c = 0; c < offsets.size(); ++c) {
    std::mt19937 fill(static_cast<unsigned>(c) + 1000);
    std::string damaged = bytes;
    for (size_t i = 0; i < 4096; ++i) damaged[offsets[c] + i] = static_cast<char>(fill());
    ExpectRefusedOrUsable(case_dir, damaged, "4096 random bytes at offset " + std::to_string(offsets[c]), &tally);
  }
  std::cout << "[          ] " << offsets.size() << " overwrites: " << tally.refused << " refused, " << tally.accepted
            << " accepted and used without a crash\n";
  EXPECT_GT(tally.refused, 0);
  EXPECT_GT(tally.accepted, 0);
}

// Damage aimed at what LMDB dereferences: page headers, index entries, node
// headers and meta fields, a few bytes at a time (the damage most likely to
// look plausible).
TEST_F(VerifyDataFileTest, DamagedStructureBytesAreRefusedOrHarmless) {
  const std::string bytes = ReadFile(BuildLarge() / "data.mdb");
  const size_t ps = PageSizeOf(bytes);
  const fs::path case_dir = tmp_.path() / "case";
  std::vector<size_t> pages = PagesWithFlags(bytes, kBranch);
  for (size_t p : PagesWithFlags(bytes, kLeaf)) pages.push_back(p);
  ASSERT_GT(pages.size(), 50u);
  std::mt19937_64 rng(99);
  std::shuffle(pages.begin(), pages.end(), rng);
  pages.resize(120);
  Tally tally;
  for (size_t p : pages) {
    const size_t page = p * ps;
    const size_t keys = (Get<uint16_t>(bytes, page + 12) - kPageHeaderSize) / 2;
    for (int variant = 0; variant < 3; ++variant) {
      std::string damaged = bytes;
      size_t at = page + rng() % kPageHeaderSize;                                      // page header
      if (variant == 1) at = page + kPageHeaderSize + 2 * (rng() % keys) + rng() % 2;  // an index entry
      if (variant == 2) at = page + Get<uint16_t>(bytes, page + kPageHeaderSize + 2 * (rng() % keys)) + rng() % 8;
      damaged[at] = static_cast<char>(damaged[at] ^ static_cast<char>(1 + rng() % 255));
      ExpectRefusedOrUsable(case_dir, damaged, "byte at offset " + std::to_string(at), &tally);
    }
  }
  for (int i = 0; i < 60; ++i) {  // meta fields, either meta page
    std::string damaged = bytes;
    const size_t at = (i % 2) * ps + kPageHeaderSize + rng() % (kTxnIdAt + 8 - kPageHeaderSize);
    damaged[at] = static_cast<char>(damaged[at] ^ static_cast<char>(1 + rng() % 255));
    ExpectRefusedOrUsable(case_dir, damaged, "meta byte at offset " + std::to_string(at), &tally);
  }
  std::cout << "[          ] structure bytes: " << tally.refused << " refused, " << tally.accepted
            << " accepted and used without a crash\n";
  EXPECT_GT(tally.refused, 0);
}

// Verifying beside a writer (what another process could do) never calls a
// sound file damaged: the verdict is Ok, or kBusy when a commit came between.
TEST_F(VerifyDataFileTest, ConcurrentCommitsGiveOkOrBusyNeverCorruption) {
  const fs::path dir = BuildSmall();
  auto env = Env::Open(dir.string(), EnvOptions{.flags = MDB_NOSYNC});
  ASSERT_DAICHO_OK(env);
  auto dbi = env->OpenDbi("records", false);
  ASSERT_DAICHO_OK(dbi);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937 rng(3);
    for (int round = 0; round < 400; ++round) {
      auto txn = env->BeginWrite();
      if (!txn.ok()) break;
      for (int i = 0; i < 20; ++i) {
        const int k = static_cast<int>(rng() % 400);
        if (rng() % 3 == 0) {
          (void)txn->Del(*dbi, Key(k, 100));
        } else {
          (void)txn->Put(*dbi, Key(k, 100), Value(k, rng() % 6000));
        }
      }
      if (!txn->Commit().ok()) break;
    }
    done = true;
  });
  int ok = 0, busy = 0;
  while (!done) {
    const Status status = VerifyDataFile(DataFile(dir));
    if (status.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(status.code(), Code::kBusy) << status;
      ++busy;
    }
  }
  writer.join();
  EXPECT_DAICHO_OK(VerifyDataFile(DataFile(dir)));
  std::cout << "[          ] beside a writer: " << ok << " Ok, " << busy << " busy\n";
}

}  // namespace
}  // namespace daicho::storage::lmdb
