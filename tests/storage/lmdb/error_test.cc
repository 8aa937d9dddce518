#include "storage/lmdb/error.h"

#include <lmdb.h>

#include <cerrno>

#include "tests/testing/test_util.h"
#include "tests/testing/tiny_filesystem.h"

namespace daicho::storage::lmdb {
namespace {

TEST(LmdbErrorTest, MapsLmdbCodesToDaichoCodes) {
  EXPECT_EQ(LmdbCode(MDB_SUCCESS), Code::kOk);
  EXPECT_EQ(LmdbCode(MDB_NOTFOUND), Code::kNotFound);
  EXPECT_EQ(LmdbCode(MDB_KEYEXIST), Code::kAlreadyExists);
  EXPECT_EQ(LmdbCode(MDB_MAP_FULL), Code::kResourceExhausted);
  EXPECT_EQ(LmdbCode(MDB_CORRUPTED), Code::kCorruption);
  EXPECT_EQ(LmdbCode(MDB_PAGE_NOTFOUND), Code::kCorruption);
  EXPECT_EQ(LmdbCode(MDB_INVALID), Code::kCorruption);
  EXPECT_EQ(LmdbCode(MDB_VERSION_MISMATCH), Code::kCorruption);
  EXPECT_EQ(LmdbCode(MDB_READERS_FULL), Code::kBusy);
  EXPECT_EQ(LmdbCode(MDB_BAD_VALSIZE), Code::kInvalidArgument);
  EXPECT_EQ(LmdbCode(MDB_BAD_TXN), Code::kFailedPrecondition);
  EXPECT_EQ(LmdbCode(MDB_PANIC), Code::kInternal);
}

TEST(LmdbErrorTest, MapsErrnoToDaichoCodes) {
  EXPECT_EQ(LmdbCode(ENOENT), Code::kNotFound);
  EXPECT_EQ(LmdbCode(EAGAIN), Code::kBusy);
  EXPECT_EQ(LmdbCode(EBUSY), Code::kBusy);
  EXPECT_EQ(LmdbCode(ENOSPC), Code::kIoError);
  EXPECT_EQ(LmdbCode(EIO), Code::kIoError);
  EXPECT_EQ(LmdbCode(EACCES), Code::kIoError);
  EXPECT_EQ(LmdbCode(EROFS), Code::kIoError);
  EXPECT_EQ(LmdbCode(EINVAL), Code::kInvalidArgument);
}

TEST(LmdbErrorTest, MessageCarriesContextAndLmdbText) {
  Status s = LmdbStatus(MDB_NOTFOUND, "reading meta");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("reading meta"), std::string::npos) << s;
  EXPECT_NE(s.message().find("MDB_NOTFOUND"), std::string::npos) << s;

  Status io = LmdbStatus(ENOSPC, "commit");
  EXPECT_EQ(io.code(), Code::kIoError);
  EXPECT_NE(io.message().find("commit"), std::string::npos) << io;
  EXPECT_NE(io.message().find("space"), std::string::npos) << io;

  EXPECT_TRUE(LmdbStatus(MDB_SUCCESS, "anything").ok());
}

// LMDB answers a short write, which is how a full disk usually shows, with
// EIO: on a nearly full file system that reads as a full disk.
TEST(LmdbErrorTest, IoErrorOnANearlyFullDiskReadsAsDiskFull) {
  daicho::testing::TempDir tmp;
  daicho::testing::TinyFilesystem fs;
  const std::string disk = tmp.Sub("disk");
  const std::string why = fs.Mount(disk, 4 << 20);
  if (!why.empty()) GTEST_SKIP() << "no tiny file system here: " << why;
  const Status s = LmdbStatus(EIO, "mdb_txn_commit", disk);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "the disk is full (4 MB free on tmpfs, mounted at " + disk +
                             "); free space and retry — nothing was lost (mdb_txn_commit: Input/output error (rc=5))");
  EXPECT_NE(LmdbStatus(ENOSPC, "mdb_put", disk + "/replica").message().find("the disk is full (4 MB free"),
            std::string::npos);
}

TEST(LmdbErrorTest, IoErrorWithRoomLeftStaysAnIoError) {
  daicho::testing::TempDir tmp;
  daicho::testing::TinyFilesystem fs;
  const std::string disk = tmp.Sub("disk");
  const std::string why = fs.Mount(disk, 64 << 20);
  if (!why.empty()) GTEST_SKIP() << "no tiny file system here: " << why;
  const Status s = LmdbStatus(EIO, "mdb_txn_commit", disk);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "mdb_txn_commit: Input/output error (rc=5)");
  EXPECT_EQ(LmdbStatus(EACCES, "opening", disk).message(), "opening: Permission denied (rc=13)");
}

TEST(LmdbErrorTest, MapFullMessageSaysSoAndOtherFullConditionsDoNot) {
  Status full = LmdbStatus(MDB_MAP_FULL, "mdb_put");
  EXPECT_EQ(full.code(), Code::kResourceExhausted);
  EXPECT_EQ(full.message().rfind("mdb_put: lmdb map full: ", 0), 0u) << full;

  EXPECT_EQ(LmdbStatus(MDB_DBS_FULL, "open").message().find("map full"), std::string::npos);
  EXPECT_EQ(LmdbStatus(MDB_TXN_FULL, "put").message().find("map full"), std::string::npos);
}

}  // namespace
}  // namespace daicho::storage::lmdb
