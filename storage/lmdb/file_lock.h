// Whole-file advisory locks (flock) taken with a bounded wait, and the
// process holding one, for the locks daicho puts beside an LMDB environment
// (the writer lock of Env, the replica's rollback guard).
//
// flock locks belong to an open file description: they exclude every other
// description of the file (other processes, or another open() in this one)
// and the kernel drops them when the holder dies, SIGKILL included. A forked
// child shares its parent's descriptions, and so its locks, until it closes
// them (O_CLOEXEC drops them at exec).
//
// Thread-safety: no shared state.
#ifndef DAICHO_STORAGE_LMDB_FILE_LOCK_H_
#define DAICHO_STORAGE_LMDB_FILE_LOCK_H_

#include <chrono>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho::storage::lmdb {

// Takes `operation` (LOCK_EX or LOCK_SH) on `fd`, waiting at most `timeout`
// for other holders. Codes: kBusy when the wait ran out (the message says
// that `what` is in use, by which process if known, and what to do),
// kIoError if flock itself fails.
Status LockFileWithin(int fd, int operation, std::chrono::milliseconds timeout, std::string_view what);

// "pid 1234: daicho set c1 name=Sato" for a process other than this one that
// holds an flock on the file open as `fd` (from /proc/locks and the
// holder's command line); "" if none is found.
std::string DescribeFileLockHolder(int fd);

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_FILE_LOCK_H_
