#include "tests/reliability/hostile_clients/server_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace daicho::testing {
namespace {

uint64_t StatusField(const std::string& status, const char* name) {
  const size_t at = status.find(name);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + std::strlen(name), nullptr, 10);
}

// The socket inodes among `pid`'s open descriptors.
std::unordered_set<uint64_t> SocketInodes(pid_t pid) {
  std::unordered_set<uint64_t> inodes;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return inodes;
  while (const dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    char target[64];
    const std::string link = dir + "/" + entry->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    uint64_t inode = 0;
    if (std::sscanf(target, "socket:[%" SCNu64 "]", &inode) == 1) inodes.insert(inode);
  }
  ::closedir(d);
  return inodes;
}

}  // namespace

ProcessMemory ReadProcessMemory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::stringstream text;
  text << in.rdbuf();
  const std::string status = text.str();
  return ProcessMemory{StatusField(status, "VmRSS:"), StatusField(status, "VmHWM:"), StatusField(status, "RssAnon:"),
                       StatusField(status, "RssFile:")};
}

namespace {

// Established connections `pid` holds on local `port`, by remote address
// (as /proc/net/tcp prints it: the 32-bit value in host order).
std::unordered_map<uint32_t, size_t> HeldByAddress(pid_t pid, uint16_t port) {
  const std::unordered_set<uint64_t> inodes = SocketInodes(pid);
  std::unordered_map<uint32_t, size_t> held;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the column names
  while (std::getline(in, line)) {
    unsigned local_ip = 0, local_port = 0, rem_ip = 0, rem_port = 0, state = 0;
    uint64_t inode = 0;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (std::sscanf(line.c_str(), " %*u: %X:%X %X:%X %X %*X:%*X %*X:%*X %*X %*u %*u %" SCNu64, &local_ip, &local_port,
                    &rem_ip, &rem_port, &state, &inode) != 6) {
      continue;
    }
    if (local_port == port && rem_port != 0 && inode != 0 && inodes.count(inode) != 0) ++held[rem_ip];
  }
  return held;
}

}  // namespace

size_t ConnectionsHeldFrom(pid_t pid, uint16_t port, const std::string& remote_ip) {
  in_addr remote{};
  if (::inet_pton(AF_INET, remote_ip.c_str(), &remote) != 1) return 0;
  // Many threads ask at once, and /proc/net/tcp lists every socket of the
  // host (thousands during a flood): one reading serves everyone for 20 ms.
  struct Snapshot {
    std::chrono::steady_clock::time_point at;
    std::unordered_map<uint32_t, size_t> held;
  };
  static std::mutex mu;
  static std::map<std::pair<pid_t, uint16_t>, Snapshot> snapshots;
  std::lock_guard lock(mu);
  Snapshot& snapshot = snapshots[{pid, port}];
  const auto now = std::chrono::steady_clock::now();
  if (now - snapshot.at > std::chrono::milliseconds(20)) {
    snapshot.held = HeldByAddress(pid, port);
    snapshot.at = std::chrono::steady_clock::now();
  }
  const auto it = snapshot.held.find(remote.s_addr);
  return it == snapshot.held.end() ? 0 : it->second;
}

RssSampler::RssSampler(pid_t pid) : pid_(pid) {
  Restart();
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const uint64_t rss = ReadProcessMemory(pid_).rss_kb;
      uint64_t peak = peak_kb_.load();
      while (rss > peak && !peak_kb_.compare_exchange_weak(peak, rss)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

RssSampler::~RssSampler() {
  stop_ = true;
  thread_.join();
}

void RssSampler::Restart() { peak_kb_ = ReadProcessMemory(pid_).rss_kb; }

}  // namespace daicho::testing
