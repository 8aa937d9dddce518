#include "storage/lmdb/txn.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/lmdb/env.h"
#include "storage/lmdb/error.h"
#include "tests/testing/test_util.h"

namespace daicho::storage::lmdb {
namespace {

using daicho::testing::TempDir;

class LmdbTxnTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(OpenEnv(EnvOptions{})); }

  void OpenEnv(const EnvOptions& options) {
    env_.reset();
    auto env = Env::Open(tmp_.path().string(), options);
    ASSERT_DAICHO_OK(env);
    env_.emplace(std::move(env).value());
    auto dbi = env_->OpenDbi("data", /*create=*/true);
    ASSERT_DAICHO_OK(dbi);
    dbi_ = *dbi;
  }

  void PutCommitted(std::string_view key, std::string_view value) {
    auto w = env_->BeginWrite();
    ASSERT_DAICHO_OK(w);
    ASSERT_DAICHO_OK(w->Put(dbi_, key, value));
    ASSERT_DAICHO_OK(w->Commit());
  }

  // The committed value of `key`, or the error's code name.
  std::string Read(std::string_view key) {
    auto r = env_->BeginRead();
    if (!r.ok()) return r.status().ToString();
    auto v = r->Get(dbi_, key);
    if (!v.ok()) return std::string(CodeName(v.status().code()));
    return std::string(*v);
  }

  TempDir tmp_;
  std::optional<Env> env_;
  Dbi dbi_;
};

TEST_F(LmdbTxnTest, PutGetDelRoundTrip) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  ASSERT_DAICHO_OK(w->Put(dbi_, "alpha", "1"));
  ASSERT_DAICHO_OK(w->Put(dbi_, "beta", std::string("\0two\xff", 5)));
  auto in_txn = w->Get(dbi_, "alpha");
  ASSERT_DAICHO_OK(in_txn);
  EXPECT_EQ(*in_txn, "1");
  ASSERT_DAICHO_OK(w->Put(dbi_, "alpha", "one"));  // overwrite
  ASSERT_DAICHO_OK(w->Commit());
  EXPECT_FALSE(w->active());

  EXPECT_EQ(Read("alpha"), "one");
  EXPECT_EQ(Read("beta"), std::string("\0two\xff", 5));

  auto d = env_->BeginWrite();
  ASSERT_DAICHO_OK(d);
  ASSERT_DAICHO_OK(d->Del(dbi_, "alpha"));
  EXPECT_EQ(d->Get(dbi_, "alpha").status().code(), Code::kNotFound);
  ASSERT_DAICHO_OK(d->Commit());
  EXPECT_EQ(Read("alpha"), "not_found");
  EXPECT_EQ(Read("beta"), std::string("\0two\xff", 5));
}

TEST_F(LmdbTxnTest, MissingKeyIsNotFoundAndTxnStaysUsable) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  EXPECT_EQ(w->Get(dbi_, "nope").status().code(), Code::kNotFound);
  EXPECT_EQ(w->Del(dbi_, "nope").code(), Code::kNotFound);
  ASSERT_DAICHO_OK(w->Put(dbi_, "yes", "1"));
  ASSERT_DAICHO_OK(w->Commit());
  EXPECT_EQ(Read("yes"), "1");
}

TEST_F(LmdbTxnTest, UncommittedWriteIsRolledBackByDestructor) {
  PutCommitted("kept", "old");
  {
    auto w = env_->BeginWrite();
    ASSERT_DAICHO_OK(w);
    ASSERT_DAICHO_OK(w->Put(dbi_, "kept", "new"));
    ASSERT_DAICHO_OK(w->Put(dbi_, "temp", "x"));
  }  // no Commit
  EXPECT_EQ(Read("kept"), "old");
  EXPECT_EQ(Read("temp"), "not_found");

  // The write lock was released: another write transaction can begin.
  PutCommitted("after", "ok");
  EXPECT_EQ(Read("after"), "ok");
}

TEST_F(LmdbTxnTest, ExplicitAbortDiscardsAndEndsTxn) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  ASSERT_DAICHO_OK(w->Put(dbi_, "k", "v"));
  w->Abort();
  EXPECT_FALSE(w->active());
  EXPECT_EQ(w->Put(dbi_, "k", "v").code(), Code::kFailedPrecondition);
  EXPECT_EQ(w->Commit().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Read("k"), "not_found");
}

TEST_F(LmdbTxnTest, MoveAssignOverLiveWriteTxnAbortsIt) {
  auto first = env_->BeginWrite();
  ASSERT_DAICHO_OK(first);
  ASSERT_DAICHO_OK(first->Put(dbi_, "dropped", "x"));
  WriteTxn w = std::move(first).value();
  w = WriteTxn(std::move(w));  // self-move through a temporary: still the same txn
  ASSERT_DAICHO_OK(w.Put(dbi_, "still", "here"));
  ASSERT_DAICHO_OK(w.Commit());
  EXPECT_EQ(Read("dropped"), "x");
  EXPECT_EQ(Read("still"), "here");

  auto a = env_->BeginWrite();
  ASSERT_DAICHO_OK(a);
  ASSERT_DAICHO_OK(a->Put(dbi_, "aborted", "x"));
  WriteTxn holder = std::move(a).value();
  holder = WriteTxn(std::move(holder));
  holder.Abort();
  EXPECT_EQ(Read("aborted"), "not_found");
}

TEST_F(LmdbTxnTest, CommitPersistsAcrossReopen) {
  PutCommitted("durable", "yes");
  env_.reset();
  ASSERT_NO_FATAL_FAILURE(OpenEnv(EnvOptions{}));
  EXPECT_EQ(Read("durable"), "yes");
}

TEST_F(LmdbTxnTest, ReadTxnSeesSnapshotFromItsStart) {
  PutCommitted("k", "v1");
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  PutCommitted("k", "v2");

  auto old = r->Get(dbi_, "k");
  ASSERT_DAICHO_OK(old);
  EXPECT_EQ(*old, "v1");

  r->Reset();
  EXPECT_FALSE(r->active());
  EXPECT_EQ(r->Get(dbi_, "k").status().code(), Code::kFailedPrecondition);
  ASSERT_DAICHO_OK(r->Renew());
  auto fresh = r->Get(dbi_, "k");
  ASSERT_DAICHO_OK(fresh);
  EXPECT_EQ(*fresh, "v2");
}

TEST_F(LmdbTxnTest, BadArgumentsAreInvalidArgument) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  EXPECT_EQ(w->Put(Dbi{}, "k", "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(w->Put(dbi_, "", "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(w->Put(dbi_, std::string(600, 'k'), "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(w->Get(dbi_, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(w->OpenCursor(Dbi{}).status().code(), Code::kInvalidArgument);
  // Argument errors do not poison the transaction, nor read as a full map.
  EXPECT_FALSE(w->map_full());
  ASSERT_DAICHO_OK(w->Put(dbi_, "k", "v"));
  ASSERT_DAICHO_OK(w->Commit());
  EXPECT_FALSE(w->map_full());
  EXPECT_EQ(Read("k"), "v");
}

TEST_F(LmdbTxnTest, SecondWriteTxnOnSameThreadFailsInsteadOfDeadlocking) {
  auto first = env_->BeginWrite();
  ASSERT_DAICHO_OK(first);
  auto second = env_->BeginWrite();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition) << second.status();
  ASSERT_DAICHO_OK(first->Commit());
  ASSERT_DAICHO_OK(env_->BeginWrite());
}

TEST_F(LmdbTxnTest, WriteTxnOnAnotherThreadWaitsForCommit) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  ASSERT_DAICHO_OK(w->Put(dbi_, "order", "first"));
  std::thread other([this] {
    auto w2 = env_->BeginWrite();  // blocks until the main thread commits
    ASSERT_DAICHO_OK(w2);
    auto seen = w2->Get(dbi_, "order");
    ASSERT_DAICHO_OK(seen);
    EXPECT_EQ(*seen, "first");
    ASSERT_DAICHO_OK(w2->Put(dbi_, "order", "second"));
    ASSERT_DAICHO_OK(w2->Commit());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_DAICHO_OK(w->Commit());
  other.join();
  EXPECT_EQ(Read("order"), "second");
}

TEST_F(LmdbTxnTest, ReadTxnWorksOnAnotherThread) {
  PutCommitted("k", "v");
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  ReadTxn txn = std::move(r).value();

  // Begun here, used and ended on another thread (MDB_NOTLS).
  std::thread reader([&txn, this] {
    auto v = txn.Get(dbi_, "k");
    ASSERT_DAICHO_OK(v);
    EXPECT_EQ(*v, "v");
    ReadTxn mine = std::move(txn);
    mine.Abort();
  });
  reader.join();
  EXPECT_FALSE(txn.active());  // NOLINT(bugprone-use-after-move)
}

TEST_F(LmdbTxnTest, OneThreadMayHoldSeveralReadTxnsAndAWriteTxn) {
  PutCommitted("k", "v");
  auto r1 = env_->BeginRead();
  ASSERT_DAICHO_OK(r1);
  auto r2 = env_->BeginRead();  // without MDB_NOTLS LMDB refuses this
  ASSERT_DAICHO_OK(r2);
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  ASSERT_DAICHO_OK(w->Put(dbi_, "k", "w"));
  ASSERT_DAICHO_OK(w->Commit());
  EXPECT_EQ(*r1->Get(dbi_, "k"), "v");
  EXPECT_EQ(*r2->Get(dbi_, "k"), "v");
}

TEST_F(LmdbTxnTest, ConcurrentReadersOnManyThreadsWhileWriting) {
  PutCommitted("counter", "0");
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  readers.reserve(4);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto r = env_->BeginRead();
        ASSERT_DAICHO_OK(r);
        auto v = r->Get(dbi_, "counter");
        ASSERT_DAICHO_OK(v);
        EXPECT_FALSE(v->empty());
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 1; i <= 50; ++i) PutCommitted("counter", std::to_string(i));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < 100 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GE(reads.load(), 100);
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(Read("counter"), "50");
}

// ---- Cursor ----------------------------------------------------------------

class LmdbCursorTest : public LmdbTxnTest {
 protected:
  void SetUp() override {
    LmdbTxnTest::SetUp();
    std::vector<std::string> keys = {"b", "a", "ab", "c", "b\x01", "aa", "ba"};
    std::shuffle(keys.begin(), keys.end(), std::mt19937(1));
    auto w = env_->BeginWrite();
    ASSERT_DAICHO_OK(w);
    for (const auto& k : keys) ASSERT_DAICHO_OK(w->Put(dbi_, k, "v:" + k));
    ASSERT_DAICHO_OK(w->Commit());
  }

  static std::vector<std::string> Forward(Cursor& c) {
    std::vector<std::string> out;
    for (Status s = c.First(); s.ok() && c.valid(); s = c.Next()) out.emplace_back(c.key());
    return out;
  }

  const std::vector<std::string> sorted_ = {"a", "aa", "ab", "b", std::string("b\x01"), "ba", "c"};
};

TEST_F(LmdbCursorTest, IteratesInBytewiseKeyOrder) {
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto c = r->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(c);
  EXPECT_FALSE(c->valid());
  EXPECT_EQ(c->key(), "");
  EXPECT_EQ(Forward(*c), sorted_);
  EXPECT_FALSE(c->valid());

  std::vector<std::string> backward;
  for (Status s = c->Last(); s.ok() && c->valid(); s = c->Prev()) {
    backward.emplace_back(c->key());
    EXPECT_EQ(c->value(), "v:" + backward.back());
  }
  std::vector<std::string> expected(sorted_.rbegin(), sorted_.rend());
  EXPECT_EQ(backward, expected);
}

TEST_F(LmdbCursorTest, SeekFindsFirstKeyAtOrAfter) {
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto c = r->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(c);

  ASSERT_DAICHO_OK(c->Seek("ab"));  // exact
  ASSERT_TRUE(c->valid());
  EXPECT_EQ(c->key(), "ab");
  EXPECT_EQ(c->value(), "v:ab");

  // "b\0" sorts after "b" and before "b\x01": byte order, length as tie-break.
  ASSERT_DAICHO_OK(c->Seek(std::string("b\0", 2)));
  EXPECT_EQ(c->key(), std::string("b\x01"));

  ASSERT_DAICHO_OK(c->Seek("abc"));
  ASSERT_TRUE(c->valid());
  EXPECT_EQ(c->key(), "b");
  ASSERT_DAICHO_OK(c->Next());
  EXPECT_EQ(c->key(), std::string("b\x01"));
  ASSERT_DAICHO_OK(c->Prev());
  ASSERT_DAICHO_OK(c->Prev());
  EXPECT_EQ(c->key(), "ab");

  ASSERT_DAICHO_OK(c->Seek(""));  // everything is >= ""
  EXPECT_EQ(c->key(), "a");

  ASSERT_DAICHO_OK(c->Seek("d"));  // past the end: Ok, not valid
  EXPECT_FALSE(c->valid());
  EXPECT_EQ(c->Next().code(), Code::kFailedPrecondition);
  EXPECT_EQ(c->Prev().code(), Code::kFailedPrecondition);
}

TEST_F(LmdbCursorTest, EmptyDatabaseHasNoEntries) {
  auto empty = env_->OpenDbi("empty", /*create=*/true);
  ASSERT_DAICHO_OK(empty);
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto c = r->OpenCursor(*empty);
  ASSERT_DAICHO_OK(c);
  ASSERT_DAICHO_OK(c->First());
  EXPECT_FALSE(c->valid());
  ASSERT_DAICHO_OK(c->Last());
  EXPECT_FALSE(c->valid());
  ASSERT_DAICHO_OK(c->Seek("x"));
  EXPECT_FALSE(c->valid());
}

TEST_F(LmdbCursorTest, WorksInWriteTxnAndIsUnpositionedByWrites) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  ASSERT_DAICHO_OK(w->Put(dbi_, "bb", "new"));
  auto c = w->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(c);
  ASSERT_DAICHO_OK(c->Seek("bb"));
  ASSERT_TRUE(c->valid());
  EXPECT_EQ(c->key(), "bb");  // sees the uncommitted write
  EXPECT_EQ(c->value(), "new");

  ASSERT_DAICHO_OK(w->Del(dbi_, "c"));
  EXPECT_FALSE(c->valid());
  EXPECT_EQ(c->key(), "");
  EXPECT_EQ(c->Next().code(), Code::kFailedPrecondition);
  ASSERT_DAICHO_OK(c->Seek("bb"));
  ASSERT_TRUE(c->valid());
  ASSERT_DAICHO_OK(c->Next());
  EXPECT_FALSE(c->valid());  // "c" is gone
}

TEST_F(LmdbCursorTest, CursorOutlivingItsTxnIsDeadNotDangerous) {
  // Write txn: LMDB frees the cursor at commit; ours must not free it again.
  std::optional<Cursor> wc;
  {
    auto w = env_->BeginWrite();
    ASSERT_DAICHO_OK(w);
    auto c = w->OpenCursor(dbi_);
    ASSERT_DAICHO_OK(c);
    ASSERT_DAICHO_OK(c->First());
    wc.emplace(std::move(c).value());
    ASSERT_DAICHO_OK(w->Commit());
  }
  EXPECT_FALSE(wc->valid());
  EXPECT_EQ(wc->First().code(), Code::kFailedPrecondition);
  wc.reset();

  // Read txn: the cursor is still ours to free after the txn ends.
  std::optional<Cursor> rc;
  {
    auto r = env_->BeginRead();
    ASSERT_DAICHO_OK(r);
    auto c = r->OpenCursor(dbi_);
    ASSERT_DAICHO_OK(c);
    ASSERT_DAICHO_OK(c->Last());
    rc.emplace(std::move(c).value());
  }
  EXPECT_FALSE(rc->valid());
  EXPECT_EQ(rc->Seek("a").code(), Code::kFailedPrecondition);
  rc.reset();

  // Reset also kills cursors, even after Renew.
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto c = r->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(c);
  r->Reset();
  ASSERT_DAICHO_OK(r->Renew());
  EXPECT_EQ(c->First().code(), Code::kFailedPrecondition);
  auto fresh = r->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(fresh);
  EXPECT_EQ(Forward(*fresh), sorted_);
}

TEST_F(LmdbCursorTest, MovedCursorKeepsPosition) {
  auto r = env_->BeginRead();
  ASSERT_DAICHO_OK(r);
  auto c = r->OpenCursor(dbi_);
  ASSERT_DAICHO_OK(c);
  ASSERT_DAICHO_OK(c->Seek("b"));
  Cursor moved = std::move(c).value();
  EXPECT_EQ(moved.key(), "b");
  ASSERT_DAICHO_OK(moved.Next());
  EXPECT_EQ(moved.key(), std::string("b\x01"));
}

// ---- Map full and Grow -----------------------------------------------------

class LmdbMapFullTest : public LmdbTxnTest {
 protected:
  void SetUp() override {
    EnvOptions options;
    options.map_size = 64 * 1024;  // 16 pages of 4 KiB
    ASSERT_NO_FATAL_FAILURE(OpenEnv(options));
  }

  // Writes `count` values of 3000 bytes in one transaction; batch_map_full_
  // says whether it ended with the map full.
  Status WriteBatch(int count) {
    auto w = env_->BeginWrite();
    if (!w.ok()) return w.status();
    Status status;
    for (int i = 0; i < count && status.ok(); ++i) {
      status = w->Put(dbi_, "big" + std::to_string(1000 + i), std::string(3000, static_cast<char>('a' + i % 26)));
    }
    if (status.ok()) status = w->Commit();
    batch_map_full_ = w->map_full();
    return status;
  }

  bool batch_map_full_ = false;
};

TEST_F(LmdbMapFullTest, PutBeyondMapIsMapFullAndGrowLetsTheRetrySucceed) {
  for (int i = 0; i < 5; ++i) PutCommitted("small" + std::to_string(i), "value" + std::to_string(i));
  const uint64_t before = env_->map_size();

  // Find the smallest batch that does not fit.
  int count = 1;
  Status s;
  for (; count < 64; ++count) {
    s = WriteBatch(count);
    if (!s.ok()) break;
    // Undo it so the next attempt starts from the same state.
    auto w = env_->BeginWrite();
    ASSERT_DAICHO_OK(w);
    for (int i = 0; i < count; ++i) ASSERT_DAICHO_OK(w->Del(dbi_, "big" + std::to_string(1000 + i)));
    ASSERT_DAICHO_OK(w->Commit());
  }
  ASSERT_FALSE(s.ok()) << "64 KiB map never filled";
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s;
  EXPECT_TRUE(batch_map_full_) << s;

  // Nothing of the failed transaction is visible; earlier commits are intact.
  EXPECT_EQ(Read("big" + std::to_string(1000 + count - 1)), "not_found");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Read("small" + std::to_string(i)), "value" + std::to_string(i));

  ASSERT_DAICHO_OK(env_->Grow());
  EXPECT_EQ(env_->map_size(), 2 * before);
  ASSERT_DAICHO_OK(WriteBatch(count));
  EXPECT_FALSE(batch_map_full_);

  // And it all survives a reopen (which keeps the grown size).
  env_.reset();
  ASSERT_NO_FATAL_FAILURE(OpenEnv([] {
    EnvOptions o;
    o.map_size = 64 * 1024;
    return o;
  }()));
  EXPECT_GE(env_->map_size(), 2 * before);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Read("small" + std::to_string(i)), "value" + std::to_string(i));
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(Read("big" + std::to_string(1000 + i)), std::string(3000, static_cast<char>('a' + i % 26)));
  }
}

TEST_F(LmdbMapFullTest, CommitAfterMapFullReportsCauseAndRollsBack) {
  auto w = env_->BeginWrite();
  ASSERT_DAICHO_OK(w);
  Status failed;
  for (int i = 0; i < 64 && failed.ok(); ++i) {
    failed = w->Put(dbi_, "k" + std::to_string(i), std::string(3000, 'x'));
  }
  EXPECT_EQ(failed.code(), Code::kResourceExhausted) << failed;
  ASSERT_TRUE(w->map_full()) << failed;
  // LMDB requires an abort now; further writes and the commit say so.
  EXPECT_EQ(w->Put(dbi_, "more", "x").code(), Code::kFailedPrecondition);
  Status commit = w->Commit();
  EXPECT_EQ(commit.code(), Code::kResourceExhausted) << commit;
  EXPECT_NE(commit.message().find("lmdb map full"), std::string::npos) << commit;
  EXPECT_TRUE(w->map_full());
  EXPECT_FALSE(w->active());
  EXPECT_EQ(Read("k0"), "not_found");
  ASSERT_DAICHO_OK(env_->Grow());  // nothing live any more
}

}  // namespace
}  // namespace daicho::storage::lmdb
