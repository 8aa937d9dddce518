// The one place where LMDB return codes and errno values become a Status.
//
// Every call into liblmdb in storage/lmdb/ reports its failure through
// LmdbStatus(); nothing else in daicho interprets an LMDB code.
//
// Mapping (rc → Code):
//   0                                            → kOk
//   MDB_NOTFOUND, ENOENT                         → kNotFound
//   MDB_KEYEXIST                                 → kAlreadyExists
//   MDB_MAP_FULL                                 → kResourceExhausted (WriteTxn::map_full()
//                                                   is true: grow the map and retry)
//   MDB_DBS_FULL, MDB_TXN_FULL, MDB_TLS_FULL, ENOMEM → kResourceExhausted (growing the map
//                                                   does not help)
//   MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID,
//   MDB_VERSION_MISMATCH, MDB_INCOMPATIBLE       → kCorruption
//   MDB_READERS_FULL, MDB_MAP_RESIZED, EAGAIN, EBUSY, ETXTBSY → kBusy
//   MDB_BAD_TXN                                  → kFailedPrecondition (txn must be aborted)
//   MDB_BAD_VALSIZE, MDB_BAD_DBI, EINVAL         → kInvalidArgument
//   ENOSPC, EIO, EACCES, EPERM, EROFS, EDQUOT, EFBIG, ENOTDIR,
//   EISDIR, ENAMETOOLONG, ELOOP, EMFILE, ENFILE, ... → kIoError
//   anything else (MDB_PANIC, MDB_PAGE_FULL, ...) → kInternal
// A full disk stays kIoError but reads as one (see the overload with a path).
// Thread-safe; no state.
#ifndef DAICHO_STORAGE_LMDB_ERROR_H_
#define DAICHO_STORAGE_LMDB_ERROR_H_

#include <cstdint>
#include <string_view>

#include "daicho/status.h"

namespace daicho::storage::lmdb {

// The Code for an LMDB return code (negative MDB_* values) or an errno value.
Code LmdbCode(int rc);

// Ok for rc == 0; otherwise a Status with LmdbCode(rc) and the message
// "<context>: <mdb_strerror(rc)> (rc=<rc>)" ("<context>: lmdb map full: ..."
// for MDB_MAP_FULL).
// `context` says what was being done, e.g. "mdb_put into 'records'".
Status LmdbStatus(int rc, std::string_view context);

// As above, for a failure writing the environment at `env_path`. A full disk
// shows as ENOSPC or EDQUOT, or as EIO (LMDB's answer to a short write): for
// those the free space of the file system holding `env_path` is looked up
// (statvfs), and if it is full (ENOSPC, EDQUOT, or EIO with less than
// kNearlyFullBytes left) the message is "the disk is full (N MB free on
// DEVICE, mounted at DIR); free space and retry — nothing was lost (...)":
// LMDB aborted the transaction, so every earlier commit is intact.
inline constexpr uint64_t kNearlyFullBytes = uint64_t{16} << 20;
inline constexpr std::string_view kDiskFullTag = "the disk is full";
Status LmdbStatus(int rc, std::string_view context, std::string_view env_path);

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_ERROR_H_
