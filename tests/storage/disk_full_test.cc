// A replica on a disk that fills up (issue 11 item 7): the commit that does
// not fit fails with a message saying the disk is full, how much is free
// where, and that nothing was lost; what was stored before still reads, and
// once space is freed the same commit goes through.
#include <gtest/gtest.h>

#include <string>

#include "daicho/replica.h"
#include "storage/replica_test_util.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_filesystem.h"

namespace daicho {
namespace {

using ::daicho::testing::CreateOptions;
using ::daicho::testing::QuietOptions;
using ::daicho::testing::SetValue;
using ::daicho::testing::TempDir;
using ::daicho::testing::TinyFilesystem;

constexpr uint64_t kFilesystemBytes = 4 << 20;

TEST(ReplicaDiskFullTest, CommitOnFullDiskSaysSoAndLosesNothing) {
  TempDir tmp;
  TinyFilesystem fs;
  const std::string mount_point = tmp.Sub("disk");
  const std::string why = fs.Mount(mount_point, kFilesystemBytes);
  if (!why.empty()) GTEST_SKIP() << "no tiny file system here: " << why;
  const std::string path = mount_point + "/replica";
  auto replica = Replica::Open(path, CreateOptions());
  ASSERT_DAICHO_OK(replica);
  ASSERT_DAICHO_OK(SetValue(**replica, "customers", "kept", "name", Value("佐藤商店")));

  ASSERT_TRUE(fs.Fill());
  // Far more than the few pages LMDB may still find free inside its file.
  const std::string big(512 << 10, 'b');
  const Status full = SetValue(**replica, "customers", "big", "memo", Value(big));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.code(), Code::kIoError) << full;
  EXPECT_NE(full.message().find("the disk is full (0 MB free on tmpfs, mounted at " + mount_point + ")"),
            std::string::npos)
      << full;
  EXPECT_NE(full.message().find("free space and retry — nothing was lost"), std::string::npos) << full;

  auto kept = (*replica)->Get("customers", "kept");
  ASSERT_DAICHO_OK(kept);
  EXPECT_EQ(kept->Find("name")->value, Value("佐藤商店"));
  EXPECT_EQ((*replica)->Get("customers", "big").status().code(), Code::kNotFound);

  fs.Free();
  ASSERT_DAICHO_OK(SetValue(**replica, "customers", "big", "memo", Value(big)));
  replica->reset();
  auto reopened = Replica::Open(path, QuietOptions());
  ASSERT_DAICHO_OK(reopened);
  ASSERT_DAICHO_OK((*reopened)->Get("customers", "kept"));
  auto stored = (*reopened)->Get("customers", "big");
  ASSERT_DAICHO_OK(stored);
  EXPECT_EQ(stored->Find("memo")->value, Value(big));
}

}  // namespace
}  // namespace daicho
