#include "relay/postgres/pg_change_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "relay/postgres/pg_statements.h"

namespace daicho::relay::pg {

std::optional<std::pair<sync::ContractNumber, std::string>> ParseChangeNotice(std::string_view payload) {
  const size_t space = payload.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  Result<sync::ContractNumber> number = sync::ContractNumber::Parse(payload.substr(0, space));
  if (!number.ok()) return std::nullopt;
  return std::make_pair(*number, std::string(payload.substr(space + 1)));
}

PgChangeFeed::PgChangeFeed(std::string application_name, std::string node_id, std::shared_ptr<PgPool> pool)
    : application_name_(std::move(application_name)), node_id_(std::move(node_id)), pool_(std::move(pool)) {}

PgChangeFeed::~PgChangeFeed() {
  Stop();
  if (stop_fd_ >= 0) close(stop_fd_);
}

Status PgChangeFeed::Start(Handlers handlers) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_fd_ >= 0) return FailedPrecondition("the change feed was started already");
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return IoError(std::string("eventfd: ") + std::strerror(errno));
  handlers_ = std::move(handlers);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void PgChangeFeed::Stop() {
  std::lock_guard lock(mu_);
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
  connected_ = false;
}

bool PgChangeFeed::StopWithin(std::chrono::milliseconds delay) {
  pollfd fd{stop_fd_, POLLIN, 0};
  return poll(&fd, 1, static_cast<int>(delay.count())) > 0;
}

void PgChangeFeed::Run() {
  std::chrono::milliseconds retry = kFirstRetry;
  for (;;) {
    Result<std::unique_ptr<PgConn>> conn = PgConn::Connect(pool_->conninfo(), application_name_ + " feed");
    if (conn.ok()) {
      const std::string listen = std::string("LISTEN ") + kChangesChannel;
      PgResult listening(PQexec((*conn)->raw(), listen.c_str()));
      if (PQresultStatus(listening.get()) == PGRES_COMMAND_OK) {
        connected_ = true;
        retry = kFirstRetry;
        // Notifications sent while no connection listened are lost: the
        // watcher compares change counters instead.
        if (handlers_.resync) handlers_.resync();
        const bool stopping = Listen(**conn);
        connected_ = false;
        if (stopping) return;
      }
    }
    if (StopWithin(retry)) return;
    retry = std::min(retry * 2, kLongestRetry);
  }
}

bool PgChangeFeed::Listen(PgConn& conn) {
  PGconn* raw = conn.raw();
  for (;;) {
    pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return true;
    if (PQconsumeInput(raw) != 1 || PQstatus(raw) != CONNECTION_OK) return false;
    while (PGnotify* notice = PQnotifies(raw)) {
      const auto parsed = ParseChangeNotice(notice->extra);
      if (parsed && parsed->second != node_id_ && handlers_.changed) handlers_.changed(parsed->first);
      PQfreemem(notice);
    }
  }
}

Result<std::vector<std::pair<sync::ContractNumber, uint64_t>>> PgChangeFeed::ChangeCounts(
    std::span<const sync::ContractNumber> contracts) {
  std::vector<std::pair<sync::ContractNumber, uint64_t>> out;
  if (contracts.empty()) return out;
  // A text array literal: contract numbers are digits and hyphens only.
  std::string array = "{";
  for (const sync::ContractNumber& contract : contracts) {
    if (array.size() > 1) array.push_back(',');
    array.append(contract.str());
  }
  array.push_back('}');
  PgParams params;
  params.TextFormat(array);
  DAICHO_ASSIGN_OR_RETURN(PgLease lease, pool_->Acquire());
  const PgQuery query{StmtName(Stmt::kChangeCounts), nullptr, &params};
  DAICHO_ASSIGN_OR_RETURN(std::vector<PgResult> results, lease->Pipeline(std::span(&query, 1)));
  const PGresult* r = results[0].get();
  for (int i = 0; i < PQntuples(r); ++i) {
    PgRow row(r, i);
    Result<sync::ContractNumber> number = sync::ContractNumber::Parse(row.View(0));
    const uint64_t count = row.U64(1);
    if (!number.ok() || row.bad()) return Corruption("bad change counter in the store");
    out.emplace_back(*number, count);
  }
  return out;
}

}  // namespace daicho::relay::pg
