// What a server process holds, read from /proc, for the hostile-client
// suite: its resident memory (VmRSS, and VmHWM, the kernel's own peak), a
// sampler that keeps the highest VmRSS seen, and the TCP connections the
// process still has open from a given address, so a test sees when the
// server itself closed a connection, also one whose client never reads
// (its FIN may never reach such a client). Linux, IPv4.
#ifndef DAICHO_TESTS_RELIABILITY_HOSTILE_CLIENTS_SERVER_WATCH_H_
#define DAICHO_TESTS_RELIABILITY_HOSTILE_CLIENTS_SERVER_WATCH_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

namespace daicho::testing {

struct ProcessMemory {
  uint64_t rss_kb = 0;       // VmRSS
  uint64_t hwm_kb = 0;       // VmHWM: the highest VmRSS since the process started
  uint64_t rss_anon_kb = 0;  // RssAnon: the heap and stacks, without mapped files (LMDB's pages)
  uint64_t rss_file_kb = 0;  // RssFile: mapped files' pages, LMDB's data among them
};

// Zeros when the process is gone.
ProcessMemory ReadProcessMemory(pid_t pid);

// The connections `pid` holds (has a descriptor for) on its local `port`
// whose remote address is `remote_ip` ("127.1.0.5"), as of at most 20 ms
// ago. Thread-safe.
size_t ConnectionsHeldFrom(pid_t pid, uint16_t port, const std::string& remote_ip);

// Samples a process's VmRSS every 10 ms on a thread of its own while it
// lives; Peak() is the highest since the last Restart().
class RssSampler {
 public:
  explicit RssSampler(pid_t pid);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  // Forgets the peak; the next ones start from the current VmRSS.
  void Restart();
  uint64_t PeakKb() const { return peak_kb_.load(); }

 private:
  pid_t pid_;
  std::atomic<uint64_t> peak_kb_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_RELIABILITY_HOSTILE_CLIENTS_SERVER_WATCH_H_
