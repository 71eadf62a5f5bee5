#!/usr/bin/env bash
# Push throughput and wire size of the ClickHouse sink over loopback, against a private
# clickhouse-server (Debian's 18.16, started by tests/integration/clickhouse_server.py on free
# ports under a scratch directory; exit 77 when it is not installed).
#
#   bench/upstream_clickhouse.sh BUILD_DIR [MACS]          (MACS default 50000)
#
# Workload: edgeid-gen-capture --macs MACS --packets MACS*12 --seed 7, identities from
# examples/tenant.json. Upstream config: max_batch_records 5000, max_batch_bytes 16 MiB (so the
# record cap, not the byte cap, makes the batches), timeout_s 30. Every run has a fresh data
# dir and its own sensor id, into one pair of tables made by `edgeid upstream clickhouse-ddl`.
#
# What the figures mean:
#   items          outbox items ClickHouse accepted: one per record version (a row of `devices`)
#                  plus one per event (a row of `events`); from `edgeid run --once`'s stderr line
#                  "upstream=clickhouse delivered=N batches=B ...". A batch is one INSERT per table.
#   baseline       wall time of `edgeid run --once` with upstream.sink none: read the capture,
#                  merge, write the store (outbox included).
#   with sink      the same run, same input, fresh data dir, upstream.sink clickhouse: the above
#                  plus pushing the whole outbox (run --once exits 0 only if everything went).
#   push time      with sink - baseline; items/s = items / push time (one run each, not a mean:
#                  on a busy machine run it twice).
#   bytes/item     HTTP request body bytes (the JSONEachRow lines ClickHouse receives; no HTTP
#                  headers, ~0.3 KB per request) / items. `run --once` does not report bytes, so a
#                  third run - the daemon on the same input, fresh data dir - is read when its
#                  outbox is empty: edgeid_upstream_delivered_bytes_total /
#                  edgeid_upstream_delivered_items_total from `edgeid metrics`. The daemon merges
#                  while it reads (a flush every second), so it delivers more record versions
#                  than --once (~15% more here); only the ratio is taken from it.
#   rows           count() of this sensor's rows in devices and events (no FINAL), for reference.
set -euo pipefail
echo "command: $0 $*"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [MACS]" >&2; exit 2; }
build=$(cd "$1" && pwd)
macs=${2:-50000}
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
              "max_batch_records": 5000, "max_batch_bytes": 16777216},
 "control": {${control}"socket": "$work/$name/run/control.sock"}}
EOF
}

# 1. Baseline: ingest + merge + store, no push.
config base none
t0=$(now)
"$edgeid" run --once --config "$work/base.json" 2>"$work/base.err"
t1=$(now)
base=$(calc "$t1 - $t0")
echo "baseline run --once (sink none): $(printf '%.2f' "$base") s; $(grep -o 'devices=[0-9]* .*outbox=[0-9]*' "$work/base.err")"

# 2. The same with the ClickHouse sink.
config once clickhouse
t0=$(now)
"$edgeid" run --once --config "$work/once.json" 2>"$work/once.err" || { cat "$work/once.err" >&2; exit 1; }
t1=$(now)
with=$(calc "$t1 - $t0")
line=$(grep 'upstream=clickhouse' "$work/once.err")
items=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' <<<"$line")
batches=$(sed -n 's/.*batches=\([0-9]*\).*/\1/p' <<<"$line")
left=$(sed -n 's/.*left=\([0-9]*\).*/\1/p' <<<"$line")
echo "with sink run --once (clickhouse): $(printf '%.2f' "$with") s; $line"
[ "$left" = 0 ] || { echo "the outbox was not emptied" >&2; exit 1; }

# 3. The daemon on the same input, for the bytes on the wire.
config daemon clickhouse
"$edgeid" run --config "$work/daemon.json" 2>"$work/daemon.err" &
agent_pid=$!
sock=$work/daemon/run/control.sock
st() { "$edgeid" status --socket "$sock" --json 2>/dev/null || true; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null || echo ""; }
deadline=$((SECONDS + 300))
until [ "$(st | field 'd["capture"]["files_read"]')" = 1 ]; do
  [ $SECONDS -lt $deadline ] || { echo "daemon: capture not read" >&2; exit 1; }
  sleep 0.5
done
"$edgeid" flush --socket "$sock" >/dev/null
until [ "$(st | field 'd["outbox"]["items"] == 0 and d["devices"]["pending"] == 0 and d["upstream"]["state"] == "idle"')" = True ]; do
  [ $SECONDS -lt $deadline ] || { echo "daemon: outbox not drained" >&2; exit 1; }
  sleep 0.5
done
metrics=$("$edgeid" metrics --socket "$sock")
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
d_bytes=$(awk '$1 == "edgeid_upstream_delivered_bytes_total" {print $2}' <<<"$metrics")
d_items=$(awk '$1 == "edgeid_upstream_delivered_items_total" {print $2}' <<<"$metrics")

push=$(calc "$with - $base")
dev_rows=$(q "SELECT count() FROM edgeid.devices WHERE sensor_id = 'bench-once'" | tr -d '\n')
ev_rows=$(q "SELECT count() FROM edgeid.events WHERE sensor_id = 'bench-once'" | tr -d '\n')
echo "--- summary (max_batch_records 5000, loopback, one run each) ---"
echo "items delivered by run --once: $items in $batches batches (rows: devices $dev_rows, events $ev_rows)"
echo "baseline (sink none): $(printf '%.2f' "$base") s"
echo "with clickhouse sink: $(printf '%.2f' "$with") s"
echo "push time: $(printf '%.2f' "$push") s"
echo "items per second into ClickHouse: $(calc "round($items / $push)" 2>/dev/null || echo n/a)"
echo "bytes per item on the wire (request bodies, daemon run): $(calc "round($d_bytes / $d_items, 1)") ($d_bytes bytes / $d_items items)"
