// reliability_crash_loops: kills writers, the relay and the client at random
// moments and checks that nothing acknowledged is lost (writer_crashes.h,
// upload_crashes.h). Prints its figures as one JSON line; on a failure, what
// failed and the seed to repeat it with, and exits 1.
//   reliability_crash_loops [--seed S]   the CI mode
//   reliability_crash_loops --long       1,000 writer kills, 500 upload cuts
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/reliability/crash_loops/upload_crashes.h"
#include "tests/reliability/crash_loops/writer_crashes.h"

namespace daicho::reliability {
namespace {

int Main(int argc, char** argv) {
  WriterCrashOptions writers;
  UploadCrashOptions uploads;
  writers.seed = std::random_device()();
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--long") {
      writers.kills = 1000;
      uploads.cuts = 500;
    } else if (arg == "--seed" && i + 1 < argc) {
      writers.seed = std::stoull(argv[++i]);
    } else {
      std::cerr << "usage: reliability_crash_loops [--seed S] [--long]\n";
      return 2;
    }
  }
  std::string dir = std::filesystem::temp_directory_path() / "daicho-crash-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::cerr << "cannot make a scratch directory\n";
    return 2;
  }
  writers.dir = dir + "/writers";
  uploads.dir = dir + "/uploads";
  uploads.seed = writers.seed;
  std::filesystem::create_directories(writers.dir);
  std::filesystem::create_directories(uploads.dir);
  auto result = RunWriterCrashes(writers);
  auto upload = result.ok() ? RunUploadCrashes(uploads) : Result<UploadCrashFigures>(result.status());
  std::filesystem::remove_all(dir);
  if (!result.ok() || !upload.ok()) {
    std::cerr << (result.ok() ? "upload crash loop failed: " + upload.status().ToString()
                              : "writer crash loop failed: " + result.status().ToString())
              << "\nrepeat with: reliability_crash_loops --seed " << writers.seed << "\n";
    return 1;
  }
  nlohmann::json line = {{"program", "crash_loops"},
                         {"seed", writers.seed},
                         {"writer_rounds", result->rounds},
                         {"writers_killed", result->kills},
                         {"commits_acknowledged", result->commits_acknowledged},
                         {"commits_unacknowledged_but_present", result->commits_unacknowledged},
                         {"big_imports_committed_max", result->big_imports_committed},
                         {"stale_reader_slots_found", result->stale_reader_slots_found},
                         {"stale_reader_slots_left", result->stale_reader_slots_left},
                         {"max_reopen_ms", result->max_reopen_ms},
                         {"writer_seconds", result->seconds},
                         {"uploads_completed", upload->uploads},
                         {"changes_per_upload", uploads.changes},
                         {"upload_cuts", upload->cuts},
                         {"relay_kills", upload->relay_kills},
                         {"client_kills", upload->client_kills},
                         {"upload_sessions", upload->sessions},
                         {"window_changes", upload->window_changes},
                         {"max_resent_changes_per_cut", upload->max_resent_per_cut},
                         {"resent_changes_total", upload->resent_total},
                         {"clean_upload_seconds", upload->clean_upload_seconds},
                         {"frozen_relay_give_up_seconds", upload->frozen_give_up_seconds},
                         {"frozen_relay_deadline_seconds", upload->frozen_deadline_seconds},
                         {"upload_seconds", upload->seconds}};
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace daicho::reliability

int main(int argc, char** argv) { return daicho::reliability::Main(argc, argv); }
