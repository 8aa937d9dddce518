#include "storage/lmdb/growing_writer.h"

#include <optional>
#include <string>

#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

using daicho::testing::TempDir;

class GrowingWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnvOptions options;
    options.map_size = 64 * 1024;  // 16 pages of 4 KiB: a few big values fill it
    auto env = Env::Open(tmp_.path().string(), options);
    ASSERT_DAICHO_OK(env);
    env_.emplace(std::move(env).value());
    auto dbi = env_->OpenDbi("data", /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    dbi_ = *dbi;
  }

  // Puts 40 values of 3000 bytes: more than the initial map holds.
  Status PutMany(WriteTxn& txn) {
    for (int i = 0; i < 40; ++i) {
      DAICHO_RETURN_IF_ERROR(txn.Put(dbi_, "big" + std::to_string(100 + i), std::string(3000, 'x')));
    }
    return Status::Ok();
  }

  TempDir tmp_;
  std::optional<Env> env_;
  Dbi dbi_;
};

TEST_F(GrowingWriterTest, FullMapGrowsAndTheBodyRunsAgainEvenIfItReplacedTheStatus) {
  const uint64_t before = env_->map_size();
  GrowingWriter writer(*env_);
  int runs = 0;
  // The body hides the map-full Status behind one of its own, as a caller
  // adding context or mapping codes might: the txn still knows.
  ASSERT_DAICHO_OK(writer.Run([&](WriteTxn& txn) -> Status {
    ++runs;
    Status put = PutMany(txn);
    if (!put.ok()) return Internal("batch refused");
    return Status::Ok();
  }));
  EXPECT_GT(runs, 1);
  EXPECT_GT(env_->map_size(), before);
  auto read = env_->BeginRead();
  ASSERT_DAICHO_OK(read);
  EXPECT_EQ(read->Get(dbi_, "big139").value(), std::string(3000, 'x'));
}

TEST_F(GrowingWriterTest, OtherFailuresAreReturnedWithoutARetry) {
  const uint64_t before = env_->map_size();
  GrowingWriter writer(*env_);
  int runs = 0;
  const Status status = writer.Run([&](WriteTxn& txn) -> Status {
    ++runs;
    DAICHO_RETURN_IF_ERROR(txn.Put(dbi_, "k", "v"));
    return txn.Put(dbi_, std::string(600, 'k'), "v");  // over LMDB's key limit
  });
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << status;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(env_->map_size(), before);
  auto read = env_->BeginRead();
  ASSERT_DAICHO_OK(read);
  EXPECT_EQ(read->Get(dbi_, "k").status().code(), Code::kNotFound);  // rolled back
}

}  // namespace
}  // namespace daicho::storage::lmdb
