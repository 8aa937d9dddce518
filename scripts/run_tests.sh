#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test
# (unit, property, crash, CLI, demo and benchmark smoke runs) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600
