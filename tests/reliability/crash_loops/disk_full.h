// Disk full, on the relay and on a PC (each store on a small tmpfs in a
// mount namespace of this process, tests/testing/tiny_filesystem.h). The
// relay whose disk fills refuses the upload with a clear error, keeps
// serving what it holds to another PC, starts again on the full disk, and
// takes the upload once space is free; a PC whose disk fills fails its
// commit and its download with a message saying so, opens again, and
// completes both once space is free. Nothing acknowledged is lost. Needs
// root (CAP_SYS_ADMIN); elsewhere it says why it did not run.
#ifndef DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_DISK_FULL_H_
#define DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_DISK_FULL_H_

#include <cstdint>
#include <string>

#include "daicho/status.h"

namespace daicho::reliability {

struct DiskFullFigures {
  std::string skipped;  // why it did not run; empty if it ran
  uint64_t relay_changes_before_full = 0;
  std::string relay_full_upload_error;  // what the PC was told
  std::string relay_log_line;           // what the operator reads
  uint64_t relay_changes_served_while_full = 0;
  bool relay_restarted_while_full = false;
  uint64_t relay_changes_after_free = 0;
  std::string pc_full_commit_error;
  std::string pc_full_download_error;
  uint64_t pc_changes_after_free = 0;
  double seconds = 0;
};

// Runs in this process's own mount namespace from then on: call it last.
// `dir` is a scratch directory on a real disk.
Result<DiskFullFigures> RunDiskFull(const std::string& dir);

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_DISK_FULL_H_
