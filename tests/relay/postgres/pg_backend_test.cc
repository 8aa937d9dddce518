// The PostgreSQL backend beyond the shared RelayService suite: schema
// versions and refusals, retries under contention, the outcome of a commit
// whose answer was lost, the change log's pages, numbers beyond a bigint.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <limits>
#include <thread>

#include "relay/postgres/pg_connection.h"
#include "relay/postgres/pg_schema.h"
#include "tests/relay/postgres/pg_test_util.h"
#include "tests/testing/process.h"

namespace daicho::relay {
namespace {

TEST_F(PgBackendTest, OpenAndMigrateRefuseADatabaseWithoutTheStore) {
  daicho::testing::PgTestDatabase empty;
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(PgBackend::Open(empty.conninfo()).status().code(), Code::kNotFound);
  EXPECT_EQ(PgBackend::Migrate(empty.conninfo()).status().code(), Code::kNotFound);
  // Nothing was created by either.
  EXPECT_EQ(*empty.instance().Query(empty.name(), "SELECT count(*) FROM pg_namespace WHERE nspname = 'daicho'"), "0");
}

TEST_F(PgBackendTest, CreateSchemaTwiceChangesNothing) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  EXPECT_EQ(PgBackend::CreateSchema(db_.conninfo()).code(), Code::kAlreadyExists);
  EXPECT_EQ(Sql("SELECT count(*) FROM daicho.contracts"), "1");
  auto migrated = PgBackend::Migrate(db_.conninfo());
  ASSERT_DAICHO_OK(migrated);
  EXPECT_EQ(migrated->from, migrated->to);
}

TEST_F(PgBackendTest, AnUnreachableServerIsUnavailable) {
  EXPECT_EQ(PgBackend::Open("host=127.0.0.1 port=1 dbname=x connect_timeout=2").status().code(), Code::kUnavailable);
  EXPECT_EQ(PgBackend::CreateSchema("host=127.0.0.1 port=1 dbname=x connect_timeout=2").code(), Code::kUnavailable);
}

TEST_F(PgBackendTest, AnOlderSchemaIsRefusedUntilMigrated) {
  ASSERT_EQ(Sql("UPDATE daicho.relay_meta SET schema_version = 0 RETURNING schema_version"), "0");
  const Status refused = PgBackend::Open(db_.conninfo()).status();
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("migrate"), std::string::npos) << refused;
}

TEST_F(PgBackendTest, ANewerSchemaIsServedOnlyWhileCompatible) {
  // An additive v+1 keeps compatible_from: this build still serves it.
  Sql("UPDATE daicho.relay_meta SET schema_version = schema_version + 1 RETURNING 1");
  EXPECT_NE(OpenBackend(), nullptr);
  EXPECT_EQ(PgBackend::Migrate(db_.conninfo()).status().code(), Code::kFailedPrecondition);
  // A breaking one raises it beyond this build.
  Sql("UPDATE daicho.relay_meta SET compatible_from = schema_version RETURNING 1");
  const Status refused = PgBackend::Open(db_.conninfo()).status();
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("newer"), std::string::npos) << refused;
}

TEST_F(PgBackendTest, MigrateAppliesTheMissingStepsOnce) {
  daicho::testing::PgTestDatabase old;
  ASSERT_TRUE(old.ok());
  auto conn = pg::PgConn::Connect(old.conninfo(), "migration test");
  ASSERT_DAICHO_OK(conn);
  const auto current = pg::Migrations();
  std::vector<pg::Migration> steps(current.begin(), current.end());
  const int v = steps.back().version;
  // The store as the previous build made it.
  ASSERT_DAICHO_OK(pg::CreateSchema(**conn, steps));
  steps.push_back(pg::Migration{v + 1, steps.back().compatible_from, "CREATE TABLE daicho.added (x integer)"});
  EXPECT_EQ(pg::CheckSchema(**conn, steps).code(), Code::kFailedPrecondition);
  // The previous build keeps serving it after the additive step.
  auto migrated = pg::Migrate(**conn, steps);
  ASSERT_DAICHO_OK(migrated);
  EXPECT_EQ(migrated->from, v);
  EXPECT_EQ(migrated->to, v + 1);
  ASSERT_DAICHO_OK(pg::CheckSchema(**conn, steps));
  ASSERT_DAICHO_OK(pg::CheckSchema(**conn, current));
  auto again = pg::Migrate(**conn, steps);
  ASSERT_DAICHO_OK(again);
  EXPECT_EQ(again->from, v + 1);
  EXPECT_EQ(*old.instance().Query(old.name(), "SELECT count(*) FROM daicho.added"), "0");
  // A step that fails leaves the schema as it was.
  steps.push_back(pg::Migration{v + 2, steps.back().compatible_from, "CREATE TABLE daicho.added (x integer)"});
  EXPECT_FALSE(pg::Migrate(**conn, steps).ok());
  EXPECT_EQ(*old.instance().Query(old.name(), "SELECT schema_version FROM daicho.relay_meta"), std::to_string(v + 1));
}

TEST_F(PgBackendTest, ConcurrentWritersOfOneContractAllCommit) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Two writers per origin: their appends contend for the same seq.
      const ReplicaId origin = Origin(static_cast<uint8_t>(1 + t % 2));
      for (int i = 0; i < kEach; ++i) {
        if (!AppendNext(*backend, a_, origin).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  VersionVector vv;
  ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(vv, txn.GetVersionVector(a_));
    return Status::Ok();
  }));
  EXPECT_EQ(vv.Total(), uint64_t{kThreads * kEach});
  EXPECT_EQ(Sql("SELECT count(*) FROM daicho.changes"), std::to_string(kThreads * kEach));
  EXPECT_EQ(Sql("SELECT change_count FROM daicho.contracts"), std::to_string(kThreads * kEach));
}

TEST_F(PgBackendTest, RacingFirstInsertsAreRetriedNotFailed) {
  auto backend = OpenBackend();
  constexpr int kThreads = 4;
  std::barrier start(kThreads);
  std::atomic<int> added{0};
  std::atomic<int> existed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      // AddContract's rule: the loser's insert fails on the key, and the
      // retry finds the winner's row.
      Status status = backend->Write([&](RelayWriteTxn& txn) -> Status {
        DAICHO_ASSIGN_OR_RETURN(auto found, txn.GetContract(a_));
        if (found) return AlreadyExists("there");
        return txn.PutContract(a_);
      });
      if (status.ok()) ++added;
      if (status.code() == Code::kAlreadyExists) ++existed;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(added.load(), 1);
  EXPECT_EQ(existed.load(), kThreads - 1);
}

TEST_F(PgBackendTest, OfficeKeyCompareAndSwapHasOneWinner) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  for (uint32_t round = 1; round <= 5; ++round) {
    std::barrier start(2);
    std::atomic<int> won{0};
    std::atomic<int> lost{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        Status status = backend->Write([&](RelayWriteTxn& txn) -> Status {
          DAICHO_ASSIGN_OR_RETURN(bool found, txn.LockContract(a_));
          if (!found) return NotFound("no contract");
          DAICHO_ASSIGN_OR_RETURN(auto keys, txn.GetOfficeKey(a_));
          if (keys.current_key_id != round - 1) return FailedPrecondition("changed meanwhile");
          crypto::WrappedOfficeKey next;
          next.current_key_id = round;
          next.passphrase_wrapped = "by thread " + std::to_string(t);
          return txn.PutOfficeKey(a_, next);
        });
        if (status.ok()) ++won;
        if (status.code() == Code::kFailedPrecondition) ++lost;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 1) << "round " << round;
  }
  EXPECT_EQ(Sql("SELECT key_id FROM daicho.contracts"), "5");
}

TEST_F(PgBackendTest, WhatAWriteReadCannotChangeUntilItCommits) {
  // RequireVendor's case: an office's write reads the vendor contract; a
  // concurrent disabling of that contract waits for the write's commit.
  auto backend = OpenBackend("node-skew");
  AddContract(*backend, a_);
  AddContract(*backend, b_);
  std::atomic<bool> reader_done{false};
  std::atomic<bool> disabled_before_reader{false};
  std::thread disabler;
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_RETURN_IF_ERROR(txn.LockContract(a_).status());
    DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetContract(b_));
    if (!vendor.has_value() || vendor->disabled) return Internal("the vendor contract should be there, enabled");
    if (!disabler.joinable()) {
      disabler = std::thread([&] {
        EXPECT_TRUE(backend->Write([&](RelayWriteTxn& other) { return other.SetContractDisabled(b_, true); }).ok());
        disabled_before_reader = !reader_done.load();
      });
    }
    // The disabling is blocked on the row this write read.
    EXPECT_TRUE(daicho::testing::WaitFor([&] {
      return Sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'daicho-relay node-skew' AND "
                 "wait_event_type = 'Lock'") == "1";
    }));
    reader_done = true;
    return txn.SetAccountLastSync(a_, "x", "x", 1, "");
  }));
  disabler.join();
  EXPECT_FALSE(disabled_before_reader.load());
  EXPECT_EQ(Sql("SELECT disabled FROM daicho.contracts WHERE contract = '0000-0000-0002'"), "t");
}

TEST_F(PgBackendTest, AReadIsOneSnapshot) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  ASSERT_DAICHO_OK(AppendNext(*backend, a_, Origin(1)));
  ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(VersionVector before, txn.GetVersionVector(a_));
    // Committed meanwhile by another connection: not in this read.
    std::thread writer([&] { EXPECT_TRUE(AppendNext(*backend, a_, Origin(2)).ok()); });
    writer.join();
    DAICHO_ASSIGN_OR_RETURN(VersionVector after, txn.GetVersionVector(a_));
    EXPECT_EQ(after, before);
    DAICHO_ASSIGN_OR_RETURN(auto change, txn.GetChange(a_, Origin(2), 1));
    EXPECT_FALSE(change.has_value());
    return Status::Ok();
  }));
  EXPECT_EQ(Sql("SELECT change_count FROM daicho.contracts"), "2");
}

TEST_F(PgBackendTest, AConnectionLostBeforeTheCommitIsRetried) {
  auto backend = OpenBackend("node-lost");
  int runs = 0;
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) -> Status {
    ++runs;
    DAICHO_RETURN_IF_ERROR(txn.PutContract(a_));
    if (runs == 1) {
      EXPECT_EQ(Terminate("daicho-relay node-lost"), 1);
    }
    // The first run's connection is gone: this fails and the whole
    // function runs again on a new one.
    return txn.SetContractDisabled(a_, true);
  }));
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Sql("SELECT disabled FROM daicho.contracts"), "t");
}

TEST_F(PgBackendTest, ACommitWhoseAnswerWasLostIsNotRunAgain) {
  auto backend = OpenBackend("node-commit");
  int runs = 0;
  const Status status = backend->Write([&](RelayWriteTxn& txn) -> Status {
    ++runs;
    DAICHO_RETURN_IF_ERROR(txn.PutContract(a_));
    EXPECT_EQ(Terminate("daicho-relay node-commit"), 1);
    return Status::Ok();  // COMMIT goes to a connection that is gone
  });
  EXPECT_EQ(status.code(), Code::kUnavailable) << status;
  EXPECT_EQ(runs, 1);
  // The backend goes on with a new connection.
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) { return txn.PutContract(b_); }));
}

TEST_F(PgBackendTest, AFunctionsOwnErrorRollsBackAndIsNotRetried) {
  auto backend = OpenBackend();
  int runs = 0;
  const Status status = backend->Write([&](RelayWriteTxn& txn) -> Status {
    ++runs;
    DAICHO_RETURN_IF_ERROR(txn.PutContract(a_));
    return PermissionDenied("no");
  });
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Sql("SELECT count(*) FROM daicho.contracts"), "0");
}

TEST_F(PgBackendTest, PooledConnectionsAreReused) {
  auto backend = OpenBackend("node-pool");
  AddContract(*backend, a_);
  for (int i = 0; i < 30; ++i) {
    ASSERT_DAICHO_OK(AppendNext(*backend, a_, Origin(1)));
    ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) { return txn.GetVersionVector(a_).status(); }));
  }
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'daicho-relay node-pool'"), "1");
}

TEST_F(PgBackendTest, APoolWhoseServerWentAwayIsReplacedAtOnce) {
  // As after a failover: every pooled connection is dead. More of them
  // than a write has attempts, so only dropping them all lets it pass.
  auto backend = OpenBackend("node-failover");
  constexpr int kConnections = 12;
  std::barrier all_open(kConnections);
  std::vector<std::thread> readers;
  for (int i = 0; i < kConnections; ++i) {
    readers.emplace_back([&] {
      EXPECT_TRUE(backend
                      ->Read([&](RelayReadTxn&) {
                        all_open.arrive_and_wait();
                        return Status::Ok();
                      })
                      .ok());
    });
  }
  for (std::thread& reader : readers) reader.join();
  ASSERT_EQ(Terminate("daicho-relay node-failover"), kConnections);
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) { return txn.PutContract(a_); }));
  ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) { return txn.ListContracts().status(); }));
}

TEST_F(PgBackendTest, ChangeLogReaderPagesAcrossOrigins) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  constexpr uint64_t kPerOrigin = 100;
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) -> Status {
    std::vector<ChangeBlob> blobs;
    VersionVector advanced;
    for (uint8_t o = 1; o <= 3; ++o) {
      for (uint64_t seq = 1; seq <= kPerOrigin; ++seq) blobs.push_back(Blob(Origin(o), seq));
      advanced.Advance(Origin(o), kPerOrigin);
    }
    std::vector<const ChangeBlob*> pointers;
    for (const ChangeBlob& blob : blobs) pointers.push_back(&blob);
    return txn.AppendChanges(a_, pointers, advanced);
  }));
  ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto reader, txn.OpenChangeLog(a_));
    DAICHO_RETURN_IF_ERROR(reader->Seek(ReplicaId(), 0));
    uint64_t seen = 0;
    while (reader->current() != nullptr) {
      const core::ChangeLogEntry& entry = *reader->current();
      const uint8_t o = static_cast<uint8_t>(1 + seen / kPerOrigin);
      EXPECT_EQ(entry.origin, Origin(o));
      EXPECT_EQ(entry.seq, 1 + seen % kPerOrigin);
      EXPECT_EQ(entry.payload, Blob(Origin(o), entry.seq).payload);
      ++seen;
      DAICHO_RETURN_IF_ERROR(reader->Next());
    }
    EXPECT_EQ(seen, 3 * kPerOrigin);
    // A seek lands inside the second origin; past a seq no bigint holds,
    // on the next origin.
    DAICHO_RETURN_IF_ERROR(reader->Seek(Origin(2), 50));
    EXPECT_EQ(reader->current()->origin, Origin(2));
    EXPECT_EQ(reader->current()->seq, 50u);
    DAICHO_RETURN_IF_ERROR(reader->Seek(Origin(2), std::numeric_limits<uint64_t>::max()));
    EXPECT_EQ(reader->current()->origin, Origin(3));
    EXPECT_EQ(reader->current()->seq, 1u);
    DAICHO_RETURN_IF_ERROR(reader->Seek(Origin(3), kPerOrigin + 1));
    EXPECT_EQ(reader->current(), nullptr);
    return Status::Ok();
  }));
}

TEST_F(PgBackendTest, NumbersBeyondABigintAreRefusedOrClamped) {
  auto backend = OpenBackend();
  AddContract(*backend, a_);
  ASSERT_DAICHO_OK(backend->Write([&](RelayWriteTxn& txn) -> Status {
    return txn.AppendAudit(a_, AuditRecord{uint64_t{std::numeric_limits<int64_t>::max()}, "", "", "cli", "x", "", ""});
  }));
  const Status refused = backend->Write([&](RelayWriteTxn& txn) -> Status {
    return txn.PutOfficeKeyTimes(a_, OfficeKeyTimes{std::numeric_limits<uint64_t>::max(), 0});
  });
  EXPECT_EQ(refused.code(), Code::kInvalidArgument);
  ASSERT_DAICHO_OK(backend->Read([&](RelayReadTxn& txn) -> Status {
    // "Before UINT64_MAX": the newest rows, up to the largest time stored.
    DAICHO_ASSIGN_OR_RETURN(auto rows, txn.ListAudit(a_, std::numeric_limits<uint64_t>::max(), 10));
    EXPECT_EQ(rows.size(), 1u);
    DAICHO_ASSIGN_OR_RETURN(auto none, txn.ListAudit(a_, uint64_t{std::numeric_limits<int64_t>::max()}, 10));
    EXPECT_TRUE(none.empty());
    DAICHO_ASSIGN_OR_RETURN(auto change, txn.GetChange(a_, Origin(1), std::numeric_limits<uint64_t>::max()));
    EXPECT_FALSE(change.has_value());
    return Status::Ok();
  }));
}

TEST(RedactConninfoTest, HidesThePasswordOnly) {
  EXPECT_EQ(RedactConninfo("host=h dbname=d"), "host=h dbname=d");
  const std::string uri = RedactConninfo("postgresql://u:secret@h:5/d");
  EXPECT_EQ(uri.find("secret"), std::string::npos);
  EXPECT_NE(uri.find("password='***'"), std::string::npos) << uri;
  EXPECT_NE(uri.find("host='h'"), std::string::npos) << uri;
  EXPECT_EQ(RedactConninfo("host='unterminated"), "(unreadable conninfo)");
}

}  // namespace
}  // namespace daicho::relay
