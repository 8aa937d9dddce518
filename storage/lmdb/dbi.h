// Dbi: a handle to one named database inside an Env.
//
// A plain copyable value wrapping MDB_dbi. Obtained once at start from
// Env::OpenDbi() and then shared freely between threads and transactions of
// the same Env; it stays valid as long as that Env (LMDB never reuses a handle
// while the environment is open). A default-constructed Dbi is invalid and
// every transaction operation rejects it with kInvalidArgument.
#ifndef DAICHO_STORAGE_LMDB_DBI_H_
#define DAICHO_STORAGE_LMDB_DBI_H_

#include <lmdb.h>

namespace daicho::storage::lmdb {

struct Dbi {
  // 0 is LMDB's internal free-page DB, never returned by mdb_dbi_open, so it
  // can mean "not opened".
  MDB_dbi handle = 0;

  bool valid() const { return handle != 0; }
  friend bool operator==(const Dbi&, const Dbi&) = default;
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_DBI_H_
