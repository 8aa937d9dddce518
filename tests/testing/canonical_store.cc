#include "tests/testing/canonical_store.h"

#include <functional>
#include <string_view>
#include <utility>

#include "storage/codec/state_codec.h"
#include "storage/lmdb/env.h"
#include "storage/replica/store_replica_dictionary.h"
#include "tests/testing/memory_replica_dictionary.h"

namespace daicho::testing {
namespace {

// Calls `visit` with every key and value of database `name`, record states
// decoded with the store's dictionary when `decode_states`.
Status ForEachEntry(const std::string& dir, const std::string& name,
                    const std::function<Status(std::string_view key, std::string_view value,
                                               const storage::ReplicaDictionary& dict)>& visit) {
  storage::lmdb::EnvOptions options;
  options.read_only = true;
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::Env env, storage::lmdb::Env::Open(dir, options));
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::Dbi dbi, env.OpenDbi(name, /*create=*/false));
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::Dbi meta, env.OpenDbi("meta", /*create=*/false));
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::ReadTxn txn, env.BeginRead());
  storage::StoreReplicaDictionary store_dict(meta);
  const storage::StoreReplicaDictionary::ReadView dict = store_dict.ForRead(txn);
  DAICHO_ASSIGN_OR_RETURN(storage::lmdb::Cursor cursor, txn.OpenCursor(dbi));
  DAICHO_RETURN_IF_ERROR(cursor.First());
  while (cursor.valid()) {
    DAICHO_RETURN_IF_ERROR(visit(cursor.key(), cursor.value(), dict));
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return Status::Ok();
}

}  // namespace

Result<std::map<std::string, std::string>> DumpCanonicalDatabase(const std::string& dir, const std::string& name) {
  std::map<std::string, std::string> out;
  DAICHO_RETURN_IF_ERROR(ForEachEntry(
      dir, name, [&](std::string_view key, std::string_view stored, const storage::ReplicaDictionary& dict) -> Status {
        std::string value(stored);
        if (name == "records") {
          DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(value, dict));
          MemoryReplicaDictionary own;
          DAICHO_ASSIGN_OR_RETURN(value, storage::EncodeRecordState(state, own));
          for (const ReplicaId& id : own.ids()) value.append(id.AsStringView());
        }
        out.emplace(std::string(key), std::move(value));
        return Status::Ok();
      }));
  return out;
}

Result<std::map<std::string, core::RecordState>> ReadRecordStates(const std::string& dir) {
  std::map<std::string, core::RecordState> out;
  DAICHO_RETURN_IF_ERROR(ForEachEntry(
      dir, "records",
      [&](std::string_view key, std::string_view stored, const storage::ReplicaDictionary& dict) -> Status {
        DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(stored, dict));
        out.emplace(std::string(key), std::move(state));
        return Status::Ok();
      }));
  return out;
}

}  // namespace daicho::testing
