# Sourced by the tests that run docs/operations.md's commands as written:
# `doc` is the document's path; `fail MESSAGE` is the caller's; the caller
# is in its work directory, with `daicho` and `daicho-relay` on PATH.

# doc_block NAME: the ```sh block that follows "<!-- ops-test: NAME -->".
doc_block() {
  awk -v marker="<!-- ops-test: $1 -->" '
    $0 == marker { found = 1; next }
    found && !open && /^```sh$/ { open = 1; next }
    open && /^```$/ { exit }
    open { print }' "${doc}"
}
# run_block NAME [COMMAND...]: runs that block as written, in a shell of its
# own that sees the variables the document asks the operator to set; with a
# COMMAND (`runuser -u postgres --`), through it.
run_block() {
  local code name="$1"
  shift
  code="$(doc_block "${name}")"
  [[ -n "${code}" ]] || fail "docs/operations.md has no block marked ops-test: ${name}"
  "$@" bash -euo pipefail -c "${code}"
}

# start_relay FLAG VALUE [SERVE_ARGS...]: `daicho-relay FLAG VALUE serve` on
# loopback (FLAG VALUE: --data DIR or --store CONNINFO), its log appended to
# relay.log; sets relay_pid, relay_port and url. The first start picks a
# port; later ones keep it, as the PCs saved it.
relay_port=0
start_relay() {
  local before port=""
  touch relay.log
  before="$(wc -l <relay.log)"
  daicho-relay "$1" "$2" serve --listen "127.0.0.1:${relay_port}" "${@:3}" 2>>relay.log &
  relay_pid=$!
  for _ in $(seq 400); do
    port="$(tail -n +"$((before + 1))" relay.log | sed -n 's/.* event=relay_started listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p')"
    [[ -n "${port}" ]] && break
    sleep 0.05
  done
  [[ -n "${port}" ]] || fail "the relay did not start"
  relay_port="${port}"
  url="ws://127.0.0.1:${port}/sync"
}
# stop_relay: SIGTERM; the relay must stop cleanly.
stop_relay() {
  kill -TERM "${relay_pid}"
  wait "${relay_pid}" || fail "the relay did not stop cleanly"
  relay_pid=""
}
# pc DB ARGS...: the daicho CLI on the PC whose replica is DB.
pc() { local db="$1"; shift; daicho --db "${db}" "$@"; }
# expect_name PC ID NAME: customer ID's record on PC shows NAME.
expect_name() {
  local got
  got="$(pc "$1" get customers "$2")" || fail "$1 cannot read $2"
  grep -qF "$3" <<<"${got}" || fail "$1 shows ${2} as: ${got} (wanted $3)"
}
