// Tests of the public Replica API on LMDB: opening and creating stores, copy
// detection, commits and reads, paging, conflicts, change exchange, map growth.
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
#include "test_util.h"

namespace daicho {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using ::daicho::testing::TempDir;

constexpr std::string_view kYamada = "株式会社山田建設 東京都千代田区";

// ---- helpers ----

using ::daicho::testing::CreateOptions;
using ::daicho::testing::DeleteRecord;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::SetValue;

Status Exchange(Replica& a, Replica& b) {
  DAICHO_RETURN_IF_ERROR(Pull(a, b).status());
  return Pull(b, a).status();
}

std::string Describe(const Value& v) {
  static constexpr const char* kTypes[] = {"null", "bool", "int", "double", "string", "bytes"};
  return std::string(kTypes[static_cast<int>(v.type())]) + ":" + v.ToDisplayString();
}

// Every visible detail of a record, for comparing replicas.
std::string Describe(const Record& r) {
  std::ostringstream out;
  out << r.collection << "/" << r.id << (r.deleted ? " deleted" : "") << (r.delete_conflict ? " delete_conflict" : "")
      << " modified=" << r.modified.wall_ms << "." << r.modified.logical << "\n";
  for (const FieldView& f : r.fields) {
    out << "  " << f.name << " kind=" << static_cast<int>(f.kind) << " value=" << Describe(f.value)
        << (f.conflict ? " conflict" : "") << (f.kind_conflict ? " kind_conflict" : "");
    for (const std::string& e : f.elements) out << " elem=" << e;
    for (const Sibling& s : f.siblings) {
      out << " sib=" << Describe(s.value) << "@" << s.dot.origin.ToHex() << ":" << s.dot.counter;
    }
    out << "\n";
  }
  return out.str();
}

std::string Describe(const std::vector<Record>& records) {
  std::string out;
  for (const Record& r : records) out += Describe(r);
  return out;
}

// Every record of `collection`, hidden ones included.
std::string DumpCollection(const Replica& replica, std::string_view collection) {
  ListOptions options;
  options.limit = 0;
  options.include_deleted = true;
  auto page = replica.List(collection, options);
  if (!page.ok()) return "error: " + page.status().ToString();
  return Describe(page->records);
}

std::string ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

class ReplicaTest : public ::daicho::testing::ReplicaDirTest {};

// ---- Open ----

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
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT}) std::signal(sig, &PrintStackAndDie);
    _exit(body());
  }
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

// ---- Copy detection ----

TEST_F(ReplicaTest, CopiedDirectoryTakesNewIdAndKeepsData) {
  ReplicaId original_id;
  std::string records;
  VersionVector vv;
  {
    auto replica = OpenOrNull(Path("original"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    original_id = replica->id();
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value(kYamada)));
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "name", Value("佐藤工務店")));
    records = DumpCollection(*replica, "customers");
    vv = *replica->GetVersionVector();
  }
  fs::copy(Path("original"), Path("copy"), fs::copy_options::recursive);

  std::vector<std::string> warnings;
  ReplicaOptions options = QuietOptions();
  options.warning_log = [&](std::string_view w) { warnings.emplace_back(w); };
  ReplicaId copy_id;
  {
    auto copy = OpenOrNull(Path("copy"), options);
    ASSERT_NE(copy, nullptr);
    copy_id = copy->id();
    EXPECT_NE(copy_id, original_id);
    EXPECT_FALSE(copy_id.IsZero());
    EXPECT_EQ(DumpCollection(*copy, "customers"), records);
    EXPECT_EQ(*copy->GetVersionVector(), vv);
    EXPECT_EQ(warnings.size(), 1u);
  }
  // The new id sticks: reopening the copy is not another copy.
  {
    auto copy = OpenOrNull(Path("copy"), options);
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->id(), copy_id);
    EXPECT_EQ(warnings.size(), 1u);
  }
  auto original = OpenOrNull(Path("original"), options);
  ASSERT_NE(original, nullptr);
  EXPECT_EQ(original->id(), original_id);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(ReplicaTest, CopyAndOriginalMergeWithoutDotClash) {
  ReplicaId original_id;
  {
    auto replica = OpenOrNull(Path("original"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    original_id = replica->id();
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("before copy")));
  }
  fs::copy(Path("original"), Path("copy"), fs::copy_options::recursive);
  auto original = OpenOrNull(Path("original"), QuietOptions());
  auto copy = OpenOrNull(Path("copy"), QuietOptions());
  ASSERT_NE(original, nullptr);
  ASSERT_NE(copy, nullptr);

  // Both go on working offline, each committing its next change.
  ASSERT_DAICHO_OK(SetValue(*original, "customers", "c2", "name", Value("made on the original")));
  ASSERT_DAICHO_OK(SetValue(*copy, "customers", "c3", "name", Value("made on the copy")));
  ASSERT_DAICHO_OK(SetValue(*copy, "customers", "c1", "phone", Value("03-0000-0000")));
  ASSERT_DAICHO_OK(SetValue(*original, "customers", "c1", "name", Value("renamed on the original")));

  ASSERT_DAICHO_OK(Exchange(*original, *copy));
  auto original_vv = original->GetVersionVector();
  auto copy_vv = copy->GetVersionVector();
  ASSERT_DAICHO_OK(original_vv);
  ASSERT_DAICHO_OK(copy_vv);
  EXPECT_EQ(*original_vv, *copy_vv);
  EXPECT_EQ(original_vv->Get(original_id), 3u);
  EXPECT_EQ(original_vv->Get(copy->id()), 2u);
  EXPECT_EQ(original_vv->Total(), 5u);

  const std::string merged = DumpCollection(*original, "customers");
  EXPECT_EQ(DumpCollection(*copy, "customers"), merged);
  auto c1 = copy->Get("customers", "c1");
  ASSERT_DAICHO_OK(c1);
  ASSERT_NE(c1->Find("name"), nullptr);
  EXPECT_EQ(c1->Find("name")->value, Value("renamed on the original"));
  ASSERT_NE(c1->Find("phone"), nullptr);
  EXPECT_EQ(c1->Find("phone")->value, Value("03-0000-0000"));
  EXPECT_FALSE(c1->has_conflict());
  EXPECT_DAICHO_OK(copy->Get("customers", "c2"));
  EXPECT_DAICHO_OK(original->Get("customers", "c3"));
}

TEST_F(ReplicaTest, RenamedDirectoryKeepsItsId) {
  ReplicaId id;
  {
    auto replica = OpenOrNull(Path("before"), CreateOptions());
    ASSERT_NE(replica, nullptr);
    id = replica->id();
    ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("a")));
  }
  fs::rename(Path("before"), Path("after"));
  std::vector<std::string> warnings;
  ReplicaOptions options = QuietOptions();
  options.warning_log = [&](std::string_view w) { warnings.emplace_back(w); };
  auto replica = OpenOrNull(Path("after"), options);
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->id(), id);
  EXPECT_TRUE(warnings.empty());
}

// A = the replica, B = a peer it synced with after the backup was taken.
// Restoring A's older backup must not let A issue again the dots it issued
// after the backup: they are already out there with other content.
void CheckRestoredReplicaConvergesWithPeer(Replica& restored, const ReplicaId& old_id, Replica& peer) {
  EXPECT_NE(restored.id(), old_id) << "a restored replica must take a new id";
  ASSERT_DAICHO_OK(SetValue(restored, "customers", "c1", "note", Value("edited after the restore")));
  ASSERT_DAICHO_OK(Exchange(restored, peer));
  EXPECT_EQ(*restored.GetVersionVector(), *peer.GetVersionVector());
  EXPECT_EQ(DumpCollection(restored, "customers"), DumpCollection(peer, "customers"));
  auto c1 = peer.Get("customers", "c1");
  ASSERT_DAICHO_OK(c1);
  ASSERT_NE(c1->Find("note"), nullptr);
  EXPECT_EQ(c1->Find("note")->value, Value("edited after the restore"));
  ASSERT_NE(c1->Find("phone"), nullptr);
  EXPECT_EQ(c1->Find("phone")->value, Value("made after the backup"));
}

// Replica "a" commits, is backed up to "backup", commits again, and peer "b"
// (returned) pulls both commits.
void BackUpThenEditAndShare(ReplicaTest& test, ReplicaId& old_id, std::unique_ptr<Replica>& b) {
  {
    auto a = OpenOrNull(test.Path("a"), CreateOptions());
    ASSERT_NE(a, nullptr);
    old_id = a->id();
    ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("before the backup")));
  }
  fs::copy(test.Path("a"), test.Path("backup"), fs::copy_options::recursive);
  b = OpenOrNull(test.Path("b"), CreateOptions());
  ASSERT_NE(b, nullptr);
  auto a = OpenOrNull(test.Path("a"), QuietOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "phone", Value("made after the backup")));
  ASSERT_DAICHO_OK(Pull(*b, *a));
}

TEST_F(ReplicaTest, ReplicaRestoredFromAnOlderBackupTakesANewIdAndCatchesUp) {
  ReplicaId old_id;
  std::unique_ptr<Replica> b;
  ASSERT_NO_FATAL_FAILURE(BackUpThenEditAndShare(*this, old_id, b));
  // The disk is replaced; the backup comes back as new files.
  fs::remove_all(Path("a"));
  fs::copy(Path("backup"), Path("a"), fs::copy_options::recursive);
  auto restored = OpenOrNull(Path("a"), QuietOptions());
  ASSERT_NE(restored, nullptr);
  CheckRestoredReplicaConvergesWithPeer(*restored, old_id, *b);
}

// Restoring by copying the backup's files over the existing ones (cp, most
// backup tools) rewrites data.mdb in place: same device, inode and birth
// time, so the device marker cannot see it; the rollback guard beside the
// store does.
TEST_F(ReplicaTest, ReplicaRestoredInPlaceFromAnOlderBackupTakesANewId) {
  ReplicaId old_id;
  std::unique_ptr<Replica> b;
  ASSERT_NO_FATAL_FAILURE(BackUpThenEditAndShare(*this, old_id, b));
  const fs::path data = fs::path(Path("a")) / "data.mdb";
  struct stat before {};
  ASSERT_EQ(stat(data.c_str(), &before), 0);
  fs::copy_file(fs::path(Path("backup")) / "data.mdb", data, fs::copy_options::overwrite_existing);
  struct stat after {};
  ASSERT_EQ(stat(data.c_str(), &after), 0);
  ASSERT_EQ(before.st_ino, after.st_ino) << "this test needs an in-place restore";

  auto restored = OpenOrNull(Path("a"), QuietOptions());
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->GetVersionVector()->Get(old_id), 1u) << "the backup's state";
  // Edits before syncing must not reissue the dot the peer already holds.
  CheckRestoredReplicaConvergesWithPeer(*restored, old_id, *b);
}

// A store rolled back without any local trace (its guard file restored in
// place too) learns it from a peer that holds newer changes of its own id:
// it retires the id and takes them.
TEST_F(ReplicaTest, NewerChangesUnderTheOwnIdRetireTheIdAndApply) {
  ReplicaId old_id;
  std::unique_ptr<Replica> b;
  ASSERT_NO_FATAL_FAILURE(BackUpThenEditAndShare(*this, old_id, b));
  for (const char* file : {"data.mdb", "daicho.guard"}) {
    fs::copy_file(fs::path(Path("backup")) / file, fs::path(Path("a")) / file, fs::copy_options::overwrite_existing);
  }
  std::vector<std::string> warnings;
  ReplicaOptions options = QuietOptions();
  options.warning_log = [&](std::string_view w) { warnings.emplace_back(w); };
  auto restored = OpenOrNull(Path("a"), options);
  ASSERT_NE(restored, nullptr);
  ASSERT_EQ(restored->id(), old_id) << "nothing local shows this rollback";

  ASSERT_DAICHO_OK(Pull(*restored, *b));
  EXPECT_NE(restored->id(), old_id);
  EXPECT_EQ(restored->GetVersionVector()->Get(old_id), 2u);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("retired"), std::string::npos) << warnings.back();
  CheckRestoredReplicaConvergesWithPeer(*restored, old_id, *b);
}

TEST_F(ReplicaTest, DuplicateDotWithDifferentContentIsAProtocolError) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "c", "r", "f", Value(1)));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  auto held = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(held);
  // The same dot with other content: what a reused replica id would send.
  ASSERT_DAICHO_OK(SetValue(*a, "c", "r", "f", Value(2)));
  auto second = a->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(second);
  ChangeBlob clash = (*second)[1];
  clash.seq = 1;
  const std::string before = DumpCollection(*b, "customers");
  auto applied = b->Apply(std::vector<ChangeBlob>{clash});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Code::kProtocolError) << applied.status();
  EXPECT_EQ(applied.status().message(), "applying changes: change " + a->id().ToHex() +
                                            ":1 differs from the one held here: that replica id was reused "
                                            "(a store restored from a backup?)");
  EXPECT_EQ(DumpCollection(*b, "customers"), before);
  // The genuine duplicate is still fine.
  auto again = b->Apply(*held);
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(again->duplicates, 1u);
}

// ---- Commit / Get ----

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

TEST_F(ReplicaTest, CounterFieldSumsAddsAcrossTransactionsAndReplicas) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", 5));
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", -2));  // coalesced with the +5
    auto info = txn.Commit();
    ASSERT_DAICHO_OK(info);
    EXPECT_EQ(info->ops, 1u);
  }
  auto record = a->Get("permits", "p1");
  ASSERT_DAICHO_OK(record);
  ASSERT_NE(record->Find("filed"), nullptr);
  EXPECT_EQ(record->Find("filed")->kind, FieldKind::kCounter);
  EXPECT_EQ(record->Find("filed")->value, Value(3));

  ASSERT_DAICHO_OK(Pull(*b, *a));
  // Concurrent adds on both sides both count.
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", 10));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "filed", -7));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  // Delivering everything again changes nothing.
  ASSERT_DAICHO_OK(b->Apply(*a->ChangesSince(VersionVector())));
  for (Replica* r : {a.get(), b.get()}) {
    auto got = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(got);
    EXPECT_EQ(got->Find("filed")->value, Value(6));
    EXPECT_FALSE(got->has_conflict());
  }
}

TEST_F(ReplicaTest, RecordContextTellsWhichFieldsChangedAndSetWithContextKeepsNewerValues) {
  auto v = OpenOrNull(Path("v"), CreateOptions());
  auto w = OpenOrNull(Path("w"), CreateOptions());
  ASSERT_NE(v, nullptr);
  ASSERT_NE(w, nullptr);
  {
    WriteTransaction txn = v->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c3", "phone", Value("03-1111")));
    ASSERT_DAICHO_OK(txn.Add("customers", "c3", "filings", 2));
    ASSERT_DAICHO_OK(txn.SetAdd("customers", "c3", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  EXPECT_EQ(v->GetRecordContext("customers", "nobody").status().code(), Code::kNotFound);
  auto before = v->GetRecordContext("customers", "c3");
  ASSERT_DAICHO_OK(before);
  ASSERT_EQ(before->fields.size(), 3u);
  for (const auto& f : before->fields) EXPECT_EQ(f.context.Get(v->id()), 1u) << f.name;
  EXPECT_EQ(before->record.Get(v->id()), 1u);
  EXPECT_TRUE(before->ForField("missing").empty());

  // W changes the phone and the counter; V learns of it.
  ASSERT_DAICHO_OK(Pull(*w, *v));
  {
    WriteTransaction txn = w->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c3", "phone", Value("03-2222")));
    ASSERT_DAICHO_OK(txn.Add("customers", "c3", "filings", 1));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Pull(*v, *w));
  auto after = v->GetRecordContext("customers", "c3");
  ASSERT_DAICHO_OK(after);
  EXPECT_FALSE(before->ForField("phone").Dominates(after->ForField("phone")));
  EXPECT_FALSE(before->ForField("filings").Dominates(after->ForField("filings")));
  EXPECT_TRUE(before->ForField("trades").Dominates(after->ForField("trades")));

  // A write made "as of" the old context keeps W's newer phone beside it.
  {
    WriteTransaction txn = v->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetWithContext("customers", "c3", "phone", Value("03-3333"), before->record));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Pull(*w, *v));
  for (Replica* r : {v.get(), w.get()}) {
    auto got = r->Get("customers", "c3");
    ASSERT_DAICHO_OK(got);
    const FieldView* phone = got->Find("phone");
    ASSERT_NE(phone, nullptr);
    EXPECT_TRUE(phone->conflict);
    ASSERT_EQ(phone->siblings.size(), 2u);
    std::set<std::string> values;
    for (const Sibling& s : phone->siblings) values.insert(s.value.as_string());
    EXPECT_EQ(values, (std::set<std::string>{"03-2222", "03-3333"}));
  }
}

TEST_F(ReplicaTest, SetFieldAddsAndRemovesElements) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  {
    WriteTransaction txn = a->BeginWrite();
    for (const char* trade : {"大工", "左官", "電気", "配管"})
      ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", trade));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "左官"));
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "配管"));
    ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", "配管"));     // the last op per element wins
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "塗装"));  // never present: harmless
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto record = a->Get("permits", "p1");
  ASSERT_DAICHO_OK(record);
  const FieldView* trades = record->Find("trades");
  ASSERT_NE(trades, nullptr);
  EXPECT_EQ(trades->kind, FieldKind::kSet);
  std::vector<std::string> expected = {"大工", "配管", "電気"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(trades->elements, expected);

  // A remove concurrent with an add of the same element: the add wins.
  ASSERT_DAICHO_OK(Pull(*b, *a));
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetRemove("permits", "p1", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.SetAdd("permits", "p1", "trades", "大工"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto got = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(got);
    EXPECT_EQ(got->Find("trades")->elements, expected);
  }
}

TEST_F(ReplicaTest, DeleteOrUndeleteOfMissingRecordIsNotFound) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c1", "name", Value("a")));
  WriteTransaction txn = replica->BeginWrite();
  EXPECT_EQ(txn.Delete("customers", "nobody").code(), Code::kNotFound);
  EXPECT_EQ(txn.Undelete("customers", "nobody").code(), Code::kNotFound);
  EXPECT_EQ(txn.Delete("suppliers", "c1").code(), Code::kNotFound);
  EXPECT_EQ(txn.size(), 0u);
  EXPECT_EQ(txn.Commit().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(replica->Get("customers", "nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(replica->GetVersionVector()->Total(), 1u);
}

TEST_F(ReplicaTest, DeleteHidesRecordFromListButGetReturnsItsData) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value(kYamada)));
    ASSERT_DAICHO_OK(txn.Add("customers", "c1", "visits", 3));
    ASSERT_DAICHO_OK(txn.SetAdd("customers", "c1", "tags", "VIP"));
    ASSERT_DAICHO_OK(txn.Set("customers", "c2", "name", Value("other")));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c1"));

  auto record = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_TRUE(record->deleted);
  EXPECT_FALSE(record->delete_conflict);
  ASSERT_EQ(record->fields.size(), 3u);
  EXPECT_EQ(record->Find("name")->value, Value(kYamada));
  EXPECT_EQ(record->Find("visits")->value, Value(3));
  EXPECT_EQ(record->Find("tags")->elements, std::vector<std::string>{"VIP"});

  auto page = replica->List("customers");
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].id, "c2");
  ListOptions with_deleted;
  with_deleted.include_deleted = true;
  page = replica->List("customers", with_deleted);
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].id, "c1");
  EXPECT_TRUE(page->records[0].deleted);
  auto conflicts = replica->ListConflicts();
  ASSERT_DAICHO_OK(conflicts);
  EXPECT_TRUE(conflicts->empty());

  // Undelete brings everything back.
  {
    WriteTransaction txn = replica->BeginWrite();
    ASSERT_DAICHO_OK(txn.Undelete("customers", "c1"));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  record = replica->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_FALSE(record->deleted);
  EXPECT_EQ(record->Find("visits")->value, Value(3));
  EXPECT_EQ(replica->List("customers")->records.size(), 2u);

  // Editing a deleted record brings it back too.
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c2"));
  EXPECT_TRUE(replica->Get("customers", "c2")->deleted);
  ASSERT_DAICHO_OK(SetValue(*replica, "customers", "c2", "name", Value("back")));
  record = replica->Get("customers", "c2");
  ASSERT_DAICHO_OK(record);
  EXPECT_FALSE(record->deleted);
  EXPECT_EQ(record->Find("name")->value, Value("back"));
}

// ---- List paging ----

TEST_F(ReplicaTest, ListPagesThroughRecordsInIdOrder) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  std::vector<std::string> ids;
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "c%04d", (i * 97) % 250);  // committed out of order
      ids.emplace_back(id);
      ASSERT_DAICHO_OK(txn.Set("customers", id, "n", Value(i)));
    }
    // Neighbouring collections must not leak into the listing.
    ASSERT_DAICHO_OK(txn.Set("customer", "zzz", "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Set("customers2", "a", "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> listed;
  ListOptions options;
  options.limit = 100;
  std::vector<size_t> page_sizes;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = replica->List("customers", options);
    ASSERT_DAICHO_OK(page);
    page_sizes.push_back(page->records.size());
    for (const Record& r : page->records) {
      EXPECT_EQ(r.collection, "customers");
      listed.push_back(r.id);
    }
    if (page->next_start_after.empty()) break;
    EXPECT_EQ(page->next_start_after, page->records.back().id);
    options.start_after = page->next_start_after;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{100, 100, 50}));
  EXPECT_EQ(listed, ids);

  // limit 0: everything at once. start_after need not be an existing id.
  options.limit = 0;
  options.start_after = "";
  EXPECT_EQ(replica->List("customers", options)->records.size(), 250u);
  options.start_after = "c0199x";
  auto tail = replica->List("customers", options);
  ASSERT_DAICHO_OK(tail);
  ASSERT_EQ(tail->records.size(), 50u);
  EXPECT_EQ(tail->records.front().id, "c0200");
  EXPECT_TRUE(tail->next_start_after.empty());
}

TEST_F(ReplicaTest, ListIncludesDeletedRecordsOnlyWhenAsked) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; ++i) ASSERT_DAICHO_OK(txn.Set("customers", "c" + std::to_string(1000 + i), "n", Value(i)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  {
    WriteTransaction txn = replica->BeginWrite();
    for (int i = 0; i < 250; i += 2) ASSERT_DAICHO_OK(txn.Delete("customers", "c" + std::to_string(1000 + i)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto count = [&](bool include_deleted) {
    ListOptions options;
    options.limit = 100;
    options.include_deleted = include_deleted;
    size_t visible = 0, hidden = 0;
    for (int guard = 0; guard < 10; ++guard) {
      auto page = replica->List("customers", options);
      EXPECT_DAICHO_OK(page);
      if (!page.ok()) break;
      EXPECT_LE(page->records.size(), 100u);
      for (const Record& r : page->records) (r.deleted ? hidden : visible)++;
      if (page->next_start_after.empty()) break;
      options.start_after = page->next_start_after;
    }
    return std::pair(visible, hidden);
  };
  EXPECT_EQ(count(false), std::pair(size_t{125}, size_t{0}));
  EXPECT_EQ(count(true), std::pair(size_t{125}, size_t{125}));
}

// "" means done: a caller paging until next_start_after is empty must not be
// sent after a page that can only be empty.
TEST_F(ReplicaTest, ListSaysDoneWhenOnlyDeletedRecordsRemain) {
  auto replica = OpenOrNull(Path("r"), CreateOptions());
  ASSERT_NE(replica, nullptr);
  {
    WriteTransaction txn = replica->BeginWrite();
    for (const char* id : {"a", "b", "c", "d"}) ASSERT_DAICHO_OK(txn.Set("customers", id, "n", Value(1)));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "c"));
  ASSERT_DAICHO_OK(DeleteRecord(*replica, "customers", "d"));
  ListOptions options;
  options.limit = 2;
  auto page = replica->List("customers", options);
  ASSERT_DAICHO_OK(page);
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->next_start_after, "") << "the remaining records are all deleted";
}

// ---- Conflicts ----

TEST_F(ReplicaTest, ConcurrentEditsAreListedAsConflictOnBothReplicasUntilResolved) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田")));
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("佐藤")));
  ASSERT_DAICHO_OK(Pull(*b, *a));

  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田建設")));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "name", Value("山田工務店")));
  // Equal concurrent values are not a conflict.
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c2", "name", Value("佐藤商店")));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c2", "name", Value("佐藤商店")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));

  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u) << Describe(*conflicts);
    const Record& c1 = (*conflicts)[0];
    EXPECT_EQ(c1.collection, "customers");
    EXPECT_EQ(c1.id, "c1");
    const FieldView* name = c1.Find("name");
    ASSERT_NE(name, nullptr);
    EXPECT_TRUE(name->conflict);
    ASSERT_EQ(name->siblings.size(), 2u);
    std::set<std::string> values = {name->siblings[0].value.as_string(), name->siblings[1].value.as_string()};
    EXPECT_EQ(values, (std::set<std::string>{"山田建設", "山田工務店"}));
    EXPECT_EQ(name->value, name->siblings[0].value);
    EXPECT_FALSE(r->Get("customers", "c2")->has_conflict());
  }
  EXPECT_EQ(Describe(*a->ListConflicts()), Describe(*b->ListConflicts()));

  // Writing over the conflict on one side resolves it everywhere.
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "name", Value("山田建設")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    EXPECT_TRUE(conflicts->empty()) << Describe(*conflicts);
    auto c1 = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(c1);
    EXPECT_EQ(c1->Find("name")->value, Value("山田建設"));
    EXPECT_EQ(c1->Find("name")->siblings.size(), 1u);
  }
}

TEST_F(ReplicaTest, DeleteConcurrentWithEditIsADeleteConflictUntilDeletedAgain) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "customers", "c1", "name", Value("山田")));
  ASSERT_DAICHO_OK(Pull(*b, *a));
  ASSERT_DAICHO_OK(DeleteRecord(*a, "customers", "c1"));
  ASSERT_DAICHO_OK(SetValue(*b, "customers", "c1", "phone", Value("03-1111-2222")));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_TRUE((*conflicts)[0].delete_conflict);
    EXPECT_FALSE((*conflicts)[0].deleted);
    EXPECT_EQ(r->List("customers")->records.size(), 1u);
  }
  ASSERT_DAICHO_OK(DeleteRecord(*a, "customers", "c1"));
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    EXPECT_TRUE(r->Get("customers", "c1")->deleted);
    EXPECT_TRUE(r->List("customers")->records.empty());
  }
}

TEST_F(ReplicaTest, OneNameUsedWithTwoKindsIsAKindConflict) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_DAICHO_OK(SetValue(*a, "permits", "p1", "count", Value("three")));
  {
    WriteTransaction txn = b->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "count", 3));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    auto conflicts = r->ListConflicts();
    ASSERT_DAICHO_OK(conflicts);
    ASSERT_EQ(conflicts->size(), 1u);
    EXPECT_TRUE((*conflicts)[0].Find("count")->kind_conflict);
  }
  EXPECT_EQ(Describe(*a->ListConflicts()), Describe(*b->ListConflicts()));

  // Writing the field with any kind, having seen the conflict, settles it
  // on every replica, and the conflict index forgets the record.
  {
    WriteTransaction txn = a->BeginWrite();
    ASSERT_DAICHO_OK(txn.Add("permits", "p1", "count", 1));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("permits", "p1");
    ASSERT_DAICHO_OK(record);
    EXPECT_FALSE(record->Find("count")->kind_conflict);
    EXPECT_EQ(record->Find("count")->value, Value(int64_t{4}));
  }
}

// The defect of issue 11, item 11: a counter reused as text (and back) on
// one PC was a kind conflict on every replica for ever. Now the kind written
// last shows alone, through the stores and the change format, and a counter
// taken up again starts from 0.
TEST_F(ReplicaTest, ANameReusedWithAnotherKindShowsTheNewKindWithoutConflict) {
  auto a = OpenOrNull(Path("a"), CreateOptions());
  auto b = OpenOrNull(Path("b"), CreateOptions());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto commit = [](Replica& r, const std::function<Status(WriteTransaction&)>& edit) {
    WriteTransaction txn = r.BeginWrite();
    ASSERT_DAICHO_OK(edit(txn));
    ASSERT_DAICHO_OK(txn.Commit());
  };
  commit(*a, [](WriteTransaction& t) { return t.Add("customers", "c1", "filings", 3); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  commit(*b, [](WriteTransaction& t) { return t.Set("customers", "c1", "filings", Value("三件")); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    const FieldView* filings = record->Find("filings");
    EXPECT_EQ(filings->kind, FieldKind::kRegister);
    EXPECT_EQ(filings->value, Value("三件"));
    EXPECT_FALSE(filings->kind_conflict);
    EXPECT_FALSE(record->has_conflict());
  }
  commit(*a, [](WriteTransaction& t) { return t.Add("customers", "c1", "filings", 1); });
  ASSERT_DAICHO_OK(Exchange(*a, *b));
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_TRUE(r->ListConflicts()->empty());
    auto record = r->Get("customers", "c1");
    ASSERT_DAICHO_OK(record);
    EXPECT_EQ(record->Find("filings")->kind, FieldKind::kCounter);
    EXPECT_EQ(record->Find("filings")->value, Value(int64_t{1}));
    EXPECT_FALSE(record->Find("filings")->kind_conflict);
  }
}

// ---- ChangesSince / Apply ----

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

// ---- Map growth ----

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
