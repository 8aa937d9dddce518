#!/usr/bin/env bash
# Checks deploy/haproxy.cfg with HAProxy's own parser (`haproxy -c`), its
# certificate path pointed at a throw-away self-signed certificate, and that
# it still routes by contract and health-checks /readyz with PROXY v2.
# Usage: haproxy_config_test.sh HAPROXY_CFG
set -euo pipefail
cfg="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/daicho-haproxy-test.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=relay.example.jp \
  -keyout "${work}/key.pem" -out "${work}/cert.pem" 2>/dev/null
cat "${work}/cert.pem" "${work}/key.pem" >"${work}/relay.pem"
grep -q "crt /etc/haproxy/certs/relay.pem" "${cfg}" || fail "the certificate path moved: update this test and the docs"
sed "s#/etc/haproxy/certs/relay.pem#${work}/relay.pem#" "${cfg}" >"${work}/haproxy.cfg"
out="$(haproxy -c -f "${work}/haproxy.cfg" 2>&1)" || fail "haproxy -c refused it: ${out}"
grep -qi "warning" <<<"${out}" && fail "haproxy -c warned: ${out}"
# What docs/operations.md says it does.
for line in "balance uri" "hash-type consistent" "use_backend sync_by_contract if { path_beg /sync/ }" \
  "http-check send meth GET uri /readyz" "send-proxy-v2 check-send-proxy" "timeout tunnel 1h" "option redispatch"; do
  grep -qF "${line}" "${cfg}" || fail "deploy/haproxy.cfg lacks: ${line}"
done
echo "deploy/haproxy.cfg: valid"
