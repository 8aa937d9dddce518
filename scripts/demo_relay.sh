#!/usr/bin/env bash
# The daicho demo through a real relay: a vendor's relay runs on loopback, two
# office PCs connect to it, set up the office key (everything sent to the
# relay is encrypted end to end: the relay never sees a customer in clear),
# register and edit a customer offline (the relay is down meanwhile), sync
# when it is back, merge field by field and keep the one real conflict
# visible until staff settle it.
#
# Usage: scripts/demo_relay.sh [BUILD_DIR]   (default: build; needs BUILD_DIR/apps/daicho
# and BUILD_DIR/apps/daicho-relay). DAICHO_DEMO_KEEP=1 keeps the temporary directory.
set -euo pipefail

BUILD_DIR="${1:-build}"
# shellcheck source=demo_common.sh
source "$(dirname "$0")/demo_common.sh"
relay_bin="$(dirname "${daicho}")/daicho-relay"

contract="1234-5678-9012"
relay_pid=""
relay_url=""
relay_listen="127.0.0.1:0"  # any free port first, then the same one again
relay() { printf '[relay]$ daicho-relay %s\n' "$*"; "${relay_bin}" --data relay-data "$@"; }
# Starts the relay on a free loopback port and waits for its relay_started
# log line (the relay logs everything to stderr, one line per event).
start_relay() {
  printf '[relay]$ daicho-relay serve --listen %s 2>>relay.log &\n' "${relay_listen}"
  local logged_before
  logged_before="$(wc -l <relay.log 2>/dev/null || echo 0)"
  "${relay_bin}" --data relay-data serve --listen "${relay_listen}" 2>>relay.log &
  relay_pid=$!
  local port=""
  for _ in $(seq 100); do
    port="$(tail -n +"$((logged_before + 1))" relay.log 2>/dev/null |
      sed -n 's/.* event=relay_started listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p')"
    if [[ -n "${port}" ]]; then break; fi
    sleep 0.05
  done
  if [[ -z "${port}" ]]; then
    echo "DEMO FAILED: the relay did not start" >&2
    cat relay.log >&2
    exit 1
  fi
  relay_listen="127.0.0.1:${port}"
  relay_url="ws://${relay_listen}/sync"
  say "relay listening at ${relay_url}"
}
stop_relay() {
  if [[ -n "${relay_pid}" ]]; then
    kill -TERM "${relay_pid}" 2>/dev/null || true
    wait "${relay_pid}" 2>/dev/null || true
    relay_pid=""
  fi
}
demo_stop() { stop_relay; }

step "1. The vendor sets up the office's contract and a login on the relay"
relay init
relay contract add "${contract}"
printf 'YamadaOffice2024\n' >password.txt
relay user add "${contract}" suzuki --password-file password.txt
start_relay

step "2. Each office PC gets its own replica and connects (the password is not stored, a revocable device token is)"
pc1 init
pc2 init
pc1 connect "${relay_url}" --contract "${contract}" --user suzuki --password-file password.txt \
  --save-password --device-name reception-pc

step "3. PC1, the office's first PC, creates the office key (end-to-end encryption)"
say "the office passphrase protects it; the relay gets it only wrapped, never in clear"
printf '山田事務所の合言葉 2024\n' >passphrase.txt
pc1 key init --passphrase-file passphrase.txt
pc1 key status
say "PC2 connects with the office passphrase, which unlocks the key there too"
pc2 connect "${relay_url}" --contract "${contract}" --user suzuki --password-file password.txt \
  --save-password --device-name back-office-pc --passphrase-file passphrase.txt

step "4. PC1 registers a customer and syncs; PC2 syncs and has it"
register_customer
pc1 status
pc1 sync
pc2 sync
pc2 get customers yamada-kensetsu

step "5. The relay (or the office's internet line) is down; both PCs keep working offline"
stop_relay
edit_offline_on_both
pc1 status --json
say "a sync now fails with a clear reason and changes nothing"
if pc1 sync; then
  echo "DEMO FAILED: sync succeeded with the relay down" >&2
  exit 1
fi

step "6. The relay is back (it kept everything): the PCs sync with their saved logins"
start_relay
pc1 sync
pc2 sync
pc1 sync

step "7. Both PCs show the same merged customer"
say "address: PC2's edit; trades: all three; filings: 1 + 1 + 1 = 3"
say "phone: both PCs changed it, so both values are kept as a visible conflict"
pc1 get customers yamada-kensetsu
same_output "get --json" get customers yamada-kensetsu --json
pc2 conflicts
same_output "conflicts --json" conflicts --json

step "8. On PC2, the staff checks with the customer and settles the phone number; both sync"
pc2 resolve customers yamada-kensetsu phone 03-3333-3333
pc2 sync
pc1 sync
pc1 conflicts
same_output "get --json" get customers yamada-kensetsu --json
pc1 status
pc2 status --json

step "9. The relay's log (a timestamped line per session: who, outcome, changes and bytes as the PC sees them; key events) and its data (sealed changes only)"
stop_relay
cat relay.log
# count_files TEXT DIR: how many files below DIR contain TEXT (binary files too).
count_files() { { grep -rlaF -- "$1" "$2" || true; } | wc -l; }
canary='株式会社山田建設'
in_relay="$(count_files "${canary}" relay-data)"
in_pc1="$(count_files "${canary}" pc1)"
printf '[relay]$ grep -rlaF %s relay-data | wc -l\n%s\n' "${canary}" "${in_relay}"
printf '[PC1]$ grep -rlaF %s pc1 | wc -l\n%s\n' "${canary}" "${in_pc1}"
if [[ "${in_relay}" -ne 0 ]]; then
  echo "DEMO FAILED: the relay's data holds a customer's trade name in clear" >&2
  exit 1
fi
if [[ "${in_pc1}" -eq 0 ]]; then
  echo "DEMO FAILED: the search cannot see what a replica stores" >&2
  exit 1
fi
say "the trade name is in PC1's replica but in none of the relay's files: the relay holds only sealed changes"

step "Done: every edit merged through the relay (encrypted end to end), nothing overwritten, one conflict shown and settled."
