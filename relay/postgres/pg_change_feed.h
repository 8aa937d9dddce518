// PgChangeFeed: the ChangeFeed (relay/change_feed.h) of the PostgreSQL
// backend. A thread of its own holds one connection (not from the pool)
// that LISTENs on the channel PgBackend NOTIFYs after each commit that
// stored changes ("<contract> <node id>", pg_statements.h); notifications
// of this node's own id are skipped. A lost connection is reconnected after
// 0.5 s, doubling to 5 s; `resync` runs after every (re)connect.
//
// Why a poll(2) thread and not Asio on PQsocket: Boost is the transport's
// alone (docs/architecture.md "Layering"), and the relay does not link the
// transport. An eventfd wakes the thread to stop.
//
// Thread-safety: as ChangeFeed. Stop() waits at most for a connection
// attempt in progress (connect_timeout, 5 s unless the conninfo says).
#ifndef DAICHO_RELAY_POSTGRES_PG_CHANGE_FEED_H_
#define DAICHO_RELAY_POSTGRES_PG_CHANGE_FEED_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "relay/change_feed.h"
#include "relay/postgres/pg_connection.h"

namespace daicho::relay::pg {

class PgChangeFeed final : public ChangeFeed {
 public:
  // `pool` answers ChangeCounts.
  PgChangeFeed(std::string application_name, std::string node_id, std::shared_ptr<PgPool> pool);
  ~PgChangeFeed() override;

  Status Start(Handlers handlers) override;
  void Stop() override;
  bool connected() const override { return connected_.load(); }
  Result<std::vector<std::pair<sync::ContractNumber, uint64_t>>> ChangeCounts(
      std::span<const sync::ContractNumber> contracts) override;

  static constexpr std::chrono::milliseconds kFirstRetry{500};
  static constexpr std::chrono::milliseconds kLongestRetry{5000};

 private:
  void Run();
  // Listens on `conn` until it breaks (false) or Stop is called (true).
  bool Listen(PgConn& conn);
  // Waits `delay` or until Stop is called (true).
  bool StopWithin(std::chrono::milliseconds delay);

  const std::string application_name_;
  const std::string node_id_;
  const std::shared_ptr<PgPool> pool_;
  Handlers handlers_;
  int stop_fd_ = -1;
  std::mutex mu_;  // Start and Stop
  std::thread thread_;
  std::atomic<bool> connected_{false};
};

// A notification's payload "<contract> <node id>" split; nullopt if it is
// not that.
std::optional<std::pair<sync::ContractNumber, std::string>> ParseChangeNotice(std::string_view payload);

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_CHANGE_FEED_H_
