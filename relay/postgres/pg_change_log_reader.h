// A contract's change log read from daicho.changes in pages, inside the
// transaction of `session` (the read's snapshot): a page of rows ordered
// by (origin, seq) from the primary key's index, the next one fetched from
// after the last row when the walk reaches the page's end. Pages start
// small (most walks stop after a few changes a peer lacks) and double.
#ifndef DAICHO_RELAY_POSTGRES_PG_CHANGE_LOG_READER_H_
#define DAICHO_RELAY_POSTGRES_PG_CHANGE_LOG_READER_H_

#include <cstdint>
#include <vector>

#include "core/change_log.h"
#include "relay/postgres/pg_txn.h"
#include "sync/contract_number.h"

namespace daicho::relay::pg {

class PgChangeLogReader final : public core::ChangeLogReader {
 public:
  PgChangeLogReader(PgSession& session, sync::ContractNumber contract)
      : session_(session), contract_(std::move(contract)) {}

  Status Seek(const ReplicaId& origin, uint64_t seq) override;
  Status Next() override;
  const core::ChangeLogEntry* current() const override;

  static constexpr int64_t kFirstPage = 16;
  static constexpr int64_t kLargestPage = 256;

 private:
  struct Row {
    ReplicaId origin;
    uint64_t seq = 0;
    std::string payload;
  };
  // Loads the page of rows from (origin, seq), or after it if `after`.
  Status Fetch(const ReplicaId& origin, uint64_t seq, bool after);

  PgSession& session_;
  const sync::ContractNumber contract_;
  std::vector<Row> page_;
  size_t at_ = 0;
  bool last_page_ = true;  // the page held fewer rows than asked: the log ends there
  int64_t page_size_ = kFirstPage;
  mutable core::ChangeLogEntry entry_;  // the row under the position, as current() shows it
};

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_CHANGE_LOG_READER_H_
