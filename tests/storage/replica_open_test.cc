// Tests of the public Replica API on LMDB: opening and creating stores, refusing what is not one, damaged files.
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
#include "tests/testing/forked_child.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

namespace fs = std::filesystem;

using ::daicho::testing::CreateOptions;
using ::daicho::testing::DumpCollection;
using ::daicho::testing::ForkAndRun;
using ::daicho::testing::kYamada;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::ReadFileBytes;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;
using ::daicho::testing::WriteFileBytes;

TEST_F(ReplicaTest, OpenMissingDirectoryWithoutCreateIsNotFound) {
  auto opened = Replica::Open(Path("missing"), QuietOptions());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotFound) << opened.status();
  EXPECT_FALSE(fs::exists(Path("missing")));
}

TEST_F(ReplicaTest, OpenEmptyDirectoryWithoutCreateIsNotFound) {
  fs::create_directories(Path("empty"));
  auto opened = Replica::Open(Path("empty"), QuietOptions());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kNotFound) << opened.status();
  EXPECT_TRUE(fs::is_empty(Path("empty")));
}

TEST_F(ReplicaTest, CreateThenReopenKeepsIdRecordsAndVersionVector) {
  ReplicaId id;
  VersionVector vv;
  std::string before;
  {
    auto replica = OpenOrNull(Path("r"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    id = replica->id();
    EXPECT_FALSE(id.IsZero());
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value(kYamada)));
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "phone", Value("03-1234-5678")));
    auto got = replica->GetVersionVector();
    ASSERT_DAICHO_OK(got);
    vv = *got;
    before = DumpCollection(*replica, "customers");
  }
  auto replica = OpenOrNull(Path("r"), QuietOptions());
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->id(), id);
  auto got = replica->GetVersionVector();
  ASSERT_DAICHO_OK(got);
  EXPECT_EQ(*got, vv);
  EXPECT_EQ(got->Get(id), 2u);
  EXPECT_EQ(DumpCollection(*replica, "customers"), before);

  // The next commit continues the sequence rather than reusing a dot.
  WriteTransaction txn = replica->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", "c3", "name", Value("c3")));
  auto info = txn.Commit();
  ASSERT_DAICHO_OK(info);
  EXPECT_EQ(info->dot, (Dot{id, 3}));
}

TEST_F(ReplicaTest, CreateWithErrorIfExistsOnExistingReplicaIsAlreadyExists) {
  ReplicaId id;
  {
    auto replica = OpenOrNull(Path("r"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    id = replica->id();
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("a")));
  }
  ReplicaOptions options = CreateOptions();
  options.error_if_exists = true;
  auto opened = Replica::Open(Path("r"), options);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kAlreadyExists) << opened.status();

  // The refusal changed nothing.
  auto replica = OpenOrNull(Path("r"), QuietOptions());
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->id(), id);
  EXPECT_DAICHO_OK(replica->Get("customers", "c1"));
}

TEST_F(ReplicaTest, CreateWithErrorIfExistsMakesAMissingReplica) {
  ReplicaOptions options = CreateOptions();
  options.error_if_exists = true;
  auto replica = OpenOrNull(Path("a/b/r"), options);
  ASSERT_NE(replica, nullptr);
  EXPECT_TRUE(fs::is_directory(Path("a/b/r")));
}

TEST_F(ReplicaTest, DirectoryWithForeignFilesIsInvalidArgumentAndUntouched) {
  const fs::path dir = Path("documents");
  fs::create_directories(dir / "sub");
  WriteFileBytes(dir / "notes.txt", "見積書 2024\n");
  WriteFileBytes(dir / "sub" / "data.bin", RandomBytes(1000, 1));

  for (bool create : {false, true}) {
    ReplicaOptions options = QuietOptions();
    options.create_if_missing = create;
    auto opened = Replica::Open(dir.string(), options);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalidArgument) << opened.status();
  }

  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    names.insert(entry.path().lexically_relative(dir).string());
  EXPECT_EQ(names, (std::set<std::string>{"notes.txt", "sub", "sub/data.bin"}));
  EXPECT_EQ(ReadFileBytes(dir / "notes.txt"), "見積書 2024\n");
  EXPECT_EQ(ReadFileBytes(dir / "sub" / "data.bin"), RandomBytes(1000, 1));
}

TEST_F(ReplicaTest, ForeignLmdbEnvironmentIsNotADaichoReplica) {
  const std::string dir = Path("foreign");
  fs::create_directories(dir);
  {
    auto env = storage::lmdb::Env::Open(dir, storage::lmdb::EnvOptions{});
    ASSERT_DAICHO_OK(env);
    auto dbi = env->OpenDbi("invoices", /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    auto txn = env->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    ASSERT_DAICHO_OK(txn->Put(*dbi, "2024-001", "¥120,000"));
    ASSERT_DAICHO_OK(txn->Commit());
  }
  const std::string data_before = ReadFileBytes(fs::path(dir) / "data.mdb");

  for (bool create : {false, true}) {
    ReplicaOptions options = QuietOptions();
    options.create_if_missing = create;
    auto opened = Replica::Open(dir, options);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalidArgument) << opened.status();
    EXPECT_NE(opened.status().message().find("not a daicho replica"), std::string::npos) << opened.status();
  }

  // Refused before anything was created in it: the foreign data is intact.
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / "data.mdb"), data_before);
  auto env = storage::lmdb::Env::Open(dir, storage::lmdb::EnvOptions{});
  ASSERT_DAICHO_OK(env);
  EXPECT_EQ(env->OpenDbi("meta", /*create=*/false).status().code(), Code::kNotFound);
  auto dbi = env->OpenDbi("invoices", /*create=*/false);
  ASSERT_DAICHO_OK(dbi);
  auto txn = env->BeginRead();
  ASSERT_DAICHO_OK(txn);
  auto value = txn->Get(*dbi, "2024-001");
  ASSERT_DAICHO_OK(value);
  EXPECT_EQ(*value, "¥120,000");
}

TEST_F(ReplicaTest, GarbageDataFileIsCorruption) {
  for (size_t size : {size_t{100}, size_t{64 * 1024}}) {
    SCOPED_TRACE("data.mdb of " + std::to_string(size) + " random bytes");
    const fs::path dir = Path("garbage-" + std::to_string(size));
    fs::create_directories(dir);
    WriteFileBytes(dir / "data.mdb", RandomBytes(size, 7));
    for (bool create : {false, true}) {
      ReplicaOptions options = QuietOptions();
      options.create_if_missing = create;
      auto opened = Replica::Open(dir.string(), options);
      ASSERT_FALSE(opened.ok());
      EXPECT_EQ(opened.status().code(), Code::kCorruption) << opened.status();
    }
    EXPECT_EQ(ReadFileBytes(dir / "data.mdb"), RandomBytes(size, 7));
  }
}

// A store of kDamageRecords records, closed; returns its data.mdb bytes.
constexpr int kDamageRecords = 300;
std::string MakeStoreToDamage(const fs::path& dir) {
  {
    auto replica = OpenOrNull(dir.string(), CreateOptions());
    if (replica == nullptr) return "";
    for (int i = 0; i < kDamageRecords; i += 10) {
      WriteTransaction txn = replica->BeginWrite();
      for (int k = i; k < i + 10; ++k) {
        EXPECT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(k), "address",
                                 Value(std::string(kYamada) + " <" + std::to_string(k) + ">" + std::string(150, 'x'))));
      }
      EXPECT_DAICHO_OK(txn.Commit());
    }
  }
  return ReadFileBytes(dir / "data.mdb");
}

// Damage inside stored values (not LMDB's own structures) is caught by the
// replica's validation of what it decodes.
TEST_F(ReplicaTest, DamagedValueBytesInDataFileGiveCorruption) {
  std::string bytes = MakeStoreToDamage(Path("r"));
  ASSERT_FALSE(bytes.empty());
  const std::string marker = "<150>xxxx";
  int hits = 0;
  for (size_t at = bytes.find(marker); at != std::string::npos; at = bytes.find(marker, at + 1)) {
    bytes.replace(at + 5, 4, "\xff\xfe\xff\xfe");  // no longer UTF-8
    ++hits;
  }
  ASSERT_GE(hits, 1);
  WriteFileBytes(fs::path(Path("r")) / "data.mdb", bytes);

  auto replica = OpenOrNull(Path("r"), QuietOptions());
  ASSERT_NE(replica, nullptr);
  auto damaged = replica->Get("customers", "c150");
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), Code::kCorruption) << damaged.status();
  ListOptions all;
  all.limit = 0;
  auto page = replica->List("customers", all);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), Code::kCorruption) << page.status();
  // The rest of the ledger is still readable.
  EXPECT_DAICHO_OK(replica->Get("customers", "c149"));
  EXPECT_DAICHO_OK(replica->Get("customers", "c151"));
}

// Every read a user can make; returns the first error (ok if all succeed).
Status ReadEverything(Replica& replica) {
  ListOptions all;
  all.limit = 0;
  all.include_deleted = true;
  DAICHO_RETURN_IF_ERROR(replica.List("customers", all).status());
  for (int i = 0; i < kDamageRecords; ++i) {
    auto got = replica.Get("customers", "c" + std::to_string(i));
    if (!got.ok() && got.status().code() != Code::kNotFound) return got.status();
  }
  DAICHO_RETURN_IF_ERROR(replica.ListConflicts().status());
  DAICHO_RETURN_IF_ERROR(replica.ChangesSince(VersionVector()).status());
  return SetValue(replica, "customers", "new", "name", Value("after damage"));
}

struct ChildOutcome {
  int wait_status = 0;
  std::string output;  // what the child wrote to stderr
};

// In a crashing child: the stack to stderr (for the failure message), then
// die of the same signal.
void PrintStackAndDie(int sig) {
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  raise(sig);
}

// Runs `body` in a forked child (its return value is the exit code), so that
// a crash fails this test cleanly instead of killing the test binary.
ChildOutcome RunInChild(const std::function<int()>& body) {
  ChildOutcome outcome;
  int fds[2];
  if (pipe(fds) != 0) return {-1, "pipe failed"};
  const pid_t pid = ForkAndRun([&] {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT}) std::signal(sig, &PrintStackAndDie);
    return body();
  });
  close(fds[1]);
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) outcome.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, &outcome.wait_status, 0);
  return outcome;
}

// LMDB keeps no checksums of its pages: a data file with whole regions
// overwritten (a bad sector, a half-restored backup) must still give errors,
// never a crash.
TEST_F(ReplicaTest, DataFileOverwrittenInTheMiddleGivesCleanErrorsNotACrash) {
  const std::string original = MakeStoreToDamage(Path("pristine"));
  ASSERT_GT(original.size(), 64u * 1024);

  constexpr int kNoticed = 10, kUnnoticed = 11, kWrongCode = 12;
  int noticed = 0;
  for (int percent : {20, 35, 50, 65, 80}) {
    for (size_t length : {size_t{64}, size_t{4096}}) {
      const std::string what = std::to_string(length) + " bytes overwritten at " + std::to_string(percent) + "%";
      const fs::path dir = Path("damaged-" + std::to_string(percent) + "-" + std::to_string(length));
      fs::create_directories(dir);
      std::string damaged = original;
      const size_t at = damaged.size() * static_cast<size_t>(percent) / 100;
      damaged.replace(at, length, RandomBytes(length, static_cast<unsigned>(percent)));
      WriteFileBytes(dir / "data.mdb", damaged);

      const ChildOutcome outcome = RunInChild([&] {
        auto opened = Replica::Open(dir.string(), QuietOptions());
        Status status = opened.status();
        if (opened.ok()) status = ReadEverything(**opened);
        std::fprintf(stderr, "%s\n", status.ToString().c_str());
        if (status.ok()) return kUnnoticed;
        return status.code() == Code::kCorruption ? kNoticed : kWrongCode;
      });
      if (WIFSIGNALED(outcome.wait_status)) {
        ADD_FAILURE() << what << ": crashed with signal " << WTERMSIG(outcome.wait_status) << " ("
                      << strsignal(WTERMSIG(outcome.wait_status)) << "); stderr: " << outcome.output;
        continue;
      }
      ASSERT_TRUE(WIFEXITED(outcome.wait_status));
      const int code = WEXITSTATUS(outcome.wait_status);
      EXPECT_NE(code, kWrongCode) << what << ": expected corruption, got " << outcome.output;
      EXPECT_TRUE(code == kNoticed || code == kUnnoticed || code == kWrongCode) << what << ": exit " << code;
      if (code == kNoticed) ++noticed;
    }
  }
  // Not every overwrite hits live data, but some must be noticed.
  EXPECT_GT(noticed, 0);
}

TEST_F(ReplicaTest, SecondOpenOfSamePathIsBusyUntilFirstIsDestroyed) {
  auto first = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(first, nullptr);
  const ReplicaId id = first->id();

  auto second = Replica::Open(Path("r"), QuietOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status();
  auto spelled_differently = Replica::Open(Path("r") + "/./", QuietOptions());
  ASSERT_FALSE(spelled_differently.ok());
  EXPECT_EQ(spelled_differently.status().code(), Code::kBusy) << spelled_differently.status();

  // The refused opens did not disturb the first handle.
  ASSERT_DAICHO_OK(SetValue(*first, "customers", "c1", "name", Value("a")));
  first.reset();

  auto again = OpenOrNull(Path("r"), QuietOptions());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->id(), id);
  EXPECT_DAICHO_OK(again->Get("customers", "c1"));
}

TEST_F(ReplicaTest, PathThatIsAFileIsInvalidArgument) {
  WriteFileBytes(Path("file"), "hello");
  for (bool create : {false, true}) {
    ReplicaOptions options = QuietOptions();
    options.create_if_missing = create;
    auto opened = Replica::Open(Path("file"), options);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalidArgument) << opened.status();
  }
  EXPECT_EQ(ReadFileBytes(Path("file")), "hello");
}

// Creating a replica takes several LMDB transactions (the environment, each
// named database, then the metadata). A crash or power cut between them must
// not leave a directory that can never be opened again: with
// create_if_missing the creation is simply done again.
TEST_F(ReplicaTest, CreationInterruptedByACrashCanBeRedone) {
  const std::vector<std::vector<std::string>> stages = {
      {},                                           // environment files only
      {"meta"},                                     // first database made
      {"meta", "records", "changes", "conflicts"},  // all databases, no metadata yet
  };
  for (size_t stage = 0; stage < stages.size(); ++stage) {
    SCOPED_TRACE("creation stopped after stage " + std::to_string(stage));
    const std::string dir = Path("interrupted-" + std::to_string(stage));
    fs::create_directories(dir);
    {
      auto env = storage::lmdb::Env::Open(dir, storage::lmdb::EnvOptions{});
      ASSERT_DAICHO_OK(env);
      for (const std::string& name : stages[stage]) ASSERT_DAICHO_OK(env->OpenDbi(name, /*create=*/true));
    }
    ReplicaId id;
    {
      auto opened = Replica::Open(dir, CreateOptions());
      ASSERT_DAICHO_OK(opened);
      ASSERT_DAICHO_OK(SetValue(**opened, "customers", "c1", "name", Value("a")));
      id = (*opened)->id();
    }
    auto reopened = OpenOrNull(dir, QuietOptions());
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->id(), id);
  }
}

}  // namespace
}  // namespace daicho
