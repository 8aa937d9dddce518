#!/usr/bin/env bash
# Configures and builds daicho into ./build (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAICHO_BUILD_TESTS=ON -DDAICHO_BUILD_BENCH=ON
cmake --build "$build_dir" -j"$(nproc)"
