#include "storage/lmdb/store_directory.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/lmdb/verify.h"

namespace daicho::storage::lmdb {
namespace {

namespace fs = std::filesystem;

// Another process committing at the same moment makes the check inconclusive
// (kBusy): retry a little, then trust the file that process is evidently using.
Status VerifyBeforeOpen(const std::string& data_file) {
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Status verified = VerifyDataFile(data_file);
    if (verified.code() != Code::kBusy) return verified;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

}  // namespace

Result<OpenedStore> OpenStoreDirectory(const std::string& dir, const StoreDirectoryOptions& options) {
  std::error_code ec;
  const fs::path dir_path(dir);
  const fs::path data_file = dir_path / "data.mdb";
  const auto dir_status = fs::status(dir_path, ec);
  bool created = false;
  if (!fs::exists(dir_status)) {
    if (!options.create_if_missing) return NotFound("no " + options.what + " at " + dir + " (directory missing)");
    fs::create_directories(dir_path, ec);
    if (ec) return IoError("cannot create " + dir + ": " + ec.message());
    created = true;
  } else if (!fs::is_directory(dir_status)) {
    return InvalidArgument(dir + " is not a directory");
  } else if (!fs::exists(data_file, ec)) {
    const bool empty = fs::is_empty(dir_path, ec);
    if (ec) return IoError("cannot read " + dir + ": " + ec.message());
    if (!empty) return InvalidArgument(dir + " is not a " + options.what + " (it holds other files)");
    if (!options.create_if_missing) return NotFound("no " + options.what + " at " + dir);
    created = true;
  }
  if (!created && options.verify_on_open) {
    Status verified = VerifyBeforeOpen(data_file.string());
    if (!verified.ok()) return verified.WithContext("opening " + options.what + " " + dir);
  }
  DAICHO_ASSIGN_OR_RETURN(Env env, Env::Open(dir, options.env));
  return OpenedStore{std::move(env), created};
}

Result<std::optional<std::string>> ReadSchemaMarker(Env& env) {
  auto meta = env.OpenDbi("meta", /*create=*/false);
  if (!meta.ok()) {
    if (meta.status().code() == Code::kNotFound) return std::optional<std::string>();
    return meta.status();
  }
  DAICHO_ASSIGN_OR_RETURN(ReadTxn txn, env.BeginRead());
  return txn.GetCopy(*meta, kSchemaKey);
}

}  // namespace daicho::storage::lmdb
