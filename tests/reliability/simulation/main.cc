// reliability_simulation: runs the deterministic simulation
// (simulation.h) over a range of seeds and prints its figures as one JSON
// line. A failing seed prints why and a one-line repro, and the exit code is
// 1. Every --replay-every'th seed is run twice: both runs must give the same
// trace hash. Usage (tests/reliability/README.md):
//   reliability_simulation [--seeds N] [--first-seed S] [--steps K] [--replay-every R]
//   reliability_simulation --seed S [--trace] one seed, e.g. a repro (--trace: every event to stderr)
//   reliability_simulation --long            10,000 seeds
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/key_ring.h"
#include "tests/reliability/simulation/deterministic_random.h"
#include "tests/reliability/simulation/simulation.h"

namespace daicho::simulation {
namespace {

struct Args {
  uint64_t first_seed = 1;
  uint64_t seeds = 200;
  int steps = 1000;
  uint64_t replay_every = 10;
  bool single = false;
  bool trace = false;
};

bool ParseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto next = [&]() -> uint64_t { return i + 1 < argc ? std::stoull(argv[++i]) : 0; };
    if (arg == "--seeds") {
      args.seeds = next();
    } else if (arg == "--first-seed") {
      args.first_seed = next();
    } else if (arg == "--seed") {
      args.first_seed = next();
      args.seeds = 1;
      args.single = true;
    } else if (arg == "--steps") {
      args.steps = static_cast<int>(next());
    } else if (arg == "--replay-every") {
      args.replay_every = next();
    } else if (arg == "--trace") {
      args.trace = true;
    } else if (arg == "--long") {
      args.seeds = 10'000;
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return false;
    }
  }
  return args.seeds > 0 && args.steps > 0;
}

// Stores live in memory when /dev/shm exists: the simulation is about
// ordering, not disk speed, and 10,000 seeds of fsyncs would take hours.
std::string MakeRunDir() {
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  std::string pattern = base + "/daicho-sim-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

int Main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    std::cerr << "usage: reliability_simulation [--seeds N] [--first-seed S] [--steps K] [--replay-every R] "
                 "| --seed S [--trace] | --long\n";
    return 2;
  }
  if (!InstallDeterministicRandombytes()) {
    std::cerr << "libsodium refused the simulation's random source\n";
    return 2;
  }
  const std::string root = MakeRunDir();
  if (root.empty()) {
    std::cerr << "cannot make a directory for the stores\n";
    return 2;
  }
  ReseedRandombytes(0);
  auto office_key = crypto::KeyRing::Create();
  const std::string relay_template = root + "/relay-template";
  Status made = office_key.ok() ? CreateRelayTemplate(relay_template, *office_key) : office_key.status();
  if (!made.ok()) {
    std::cerr << "cannot create the relay store: " << made << "\n";
    std::filesystem::remove_all(root);
    return 2;
  }

  const auto started = std::chrono::steady_clock::now();
  SimulationFigures totals;
  uint64_t replayed = 0;
  uint64_t failures = 0;
  int min_replicas = 99;
  int max_replicas = 0;
  for (uint64_t seed = args.first_seed; seed < args.first_seed + args.seeds; ++seed) {
    const bool replay = args.single || (args.replay_every > 0 && seed % args.replay_every == 0);
    uint64_t first_hash = 0;
    for (int run = 0; run < (replay ? 2 : 1); ++run) {
      SimulationOptions options;
      options.seed = seed;
      options.steps = args.steps;
      options.dir = root + "/seed-" + std::to_string(seed);
      options.relay_template = relay_template;
      options.office_key = &*office_key;
      options.echo_trace = args.trace;
      std::filesystem::create_directories(options.dir);
      auto figures = RunSimulation(options);
      std::filesystem::remove_all(options.dir);
      const std::string repro =
          "repro: reliability_simulation --seed " + std::to_string(seed) + " --steps " + std::to_string(args.steps);
      if (!figures.ok()) {
        std::cerr << "seed " << seed << " failed: " << figures.status() << "\n" << repro << "\n";
        ++failures;
        break;
      }
      if (run == 1) {
        ++replayed;
        if (figures->trace_hash != first_hash) {
          std::cerr << "seed " << seed << " replayed a different trace (" << first_hash << " then "
                    << figures->trace_hash << ")\n"
                    << repro << "\n";
          ++failures;
        }
        continue;
      }
      first_hash = figures->trace_hash;
      if (args.single) std::cerr << "seed " << seed << " trace hash " << first_hash << "\n";
      min_replicas = std::min(min_replicas, figures->replicas);
      max_replicas = std::max(max_replicas, figures->replicas);
      totals += *figures;
    }
  }
  std::filesystem::remove_all(root);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json line = {{"program", "simulation"},
                         {"first_seed", args.first_seed},
                         {"seeds", args.seeds},
                         {"steps_per_seed", args.steps},
                         {"replicas_min", min_replicas},
                         {"replicas_max", max_replicas},
                         {"failures", failures},
                         {"replayed_with_equal_hash", replayed},
                         {"seconds", seconds},
                         {"commits", totals.commits},
                         {"abandoned_transactions", totals.abandoned},
                         {"csv_imports", totals.csv_imports},
                         {"frames_delivered", totals.frames_delivered},
                         {"frames_dropped", totals.frames_dropped},
                         {"frames_duplicated", totals.frames_duplicated},
                         {"frames_reordered", totals.frames_reordered},
                         {"connections", totals.connections},
                         {"sessions_failed", totals.sessions_failed},
                         {"idle_cuts", totals.idle_cuts},
                         {"partitions", totals.partitions},
                         {"pc_crashes", totals.pc_crashes},
                         {"relay_crashes", totals.relay_crashes},
                         {"seeds_ending_in_conflict", totals.conflicts}};
  std::cout << line.dump() << std::endl;
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace daicho::simulation

int main(int argc, char** argv) { return daicho::simulation::Main(argc, argv); }
