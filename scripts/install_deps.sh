#!/usr/bin/env bash
# Installs the Debian 12 packages daicho needs to build and test (run as root).
# Skips apt entirely when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libboost-dev liblmdb-dev lmdb-utils libprotobuf-dev protobuf-compiler libsodium-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev
  # The relay's PostgreSQL backend (libpq) and the tests' throw-away clusters and balancer;
  # systemd-analyze checks the node's unit file (deploy/).
  postgresql-15 postgresql-client-15 libpq-dev haproxy systemd
  # The network-fault test's namespaces and veths (tests/reliability/network_faults/).
  iproute2 ethtool
  # The fuzz targets (tests/reliability/fuzz/): clang 14 with libFuzzer and the sanitizers' runtimes.
  clang-14 libclang-rt-14-dev
)
# The browser tests (tests/browser/): Debian's chromium with its matching
# driver, selenium, a real SMTP server, and a Japanese font so the
# screenshots show text. Installed with the packages' recommendations: the
# set the browser tests were verified with.
browser_packages=(chromium chromium-driver python3-selenium python3-aiosmtpd fonts-ipafont-gothic)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_browser=()
for p in "${browser_packages[@]}"; do
  installed "$p" || missing_browser+=("$p")
done

if ((${#missing[@]} + ${#missing_browser[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ((${#missing_browser[@]})); then
    echo "installing: ${missing_browser[*]}"
    apt-get install -y -qq "${missing_browser[@]}"
  fi
fi
