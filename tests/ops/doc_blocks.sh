# Sourced by the tests that run docs/operations.md's commands as written:
# `doc` is the document's path; `fail MESSAGE` is the caller's.

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
