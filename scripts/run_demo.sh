#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the demo (two office
# PCs edit the same customer offline, exchange changes, and merge).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
scripts/demo_local.sh "${BUILD_DIR:-build}"
