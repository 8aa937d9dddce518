#include "storage/lmdb/error.h"

#include <lmdb.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace daicho::storage::lmdb {

Code LmdbCode(int rc) {
  switch (rc) {
    case MDB_SUCCESS:
      return Code::kOk;
    case MDB_NOTFOUND:
    case ENOENT:
      return Code::kNotFound;
    case MDB_KEYEXIST:
      return Code::kAlreadyExists;
    case MDB_MAP_FULL:
    case MDB_DBS_FULL:
    case MDB_TXN_FULL:
    case MDB_TLS_FULL:
    case ENOMEM:
      return Code::kResourceExhausted;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
      return Code::kCorruption;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:  // retryable once the new size is adopted
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EBUSY:
    case ETXTBSY:
      return Code::kBusy;
    case MDB_BAD_TXN:
      return Code::kFailedPrecondition;
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
    case EINVAL:
      return Code::kInvalidArgument;
    case ENOSPC:
    case EIO:
    case EACCES:
    case EPERM:
    case EROFS:
    case EDQUOT:
    case EFBIG:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
    case ELOOP:
    case EMFILE:
    case ENFILE:
    case ENXIO:
    case ENODEV:
    case ESTALE:
    case EOVERFLOW:
    case EEXIST:
      return Code::kIoError;
    default:
      return Code::kInternal;
  }
}

Status LmdbStatus(int rc, std::string_view context) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string message(context);
  message += ": ";
  if (rc == MDB_MAP_FULL) {
    message += kMapFullTag;
    message += ": ";
  }
  // mdb_strerror() falls back to strerror() for errno values, which is not
  // guaranteed thread-safe; the std category message is.
  if (rc > 0) {
    message += std::generic_category().message(rc);
  } else {
    message += mdb_strerror(rc);
  }
  message += " (rc=";
  message += std::to_string(rc);
  message += ")";
  return Status(LmdbCode(rc), std::move(message));
}

bool IsMapFull(const Status& status) {
  return status.code() == Code::kResourceExhausted &&
         status.message().find(kMapFullTag) != std::string::npos;
}

}  // namespace daicho::storage::lmdb
