#include "tests/testing/pg_instance.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/testing/process.h"

namespace daicho::testing {
namespace {

namespace fs = std::filesystem;

std::string Bin(const std::string& program) { return std::string(DAICHO_PG_BINDIR) + "/" + program; }

// Runs a PostgreSQL program: as `postgres` when this process is root.
RunResult RunPg(const std::string& program, std::vector<std::string> args, const std::string& scratch) {
  if (geteuid() != 0) return RunProgram(Bin(program), args, scratch);
  args.insert(args.begin(), {"-u", "postgres", "--", Bin(program)});
  return RunProgram("/usr/sbin/runuser", args, scratch);
}

Status Failed(const std::string& what, const RunResult& run) {
  return IoError(what + " failed (exit " + std::to_string(run.exit_code) + "): " + run.out + run.err);
}

// The directory made the server's: owned by `postgres` when we are root.
Status MakeOwnDir(std::string& dir) {
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "daicho-pg.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return IoError("mkdtemp failed");
    dir = pattern;
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  }
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr || chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) {
      return IoError("cannot give " + dir + " to the postgres user");
    }
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  return Status::Ok();
}

// Runs `sql` on a fresh connection: the last result's first field.
Result<std::string> Exec(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return Unavailable("cannot connect to " + conninfo + ": " + message);
  }
  Status status;
  std::string value;
  PQsendQuery(conn, sql.c_str());
  while (PGresult* result = PQgetResult(conn)) {
    const ExecStatusType kind = PQresultStatus(result);
    if (kind == PGRES_TUPLES_OK && PQntuples(result) > 0 && PQnfields(result) > 0) {
      value = PQgetvalue(result, 0, 0);
    } else if (kind != PGRES_TUPLES_OK && kind != PGRES_COMMAND_OK && status.ok()) {
      status = IoError(sql + ": " + PQresultErrorMessage(result));
    }
    PQclear(result);
  }
  PQfinish(conn);
  if (!status.ok()) return status;
  return value;
}

}  // namespace

Result<std::unique_ptr<PgInstance>> PgInstance::Start(const PgInstanceOptions& options) {
  std::string dir = options.dir;
  if (!dir.empty() && fs::exists(dir)) {
    // Left over from an earlier run that did not stop it.
    (void)RunPg("pg_ctl", {"-D", dir + "/data", "-m", "immediate", "-w", "stop"}, dir);
    fs::remove_all(dir);
  }
  DAICHO_RETURN_IF_ERROR(MakeOwnDir(dir));
  std::unique_ptr<PgInstance> instance(new PgInstance(dir, 0, /*owned=*/true));
  const RunResult init = RunPg(
      "initdb", {"-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"}, dir);
  if (init.exit_code != 0) return Failed("initdb", init);
  std::vector<std::string> settings = {"max_connections=200", "shared_buffers=32MB"};
  if (!options.durable) {
    settings.insert(settings.end(), {"fsync=off", "synchronous_commit=off", "full_page_writes=off"});
  }
  settings.insert(settings.end(), options.settings.begin(), options.settings.end());
  DAICHO_RETURN_IF_ERROR(instance->StartServer(settings));
  return instance;
}

Status PgInstance::StartServer(const std::vector<std::string>& settings) {
  std::string base = "-c listen_addresses=127.0.0.1 -c unix_socket_directories=''";
  for (const std::string& setting : settings) base += " -c " + setting;
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreeLoopbackPort();
    const RunResult start = RunPg(
        "pg_ctl",
        {"-D", data_dir(), "-l", dir_ + "/log", "-w", "-t", "60", "start", "-o", base + " -p " + std::to_string(port_)},
        dir_);
    if (start.exit_code == 0) {
      running_ = true;
      WriteFile(dir_ + "/port", std::to_string(port_));
      return Status::Ok();
    }
    last = Failed("pg_ctl start", start).WithContext(ReadFile(dir_ + "/log"));
  }
  return last;
}

Result<std::unique_ptr<PgInstance>> PgInstance::StartStandby(PgInstance& primary, const std::string& application_name) {
  std::string dir;
  DAICHO_RETURN_IF_ERROR(MakeOwnDir(dir));
  std::unique_ptr<PgInstance> standby(new PgInstance(dir, 0, /*owned=*/true));
  const RunResult copy = RunPg("pg_basebackup",
                               {"-h", "127.0.0.1", "-p", std::to_string(primary.port()), "-U", "postgres", "-D",
                                dir + "/data", "-R", "-X", "stream", "-c", "fast"},
                               dir);
  if (copy.exit_code != 0) return Failed("pg_basebackup", copy);
  // The later line wins over the one -R wrote: it names the standby.
  std::ofstream(dir + "/data/postgresql.auto.conf", std::ios::app)
      << "primary_conninfo = 'host=127.0.0.1 port=" << primary.port()
      << " user=postgres application_name=" << application_name << "'\n";
  DAICHO_RETURN_IF_ERROR(standby->StartServer({"max_connections=200", "shared_buffers=32MB"}));
  // Two queries: ALTER SYSTEM refuses to run in a transaction block.
  DAICHO_RETURN_IF_ERROR(
      primary.Query("postgres", "ALTER SYSTEM SET synchronous_standby_names = '\"" + application_name + "\"'")
          .status());
  DAICHO_RETURN_IF_ERROR(primary.Query("postgres", "SELECT pg_reload_conf()").status());
  const std::string in_sync = "SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + application_name +
                              "' AND sync_state = 'sync'";
  const auto synced = [&] {
    Result<std::string> count = primary.Query("postgres", in_sync);
    return count.ok() && *count == "1";
  };
  if (!WaitFor(synced, std::chrono::seconds(60))) {
    return IoError("the standby " + application_name + " did not get in sync");
  }
  return standby;
}

Result<std::unique_ptr<PgInstance>> PgInstance::Attach(const std::string& dir, bool owned) {
  const std::string port = ReadFile(dir + "/port");
  if (port.empty()) return NotFound("no PostgreSQL test instance in " + dir);
  std::unique_ptr<PgInstance> instance(new PgInstance(dir, std::stoi(port), owned));
  instance->running_ = true;
  return instance;
}

PgInstance::~PgInstance() {
  if (!owned_) return;
  if (running_) (void)Stop(StopMode::kFast);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status PgInstance::Stop(StopMode mode) {
  const RunResult stop =
      RunPg("pg_ctl", {"-D", data_dir(), "-m", mode == StopMode::kFast ? "fast" : "immediate", "-w", "stop"}, dir_);
  if (stop.exit_code != 0) return Failed("pg_ctl stop", stop);
  running_ = false;
  return Status::Ok();
}

Status PgInstance::Promote() {
  const RunResult promote = RunPg("pg_ctl", {"-D", data_dir(), "-w", "promote"}, dir_);
  if (promote.exit_code != 0) return Failed("pg_ctl promote", promote);
  return Status::Ok();
}

std::string PgInstance::Conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

Result<std::string> PgInstance::Query(const std::string& dbname, const std::string& sql) const {
  return Exec(Conninfo(dbname), sql);
}

Status PgInstance::CreateDatabase(const std::string& name) const {
  return Query("postgres", "CREATE DATABASE \"" + name + "\"").status();
}

Status PgInstance::DropDatabase(const std::string& name) const {
  return Query("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)").status();
}

PgInstance* SharedPgInstance() {
  static std::unique_ptr<PgInstance> shared = []() -> std::unique_ptr<PgInstance> {
    const char* dir = std::getenv("DAICHO_TEST_PG_DIR");
    auto instance = dir != nullptr && *dir != '\0' ? PgInstance::Attach(dir, /*owned=*/false) : PgInstance::Start();
    if (!instance.ok()) {
      ADD_FAILURE() << "no PostgreSQL instance for the tests: " << instance.status();
      return nullptr;
    }
    return *std::move(instance);
  }();
  return shared.get();
}

PgTestDatabase::PgTestDatabase() {
  static std::atomic<int> next{0};
  PgInstance* instance = SharedPgInstance();
  if (instance == nullptr) return;
  name_ = "t_" + std::to_string(getpid()) + "_" + std::to_string(next++);
  Status created = instance->CreateDatabase(name_);
  if (!created.ok()) {
    ADD_FAILURE() << created;
    return;
  }
  instance_ = instance;
}

PgTestDatabase::~PgTestDatabase() {
  if (instance_ != nullptr) {
    EXPECT_TRUE(instance_->DropDatabase(name_).ok());
  }
}

std::string PgTestDatabase::conninfo() const { return instance_->Conninfo(name_); }

std::string PgTestDatabase::StoredBytes() const {
  Result<std::string> oid =
      instance_->Query(name_, "CHECKPOINT; SELECT oid FROM pg_database WHERE datname = '" + name_ + "'");
  if (!oid.ok()) {
    ADD_FAILURE() << oid.status();
    return "";
  }
  std::string bytes;
  for (const auto& entry : fs::directory_iterator(instance_->data_dir() + "/base/" + *oid)) {
    if (entry.is_regular_file()) bytes += ReadFile(entry.path().string());
  }
  return bytes;
}

}  // namespace daicho::testing
