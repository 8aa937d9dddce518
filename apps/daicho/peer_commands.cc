// The LAN commands of `daicho`: direct sync between the office's PCs without
// the relay (daicho/peer_sync.h, docs/lan-sync.md): serve, peers, and
// sync --peer URL / sync --peers [--watch].
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/daicho/commands.h"
#include "apps/daicho/office_key_cli.h"
#include "apps/daicho/text_output.h"
#include "daicho/office_key.h"
#include "daicho/peer_sync.h"
#include "daicho/relay_client.h"

namespace daicho::cli {
namespace {

LanOptions LanOptionsFrom(const LanArgs& args) {
  LanOptions lan;
  if (!args.interface_address.empty()) lan.interface_address = args.interface_address;
  if (args.port != 0) lan.port = static_cast<uint16_t>(args.port);
  return lan;
}

// "HOST:PORT" (or "[v6]:PORT") split; nullopt when malformed.
std::optional<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return std::nullopt;
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return std::nullopt;
  const std::string port_text = listen.substr(colon + 1);
  if (port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int port = std::stoi(port_text);
  if (port > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// The office passphrase a LAN command passes to the library: from
// --passphrase-file now, or (lazily) from the terminal when the command fails
// because this PC holds no office key but may hold a saved envelope.
class LanPassphrase {
 public:
  explicit LanPassphrase(std::string file) : file_(std::move(file)) {}

  // Reads --passphrase-file, if given; the Outcome to return on failure.
  std::optional<Outcome> Load() {
    if (file_.empty()) return std::nullopt;
    Secret secret = GetSecret({file_, "--passphrase-file", "the office passphrase", "", false});
    if (secret.error) return secret.error;
    value_ = std::move(secret.value);
    return std::nullopt;
  }

  const std::string& value() const { return value_; }

  // Runs `attempt`; when it fails for lack of the office key on this PC and
  // no passphrase was given, asks on a terminal and tries once more, or else
  // adds how to give one.
  Status With(Replica& replica, const std::function<Status()>& attempt) {
    Status result = attempt();
    if (!NeedsOfficeKeyUnlock(result) || !value_.empty()) return result;
    auto held = GetOfficeKeyStatus(RelayClient(replica));
    if (!held.ok() || held->key_id != 0) return result;  // a key is held: a passphrase would not help
    if (!CanAskOnTerminal()) {
      return Status(result.code(), result.message() +
                                       "; if it was unlocked with --no-store-key, give the passphrase to this "
                                       "command: --passphrase-file FILE");
    }
    std::cerr << "daicho: " << result.message() << '\n';
    Secret typed = GetSecret({"", "--passphrase-file", "the office passphrase", "Office passphrase: ", false});
    if (typed.error) return Status(Code::kInvalidArgument, typed.error->error);
    value_ = std::move(typed.value);
    return attempt();
  }

 private:
  std::string file_;
  std::string value_;
};

// Waits until `stop` is requested or `timeout` passed; true when stopped.
bool WaitForStop(std::stop_token stop, std::chrono::milliseconds timeout) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return cv.wait_for(lock, stop, timeout, [] { return false; }) || stop.stop_requested();
}

std::string PeerLabel(const PeerInfo& peer) { return QuoteForMessage(peer.device_name) + " (" + peer.url + ")"; }

// "3 s ago", "2 min ago".
std::string Ago(std::chrono::system_clock::time_point t) {
  const auto seconds = std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t).count());
  if (seconds < 120) return std::to_string(seconds) + " s ago";
  return std::to_string(seconds / 60) + " min ago";
}

std::string BehindText(const PeerInfo& p) {
  if (p.changes_peer_lacks == 0 && p.changes_we_lack == 0) return "in sync";
  return "behind " + std::to_string(p.changes_peer_lacks) + " / ahead " + std::to_string(p.changes_we_lack);
}

// The office's PCs serving on the LAN now, by name (a passphrase asked for
// as LanPassphrase::With does).
Result<std::vector<PeerInfo>> FindOfficePeers(Replica& replica, const LanArgs& lan, int wait_ms,
                                              LanPassphrase& passphrase) {
  Result<std::vector<PeerInfo>> peers = std::vector<PeerInfo>();
  Status found = passphrase.With(replica, [&] {
    FindPeersOptions options;
    options.lan = LanOptionsFrom(lan);
    options.listen_for = std::chrono::milliseconds(wait_ms);
    options.passphrase = passphrase.value();
    peers = FindPeers(replica, options);
    return peers.status();
  });
  if (!found.ok()) return found;
  std::sort(peers->begin(), peers->end(), [](const PeerInfo& a, const PeerInfo& b) {
    return std::tie(a.device_name, a.url) < std::tie(b.device_name, b.url);
  });
  return peers;
}

}  // namespace

Outcome ServeCommand(const std::string& db, const ServeArgs& args, std::ostream& out) {
  auto listen = ParseListen(args.listen);
  if (!listen)
    return Outcome::Usage("--listen must be HOST:PORT (e.g. 0.0.0.0:47480), not " + QuoteForMessage(args.listen));
  LanPassphrase passphrase(args.passphrase_file);
  if (auto error = passphrase.Load()) return *error;
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);

  PeerServerOptions options;
  options.host = listen->first;
  options.port = listen->second;
  options.device_name = args.device_name.empty() ? HostName() : args.device_name;
  options.announce = args.announce;
  options.share_key_envelope = args.share_key;
  options.lan = LanOptionsFrom(args.lan);
  if (args.announce_interval_ms > 0)
    options.lan.announce_interval = std::chrono::milliseconds(args.announce_interval_ms);

  // The server's threads must not take SIGINT/SIGTERM (that would end the
  // process without stopping cleanly): block them before it starts.
  BlockStopSignals();
  std::unique_ptr<PeerServer> server;
  Status started = passphrase.With(**replica, [&] {
    options.passphrase = passphrase.value();
    auto s = PeerServer::Start(**replica, options);
    if (!s.ok()) return s.status();
    server = *std::move(s);
    return Status::Ok();
  });
  if (!started.ok()) return Outcome::Failed(started, "serving on " + args.listen);

  const std::string shown_host =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  out << "serving on " << shown_host << ':' << server->port() << '\n';
  if (args.announce && listen->first.rfind("127.", 0) == 0) {
    // Announced on loopback only (AnnounceInterfaceFor): say why the
    // office's other PCs will not list it.
    out << "announcing this PC as " << QuoteForMessage(options.device_name) << " to this PC only ("
        << options.lan.multicast_group << ", UDP port " << options.lan.port << "): it serves on " << listen->first
        << ", which other PCs cannot reach; serve on 0.0.0.0 for them to find it\n";
  } else if (args.announce) {
    out << "announcing this PC on the LAN as " << QuoteForMessage(options.device_name) << " ("
        << options.lan.multicast_group << ", UDP port " << options.lan.port << ")\n";
  } else {
    out << "not announced on the LAN (--no-announce): other PCs sync with `daicho sync --peer ws://ADDRESS:"
        << server->port() << "/`\n";
  }
  if (args.share_key) {
    out << "handing the passphrase-wrapped office key to PCs without it (--share-key): anyone reaching this port "
           "can try passphrases offline; stop serving with --share-key once the new PC is set up\n";
  }
  out << "Ctrl-C to stop\n" << std::flush;

  Status served = RunUntilSignal([&](std::stop_token stop) {
    WaitForStop(stop, std::chrono::hours(24 * 365 * 100));
    server->Stop();
    return Status::Ok();
  });
  server.reset();
  if (!served.ok()) return Outcome::Failed(served, "serving");
  out << "stopped\n";
  return Outcome::Ok();
}

Outcome PeersCommand(const std::string& db, const PeersArgs& args, std::ostream& out) {
  if (args.wait_ms < 0) return Outcome::Usage("--wait-ms must not be negative");
  LanPassphrase passphrase(args.passphrase_file);
  if (auto error = passphrase.Load()) return *error;
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  auto peers = FindOfficePeers(**replica, args.lan, args.wait_ms, passphrase);
  if (!peers.ok()) return Outcome::Failed(peers.status(), "looking for the office's PCs on the LAN");
  if (args.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const PeerInfo& p : *peers) {
      nlohmann::ordered_json j;
      j["name"] = p.device_name;
      j["url"] = p.url;
      j["replica_id"] = p.replica_id;
      j["last_seen"] = FormatTime(p.last_seen, /*utc=*/true);
      j["behind"] = p.changes_peer_lacks;
      j["ahead"] = p.changes_we_lack;
      list.push_back(std::move(j));
    }
    out << list.dump() << '\n';
    return Outcome::Ok();
  }
  if (peers->empty()) {
    out << "no peers found (listened " << args.wait_ms << " ms; see docs/lan-sync.md when a PC is missing)\n";
    return Outcome::Ok();
  }
  size_t name_width = 4, url_width = 3;
  for (const PeerInfo& p : *peers) {
    name_width = std::max(name_width, p.device_name.size());
    url_width = std::max(url_width, p.url.size());
  }
  std::ostringstream table;
  table << std::left << std::setw(static_cast<int>(name_width)) << "NAME"
        << "  " << std::setw(static_cast<int>(url_width)) << "URL"
        << "  " << std::setw(10) << "LAST SEEN"
        << "  STATE\n";
  for (const PeerInfo& p : *peers) {
    table << std::left << std::setw(static_cast<int>(name_width)) << p.device_name << "  "
          << std::setw(static_cast<int>(url_width)) << p.url << "  " << std::setw(10) << Ago(p.last_seen) << "  "
          << BehindText(p) << '\n';
  }
  out << table.str();
  return Outcome::Ok();
}

Outcome PeerSyncCommand(const std::string& db, const SyncArgs& args, std::ostream& out) {
  if (!args.peer_url.empty() && args.peers) return Outcome::Usage("give either --peer URL or --peers, not both");
  if (!args.password_file.empty()) {
    return Outcome::Usage("--password-file is for the relay; office PCs authenticate with the office key");
  }
  if (args.wait_ms < 0 || args.interval_ms < 0)
    return Outcome::Usage("--wait-ms and --interval-ms must not be negative");
  LanPassphrase passphrase(args.passphrase_file);
  if (auto error = passphrase.Load()) return *error;
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);

  // The PCs to sync with this round.
  auto targets = [&]() -> Result<std::vector<PeerInfo>> {
    if (!args.peer_url.empty()) {
      PeerInfo only;
      only.url = args.peer_url;
      return std::vector<PeerInfo>{only};
    }
    return FindOfficePeers(**replica, args.lan, args.wait_ms, passphrase);
  };
  auto label = [&](const PeerInfo& p) { return p.device_name.empty() ? p.url : PeerLabel(p); };
  auto sync_one = [&](const PeerInfo& peer, SyncProgressBar* bar) -> Result<SyncSummary> {
    Result<SyncSummary> summary = Status(Code::kInternal, "not run");
    Status synced = passphrase.With(**replica, [&] {
      PeerSyncOptions options;
      options.passphrase = passphrase.value();
      if (bar != nullptr) options.on_progress = [bar](const SyncProgress& p) { bar->Update(p); };
      summary = SyncWithPeer(**replica, peer.url, options);
      if (bar != nullptr) bar->Finish();
      return summary.status();
    });
    if (!synced.ok()) return synced;
    return summary;
  };

  if (!args.watch) {
    auto peers = targets();
    if (!peers.ok()) return Outcome::Failed(peers.status(), "looking for the office's PCs on the LAN");
    // Nothing was synced: a clerk must not take that for success.
    if (peers->empty()) {
      return {kExitRuntimeError,
              "no office PC found on the LAN (listened " + std::to_string(args.wait_ms) +
                  " ms), so nothing was synced. Check that the other PC runs `daicho serve`, holds this office's "
                  "key (the same office), and is on the same network as this one (same subnet, no Wi-Fi client "
                  "isolation); or sync with it by address: daicho sync --peer ws://ADDRESS:47480/ (see "
                  "docs/lan-sync.md)"};
    }
    std::vector<std::string> failures;
    for (const PeerInfo& peer : *peers) {
      SyncProgressBar bar(ProgressStream());
      auto summary = sync_one(peer, &bar);
      if (!summary.ok()) {
        if (!args.peer_url.empty()) return Outcome::Failed(summary.status(), "syncing with " + label(peer));
        out << label(peer) << ": failed\n";
        failures.push_back(label(peer) + ": " + summary.status().ToString());
        continue;
      }
      out << "in sync with " << label(peer) << ": " << SummaryText(*summary) << '\n';
    }
    if (!failures.empty()) {
      std::string message = std::to_string(failures.size()) + " of " + std::to_string(peers->size()) +
                            (peers->size() == 1 ? " peer" : " peers") + " failed";
      for (const std::string& f : failures) message += "\n  " + f;
      return {kExitRuntimeError, "syncing with the office's PCs: " + message};
    }
    return Outcome::Ok();
  }

  // --watch: a round of discovery and sync every interval until Ctrl-C. A
  // peer that fails is reported and tried again next round; only errors no
  // retry can mend (no office key here, bad options) end the watch.
  const std::string where = args.peer_url.empty() ? "the office's PCs on the LAN" : args.peer_url;
  out << "watching " << where << " (a round every " << args.interval_ms << " ms; Ctrl-C to stop)\n" << std::flush;
  Status watched = RunUntilSignal([&](std::stop_token stop) -> Status {
    std::vector<std::string> last_failed;
    while (!stop.stop_requested()) {
      auto peers = targets();
      if (!peers.ok()) {
        const Code code = peers.status().code();
        if (code == Code::kFailedPrecondition || code == Code::kInvalidArgument) return peers.status();
        std::cerr << "daicho: looking for peers failed: " << peers.status().ToString() << "; retrying\n";
      } else {
        std::vector<std::string> failed;
        for (const PeerInfo& peer : *peers) {
          if (stop.stop_requested()) break;
          auto summary = sync_one(peer, nullptr);
          if (!summary.ok()) {
            if (NeedsOfficeKeyUnlock(summary.status()) && !args.peer_url.empty()) return summary.status();
            failed.push_back(peer.url);
            // Once per failure streak, not every round.
            if (std::find(last_failed.begin(), last_failed.end(), peer.url) == last_failed.end()) {
              std::cerr << "daicho: syncing with " << label(peer) << " failed: " << summary.status().ToString()
                        << "; retrying\n";
            }
            continue;
          }
          if (summary->changes_up > 0 || summary->changes_down > 0) {
            out << label(peer) << ": sent " << summary->changes_up << " changes, received " << summary->changes_down
                << " changes\n"
                << std::flush;
          }
        }
        last_failed = std::move(failed);
      }
      WaitForStop(stop, std::chrono::milliseconds(args.interval_ms));
    }
    return Status::Ok();
  });
  if (!watched.ok()) return Outcome::Failed(watched, "watching " + where);
  out << "stopped\n";
  return Outcome::Ok();
}

}  // namespace daicho::cli
