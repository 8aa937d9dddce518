#!/usr/bin/env bash
# Checks deploy/daicho-relay.service with systemd's own parser
# (`systemd-analyze verify`), its ExecStart pointed at the built relay, and
# that `daicho-relay` accepts the flags it passes: run with its --store
# swapped for a --data directory that holds no store, it must get past the
# flags (exit 2: a usage error) to the missing store (exit 1), never
# reaching for the unit's database address.
# Usage: systemd_unit_test.sh UNIT RELAY
set -euo pipefail
unit="$1"
relay="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-unit-test.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
grep -q "^ExecStart=/usr/local/bin/daicho-relay " "${unit}" || fail "ExecStart moved: update this test and the docs"
sed "s#/usr/local/bin/daicho-relay#${relay}#" "${unit}" >"${work}/daicho-relay.service"
out="$(systemd-analyze verify "${work}/daicho-relay.service" 2>&1)" || fail "systemd-analyze refused it: ${out}"
[[ -z "${out}" ]] || fail "systemd-analyze warned: ${out}"
# The command line as systemd runs it: continuation lines joined, %H (the
# host name) filled in, the store swapped as said above.
args="$(sed -n '/^ExecStart=/,/[^\\]$/p' "${unit}" | sed 's/\\$//; s/^ExecStart=[^ ]*//' | tr '\n' ' ' |
  sed "s/%H/$(hostname)/g; s#--store [^ ]*#--data ${work}/no-store#" | tr -s ' ')"
[[ "${args}" == *"--data ${work}/no-store serve "* ]] || fail "no --store before serve in: ${args}"
code=0
# shellcheck disable=SC2086 # word splitting is what systemd does here
"${relay}" ${args} >/dev/null 2>"${work}/err" || code=$?
[[ "${code}" == 1 ]] && grep -q "no relay store here" "${work}/err" ||
  fail "daicho-relay refuses the unit's command line (exit ${code}): $(cat "${work}/err")"
echo "deploy/daicho-relay.service: valid"
