# Shared by the demo scripts (sourced, not run): finds the built binaries,
# makes a temporary working directory and defines the narration helpers.
# Expects BUILD_DIR to be set by the sourcing script.

daicho="${BUILD_DIR}/apps/daicho"
if [[ ! -x "${daicho}" ]]; then
  echo "error: ${daicho} not found; build it first: cmake --build ${BUILD_DIR}" >&2
  exit 1
fi
daicho="$(cd "$(dirname "${daicho}")" && pwd)/daicho"

work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-demo.XXXXXX")"
if [[ -n "${DAICHO_DEMO_KEEP:-}" ]]; then
  echo "(keeping ${work})"
else
  trap 'demo_cleanup' EXIT
fi
# Scripts add their own cleanup (a relay to stop) by redefining demo_stop.
demo_stop() { :; }
demo_cleanup() {
  demo_stop
  rm -rf "${work}"
}
# Work inside the temp dir so the narrated commands show short paths.
cd "${work}"

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

# The customer both demos use, registered on PC1.
register_customer() {
  pc1 set customers yamada-kensetsu \
    'trade_name=株式会社山田建設' \
    'representative=代表取締役 山田太郎' \
    'address=東京都千代田区霞が関1-1-1' \
    'phone=03-1111-1111' \
    'permit_number=東京都知事 許可（般-5）第12345号' \
    'trades[]+=土木工事業' \
    'filings+=1'
}

# The concurrent offline edits both demos make.
edit_offline_on_both() {
  say "PC1: the company got a new phone number, a new trade, and one more filing"
  pc1 set customers yamada-kensetsu 'phone=03-2222-2222' 'trades[]+=建築工事業' 'filings+=1'
  say "PC2: the company moved (new address, new phone), another trade, one more filing"
  pc2 set customers yamada-kensetsu 'address=東京都新宿区西新宿2-8-1' 'phone=03-3333-3333' \
    'trades[]+=管工事業' 'filings+=1'
}
