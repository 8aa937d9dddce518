// Throw-away PostgreSQL 15 clusters for tests and benchmarks, on
// 127.0.0.1 only (no Unix socket), each in its own directory, removed when
// the object goes.
//
// The server programs are Debian's (DAICHO_PG_BINDIR, /usr/lib/postgresql/
// 15/bin). initdb refuses to run as root, so a root test process runs them
// as the `postgres` user (`runuser -u postgres --`) in a directory owned by
// it; anyone else runs them as themselves. Ports come from bind(0) and
// close, retried when the server then cannot bind.
//
// Sharing: starting a cluster costs about a second, and gtest_discover_tests
// runs each test in its own process, so the PostgreSQL tests share one
// instance that a ctest fixture starts and stops (`pg_test_instance start|
// stop DIR`, tests/CMakeLists.txt); DAICHO_TEST_PG_DIR names it to the
// tests. SharedPgInstance() attaches to it, or, when the variable is unset
// (a test binary run by hand), starts one for the process. Each test then
// makes its own database (PgTestDatabase).
//
// Topology tests start their own: Start({.durable = true}) for a primary,
// StartStandby(primary, "standby1") for a synchronous streaming standby,
// then Stop(kImmediate) of the primary and Promote() of the standby.
//
// Thread-safety: none; one test thread drives an instance.
#ifndef DAICHO_TESTS_TESTING_PG_INSTANCE_H_
#define DAICHO_TESTS_TESTING_PG_INSTANCE_H_

#include <memory>
#include <string>
#include <vector>

#include "daicho/status.h"

namespace daicho::testing {

struct PgInstanceOptions {
  // false: fsync, synchronous_commit and full_page_writes off (fast, for
  // unit tests: nothing must survive a crash of the machine). true: commits
  // are durable and, with a synchronous standby, on the standby before they
  // are acknowledged (failover tests).
  bool durable = false;
  // More server settings, each "name=value" (passed as -c name=value).
  std::vector<std::string> settings;
  // The directory for the cluster (must not exist, or be left over from an
  // earlier start: then its server is stopped and it is emptied); empty: a
  // fresh one under /tmp.
  std::string dir;
};

class PgInstance {
 public:
  enum class StopMode { kFast, kImmediate };

  // initdb, then start; the cluster's superuser is `postgres`, trusted from
  // 127.0.0.1 (also for replication).
  static Result<std::unique_ptr<PgInstance>> Start(const PgInstanceOptions& options = {});
  // A streaming standby of `primary` (pg_basebackup -R), named
  // `application_name`; the primary then waits for it at every commit
  // (synchronous_standby_names, set on the primary only, so a promoted
  // standby waits for nobody). Returns once the standby is in sync.
  static Result<std::unique_ptr<PgInstance>> StartStandby(PgInstance& primary, const std::string& application_name);
  // The instance another process started in `dir` (pg_test_instance). With
  // `owned` it is stopped and removed when this object goes.
  static Result<std::unique_ptr<PgInstance>> Attach(const std::string& dir, bool owned);

  // Stops the server (fast) and removes the directory, if owned.
  ~PgInstance();
  PgInstance(const PgInstance&) = delete;
  PgInstance& operator=(const PgInstance&) = delete;

  // Leaves the server running and its directory in place when this object
  // goes (the fixture program hands it to the tests).
  void Detach() { owned_ = false; }
  // pg_ctl stop -m fast|immediate.
  Status Stop(StopMode mode = StopMode::kFast);
  // pg_ctl promote -w: a standby becomes a primary.
  Status Promote();

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  // A libpq conninfo of database `dbname` as the superuser.
  std::string Conninfo(const std::string& dbname = "postgres") const;
  // Runs `sql` (one or more statements) on `dbname`: the first field of the
  // last result's first row ("" if none).
  Result<std::string> Query(const std::string& dbname, const std::string& sql) const;
  Status CreateDatabase(const std::string& name) const;
  // DROP DATABASE ... WITH (FORCE): open connections are ended.
  Status DropDatabase(const std::string& name) const;

 private:
  PgInstance(std::string dir, int port, bool owned) : dir_(std::move(dir)), port_(port), owned_(owned) {}
  // pg_ctl start on a fresh port, retried when the port was taken meanwhile.
  Status StartServer(const std::vector<std::string>& settings);

  std::string dir_;
  int port_ = 0;
  bool owned_ = true;
  bool running_ = false;
};

// The tests' shared instance (see above); nullptr, with a test failure
// added, if it cannot be had.
PgInstance* SharedPgInstance();

// A database of its own on SharedPgInstance(), dropped when this goes.
class PgTestDatabase {
 public:
  PgTestDatabase();
  ~PgTestDatabase();
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // False (with a test failure added) if the database could not be made.
  bool ok() const { return instance_ != nullptr; }
  const std::string& name() const { return name_; }
  std::string conninfo() const;
  PgInstance& instance() const { return *instance_; }
  // The database's bytes at rest: a CHECKPOINT, then every file of it
  // under the cluster's base/ directory.
  std::string StoredBytes() const;

 private:
  PgInstance* instance_ = nullptr;
  std::string name_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_PG_INSTANCE_H_
