#include "tests/reliability/network_faults/faulty_hub.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <queue>
#include <random>

namespace daicho::reliability {
namespace {

using Clock = std::chrono::steady_clock;
using Mac = std::array<unsigned char, 6>;

struct Pending {
  Clock::time_point due;
  uint64_t order;  // ties keep arrival order
  int port;
  std::string frame;
  bool operator>(const Pending& other) const { return due != other.due ? due > other.due : order > other.order; }
};

int OpenPort(const std::string& name) {
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return -1;
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (address.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int RunFaultyHub(const std::vector<std::string>& ports, const HubFaults& faults, HubShared& shared, uint64_t seed) {
  std::vector<pollfd> polls;
  for (const std::string& port : ports) {
    const int fd = OpenPort(port);
    if (fd < 0) {
      std::fprintf(stderr, "faulty hub: cannot open port %s: %s\n", port.c_str(), std::strerror(errno));
      return 1;
    }
    polls.push_back(pollfd{fd, POLLIN, 0});
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> chance(0, 1);
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  std::map<Mac, int> where;  // source MAC -> the port it came from
  uint64_t order = 0;
  std::string buffer(65536, '\0');
  auto partitioned = [&](int port) { return (shared.partitioned.load() >> port & 1) != 0; };

  while (!shared.stop.load()) {
    int timeout_ms = 50;
    if (!pending.empty()) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending.top().due - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 50));
    }
    if (poll(polls.data(), polls.size(), timeout_ms) < 0 && errno != EINTR) return 2;
    for (size_t in = 0; in < polls.size(); ++in) {
      if ((polls[in].revents & POLLIN) == 0) continue;
      for (;;) {
        sockaddr_ll from{};
        socklen_t from_size = sizeof from;
        const ssize_t n = recvfrom(polls[in].fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &from_size);
        if (n <= 0) break;
        // Our own sends on this port come back as outgoing: not traffic.
        if (from.sll_pkttype == PACKET_OUTGOING || n < ETH_HLEN) continue;
        shared.frames.fetch_add(1);
        const int source = static_cast<int>(in);
        Mac destination, origin;
        std::memcpy(destination.data(), buffer.data(), 6);
        std::memcpy(origin.data(), buffer.data() + 6, 6);
        where[origin] = source;
        std::vector<int> to;
        auto known = where.find(destination);
        if ((destination[0] & 1) == 0 && known != where.end()) {
          if (known->second != source) to.push_back(known->second);
        } else {
          for (int p = 0; p < static_cast<int>(polls.size()); ++p) {
            if (p != source) to.push_back(p);
          }
        }
        for (int port : to) {
          if (partitioned(source) || partitioned(port)) {
            shared.partition_drops.fetch_add(1);
            continue;
          }
          Clock::time_point due = Clock::now();
          int copies = 1;
          if (shared.impaired.load()) {
            if (chance(rng) < faults.loss) {
              shared.lost.fetch_add(1);
              continue;
            }
            if (chance(rng) < faults.duplicate) {
              shared.duplicated.fetch_add(1);
              copies = 2;
            }
            if (chance(rng) < faults.reorder) {
              shared.reordered.fetch_add(1);
            } else {
              const int jitter = faults.jitter_ms > 0 ? static_cast<int>(rng() % (2 * faults.jitter_ms + 1)) : 0;
              due += std::chrono::milliseconds(faults.delay_ms - faults.jitter_ms + jitter);
            }
          }
          for (int c = 0; c < copies; ++c) {
            pending.push(Pending{due, order++, port, std::string(buffer.data(), static_cast<size_t>(n))});
          }
        }
      }
    }
    const auto now = Clock::now();
    while (!pending.empty() && pending.top().due <= now) {
      const Pending& next = pending.top();
      if (!partitioned(next.port)) {
        (void)send(polls[static_cast<size_t>(next.port)].fd, next.frame.data(), next.frame.size(), MSG_DONTWAIT);
      }
      pending.pop();
    }
  }
  for (pollfd& p : polls) close(p.fd);
  return 0;
}

}  // namespace daicho::reliability
