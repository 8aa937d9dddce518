#include "storage/lmdb/env.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "storage/lmdb/error.h"
#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

namespace fs = std::filesystem;
using daicho::testing::TempDir;

void WriteRandomFile(const fs::path& path, size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class LmdbEnvTest : public ::testing::Test {
 protected:
  std::string Dir() const { return tmp_.path().string(); }
  TempDir tmp_;
};

TEST_F(LmdbEnvTest, OpenCreatesEnvironmentInExistingDirectory) {
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  EXPECT_TRUE(fs::exists(tmp_.path() / "data.mdb"));
  EXPECT_EQ(env->path(), fs::canonical(tmp_.path()).string());
  EXPECT_GE(env->map_size(), EnvOptions{}.map_size);
  EXPECT_NE(env->raw(), nullptr);
  EXPECT_FALSE(env->read_only());
  EXPECT_DAICHO_OK(env->Sync());
}

TEST_F(LmdbEnvTest, MissingDirectoryIsNotFound) {
  auto env = Env::Open(tmp_.Sub("does-not-exist"), EnvOptions{});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kNotFound) << env.status();
  EXPECT_NE(env.status().message().find("does-not-exist"), std::string::npos) << env.status();
}

TEST_F(LmdbEnvTest, EmptyPathIsInvalidArgument) {
  auto env = Env::Open("", EnvOptions{});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kInvalidArgument);
}

TEST_F(LmdbEnvTest, SecondOpenOfSamePathIsBusy) {
  auto first = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(first);

  auto second = Env::Open(Dir(), EnvOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status();

  // Another spelling of the same directory is the same environment.
  auto dotted = Env::Open(Dir() + "/./", EnvOptions{});
  ASSERT_FALSE(dotted.ok());
  EXPECT_EQ(dotted.status().code(), Code::kBusy) << dotted.status();

  fs::create_directory_symlink(tmp_.path(), tmp_.path().parent_path() / (tmp_.path().filename().string() + "-link"));
  const fs::path link = tmp_.path().parent_path() / (tmp_.path().filename().string() + "-link");
  auto via_link = Env::Open(link.string(), EnvOptions{});
  fs::remove(link);
  ASSERT_FALSE(via_link.ok());
  EXPECT_EQ(via_link.status().code(), Code::kBusy) << via_link.status();
}

TEST_F(LmdbEnvTest, ReopenAllowedAfterFirstEnvDestroyed) {
  {
    auto first = Env::Open(Dir(), EnvOptions{});
    ASSERT_DAICHO_OK(first);
  }
  auto again = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(again);
}

TEST_F(LmdbEnvTest, MovedEnvKeepsPathRegisteredUntilLastOwnerGoes) {
  auto opened = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(opened);
  Env env = std::move(opened).value();
  Env moved = std::move(env);
  EXPECT_EQ(env.raw(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(env.map_size(), 0u);
  EXPECT_EQ(env.BeginRead().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Env::Open(Dir(), EnvOptions{}).status().code(), Code::kBusy);
  { Env sink = std::move(moved); }
  ASSERT_DAICHO_OK(Env::Open(Dir(), EnvOptions{}));
}

TEST_F(LmdbEnvTest, TransactionOutlivingEnvKeepsItOpen) {
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto dbi = env->OpenDbi("data", /*create=*/true);
  ASSERT_DAICHO_OK(dbi);
  {
    auto w = env->BeginWrite();
    ASSERT_DAICHO_OK(w);
    ASSERT_DAICHO_OK(w->Put(*dbi, "k", "v"));
    ASSERT_DAICHO_OK(w->Commit());
  }
  auto r = env->BeginRead();
  ASSERT_DAICHO_OK(r);
  { Env gone = std::move(env).value(); }

  // The environment is still open underneath the read txn, so it stays
  // registered and reads still work.
  EXPECT_EQ(Env::Open(Dir(), EnvOptions{}).status().code(), Code::kBusy);
  auto v = r->Get(*dbi, "k");
  ASSERT_DAICHO_OK(v);
  EXPECT_EQ(*v, "v");

  r->Abort();
  ASSERT_DAICHO_OK(Env::Open(Dir(), EnvOptions{}));
}

TEST_F(LmdbEnvTest, GarbageDataFileIsCorruption) {
  WriteRandomFile(tmp_.path() / "data.mdb", 64 * 1024, /*seed=*/42);
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kCorruption) << env.status();

  // The failed open left nothing registered: once the file is fixed the
  // directory opens.
  fs::remove(tmp_.path() / "data.mdb");
  ASSERT_DAICHO_OK(Env::Open(Dir(), EnvOptions{}));
}

TEST_F(LmdbEnvTest, ShortGarbageDataFileIsCleanError) {
  WriteRandomFile(tmp_.path() / "data.mdb", 100, /*seed=*/7);
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kCorruption) << env.status();
}

TEST_F(LmdbEnvTest, GarbageLockFileIsRebuiltOrCleanError) {
  {
    auto env = Env::Open(Dir(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
  }
  WriteRandomFile(tmp_.path() / "lock.mdb", 8192, /*seed=*/3);
  // Sole user of the lock file: LMDB reinitializes it.
  auto env = Env::Open(Dir(), EnvOptions{});
  if (!env.ok()) {
    EXPECT_NE(env.status().code(), Code::kInternal) << env.status();
  }
}

TEST_F(LmdbEnvTest, ReadOnlyOpenOfMissingEnvironmentIsNotFound) {
  EnvOptions options;
  options.read_only = true;
  auto env = Env::Open(Dir(), options);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Code::kNotFound) << env.status();
}

TEST_F(LmdbEnvTest, ReadOnlyEnvironmentReadsButRefusesWrites) {
  {
    auto env = Env::Open(Dir(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto dbi = env->OpenDbi("data", /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    auto w = env->BeginWrite();
    ASSERT_DAICHO_OK(w);
    ASSERT_DAICHO_OK(w->Put(*dbi, "k", "v"));
    ASSERT_DAICHO_OK(w->Commit());
  }
  EnvOptions options;
  options.read_only = true;
  auto env = Env::Open(Dir(), options);
  ASSERT_DAICHO_OK(env);
  EXPECT_TRUE(env->read_only());

  EXPECT_EQ(env->OpenDbi("other", /*create=*/true).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(env->OpenDbi("other", /*create=*/false).status().code(), Code::kNotFound);
  auto dbi = env->OpenDbi("data", /*create=*/false);
  ASSERT_DAICHO_OK(dbi);
  auto r = env->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto v = r->Get(*dbi, "k");
  ASSERT_DAICHO_OK(v);
  EXPECT_EQ(*v, "v");
  EXPECT_EQ(env->BeginWrite().status().code(), Code::kFailedPrecondition);
  EXPECT_DAICHO_OK(env->Sync());
}

TEST_F(LmdbEnvTest, OpenDbiCreatesOnceAndReturnsSameHandle) {
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto missing = env->OpenDbi("records", /*create=*/false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound) << missing.status();

  auto created = env->OpenDbi("records", /*create=*/true);
  ASSERT_DAICHO_OK(created);
  EXPECT_TRUE(created->valid());
  auto again = env->OpenDbi("records", /*create=*/false);
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(*created, *again);

  auto other = env->OpenDbi("changes", /*create=*/true);
  ASSERT_DAICHO_OK(other);
  EXPECT_NE(*created, *other);
}

TEST_F(LmdbEnvTest, OpenDbiRejectsBadNames) {
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  EXPECT_EQ(env->OpenDbi("", true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(env->OpenDbi(std::string("a\0b", 3), true).status().code(), Code::kInvalidArgument);
}

TEST_F(LmdbEnvTest, MoreDatabasesThanMaxDbsIsResourceExhausted) {
  EnvOptions options;
  options.max_dbs = 2;
  auto env = Env::Open(Dir(), options);
  ASSERT_DAICHO_OK(env);
  ASSERT_DAICHO_OK(env->OpenDbi("a", true));
  ASSERT_DAICHO_OK(env->OpenDbi("b", true));
  auto third = env->OpenDbi("c", true);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kResourceExhausted) << third.status();
}

TEST_F(LmdbEnvTest, OpenDbiWhileThisThreadWritesFailsInsteadOfDeadlocking) {
  auto env = Env::Open(Dir(), EnvOptions{});
  ASSERT_DAICHO_OK(env);
  auto w = env->BeginWrite();
  ASSERT_DAICHO_OK(w);
  EXPECT_EQ(env->OpenDbi("late", true).status().code(), Code::kFailedPrecondition);
}

TEST_F(LmdbEnvTest, GrowDoublesMapSize) {
  EnvOptions options;
  options.map_size = 1 << 20;
  auto env = Env::Open(Dir(), options);
  ASSERT_DAICHO_OK(env);
  const uint64_t before = env->map_size();
  ASSERT_DAICHO_OK(env->Grow());
  EXPECT_EQ(env->map_size(), 2 * before);
}

TEST_F(LmdbEnvTest, GrowStopsAtMaxMapSize) {
  EnvOptions options;
  options.map_size = 1 << 20;
  options.max_map_size = 3 << 20;
  auto env = Env::Open(Dir(), options);
  ASSERT_DAICHO_OK(env);
  ASSERT_DAICHO_OK(env->Grow());
  EXPECT_EQ(env->map_size(), 2u << 20);
  ASSERT_DAICHO_OK(env->Grow());
  EXPECT_EQ(env->map_size(), 3u << 20);
  Status s = env->Grow();
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s;
  EXPECT_EQ(env->map_size(), 3u << 20);
}

TEST_F(LmdbEnvTest, GrowRefusedWhileTransactionLive) {
  EnvOptions options;
  options.map_size = 1 << 20;
  auto env = Env::Open(Dir(), options);
  ASSERT_DAICHO_OK(env);
  const uint64_t before = env->map_size();
  {
    auto r = env->BeginRead();
    ASSERT_DAICHO_OK(r);
    Status s = env->Grow();
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s;
    EXPECT_EQ(env->map_size(), before);

    r->Reset();  // a reset read txn holds no snapshot, so it does not block
    ASSERT_DAICHO_OK(env->Grow());
    ASSERT_DAICHO_OK(r->Renew());
  }
  {
    auto w = env->BeginWrite();
    ASSERT_DAICHO_OK(w);
    EXPECT_EQ(env->Grow().code(), Code::kFailedPrecondition);
  }
  ASSERT_DAICHO_OK(env->Grow());
  EXPECT_EQ(env->map_size(), 4 * before);
}

TEST_F(LmdbEnvTest, InvalidOptionsAreRejected) {
  EnvOptions options;
  options.map_size = 0;
  EXPECT_EQ(Env::Open(Dir(), options).status().code(), Code::kInvalidArgument);
  options.map_size = 2 << 20;
  options.max_map_size = 1 << 20;
  EXPECT_EQ(Env::Open(Dir(), options).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::storage::lmdb
