#!/usr/bin/env bash
# Checks that examples/sample.pcap and examples/sample.truth.tsv are exactly what the generator
# makes from the command documented in examples/README.md.
#
#   bench/check_sample.sh GENERATOR               regenerate into a temp dir and cmp (exit 1 if not)
#   bench/check_sample.sh --regenerate GENERATOR  rewrite the files in examples/ (after a deliberate
#                                                 generator change; commit them with it)
#
# GENERATOR is the edgeid-gen-capture binary, e.g. build/bench/edgeid-gen-capture. When
# EDGEID_EMULATOR is set (cross builds, set by ctest), it is run through that emulator.
set -euo pipefail

# The one place the sample's arguments live; examples/README.md must quote them verbatim.
SAMPLE_ARGS="--seed 5 --packets 400 --macs 16 --vlans 3 --routers 1 --switches 1 --randomized-pct 7"

regenerate=0
if [ "${1:-}" = "--regenerate" ]; then
  regenerate=1
  shift
fi
if [ $# -ne 1 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
gen=$1
[ -x "$gen" ] || { echo "check_sample: generator '$gen' is not an executable" >&2; exit 2; }

examples="$(cd "$(dirname "$0")/../examples" && pwd)"
grep -qF -- "$SAMPLE_ARGS" "$examples/README.md" || {
  echo "check_sample: examples/README.md does not quote the sample arguments: $SAMPLE_ARGS" >&2
  exit 1
}

if [ "$regenerate" = 1 ]; then
  # shellcheck disable=SC2086 # the emulator and the arguments are word lists on purpose
  ${EDGEID_EMULATOR:-} "$gen" $SAMPLE_ARGS \
    --out "$examples/sample.pcap" --truth "$examples/sample.truth.tsv"
  echo "check_sample: rewrote $examples/sample.pcap and sample.truth.tsv"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
${EDGEID_EMULATOR:-} "$gen" $SAMPLE_ARGS --out "$tmp/sample.pcap" --truth "$tmp/sample.truth.tsv" \
  2>"$tmp/gen.log" || { cat "$tmp/gen.log" >&2; exit 1; }

status=0
for f in sample.pcap sample.truth.tsv; do
  if [ ! -f "$examples/$f" ]; then
    echo "check_sample: examples/$f is missing (run with --regenerate)" >&2
    status=1
  elif cmp -s "$tmp/$f" "$examples/$f"; then
    echo "check_sample: examples/$f is reproducible"
  else
    echo "check_sample: examples/$f differs from what the generator makes now:" >&2
    cmp "$tmp/$f" "$examples/$f" >&2 || true
    status=1
  fi
done
exit $status
