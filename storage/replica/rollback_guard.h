// RollbackGuard: notices a replica whose data file was put back to an older
// state in place (a backup copied over data.mdb keeps its inode and birth
// time, so the device marker cannot see it). Such a store would issue again
// dots it already sent to others, and replicas would diverge silently.
//
// Every commit stores a fresh random epoch in the replica's meta database and,
// after the commit, (replica id, seq, epoch) in a small file beside data.mdb.
// On open the two must agree; the file may lag by the one commit a crash cut
// off before it was written (meta one seq ahead), never the other way round,
// since a restore only moves data.mdb back in time.
//
// Several processes may write one replica. The file's flock is what keeps
// meta and file in step between them: a writer holds LockExclusive() from
// before its LMDB write transaction until it has written the mark, so an
// opener that reads meta and file under LockShared() never sees a commit of
// another process whose mark is not yet written (which would look like a
// rollback). Lock order: the guard lock first, then the LMDB write lock.
//
// No wait is unbounded: a lock not granted within the timeout given to the
// guard fails with kBusy naming the process holding it (a writer that is
// stopped or hung; a killed one drops the lock with its death).
//
// Thread-safety: a Lock is one open file description; flock excludes other
// descriptions, also in the same process, so the owner must serialize its
// own threads' writers (Replica does, with its write mutex).
#ifndef DAICHO_STORAGE_REPLICA_ROLLBACK_GUARD_H_
#define DAICHO_STORAGE_REPLICA_ROLLBACK_GUARD_H_

#include <chrono>
#include <optional>
#include <string>

#include "daicho/replica_id.h"
#include "daicho/status.h"

namespace daicho::storage {

class RollbackGuard {
 public:
  struct Mark {
    ReplicaId id;
    uint64_t seq = 0;
    ReplicaId epoch;  // 16 random bytes
    friend bool operator==(const Mark&, const Mark&) = default;
  };

  // The guard file held under flock; released when destroyed. Move-only.
  class Lock {
   public:
    ~Lock();
    Lock(Lock&& other) noexcept;
    Lock& operator=(Lock&& other) noexcept;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    // The stored mark; nullopt if the file is missing or unreadable as a mark.
    std::optional<Mark> Read() const;
    // Stores `mark` (exclusive lock only: kFailedPrecondition otherwise).
    // kIoError if the file cannot be written.
    Status Write(const Mark& mark) const;

   private:
    friend class RollbackGuard;
    Lock(int fd, bool exclusive, std::string path) : fd_(fd), exclusive_(exclusive), path_(std::move(path)) {}
    int fd_ = -1;  // -1: no file (a shared lock of a missing file)
    bool exclusive_ = false;
    std::string path_;
  };

  // The guard file of the replica in directory `dir`; locks wait at most
  // `timeout` for another process.
  RollbackGuard(std::string dir, std::chrono::milliseconds timeout);

  // Creates the file if missing and locks it for a writer, waiting while
  // another process holds it. kBusy if the timeout ran out, kIoError if it
  // cannot be opened or locked.
  Result<Lock> LockExclusive() const;
  // Locks the file for a reader; a missing or unopenable file gives a Lock
  // whose Read() is nullopt. kBusy if the timeout ran out.
  Result<Lock> LockShared() const;

  // Whether the meta state (`stored`: id, own seq, epoch) can follow the
  // file's mark without a rollback in between.
  static bool Consistent(const Mark& stored, const std::optional<Mark>& file);

 private:
  // How a busy message names it.
  std::string What() const;

  std::string path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_REPLICA_ROLLBACK_GUARD_H_
