#!/usr/bin/env bash
# The daicho local demo: two office PCs, each with its own replica, share a
# customer through change files (as on a USB stick), edit it offline at the
# same time, merge field by field, and settle the one real conflict.
#
# Usage: scripts/demo_local.sh [BUILD_DIR]   (default: build; needs BUILD_DIR/apps/daicho)
# Set DAICHO_DEMO_KEEP=1 to keep the temporary directory for a look afterwards.
set -euo pipefail

build_dir="${1:-build}"
daicho="${build_dir}/apps/daicho"
if [[ ! -x "${daicho}" ]]; then
  echo "error: ${daicho} not found; build it first: cmake --build ${build_dir} --target daicho" >&2
  exit 1
fi
daicho="$(cd "$(dirname "${daicho}")" && pwd)/daicho"

work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-demo.XXXXXX")"
if [[ -n "${DAICHO_DEMO_KEEP:-}" ]]; then
  echo "(keeping ${work})"
else
  trap 'rm -rf "${work}"' EXIT
fi
# Work inside the temp dir so the narrated commands show short paths.
cd "${work}"
usb="usb"
mkdir -p "${usb}"

step() { printf '\n=== %s\n' "$*"; }
say() { printf -- '--- %s\n' "$*"; }
# pc1 ARGS... / pc2 ARGS...: run daicho on that PC's replica, echoing the command.
pc1() { printf '[PC1]$ daicho %s\n' "$*"; "${daicho}" --db pc1 "$@"; }
pc2() { printf '[PC2]$ daicho %s\n' "$*"; "${daicho}" --db pc2 "$@"; }
# same_output LABEL CMD...: runs a read-only command on both PCs, fails the demo if they differ.
same_output() {
  local label="$1"
  shift
  "${daicho}" --db pc1 "$@" >pc1.out
  "${daicho}" --db pc2 "$@" >pc2.out
  if cmp -s pc1.out pc2.out; then
    say "${label}: byte-identical on PC1 and PC2"
  else
    echo "DEMO FAILED: ${label} differs between PC1 and PC2" >&2
    diff pc1.out pc2.out >&2 || true
    exit 1
  fi
}

step "1. Each office PC gets its own replica"
pc1 init
pc2 init

step "2. PC1 registers a customer (a construction company)"
pc1 set customers yamada-kensetsu \
  'trade_name=株式会社山田建設' \
  'representative=代表取締役 山田太郎' \
  'address=東京都千代田区霞が関1-1-1' \
  'phone=03-1111-1111' \
  'permit_number=東京都知事 許可（般-5）第12345号' \
  'trades[]+=土木工事業' \
  'filings+=1'
pc1 get customers yamada-kensetsu

step "3. PC1 copies its changes to the USB stick; PC2 imports them"
pc1 export-changes "${usb}/pc1-initial.changes"
pc2 import-changes "${usb}/pc1-initial.changes"
pc2 get customers yamada-kensetsu

step "4. Both PCs edit the customer offline, at the same time"
say "PC1: the company got a new phone number, a new trade, and one more filing"
pc1 set customers yamada-kensetsu 'phone=03-2222-2222' 'trades[]+=建築工事業' 'filings+=1'
say "PC2: the company moved (new address, new phone), another trade, one more filing"
pc2 set customers yamada-kensetsu 'address=東京都新宿区西新宿2-8-1' 'phone=03-3333-3333' \
  'trades[]+=管工事業' 'filings+=1'

step "5. The PCs swap change files, both ways"
pc1 export-changes "${usb}/pc1.changes"
pc2 export-changes "${usb}/pc2.changes"
pc2 import-changes "${usb}/pc1.changes"
pc1 import-changes "${usb}/pc2.changes"
say "importing the same file again changes nothing (all duplicates)"
pc2 import-changes "${usb}/pc1.changes"

step "6. Both PCs now show the same customer"
say "address: PC2's edit (PC1 did not touch it); trades: all three; filings: 1 + 1 + 1 = 3"
say "phone: both PCs changed it, so both values are kept as a visible conflict"
pc1 get customers yamada-kensetsu --json
pc2 get customers yamada-kensetsu --json
same_output "get --json" get customers yamada-kensetsu --json

step "7. The conflict list (same on both PCs)"
pc1 conflicts
same_output "conflicts --json" conflicts --json

step "8. On PC1, the staff checks with the customer and resolves the phone number"
pc1 resolve customers yamada-kensetsu phone 03-3333-3333

step "9. Another exchange; this time PC1 sends only what PC2 lacks (--since PC2's version vector)"
pc2_vv="$("${daicho}" --db pc2 vv)"
say "PC2's version vector: ${pc2_vv}"
pc1 export-changes "${usb}/pc1-resolve.changes" --since "${pc2_vv}"
pc2 import-changes "${usb}/pc1-resolve.changes"
pc2 export-changes "${usb}/pc2-back.changes"
pc1 import-changes "${usb}/pc2-back.changes"

step "10. No conflicts anywhere; both PCs agree"
pc1 conflicts
pc2 conflicts
same_output "conflicts --json" conflicts --json
same_output "get --json" get customers yamada-kensetsu --json
pc2 get customers yamada-kensetsu

step "Done: every edit merged, nothing overwritten, one conflict shown and settled."
