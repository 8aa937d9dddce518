// Serving the changes a peer lacks from the `changes` database.
#include "storage/replica/replica_impl.h"

#include <algorithm>
#include <shared_mutex>

#include "core/change_log.h"
#include "storage/codec/change_codec.h"
#include "storage/lmdb/change_log_reader.h"

namespace daicho {
namespace {

// The name errors give the log: "change log lacks <origin>:<seq>".
constexpr std::string_view kChangeLogName = "change log";

}  // namespace

// The vv and the log from one snapshot: the change log then holds all the vv
// names even while other processes commit.
template <typename Body>
Status Replica::Impl::ReadChangeLog(Body&& body) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(const VersionVector held, ReadVv(txn));
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(changes));
  storage::lmdb::LmdbChangeLogReader log(std::move(cursor), {});
  return body(log, held);
}

// Read from a snapshot, not memory, so other processes' commits count.
Result<VersionVector> Replica::GetVersionVector() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  return impl_->ReadVv(txn);
}

Result<std::vector<ChangeBlob>> Replica::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                      const VersionVector* upto) const {
  std::vector<ChangeBlob> out;
  DAICHO_RETURN_IF_ERROR(impl_->ReadChangeLog([&](core::ChangeLogReader& log, const VersionVector& held) -> Status {
    DAICHO_ASSIGN_OR_RETURN(out, core::CollectChangesSince(log, kChangeLogName, held, other, max_bytes, upto));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<RecordKey>> Replica::RecordsChangedSince(const VersionVector& other) const {
  std::vector<RecordKey> out;
  // Many changes to a few records must not pile up duplicates: whenever the
  // list has doubled since it was last made distinct, make it distinct again.
  size_t distinct = 0;
  auto compact = [&] {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    distinct = out.size();
  };
  auto visit = [&](const core::ChangeLogEntry& entry) -> Result<bool> {
    DAICHO_ASSIGN_OR_RETURN(
        std::vector<RecordKey> keys,
        storage::DecodeChangeRecordKeys(entry.origin, entry.seq, entry.payload, impl_->options.limits));
    out.insert(out.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    if (out.size() > 2 * distinct + 4096) compact();
    return true;
  };
  DAICHO_RETURN_IF_ERROR(impl_->ReadChangeLog([&](core::ChangeLogReader& log, const VersionVector& held) {
    return core::ForEachChangeSince(log, kChangeLogName, held, other, /*upto=*/nullptr, visit);
  }));
  compact();
  return out;
}

}  // namespace daicho
