#include "relay/postgres/pg_change_log_reader.h"

#include <algorithm>
#include <limits>

namespace daicho::relay::pg {

Status PgChangeLogReader::Seek(const ReplicaId& origin, uint64_t seq) {
  page_size_ = kFirstPage;
  // Seqs are stored up to INT64_MAX: "at or after" a larger one is "after" that.
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return seq > kMax ? Fetch(origin, kMax, /*after=*/true) : Fetch(origin, seq, /*after=*/false);
}

Status PgChangeLogReader::Next() {
  if (at_ >= page_.size()) return FailedPrecondition("the change log reader is past its end");
  if (++at_ < page_.size() || last_page_) return Status::Ok();
  page_size_ = std::min(page_size_ * 2, kLargestPage);
  const Row last = std::move(page_.back());
  return Fetch(last.origin, last.seq, /*after=*/true);
}

const core::ChangeLogEntry* PgChangeLogReader::current() const {
  if (at_ >= page_.size()) return nullptr;
  const Row& row = page_[at_];
  entry_ = core::ChangeLogEntry{row.origin, row.seq, row.payload};
  return &entry_;
}

Status PgChangeLogReader::Fetch(const ReplicaId& origin, uint64_t seq, bool after) {
  page_.clear();
  at_ = 0;
  PgParams params;
  params.Bytes(contract_.str()).Bytes(origin.AsStringView()).U64(seq).I64(page_size_);
  DAICHO_ASSIGN_OR_RETURN(PgResult result, session_.Run(after ? Stmt::kChangesAfter : Stmt::kChangesFrom, params));
  const int rows = PQntuples(result.get());
  for (int i = 0; i < rows; ++i) {
    PgRow row(result.get(), i);
    Result<ReplicaId> id = ReplicaId::FromBytes(row.View(0));
    const uint64_t row_seq = row.U64(1);
    if (!id.ok() || row.bad()) return Corruption("bad change log entry of contract " + contract_.str());
    page_.push_back(Row{*id, row_seq, row.Bytes(2)});
  }
  last_page_ = rows < page_size_;
  return Status::Ok();
}

}  // namespace daicho::relay::pg
