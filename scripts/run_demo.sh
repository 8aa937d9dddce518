#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the demo: a relay on
# loopback, two office PCs edit the same customer offline, sync through the
# relay, and merge (scripts/demo_local.sh shows the same with change files).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
scripts/demo_relay.sh "${BUILD_DIR:-build}"
