// The memory a `daicho-relay serve` process gives to clients that each send
// a large first fragment and never finish the message, pinging meanwhile
// (issue 12 item 2: 24 such clients took a relay from 90 to 480 MB). Starts
// the relay given (default: the one built with this program), measures
// its resident set before and while the clients hold on, and how many of
// them are still connected. Prints one JSON line; asserts nothing.
//
//   hostile_fragments [--relay PATH] [--clients N] [--fragment-kib K]
//                     [--hold-ms MS] [--login]
//
// --login: the clients log in first (a CONNECT_TEST Hello with the right
// password), so the per-message limit before login does not apply and the
// relay's buffered-input budget is what bounds them.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sync/wire_codec.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/websocket_client.h"

namespace {

using daicho::testing::WebSocketClient;

constexpr char kContract[] = "1234-5678-9012";
constexpr char kUser[] = "yamada@example.jp";
constexpr char kPassword[] = "Yamada2024";

// The resident set of `pid` in MiB (VmRSS), or -1.
double RssMib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return -1;
}

bool LogIn(WebSocketClient& client) {
  daicho::sync::Hello hello;
  auto id = daicho::ReplicaId::Random();
  if (!id.ok()) return false;
  hello.replica_id = *id;
  hello.purpose = daicho::sync::Purpose::kConnectTest;
  hello.contract = kContract;
  hello.user = kUser;
  hello.credentials = daicho::sync::PasswordCredential{kPassword};
  if (!client.Send(daicho::sync::EncodeFrame(hello)).ok()) return false;
  auto welcome = client.Receive();
  if (!welcome.ok()) return false;
  auto decoded = daicho::sync::DecodeFrame(*welcome);
  return decoded.ok() && std::holds_alternative<daicho::sync::Welcome>(*decoded);
}

}  // namespace

int main(int argc, char** argv) {
  std::string relay_path = DAICHO_RELAY_PATH;
  int clients = 24;
  size_t fragment_kib = 16282;  // 15.9 MiB
  int hold_ms = 5000;
  bool login = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--relay" && has_value) {
      relay_path = argv[++i];
    } else if (arg == "--clients" && has_value) {
      clients = std::atoi(argv[++i]);
    } else if (arg == "--fragment-kib" && has_value) {
      fragment_kib = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--hold-ms" && has_value) {
      hold_ms = std::atoi(argv[++i]);
    } else if (arg == "--login") {
      login = true;
    } else {
      std::fprintf(stderr,
                   "usage: hostile_fragments [--relay PATH] [--clients N] [--fragment-kib K] [--hold-ms MS] "
                   "[--login]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);

  const daicho::testing::TempDir dir;
  const std::string data = dir.Sub("relay");
  if (auto made = daicho::testing::CreateRelayStoreWithUser(data, kContract, kUser, kPassword); !made.ok()) {
    std::fprintf(stderr, "cannot create the relay store: %s\n", made.ToString().c_str());
    return 3;
  }
  daicho::testing::RelayProcess relay(data, dir.Sub("relay.log"), {}, relay_path);
  if (relay.port() == 0) return 3;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double rss_before = RssMib(relay.pid());

  const std::string fragment(fragment_kib << 10, 'x');
  std::vector<std::unique_ptr<WebSocketClient>> held;
  int logged_in = 0;
  for (int i = 0; i < clients; ++i) {
    auto client = WebSocketClient::Connect(relay.url());
    if (!client.ok()) continue;
    if (login && LogIn(**client)) ++logged_in;
    (void)(*client)->SendFragment(fragment, /*last=*/false);  // fails once the relay closed it
    held.push_back(std::move(client).value());
  }
  double rss_peak = RssMib(relay.pid());
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(hold_ms);
  std::vector<bool> open(held.size(), true);
  while (std::chrono::steady_clock::now() < end) {
    for (size_t i = 0; i < held.size(); ++i) {
      if (open[i]) open[i] = held[i]->Ping().ok();
    }
    rss_peak = std::max(rss_peak, RssMib(relay.pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double rss_end = RssMib(relay.pid());
  const auto still_open = std::count(open.begin(), open.end(), true);
  std::printf(
      "{\"clients\": %d, \"logged_in\": %d, \"fragment_mib\": %.1f, \"hold_ms\": %d, \"rss_before_mib\": %.0f, "
      "\"rss_peak_mib\": %.0f, \"rss_end_mib\": %.0f, \"still_open\": %ld}\n",
      clients, logged_in, static_cast<double>(fragment.size()) / (1 << 20), hold_ms, rss_before, rss_peak, rss_end,
      static_cast<long>(still_open));
  held.clear();
  relay.Stop();
  return 0;
}
