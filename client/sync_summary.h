// What a client-side sync reports to the app (daicho::SyncProgress and
// SyncSummary, include/daicho/sync_types.h), made from the transport's
// figures the same way for relay and peer syncs.
#ifndef DAICHO_CLIENT_SYNC_SUMMARY_H_
#define DAICHO_CLIENT_SYNC_SUMMARY_H_

#include <chrono>

#include "daicho/sync_types.h"
#include "sync/sync_session.h"
#include "transport/sync_client.h"

namespace daicho::client {

inline SyncProgress ToSyncProgress(const sync::SessionStats& s) {
  return SyncProgress{s.changes_sent,       s.changes_received, s.changes_to_send,
                      s.changes_to_receive, s.frame_bytes_sent, s.frame_bytes_received};
}

// `start`: when the sync began (SyncSummary::elapsed runs from it to now).
inline SyncSummary ToSyncSummary(const transport::SyncReport& report, std::chrono::steady_clock::time_point start) {
  SyncSummary summary;
  summary.changes_up = report.changes_up;
  summary.changes_down = report.changes_down;
  summary.bytes_up = report.bytes_up;
  summary.bytes_down = report.bytes_down;
  summary.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  summary.changes_left = report.changes_left;
  return summary;
}

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_SYNC_SUMMARY_H_
