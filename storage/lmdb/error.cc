#include "storage/lmdb/error.h"

#include <lmdb.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace daicho::storage::lmdb {
namespace {

// "/dev/vda1, mounted at /home" for the file system holding `path` (from
// /proc/self/mountinfo: the mount point that is the longest prefix of it);
// just the path if that cannot be read.
std::string DescribeFileSystem(const std::string& path) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line, best_dir, best_source;
  while (std::getline(mounts, line)) {
    // "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw"
    std::istringstream fields(line);
    std::string id, parent, device, root, dir, field;
    if (!(fields >> id >> parent >> device >> root >> dir)) continue;
    while (fields >> field && field != "-") {
    }
    std::string type, source;
    if (!(fields >> type >> source)) continue;
    const bool below = path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
    const bool contains = path == dir || dir == "/" || below;
    if (contains && dir.size() >= best_dir.size()) {
      best_dir = dir;
      best_source = source;
    }
  }
  if (best_dir.empty()) return path;
  return best_source + ", mounted at " + best_dir;
}

// The disk-full message for `rc` at `path`, or "" if the file system has
// room (or cannot be asked): then `rc` was something else.
std::string DiskFullMessage(int rc, const std::string& path) {
  if (rc != ENOSPC && rc != EDQUOT && rc != EIO) return "";
  // The path may not exist (yet): its nearest existing ancestor is on the
  // same file system.
  struct statvfs fs {};
  std::string at = path;
  while (::statvfs(at.c_str(), &fs) != 0) {
    const size_t slash = at.find_last_of('/');
    if (slash == std::string::npos || slash == 0) return "";
    at.resize(slash);
  }
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (rc == EIO && free_bytes >= kNearlyFullBytes) return "";
  return std::string(kDiskFullTag) + " (" + std::to_string(free_bytes >> 20) + " MB free on " + DescribeFileSystem(at) +
         "); free space and retry — nothing was lost";
}

}  // namespace

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
    message += "lmdb map full: ";
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

Status LmdbStatus(int rc, std::string_view context, std::string_view env_path) {
  Status status = LmdbStatus(rc, context);
  const std::string disk_full = DiskFullMessage(rc, std::string(env_path));
  if (disk_full.empty()) return status;
  return Status(status.code(), disk_full + " (" + status.message() + ")");
}

}  // namespace daicho::storage::lmdb
