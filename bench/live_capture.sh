#!/usr/bin/env bash
# Live capture test: replays a synthetic capture at top speed through a veth pair that joins two
# network namespaces this script creates, captures on the far end, and shows that the kernel
# dropped nothing and that every MAC of the truth table arrived.
#
#   bench/live_capture.sh EDGEID_BIN [options]
#
#   --pcap FILE --truth FILE  replay this capture (default: generate one into the work dir)
#   --packets N               replay at most N packets (default 300000; the generated capture has
#                             exactly N, so every MAC of its truth table is in the replay)
#   --macs N                  devices in the generated capture (default 5000)
#   --buffer-kib N            capture buffer, as tcpdump -B / pcap_set_buffer_size (default 32768;
#                             the agent's own default is 8192)
#   --workdir DIR             keep the capture files there (default: a temp dir, removed at exit)
#   --gen PATH, --floor PATH  edgeid-gen-capture / edgeid-bench-floor (default: EDGEID_BIN's build)
#
# Needs root, iproute2, tcpreplay and tcpdump. Bounded in packets (--packets) and time (every step
# runs under `timeout`). The namespaces "edgeid-live-<pid>-tx/-rx" hold both veth ends and have
# IPv6 disabled, so the kernel adds no frames of its own; nothing touches the host's namespace or
# interfaces, and both namespaces are deleted on exit (trap), whatever happens.
#
# Capture backends, chosen with CAPTURE=tcpdump|edgeid:
#   tcpdump  (default) the reference: tcpdump -w on the receiving end, kernel drops from its
#            pcap_stats summary; the captured file is checked frame by frame against the source,
#            and `EDGEID_BIN ingest` is run on it to show that every MAC is learned.
#   edgeid   the agent itself: `EDGEID_BIN run` with a generated config that captures on the
#            receiving interface (capture.buffer_mib from --buffer-kib, rounded up: the same
#            ring as tcpdump's) and a control socket in the work dir. After the replay the script asks the running
#            agent, through that socket, for its per-interface statistics (`status`: packets,
#            kernel and interface drops) and, after a `flush`, for its devices (`devices --json`);
#            then stops it with SIGTERM. Run as root, the agent drops to `nobody` after opening
#            the interface, as a deployed agent does.
set -euo pipefail

usage() { sed -n '2,32p' "$0" >&2; exit 2; }
say() { printf '[live_capture] %s\n' "$*" >&2; }
die() { printf '[live_capture] error: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
edgeid=$(realpath "$1")
shift
pcap="" truth="" packets=300000 macs=5000 buffer_kib=32768 workdir="" gen="" floor=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --pcap) pcap=$(realpath "$2") ;;
    --truth) truth=$(realpath "$2") ;;
    --packets) packets=$2 ;;
    --macs) macs=$2 ;;
    --buffer-kib) buffer_kib=$2 ;;
    --workdir) workdir=$2 ;;
    --gen) gen=$2 ;;
    --floor) floor=$2 ;;
    *) usage ;;
  esac
  shift 2
done
capture_mode=${CAPTURE:-tcpdump}
case "$capture_mode" in tcpdump|edgeid) ;; *) die "CAPTURE must be tcpdump or edgeid" ;; esac
if ! [[ "$packets" =~ ^[0-9]+$ ]] || [ "$packets" -lt 1000 ] || [ "$packets" -gt 5000000 ]; then
  die "--packets must be 1000..5000000"
fi
[ -n "$pcap" ] && [ -z "$truth" ] && die "--pcap needs --truth"

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
for tool in ip tcpreplay tcpdump timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup installs it)"
done
build_bench="$(dirname "$edgeid")/../bench"
gen=${gen:-$build_bench/edgeid-gen-capture}
floor=${floor:-$build_bench/edgeid-bench-floor}
[ -x "$floor" ] || die "edgeid-bench-floor not found at $floor (build it or pass --floor)"

# --- scratch space and cleanup ---------------------------------------------------------------
own_workdir=0
if [ -z "$workdir" ]; then
  workdir=$(mktemp -d /tmp/edgeid-live.XXXXXX)
  own_workdir=1
fi
mkdir -p "$workdir"
ns_tx="edgeid-live-$$-tx"
ns_rx="edgeid-live-$$-rx"
made_tx=0 made_rx=0 capture_pid="" step_pid="" control_sock=""
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
  local rc=$?
  [ -n "$step_pid" ] && kill -TERM "$step_pid" 2>/dev/null
  if [ -n "$capture_pid" ] && kill -0 "$capture_pid" 2>/dev/null; then
    kill -TERM "$capture_pid" 2>/dev/null || true
    sleep 0.5
    kill -KILL "$capture_pid" 2>/dev/null || true
  fi
  # Deleting a namespace destroys the veth end inside it, and with it the pair.
  [ "$made_tx" = 1 ] && ip netns delete "$ns_tx" 2>/dev/null
  [ "$made_rx" = 1 ] && ip netns delete "$ns_rx" 2>/dev/null
  [ "$own_workdir" = 1 ] && rm -rf "$workdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a long step in the background and waits for it, so that a signal to this script is acted
# on at once (bash runs traps only between foreground commands, but does interrupt `wait`).
step() {
  "$@" &
  step_pid=$!
  local rc=0
  wait "$step_pid" || rc=$?
  step_pid=""
  return "$rc"
}

# --- the traffic -----------------------------------------------------------------------------
whole_file=1
if [ -z "$pcap" ]; then
  [ -x "$gen" ] || die "edgeid-gen-capture not found at $gen (build it or pass --gen)"
  pcap="$workdir/live.pcap"
  truth="$workdir/live.truth.tsv"
  say "generating $packets packets, $macs MACs"
  step timeout 300 "$gen" --seed 11 --packets "$packets" --macs "$macs" --vlans 8 --routers 2 \
    --out "$pcap" --truth "$truth" 2>"$workdir/gen.log" || { cat "$workdir/gen.log" >&2; exit 1; }
else
  total=$("$floor" "$pcap" | sed -n 's/^packets=\([0-9]*\).*/\1/p')
  [ "$total" -le "$packets" ] || whole_file=0
fi
expected=$("$floor" "$pcap" --count "$packets" | sed -n 's/^packets=\([0-9]*\).*/\1/p')

# --- namespaces and the veth pair ------------------------------------------------------------
for ns in "$ns_tx" "$ns_rx"; do
  ip netns add "$ns"
  if [ "$ns" = "$ns_tx" ]; then made_tx=1; else made_rx=1; fi
  # No IPv6 (no DAD, RS or MLD from the kernel) and no addresses: the wire carries only the replay.
  ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6;
                              echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
done
ip -n "$ns_tx" link add veth-tx type veth peer name veth-rx netns "$ns_rx"
ip -n "$ns_tx" link set veth-tx up
ip -n "$ns_rx" link set veth-rx up
iface=veth-rx

# --- capture backends ------------------------------------------------------------------------
capture_file="$workdir/captured.pcap"
capture_out="$workdir/capture.stdout"
capture_err="$workdir/capture.stderr"

start_capture() {
  case "$capture_mode" in
    tcpdump)
      timeout 600 ip netns exec "$ns_rx" tcpdump -i "$iface" -n -s 0 -B "$buffer_kib" \
        -w "$capture_file" >"$capture_out" 2>"$capture_err" &
      capture_pid=$!
      local _
      for _ in $(seq 1 100); do
        grep -q 'listening on' "$capture_err" 2>/dev/null && return 0
        kill -0 "$capture_pid" 2>/dev/null || break
        sleep 0.1
      done
      cat "$capture_err" >&2
      die "tcpdump did not start"
      ;;
    edgeid)
      # The work dir must be traversable and the socket dir writable once the agent runs as
      # nobody; the data dir is made by the agent before it drops privileges.
      chmod 755 "$workdir"
      mkdir -p "$workdir/run"
      chown nobody "$workdir/run"
      control_sock="$workdir/run/control.sock"
      cat >"$workdir/edgeid.json" <<CONFIG
{"sensor_id": "live-bench", "user": "nobody",
 "capture": {"interfaces": ["$iface"], "buffer_mib": $(((buffer_kib + 1023) / 1024)),
             "max_devices": $((macs * 4 + 1000))},
 "store": {"data_dir": "$workdir/data", "flush_interval_s": 1},
 "control": {"socket": "$control_sock", "group": "root", "admin_group": "root"}}
CONFIG
      timeout 600 ip netns exec "$ns_rx" "$edgeid" run --config "$workdir/edgeid.json" \
        >"$capture_out" 2>"$capture_err" &
      capture_pid=$!
      local _
      for _ in $(seq 1 150); do
        if "$edgeid" status --json --socket "$control_sock" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["interfaces"] and all(i["open"] for i in s["interfaces"]) else 1)' \
            2>/dev/null; then
          return 0
        fi
        kill -0 "$capture_pid" 2>/dev/null || break
        sleep 0.2
      done
      cat "$capture_err" >&2
      die "edgeid did not open $iface"
      ;;
  esac
}

# edgeid: waits until the agent has taken every replayed frame (or 30 s), then saves its
# statistics and, after a flush, its devices, while it still runs.
collect_from_agent() {
  local _
  for _ in $(seq 1 150); do
    # A busy agent may not answer one poll: the next one retries; after 30 s the checks below
    # report what the last answer said.
    "$edgeid" status --json --socket "$control_sock" >"$workdir/status.json" 2>/dev/null || true
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if sum(i["packets"] for i in s["interfaces"]) >= int(sys.argv[2]) else 1)' \
      "$workdir/status.json" "$expected" 2>/dev/null && break
    sleep 0.2
  done
  "$edgeid" flush --socket "$control_sock" >/dev/null || die "edgeid flush failed"
  # Pages of the control socket's largest size until a short one.
  local offset=0 page=100000 got
  : >"$workdir/devices.ndjson"
  while :; do
    "$edgeid" devices --json --offset "$offset" --limit "$page" --socket "$control_sock" \
      >"$workdir/devices.page" || die "edgeid devices failed"
    cat "$workdir/devices.page" >>"$workdir/devices.ndjson"
    got=$(grep -c . "$workdir/devices.page" || true)  # grep -c exits 1 on an empty page
    [ "$got" -lt "$page" ] && break
    offset=$((offset + page))
  done
}

stop_capture() {
  sleep 1  # let the last frames drain out of the ring
  # SIGTERM, not SIGINT: background jobs of a non-interactive shell start with SIGINT ignored.
  kill -TERM "$capture_pid" 2>/dev/null || true
  local rc=0
  wait "$capture_pid" || rc=$?
  capture_pid=""
  # timeout(1) forwards the signal; 143 = ended by that SIGTERM without a handler.
  case "$rc" in 0|143) ;; *) cat "$capture_err" >&2; die "capture exited $rc" ;; esac
}

# Prints "captured dropped" from the backend's own statistics.
capture_stats() {
  case "$capture_mode" in
    tcpdump)
      local captured dropped
      captured=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$capture_err")
      dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$capture_err")
      echo "${captured:-?} ${dropped:-?}"
      ;;
    edgeid)
      # packets, then kernel (ps_drop) + interface (ps_ifdrop) drops, over the interfaces.
      python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
i = s["interfaces"]
print(sum(x["packets"] for x in i), sum(x["kernel_dropped"] + x["interface_dropped"] for x in i))
' "$workdir/status.json" 2>/dev/null || echo "? ?"
      ;;
  esac
}

# --- run -------------------------------------------------------------------------------------
say "namespaces $ns_tx -> $ns_rx, capture: $capture_mode on $iface (buffer ${buffer_kib} KiB)"
start_capture
say "replaying $expected packets of $(basename "$pcap") with tcpreplay --topspeed"
step timeout 300 ip netns exec "$ns_tx" tcpreplay --topspeed --intf1=veth-tx --limit="$packets" \
  "$pcap" >"$workdir/tcpreplay.out" 2>&1 \
  || { cat "$workdir/tcpreplay.out" >&2; die "tcpreplay failed"; }
[ "$capture_mode" = edgeid ] && collect_from_agent
stop_capture

sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$workdir/tcpreplay.out")
seconds=$(sed -n 's/^Actual: .* sent in \([0-9.]*\) seconds.*/\1/p' "$workdir/tcpreplay.out")
pps=$(sed -n 's/^Rated: .*, \([0-9.]*\) pps.*/\1/p' "$workdir/tcpreplay.out")
failed=$(sed -n 's/^[[:space:]]*Failed packets:[[:space:]]*\([0-9]*\).*/\1/p' \
  "$workdir/tcpreplay.out")
read -r captured dropped < <(capture_stats)
# (veth-rx's own rx_dropped counter is no capture loss: the kernel counts there every frame that no
# protocol took after the packet taps had it, i.e. all tagged, LLDP and CDP frames.)

status=0
check() {  # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then say "ok:   $what"; else say "FAIL: $what"; status=1; fi
}
say "sent $sent packets in ${seconds}s (${pps} pps), failed ${failed}; captured ${captured}," \
  "kernel drops ${dropped}"
check "tcpreplay sent all $expected packets" test "${sent:-0}" = "$expected" -a "${failed:-1}" = 0
check "0 kernel drops" test "$dropped" = 0

truth_macs="$workdir/truth.macs"
awk -F'\t' '!/^#/ && $1 != "mac" { print $1 }' "$truth" | sort >"$truth_macs"
l2_macs="$workdir/truth.l2.macs"  # the ones that appear as an Ethernet source
awk -F'\t' '!/^#/ && $1 != "mac" && $17 > 0 { print $1 }' "$truth" | sort >"$l2_macs"

"$floor" "$pcap" --macs --count "$packets" >"$workdir/source.macs"
learned="$workdir/learned.macs"
if [ "$capture_mode" = tcpdump ]; then
  check "captured packet count = sent ($captured)" test "$captured" = "$expected"
  src_digest=$("$floor" "$pcap" --digest --count "$packets")
  cap_digest=$("$floor" "$capture_file" --digest)
  check "captured frames are byte-identical to the replayed ones" test "$src_digest" = "$cap_digest"
  "$floor" "$capture_file" --macs >"$workdir/captured.macs"
  check "every Ethernet source MAC of the replay was captured ($(wc -l <"$workdir/source.macs"))" \
    cmp -s "$workdir/source.macs" "$workdir/captured.macs"
  if [ "$whole_file" = 1 ]; then
    missing=$(comm -23 "$l2_macs" "$workdir/captured.macs" | wc -l)
    n=$(wc -l <"$l2_macs")
    check "every truth MAC seen as a source is in the capture ($n, missing $missing)" \
      test "$missing" = 0
  fi
  # What edgeid learns from the live-captured file (its offline path on the live traffic).
  if "$edgeid" ingest --pcap "$capture_file" --json >"$workdir/ingest.ndjson" \
      2>"$workdir/ingest.err"; then
    sed -n 's/^{"mac":"\([0-9a-f:]*\)".*/\1/p' "$workdir/ingest.ndjson" | sort >"$learned"
    say "edgeid ingest of the captured file: $(tail -1 "$workdir/ingest.err")"
  else
    say "edgeid ingest is not usable yet ($(tail -1 "$workdir/ingest.err"));" \
      "MAC learning not checked"
    learned=""
  fi
else
  check "edgeid took every replayed packet ($captured of $expected)" test "$captured" = "$expected"
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        print(json.loads(line)["mac"])' "$workdir/devices.ndjson" | sort >"$learned"
  extra=$(comm -13 "$truth_macs" "$learned" | wc -l)
  check "edgeid learned no MAC that is not in the replay ($extra extra)" test "$extra" = 0
  say "edgeid: $(wc -l <"$learned") devices; the agent's log: $(tail -1 "$capture_err")"
fi

if [ -n "$learned" ]; then
  if [ "$whole_file" = 1 ]; then
    missing=$(comm -23 "$truth_macs" "$learned" | wc -l)
    n=$(wc -l <"$truth_macs")
    check "edgeid learned every truth MAC ($n incl. relayed DHCP clients, missing $missing)" \
      test "$missing" = 0
    [ "$missing" = 0 ] || comm -23 "$truth_macs" "$learned" | head -5 | sed 's/^/  missing: /' >&2
  else
    missing=$(comm -23 "$workdir/source.macs" "$learned" | wc -l)
    check "edgeid learned every source MAC of the replay (missing $missing)" test "$missing" = 0
  fi
fi

if [ "$status" = 0 ]; then say "PASS"; else say "FAILED"; fi
exit "$status"
