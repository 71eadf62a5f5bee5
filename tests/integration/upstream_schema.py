#!/usr/bin/env python3
"""The upstream wire format against its published JSON Schema (docs/upstream.schema.json).

`edgeid run --once` on the shipped sample capture and tenant pushes to the fake collector over
TLS with a bearer token; every NDJSON line it accepted must validate against the schema, the
records must be exactly the inventory (latest version per record), the events must include the
kinds the sample provokes, and `edgeid inventory --json` must validate as records too.

usage: upstream_schema.py EDGEID FAKE_COLLECTOR
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCHEMA = os.path.join(ROOT, "docs", "upstream.schema.json")


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def main():
    if len(sys.argv) != 3:
        fail("usage: upstream_schema.py EDGEID FAKE_COLLECTOR")
    edgeid, fake = sys.argv[1], sys.argv[2]
    try:
        import jsonschema
    except ImportError:
        # scripts/setup installs Debian's python3-jsonschema for Debian's python3; another
        # interpreter first on PATH (pyenv, a venv) may not see it.
        debian = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(debian) and os.path.exists(debian):
            os.execv(debian, [debian] + sys.argv)
        fail("python3-jsonschema is missing (scripts/setup installs it)")
    schema = json.load(open(SCHEMA))
    jsonschema.Draft7Validator.check_schema(schema)
    formats = getattr(jsonschema.Draft7Validator, "FORMAT_CHECKER", None) or \
        jsonschema.draft7_format_checker
    line_validator = jsonschema.Draft7Validator(schema, format_checker=formats)
    record_schema = dict(schema)
    record_schema.pop("oneOf")
    record_schema["$ref"] = "#/definitions/record"
    record_validator = jsonschema.Draft7Validator(record_schema, format_checker=formats)

    with tempfile.TemporaryDirectory() as tmp:
        ca = os.path.join(tmp, "ca.pem")
        collector = subprocess.Popen([fake, ca], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        try:
            first = collector.stdout.readline().split()
            check(len(first) == 2 and first[0] == "url", "fake collector printed its url")

            def command(text):
                collector.stdin.write(text + "\n")
                collector.stdin.flush()
                answer = collector.stdout.readline().strip()
                check(answer.startswith("ok"), "collector: %s -> %s" % (text, answer))
                return answer

            command("require_token tok-7f3a")
            token = os.path.join(tmp, "token")
            with open(token, "w") as f:
                f.write("tok-7f3a\n")
            os.chmod(token, 0o600)
            config = {
                "sensor_id": "schema-fw1",
                "capture": {"pcap_files": [os.path.join(ROOT, "examples", "sample.pcap")]},
                "store": {"data_dir": os.path.join(tmp, "data")},
                "identity": {"source": "file",
                             "file": {"path": os.path.join(ROOT, "examples", "tenant.json")}},
                "upstream": {"sink": "collector", "url": first[1], "token_file": token,
                             "ca_file": ca, "max_batch_records": 7},
            }
            cfg = os.path.join(tmp, "edgeid.json")
            with open(cfg, "w") as f:
                json.dump(config, f)
            run = subprocess.run([edgeid, "run", "--once", "--config", cfg],
                                 capture_output=True, text=True, timeout=120)
            check(run.returncode == 0, "run --once: %s" % run.stderr)
            check("upstream=collector" in run.stderr and " left=0" in run.stderr,
                  "run --once reports the push: %s" % run.stderr)
            dump = os.path.join(tmp, "dump.ndjson")
            command("dump " + dump)
            lines = [json.loads(l) for l in open(dump) if l.strip()]
        finally:
            collector.stdin.close()
            collector.wait(timeout=10)

        check(lines, "the collector received lines")
        # The schema has teeth: what the format forbids is refused.
        sample = next(l for l in lines if l["kind"] == "device" and "mac" in l["record"])
        for broken in ({**sample, "seq": 0},
                       {**sample, "record": {**sample["record"], "vendor": None}},
                       {**sample, "record": {**sample["record"], "state": "lost"}},
                       {**sample, "record": {**sample["record"], "mac": "00-11-22-33-44-55"}},
                       {**sample, "extra": 1}):
            check(not line_validator.is_valid(broken), "schema refuses %s" % json.dumps(broken))
        for n, line in enumerate(lines):
            errors = sorted(line_validator.iter_errors(line), key=lambda e: e.path)
            check(not errors, "line %d does not validate: %s\n%s" %
                  (n, errors[0].message if errors else "", json.dumps(line)))
            check(line["sensor_id"] == "schema-fw1", "sensor id on every line")
        seqs = [l["seq"] for l in lines]
        check(len(set(seqs)) == len(seqs) and seqs == sorted(seqs),
              "seqs are unique and in order")
        print("ok: %d lines validate against %s" % (len(lines), os.path.relpath(SCHEMA, ROOT)))

        # The records on the wire are the inventory: the latest version of every record.
        latest = {}
        for l in lines:
            if l["kind"] != "device":
                continue
            r = l["record"]
            key = r.get("mac") if r.get("state") != "identity_only" else \
                r["identity"]["intune_id"]
            if r.get("removed"):
                key = r.get("intune_id") or r.get("mac")
            if key not in latest or latest[key]["version"] < r["version"]:
                latest[key] = r
        inventory = subprocess.run([edgeid, "inventory", "--data-dir",
                                    os.path.join(tmp, "data"), "--json"],
                                   capture_output=True, text=True, timeout=60)
        check(inventory.returncode == 0, "inventory: %s" % inventory.stderr)
        records = [json.loads(l) for l in inventory.stdout.splitlines() if l.strip()]
        for r in records:
            errors = list(record_validator.iter_errors(r))
            check(not errors, "inventory record does not validate: %s\n%s" %
                  (errors[0].message if errors else "", json.dumps(r)))
        wire = {k: v for k, v in latest.items() if not v.get("removed")}
        check(len(wire) == len(records),
              "one record on the wire per inventory record (%d vs %d)" % (len(wire), len(records)))
        for r in records:
            key = r["identity"]["intune_id"] if r["state"] == "identity_only" else r["mac"]
            check(key in wire, "inventory record %s was sent" % key)
            check(wire[key] == r, "the record sent for %s is the stored one" % key)
        print("ok: the %d records sent are the inventory, field for field" % len(records))

        types = {}
        for l in lines:
            if l["kind"] == "event":
                types[l["event"]["type"]] = types.get(l["event"]["type"], 0) + 1
        on_wire = sum(1 for r in records if r["state"] != "identity_only")
        check(types.get("device.new") == on_wire,
              "one device.new per MAC on the wire (%s vs %d)" % (types.get("device.new"), on_wire))
        unmanaged = sum(1 for r in records if r["state"] == "unmanaged")
        check(types.get("device.unmanaged_seen") == unmanaged, "one unmanaged_seen per unmanaged")
        noncompliant = sum(1 for r in records if r["state"] == "managed" and
                           r["identity"].get("compliance_state") == "noncompliant")
        check(types.get("device.noncompliant_seen", 0) == noncompliant,
              "one noncompliant_seen per noncompliant device on the wire")
        randomized = sum(1 for r in records if r["state"] == "managed" and r["randomized"])
        check(types.get("device.randomized_matched", 0) == randomized,
              "one randomized_matched per randomized managed MAC")
        check(noncompliant > 0 and randomized > 0, "the sample provokes both")
        print("ok: events %s" % json.dumps(types, sort_keys=True))


if __name__ == "__main__":
    main()
