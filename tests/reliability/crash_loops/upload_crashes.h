// Crash loop 2: a PC uploads 10,000 changes to the real relay process while
// the relay or the PC's sync process is SIGKILLed at random moments, over and
// over (each finished upload starts again into a fresh copy of the relay's
// store). Every cut must cost at most one window of batches (what was in
// flight: a new session starts from what the relay holds durably), and
// the relay must end holding every change, each once. Then the relay is
// frozen (SIGSTOP) mid-upload: the PC must give up within its deadline for
// a silent peer, and once the relay runs again the next sync completes.
#ifndef DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_UPLOAD_CRASHES_H_
#define DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_UPLOAD_CRASHES_H_

#include <cstdint>
#include <string>

#include "daicho/status.h"

namespace daicho::reliability {

struct UploadCrashOptions {
  int cuts = 40;              // kills during uploads, relay and PC alike
  uint64_t changes = 10'000;  // per upload
  std::string dir;            // scratch directory
  uint64_t seed = 1;
  bool freeze = true;  // also the SIGSTOP check (a minute)
};

struct UploadCrashFigures {
  int uploads = 0;  // completed, each of `changes`
  int cuts = 0;
  int relay_kills = 0;
  int client_kills = 0;
  int sessions = 0;
  uint64_t window_changes = 0;      // the most one cut may cost: the in-flight window
  uint64_t max_resent_per_cut = 0;  // changes sent again after one cut
  uint64_t resent_total = 0;
  double clean_upload_seconds = 0;  // one upload without cuts
  double frozen_give_up_seconds = 0;
  double frozen_deadline_seconds = 0;
  double seconds = 0;
};

Result<UploadCrashFigures> RunUploadCrashes(const UploadCrashOptions& options);

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_UPLOAD_CRASHES_H_
