#include "storage/lmdb/change_log_reader.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/lmdb/env.h"
#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

using daicho::testing::TempDir;

ReplicaId Id(uint8_t n) {
  ReplicaId::Bytes bytes;
  bytes.fill(n);
  return ReplicaId(bytes);
}

const ReplicaId kA = Id(0x0a);
const ReplicaId kB = Id(0x0b);

// Two logs in one database, as a relay keeps one per contract: prefix "c1"
// holds A 1..2, prefix "c2" holds A 1 and B 1.
class LmdbChangeLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = Env::Open(tmp_.path().string(), EnvOptions{});
    ASSERT_DAICHO_OK(env);
    env_.emplace(std::move(env).value());
    auto dbi = env_->OpenDbi("changes", /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    dbi_ = *dbi;
    auto txn = env_->BeginWrite();
    ASSERT_DAICHO_OK(txn);
    ASSERT_DAICHO_OK(txn->Put(dbi_, ChangeLogKey("c1", kA, 1), "c1 A1"));
    ASSERT_DAICHO_OK(txn->Put(dbi_, ChangeLogKey("c1", kA, 2), "c1 A2"));
    ASSERT_DAICHO_OK(txn->Put(dbi_, ChangeLogKey("c2", kA, 1), "c2 A1"));
    ASSERT_DAICHO_OK(txn->Put(dbi_, ChangeLogKey("c2", kB, 1), "c2 B1"));
    ASSERT_DAICHO_OK(txn->Commit());
  }

  // "origin-byte:seq=payload" of each entry from (origin, seq) on, read with `prefix`.
  std::vector<std::string> ReadFrom(std::string prefix, const ReplicaId& origin, uint64_t seq) {
    auto txn = env_->BeginRead();
    EXPECT_DAICHO_OK(txn);
    auto cursor = txn->OpenCursor(dbi_);
    EXPECT_DAICHO_OK(cursor);
    LmdbChangeLogReader log(std::move(cursor).value(), std::move(prefix));
    std::vector<std::string> out;
    EXPECT_DAICHO_OK(log.Seek(origin, seq));
    for (const core::ChangeLogEntry* at = log.current(); at != nullptr; at = log.current()) {
      out.push_back(std::to_string(at->origin.bytes()[0]) + ":" + std::to_string(at->seq) + "=" +
                    std::string(at->payload));
      EXPECT_DAICHO_OK(log.Next());
    }
    return out;
  }

  TempDir tmp_;
  std::optional<Env> env_;
  Dbi dbi_;
};

TEST(ChangeLogKeyTest, IsPrefixOriginAndBigEndianSeq) {
  const std::string key = ChangeLogKey("pre", kA, 0x0102030405060708);
  ASSERT_EQ(key.size(), 3u + 16 + 8);
  EXPECT_EQ(key.substr(0, 3), "pre");
  EXPECT_EQ(key.substr(3, 16), kA.AsStringView());
  EXPECT_EQ(key.substr(19), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(ChangeLogKey("", kA, 1).size(), 24u);
}

TEST_F(LmdbChangeLogReaderTest, ReadsOnlyTheEntriesOfItsPrefix) {
  EXPECT_EQ(ReadFrom("c1", kA, 1), (std::vector<std::string>{"10:1=c1 A1", "10:2=c1 A2"}));
  EXPECT_EQ(ReadFrom("c1", kA, 2), (std::vector<std::string>{"10:2=c1 A2"}));
  EXPECT_EQ(ReadFrom("c1", kB, 1), (std::vector<std::string>{}));
  EXPECT_EQ(ReadFrom("c2", kA, 1), (std::vector<std::string>{"10:1=c2 A1", "11:1=c2 B1"}));
  EXPECT_EQ(ReadFrom("c3", kA, 1), (std::vector<std::string>{}));
}

TEST_F(LmdbChangeLogReaderTest, KeysOfAnotherLengthAreOutsideTheLog) {
  // Without a prefix the 26-byte keys of the prefixed logs are no entries.
  EXPECT_EQ(ReadFrom("", kA, 1), (std::vector<std::string>{}));
}

TEST_F(LmdbChangeLogReaderTest, WalkServesOneContractsLog) {
  auto txn = env_->BeginRead();
  ASSERT_DAICHO_OK(txn);
  auto cursor = txn->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(cursor);
  LmdbChangeLogReader log(std::move(cursor).value(), "c2");
  VersionVector held;
  held.Advance(kA, 1);
  held.Advance(kB, 1);
  auto got = core::CollectChangesSince(log, "log c2", held, VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(got);
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].payload, "c2 A1");
  EXPECT_EQ((*got)[1].payload, "c2 B1");
  held.Advance(kB, 2);
  got = core::CollectChangesSince(log, "log c2", held, VersionVector(), SIZE_MAX, nullptr);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_EQ(got.status().message(), "log c2 lacks " + kB.ToHex() + ":2");
}

}  // namespace
}  // namespace daicho::storage::lmdb
