#!/usr/bin/env bash
# Installs the Debian 12 packages daicho needs to build and test (run as root).
# Skips apt entirely when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libboost-dev liblmdb-dev lmdb-utils libprotobuf-dev protobuf-compiler libsodium-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libcli11-dev nlohmann-json3-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
