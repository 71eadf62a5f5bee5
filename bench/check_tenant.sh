#!/usr/bin/env bash
# Checks that examples/tenant.json is exactly what edgeid-gen-tenant makes from
# examples/sample.truth.tsv with the command documented in examples/README.md.
#
#   bench/check_tenant.sh GENERATOR               regenerate into a temp dir and cmp (exit 1 if not)
#   bench/check_tenant.sh --regenerate GENERATOR  rewrite examples/tenant.json
#
# GENERATOR is the edgeid-gen-tenant binary. EDGEID_EMULATOR (cross builds) is used when set.
set -euo pipefail

regenerate=0
if [ "${1:-}" = "--regenerate" ]; then
  regenerate=1
  shift
fi
if [ $# -ne 1 ]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
gen=$1
[ -x "$gen" ] || { echo "check_tenant: generator '$gen' is not an executable" >&2; exit 2; }
examples="$(cd "$(dirname "$0")/../examples" && pwd)"
grep -qF -- "edgeid-gen-tenant --truth examples/sample.truth.tsv --out examples/tenant.json" \
  "$examples/README.md" || {
  echo "check_tenant: examples/README.md does not quote the generator command" >&2
  exit 1
}

if [ "$regenerate" = 1 ]; then
  # shellcheck disable=SC2086 # the emulator is a word list on purpose
  ${EDGEID_EMULATOR:-} "$gen" --truth "$examples/sample.truth.tsv" --out "$examples/tenant.json"
  echo "check_tenant: rewrote $examples/tenant.json"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
${EDGEID_EMULATOR:-} "$gen" --truth "$examples/sample.truth.tsv" --out "$tmp/tenant.json" \
  2>"$tmp/gen.log" || { cat "$tmp/gen.log" >&2; exit 1; }
if [ ! -f "$examples/tenant.json" ]; then
  echo "check_tenant: examples/tenant.json is missing (run with --regenerate)" >&2
  exit 1
elif cmp -s "$tmp/tenant.json" "$examples/tenant.json"; then
  echo "check_tenant: examples/tenant.json is reproducible"
else
  echo "check_tenant: examples/tenant.json differs from what the generator makes now:" >&2
  cmp "$tmp/tenant.json" "$examples/tenant.json" >&2 || true
  exit 1
fi
