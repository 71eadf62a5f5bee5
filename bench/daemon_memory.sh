#!/usr/bin/env bash
# Resident memory of the running agent holding IDENTITIES identities and MACS observed MACs
# (issue target: 100 k identities + 50 k MACs in at most 64 MiB), against a baseline measured
# in the same run: the same binary, same config shape, with no identity and no capture.
#
#   bench/daemon_memory.sh BUILD_DIR [IDENTITIES [MACS]]
#
# Builds the inputs with the project's generators (edgeid-gen-capture; the tenant with a small
# Python generator below: every second Intune device has the Wi-Fi MAC of a captured device,
# half of them have an Entra record), runs `edgeid run` with the identity file source, waits
# until everything is merged and flushed, and reads VmRSS and VmHWM from /proc.
set -euo pipefail
build=$(cd "$1" && pwd)
identities=${2:-100000}
macs=${3:-50000}
edgeid=$build/agent/edgeid
gen=$build/bench/edgeid-gen-capture
work=$(mktemp -d "${TMPDIR:-/tmp}/edgeid-mem.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$gen" --out "$work/capture.pcap" --macs "$macs" --packets $((macs * 12)) --seed 11 >/dev/null
python3 - "$work/capture.truth.tsv" "$work/tenant.json" "$identities" <<'EOF'
import json, sys
truth, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
macs = [l.split("\t")[0] for l in open(truth) if l[0] not in "#m"]
intune, entra = [], []
for i in range(n):
    mac = macs[i // 2] if i % 2 == 0 and i // 2 < len(macs) else "02%010x" % i
    gid = "%08x-1111-4000-8000-%012x" % (i, i)
    did = "%08x-2222-4000-8000-%012x" % (i, i)
    intune.append({"id": gid, "deviceName": "PC-%06d" % i, "operatingSystem": "Windows",
                   "osVersion": "10.0.22631.%d" % (i % 5000),
                   "deviceEnrollmentType": "windowsAzureADJoin",
                   "userPrincipalName": "user%06d@contoso.example" % i,
                   "emailAddress": "user%06d@contoso.example" % i, "model": "Latitude 7440",
                   "manufacturer": "Dell Inc.", "serialNumber": "SN%08d" % i,
                   "complianceState": "compliant" if i % 7 else "noncompliant",
                   "managementAgent": "mdm", "managedDeviceOwnerType": "company",
                   "wiFiMacAddress": mac, "ethernetMacAddress": None,
                   "azureADDeviceId": did if i % 2 == 0 else None,
                   "lastSyncDateTime": "2026-11-20T10:00:00Z"})
    if i % 2 == 0:
        entra.append({"id": "%08x-3333-4000-8000-%012x" % (i, i), "deviceId": did,
                      "displayName": "PC-%06d" % i, "operatingSystem": "Windows",
                      "operatingSystemVersion": "10.0.22631", "trustType": "AzureAd",
                      "accountEnabled": True})
json.dump([{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
            "value": intune},
           {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#devices", "value": entra}],
          open(out, "w"))
EOF

user=$(id -un)
[ "$(id -u)" = 0 ] && user=nobody
chmod 755 "$work"

# measure NAME IDENTITY_SOURCE CAPTURE_FILES_JSON -> prints "rss_kib hwm_kib records"
measure() {
  local name=$1 source=$2 files=$3 dir=$work/$1
  mkdir -p "$dir/run"
  [ "$(id -u)" = 0 ] && chown nobody "$dir/run"
  cat >"$dir/config.json" <<EOF
{"sensor_id": "mem", "user": "$user",
 "capture": {"pcap_files": $files, "max_devices": $((macs * 2))},
 "store": {"data_dir": "$dir/data", "flush_interval_s": 1, "activity_interval_s": 1},
 "identity": {"source": "$source", "file": {"path": "$work/tenant.json"}},
 "control": {"socket": "$dir/run/control.sock", "group": "$(id -gn)", "admin_group": "$(id -gn)"}}
EOF
  "$edgeid" run --config "$dir/config.json" >"$dir/log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local want_ids=0 want_macs=0
  [ "$source" = file ] && want_ids=$identities
  [ "$files" != "[]" ] && want_macs=$macs
  local deadline=$((SECONDS + 600)) st=""
  while [ $SECONDS -lt $deadline ]; do
    sleep 1
    st=$("$edgeid" status --json --socket "$dir/run/control.sock" 2>/dev/null) || continue
    if python3 -c '
import json, sys
s = json.loads(sys.argv[1]); ids, macs = int(sys.argv[2]), int(sys.argv[3])
d = s["devices"]
ok = s["sync"]["identities"] >= ids and s["capture"]["files_read"] == s["capture"]["files"] \
     and d["pending"] == 0 and d["managed"] + d["unmanaged"] >= macs * 0.99
sys.exit(0 if ok else 1)' "$st" "$want_ids" "$want_macs"; then
      break
    fi
  done
  sleep 2  # one more flush, then the steady state
  local rss hwm reload_rss=0
  grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem)' "/proc/$pid/status" | tr -s ' \t' ' ' >&2
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  if [ "$source" = file ]; then
    # A long-running agent reloads its identities again and again: two reloads of the same
    # file (a full round each), then the resident size again.
    local i before after
    for i in 1 2; do
      before=$("$edgeid" status --json --socket "$dir/run/control.sock" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["sync"]["file"].get("last_success",""))')
      touch "$work/tenant.json"
      "$edgeid" sync --socket "$dir/run/control.sock" >/dev/null
      for _ in $(seq 1 120); do
        after=$("$edgeid" status --json --socket "$dir/run/control.sock" |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["sync"]["file"].get("last_success",""))')
        [ "$after" != "$before" ] && break
        sleep 1
      done
      sleep 2
    done
    reload_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  fi
  kill -TERM "$pid"
  wait "$pid" || true
  local records file_bytes outbox
  records=$(echo "$st" | python3 -c 'import json,sys; d=json.load(sys.stdin)["devices"]; print(d["managed"]+d["unmanaged"]+d["identity_only"])')
  # The store as the agent left it: data file and unsent outbox (no upstream is configured).
  file_bytes=$(stat -c %s "$dir/data/data.mdb")
  outbox=$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outbox"]["items"])')
  echo "$rss $hwm $records $file_bytes $outbox $reload_rss"
}

read -r base_rss base_hwm _ < <(measure baseline none '[]')
read -r cap_rss _ _ < <(measure capture-only none "[\"$work/capture.pcap\"]")
read -r ids_rss _ _ < <(measure identities-only file '[]')
read -r rss hwm records file_bytes outbox reload_rss < <(measure loaded file "[\"$work/capture.pcap\"]")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "daemon memory: $identities identities, $macs MACs captured, $records inventory records"
echo "  baseline (no identity, no capture): RSS $(mib "$base_rss") MiB, peak $(mib "$base_hwm") MiB"
echo "  capture only ($macs MACs):          RSS $(mib "$cap_rss") MiB"
echo "  identities only ($identities):       RSS $(mib "$ids_rss") MiB"
echo "  loaded:                             RSS $(mib "$rss") MiB, peak $(mib "$hwm") MiB"
echo "  loaded, after 2 identity reloads:   RSS $(mib "$reload_rss") MiB"
echo "  store: data.mdb $(mib $((file_bytes / 1024))) MiB holding $records records and $outbox unsent outbox items"
echo "  loaded / baseline RSS: $(awk -v a="$rss" -v b="$base_rss" 'BEGIN { printf "%.1fx", a / b }')"
if [ "$identities" = 100000 ] && [ "$macs" = 50000 ]; then
  echo "  target: RSS <= 64 MiB -> $(awk -v k="$rss" 'BEGIN { print (k <= 65536 ? "met" : "NOT met") }')"
fi
