#include "apps/daicho-relay/store_flags.h"

#include <utility>

#include "relay/lmdb/lmdb_backend.h"
#include "relay/postgres/pg_backend.h"

namespace daicho::apps {

namespace {

using relay::LmdbBackend;
using relay::PgBackend;

Result<std::shared_ptr<LmdbBackend>> OpenExistingLmdb(const std::string& dir) {
  relay::LmdbBackendOptions options;
  options.create_if_missing = false;
  return LmdbBackend::Open(dir, options);
}

}  // namespace

void AddStoreFlags(CLI::App& app, StoreFlags& flags) {
  CLI::Option* data =
      app.add_option("--data", flags.data_dir, "the relay's data directory (an LMDB store: one relay process)");
  CLI::Option* store = app.add_option("--store", flags.conninfo,
                                      "a PostgreSQL conninfo (postgresql://HOST[:PORT],.../DB?target_session_attrs="
                                      "read-write): the store several relay nodes share");
  data->excludes(store);
}

Status CheckStoreFlags(const StoreFlags& flags) {
  if (flags.data_dir.empty() == flags.conninfo.empty()) {
    return InvalidArgument("name the relay's store: --data DIR (one relay process) or --store CONNINFO (PostgreSQL)");
  }
  return Status::Ok();
}

std::string StoreArgument(const StoreFlags& flags) {
  if (!flags.data_dir.empty()) return "--data " + flags.data_dir;
  // Double quotes: a redacted conninfo quotes its values with single ones.
  return "--store \"" + relay::RedactConninfo(flags.conninfo) + "\"";
}

Result<OpenedStore> OpenExistingStore(const StoreFlags& flags, const std::string& node_name) {
  const std::string init_hint = "; create one with `daicho-relay " + StoreArgument(flags) + " init`";
  OpenedStore opened;
  if (!flags.data_dir.empty()) {
    auto backend = OpenExistingLmdb(flags.data_dir);
    if (backend.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "no relay store here (" + flags.data_dir + ")" + init_hint);
    }
    if (!backend.ok()) return backend.status().WithContext("opening " + flags.data_dir);
    opened.backend = std::move(backend).value();
    return opened;
  }
  relay::PgBackendOptions options;
  options.node_id = node_name;
  auto backend = PgBackend::Open(flags.conninfo, options);
  const std::string where = relay::RedactConninfo(flags.conninfo);
  if (backend.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound, "no relay store in the database " + where + init_hint);
  }
  if (!backend.ok()) return backend.status().WithContext("opening the database " + where);
  opened.feed = (*backend)->OpenChangeFeed();
  opened.backend = std::move(backend).value();
  return opened;
}

Result<std::string> CreateStore(const StoreFlags& flags) {
  const std::string next = "; add contracts with `daicho-relay " + StoreArgument(flags) + " contract add NUMBER`";
  if (!flags.data_dir.empty()) {
    // An existing store (or another program's files) is never touched.
    auto found = OpenExistingLmdb(flags.data_dir);
    if (found.ok()) return Status(Code::kAlreadyExists, flags.data_dir + " already holds a relay store: nothing to do");
    if (found.status().code() != Code::kNotFound) return found.status();
    auto created = LmdbBackend::Open(flags.data_dir);
    if (!created.ok()) return created.status().WithContext("creating " + flags.data_dir);
    return "created an empty relay store in " + flags.data_dir + next;
  }
  const std::string where = relay::RedactConninfo(flags.conninfo);
  Status created = PgBackend::CreateSchema(flags.conninfo);
  if (created.code() == Code::kAlreadyExists) {
    return Status(Code::kAlreadyExists, "the database " + where + " already holds a relay store: nothing to do");
  }
  if (!created.ok()) return created.WithContext("creating the relay store in " + where);
  return "created an empty relay store in the database " + where + next;
}

Result<std::string> MigrateStore(const StoreFlags& flags) {
  if (!flags.data_dir.empty()) {
    // LMDB stores are upgraded when opened, in one write transaction.
    auto opened = OpenExistingLmdb(flags.data_dir);
    if (!opened.ok()) return opened.status().WithContext("opening " + flags.data_dir);
    return "the relay store in " + flags.data_dir + " is up to date (an LMDB store is upgraded whenever it is opened)";
  }
  const std::string where = relay::RedactConninfo(flags.conninfo);
  auto migrated = PgBackend::Migrate(flags.conninfo);
  if (!migrated.ok()) return migrated.status().WithContext("migrating the relay store in " + where);
  if (migrated->from == migrated->to) {
    return "the relay store in " + where + " is already at schema version " + std::to_string(migrated->to);
  }
  return "migrated the relay store in " + where + " from schema version " + std::to_string(migrated->from) + " to " +
         std::to_string(migrated->to);
}

}  // namespace daicho::apps
