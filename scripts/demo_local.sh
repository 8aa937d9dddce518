#!/usr/bin/env bash
# The daicho local demo: two office PCs, each with its own replica, share a
# customer through change files (as on a USB stick), edit it offline at the
# same time, merge field by field, and settle the one real conflict.
#
# Usage: scripts/demo_local.sh [BUILD_DIR]   (default: build; needs BUILD_DIR/apps/daicho)
# Set DAICHO_DEMO_KEEP=1 to keep the temporary directory for a look afterwards.
set -euo pipefail

BUILD_DIR="${1:-build}"
# shellcheck source=demo_common.sh
source "$(dirname "$0")/demo_common.sh"
usb="usb"
mkdir -p "${usb}"

step "1. Each office PC gets its own replica"
pc1 init
pc2 init

step "2. PC1 registers a customer (a construction company)"
register_customer
pc1 get customers yamada-kensetsu

step "3. PC1 copies its changes to the USB stick; PC2 imports them"
pc1 export-changes "${usb}/pc1-initial.changes"
pc2 import-changes "${usb}/pc1-initial.changes"
pc2 get customers yamada-kensetsu

step "4. Both PCs edit the customer offline, at the same time"
edit_offline_on_both

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
