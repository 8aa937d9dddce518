#include "transport/lan_discovery.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "crypto/discovery_key.h"
#include "transport/asio.h"

namespace daicho::transport {
namespace {

namespace asio = detail::asio;
using boost::system::error_code;
using udp = asio::ip::udp;

// A datagram larger than any we would send still fits, so it is read whole
// and counted as malformed instead of being truncated into something else.
constexpr size_t kReceiveBufferBytes = 64 * 1024;
// Fastest rate at which a serving PC answers queries and newly heard peers:
// a burst of them gets one announcement (the group hears it whole), and an
// office full of looking PCs costs each serving PC at most 10 datagrams a
// second.
constexpr std::chrono::milliseconds kAnswerGap{100};
// When a looking PC repeats its query, after the first at Start: a lost
// query or answer costs a few hundred milliseconds, and a lookup of the
// default 2 s asks five times. Then every announce interval.
constexpr std::array<std::chrono::milliseconds, 4> kQueryGaps = {
    std::chrono::milliseconds(150), std::chrono::milliseconds(250), std::chrono::milliseconds(500),
    std::chrono::milliseconds(600)};

Status SocketError(const error_code& ec, const std::string& what) {
  return Status(Code::kUnavailable, what + ": " + ec.message());
}

uint64_t SystemNowMillis() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Result<std::string> AnnounceInterfaceFor(std::string_view sync_host, std::string_view interface_address) {
  error_code ec;
  const auto host = asio::ip::make_address(std::string(sync_host), ec);
  if (ec) return InvalidArgument("not an IP address to serve on: " + std::string(sync_host));
  const std::string asked = interface_address.empty() ? "0.0.0.0" : std::string(interface_address);
  if (host.is_unspecified()) return asked;
  if (host.is_v6()) {
    return InvalidArgument(
        "LAN announcements carry IPv4 addresses: serve on an IPv4 address (0.0.0.0, the LAN "
        "address or 127.0.0.1) to be announced, not on " +
        std::string(sync_host));
  }
  const auto iface = asio::ip::make_address_v4(asked, ec);
  if (!ec && (iface.is_unspecified() || iface == host.to_v4())) return host.to_string();
  return InvalidArgument("this PC serves on " + std::string(sync_host) + " but would announce itself on " + asked +
                         ", where other PCs cannot reach it: announce on " + std::string(sync_host) +
                         " (or leave the LAN interface unset), or serve on 0.0.0.0");
}

class LanDiscovery::Impl {
 public:
  explicit Impl(LanDiscoveryOptions options)
      : options_(std::move(options)),
        receiver_(ioc_),
        sender_(ioc_),
        announce_timer_(ioc_),
        answer_timer_(ioc_),
        buffer_(kReceiveBufferBytes) {
    if (!options_.now_millis) options_.now_millis = SystemNowMillis;
  }
  ~Impl() { Stop(); }

  Status Open() {
    DAICHO_RETURN_IF_ERROR(crypto::InitSodium());
    if (options_.keys.empty()) return InvalidArgument("LAN discovery needs the office key");
    if (options_.contract.empty()) return InvalidArgument("LAN discovery needs the contract number");
    if (announcing()) {
      if (!options_.version_vector) return InvalidArgument("LAN discovery needs a version vector callback");
      if (options_.device_name.empty()) return InvalidArgument("LAN discovery needs a device name");
    }
    if (options_.announce_interval.count() <= 0) return InvalidArgument("announce interval must be positive");
    error_code ec;
    const auto group = asio::ip::make_address_v4(options_.group, ec);
    if (ec || !group.is_multicast()) return InvalidArgument("not an IPv4 multicast group: " + options_.group);
    const auto iface = asio::ip::make_address_v4(options_.interface_address, ec);
    if (ec) return InvalidArgument("not an IPv4 interface address: " + options_.interface_address);
    group_ = udp::endpoint(group, options_.port);
    const std::string where = options_.group + ":" + std::to_string(options_.port);

    // Binding the group address (not 0.0.0.0) keeps other groups' and
    // unicast traffic on the same port out of this socket.
    if (receiver_.open(udp::v4(), ec); ec) return SocketError(ec, "open UDP socket");
    if (receiver_.set_option(asio::socket_base::reuse_address(true), ec); ec) {
      return SocketError(ec, "SO_REUSEADDR on " + where);
    }
    using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    if (receiver_.set_option(ReusePort(true), ec); ec) return SocketError(ec, "SO_REUSEPORT on " + where);
    if (receiver_.bind(group_, ec); ec) return SocketError(ec, "bind " + where);
    if (receiver_.set_option(asio::ip::multicast::join_group(group, iface), ec); ec) {
      return SocketError(ec, "join " + where + " on " + options_.interface_address);
    }

    if (sender_.open(udp::v4(), ec); ec) return SocketError(ec, "open UDP socket");
    if (!iface.is_unspecified()) {
      if (sender_.set_option(asio::ip::multicast::outbound_interface(iface), ec); ec) {
        return SocketError(ec, "send interface " + options_.interface_address);
      }
    }
    // TTL 0 on loopback: looped back to this host's members, never sent.
    const int ttl = iface.is_loopback() ? 0 : 1;
    if (sender_.set_option(asio::ip::multicast::hops(ttl), ec); ec) return SocketError(ec, "multicast TTL");
    if (sender_.set_option(asio::ip::multicast::enable_loopback(true), ec); ec) {
      return SocketError(ec, "multicast loopback");
    }

    // Listening (bound and joined above) before the first announcement or
    // query goes out, so no answer can arrive before there is a socket to
    // queue it.
    StartReceive();
    if (announcing()) {
      asio::post(ioc_, [this] { Announce(); });
      ArmAnnounceTimer(0);
    }
    started_ = true;
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    asio::post(ioc_, [this] {
      stopping_ = true;
      error_code ec;
      announce_timer_.cancel();
      answer_timer_.cancel();
      receiver_.close(ec);  // leaves the group
      sender_.close(ec);
    });
    thread_.join();
  }

  std::vector<DiscoveredPeer> Peers() const {
    const uint64_t now = options_.now_millis();
    std::vector<DiscoveredPeer> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, entry] : peers_) {
      if (!Expired(entry, now) && entry.peer.port != kLookingPort) out.push_back(entry.peer);
    }
    std::sort(out.begin(), out.end(), [](const DiscoveredPeer& a, const DiscoveredPeer& b) {
      return std::tie(a.device_name, a.replica_id) < std::tie(b.device_name, b.replica_id);
    });
    return out;
  }

  LanDiscoveryStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void AnnounceNow() {
    if (!announcing()) return;
    asio::post(ioc_, [this] {
      if (!stopping_) Announce();
    });
  }

 private:
  struct PeerEntry {
    DiscoveredPeer peer;
    uint64_t heard_ms = 0;  // our clock when last heard
    uint64_t unix_ms = 0;   // its clock in that announcement
  };

  bool announcing() const { return !options_.replica_id.IsZero(); }
  // A serving PC answers queries; a looking PC (sync port 0) only asks.
  bool serving() const { return announcing() && options_.sync_port != kLookingPort; }

  bool Expired(const PeerEntry& e, uint64_t now) const {
    return now > e.heard_ms && now - e.heard_ms > static_cast<uint64_t>(options_.peer_expiry.count());
  }

  void Run() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception&) {
        // Handlers catch what they expect; keep the thread alive regardless
        // so Stop() can still join it.
      }
    }
  }

  // `sent`: announcements or queries sent so far, which picks a looking
  // PC's next gap.
  void ArmAnnounceTimer(size_t sent) {
    const bool repeat_query = !serving() && sent < kQueryGaps.size();
    announce_timer_.expires_after(repeat_query ? std::min(kQueryGaps[sent], options_.announce_interval)
                                               : options_.announce_interval);
    announce_timer_.async_wait([this, sent](const error_code& ec) {
      if (ec || stopping_) return;
      Announce();
      ArmAnnounceTimer(sent + 1);
    });
  }

  // Runs on the discovery thread only.
  void Announce() {
    Announcement a;
    a.replica_id = options_.replica_id;
    a.device_name = options_.device_name;
    a.sync_port = options_.sync_port;
    a.unix_ms = options_.now_millis();
    try {
      a.version_vector = options_.version_vector();
    } catch (const std::exception&) {
      return;  // a failing callback skips this round
    }
    auto packet = EncodeAnnouncement(options_.keys, options_.contract, a);
    last_sent_ = std::chrono::steady_clock::now();
    // Too large (or no key): stay silent rather than announce a truncated
    // version vector.
    if (!packet.ok()) return;
    auto bytes = std::make_shared<std::string>(std::move(packet).value());
    sender_.async_send_to(asio::buffer(*bytes), group_, [this, bytes](const error_code& ec, size_t) {
      if (ec) return;  // a missing route now is retried next interval
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.sent;
    });
  }

  // A looking PC or a new peer learns of us at once instead of after a full
  // interval, but at most once per kAnswerGap however many ask.
  void Answer() {
    if (!serving() || answer_pending_) return;
    const auto gap = std::min<std::chrono::milliseconds>(kAnswerGap, options_.announce_interval);
    const auto due = last_sent_ + gap;
    if (std::chrono::steady_clock::now() >= due) {
      Announce();
      return;
    }
    answer_pending_ = true;
    answer_timer_.expires_at(due);
    answer_timer_.async_wait([this](const error_code& ec) {
      answer_pending_ = false;
      if (ec || stopping_) return;
      Announce();
    });
  }

  void StartReceive() {
    receiver_.async_receive_from(asio::buffer(buffer_), source_, [this](const error_code& ec, size_t n) {
      if (stopping_ || ec == asio::error::operation_aborted) return;
      if (!ec) OnDatagram(std::string_view(buffer_.data(), n), source_);
      StartReceive();
    });
  }

  void OnDatagram(std::string_view packet, const udp::endpoint& source) {
    const uint64_t now = options_.now_millis();
    std::string nonce;
    auto decoded = DecodeAnnouncement(options_.keys, options_.contract, packet, &nonce);
    bool answer = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.received;
      if (!decoded.ok()) {
        if (decoded.status().code() == Code::kUnauthenticated) {
          ++stats_.rejected_auth;
        } else {
          ++stats_.rejected_malformed;
        }
        return;
      }
      const Announcement& a = *decoded;
      if (a.replica_id == options_.replica_id) {
        ++stats_.ignored_own;
        return;
      }
      const uint64_t skew = a.unix_ms > now ? a.unix_ms - now : now - a.unix_ms;
      if (skew > static_cast<uint64_t>(kAnnouncementMaxSkew.count())) {
        ++stats_.rejected_stale;
        return;
      }
      if (!RememberNonce(nonce, now)) {
        ++stats_.rejected_replay;
        return;
      }
      ++stats_.accepted;
      auto it = peers_.find(a.replica_id);
      const bool is_new = it == peers_.end() || Expired(it->second, now);
      if (it != peers_.end() && !is_new && a.unix_ms < it->second.unix_ms) return;  // reordered, older
      PeerEntry& e = peers_[a.replica_id];
      e.heard_ms = now;
      e.unix_ms = a.unix_ms;
      e.peer.replica_id = a.replica_id;
      e.peer.device_name = a.device_name;
      e.peer.address = source.address().to_string();
      e.peer.port = a.sync_port;
      e.peer.version_vector = a.version_vector;
      e.peer.last_seen = std::chrono::system_clock::time_point(std::chrono::milliseconds(now));
      PruneExpired(now);
      // Every query is answered, not only a looking PC's first: a clerk runs
      // `daicho peers` again within seconds, and its first query may be lost.
      answer = is_new || a.sync_port == kLookingPort;
    }
    if (answer) Answer();
  }

  // False if `nonce` was seen within the replay window. Called with mu_.
  bool RememberNonce(const std::string& nonce, uint64_t now) {
    const auto window = static_cast<uint64_t>(kReplayWindow.count());
    while (!nonce_order_.empty() && (nonce_order_.size() >= options_.replay_cache_entries ||
                                     (now > nonce_order_.front().first && now - nonce_order_.front().first > window))) {
      nonces_.erase(nonce_order_.front().second);
      nonce_order_.pop_front();
    }
    if (!nonces_.insert(nonce).second) return false;
    nonce_order_.emplace_back(now, nonce);
    return true;
  }

  // Called with mu_.
  void PruneExpired(uint64_t now) {
    for (auto it = peers_.begin(); it != peers_.end();) {
      it = Expired(it->second, now) ? peers_.erase(it) : std::next(it);
    }
  }

  LanDiscoveryOptions options_;
  asio::io_context ioc_;
  udp::socket receiver_;
  udp::socket sender_;
  asio::steady_timer announce_timer_;
  asio::steady_timer answer_timer_;
  udp::endpoint group_;
  // Discovery-thread state.
  std::vector<char> buffer_;
  udp::endpoint source_;
  std::chrono::steady_clock::time_point last_sent_{};
  bool answer_pending_ = false;
  bool stopping_ = false;

  std::mutex stop_mu_;
  bool started_ = false;
  bool stopped_ = false;
  std::thread thread_;

  mutable std::mutex mu_;  // guards everything below
  std::map<ReplicaId, PeerEntry> peers_;
  LanDiscoveryStats stats_;
  std::unordered_set<std::string> nonces_;
  std::deque<std::pair<uint64_t, std::string>> nonce_order_;
};

LanDiscovery::LanDiscovery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LanDiscovery::~LanDiscovery() { Stop(); }

Result<std::unique_ptr<LanDiscovery>> LanDiscovery::Start(LanDiscoveryOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  DAICHO_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<LanDiscovery>(new LanDiscovery(std::move(impl)));
}

void LanDiscovery::Stop() { impl_->Stop(); }

std::vector<DiscoveredPeer> LanDiscovery::Peers() const { return impl_->Peers(); }

LanDiscoveryStats LanDiscovery::stats() const { return impl_->stats(); }

void LanDiscovery::AnnounceNow() { impl_->AnnounceNow(); }

Result<std::vector<DiscoveredPeer>> ListenForPeers(LanDiscoveryOptions options, std::chrono::milliseconds how_long) {
  DAICHO_ASSIGN_OR_RETURN(auto discovery, LanDiscovery::Start(std::move(options)));
  std::this_thread::sleep_for(how_long);
  std::vector<DiscoveredPeer> peers = discovery->Peers();
  discovery->Stop();
  return peers;
}

}  // namespace daicho::transport
