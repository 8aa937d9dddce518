// Tests of the public Replica API on LMDB: copy and rollback detection: a copied or restored store takes a new id.
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

namespace fs = std::filesystem;

using ::daicho::testing::CreateOptions;
using ::daicho::testing::DumpCollection;
using ::daicho::testing::Exchange;
using ::daicho::testing::kYamada;
using ::daicho::testing::OpenOrNull;
using ::daicho::testing::Pull;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::ReplicaTest;
using ::daicho::testing::SetValue;

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

}  // namespace
}  // namespace daicho
