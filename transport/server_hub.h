// ServerHub: what a SyncServer's connections share: the caps on open
// connections, the budget for buffered input, the groups that push live
// changes to each other, the admission and HTTP pools and the event log.
// Internal to transport/.
#ifndef DAICHO_TRANSPORT_SERVER_HUB_H_
#define DAICHO_TRANSPORT_SERVER_HUB_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sync/messages.h"
#include "transport/asio.h"
#include "transport/connection_base.h"
#include "transport/log_line.h"
#include "transport/sync_server.h"

namespace daicho::transport::detail {

// A line per hostile event, at most one a second per kind: a flood of
// connections must not become a flood of log lines. Thread-safe.
class EventLog {
 public:
  explicit EventLog(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}

  // `kind` groups events for the rate limit; the line says how many of its
  // kind were left out since the last one written.
  void Write(const std::string& kind, LogLine line);

 private:
  static constexpr auto kInterval = std::chrono::seconds(1);
  struct Limit {
    bool written = false;
    std::chrono::steady_clock::time_point last;
    uint64_t left_out = 0;
  };
  const std::function<void(const std::string&)> sink_;
  std::mutex mu_;
  std::unordered_map<std::string, Limit> limits_;  // guarded by mu_
};

// A line about one connection, with who it is as far as known.
LogLine ConnectionEvent(std::string_view event, std::string_view reason, const std::string& peer,
                        const std::string& contract = "", const std::string& user = "", const std::string& device = "");

// Held by every server connection, so it outlives them all. Lock order:
// groups_mu_ before mu_ (a connection's last reference may drop under
// groups_mu_, and its destructor takes mu_).
class ServerHub {
 public:
  // `store`: the store pool (SyncServerOptions::store_threads), when there
  // is one; else unused.
  ServerHub(SyncServerOptions options, asio::any_io_executor admission, asio::any_io_executor http,
            asio::any_io_executor store);

  const SyncServerOptions& options() const { return options_; }
  EventLog& events() { return events_; }
  // Where store_factory runs: off the threads that move frames.
  const asio::any_io_executor& admission_executor() const { return admission_; }
  // Where http_handler runs: off the frame threads and the admission pool.
  const asio::any_io_executor& http_executor() const { return http_; }
  // Whether logged-in sessions call their stores on the store pool, and where.
  bool store_off_strand() const { return options_.store_threads > 0; }
  const asio::any_io_executor& store_executor() const { return store_; }

  // Whether a WebSocket upgrade on `target` (a query string is ignored) is
  // accepted; `key` is set to the KEY of a keyed path (SyncServerOptions::
  // keyed_paths), else emptied.
  bool PathAccepted(std::string_view target, std::string& key) const;
  // Whether a plain HTTP request for `path` (no query string) goes to the
  // http_handler (SyncServerOptions::http_prefixes); false without one.
  bool HttpRouted(std::string_view path) const;
  // The largest request body accepted on `path` (no query string):
  // its SyncServerOptions::http_upload_paths cap, or max_http_body_bytes.
  size_t HttpBodyLimit(std::string_view path) const;
  bool Ready() const { return !options_.ready || options_.ready(); }

  // Gives `conn` a place under the caps, closing the oldest connection not
  // logged in (of its address, or of all) to make room; false when there is
  // none to close (or the server is stopping): refuse `conn`.
  bool Register(const std::shared_ptr<ConnectionBase>& conn);
  // A proxied connection's PROXY header named the client: it counts under
  // `address` from now on (`peer_text` for log lines), closing the oldest
  // connection of that address not logged in to make room; false when there
  // is none to close (refuse `conn`) or it was closed meanwhile.
  bool Readdress(ConnectionBase& conn, const std::string& address, const std::string& peer_text);
  // The connection is gone (its destructor).
  void Release(ConnectionBase& conn);
  void MarkLoggedIn(ConnectionBase& conn, const sync::Hello* hello);
  // `conn` now buffers `bytes` of input, `unfinished` if part of a message.
  // Over the budget, the largest buffers of unfinished messages are shed
  // (a message being handled is on its way out), those not logged in first;
  // false when `conn` itself was (the caller closes it).
  bool Account(ConnectionBase& conn, size_t bytes, bool unfinished);
  // Every live connection, and no new one from now on.
  std::vector<std::shared_ptr<ConnectionBase>> Stopping();
  // Waits until no connection is left or `until` passes; true if none is.
  bool WaitForNone(std::chrono::steady_clock::time_point until);
  std::vector<std::shared_ptr<ConnectionBase>> Live();
  SyncServerStats Stats();
  void JoinGroup(std::string group, const std::shared_ptr<ConnectionBase>& conn);
  // `from` applied a batch to its group's store: every other member pushes.
  void PushToGroup(ConnectionBase& from);
  // The group's store gained changes from elsewhere: every member pushes.
  void PushToGroup(const std::string& group);
  // The groups with a live member, each once.
  std::vector<std::string> Groups();

 private:
  // Frees a place for a connection from `address` (null: a proxied one,
  // whose address is not known yet); false if none can be.
  bool MakeRoom(const std::string* address, std::vector<std::shared_ptr<ConnectionBase>>& evicted);
  // Frees a place under the per-address cap; false if none can be.
  bool RoomAtAddress(const std::string& address, std::vector<std::shared_ptr<ConnectionBase>>& evicted);
  // Closes the connections evicted to make room, and logs a refusal.
  void Evicted(std::vector<std::shared_ptr<ConnectionBase>>& evicted, const ConnectionBase* refused);
  // Closes the oldest connection not logged in (of `address`, if given).
  bool EvictOldest(const std::string* address, std::vector<std::shared_ptr<ConnectionBase>>& evicted);
  // Gives up `conn`'s place and buffer budget (once). Locked.
  void Uncount(ConnectionBase& conn);
  std::vector<std::shared_ptr<ConnectionBase>> LiveLocked();
  // Posts PushLocalChanges to every member of `group` but `except`. Under
  // groups_mu_.
  void PushToGroupLocked(const std::string& group, const ConnectionBase* except);

  const SyncServerOptions options_;
  const asio::any_io_executor admission_;
  const asio::any_io_executor http_;
  const asio::any_io_executor store_;
  EventLog events_;
  std::mutex mu_;
  std::condition_variable released_;                     // a connection left live_
  std::vector<ConnectionBase*> live_;                    // guarded by mu_
  std::unordered_map<std::string, size_t> per_address_;  // guarded by mu_
  size_t open_ = 0;                                      // guarded by mu_
  size_t buffered_ = 0;                                  // guarded by mu_
  size_t peak_buffered_ = 0;                             // guarded by mu_
  uint64_t serial_ = 0;                                  // guarded by mu_
  uint64_t refused_ = 0;                                 // guarded by mu_
  uint64_t shed_ = 0;                                    // guarded by mu_
  bool stopping_ = false;                                // guarded by mu_
  std::mutex groups_mu_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<ConnectionBase>>> groups_;  // guarded by groups_mu_
};

}  // namespace daicho::transport::detail

#endif  // DAICHO_TRANSPORT_SERVER_HUB_H_
