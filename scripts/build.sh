#!/usr/bin/env bash
# Configures and builds daicho into ./build (or $BUILD_DIR), and the fuzz
# targets with clang into its fuzz/ directory.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAICHO_BUILD_TESTS=ON -DDAICHO_BUILD_BENCH=ON
cmake --build "$build_dir" -j"$(nproc)"
# The libFuzzer targets (tests/reliability/fuzz/): a clang tree of their own
# inside the build tree, holding only the libraries they link; ctest runs them.
tests/reliability/fuzz/run.sh --build-only --build-dir "$build_dir/fuzz"
