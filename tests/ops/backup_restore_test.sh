#!/usr/bin/env bash
# Backs up and restores a relay exactly as docs/operations.md says: the
# commands of its "## Backups" and "## Restore" blocks (marked
# `<!-- ops-test: NAME -->`) are taken from the document and run as written,
# against real `daicho` and `daicho-relay` programs on loopback. The backup
# is taken before an office rotates its key, as in the worst case the
# document describes: after the restore the PCs refuse to sync, one PC
# rotates past the relay's key, the others unlock it, and every record is
# back on the relay, readable with the new key only. A second office set up
# its key only after the backup: the restored relay has none, and the same
# rotation (never a second `key init`) brings it back.
#
# Usage: backup_restore_test.sh APPS_DIR OPERATIONS_MD
# (APPS_DIR holds the built `daicho` and `daicho-relay`.)
set -euo pipefail
# shellcheck source=ops_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ops_test_lib.sh"

apps="$(cd "$1" && pwd)"
doc="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
export PATH="${apps}:${PATH}"
work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-ops-test.XXXXXX")"
relay_pid=""
cleanup() {
  if [[ -n "${relay_pid}" ]]; then kill -TERM "${relay_pid}" 2>/dev/null || true; wait "${relay_pid}" 2>/dev/null || true; fi
  rm -rf "${work}"
}
trap cleanup EXIT
cd "${work}"

fail() {
  echo "FAILED: $*" >&2
  if [[ -f relay.log ]]; then echo "--- relay.log" >&2; cat relay.log >&2; fi
  exit 1
}
# mode PATH: its permission bits, e.g. 600.
mode() { stat -c %a "$1"; }

export DATA="${work}/relay-data"
export BACKUPS="${work}/backups"
contract=1234-5678-9012
printf 'Office2024x\n' >password.txt
printf 'first passphrase 2024\n' >pass1.txt
printf 'second passphrase 2024\n' >pass2.txt
printf 'third passphrase 2024\n' >pass3.txt

# A relay with one office of two PCs; key 1; one record.
daicho-relay --data "${DATA}" init >/dev/null
daicho-relay --data "${DATA}" contract add "${contract}" >/dev/null
daicho-relay --data "${DATA}" user add "${contract}" office@example.jp --password-file password.txt >/dev/null
late=2222-3333-4444
daicho-relay --data "${DATA}" contract add "${late}" >/dev/null
daicho-relay --data "${DATA}" user add "${late}" late@example.jp --password-file password.txt >/dev/null
start_relay --data "${DATA}"
for p in pc1 pc2; do pc "${p}" init >/dev/null; done
pc pc1 connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
  --save-password --device-name pc1 >/dev/null
pc pc1 key init --passphrase-file pass1.txt >/dev/null
pc pc1 set customers c1 name=before-the-backup >/dev/null
pc pc1 sync >/dev/null
pc pc2 connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
  --save-password --device-name pc2 --passphrase-file pass1.txt >/dev/null
pc pc2 sync >/dev/null
pc late1 init >/dev/null
pc late1 connect "${url}" --contract "${late}" --user late@example.jp --password-file password.txt \
  --save-password --device-name late1 >/dev/null

# The backup, as written, while the relay runs.
backup_out="$(DATA="${DATA}" BACKUPS="${BACKUPS}" run_block backup)" || fail "the backup block failed"
copy="$(sed -n 's/^backed up to //p' <<<"${backup_out}")"
[[ -f "${copy}/data.mdb" ]] || fail "no copy at '${copy}': ${backup_out}"
[[ "$(mode "${copy}")" == 700 ]] || fail "backup directory mode $(mode "${copy}"), not 700"
[[ "$(mode "${copy}/data.mdb")" == 600 ]] || fail "backup file mode $(mode "${copy}/data.mdb"), not 600"

# After the backup: the office rotates its key and keeps working.
pc pc1 key rotate --passphrase-file pass2.txt >/dev/null
pc pc1 set customers c2 name=after-the-rotation >/dev/null
pc pc1 sync >/dev/null
pc pc2 key unlock --passphrase-file pass2.txt >/dev/null
pc pc2 sync >/dev/null
pc pc2 set customers c3 name=from-pc2 >/dev/null
pc pc2 sync >/dev/null
pc pc1 sync >/dev/null
grep -q 'event=office_key_published .* kind=rotation key_id=2' relay.log || fail "the rotation was not logged"
pc late1 key init --passphrase-file pass1.txt >/dev/null
pc late1 set customers l1 name=late-office >/dev/null
pc late1 sync >/dev/null

# The relay is lost: restore the backup, as written, and start it again.
stop_relay
restore_out="$(DATA="${DATA}" copy="${copy}" run_block restore)" || fail "the restore block failed: ${restore_out}"
grep -qF "${contract}" <<<"${restore_out}" || fail "the restored store does not list the contract: ${restore_out}"
ls -d "${DATA}".before-restore-* >/dev/null 2>&1 || fail "the replaced data directory was not kept"
[[ "$(mode "${DATA}")" == 700 && "$(mode "${DATA}/data.mdb")" == 600 ]] || fail "restored files are not owner-only"
start_relay --data "${DATA}"

# The PCs hold key 2, the relay key 1: they refuse to sync, saying what to do.
if refused="$(pc pc1 sync 2>&1)"; then fail "pc1 synced against a relay with an older key: ${refused}"; fi
grep -qF "is older than this PC's (key 2)" <<<"${refused}" || fail "unexpected refusal: ${refused}"
grep -qF "daicho key rotate" <<<"${refused}" || fail "the refusal does not say what to do: ${refused}"

# What the document tells the office: rotate on one PC holding the newest
# key and sync there, unlock on the others.
pc pc1 key rotate --passphrase-file pass3.txt >/dev/null || fail "key rotate on pc1 failed"
pc pc1 sync >/dev/null || fail "pc1 could not sync after the rotation"
if refused="$(pc pc2 sync 2>&1)"; then fail "pc2 synced without the new key: ${refused}"; fi
grep -qF "daicho key unlock" <<<"${refused}" || fail "pc2's refusal does not say to unlock: ${refused}"
pc pc2 key unlock --passphrase-file pass3.txt >/dev/null || fail "pc2 could not unlock the new key"
pc pc2 sync >/dev/null || fail "pc2 could not sync after unlocking"
grep -q 'event=office_key_published .* kind=rotation key_id=3' relay.log || fail "the second rotation was not logged"

# The office whose key the restored relay never had: a second `key init`
# (another key 1) is refused, the rotation brings the key back.
if refused="$(pc late1 sync 2>&1)"; then fail "late1 synced against a relay without its key: ${refused}"; fi
grep -qF "the relay has no office key but this PC holds key 1" <<<"${refused}" || fail "unexpected: ${refused}"
if refused="$(pc late1 key init --passphrase-file pass2.txt 2>&1)"; then fail "a second key init was accepted"; fi
grep -qF "daicho key rotate" <<<"${refused}" || fail "the refused key init does not say what to do: ${refused}"
pc late1 key rotate --passphrase-file pass3.txt >/dev/null || fail "key rotate on late1 failed"
pc late1 sync >/dev/null || fail "late1 could not sync after the rotation"
pc late2 init >/dev/null
pc late2 connect "${url}" --contract "${late}" --user late@example.jp --password-file password.txt \
  --save-password --device-name late2 --passphrase-file pass3.txt >/dev/null
pc late2 sync >/dev/null
expect_name late2 l1 late-office

# A new PC with only the newest passphrase gets every record from the relay;
# the retired passphrase opens nothing.
pc pc3 init >/dev/null
if pc pc3 connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
  --passphrase-file pass2.txt >/dev/null 2>&1; then
  fail "the retired passphrase still unlocks the office key"
fi
pc pc3 connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
  --save-password --device-name pc3 --passphrase-file pass3.txt >/dev/null
pc pc3 sync >/dev/null
expect_name pc3 c1 before-the-backup
expect_name pc3 c2 after-the-rotation
expect_name pc3 c3 from-pc2
stop_relay
echo "backup and restore as in docs/operations.md: ok"
