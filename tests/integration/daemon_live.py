#!/usr/bin/env python3
"""Live capture under control-socket load: `edgeid run` captures on one end of a veth pair in a
network namespace the test owns while tcpreplay sends a generated capture into the other end
and 50 concurrent clients query the control socket. Asserts: every client answer is result 0,
the kernel and the interface dropped nothing, every packet was delivered, and the agent learned
exactly the MACs that `edgeid ingest` finds in the same file.

usage: daemon_live.py EDGEID GEN_CAPTURE      (needs root and `ip netns`; exits 77 otherwise)
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_socket import request  # noqa: E402

CLIENTS = 50


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def check(cond, what):
    if not cond:
        fail(what)


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


def ask(sock, command, arguments=None):
    """The shared client's answer; no answer is an OSError, as a refused connection is."""
    a = request(sock, command, arguments)
    if a is None:
        raise OSError("no answer to " + command)
    return a


def main():
    binary, gen = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    for tool in ("ip", "tcpreplay"):
        if sh("sh", "-c", "command -v " + tool).returncode != 0:
            skip(tool + " is not installed (scripts/setup installs it)")
    tag = "e%d" % os.getpid()
    tx, rx = tag + "tx", tag + "rx"
    if sh("ip", "netns", "add", tx).returncode != 0:
        skip("cannot create network namespaces here")
    made = [tx]
    try:
        check(sh("ip", "netns", "add", rx).returncode == 0, "netns add")
        made.append(rx)
        r = sh("ip", "link", "add", "vtx", "netns", tx, "type", "veth", "peer", "name", "vrx",
               "netns", rx)
        check(r.returncode == 0, "veth pair: " + r.stderr)
        for ns, dev in ((tx, "vtx"), (rx, "vrx")):
            check(sh("ip", "-n", ns, "link", "set", dev, "up").returncode == 0, "link up")
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            run(binary, gen, tmp, tx, rx)
    finally:
        for ns in made:
            sh("ip", "netns", "delete", ns)
    print("ok")


def run(binary, gen, tmp, tx, rx):
    pcap = os.path.join(tmp, "live.pcap")
    r = sh(gen, "--seed", "3", "--packets", "40000", "--macs", "800", "--vlans", "4",
           "--out", pcap)
    check(r.returncode == 0, "generate: " + r.stderr)
    r = sh(binary, "ingest", "--pcap", pcap, "--json")
    check(r.returncode == 0, "ingest: " + r.stderr)
    offline_records = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        offline_records[d["mac"]] = d
    offline = sorted(offline_records)

    run_dir = os.path.join(tmp, "run")
    os.mkdir(run_dir, 0o755)
    os.chown(run_dir, 65534, -1)
    sock = os.path.join(run_dir, "control.sock")
    config = os.path.join(tmp, "edgeid.json")
    with open(config, "w") as f:
        json.dump({"sensor_id": "live", "user": "nobody",
                   "capture": {"interfaces": ["vrx"], "max_devices": 100000},
                   "store": {"data_dir": os.path.join(tmp, "data"), "flush_interval_s": 1},
                   "control": {"socket": sock, "group": "root", "admin_group": "root"}}, f)
    log = open(os.path.join(tmp, "agent.log"), "wb")
    agent = subprocess.Popen(["ip", "netns", "exec", rx, binary, "run", "--config", config],
                             stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                st = ask(sock, "status")["arguments"]
                if st["interfaces"] and st["interfaces"][0]["open"]:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            fail("the agent did not open vrx")

        stop = threading.Event()
        answers, errors = [0], []
        lock = threading.Lock()

        def client(n):
            while not stop.is_set():
                try:
                    a = ask(sock, "status") if n % 2 else ask(sock, "devices", {"limit": 50})
                    with lock:
                        answers[0] += 1
                        if a["result"] not in (0, 3):  # 3: no device yet
                            errors.append(a)
                except OSError as e:
                    with lock:
                        errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        r = sh("ip", "netns", "exec", tx, "tcpreplay", "-i", "vtx", "--mbps", "200", pcap)
        check(r.returncode == 0, "tcpreplay: " + r.stderr)
        sent = 40000
        deadline = time.time() + 30
        while time.time() < deadline:
            st = ask(sock, "status")["arguments"]
            if st["interfaces"][0]["packets"] >= sent:
                break
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join()
        check(not errors, "every control answer is ok or empty: %s" % errors[:3])
        check(answers[0] >= CLIENTS, "clients were served: %d answers" % answers[0])
        st = ask(sock, "status")["arguments"]
        iface = st["interfaces"][0]
        # At least: the kernel adds a few of its own (IPv6 MLD/ND from vtx as the link came up).
        check(iface["packets"] >= sent, "all %d packets delivered, got %d" % (sent, iface["packets"]))
        check(iface["kernel_dropped"] == 0 and iface["interface_dropped"] == 0,
              "no kernel drops: %s" % iface)
        check(ask(sock, "flush")["result"] == 0, "flush")
        got = ask(sock, "devices", {"limit": 100000})["arguments"]["devices"]
        # The veth ends' own MACs (their kernel-made IPv6 traffic) are not in the file.
        own = {json.loads(sh("ip", "-n", ns, "-j", "link", "show", dev).stdout)[0]["address"]
               for ns, dev in ((tx, "vtx"), (rx, "vrx"))}
        live = sorted(d["mac"] for d in got if d["mac"] not in own)
        extra = sorted(set(live) - set(offline))
        check(live == offline, "extra %s missing %s; " % (extra[:5], sorted(set(offline) - set(live))[:5]) + "live capture learned the MACs ingest finds (%d vs %d)"
              % (len(live), len(offline)))
        # The agent hands over only what changed since its last hand-over (every 200 ms during
        # the replay): a device's addresses and names learned early must survive the later
        # activity-only observations. Routers aside (their detection window runs on packet
        # times, which differ between the file and the live capture), what the agent keeps of
        # each device is what ingest finds in the file.
        lost = []
        for d in got:
            o = offline_records.get(d["mac"])
            if o is None or d.get("router") or o.get("router"):
                continue
            for field in ("ipv4", "hostname"):
                if d.get(field) != o.get(field):
                    lost.append((d["mac"], field, d.get(field), o.get(field)))
        check(not lost, "%d devices differ from ingest, e.g. %s" % (len(lost), lost[:3]))
        print("%d answers to %d clients during the replay; %d packets, 0 drops, %d MACs"
              % (answers[0], CLIENTS, sent, len(live)))
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()


if __name__ == "__main__":
    main()
