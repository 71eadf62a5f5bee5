#!/usr/bin/env python3
"""The ClickHouse upstream sink against a real ClickHouse server (Debian's clickhouse-server,
started privately on free loopback ports by clickhouse_server.py; exits 77 when it is absent).

  a. Delivery: tables from `edgeid upstream clickhouse-ddl`, the daemon on a generated capture
     (5000 MACs) and examples/tenant.json; once the outbox is empty, `devices FINAL` (deleted=0,
     this sensor) equals the inventory: same count, same keys (MAC, or Intune id for
     identity_only), same version per key; `events` holds exactly one device.new per MAC on
     the wire.
  b. Outage and crash: a second sensor on a larger capture (20000 MACs); ClickHouse is killed
     as soon as the first rows land, the agent reports failures while its outbox still holds
     items, is killed with SIGKILL (the store keeps the outbox), ClickHouse and the agent are
     started again; once the outbox is empty ClickHouse equals the inventory again, nothing
     missing; duplicates may exist on the wire (plain count >= FINAL count) and collapse after
     OPTIMIZE TABLE ... FINAL (plain count == FINAL count).
  c. A wrong password: the agent retries (failures grow, last_error says 401 / wrong password),
     parks nothing as a dead letter, and its outbox keeps every item; ClickHouse gets no row.

usage: upstream_clickhouse.py EDGEID GEN_CAPTURE
"""
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clickhouse_server import ClickHouse  # noqa: E402
from control_socket import request  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TENANT = os.path.join(ROOT, "examples", "tenant.json")
SAMPLE = os.path.join(ROOT, "examples", "sample.pcap")
T0 = time.time()
AGENTS = []  # for the log tails on failure


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.stdout.flush()
    raise SystemExit(1)


def check(cond, what):
    if not cond:
        fail(what)
    print("  ok: " + what)
    sys.stdout.flush()


def say(what):
    print("[%5.1fs] %s" % (time.time() - T0, what))
    sys.stdout.flush()


def sh(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def wait_for(what, predicate, timeout=60, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    fail("timed out after %d s waiting for %s" % (timeout, what))


def status(sock):
    answer = request(sock, "status")
    if answer is None or answer.get("result") != 0:
        return None
    return answer["arguments"]


def service_user():
    """As root the agent drops to an unprivileged user (as in daemon_e2e.py); otherwise it stays
    who it is, and its own primary group is the admin group (`flush` needs one)."""
    if os.geteuid() == 0:
        return "nobody", ("nogroup", "root")
    group = grp.getgrgid(os.getegid()).gr_name
    return pwd.getpwuid(os.geteuid()).pw_name, (group, group)


class Agent:
    """One sensor: its own data dir, run dir (control socket), config and log."""

    def __init__(self, binary, tmp, name, sensor_id, pcaps, ch, password, max_batch=500):
        self.binary = binary
        self.sensor_id = sensor_id
        self.pcaps = pcaps
        base = os.path.join(tmp, name)
        os.mkdir(base, 0o755)
        user, group = service_user()
        run_dir = os.path.join(base, "run")
        os.mkdir(run_dir, 0o755)
        if os.geteuid() == 0:
            os.chown(run_dir, pwd.getpwnam(user).pw_uid, -1)
        self.sock = os.path.join(run_dir, "control.sock")
        self.data = os.path.join(base, "data")
        self.log_path = os.path.join(base, "agent.log")
        self.config = os.path.join(base, "edgeid.json")
        pw = os.path.join(base, "password")
        with open(pw, "w") as f:
            f.write(password + "\n")
        os.chmod(pw, 0o600)
        control = {"socket": self.sock}
        if group:
            control.update({"group": group[0], "admin_group": group[1]})
        with open(self.config, "w") as f:
            json.dump({
                "sensor_id": sensor_id, "user": user,
                "capture": {"pcap_files": pcaps},
                "store": {"data_dir": self.data, "flush_interval_s": 1},
                "identity": {"source": "file", "file": {"path": TENANT}},
                "upstream": {"sink": "clickhouse", "url": ch.url, "user": ch.user,
                             "password_file": pw, "database": "edgeid", "timeout_s": 5,
                             "backoff_max_s": 2, "max_batch_records": max_batch},
                "control": control}, f)
        self.proc = None
        AGENTS.append(self)

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config],
                                     stdout=log, stderr=log)
        log.close()
        return wait_for("the agent's control socket (%s)" % self.sensor_id, self.status, 30)

    def status(self):
        if self.proc is not None and self.proc.poll() is not None:
            fail("the agent exited with %d:\n%s" % (self.proc.returncode, self.log_tail()))
        return status(self.sock)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = [l for l in f.read().splitlines() if "control.command" not in l]
                return "\n".join(lines[-n:])
        except OSError:
            return ""

    def settle(self, timeout=120):
        """Waits for the capture files to be read, flushes everything pending into the store,
        and waits until the outbox is empty and the uploader idle. Returns the status."""
        wait_for("the capture files read (%s)" % self.sensor_id,
                 lambda: (self.status() or {}).get("capture", {}).get("files_read")
                 == len(self.pcaps), timeout)
        answer = request(self.sock, "flush")
        check(answer is not None and answer.get("result") == 0,
              "flush over the control socket: %s" % answer)

        def drained():
            st = self.status()
            if st and st["outbox"]["items"] == 0 and st["devices"]["pending"] == 0 \
                    and st["upstream"]["state"] == "idle":
                return st
            return None
        return wait_for("an empty outbox (%s)" % self.sensor_id, drained, timeout, 0.25)

    def inventory(self):
        r = sh(self.binary, "inventory", "--data-dir", self.data, "--json")
        check(r.returncode == 0, "edgeid inventory --data-dir reads the store")
        return [json.loads(line) for line in r.stdout.splitlines()]

    def db_stats(self):
        r = sh(self.binary, "db", "stats", "--data-dir", self.data, "--json")
        if r.returncode != 0:
            fail("edgeid db stats: " + r.stderr)
        return json.loads(r.stdout)


def inventory_key(record):
    """The row key the sink uses: identity_only by Intune id, everything else by MAC."""
    if record["state"] == "identity_only":
        return "intune:" + record["identity"]["intune_id"]
    return record["mac"]


def clickhouse_rows(ch, sensor_id):
    text = ch.query("SELECT mac, identity_key, version FROM edgeid.devices FINAL "
                    "WHERE sensor_id = '%s' AND deleted = 0 FORMAT TabSeparated" % sensor_id)
    rows = {}
    for line in text.splitlines():
        mac, identity_key, version = line.split("\t")
        key = mac if mac else "intune:" + identity_key
        if key in rows:
            fail("two FINAL rows for one key %s" % key)
        rows[key] = int(version)
    return rows


def expect_equal(ch, agent, macs=None):
    """ClickHouse (FINAL, deleted=0, this sensor) equals the inventory; returns the inventory."""
    inv = agent.inventory()
    want = {inventory_key(r): r["version"] for r in inv}
    check(len(want) == len(inv), "inventory keys are unique (%d records)" % len(inv))
    got = clickhouse_rows(ch, agent.sensor_id)
    count = ch.scalar("SELECT count() FROM edgeid.devices FINAL WHERE sensor_id = '%s' "
                      "AND deleted = 0" % agent.sensor_id)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    check(count == len(inv), "count() FINAL (deleted=0, sensor %s) = %d == %d inventory lines"
          % (agent.sensor_id, count, len(inv)))
    check(not missing and not extra, "the key sets match (missing in ClickHouse: %d %s; extra in "
          "ClickHouse: %d %s)" % (len(missing), missing[:5], len(extra), extra[:5]))
    stale = sorted(k for k in want if got.get(k) != want[k])
    check(not stale, "every key's version in ClickHouse is the inventory's (%d differ: %s)"
          % (len(stale), [(k, want[k], got.get(k)) for k in stale[:5]]))
    on_wire = [r for r in inv if r["state"] != "identity_only"]
    if macs is not None:
        check(len(on_wire) == macs, "%d MACs on the wire in the inventory (the capture has %d)"
              % (len(on_wire), macs))
    return inv, on_wire


def create_tables(binary, ch):
    r = sh(binary, "upstream", "clickhouse-ddl")
    check(r.returncode == 0 and "ReplacingMergeTree(seq)" in r.stdout,
          "edgeid upstream clickhouse-ddl prints the DDL")
    statements = [s.strip() for s in r.stdout.split(";") if s.strip()]
    for statement in statements:
        ch.query(statement)
    tables = sorted(ch.query("SHOW TABLES FROM edgeid").split())
    check(tables == ["devices", "events"], "%d statements ran: tables %s"
          % (len(statements), tables))


def generate(gen, tmp, name, macs, packets, seed):
    out = os.path.join(tmp, name)
    r = sh(gen, "--out", out, "--macs", str(macs), "--packets", str(packets), "--seed", str(seed))
    if r.returncode != 0:
        fail("edgeid-gen-capture: " + r.stderr)
    return out


def part_a(binary, gen, tmp, ch):
    say("a. delivery: 5000 MACs, 60000 packets, sensor ch-a")
    pcap = generate(gen, tmp, "a.pcap", 5000, 60000, 21)
    agent = Agent(binary, tmp, "a", "ch-a", [pcap], ch, ch.password)
    try:
        agent.start()
        st = agent.settle()
        say("a. outbox empty")
        check(st["upstream"]["failures"] == 0 and st["upstream"]["dead_letters"] == 0,
              "no failure, no dead letter: delivered %d items in %d batches"
              % (st["upstream"]["delivered_items"], st["upstream"]["delivered_batches"]))
        _, on_wire = expect_equal(ch, agent, macs=5000)
        events = ch.scalar("SELECT count() FROM edgeid.events FINAL WHERE sensor_id = 'ch-a'")
        check(events > 0, "events table non-empty (%d rows for ch-a)" % events)
        new = ch.query("SELECT mac FROM edgeid.events FINAL WHERE sensor_id = 'ch-a' "
                       "AND type = 'device.new' FORMAT TabSeparated").split()
        check(len(new) == len(on_wire), "device.new events: %d == %d MACs on the wire"
              % (len(new), len(on_wire)))
        check(set(new) == {r["mac"] for r in on_wire}, "device.new names each MAC on the wire once")
    finally:
        agent.stop()
    say("a. done")


def part_b(binary, gen, tmp, ch):
    say("b. outage and crash: 20000 MACs, sensor ch-b")
    pcap = generate(gen, tmp, "b.pcap", 20000, 240000, 22)
    # Batches of 1000 (500 is the default): ~75 batches still, half the INSERTs and parts.
    agent = Agent(binary, tmp, "b", "ch-b", [pcap], ch, ch.password, max_batch=1000)
    try:
        agent.start()
        say("b. agent started")
        # The identity_only rows go first, at start-up; the outage strikes once the capture's
        # rows (with a MAC) have begun to land.
        first = wait_for("the first ch-b rows with a MAC in ClickHouse", lambda: ch.scalar(
            "SELECT count() FROM edgeid.devices WHERE sensor_id = 'ch-b' AND mac != ''"), 60, 0.05)
        # SIGKILL, not SIGTERM: ClickHouse 18.16 keeps serving a busy keep-alive connection for
        # ~15 s after SIGTERM (no "Connection: close"), long enough for the agent to drain its
        # whole outbox into a server that is "stopping"; a kill is a prompt outage (and a harsher
        # one: an INSERT may be cut off mid-request).
        say("b. the first %d rows with a MAC landed: killing ClickHouse" % first)
        ch.kill()
        say("b. ClickHouse is down")

        def failing():
            st = agent.status()
            return st if st and st["upstream"]["failures"] > 0 else None
        st = wait_for("the agent to report upstream failures", failing, 30)
        check(st["outbox"]["items"] > 0, "failures %d while the outbox holds %d items (last_error: %s)"
              % (st["upstream"]["failures"], st["outbox"]["items"], st["upstream"]["last_error"]))
        delivered_before = st["upstream"]["delivered_items"]
        agent.kill()
        say("b. agent killed (SIGKILL)")
        stats = agent.db_stats()
        check(stats["outbox_items"] > 0 and stats["deadletter_items"] == 0,
              "after SIGKILL the store keeps %d outbox items, 0 dead letters (%d items "
              "acknowledged before the outage)" % (stats["outbox_items"], delivered_before))
        ch.start()
        say("b. ClickHouse started again")
        landed = ch.scalar("SELECT count() FROM edgeid.devices WHERE sensor_id = 'ch-b' "
                           "AND mac != ''")
        check(landed >= first, "ClickHouse restarted with the %d rows it had acknowledged (>= %d)"
              % (landed, first))
        agent.start()
        say("b. agent started again")
        st = agent.settle()
        say("b. outbox empty")
        check(st["upstream"]["delivered_items"] > 0 and st["upstream"]["dead_letters"] == 0,
              "the restarted agent delivered %d items, no dead letter"
              % st["upstream"]["delivered_items"])
        _, on_wire = expect_equal(ch, agent, macs=20000)
        new = ch.scalar("SELECT uniqExact(mac) FROM edgeid.events FINAL WHERE sensor_id = 'ch-b' "
                        "AND type = 'device.new'")
        check(new == len(on_wire), "device.new events name all %d MACs on the wire" % len(on_wire))
    finally:
        agent.stop()

    say("b. agent stopped")
    plain = ch.scalar("SELECT count() FROM edgeid.devices WHERE sensor_id = 'ch-b'")
    final = ch.scalar("SELECT count() FROM edgeid.devices FINAL WHERE sensor_id = 'ch-b'")
    check(plain >= final, "plain count %d >= count FINAL %d (%d duplicate/older rows on the wire)"
          % (plain, final, plain - final))

    def optimized():
        ch.query("OPTIMIZE TABLE edgeid.devices FINAL", settings={"optimize_throw_if_noop": 1})
        p = ch.scalar("SELECT count() FROM edgeid.devices")
        f = ch.scalar("SELECT count() FROM edgeid.devices FINAL")
        return (p, f) if p == f else None
    p, f = wait_for("OPTIMIZE TABLE edgeid.devices FINAL to collapse the rows", optimized, 60, 1)
    after = ch.scalar("SELECT count() FROM edgeid.devices WHERE sensor_id = 'ch-b'")
    check(after == final, "after OPTIMIZE ... FINAL the plain count %d == FINAL count %d "
          "(whole table: %d == %d)" % (after, final, p, f))
    say("b. done")


def part_c(binary, tmp, ch):
    say("c. a wrong password: sensor ch-c, examples/sample.pcap")
    agent = Agent(binary, tmp, "c", "ch-c", [SAMPLE], ch, "not-" + ch.password)
    try:
        agent.start()

        def failing_twice():
            st = agent.status()
            ok = st and st["capture"]["files_read"] == 1 and st["upstream"]["failures"] >= 2
            return st if ok else None
        st = wait_for("two failed attempts", failing_twice, 30)
        up = st["upstream"]
        error = up.get("last_error", "")
        check("401" in error or "password" in error.lower(),
              "failures %d, last_error mentions 401/password: %s" % (up["failures"], error))
        check(up["dead_letters"] == 0 and up["parked_items"] == 0 and up["delivered_items"] == 0,
              "nothing parked as a dead letter, nothing delivered")
        check(st["outbox"]["items"] > 0, "the outbox keeps its %d items" % st["outbox"]["items"])
    finally:
        agent.stop()
    stats = agent.db_stats()
    check(stats["outbox_items"] > 0 and stats["deadletter_items"] == 0,
          "after the agent stopped the store still holds %d outbox items, 0 dead letters"
          % stats["outbox_items"])
    rows = ch.scalar("SELECT count() FROM edgeid.devices WHERE sensor_id = 'ch-c'")
    check(rows == 0, "ClickHouse got no ch-c row")
    say("c. done")


def main():
    binary, gen = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="edgeid-ch-")
    try:
        os.chmod(tmp, 0o755)  # the unprivileged service user reads the captures
        ch = ClickHouse(tmp)  # exits 77 when clickhouse-server is absent
        try:
            ch.start()
            say("ClickHouse %s at %s" % (ch.query("SELECT version()").strip(), ch.url))
            create_tables(binary, ch)
            part_a(binary, gen, tmp, ch)
            part_b(binary, gen, tmp, ch)
            part_c(binary, tmp, ch)
            say("stopping ClickHouse")
        except BaseException:
            for agent in AGENTS:
                print("--- %s: agent log tail ---\n%s" % (agent.sensor_id, agent.log_tail()),
                      file=sys.stderr)
            print("--- clickhouse log tail ---\n" + ch.tail(), file=sys.stderr)
            raise
        finally:
            ch.stop(timeout=20)
            say("ClickHouse stopped")
    finally:
        files = sum(len(f) for _, _, f in os.walk(tmp))
        shutil.rmtree(tmp, ignore_errors=True)
        say("removed the scratch directory (%d files)" % files)
    say("ok")


if __name__ == "__main__":
    main()
