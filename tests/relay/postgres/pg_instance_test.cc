// The harness the topology tests build on: a durable primary with a
// synchronous standby; the primary stopped at once and the standby promoted
// keeps every acknowledged commit and takes writes.
#include "tests/testing/pg_instance.h"

#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::testing {
namespace {

TEST(PgInstanceTest, SynchronousStandbyIsPromotedWithEveryCommit) {
  auto primary = PgInstance::Start({.durable = true, .settings = {}, .dir = ""});
  ASSERT_DAICHO_OK(primary);
  auto standby = PgInstance::StartStandby(**primary, "standby1");
  ASSERT_DAICHO_OK(standby);
  EXPECT_NE((*primary)->port(), (*standby)->port());
  ASSERT_DAICHO_OK((*primary)->Query("postgres", "CREATE TABLE t (x integer); INSERT INTO t VALUES (1), (2)"));
  // Acknowledged means on the standby too (remote flush; the replay may lag).
  EXPECT_TRUE(WaitFor([&] {
    auto rows = (*standby)->Query("postgres", "SELECT count(*) FROM t");
    return rows.ok() && *rows == "2";
  }));
  EXPECT_EQ(*(*standby)->Query("postgres", "SELECT pg_is_in_recovery()"), "t");

  ASSERT_DAICHO_OK((*primary)->Stop(PgInstance::StopMode::kImmediate));
  ASSERT_DAICHO_OK((*standby)->Promote());
  EXPECT_EQ(*(*standby)->Query("postgres", "SELECT pg_is_in_recovery()"), "f");
  // The promoted standby waits for no standby of its own.
  ASSERT_DAICHO_OK((*standby)->Query("postgres", "INSERT INTO t VALUES (3)"));
  EXPECT_EQ(*(*standby)->Query("postgres", "SELECT sum(x) FROM t"), "6");
}

TEST(PgInstanceTest, TestDatabasesAreSeparate) {
  PgTestDatabase one;
  PgTestDatabase two;
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(one.name(), two.name());
  ASSERT_DAICHO_OK(one.instance().Query(one.name(), "CREATE TABLE only_here (x integer)"));
  EXPECT_EQ(*two.instance().Query(two.name(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"), "0");
  EXPECT_FALSE(one.StoredBytes().empty());
}

}  // namespace
}  // namespace daicho::testing
