#include "transport/server_hub.h"

#include <algorithm>
#include <utility>

namespace daicho::transport::detail {
namespace {

std::string Mebibytes(size_t bytes) {
  const size_t tenths = (bytes * 10 + (size_t{1} << 19)) >> 20;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

// A keyed path's KEY: short, and of characters that need no escaping in a
// URL or a log line.
bool KeyAllowed(std::string_view key) {
  constexpr size_t kMaxKeyBytes = 32;
  return !key.empty() && key.size() <= kMaxKeyBytes && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

}  // namespace

void EventLog::Write(const std::string& kind, LogLine line) {
  if (!sink_) return;
  std::lock_guard<std::mutex> lock(mu_);
  Limit& limit = limits_[kind];
  const auto now = std::chrono::steady_clock::now();
  if (limit.written && now - limit.last < kInterval) {
    ++limit.left_out;
    return;
  }
  if (limit.left_out > 0) line.Add("left_out", limit.left_out);
  limit = Limit{true, now, 0};
  try {
    sink_(line.str());
  } catch (...) {
    // A throwing logger must not end a server thread.
  }
}

LogLine ConnectionEvent(std::string_view event, std::string_view reason, const std::string& peer,
                        const std::string& contract, const std::string& user, const std::string& device) {
  LogLine line(event);
  line.AddQuoted("reason", reason);
  line.Add("peer", peer).Add("contract", contract).Add("user", user).Add("device", device);
  return line;
}

ServerHub::ServerHub(SyncServerOptions options, asio::any_io_executor admission, asio::any_io_executor http,
                     asio::any_io_executor store)
    : options_(std::move(options)),
      admission_(std::move(admission)),
      http_(std::move(http)),
      store_(std::move(store)),
      events_(options_.log) {}

bool ServerHub::PathAccepted(std::string_view target, std::string& key) const {
  target = target.substr(0, target.find('?'));
  key.clear();
  for (const std::string& path : options_.paths) {
    if (target == path) return true;
  }
  for (const std::string& prefix : options_.keyed_paths) {
    if (prefix.empty() || !target.starts_with(prefix)) continue;
    const std::string_view rest = target.substr(prefix.size());
    if (KeyAllowed(rest)) {
      key = std::string(rest);
      return true;
    }
  }
  return false;
}

bool ServerHub::HttpRouted(std::string_view path) const {
  if (!options_.http_handler) return false;
  return std::any_of(options_.http_prefixes.begin(), options_.http_prefixes.end(), [path](const std::string& prefix) {
    if (prefix.empty() || !path.starts_with(prefix)) return false;
    // "/admin" must not route "/administrator": the prefix ends at a '/'.
    return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
  });
}

size_t ServerHub::HttpBodyLimit(std::string_view path) const {
  for (const auto& [upload_path, limit] : options_.http_upload_paths) {
    if (upload_path == path) return limit;
  }
  return options_.max_http_body_bytes;
}

bool ServerHub::Register(const std::shared_ptr<ConnectionBase>& conn) {
  std::vector<std::shared_ptr<ConnectionBase>> evicted;
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    admitted = MakeRoom(conn->proxied ? nullptr : &conn->address, evicted);
    if (admitted) {
      conn->self = conn;
      conn->serial = ++serial_;
      conn->counted = true;
      ++open_;
      if (!conn->proxied) {
        conn->address_counted = true;
        ++per_address_[conn->address];
      }
      live_.push_back(conn.get());
    } else {
      ++refused_;
    }
  }
  Evicted(evicted, admitted ? nullptr : conn.get());
  return admitted;
}

bool ServerHub::Readdress(ConnectionBase& conn, const std::string& address, const std::string& peer_text) {
  std::vector<std::shared_ptr<ConnectionBase>> evicted;
  bool admitted = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!conn.counted) return false;  // closed to make room meanwhile
    conn.address = address;
    conn.peer_text = peer_text;
    admitted = RoomAtAddress(address, evicted);
    if (admitted) {
      conn.address_counted = true;
      ++per_address_[address];
    } else {
      ++refused_;
      Uncount(conn);
    }
  }
  Evicted(evicted, admitted ? nullptr : &conn);
  return admitted;
}

void ServerHub::Evicted(std::vector<std::shared_ptr<ConnectionBase>>& evicted, const ConnectionBase* refused) {
  for (auto& victim : evicted) {
    const std::string why = "closed to make room for a new connection: connection cap reached";
    events_.Write("shed_cap", ConnectionEvent("connection_shed", why, victim->peer_text));
    asio::post(victim->executor(), [victim, why] { victim->Abort(Status(Code::kResourceExhausted, why)); });
  }
  if (refused) {
    events_.Write("refused",
                  ConnectionEvent("connection_refused", "connection cap reached and every connection is logged in",
                                  refused->peer_text));
  }
}

void ServerHub::Release(ConnectionBase& conn) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(live_, &conn);
  Uncount(conn);
  released_.notify_all();
}

bool ServerHub::WaitForNone(std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  return released_.wait_until(lock, until, [this] { return live_.empty(); });
}

void ServerHub::MarkLoggedIn(ConnectionBase& conn, const sync::Hello* hello) {
  std::lock_guard<std::mutex> lock(mu_);
  conn.logged_in = true;
  if (hello) {
    conn.contract = hello->contract;
    conn.user = hello->user;
    conn.device = ShortDeviceId(hello->replica_id);
  }
}

bool ServerHub::Account(ConnectionBase& conn, size_t bytes, bool unfinished) {
  std::vector<std::shared_ptr<ConnectionBase>> shed;
  bool self_shed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!conn.counted) return false;  // shed already
    buffered_ = buffered_ - conn.buffered + bytes;
    conn.buffered = bytes;
    conn.unfinished = unfinished;
    while (buffered_ > options_.max_buffered_bytes) {
      ConnectionBase* largest = nullptr;
      for (ConnectionBase* c : live_) {
        if (!c->counted || !c->unfinished || c->buffered == 0) continue;
        if (!largest || (largest->logged_in && !c->logged_in) ||
            (largest->logged_in == c->logged_in && c->buffered > largest->buffered)) {
          largest = c;
        }
      }
      if (!largest) break;
      const std::string why = "closed: buffered input over the " + Mebibytes(options_.max_buffered_bytes) +
                              " budget, and this connection " + (largest->logged_in ? "logged in" : "not logged in") +
                              " held the largest (" + Mebibytes(largest->buffered) + ")";
      events_.Write(largest->logged_in ? "shed_budget_logged_in" : "shed_budget",
                    ConnectionEvent("connection_shed", why, largest->peer_text, largest->contract, largest->user,
                                    largest->device));
      Uncount(*largest);
      ++shed_;
      if (largest == &conn) {
        self_shed = true;
      } else if (auto victim = largest->self.lock()) {
        shed.push_back(std::move(victim));
      }
    }
    peak_buffered_ = std::max(peak_buffered_, buffered_);
  }
  for (auto& victim : shed) {
    asio::post(victim->executor(),
               [victim] { victim->Abort(Status(Code::kResourceExhausted, "buffered input over the budget")); });
  }
  return !self_shed;
}

std::vector<std::shared_ptr<ConnectionBase>> ServerHub::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  return LiveLocked();
}

std::vector<std::shared_ptr<ConnectionBase>> ServerHub::Live() {
  std::lock_guard<std::mutex> lock(mu_);
  return LiveLocked();
}

SyncServerStats ServerHub::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncServerStats stats;
  for (const ConnectionBase* c : live_) {
    if (!c->counted) continue;
    ++stats.open_connections;
    stats.logged_in_connections += c->logged_in ? 1 : 0;
  }
  stats.buffered_bytes = buffered_;
  stats.peak_buffered_bytes = peak_buffered_;
  stats.refused_connections = refused_;
  stats.shed_connections = shed_;
  return stats;
}

void ServerHub::JoinGroup(std::string group, const std::shared_ptr<ConnectionBase>& conn) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  conn->group = group;
  auto& members = groups_[group];
  std::erase_if(members, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
  members.push_back(conn);
}

void ServerHub::PushToGroup(ConnectionBase& from) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  if (from.group.empty()) return;
  PushToGroupLocked(from.group, &from);
}

void ServerHub::PushToGroup(const std::string& group) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  PushToGroupLocked(group, nullptr);
}

void ServerHub::PushToGroupLocked(const std::string& group, const ConnectionBase* except) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return;
  std::erase_if(it->second, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
  for (const auto& weak : it->second) {
    auto conn = weak.lock();
    if (!conn || conn.get() == except) continue;
    asio::post(conn->executor(), [conn] { conn->PushLocalChanges(); });
  }
  if (it->second.empty()) groups_.erase(it);
}

std::vector<std::string> ServerHub::Groups() {
  std::lock_guard<std::mutex> lock(groups_mu_);
  std::vector<std::string> live;
  for (auto it = groups_.begin(); it != groups_.end();) {
    std::erase_if(it->second, [](const std::weak_ptr<ConnectionBase>& w) { return w.expired(); });
    if (it->second.empty()) {
      it = groups_.erase(it);
    } else {
      live.push_back(it->first);
      ++it;
    }
  }
  return live;
}

bool ServerHub::MakeRoom(const std::string* address, std::vector<std::shared_ptr<ConnectionBase>>& evicted) {
  if (address && !RoomAtAddress(*address, evicted)) return false;
  return open_ < options_.max_connections || EvictOldest(nullptr, evicted);
}

bool ServerHub::RoomAtAddress(const std::string& address, std::vector<std::shared_ptr<ConnectionBase>>& evicted) {
  const auto from_address = per_address_.find(address);
  const size_t open_from_address = from_address == per_address_.end() ? 0 : from_address->second;
  return open_from_address < options_.max_connections_per_address || EvictOldest(&address, evicted);
}

bool ServerHub::EvictOldest(const std::string* address, std::vector<std::shared_ptr<ConnectionBase>>& evicted) {
  ConnectionBase* oldest = nullptr;
  for (ConnectionBase* c : live_) {
    if (!c->counted || c->logged_in || (address && (!c->address_counted || c->address != *address))) continue;
    if (!oldest || c->serial < oldest->serial) oldest = c;
  }
  if (!oldest) return false;
  Uncount(*oldest);
  ++shed_;
  if (auto victim = oldest->self.lock()) evicted.push_back(std::move(victim));
  return true;
}

void ServerHub::Uncount(ConnectionBase& conn) {
  if (!conn.counted) return;
  conn.counted = false;
  buffered_ -= conn.buffered;
  conn.buffered = 0;
  --open_;
  if (!conn.address_counted) return;
  conn.address_counted = false;
  if (auto it = per_address_.find(conn.address); it != per_address_.end() && --it->second == 0) {
    per_address_.erase(it);
  }
}

std::vector<std::shared_ptr<ConnectionBase>> ServerHub::LiveLocked() {
  std::vector<std::shared_ptr<ConnectionBase>> live;
  for (ConnectionBase* c : live_) {
    if (auto conn = c->self.lock()) live.push_back(std::move(conn));
  }
  return live;
}

}  // namespace daicho::transport::detail
