#!/usr/bin/env bash
# Runs docs/operations.md's "Several nodes with PostgreSQL" commands as
# written (the blocks marked `<!-- ops-test: pg-... -->`) against throw-away
# PostgreSQL 15 clusters on loopback and real `daicho` and `daicho-relay`
# programs: the database and the store are created, a synchronous standby
# is set up, a base backup is taken while a PC syncs, the primary is stopped
# hard and the standby promoted while the relay serves (the PC's next sync
# goes through), and the backup is restored, after which the PC's changes
# since the backup come back by themselves and a new PC gets every record.
#
# Usage: postgres_ops_test.sh APPS_DIR OPERATIONS_MD
# (APPS_DIR holds the built `daicho` and `daicho-relay`.) Run as root (the
# clusters then run as `postgres`) or as any other user.
set -euo pipefail
# shellcheck source=ops_test_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ops_test_lib.sh"

apps="$(cd "$1" && pwd)"
doc="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
pg_bin=/usr/lib/postgresql/15/bin
export PATH="${apps}:${pg_bin}:${PATH}"
work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-pg-ops-test.XXXXXX")"
chmod 755 "${work}"
pg="${work}/pg"  # the clusters and backups: the database hosts' side
mkdir "${pg}"
# as_postgres COMMAND...: as the clusters' owner (initdb refuses root).
if [[ "$(id -u)" == 0 ]]; then
  chown postgres:postgres "${pg}"
  as_postgres() { runuser -u postgres -- "$@"; }
else
  as_postgres() { "$@"; }
fi
relay_pid=""
cleanup() {
  if [[ -n "${relay_pid}" ]]; then kill -TERM "${relay_pid}" 2>/dev/null || true; wait "${relay_pid}" 2>/dev/null || true; fi
  for data in "${pg}"/*/; do
    if [[ -f "${data}postmaster.pid" ]]; then as_postgres pg_ctl -D "${data}" -m immediate -w stop >/dev/null 2>&1 || true; fi
  done
  rm -rf "${work}"
}
trap cleanup EXIT
cd "${work}"

fail() {
  echo "FAILED: $*" >&2
  for log in relay.log "${pg}"/*.log; do
    [[ -f "${log}" ]] && { echo "--- ${log}" >&2; tail -n 40 "${log}" >&2; }
  done
  exit 1
}
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start_cluster DATA PORT: on loopback only, no Unix socket.
start_cluster() {
  as_postgres pg_ctl -D "$1" -l "$1.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -c unix_socket_directories=''" start >/dev/null ||
    fail "PostgreSQL in $1 did not start"
}
# pg_block NAME PGDATA: runs the block as `postgres` on the database host of
# PGDATA, with the document's variables set and the primary's port.
pg_block() {
  run_block "$1" as_postgres env PATH="${PATH}" PRIMARY=127.0.0.1 PGPORT="${primary_port}" PGDATA="$2" \
    BACKUPS="${pg}/backups" copy="${copy:-}"
}

primary_port="$(free_port)"
standby_port="$(free_port)"
export STORE="postgresql://daicho_relay@127.0.0.1:${primary_port},127.0.0.1:${standby_port}/daicho?target_session_attrs=read-write&connect_timeout=2"
as_postgres initdb -D "${pg}/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N >/dev/null ||
  fail "initdb failed"
start_cluster "${pg}/primary" "${primary_port}"

# The database, the store, one office.
pg_block pg-database "${pg}/primary" || fail "the pg-database block failed"
init_out="$(run_block pg-init)" || fail "the pg-init block failed: ${init_out}"
grep -qF "created an empty relay store" <<<"${init_out}" || fail "init said: ${init_out}"
if again="$(daicho-relay --store "${STORE}" init 2>&1)"; then fail "a second init was accepted: ${again}"; fi
grep -qF "already holds a relay store" <<<"${again}" || fail "the second init said: ${again}"
contract=1234-5678-9012
printf 'Office2024x\n' >password.txt
printf 'first passphrase 2024\n' >pass1.txt
daicho-relay --store "${STORE}" contract add "${contract}" >/dev/null
daicho-relay --store "${STORE}" user add "${contract}" office@example.jp --password-file password.txt >/dev/null

# The synchronous standby, as written.
pg_block pg-standby "${pg}/standby" || fail "the pg-standby block failed"
start_cluster "${pg}/standby" "${standby_port}"
pg_block pg-synchronous "${pg}/primary" || fail "the pg-synchronous block failed"

# sync_until_ok PC: a store that is failing over refuses writes for a
# moment; the PC keeps its changes and syncs again, as `sync --watch` would.
sync_until_ok() {
  local out
  for _ in $(seq 60); do
    out="$(pc "$1" sync 2>&1)" && return 0
    sleep 0.5
  done
  fail "$1 could not sync: ${out}"
}

start_relay --store "${STORE}" --node-name ops1 --mail-outbox "${work}/outbox"
grep -qF "node=ops1" relay.log || fail "the relay's start line does not name the node"
pc pc1 init >/dev/null
pc pc1 connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
  --save-password --device-name pc1 >/dev/null
pc pc1 key init --passphrase-file pass1.txt >/dev/null
pc pc1 set customers c1 name=before-the-backup >/dev/null
pc pc1 sync >/dev/null

# new_pc_gets_every_record PC: a new PC, set up with the office's
# passphrase, downloads every record pc1 wrote.
new_pc_gets_every_record() {
  pc "$1" init >/dev/null
  pc "$1" connect "${url}" --contract "${contract}" --user office@example.jp --password-file password.txt \
    --save-password --device-name "$1" --passphrase-file pass1.txt >/dev/null
  pc "$1" sync >/dev/null
  expect_name "$1" c1 before-the-backup
  expect_name "$1" c2 after-the-backup
  expect_name "$1" c3 after-the-failover
}

# The base backup, as written, while the relay serves.
backup_out="$(pg_block pg-backup "${pg}/primary")" || fail "the pg-backup block failed: ${backup_out}"
copy="$(sed -n 's/^backed up to //p' <<<"${backup_out}")"
[[ -f "${copy}/base.tar.gz" && -f "${copy}/pg_wal.tar.gz" ]] || fail "no base backup at '${copy}': ${backup_out}"

# The primary fails mid-service; the standby is promoted as written.
pc pc1 set customers c2 name=after-the-backup >/dev/null
pc pc1 sync >/dev/null
as_postgres pg_ctl -D "${pg}/primary" -m immediate -w stop >/dev/null
pg_block pg-promote "${pg}/standby" || fail "the pg-promote block failed"
pc pc1 set customers c3 name=after-the-failover >/dev/null
sync_until_ok pc1
new_pc_gets_every_record pc2

# The store is lost: restore the backup onto the first host, as written.
stop_relay
as_postgres pg_ctl -D "${pg}/standby" -m fast -w stop >/dev/null
pg_block pg-restore "${pg}/primary" || fail "the pg-restore block failed"
ls -d "${pg}"/primary.before-restore-* >/dev/null 2>&1 || fail "the replaced data directory was not kept"
start_cluster "${pg}/primary" "${primary_port}"
check_out="$(run_block pg-check)" || fail "the pg-check block failed: ${check_out}"
grep -qF "${contract}" <<<"${check_out}" || fail "the restored store does not list the contract: ${check_out}"
# A new standby from the restored primary (its commits wait for one).
as_postgres rm -rf "${pg}/standby"
pg_block pg-standby "${pg}/standby" || fail "the pg-standby block failed after the restore"
start_cluster "${pg}/standby" "${standby_port}"

# What the store lost comes back from the PC that made it; a new PC gets
# every record. (pc2's saved login, made after the backup, is unknown to
# the restored store: it would connect again, as "Restore" says.)
start_relay --store "${STORE}" --node-name ops1 --mail-outbox "${work}/outbox"
sync_until_ok pc1
new_pc_gets_every_record pc3
stop_relay
echo "PostgreSQL store, backup, failover and restore as in docs/operations.md: ok"
