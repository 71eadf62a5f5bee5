#!/usr/bin/env bash
# Push throughput and wire size of the ClickHouse sink over loopback, against a private
# clickhouse-server (Debian's 18.16, started by tests/integration/clickhouse_server.py on free
# ports under a scratch directory; exit 77 when it is not installed).
#
#   [BATCH=N] bench/upstream_clickhouse.sh BUILD_DIR [MACS [ROUNDS]]   (MACS 50000, ROUNDS 3,
#                                                                     BATCH 5000 records)
#
# Workload: edgeid-gen-capture --macs MACS --packets MACS*12 --seed 7, identities from
# examples/tenant.json; one `edgeid run --once` with no sink fills an outbox (one item per record
# version plus one per event). Upstream config: max_batch_records BATCH, max_batch_bytes 64 MiB
# (the record cap makes the batches), timeout_s 30.
#
# Every round, interleaved, on fresh copies of that store (same input, so the merge finds nothing
# new and the only difference between the first two is the push):
#   none      `edgeid run --once`, upstream.sink none: read capture and tenant, merge, no push.
#   edgeid    the same with upstream.sink clickhouse: the above plus the whole outbox pushed.
#   floor     the request bodies edgeid sends (recorded once from a run against a local HTTP
#             recorder), posted by a minimal Python keep-alive client to the same ClickHouse:
#             what the server itself needs for these rows.
# push = edgeid - none; items/s = items / push; push/floor = 1.0 means edgeid adds nothing to the
# server's own time; push CPU = edgeid's user+sys with the push minus without (GNU time): the
# sender's own cost, which bounds the rate when ClickHouse has its own machine. Medians over the
# rounds. Bytes per item = request body bytes / items (no
# HTTP headers, ~0.3 KB per request).
set -euo pipefail
echo "command: $0 $*"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [MACS [ROUNDS]]" >&2; exit 2; }
build=$(cd "$1" && pwd)
macs=${2:-50000}
batch=${BATCH:-5000}
root=$(cd "$(dirname "$0")/.." && pwd)
edgeid=$build/agent/edgeid
gen=$build/bench/edgeid-gen-capture
server=$root/tests/integration/clickhouse_server.py
work=$(mktemp -d "${TMPDIR:-/tmp}/edgeid-chbench.XXXXXX")
chmod 755 "$work"  # the daemon's service user reads the capture
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  python3 "$server" stop "$work" || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

set +e
started=$(python3 "$server" start "$work")
rc=$?
set -e
[ $rc -eq 77 ] && { echo "$started"; exit 77; }
[ $rc -eq 0 ] || { echo "clickhouse-server did not start" >&2; exit 1; }
read -r url user password _ <<<"$started"
printf '%s\n' "$password" >"$work/password"
chmod 600 "$work/password"
q() {  # q SQL: one query over HTTP with Basic auth
  python3 - "$url" "$user" "$password" "$1" <<'EOF'
import base64, sys, urllib.request
url, user, password, sql = sys.argv[1:]
auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
req = urllib.request.Request(url, data=sql.encode(), headers={"Authorization": "Basic " + auth})
sys.stdout.write(urllib.request.urlopen(req, timeout=120).read().decode())
EOF
}
"$edgeid" upstream clickhouse-ddl | python3 -c '
import sys
for s in sys.stdin.read().split(";"):
    if s.strip(): print(s.strip().replace("\n", " "))' | while IFS= read -r stmt; do q "$stmt" >/dev/null; done
echo "clickhouse: $(q 'SELECT version()' | tr -d '\n') at $url"

"$gen" --out "$work/capture.pcap" --macs "$macs" --packets $((macs * 12)) --seed 7 2>&1 >/dev/null |
  sed "s|$work/||g"

if [ "$(id -u)" -eq 0 ]; then svc_user=nobody; control='"group": "nogroup", "admin_group": "root", '
else svc_user=$(id -un); control="\"group\": \"$(id -gn)\", \"admin_group\": \"$(id -gn)\", "; fi
config() {  # config NAME SINK: writes $work/NAME.json
  local name=$1 sink=$2
  mkdir -p "$work/$name/run"
  [ "$(id -u)" -eq 0 ] && chown nobody "$work/$name/run"
  cat >"$work/$name.json" <<EOF
{"sensor_id": "bench-$name", "user": "$svc_user",
 "capture": {"pcap_files": ["$work/capture.pcap"]},
 "store": {"data_dir": "$work/$name/data", "flush_interval_s": 1},
 "identity": {"source": "file", "file": {"path": "$root/examples/tenant.json"}},
 "upstream": {"sink": "$sink", "url": "$url", "user": "$user", "password_file": "$work/password",
              "database": "edgeid", "timeout_s": 30, "backoff_max_s": 2,
              "max_batch_records": $batch, "max_batch_bytes": 67108864},
 "control": {${control}"socket": "$work/$name/run/control.sock"}}
EOF
}

rounds=${3:-3}
# The filled store every round starts from.
config fill none
"$edgeid" run --once --config "$work/fill.json" 2>"$work/fill.err"
echo "filled: $(grep -o 'devices=[0-9]* .*outbox=[0-9]*' "$work/fill.err")"

# The request bodies, recorded once: a local HTTP recorder in place of ClickHouse.
mkdir -p "$work/bodies"
cat >"$work/recorder.py" <<'PY'
import http.server, os, sys
out = sys.argv[1]
n = [0]
class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n[0] += 1
        with open(os.path.join(out, "%05d.body" % n[0]), "wb") as f:
            f.write(body)
        with open(os.path.join(out, "%05d.target" % n[0]), "w") as f:
            f.write(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/recorder.py" "$work/bodies" >"$work/recorder.port" &
agent_pid=$!
for _ in $(seq 50); do [ -s "$work/recorder.port" ] && break; sleep 0.1; done
config record clickhouse
sed -i "s|\"url\": \"$url\"|\"url\": \"http://127.0.0.1:$(cat "$work/recorder.port")/\"|" "$work/record.json"
rm -rf "$work/record/data" && cp -a "$work/fill/data" "$work/record/data"
"$edgeid" run --once --config "$work/record.json" 2>"$work/record.err" \
  || { cat "$work/record.err" >&2; exit 1; }
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
line=$(grep 'upstream=clickhouse' "$work/record.err")
items=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' <<<"$line")
batches=$(sed -n 's/.*batches=\([0-9]*\).*/\1/p' <<<"$line")
body_bytes=$(cat "$work"/bodies/*.body | wc -c)
requests=$(ls "$work"/bodies/*.body | wc -l)
echo "recorded: $items items in $batches batches, $requests requests, $body_bytes body bytes"

cat >"$work/floor.py" <<'PY'
import base64, glob, http.client, sys, time, urllib.parse
url, user, password, bodies = sys.argv[1:]
u = urllib.parse.urlsplit(url)
auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
start = time.monotonic()
for body in sorted(glob.glob(bodies + "/*.body")):
    target = open(body[:-5] + ".target").read()
    conn.request("POST", target, body=open(body, "rb").read(),
                 headers={"Authorization": auth, "Content-Type": "application/x-ndjson"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("floor: HTTP %d" % r.status)
print("%.4f" % (time.monotonic() - start))
PY
timed_once() {  # timed_once NAME: run --once on a fresh copy of the filled store
  # prints "wall cpu" seconds (cpu = user + sys of edgeid alone, from GNU time)
  local name=$1 t0 t1 cpu
  rm -rf "$work/$name/data" && cp -a "$work/fill/data" "$work/$name/data"
  t0=$(now)
  /usr/bin/time -o "$work/$name.time" -f '%U %S' \
    "$edgeid" run --once --config "$work/$name.json" 2>"$work/$name.err" \
    || { cat "$work/$name.err" >&2; exit 1; }
  t1=$(now)
  cpu=$(awk '{print $1 + $2}' "$work/$name.time")
  echo "$(calc "round($t1 - $t0, 4)") $cpu"
}
config none none
config push clickhouse
nones=(); pushes=(); floors=(); none_cpus=(); push_cpus=()
for r in $(seq "$rounds"); do
  # Rotate the order so that no job always runs on a warmer (or busier) machine.
  case $((r % 3)) in
    1) order="none push floor" ;; 2) order="push floor none" ;; *) order="floor none push" ;;
  esac
  for job in $order; do
    case $job in
      none) read -r w c < <(timed_once none); nones+=("$w"); none_cpus+=("$c") ;;
      push) read -r w c < <(timed_once push); pushes+=("$w"); push_cpus+=("$c")
            grep -q " left=0" "$work/push.err" || { echo "push left items" >&2; exit 1; } ;;
      floor) floors+=("$(python3 "$work/floor.py" "$url" "$user" "$password" "$work/bodies")") ;;
    esac
  done
  echo "round $r: none ${nones[-1]} s, edgeid ${pushes[-1]} s, floor ${floors[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
none=$(median "${nones[@]}")
with=$(median "${pushes[@]}")
floor=$(median "${floors[@]}")
push=$(calc "$with - $none")
push_cpu=$(calc "$(median "${push_cpus[@]}") - $(median "${none_cpus[@]}")")
echo "--- summary (max_batch_records $batch, loopback, medians of $rounds rounds) ---"
echo "items: $items in $batches batches ($requests INSERTs)"
echo "run --once without push: $none s; with push: $with s; push: $(printf '%.3f' "$push") s"
echo "floor (the same bodies from a Python keep-alive client): $floor s"
echo "items per second, edgeid: $(calc "round($items / $push)"); floor: $(calc "round($items / $floor)")"
echo "push / floor: $(calc "round($push / $floor, 2)")"
echo "edgeid CPU for the push: $(printf '%.3f' "$push_cpu") s = $(calc "round($items / max($push_cpu, 0.001))") items per CPU-second (the sender's own cost; on this 2-core machine ClickHouse competes for the same cores)"
echo "bytes per item on the wire (request bodies): $(calc "round($body_bytes / $items, 1)")"
