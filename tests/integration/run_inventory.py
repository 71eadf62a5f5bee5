#!/usr/bin/env python3
"""End to end: the real `edgeid run --once` on examples/sample.pcap + examples/tenant.json (through
examples/demo.json) into a temporary data directory, then `edgeid inventory --json`, asserting the
merged inventory: every correlation category of the demo with its match and state, versions that
do not move on a second identical run, and the exit codes of bad configurations.

usage: run_inventory.py EDGEID
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "examples")


def edgeid(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        config = os.path.join(EXAMPLES, "demo.json")
        r = edgeid(binary, "run", "--once", "--config", config, "--data-dir", data)
        check(r.returncode == 0, "run --once exit 0: " + r.stderr)
        r = edgeid(binary, "inventory", "--data-dir", data, "--json")
        check(r.returncode == 0, "inventory exit 0: " + r.stderr)
        records = [json.loads(line) for line in r.stdout.splitlines()]
        by_mac = {rec["mac"]: rec for rec in records if rec["state"] != "identity_only"}
        check(len(by_mac) == 16, "16 MACs from the capture, got %d" % len(by_mac))
        macs = [rec["mac"] for rec in records if rec["state"] != "identity_only"]
        check(macs == sorted(macs), "MAC records sorted by MAC")
        check(all(rec["state"] == "identity_only" for rec in records[16:]),
              "identity_only records after the MACs")
        ids = [rec["identity"]["intune_id"] for rec in records[16:]]
        check(ids == sorted(ids), "identity_only records sorted by Intune id")

        def expect(mac, by, confidence, name, **identity):
            rec = by_mac[mac]
            check(rec["state"] == "managed", mac + " managed")
            check(rec["match"]["by"] == by and rec["match"]["confidence"] == confidence,
                  "%s matched by %s/%s: %s" % (mac, by, confidence, rec["match"]))
            check(rec["identity"]["device_name"] == name, mac + " is " + name)
            for k, v in identity.items():
                check(rec["identity"].get(k) == v, "%s identity.%s == %s" % (mac, k, v))
            check(rec["sensor_id"] == "demo-branch-fw1" and rec["version"] == 1, mac + " meta")
            return rec

        expect("3c:22:fb:38:1d:22", "wifi_mac", 1.0, "iPhone-22", os_group="iOS")
        expect("60:8b:0e:aa:7e:64", "wifi_mac", 1.0, "iPad-7e64", os_group="iPadOS")
        expect("5c:17:cf:4a:43:e5", "wifi_mac", 1.0, "Android-e5",
               compliance_state="noncompliant", os_group="Android")
        expect("90:61:ae:a3:39:d1", "ethernet_mac", 1.0, "LAPTOP-887BMZYA",
               ethernet_mac="90:61:ae:a3:39:d1", trust_type="AzureAd")
        dup = expect("04:92:26:cd:0e:18", "wifi_mac", 1.0, "DESKTOP-Y32ELF3",
                     last_sync="2026-11-23T18:00:00Z")
        check(len(dup["match"].get("conflicts", [])) == 1, "re-enrolment listed as a conflict")
        rnd = expect("de:d9:20:f8:c3:56", "hostname", 0.6, "Umars-MacBook-Air", os_group="macOS")
        check(rnd["randomized"] is True, "the randomized MAC says so")
        ent = expect("e4:5f:01:4f:0e:2d", "hostname", 0.6, "ubuntu-f9b0", trust_type="Workplace")
        check("intune_id" not in ent["identity"], "Entra-only: no Intune id")
        for mac in ("00:0b:86:c3:cf:28", "08:5b:0e:ea:af:ab", "9c:7b:ef:2d:05:30",
                    "10:e7:c6:83:93:75", "24:6f:28:ea:8b:6c"):
            check(by_mac[mac]["state"] == "unmanaged" and "match" not in by_mac[mac]
                  and "identity" not in by_mac[mac], mac + " unmanaged")
        only = records[16:]
        check(len(only) == 3, "3 identity_only records")
        names = sorted(rec["identity"]["device_name"] for rec in only)
        check(names == ["Android-Pixel8", "Kims-iPad", "LAPTOP-HOME7Q2"], str(names))
        check(sum(1 for rec in only if "mac" not in rec) == 1, "one identity_only without a MAC")

        # Again: same input, nothing changes (no version bump, nothing queued).
        r = edgeid(binary, "run", "--once", "--config", config, "--data-dir", data)
        check(r.returncode == 0 and " changed=0 outbox=0 " in r.stderr, "rerun: " + r.stderr)
        r2 = edgeid(binary, "inventory", "--data-dir", data, "--json")
        check([json.loads(x) for x in r2.stdout.splitlines()] == records,
              "the inventory is unchanged")

        # The table form has every column.
        r = edgeid(binary, "inventory", "--data-dir", data)
        check(r.returncode == 0 and r.stdout.split("\n")[0].split() ==
              ["MAC", "STATE", "MATCH", "VENDOR", "VLANS", "IPV4", "HOSTNAME", "DEVICE/UPN", "OS",
               "COMPLIANCE"], "table header: " + r.stdout[:200])

        # Configuration errors: exit 2, one line naming the path.
        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"identity": {"source": "file", "file": {"path": 5}}}')
        for cmd in (["run", "--once", "--config", bad], ["config", "check", bad]):
            r = edgeid(binary, *cmd)
            check(r.returncode == 2, " ".join(cmd) + " exit 2")
            check("identity.file.path: expected a string, got an integer" in r.stderr,
                  "message names the path: " + r.stderr)
        r = edgeid(binary, "config", "check", config)
        check(r.returncode == 0, "config check demo.json: " + r.stderr)
        # Runtime errors: exit 1 (a missing capture file).
        missing = os.path.join(tmp, "missing.json")
        with open(missing, "w") as f:
            f.write('{"capture": {"pcap_files": ["nope.pcap"]}}')
        r = edgeid(binary, "run", "--once", "--config", missing, "--data-dir", data)
        check(r.returncode == 1 and r.stderr.count("\n") == 1, "missing pcap: " + r.stderr)
        r = edgeid(binary, "inventory", "--data-dir", os.path.join(tmp, "absent"))
        check(r.returncode == 1, "inventory of a missing data dir exits 1")
    print("run_inventory: ok")


if __name__ == "__main__":
    main()
