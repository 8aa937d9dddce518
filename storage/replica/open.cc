// Opening a replica: creating it, refusing what is not one, upgrading v3.
#include "storage/replica/replica_impl.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "storage/lmdb/store_directory.h"
#include "storage/replica/device_marker.h"

namespace daicho {

using storage::detail::kDeviceMarkerKey;
using storage::detail::kEpochKey;
using storage::detail::kReplicaIdKey;

namespace {

using storage::lmdb::Dbi;

using storage::lmdb::kSchemaKey;
// Format v4: record states may hold kind contexts (a field flag v3 did not
// know); v3 (states without register values) is a subset of it and is
// upgraded in place by marking it v4, so that an older daicho refuses the
// store instead of misreading it. v2 stored values in the states, v1
// Protobuf: those are refused, not converted.
constexpr std::string_view kSchemaValue = "daicho-replica-v4";
constexpr unsigned kSchemaVersion = 4;
constexpr unsigned kUpgradableSchemaVersion = 3;
constexpr std::string_view kSchemaPrefix = "daicho-replica-v";

// The N of a "daicho-replica-vN" marker; nullopt for anything else.
std::optional<unsigned> SchemaVersion(std::string_view marker) {
  if (!marker.starts_with(kSchemaPrefix)) return std::nullopt;
  const std::string_view digits = marker.substr(kSchemaPrefix.size());
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  unsigned version = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    version = version * 10 + static_cast<unsigned>(c - '0');
  }
  return version;
}

constexpr std::array<std::string_view, 4> kDatabaseNames = {"meta", "records", "changes", "conflicts"};

// True if `env` holds nothing but empty daicho databases: a creation cut off
// before its metadata was written (the schema key goes in last, with the id).
Result<bool> IsInterruptedCreation(storage::lmdb::Env& env) {
  constexpr Dbi kMainDbi{1};  // LMDB's MAIN_DBI: lists the named databases
  std::vector<std::string> names;
  {
    DAICHO_ASSIGN_OR_RETURN(auto txn, env.BeginRead());
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(kMainDbi));
    DAICHO_RETURN_IF_ERROR(cursor.First());
    while (cursor.valid()) {
      names.emplace_back(cursor.key());
      DAICHO_RETURN_IF_ERROR(cursor.Next());
    }
  }
  for (const std::string& name : names) {
    if (std::find(kDatabaseNames.begin(), kDatabaseNames.end(), name) == kDatabaseNames.end()) return false;
  }
  for (const std::string& name : names) {
    DAICHO_ASSIGN_OR_RETURN(Dbi dbi, env.OpenDbi(name, /*create=*/false));
    DAICHO_ASSIGN_OR_RETURN(auto txn, env.BeginRead());
    DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(dbi));
    DAICHO_RETURN_IF_ERROR(cursor.First());
    if (cursor.valid()) return false;
  }
  return true;
}

}  // namespace

// False if another process finished creating the replica first (two opens
// with create_if_missing racing): then it is loaded, not created again.
Result<bool> Replica::Impl::InitializeNew(const std::string& marker) {
  std::lock_guard lock(write_mu);
  DAICHO_ASSIGN_OR_RETURN(std::optional<storage::RollbackGuard::Lock> guard_lock, LockGuard());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_id, ReplicaId::Random());
  DAICHO_ASSIGN_OR_RETURN(const ReplicaId new_epoch, ReplicaId::Random());
  bool created = false;
  std::string encoded_vv;
  DAICHO_RETURN_IF_ERROR(writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto schema, txn.GetCopy(meta, kSchemaKey));
    created = !schema.has_value();
    if (!created) return Status::Ok();
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kReplicaIdKey, new_id.AsStringView()));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kDeviceMarkerKey, marker));
    DAICHO_RETURN_IF_ERROR(txn.Put(meta, kEpochKey, new_epoch.AsStringView()));
    DAICHO_RETURN_IF_ERROR(PutVvAndClock(txn, VersionVector(), hlc.last(), encoded_vv));
    // Last: a store without the schema key is an interrupted creation.
    return txn.Put(meta, kSchemaKey, kSchemaValue);
  }));
  if (!created) return false;
  id = new_id;
  RememberVv(std::move(encoded_vv), VersionVector());
  WriteGuard(guard_lock, {new_id, 0, new_epoch});
  return true;
}

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::Open(const std::string& path, const ReplicaOptions& options) {
  storage::lmdb::StoreDirectoryOptions dir_options;
  dir_options.what = "daicho replica";
  dir_options.create_if_missing = options.create_if_missing;
  dir_options.verify_on_open = options.verify_on_open;
  dir_options.env.max_dbs = 8;
  dir_options.env.map_size = options.initial_map_bytes;
  dir_options.env.write_lock_timeout = std::chrono::milliseconds(options.write_lock_timeout_ms);
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::OpenedStore opened, storage::lmdb::OpenStoreDirectory(path, dir_options));
  bool creating = opened.created;
  const std::string data_file = path + "/data.mdb";
  auto impl = std::make_unique<Impl>(path, options, std::move(opened.env));

  if (!creating) {
    DAICHO_ASSIGN_OR_RETURN(bool interrupted, IsInterruptedCreation(impl->env));
    if (interrupted && !options.create_if_missing) {
      return NotFound("no daicho replica at " + path + " (its creation was interrupted; create it again)");
    }
    if (!interrupted && options.create_if_missing && options.error_if_exists) {
      return Status(Code::kAlreadyExists, "a replica already exists at " + path);
    }
    creating = interrupted;
  }
  // A foreign LMDB environment has no daicho schema marker: refuse it
  // before creating any database in it.
  bool upgrade = false;
  if (!creating) {
    DAICHO_ASSIGN_OR_RETURN(auto schema, storage::lmdb::ReadSchemaMarker(impl->env));
    if (!schema) return InvalidArgument(path + " is an LMDB database but not a daicho replica");
    const std::optional<unsigned> version = SchemaVersion(*schema);
    upgrade = version == kUpgradableSchemaVersion;
    if (version && *version < kSchemaVersion && !upgrade) {
      return Status(Code::kFailedPrecondition,
                    path + " was made by an older daicho (format v" + std::to_string(*version) +
                        "); this build reads format v" + std::to_string(kSchemaVersion) +
                        " only and does not convert stores: create a new replica and sync it from a peer");
    }
    if (version && *version > kSchemaVersion) {
      return Status(Code::kFailedPrecondition, path + " was made by a newer daicho (format v" +
                                                   std::to_string(*version) + "); this build reads format v" +
                                                   std::to_string(kSchemaVersion) + ": upgrade daicho");
    }
    if (*schema != kSchemaValue && !upgrade) {
      return Status(Code::kFailedPrecondition, path + " holds replica format '" + *schema + "', this build reads '" +
                                                   std::string(kSchemaValue) + "'");
    }
  }
  Dbi* const handles[] = {&impl->meta, &impl->records, &impl->changes, &impl->conflicts};
  for (size_t i = 0; i < kDatabaseNames.size(); ++i) {
    Dbi* dbi = handles[i];
    auto opened = impl->env.OpenDbi(std::string(kDatabaseNames[i]), /*create=*/true);
    if (!opened.ok()) return opened.status().WithContext("opening " + path);
    *dbi = *opened;
  }
  impl->dict.emplace(impl->meta);
  if (upgrade) {
    Status upgraded = impl->writer.Run(
        [&](storage::lmdb::WriteTxn& txn) -> Status { return txn.Put(impl->meta, kSchemaKey, kSchemaValue); });
    if (!upgraded.ok())
      return upgraded.WithContext("upgrading " + path + " to format v" + std::to_string(kSchemaVersion));
  }
  DAICHO_ASSIGN_OR_RETURN(std::string marker, storage::ComputeDeviceMarker(data_file));
  if (creating) {
    auto created = impl->InitializeNew(marker);
    if (!created.ok()) return created.status().WithContext("opening " + path);
    creating = *created;
  }
  Status loaded = creating ? Status::Ok() : impl->LoadExisting(marker);
  if (!loaded.ok()) return loaded.WithContext("opening " + path);
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

const std::string& Replica::path() const { return impl_->path; }

}  // namespace daicho
