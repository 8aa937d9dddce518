#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/reliability/README.md) and prints one JSON
# line of figures per run: per target the runs, execs/s, coverage (edges),
# features, corpus size, new inputs, peak RSS and crashes found.
#
#   run.sh [options] [TARGET...]          all targets when none is named
#     --seconds N     fuzzing time per target (default 30: the CI mode)
#     --long          600 s per target, and the inputs found are kept in
#                     BUILD_DIR/work/<target> across runs (the long mode)
#     --jobs N        targets run at once (default 2)
#     --build-dir D   the fuzz tree (default: build/fuzz in the source tree)
#     --no-build      use the built targets as they are (ctest)
#     --build-only    configure and build the fuzz tree, run nothing
#     --merge         after fuzzing, keep in the committed corpus
#                     (corpus/<target>/) the seeds, findings and the 50
#                     inputs covering the most edges (minimise.py)
#     --seeds         rewrite the seed inputs (corpus/<target>/seed-*) from
#                     the real encoders (fuzz_seeds)
#
# A crash, leak, UBSan finding, timeout or broken harness invariant fails the
# run; the reproducer's path is printed ("reproducer: ..."), with the command
# that replays it. Exit status: 0 when no target found anything.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../../.." && pwd)
all_targets=(wire_frame sync_handshake peer_channel lan_announcement change_codec state_codec change_apply csv_import
  change_file admin_http)

seconds=30
mode=ci
jobs=2
build_dir=$source_dir/build/fuzz
build=1
build_only=0
merge=0
seeds=0
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift ;;
    --long) seconds=600; mode=long ;;
    --jobs) jobs=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --no-build) build=0 ;;
    --build-only) build_only=1 ;;
    --merge) merge=1 ;;
    --seeds) seeds=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
((${#targets[@]})) || targets=("${all_targets[@]}")
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)

if ((build)); then
  # clang 14 only: the fuzz tree builds no Asio code (see CMakeLists.txt).
  cmake -S "$source_dir" -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++-14 -DDAICHO_FUZZ=ON -DDAICHO_BUILD_TESTS=OFF \
    -DDAICHO_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build_dir" -j"$(nproc)"
fi
((build_only)) && exit 0

bin=$build_dir/tests/reliability/fuzz
if ((seeds)); then
  find "$here/corpus" -name 'seed-*' -delete 2>/dev/null || true
  "$bin/fuzz_seeds" "$here/corpus"
fi

# Targets whose every run opens a replica or a relay touch some 10,000
# coverage features a run: there libFuzzer's entropic scheduling costs more
# than the run itself (half the time, measured with perf), and turning it
# off doubles the runs a second at the same coverage per run.
declare -A target_flags=(
  [sync_handshake]=-entropic=0 [peer_channel]=-entropic=0 [change_apply]=-entropic=0 [csv_import]=-entropic=0
  [change_file]=-entropic=0 [admin_http]=-entropic=0)

# Scratch replicas and relays go to memory when it can.
scratch_base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && scratch_base=/dev/shm
out_root=$build_dir/runs/$mode
mkdir -p "$out_root"

# Fuzzes one target; writes its figures as a JSON object to $out_root/<t>.json.
fuzz_one() {
  local t=$1
  local exe=$bin/${t}_fuzzer
  local log=$out_root/$t.log
  local artifacts=$out_root/artifacts/$t/
  local work
  if [[ $mode == long ]]; then
    work=$build_dir/work/$t
  else
    work=$out_root/work/$t
    rm -rf "$work"
  fi
  mkdir -p "$work" "$artifacts" "$here/corpus/$t"
  if [[ ! -x $exe ]]; then
    echo "run.sh: $exe is missing: build the fuzz tree first (scripts/build.sh, or run.sh without --no-build)" >&2
    printf '{"target":"%s","error":"not built","crashes":1}' "$t" >"$out_root/$t.json"
    return 1
  fi
  local scratch
  scratch=$(mktemp -d "$scratch_base/daicho-fuzz-$t.XXXXXX")
  local rc=0
  # New inputs go to the work directory (first); the committed corpus is
  # only read. -timeout: an input running 25 s is a hang, kept as a finding.
  # Each target is one process (-fork is not used), so a finding stops it.
  (cd "$out_root" && TMPDIR=$scratch "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
    -rss_limit_mb=2560 ${target_flags[$t]:-} -artifact_prefix="$artifacts" "$work" "$here/corpus/$t") >"$log" 2>&1 || rc=$?
  rm -rf "$scratch"
  local runs execs cov ft corp new_units rss crashes=0 reproducer=""
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  new_units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  # The last status line: "#N  DONE  cov: C ft: F corp: K/..."
  local status
  status=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
  if ((rc != 0)); then
    crashes=1
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "run.sh: $t FOUND A PROBLEM (exit $rc); its log: $log" >&2
    grep -E 'ERROR|BROKEN|runtime error|SUMMARY|^    #[0-9]+ ' "$log" | head -40 >&2 || true
    if [[ -n $reproducer ]]; then
      echo "reproducer: $reproducer" >&2
      echo "replay with: $exe $reproducer" >&2
    fi
  fi
  printf '{"target":"%s","seconds":%s,"runs":%s,"execs_per_s":%s,"coverage":%s,"features":%s,"corpus":%s,"new_units":%s,"peak_rss_mb":%s,"crashes":%s,"reproducer":"%s"}' \
    "$t" "$seconds" "${runs:-0}" "${execs:-0}" "${cov:-0}" "${ft:-0}" "${corp:-0}" "${new_units:-0}" "${rss:-0}" \
    "$crashes" "$reproducer" >"$out_root/$t.json"
  if ((merge && crashes == 0)); then
    # Keeps the committed corpus small: the seeds, kept findings and the 50
    # inputs that cover the most edges (minimise.py).
    TMPDIR=$scratch_base python3 "$here/minimise.py" "$exe" "$here/corpus/$t" "$work" --max 50 >"$out_root/$t.merge.log" 2>&1
  fi
  return $((crashes))
}

failed=0
pids=()
names=()
for t in "${targets[@]}"; do
  rm -f "$out_root/$t.json"
  fuzz_one "$t" &
  pids+=($!)
  names+=("$t")
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
done

# The figures: one JSON line.
line="{\"suite\":\"fuzz\",\"mode\":\"$mode\",\"seconds_per_target\":$seconds,\"targets\":["
sep=""
total_crashes=0
for t in "${targets[@]}"; do
  obj=$(cat "$out_root/$t.json" 2>/dev/null || printf '{"target":"%s","error":"no figures","crashes":1}' "$t")
  line+="$sep$obj"
  sep=","
  grep -q '"crashes":0' <<<"$obj" || total_crashes=$((total_crashes + 1))
done
line+="],\"crashes\":$total_crashes}"
echo "$line"
((failed == 0 && total_crashes == 0))
