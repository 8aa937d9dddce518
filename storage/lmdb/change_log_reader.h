// A change log stored in one LMDB database, read through core::ChangeLogReader.
//
// Keys are prefix | origin (16 bytes) | seq (8 bytes, big-endian), values the
// change payloads (docs/formats.md). The prefix is empty for a replica's
// `changes` database and the contract number for a relay's, whose database
// holds every contract's log. Entries with another prefix, or keys of another
// length, are outside the log.
//
// Ownership: owns its cursor, which must not outlive its transaction; entries
// point into the map (see Cursor). Thread-safety: as its transaction.
#ifndef DAICHO_STORAGE_LMDB_CHANGE_LOG_READER_H_
#define DAICHO_STORAGE_LMDB_CHANGE_LOG_READER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/change_log.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "storage/lmdb/txn.h"

namespace daicho::storage::lmdb {

// The key of change (origin, seq) in a log with `prefix`.
std::string ChangeLogKey(std::string_view prefix, const ReplicaId& origin, uint64_t seq);

class LmdbChangeLogReader final : public core::ChangeLogReader {
 public:
  LmdbChangeLogReader(Cursor cursor, std::string prefix);

  Status Seek(const ReplicaId& origin, uint64_t seq) override;
  Status Next() override;
  const core::ChangeLogEntry* current() const override;

 private:
  // Decodes the cursor's key once per move.
  void Load();

  Cursor cursor_;
  const std::string prefix_;
  std::string seek_key_;  // reused by every Seek
  core::ChangeLogEntry entry_;
  bool at_entry_ = false;
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_CHANGE_LOG_READER_H_
