// reliability_crash_loops: kills writers, the relay and the client at random
// moments, freezes the relay and fills disks, and checks that nothing
// acknowledged is lost (writer_crashes.h, upload_crashes.h, disk_full.h).
// Prints its figures as one JSON line; on a failure, what failed and the
// seed to repeat it with, and exits 1.
//   reliability_crash_loops [--seed S] [--only writers|uploads|disk-full]
//   reliability_crash_loops --long       1,000 writer kills, 500 upload cuts
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/reliability/crash_loops/disk_full.h"
#include "tests/reliability/crash_loops/upload_crashes.h"
#include "tests/reliability/crash_loops/writer_crashes.h"

namespace daicho::reliability {
namespace {

nlohmann::json WriterJson(const WriterCrashFigures& f) {
  return {{"writer_rounds", f.rounds},
          {"writers_killed", f.kills},
          {"commits_acknowledged", f.commits_acknowledged},
          {"commits_unacknowledged_but_present", f.commits_unacknowledged},
          {"big_imports_committed_max", f.big_imports_committed},
          {"stale_reader_slots_found", f.stale_reader_slots_found},
          {"stale_reader_slots_left", f.stale_reader_slots_left},
          {"max_reopen_ms", f.max_reopen_ms},
          {"writer_seconds", f.seconds}};
}

nlohmann::json UploadJson(const UploadCrashOptions& o, const UploadCrashFigures& f) {
  return {{"uploads_completed", f.uploads},
          {"changes_per_upload", o.changes},
          {"upload_cuts", f.cuts},
          {"relay_kills", f.relay_kills},
          {"client_kills", f.client_kills},
          {"upload_sessions", f.sessions},
          {"window_changes", f.window_changes},
          {"max_resent_changes_per_cut", f.max_resent_per_cut},
          {"resent_changes_total", f.resent_total},
          {"clean_upload_seconds", f.clean_upload_seconds},
          {"frozen_relay_give_up_seconds", f.frozen_give_up_seconds},
          {"frozen_relay_deadline_seconds", f.frozen_deadline_seconds},
          {"upload_seconds", f.seconds}};
}

nlohmann::json DiskFullJson(const DiskFullFigures& f) {
  if (!f.skipped.empty()) return {{"disk_full_skipped", f.skipped}};
  return {{"relay_changes_before_full", f.relay_changes_before_full},
          {"relay_full_upload_error", f.relay_full_upload_error},
          {"relay_full_log_line", f.relay_log_line},
          {"relay_changes_served_while_full", f.relay_changes_served_while_full},
          {"relay_restarted_while_full", f.relay_restarted_while_full},
          {"relay_changes_after_free", f.relay_changes_after_free},
          {"pc_full_commit_error", f.pc_full_commit_error},
          {"pc_full_download_error", f.pc_full_download_error},
          {"pc_changes_after_free", f.pc_changes_after_free},
          {"disk_full_seconds", f.seconds}};
}

int Main(int argc, char** argv) {
  WriterCrashOptions writers;
  UploadCrashOptions uploads;
  writers.seed = std::random_device()();
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--long") {
      writers.kills = 1000;
      uploads.cuts = 500;
    } else if (arg == "--seed" && i + 1 < argc) {
      writers.seed = std::stoull(argv[++i]);
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::cerr << "usage: reliability_crash_loops [--seed S] [--long] [--only writers|uploads|disk-full]\n";
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
  for (const std::string& d : {writers.dir, uploads.dir, dir + "/disk-full"}) std::filesystem::create_directories(d);

  nlohmann::json line = {{"program", "crash_loops"}, {"seed", writers.seed}};
  Status failed;
  if (only.empty() || only == "writers") {
    auto r = RunWriterCrashes(writers);
    if (r.ok()) line.update(WriterJson(*r));
    if (!r.ok()) failed = Status(r.status().code(), "writer crash loop: " + r.status().message());
  }
  if (failed.ok() && (only.empty() || only == "uploads")) {
    auto r = RunUploadCrashes(uploads);
    if (r.ok()) line.update(UploadJson(uploads, *r));
    if (!r.ok()) failed = Status(r.status().code(), "upload crash loop: " + r.status().message());
  }
  // Last: it moves this process into a mount namespace of its own.
  if (failed.ok() && (only.empty() || only == "disk-full")) {
    auto r = RunDiskFull(dir + "/disk-full");
    if (r.ok()) line.update(DiskFullJson(*r));
    if (!r.ok()) failed = Status(r.status().code(), "disk full: " + r.status().message());
  }
  std::filesystem::remove_all(dir);
  if (!failed.ok()) {
    std::cerr << failed << "\nrepeat with: reliability_crash_loops --seed " << writers.seed << "\n";
    return 1;
  }
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace daicho::reliability

int main(int argc, char** argv) { return daicho::reliability::Main(argc, argv); }
