// What a sync reports to the app, the same for a sync through the relay
// (RelayClient, daicho/relay_client.h) and one with another PC
// (SyncWithPeer, daicho/peer_sync.h). Plain value types.
#ifndef DAICHO_SYNC_TYPES_H_
#define DAICHO_SYNC_TYPES_H_

#include <chrono>
#include <cstdint>

namespace daicho {

// Progress of one sync, for progress bars. The totals are known once the
// peer answered the login; "changes" are committed transactions.
struct SyncProgress {
  uint64_t changes_up = 0;
  uint64_t changes_down = 0;
  uint64_t changes_to_send = 0;
  uint64_t changes_to_receive = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
};

// What one completed sync moved.
struct SyncSummary {
  uint64_t changes_up = 0;
  uint64_t changes_down = 0;  // duplicates included
  uint64_t bytes_up = 0;      // all protocol bytes, both ways
  uint64_t bytes_down = 0;
  std::chrono::milliseconds elapsed{0};
  // A sync sends what the replica held when it began: changes committed (or
  // received from elsewhere) while it ran, which the peer still lacks; the
  // next sync sends them.
  uint64_t changes_left = 0;
};

}  // namespace daicho

#endif  // DAICHO_SYNC_TYPES_H_
