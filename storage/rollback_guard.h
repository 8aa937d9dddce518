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
// Thread-safety: Write serializes writers across threads and processes with
// flock, and only ever moves the mark forward for one id.
#ifndef DAICHO_STORAGE_ROLLBACK_GUARD_H_
#define DAICHO_STORAGE_ROLLBACK_GUARD_H_

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

  // The guard file of the replica in directory `dir`.
  explicit RollbackGuard(std::string dir);

  // The stored mark; nullopt if the file is missing or unreadable as a mark.
  std::optional<Mark> Read() const;
  // Stores `mark` unless the file already holds a later mark of the same id.
  // kIoError if the file cannot be written.
  Status Write(const Mark& mark) const;

  // Whether the meta state (`stored`: id, own seq, epoch) can follow the
  // file's mark without a rollback in between.
  static bool Consistent(const Mark& stored, const std::optional<Mark>& file);

 private:
  std::string path_;
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_ROLLBACK_GUARD_H_
