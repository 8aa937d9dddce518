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

#include <string>

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

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_STORE_DIRECTORY_H_
