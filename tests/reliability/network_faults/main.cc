// reliability_network_faults: five office PCs and the relay, each in a
// network namespace of its own, joined by a hub with netem's faults on
// every frame (10 % loss, 5 % duplication, 25 % reordering, 100 ± 50 ms
// delay; faulty_hub.h: the kernel here has no netem, so the hub plays it in
// user space), and random partitions (a node's traffic all dropped for a
// while) for the run's length. Each PC commits writes and syncs live (RelayClient::Watch,
// as `daicho sync --watch`); a write counts as acknowledged to the user once
// its commit returned, recorded in a file. Then the network heals, every PC
// syncs twice, and the check is Jepsen's set check: every acknowledged write
// is present on every PC, no PC holds a write nobody acknowledged, all PCs
// hold the same set. Prints one JSON line.
//   reliability_network_faults [--seconds S | --long]   (CI: 30; long: 600)
// Needs root, iproute2 and ethtool: elsewhere it prints why and exits 77
// (ctest counts it as skipped).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <new>
#include <random>
#include <set>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "daicho/office_key.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/reliability/network_faults/faulty_hub.h"
#include "tests/testing/forked_child.h"
#include "tests/testing/process.h"
#include "tests/testing/relay_process.h"
#include "tests/testing/temp_dir.h"

namespace daicho::reliability {
namespace {

constexpr int kPcs = 5;
constexpr int kSkipped = 77;
constexpr char kContract[] = "1357-2468-8642";
constexpr char kUser[] = "netem@example.jp";
constexpr char kPassword[] = "Netem2026";
constexpr char kPassphrase[] = "office passphrase on a bad network";
constexpr char kRelayAddress[] = "10.77.0.1";
constexpr int kRelayPort = 47400;

const std::string kTag = std::to_string(getpid() % 100000);

bool Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

std::string Namespace(int node) { return "dnf" + kTag + (node < 0 ? std::string("sw") : "n" + std::to_string(node)); }
// Node 0 is the relay, 1..kPcs the PCs.
std::string AddressOf(int node) { return "10.77.0." + std::to_string(node + 1); }

// Runs `body` in a forked child inside `node`'s namespace (-1: the hub's).
pid_t InNode(int node, const std::function<int()>& body);

// The namespaces, the veth pairs and the hub between them; removed when
// destroyed.
class Network {
 public:
  Network() {
    void* memory = mmap(nullptr, sizeof(HubShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    hub_ = memory == MAP_FAILED ? nullptr : new (memory) HubShared();
  }
  ~Network() {
    if (hub_pid_ > 0) {
      hub_->stop.store(true);
      testing::WaitExitCode(hub_pid_);
    }
    for (int node = -1; node <= kPcs; ++node) Shell("ip netns del " + Namespace(node));
    if (hub_ != nullptr) munmap(hub_, sizeof(HubShared));
  }
  // "" once built and the hub runs; else why it cannot be built here.
  std::string Build() {
    if (hub_ == nullptr) return "cannot map shared memory";
    if (geteuid() != 0) return "needs root to create network namespaces";
    if (!Shell("ip netns add " + Namespace(-1))) return "cannot create network namespaces here (ip netns add failed)";
    if (!Shell("ethtool --version")) return "needs ethtool (the veths' offloads must be off)";
    const std::string sw = Namespace(-1);
    std::vector<std::string> ports;
    for (int node = 0; node <= kPcs; ++node) {
      const std::string ns = Namespace(node);
      const std::string inside = "v" + kTag + "i" + std::to_string(node);
      const std::string outside = "v" + kTag + "o" + std::to_string(node);
      // Whole, checksummed frames of at most the MTU, for the hub to carry.
      const std::string no_offloads = " tso off gso off gro off tx off rx off";
      if (!Shell("ip netns add " + ns) || !Shell("ip link add " + inside + " type veth peer name " + outside) ||
          !Shell("ip link set " + inside + " netns " + ns) || !Shell("ip link set " + outside + " netns " + sw) ||
          !Shell("ip -n " + ns + " link set " + inside + " name eth0") ||
          !Shell("ip -n " + ns + " addr add " + AddressOf(node) + "/24 dev eth0") ||
          !Shell("ip netns exec " + ns + " ethtool -K eth0" + no_offloads) ||
          !Shell("ip netns exec " + sw + " ethtool -K " + outside + no_offloads) ||
          !Shell("ip -n " + ns + " link set eth0 up") || !Shell("ip -n " + ns + " link set lo up") ||
          !Shell("ip -n " + sw + " link set " + outside + " up")) {
        return "cannot create the veth pair of node " + std::to_string(node);
      }
      ports.push_back(outside);
    }
    HubShared* hub = hub_;
    hub_pid_ = InNode(-1, [ports, hub] { return RunFaultyHub(ports, HubFaults(), *hub, 1); });
    return hub_pid_ > 0 ? "" : "cannot start the hub";
  }
  void Impair() { hub_->impaired.store(true); }
  // Drops all of a node's traffic (a partition), or lets it through again.
  void Partition(int node, bool cut) {
    const uint64_t bit = uint64_t{1} << node;
    if (cut) {
      hub_->partitioned.fetch_or(bit);
    } else {
      hub_->partitioned.fetch_and(~bit);
    }
  }
  void Heal() {
    hub_->impaired.store(false);
    hub_->partitioned.store(0);
  }
  const HubShared& hub() const { return *hub_; }

 private:
  HubShared* hub_ = nullptr;
  pid_t hub_pid_ = -1;
};

pid_t InNode(int node, const std::function<int()>& body) {
  const std::string ns = Namespace(node);
  return testing::ForkAndRun([&] {
    const int fd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) return 90;
    return body();
  });
}

std::string RelayUrl() { return "ws://" + std::string(kRelayAddress) + ":" + std::to_string(kRelayPort) + "/"; }

Result<std::unique_ptr<Replica>> OpenPc(const std::string& path) {
  ReplicaOptions options;
  options.create_if_missing = true;
  options.warning_log = [](std::string_view) {};
  return Replica::Open(path, options);
}

// Before the faults: the PC logs in (saving its login); the first creates
// the office key, the others unlock it.
int SetUpPc(const std::string& path, int pc) {
  auto replica = OpenPc(path);
  if (!replica.ok()) return 1;
  RelayClient client(**replica);
  RelaySettings settings{RelayUrl(), kContract, kUser, "", "", "pc" + std::to_string(pc)};
  if (!client.Connect(settings, kPassword, /*save_password=*/true).ok()) return 2;
  const Status key = pc == 1 ? InitOfficeKey(client, kPassphrase).status() : UnlockOfficeKey(client, kPassphrase);
  return key.ok() ? 0 : 3;
}

// During the faults: commits a write every 50-250 ms, appending its id to
// `acked` once the commit returned (fsync'd: the user was told), while a
// thread keeps the PC syncing live; until `stop` exists. Writes its counts
// to `stats`.
int RunPc(const std::string& path, int pc, const std::string& acked, const std::string& stop,
          const std::string& stats) {
  auto replica = OpenPc(path);
  if (!replica.ok()) return 1;
  RelayClient client(**replica);
  std::stop_source watching;
  std::atomic<int> connection_ends{0};
  std::thread watch([&] {
    WatchOptions options;
    options.on_connection_end = [&](const Status&) { connection_ends.fetch_add(1); };
    (void)client.Watch(options, watching.get_token());
  });
  const int fd = open(acked.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::mt19937 rng(static_cast<unsigned>(pc));
  int writes = 0;
  for (int k = 0; !std::filesystem::exists(stop); ++k) {
    const std::string id = "pc" + std::to_string(pc) + "-" + std::to_string(k);
    WriteTransaction txn = (*replica)->BeginWrite();
    if (!txn.Set("writes", id, "by", Value("pc" + std::to_string(pc))).ok() || !txn.Commit().ok()) return 4;
    const std::string line = id + "\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || fsync(fd) != 0) return 5;
    ++writes;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 200));
  }
  close(fd);
  watching.request_stop();
  watch.join();
  std::ofstream(stats) << writes << " " << connection_ends.load() << "\n";
  return 0;
}

// After healing: one sync; exit code 0 if it completed.
int SyncOnceMore(const std::string& path) {
  auto replica = OpenPc(path);
  if (!replica.ok()) return 1;
  RelayClient client(**replica);
  return client.Sync().ok() ? 0 : 2;
}

std::set<std::string> ReadLines(const std::string& path) {
  std::set<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

int Main(int argc, char** argv) {
  int seconds = 60;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stoi(argv[++i]);
    } else if (arg == "--long") {
      seconds = 600;
    } else {
      std::cerr << "usage: reliability_network_faults [--seconds S | --long]\n";
      return 2;
    }
  }
  const HubFaults faults;
  nlohmann::json line = {{"program", "network_faults"},   {"pcs", kPcs},
                         {"loss", faults.loss},           {"duplicate", faults.duplicate},
                         {"reorder", faults.reorder},     {"delay_ms", faults.delay_ms},
                         {"jitter_ms", faults.jitter_ms}, {"seconds", seconds}};
  Network network;
  if (std::string why = network.Build(); !why.empty()) {
    line["skipped"] = why;
    std::cout << line.dump() << std::endl;
    return kSkipped;
  }
  testing::TempDir dir;
  const std::string relay_dir = dir.Sub("relay");
  if (!testing::CreateRelayStoreWithUser(relay_dir, kContract, kUser, kPassword).ok()) {
    std::cerr << "cannot create the relay's store\n";
    return 1;
  }
  // The relay, in its namespace, for the whole run.
  const std::string relay_log = dir.Sub("relay.log");
  const pid_t relay = InNode(0, [&] {
    const int log = open(relay_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    dup2(log, 1);
    dup2(log, 2);
    const std::string listen = std::string(kRelayAddress) + ":" + std::to_string(kRelayPort);
    execl(DAICHO_RELAY_PATH, DAICHO_RELAY_PATH, "--data", relay_dir.c_str(), "serve", "--listen", listen.c_str(),
          static_cast<char*>(nullptr));
    return 91;
  });
  struct RelayStopper {
    pid_t pid;
    ~RelayStopper() {
      kill(pid, SIGTERM);
      testing::WaitExitCode(pid);
    }
  } stopper{relay};
  if (!testing::WaitFor([&] {
        std::ifstream in(relay_log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return text.find("event=relay_started") != std::string::npos;
      })) {
    std::cerr << "the relay did not start\n";
    return 1;
  }
  std::vector<std::string> pc_dirs;
  for (int pc = 1; pc <= kPcs; ++pc) {
    pc_dirs.push_back(dir.Sub("pc" + std::to_string(pc)));
    const std::string& path = pc_dirs.back();
    if (testing::WaitExitCode(InNode(pc, [&] { return SetUpPc(path, pc); })) != 0) {
      std::cerr << "pc" << pc << " could not log in to the relay\n";
      return 1;
    }
  }

  network.Impair();
  const std::string stop = dir.Sub("stop");
  std::vector<pid_t> workers;
  for (int pc = 1; pc <= kPcs; ++pc) {
    const std::string path = pc_dirs[static_cast<size_t>(pc - 1)];
    const std::string acked = dir.Sub("acked" + std::to_string(pc));
    const std::string stats = dir.Sub("stats" + std::to_string(pc));
    workers.push_back(InNode(pc, [&] { return RunPc(path, pc, acked, stop, stats); }));
  }
  // Random partitions: a node (the relay too) cut off for 2-15 s at a time.
  std::mt19937 rng(static_cast<unsigned>(std::random_device()()));
  int partitions = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 4000));
    const int node = static_cast<int>(rng() % (kPcs + 1));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    const auto cut = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(2000 + rng() % 13000), left);
    if (cut.count() <= 0) continue;
    network.Partition(node, true);
    ++partitions;
    std::this_thread::sleep_for(cut);
    network.Partition(node, false);
  }
  std::ofstream(stop) << "stop\n";
  for (size_t i = 0; i < workers.size(); ++i) {
    if (const int code = testing::WaitExitCode(workers[i]); code != 0) {
      std::cerr << "pc" << i + 1 << "'s writer ended with exit code " << code << "\n";
      return 1;
    }
  }

  // Heal, then everyone syncs twice: up, then down.
  network.Heal();
  const auto healed = std::chrono::steady_clock::now();
  for (int round = 0; round < 2; ++round) {
    for (int pc = 1; pc <= kPcs; ++pc) {
      const std::string& path = pc_dirs[static_cast<size_t>(pc - 1)];
      if (testing::WaitExitCode(InNode(pc, [&] { return SyncOnceMore(path); })) != 0) {
        std::cerr << "pc" << pc << "'s sync after healing failed\n";
        return 1;
      }
    }
  }
  const double converge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - healed).count();

  // The set check.
  std::set<std::string> acknowledged;
  uint64_t connection_ends = 0;
  for (int pc = 1; pc <= kPcs; ++pc) {
    for (const std::string& id : ReadLines(dir.Sub("acked" + std::to_string(pc)))) acknowledged.insert(id);
    std::ifstream stats(dir.Sub("stats" + std::to_string(pc)));
    uint64_t writes = 0, ends = 0;
    stats >> writes >> ends;
    connection_ends += ends;
  }
  uint64_t lost = 0, unexpected = 0;
  bool identical = true;
  std::set<std::string> first;
  for (int pc = 1; pc <= kPcs; ++pc) {
    auto replica = OpenPc(pc_dirs[static_cast<size_t>(pc - 1)]);
    if (!replica.ok()) {
      std::cerr << "pc" << pc << "'s store does not open: " << replica.status() << "\n";
      return 1;
    }
    ListOptions all;
    all.limit = 0;
    auto page = (*replica)->List("writes", all);
    if (!page.ok()) return 1;
    std::set<std::string> present;
    for (const Record& r : page->records) present.insert(r.id);
    for (const std::string& id : acknowledged) lost += present.count(id) == 0 ? 1 : 0;
    for (const std::string& id : present) unexpected += acknowledged.count(id) == 0 ? 1 : 0;
    if (pc == 1) first = present;
    identical = identical && present == first;
  }
  const HubShared& hub = network.hub();
  line.update({{"partitions", partitions},
               {"frames", hub.frames.load()},
               {"frames_lost", hub.lost.load()},
               {"frames_duplicated", hub.duplicated.load()},
               {"frames_sent_ahead", hub.reordered.load()},
               {"frames_dropped_in_partitions", hub.partition_drops.load()},
               {"writes_acknowledged", acknowledged.size()},
               {"connections_cut_or_failed", connection_ends},
               {"converge_seconds_after_heal", converge_seconds},
               {"lost", lost},
               {"unexpected", unexpected},
               {"identical", identical}});
  std::cout << line.dump() << std::endl;
  if (lost != 0 || unexpected != 0 || !identical) {
    std::cerr << "the set check failed: " << lost << " acknowledged writes missing, " << unexpected
              << " writes nobody acknowledged, PCs " << (identical ? "identical" : "differ") << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace daicho::reliability

int main(int argc, char** argv) { return daicho::reliability::Main(argc, argv); }
