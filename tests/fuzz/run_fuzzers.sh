#!/bin/sh
# Runs every libFuzzer target for its share of a bounded time and fails on any crash.
#   tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS_TOTAL
# BUILD_DIR was configured with CXX=clang++ -DEDGEID_FUZZ=ON and built. Seeds are extracted at run
# time from $EDGEID_SHARED_DIR/pcaps (default: ../shared next to the source tree) plus the
# checked-in regression inputs. Crash artifacts land in BUILD_DIR/fuzz-artifacts/<target>/: turn
# each into a file under tests/data/fuzz-regressions/<target>/ (the unit tests replay them).
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS_TOTAL" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
total=$2
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
shared=${EDGEID_SHARED_DIR:-$source_dir/../shared}
targets="fuzz_frame_ethernet fuzz_frame_sll fuzz_frame_sll2 fuzz_dhcpv4 fuzz_dhcpv6 fuzz_mdns fuzz_nbns fuzz_lldp fuzz_cdp"

count=0
for t in $targets; do
  if [ ! -x "$build/tests/fuzz/$t" ]; then
    echo "$t not built in $build (configure with -DEDGEID_FUZZ=ON and CXX=clang++)" >&2
    exit 2
  fi
  count=$((count + 1))
done
share=$((total / count))
[ "$share" -ge 1 ] || share=1

work=$(mktemp -d "${TMPDIR:-/tmp}/edgeid-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
if [ -d "$shared/pcaps" ]; then
  "$build/tests/fuzz/extract_corpus" "$work/seeds" "$shared"/pcaps/*.pcap* "$shared"/pcaps/*.cap
else
  echo "note: $shared/pcaps not found; fuzzing from the regression inputs only" >&2
fi

failed=0
for t in $targets; do
  case $t in
    fuzz_frame_*) seeds=frame_${t#fuzz_frame_} ;;
    *) seeds=${t#fuzz_} ;;
  esac
  corpus=$work/corpus/$t
  mkdir -p "$corpus" "$build/fuzz-artifacts/$t"
  [ -d "$work/seeds/$seeds" ] && cp "$work/seeds/$seeds"/* "$corpus"/ 2>/dev/null || true
  [ -d "$source_dir/tests/data/fuzz-regressions/$t" ] &&
    cp "$source_dir/tests/data/fuzz-regressions/$t"/* "$corpus"/ 2>/dev/null || true
  echo "== $t: ${share}s, $(ls "$corpus" | wc -l) seeds"
  if ! "$build/tests/fuzz/$t" -max_total_time="$share" -timeout=10 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t/" "$corpus" \
      > "$work/$t.log" 2>&1; then
    echo "FAIL $t (artifacts in $build/fuzz-artifacts/$t/)"
    tail -n 40 "$work/$t.log"
    failed=1
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$t.log" || true
  fi
done
exit $failed
