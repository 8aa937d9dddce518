// FaultyHub: the network between the namespaces of the network-fault test,
// played in user space because the kernel of the test machines has no netem
// (tc's sch_netem). It reads every Ethernet frame that arrives on its ports
// (the outer ends of the nodes' veth pairs, AF_PACKET sockets) and forwards
// it to the port its destination MAC address was last seen on (to every
// other port when unknown or broadcast), like a switch, with netem's faults
// on each frame forwarded: lost with `loss`, sent twice with `duplicate`,
// delayed by delay ± jitter ms — except that with `reorder` a frame goes at
// once, overtaking the delayed ones (netem's "reorder"). A node in
// partition neither sends nor receives anything. The offloads of the veths
// must be off (whole checksummed frames of at most the MTU).
//
// Control and counters live in shared memory (HubShared, mapped before the
// fork), so the test's process steers the hub running in a child inside the
// switch's namespace. Not thread-safe beyond that.
#ifndef DAICHO_TESTS_RELIABILITY_NETWORK_FAULTS_FAULTY_HUB_H_
#define DAICHO_TESTS_RELIABILITY_NETWORK_FAULTS_FAULTY_HUB_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace daicho::reliability {

struct HubFaults {
  double loss = 0.10;
  double duplicate = 0.05;
  double reorder = 0.25;
  int delay_ms = 100;
  int jitter_ms = 50;
};

struct HubShared {
  std::atomic<bool> stop{false};
  std::atomic<bool> impaired{false};     // the faults on (off: forwarded at once)
  std::atomic<uint64_t> partitioned{0};  // bit i: port i cut off
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> lost{0};
  std::atomic<uint64_t> duplicated{0};
  std::atomic<uint64_t> reordered{0};
  std::atomic<uint64_t> partition_drops{0};
};

// Forwards between `ports` (interface names in the calling thread's network
// namespace) until shared.stop. Returns 0, or a non-zero exit code after
// writing why to stderr.
int RunFaultyHub(const std::vector<std::string>& ports, const HubFaults& faults, HubShared& shared, uint64_t seed);

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_NETWORK_FAULTS_FAULTY_HUB_H_
