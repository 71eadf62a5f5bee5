#!/usr/bin/env python3
"""End to end on the real binary: `edgeid run` (the daemon) pushing its outbox to the fake
collector (edgeid-fake-collector: real TLS, NDJSON, Idempotency-Key, a bearer token, scripted
faults) through every kind of trouble, checking after each step that nothing was lost.

Identities come from examples/tenant.json (identity.source "file"); devices from
examples/sample.pcap plus one small generated capture per step (edgeid-gen-capture, distinct
seeds), so that every restart of the agent brings new outbox items. Batches are small
(max_batch_records 5), timeout_s 2 and backoff_max_s 2 keep the faults quick.

  a. happy path with a required token: every inventory record (the latest line per key: the MAC,
     or for identity_only the Intune id) is in the collector exactly as the store has it (same
     version, same content), keys the store dropped end in a tombstone, every MAC has its
     device.new event, every line is well formed, seqs are dense (nothing skipped), every
     Idempotency-Key is sensor_id:first-last of its batch's lines (<= max_batch_records).
     These checks are repeated after every step below.
  b. faults, each on a fresh restart with new records, each ending with the outbox empty and
     everything delivered: three 500s (backoff 0.5-1 s, then 1-2 s, capped at 2 s), a 429 with
     Retry-After 3 (the next attempt comes >= 3 s later), a stalled answer past timeout_s, an
     answer cut off mid-body.
  e. a wrong token: 401 is retried, never dead-lettered; fixed token -> delivered.
  c. dead letters: the collector refuses every body with one MAC; only the items carrying it are
     parked, the rest is delivered; `edgeid upstream retry` after clear_reject delivers them.
  d. crash: SIGKILL while a batch is in flight (stalled) and again while backing off after a 500;
     restarts on the same config deliver everything.
  f. `edgeid run --once`: exit 1 when the push fails (items stay queued), exit 0 once delivered.

usage: upstream_collector.py EDGEID FAKE_COLLECTOR GEN_CAPTURE
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "examples", "sample.pcap")
TENANT = os.path.join(ROOT, "examples", "tenant.json")

SENSOR = "uc-fw1"
TOKEN = "collector-token-5a1e0c7d"
WRONG_TOKEN = "some-other-token"
BATCH = 5
SLACK = 0.12  # the arrival times are sampled every 20 ms: a gap may read a little short

T0 = time.time()


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def say(what):
    print("[%6.1fs] %s" % (time.time() - T0, what), flush=True)


def wait_for(what, predicate, timeout=30, interval=0.1):
    """predicate() -> truthy value (done) or falsy; a (False, detail) tuple explains the wait."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        value = predicate()
        if isinstance(value, tuple):
            if value[0]:
                return value
            last = value[1]
        elif value:
            return value
        time.sleep(interval)
    fail("timed out (%ds) waiting for %s%s" % (timeout, what,
                                                ("\n  last: %s" % last) if last else ""))


# ---------------------------------------------------------------------------------------------
# The fake collector


class Collector:
    def __init__(self, binary, tmp):
        self.ca = os.path.join(tmp, "collector-ca.pem")
        self.dump_path = os.path.join(tmp, "collector-dump.ndjson")
        self.proc = subprocess.Popen([binary, self.ca], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        check(len(first) == 2 and first[0] == "url", "fake collector printed its url: %s" % first)
        self.url = first[1]
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.history = []
        self.recorder = None

    def command(self, line):
        with self.lock:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline().strip()
        check(answer.startswith("ok"), "fake collector: %s -> %r" % (line, answer))
        return answer[2:].strip()

    def stats(self):
        return {k: int(v) for k, v in (kv.split("=") for kv in self.command("stats").split())}

    def keys(self):
        return self.command("keys").split()

    def lines(self):
        with self.lock:  # one dump file at a time
            n = int(self.command("dump " + self.dump_path))
            with open(self.dump_path) as f:
                raw = f.read().splitlines()
        check(len(raw) == n, "dump wrote %d lines, said %d" % (len(raw), n))
        return raw

    def record(self):
        """Polls stats every 20 ms in the background and keeps (time, stats) at every change of
        the request counter: the arrival times of the POSTs, whoever waits for what."""
        def loop():
            last = None
            while not self.stopping.is_set():
                try:
                    s = self.stats()
                except SystemExit:
                    return
                if s["requests"] != last:
                    self.history.append((time.time(), s))
                    last = s["requests"]
                time.sleep(0.02)
        self.recorder = threading.Thread(target=loop, daemon=True)
        self.recorder.start()

    def arrivals(self, base):
        """(time, stats) of the POSTs after the stats @p base, up to now."""
        now = self.stats()["requests"]
        wait_for("the recorder to catch up", lambda: self.history and
                 self.history[-1][1]["requests"] >= now, timeout=5, interval=0.01)
        return [h for h in list(self.history) if h[1]["requests"] > base["requests"]]

    def wait(self, what, until, timeout=30):
        """Polls stats until until(stats) is true; returns those stats."""
        def poll():
            s = self.stats()
            return s if until(s) else None
        return wait_for(what, poll, timeout=timeout, interval=0.02)

    def close(self):
        self.stopping.set()
        if self.recorder is not None:
            self.recorder.join(timeout=5)
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------------
# The agent


def service_user():
    """As root the agent drops to an unprivileged user; otherwise it stays who it is."""
    if os.geteuid() == 0:
        return "nobody", ("nogroup", "root")
    return pwd.getpwuid(os.geteuid()).pw_name, None


class Agent:
    def __init__(self, binary, tmp, collector):
        self.binary = binary
        self.tmp = tmp
        self.collector = collector
        self.proc = None
        self.user, self.group = service_user()
        run_dir = os.path.join(tmp, "run")  # like /run/edgeid: the service user's
        os.mkdir(run_dir, 0o755)
        if os.geteuid() == 0:
            os.chown(run_dir, pwd.getpwnam(self.user).pw_uid, -1)
        self.sock = os.path.join(run_dir, "control.sock")
        self.data = os.path.join(tmp, "data")
        self.config = os.path.join(tmp, "edgeid.json")
        self.log_path = os.path.join(tmp, "agent.log")
        self.token_file = os.path.join(tmp, "collector-token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)
        self.tenant = os.path.join(tmp, "tenant.json")
        shutil.copyfile(TENANT, self.tenant)
        os.chmod(self.tenant, 0o644)
        self.captures = [SAMPLE]

    def write_config(self, captures):
        self.captures = [SAMPLE] + captures
        control = {"socket": self.sock}
        if self.group:
            control.update({"group": self.group[0], "admin_group": self.group[1]})
        config = {
            "sensor_id": SENSOR,
            "capture": {"pcap_files": self.captures},
            # retention 0: the captures' timestamps are fixed, the clock is not
            "store": {"data_dir": self.data, "flush_interval_s": 1, "retention_days": 0},
            "identity": {"source": "file", "file": {"path": self.tenant}},
            "upstream": {"sink": "collector", "url": self.collector.url,
                         "token_file": self.token_file, "ca_file": self.collector.ca,
                         "max_batch_records": BATCH, "timeout_s": 2, "backoff_max_s": 2},
            "control": control,
            "user": self.user,
        }
        with open(self.config, "w") as f:
            json.dump(config, f, indent=1)

    def start(self, captures=None):
        check(self.proc is None, "one agent at a time")
        if captures is not None:
            self.write_config(captures)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config],
                                     stdout=log, stderr=log)
        log.close()
        st = wait_for("the agent's control socket and its %d capture files" % len(self.captures),
                      lambda: self.started())
        return st

    def started(self):
        if self.proc.poll() is not None:
            fail("the agent exited with %d; log:\n%s" % (self.proc.returncode, self.log_tail()))
        st = self.status()
        return st if st and st["capture"]["files_read"] == len(self.captures) else None

    def stop(self):
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=15)
        check(rc == 0, "exit 0 after SIGTERM, got %d" % rc)
        check(time.time() - t0 < 5, "stopped within 5 s (%.1f s)" % (time.time() - t0))
        self.proc = None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        check(self.proc.returncode == -signal.SIGKILL, "killed: %s" % self.proc.returncode)
        self.proc = None

    def run_once(self):
        check(self.proc is None, "run --once with the agent stopped")
        return subprocess.run([self.binary, "run", "--once", "--config", self.config],
                              capture_output=True, text=True, timeout=60)

    def ctl(self, *args, timeout=30):
        return subprocess.run([self.binary, *args, "--socket", self.sock], capture_output=True,
                              text=True, timeout=timeout)

    def status(self):
        r = self.ctl("status", "--json")
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def flush(self):
        r = self.ctl("flush")
        check(r.returncode == 0, "flush: " + r.stderr + r.stdout)

    def inventory(self):
        r = subprocess.run([self.binary, "inventory", "--data-dir", self.data, "--json"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "inventory: " + r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def db_stats(self):
        r = subprocess.run([self.binary, "db", "stats", "--data-dir", self.data, "--json"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "db stats: " + r.stderr)
        return json.loads(r.stdout)

    def log_tail(self, n=40):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------------------------------------
# What the collector holds, against what the store holds


def record_key(rec):
    """A device record's key upstream: its MAC, or (identity_only, and the tombstone of one)
    its Intune id."""
    if "mac" in rec and rec.get("state") != "identity_only":
        return ("mac", rec["mac"])
    intune_id = (rec.get("identity") or {}).get("intune_id") or rec.get("intune_id")
    return ("intune_id", intune_id)


def parse_lines(raw):
    """Structure of every stored line; returns the parsed lines."""
    out = []
    for n, text in enumerate(raw):
        try:
            line = json.loads(text)
        except ValueError as e:
            fail("collector line %d is not JSON (%s): %s" % (n, e, text[:200]))
        check(isinstance(line, dict), "line %d is an object" % n)
        kind = line.get("kind")
        check(kind in ("device", "event"), "line %d kind: %r" % (n, kind))
        body = "record" if kind == "device" else "event"
        check(set(line) == {"kind", "sensor_id", "seq", body},
              "line %d has exactly kind, sensor_id, seq, %s: %s" % (n, body, sorted(line)))
        check(line["sensor_id"] == SENSOR, "line %d sensor_id: %r" % (n, line["sensor_id"]))
        check(type(line["seq"]) is int and line["seq"] > 0, "line %d seq: %r" % (n, line["seq"]))
        check(isinstance(line[body], dict) and line[body], "line %d %s is an object" % (n, body))
        if kind == "device":
            rec = line["record"]
            check(type(rec.get("version")) is int and rec["version"] >= 1,
                  "line %d record version: %r" % (n, rec.get("version")))
            check(rec.get("sensor_id") == SENSOR, "line %d record sensor_id" % n)
            key = record_key(rec)
            check(key[1], "line %d record has a key (mac or intune_id): %s" % (n, text[:200]))
        else:
            ev = line["event"]
            check(isinstance(ev.get("type"), str) and ev["type"].startswith("device."),
                  "line %d event type: %r" % (n, ev.get("type")))
        out.append(line)
    return out


def check_keys(lines, raw, keys):
    """Every accepted batch: its Idempotency-Key is SENSOR:first-last of its lines, which are in
    increasing seq order, at most BATCH of them; together the keys cover every stored line. A seq
    stored twice (a re-sent batch after a crash) must carry the very same line."""
    i = 0
    sizes = []
    for key in keys:
        sensor, _, span = key.rpartition(":")
        first, dash, last = span.partition("-")
        check(sensor == SENSOR and dash == "-" and first.isdigit() and last.isdigit(),
              "Idempotency-Key format SENSOR:FIRST-LAST: %r" % key)
        first, last = int(first), int(last)
        check(first <= last, "key %s: first <= last" % key)
        check(i < len(lines) and lines[i]["seq"] == first,
              "key %s: its batch starts at seq %d (line %d: %s)" % (
                  key, first, i, lines[i]["seq"] if i < len(lines) else "none"))
        start = i
        prev = first - 1
        while i < len(lines) and prev < lines[i]["seq"] <= last:
            prev = lines[i]["seq"]
            i += 1
        check(prev == last, "key %s: its batch ends at seq %d, not %d" % (key, last, prev))
        check(i - start <= BATCH, "key %s: %d lines > max_batch_records %d" % (key, i - start,
                                                                                 BATCH))
        sizes.append(i - start)
    check(i == len(lines), "keys cover all %d stored lines (stopped at %d)" % (len(lines), i))
    by_seq = {}
    dups = 0
    for line, text in zip(lines, raw):
        if line["seq"] in by_seq:
            dups += 1
            check(by_seq[line["seq"]] == text, "seq %d stored twice with different content:\n"
                  "%s\n%s" % (line["seq"], by_seq[line["seq"]], text))
        by_seq[line["seq"]] = text
    check(len(set(keys)) == len(keys), "accepted Idempotency-Keys are unique")
    return sizes, dups


def compare(agent, collector, missing=(), absent=0):
    """(ok, detail): the collector's latest line (highest seq) of every record key equals the
    store's record, version and content (docs/UPSTREAM.md: byte for byte what inventory prints);
    every key upstream that the store no longer has ends in a tombstone (removed). Keys in
    @p missing must be absent upstream instead, and @p absent outbox items (parked ones)."""
    raw = collector.lines()
    lines = parse_lines(raw)
    latest, latest_seq = {}, {}
    for line in lines:  # a receiver keeps, per key, the record with the highest seq
        if line["kind"] == "device":
            rec = line["record"]
            k = record_key(rec)
            if k not in latest or latest_seq[k] <= line["seq"]:
                latest[k], latest_seq[k] = rec, line["seq"]
    inventory = agent.inventory()
    problems = []
    keys = set()
    for rec in inventory:
        k = record_key(rec)
        keys.add(k)
        if k in missing:
            if k in latest:
                problems.append("%s should not be upstream yet: %s" % (k, latest[k]))
            continue
        if k not in latest:
            problems.append("%s v%d not upstream" % (k, rec["version"]))
        elif latest[k]["version"] != rec["version"]:
            problems.append("%s upstream v%d, store v%d" % (k, latest[k]["version"],
                                                            rec["version"]))
        elif latest[k] != rec:
            problems.append("%s v%d differs:\n  upstream %s\n  store    %s" % (
                k, rec["version"], latest[k], rec))
    for k, rec in latest.items():
        if k not in keys and not rec.get("removed"):
            problems.append("%s upstream (v%d) but not in the store, without a tombstone" % (
                k, rec["version"]))
    announced = {line["event"].get("mac") for line in lines
                 if line["kind"] == "event" and line["event"]["type"] == "device.new"}
    for k in keys - set(missing):
        if k[0] == "mac" and k[1] not in announced:
            problems.append("no device.new event upstream for %s" % k[1])
    # Sequence numbers are dense (one per outbox item, never reused; a new store starts at its
    # creation time in microseconds): the ones not upstream are exactly the items still queued
    # or parked.
    seqs = {line["seq"] for line in lines}
    gone = sorted(set(range(min(seqs), max(seqs) + 1)) - seqs) if seqs else []
    if len(gone) != absent:
        problems.append("%d seqs up to %d not upstream (%s), expected %d" % (
            len(gone), max(seqs), gone[:10], absent))
    if problems:
        return False, "%d problems: %s" % (len(problems), "; ".join(problems[:5]))
    return True, {"lines": lines, "raw": raw, "inventory": inventory, "latest": latest}


def settle(what, agent, collector, timeout=40, missing=(), dead_letters=0):
    """Waits until the agent is idle with an empty outbox (and @p dead_letters parked) and the
    collector holds exactly the store's records; checks the Idempotency-Keys. Returns
    (status, compare result)."""
    agent.flush()

    def done():
        st = agent.status()
        if not st:
            return False, "no status"
        up = st["upstream"]
        if st["outbox"]["items"] != 0 or up["state"] != "idle" or \
                up["dead_letters"] != dead_letters:
            return False, "outbox %d, upstream %s" % (st["outbox"]["items"], up)
        ok, detail = compare(agent, collector, missing, dead_letters)
        return (True, (st, detail)) if ok else (False, detail)

    _, (st, result) = wait_for(what, done, timeout=timeout, interval=0.25)
    sizes, dups = check_keys(result["lines"], result["raw"], collector.keys())
    check(st["upstream"]["failures"] == 0, "no failure pending: %s" % st["upstream"])
    result.update(sizes=sizes, dups=dups)
    say("  checked: outbox empty, %d records in the store == latest upstream (version and "
        "content), a device.new per MAC, %d lines well formed, seqs dense but for %d parked, "
        "%d Idempotency-Keys == SENSOR:first-last of their batches (<= %d lines each), "
        "%d duplicate lines" % (len(result["inventory"]), len(result["lines"]), dead_letters,
                                len(sizes), BATCH, dups))
    return st, result


def gaps(timeline):
    return [b[0] - a[0] for a, b in zip(timeline, timeline[1:])]


# ---------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, fake_binary, gen_binary = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="edgeid-upstream-")
    collector = agent = None
    try:
        os.chmod(tmp, 0o755)  # the unprivileged service user reaches the socket
        collector = Collector(fake_binary, tmp)
        collector.record()
        agent = Agent(binary, tmp, collector)
        run(agent, collector, tmp, gen_binary)
        with open(agent.log_path, errors="replace") as f:
            check(TOKEN not in f.read(), "the collector token never appears in the log")
    except SystemExit:
        if agent is not None and os.path.exists(agent.log_path):
            print("---- agent log (tail) ----\n" + agent.log_tail(60), file=sys.stderr)
        raise
    finally:
        if agent is not None:
            agent.close()
        if collector is not None:
            collector.close()
        shutil.rmtree(tmp, ignore_errors=True)
    say("ok")


def generate(gen_binary, tmp, seed):
    out = os.path.join(tmp, "cap%d.pcap" % seed)
    r = subprocess.run([gen_binary, "--out", out, "--seed", str(seed), "--macs", "10",
                        "--packets", "200", "--vlans", "1", "--randomized-pct", "0"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "gen-capture seed %d: %s" % (seed, r.stderr))
    hosts = []
    with open(out[:-len(".pcap")] + ".truth.tsv") as f:
        for row in f:
            cols = row.rstrip("\n").split("\t")
            if row.startswith("#") or cols[0] == "mac":
                continue
            if cols[2] not in ("router", "switch"):
                hosts.append(cols[0])
    check(hosts, "capture seed %d has hosts" % seed)
    return out, hosts


def run(agent, collector, tmp, gen_binary):
    caps = {}
    for step, seed in (("500", 101), ("429", 102), ("slow", 103), ("reset", 104), ("401", 105),
                       ("dead", 106), ("crash", 107), ("once", 108)):
        caps[step] = generate(gen_binary, tmp, seed)
    sample_macs = set()

    # ---- a. happy path, with a required token ------------------------------------------------
    say("a. happy path: the collector requires a bearer token")
    collector.command("require_token " + TOKEN)
    agent.start([])
    st, result = settle("the sample delivered", agent, collector)
    s = collector.stats()
    check(s["dup_batches"] == 0 and s["faulted"] == 0, "no duplicate, no fault: %s" % s)
    check(s["accepted"] == s["requests"] == len(result["sizes"]),
          "every request accepted with the token (no 401): %s" % s)
    check(len(result["sizes"]) >= 10, "many batches of <= %d: %s" % (BATCH, result["sizes"]))
    by_mac = {r["mac"]: r for r in result["inventory"] if r["state"] != "identity_only"}
    sample_macs = set(by_mac)
    check(len(by_mac) == 16, "the 16 MACs of the sample: %d" % len(by_mac))
    only = [r for r in result["inventory"] if r["state"] == "identity_only"]
    check(len(only) == 3, "3 identity_only records keyed by Intune id: %d" % len(only))
    new_events = {line["event"].get("mac") for line in result["lines"]
                  if line["kind"] == "event" and line["event"]["type"] == "device.new"}
    check(sample_macs <= new_events, "a device.new event for each of the 16 MACs: missing %s" %
          (sample_macs - new_events))
    up = st["upstream"]
    check(up["sink"] == "collector" and up["dead_letters"] == 0 and up["retries"] == 0 and
          up["delivered_items"] == len(result["lines"]) and
          up["delivered_batches"] == len(result["sizes"]) and "last_success" in up,
          "status.upstream counts the deliveries: %s" % up)
    say("  checked: token required and sent, 16 MACs + 3 identity_only upstream, device.new for "
        "each MAC, status delivered_items=%d delivered_batches=%d" % (
            up["delivered_items"], up["delivered_batches"]))
    agent.stop()

    # ---- b1. three 500s: exponential backoff, capped -----------------------------------------
    say("b1. three 500s in a row")
    collector.command("fault status_500 3")
    base = collector.stats()
    agent.start([caps["500"][0]])
    collector.wait("a POST accepted after the 500s", lambda s: s["accepted"] > base["accepted"])
    timeline = collector.arrivals(base)
    g = gaps(timeline)
    check(len(g) >= 3 and [t[1]["faulted"] - base["faulted"] for t in timeline[:3]] == [1, 2, 3],
          "three POSTs got a 500 each, then one more: %s" % [t[1] for t in timeline])
    # first step 1 s, doubling, capped at backoff_max_s 2, jitter between half and all the step
    for i, (lo, hi) in enumerate(((0.5, 1.0), (1.0, 2.0), (1.0, 2.0))):
        check(lo - SLACK <= g[i] <= hi + 1.5, "retry %d after %.2f s, expected %.1f-%.1f s" % (
            i + 1, g[i], lo, hi))
    st, _ = settle("delivery after the 500s", agent, collector)
    check(st["upstream"]["retries"] == 3, "3 retries counted: %s" % st["upstream"])
    check("500" in st["upstream"].get("last_error", ""), "last_error names the 500: %s" %
          st["upstream"])
    say("  checked: retries after %s s (0.5-1, 1-2, capped 1-2), status retries=3" %
        ["%.2f" % x for x in g[:3]])
    agent.stop()

    # ---- b2. 429 with Retry-After: 3 ----------------------------------------------------------
    say("b2. 429 with Retry-After 3")
    collector.command("fault throttle_429 1 3")
    base = collector.stats()
    agent.start([caps["429"][0]])
    collector.wait("the 429", lambda s: s["faulted"] > base["faulted"])
    up = wait_for("the agent backing off after the 429", lambda: backing_off(agent), timeout=3,
                  interval=0.05)
    check(up["state"] == "backing_off" and up.get("next_attempt_in_s", 0) >= 2,
          "backing off for the Retry-After: %s" % up)
    check(up["failures"] == 1 and "429" in up.get("last_error", ""),
          "one failure, the 429: %s" % up)
    collector.wait("the POST after the 429", lambda s: s["requests"] > base["requests"] + 1)
    timeline = collector.arrivals(base)
    waited = timeline[1][0] - timeline[0][0]
    check(timeline[0][1]["requests"] == base["requests"] + 1, "one 429: %s" % timeline)
    check(waited >= 3 - SLACK, "the next attempt waited for Retry-After 3 s: %.2f s" % waited)
    check(waited <= 3 + 1.5, "... and not much longer: %.2f s" % waited)
    st, _ = settle("delivery after the 429", agent, collector)
    check(st["upstream"]["retries"] == 1, "1 retry: %s" % st["upstream"])
    say("  checked: state backing_off with next_attempt_in_s=%s, next POST %.2f s after the 429" %
        (up.get("next_attempt_in_s"), waited))
    agent.stop()

    # ---- b3. an answer that never comes (past timeout_s 2) -----------------------------------
    say("b3. a stalled answer past timeout_s 2")
    collector.command("fault slow 1")
    base = collector.stats()
    agent.start([caps["slow"][0]])
    collector.wait("the POST after the stalled one",
                   lambda s: s["requests"] > base["requests"] + 1)
    timeline = collector.arrivals(base)
    check(timeline[0][1]["requests"] == base["requests"] + 1, "one stalled POST: %s" % timeline)
    g = timeline[1][0] - timeline[0][0]
    check(2.0 + 0.5 - SLACK <= g <= 2.0 + 1.0 + 1.5,
          "the stalled POST timed out after 2 s, then backed off 0.5-1 s: %.2f s" % g)
    st, _ = settle("delivery after the timeout", agent, collector)
    check(st["upstream"]["retries"] == 1, "1 retry: %s" % st["upstream"])
    say("  checked: next POST %.2f s after the stalled one (timeout 2 s + backoff), "
        "last_error %r" % (g, st["upstream"].get("last_error")))
    agent.stop()

    # ---- b4. an answer cut off mid-body ------------------------------------------------------
    say("b4. a 200 cut off mid-body")
    collector.command("fault reset_mid_body 1")
    base = collector.stats()
    agent.start([caps["reset"][0]])
    collector.wait("the POST after the truncated answer",
                   lambda s: s["requests"] > base["requests"] + 1)
    st, _ = settle("delivery after the truncated answer", agent, collector)
    check(st["upstream"]["retries"] == 1, "the truncated 200 is a retry, not a delivery: %s" %
          st["upstream"])
    say("  checked: truncated answer retried (retries=1, last_error %r)" %
        st["upstream"].get("last_error"))
    agent.stop()

    # ---- e. a wrong token: 401 is retried, never parked --------------------------------------
    say("e. the collector wants another token: 401")
    collector.command("require_token " + WRONG_TOKEN)
    base = collector.stats()
    agent.start([caps["401"][0]])
    collector.wait("three 401s", lambda s: s["requests"] >= base["requests"] + 3)
    wait_for("the agent backing off after a 401", lambda: backing_off(agent), timeout=3,
             interval=0.05)
    st = agent.status()
    up = st["upstream"]
    check(up["dead_letters"] == 0 and up["parked_items"] == 0, "401 parks nothing: %s" % up)
    check(up["failures"] >= 2 and up["retries"] >= 2, "401s counted as failures: %s" % up)
    check("401" in up.get("last_error", ""), "last_error names the 401: %s" % up)
    check(st["outbox"]["items"] > 0, "the items wait in the outbox: %s" % st["outbox"])
    check(collector.stats()["accepted"] == base["accepted"], "nothing accepted with a bad token")
    collector.command("require_token " + TOKEN)
    st, _ = settle("delivery once the token matches", agent, collector)
    check(st["upstream"]["dead_letters"] == 0, "still no dead letter")
    say("  checked: failures=%d retries=%d dead_letters=0 parked=0 while refused; then delivered"
        % (up["failures"], up["retries"]))
    agent.stop()

    # ---- c. dead letters: one MAC refused for good -------------------------------------------
    mac = caps["dead"][1][0]
    check(mac not in sample_macs, "the refused MAC is new")
    say("c. the collector refuses every body containing %s" % mac)
    before = len(collector.lines())
    collector.command("fault reject_containing " + mac)
    agent.start([caps["dead"][0]])
    st, result = settle("everything but %s delivered" % mac, agent, collector,
                        missing={("mac", mac)}, dead_letters=wait_dead_letters(agent))
    up = st["upstream"]
    check(up["parked_items"] == up["dead_letters"] >= 2,
          "the record and its events parked (>= 2): %s" % up)
    check(up["retries"] == 0 and "400" in up.get("dead_letter_reason", up.get("last_error", "")),
          "parked for the 400, no retry: %s" % up)
    check(not any(mac in text for text in result["raw"]), "no stored line has %s" % mac)
    new_lines = len(result["raw"]) - before
    check(new_lines > 0, "the other records of the capture were delivered")
    parked = up["dead_letters"]
    collector.command("clear_reject")
    r = agent.ctl("upstream", "retry")
    check(r.returncode == 0, "upstream retry: %s%s" % (r.stdout, r.stderr))
    st, result = settle("the dead letters delivered after the retry", agent, collector)
    later = result["raw"][before + new_lines:]
    check(len(later) == parked and all(mac in text for text in later),
          "exactly the %d parked items, each with %s, arrived after the retry: %d lines" % (
              parked, mac, len(later)))
    say("  checked: %d items with %s parked (status dead_letters, parked_items), the other %d "
        "lines delivered, outbox empty; after clear_reject + `upstream retry` (%s) dead_letters=0 "
        "and the %d items arrived" % (parked, mac, new_lines, r.stdout.strip(), len(later)))
    agent.stop()

    # ---- d. crash: SIGKILL with a batch in flight, and while backing off ---------------------
    say("d. SIGKILL while a batch is in flight, then while backing off")
    collector.command("fault slow 1")
    collector.command("fault status_500 2")
    base = collector.stats()
    agent.start([caps["crash"][0]])
    collector.wait("the stalled POST", lambda s: s["faulted"] > base["faulted"])
    st = agent.status()
    check(st["upstream"]["state"] == "sending" and st["outbox"]["items"] > 0,
          "a batch in flight, items queued: %s %s" % (st["outbox"], st["upstream"]))
    queued = st["outbox"]["items"]
    agent.kill()
    check(agent.db_stats()["outbox_items"] >= queued,
          "the outbox survives SIGKILL: %s" % agent.db_stats())
    say("  killed with %d items queued (store: %d)" % (queued, agent.db_stats()["outbox_items"]))
    agent.start()
    collector.wait("the first 500", lambda s: s["faulted"] > base["faulted"] + 1)
    wait_for("backing off after the 500", lambda: backing_off(agent), timeout=10, interval=0.05)
    agent.kill()
    say("  killed again while backing off (store: %d items)" % agent.db_stats()["outbox_items"])
    agent.start()
    st, result = settle("delivery after two crashes", agent, collector)
    s = collector.stats()
    check(s["faulted"] - base["faulted"] == 3, "all 3 faults served: %s" % s)
    say("  checked: everything delivered after the restarts; collector %s" % s)

    agent.stop()

    # ---- g. SIGHUP: the identity file is re-read; a new sensor_id waits for a restart --------
    say("g. SIGHUP after editing the identity file in place and the sensor_id")
    agent.start()
    settle("before the reload", agent, collector)
    with open(agent.tenant) as f:
        tenant = json.load(f)
    # A compliant device on the wire matched by its own MAC, with no competing enrolment.
    target = next(r for r in agent.inventory() if r["state"] == "managed" and
                  r["match"]["by"] == "wifi_mac" and "conflicts" not in r["match"] and
                  r["identity"].get("compliance_state") == "compliant")
    mac = target["mac"]
    device = next(d for d in tenant[0]["value"] if d["id"] == target["identity"]["intune_id"])
    device["complianceState"] = "noncompliant"
    with open(agent.tenant, "w") as f:
        json.dump(tenant, f)
    with open(agent.config) as f:
        config = json.load(f)
    config["sensor_id"] = "uc-renamed"
    with open(agent.config, "w") as f:
        json.dump(config, f)
    agent.proc.send_signal(signal.SIGHUP)
    wait_for("the reload", lambda: "needs_restart=sensor_id" in agent.log_tail(200), timeout=10)
    st, result = settle("after the reload", agent, collector)
    sent = [line for line in result["lines"] if line["kind"] == "device" and
            line["record"].get("mac") == mac]
    check(sent and sent[-1]["record"]["identity"]["compliance_state"] == "noncompliant",
          "the edited identity file was read on SIGHUP: %s" % (sent[-1] if sent else None))
    check(any(line["kind"] == "event" and line["event"]["type"] == "device.noncompliant_seen"
              and line["event"]["mac"] == mac for line in result["lines"]),
          "device.noncompliant_seen for %s" % mac)
    check(all(line["sensor_id"] == SENSOR and
              line.get("record", line.get("event"))["sensor_id"] == SENSOR
              for line in result["lines"]),
          "records and framing keep the running sensor_id until a restart")
    say("  checked: the compliance change of %s arrived, with its event; sensor_id unchanged "
        "(log: needs_restart=sensor_id)" % mac)
    agent.stop()
    config["sensor_id"] = SENSOR
    with open(agent.config, "w") as f:
        json.dump(config, f)

    # ---- f. `edgeid run --once`: exit 1 when the push fails, 0 once it went through ----------
    say("f. run --once: a 500 fails the push (exit 1), the next run delivers (exit 0)")
    agent.write_config([caps["once"][0]])
    collector.command("fault status_500 1")
    base = collector.stats()
    r = agent.run_once()
    check(r.returncode == 1 and "upstream" in r.stderr,
          "run --once exits 1 when the push fails: %d %s" % (r.returncode, r.stderr))
    left = agent.db_stats()["outbox_items"]
    check(left > 0, "the items stay in the outbox: %d" % left)
    s = collector.stats()
    check(s["requests"] == base["requests"] + 1 and s["accepted"] == base["accepted"],
          "one POST, the 500, then it gave up: %s" % s)
    r = agent.run_once()
    check(r.returncode == 0, "run --once exits 0 once delivered: %d %s" % (r.returncode, r.stderr))
    check(agent.db_stats()["outbox_items"] == 0, "outbox empty after run --once")
    ok, result = compare(agent, collector)
    check(ok, "after run --once: " + str(result))
    check_keys(result["lines"], result["raw"], collector.keys())
    say("  checked: exit 1 with %d items left, then exit 0 and the collector holds all %d records"
        % (left, len(result["inventory"])))

    final = collector.stats()
    say("end: collector %s, %d records in the store" % (final, len(result["inventory"])))


def backing_off(agent):
    """status.upstream while the agent backs off, else None."""
    st = agent.status()
    up = st["upstream"] if st else {}
    return up if up.get("state") == "backing_off" else None


def wait_dead_letters(agent):
    """The number of parked items once the agent stopped refusing-and-bisecting."""
    def parked():
        st = agent.status()
        if not st:
            return False
        up = st["upstream"]
        if up["dead_letters"] >= 1 and st["outbox"]["items"] == 0 and up["state"] == "idle":
            return up["dead_letters"]
        return False
    agent.flush()
    return wait_for("items parked as dead letters", parked, timeout=40, interval=0.25)


if __name__ == "__main__":
    main()
