// OpenStoreDirectory: the one way daicho opens a directory that holds (or
// will hold) an LMDB environment of its own — a PC's replica or the relay's
// store. It makes the directory when asked, refuses one holding other files,
// checks an existing data file's page structure before LMDB maps it (so
// damage is kCorruption, not a crash inside LMDB), and opens the Env.
//
// Codes: kNotFound (nothing there and !create_if_missing), kInvalidArgument
// (not a directory, or foreign files), kCorruption, kBusy, kIoError.
#ifndef DAICHO_STORAGE_LMDB_STORE_DIRECTORY_H_
#define DAICHO_STORAGE_LMDB_STORE_DIRECTORY_H_

#include <optional>
#include <string>
#include <string_view>

#include "storage/lmdb/env.h"

namespace daicho::storage::lmdb {

struct StoreDirectoryOptions {
  // Names the kind of store in messages: "daicho replica", "relay store".
  std::string what;
  bool create_if_missing = false;
  // Check the data file's structure first (storage/lmdb/verify.h).
  bool verify_on_open = true;
  EnvOptions env;
};

struct OpenedStore {
  Env env;
  // No data file was there: the caller initializes a new store.
  bool created = false;
};

Result<OpenedStore> OpenStoreDirectory(const std::string& dir, const StoreDirectoryOptions& options);

// Every daicho store marks itself with this key in its "meta" database, its
// value naming the kind and format ("daicho-replica-v1", ...), written last
// when the store is created.
inline constexpr std::string_view kSchemaKey = "schema";

// The schema marker of an existing store; nullopt if it has no "meta"
// database or no marker (a foreign LMDB environment, or a creation cut off).
// Call before any other transaction of the Env.
Result<std::optional<std::string>> ReadSchemaMarker(Env& env);

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_STORE_DIRECTORY_H_
