#!/usr/bin/env python3
"""End to end on the real binary: `edgeid run` (the daemon) against the fake Graph service
(edgeid-fake-graph, real TLS, OAuth, paging, $batch and delta) and the shipped sample capture.

Asserts the merged inventory over the control socket (match by Wi-Fi MAC, by Ethernet MAC found
through $batch enrichment, a randomized MAC matched by DHCP host name at 0.6, a duplicate
enrolment in `conflicts`, identity_only, unmanaged, noncompliant, and a device whose Entra
record is removed and arrives by delta), then the control socket's defences (garbage, oversize,
truncated and empty requests, an unprivileged peer refused a mutating command), SIGHUP with a
bad file (rejected, old config kept), kill -9 and a restart (nothing committed lost, versions
carry on), and SIGTERM (clean exit within 5 s).

usage: daemon_e2e.py EDGEID FAKE_GRAPH
"""
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "examples", "sample.pcap")

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "fake-client-secret-value"


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)


def gid(n):
    return "%08x-0000-4000-8000-%012x" % (n, n)


def intune(n, name, wifi, *, last_sync="2026-11-20T10:00:00Z", compliance="compliant",
           os_name="Windows", upn=None, aad=None):
    return {
        "id": gid(n), "deviceName": name, "operatingSystem": os_name, "osVersion": "10.0",
        "deviceEnrollmentType": "windowsAzureADJoin",
        "userPrincipalName": upn or ("user%d@contoso.example" % n),
        "complianceState": compliance, "managementAgent": "mdm",
        "managedDeviceOwnerType": "company", "serialNumber": "SN%04d" % n,
        "wiFiMacAddress": wifi, "ethernetMacAddress": None,
        "azureADDeviceId": aad or "00000000-0000-0000-0000-000000000000",
        "lastSyncDateTime": last_sync,
    }


def entra(n, name, device_id, os_name="Linux"):
    return {"id": gid(0x1000 + n), "deviceId": device_id, "displayName": name,
            "operatingSystem": os_name, "operatingSystemVersion": "22.04", "trustType": "Workplace",
            "accountEnabled": True, "approximateLastSignInDateTime": "2026-11-20T09:00:00Z"}


class FakeGraph:
    def __init__(self, binary, tmp):
        self.ca = os.path.join(tmp, "fake-ca.pem")
        self.proc = subprocess.Popen([binary, self.ca], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        check(len(first) == 2 and first[0] == "url", "fake graph printed its url: %s" % first)
        self.url = first[1]

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        check(answer == "ok" or line == "counters", "fake graph: %s -> %s" % (line, answer))
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def ctl(binary, sock, *args, timeout=30):
    return subprocess.run([binary, *args, "--socket", sock], capture_output=True, text=True,
                          timeout=timeout)


def status(binary, sock):
    r = ctl(binary, sock, "status", "--json")
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def devices(binary, sock):
    r = ctl(binary, sock, "devices", "--json", "--limit", "100000")
    check(r.returncode == 0, "devices: " + r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines()]


def wait_for(what, predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    fail("timed out waiting for " + what)


def raw_request(sock, payload, shutdown=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sock)
    s.sendall(payload)
    if shutdown:
        s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data.decode())


def service_user():
    """As root the agent drops to an unprivileged user; otherwise it stays who it is."""
    if os.geteuid() == 0:
        return "nobody", ("nogroup", "root")
    return pwd.getpwuid(os.geteuid()).pw_name, None


def write_config(path, tmp, fake, sock, data, user, group, flush=1):
    control = {"socket": sock}
    if group:
        control.update({"group": group[0], "admin_group": group[1]})
    config = {
        "sensor_id": "e2e-fw1",
        "capture": {"pcap_files": [SAMPLE]},
        "store": {"data_dir": data, "flush_interval_s": flush},
        "identity": {"source": "graph", "graph": {
            "cloud": "custom", "authority_url": fake.url, "graph_url": fake.url,
            "tenant_id": TENANT, "client_id": CLIENT_ID,
            "client_secret_file": os.path.join(tmp, "secret"), "ca_file": fake.ca,
            "intune_interval_s": 900, "entra_interval_s": 300}},
        "control": control,
        "user": user,
    }
    with open(path, "w") as f:
        json.dump(config, f)


def start(binary, config, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen([binary, "run", "--config", config], stdout=log, stderr=log)


def synced(binary, sock, after=""):
    st = status(binary, sock)
    if not st:
        return None
    sync = st["sync"]
    ok = all(sync.get(k, {}).get("result") == "ok" and sync[k].get("last_success", "") > after
             for k in ("intune", "entra"))
    return st if ok and st["capture"]["files_read"] == 1 else None


def expect_inventory(records, removed_entra):
    by_mac = {r["mac"]: r for r in records if r["state"] != "identity_only"}
    only = [r for r in records if r["state"] == "identity_only"]
    check(len(by_mac) == 16, "16 MACs of the sample, got %d" % len(by_mac))

    def managed(mac, by, confidence, intune_id):
        r = by_mac[mac]
        check(r["state"] == "managed", "%s managed: %s" % (mac, r["state"]))
        check(r["match"]["by"] == by, "%s matched by %s: %s" % (mac, by, r["match"]))
        check(abs(r["match"]["confidence"] - confidence) < 1e-9, "%s confidence" % mac)
        if intune_id:
            check(r["identity"]["intune_id"] == intune_id, "%s is %s" % (mac, intune_id))
        return r

    r = managed("04:92:26:cd:0e:18", "wifi_mac", 1.0, gid(1))
    check(r["match"].get("conflicts") == [gid(2)], "older enrolment in conflicts: %s" % r["match"])
    check(r["identity"].get("trust_type") == "AzureAd", "joined with its Entra record")
    managed("90:61:ae:a3:39:d1", "ethernet_mac", 1.0, gid(3))
    r = managed("de:d9:20:f8:c3:56", "hostname", 0.6, gid(4))
    check(r["randomized"] is True, "the randomized MAC is flagged")
    r = managed("5c:17:cf:4a:43:e5", "wifi_mac", 1.0, gid(5))
    check(r["identity"]["compliance_state"] == "noncompliant", "noncompliant device")
    check(by_mac["0c:c4:7a:b9:77:0b"]["state"] == "unmanaged", "the server is unmanaged")
    check("identity" not in by_mac["0c:c4:7a:b9:77:0b"], "unmanaged has no identity")
    check([o["identity"]["intune_id"] for o in only] == [gid(6)],
          "one identity_only record: %s" % [o["identity"].get("intune_id") for o in only])
    pi = by_mac["e4:5f:01:4f:0e:2d"]
    if removed_entra:
        check(pi["state"] == "unmanaged", "removed from Entra: unmanaged now (%s)" % pi["state"])
    else:
        check(pi["state"] == "managed" and pi["match"]["by"] == "hostname",
              "Entra-only device matched by host name: %s" % pi.get("match"))
    return by_mac


def main():
    binary, fake_binary = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # the unprivileged service user reaches the socket
        fake = FakeGraph(fake_binary, tmp)
        try:
            run(binary, fake, tmp)
        finally:
            fake.close()
    print("ok")


def run(binary, fake, tmp):
    # The tenant: every correlation case against MACs of examples/sample.pcap.
    device_id_1 = "aaaaaaaa-0000-4000-8000-000000000001"
    fake.command("add_intune %s - %s" % (gid(1), json.dumps(intune(
        1, "DESKTOP-Y32ELF3", "049226cd0e18", last_sync="2026-11-22T10:00:00Z",
        aad=device_id_1))))
    fake.command("add_intune %s - %s" % (gid(2), json.dumps(intune(   # re-enrolment, older
        2, "DESKTOP-OLD", "04:92:26:CD:0E:18", last_sync="2026-10-01T10:00:00Z"))))
    fake.command("add_intune %s 90:61:ae:a3:39:d1 %s" % (gid(3), json.dumps(intune(
        3, "WS-DOCK-03", "f0:de:f1:00:00:03"))))                # Ethernet MAC only via $batch
    fake.command("add_intune %s - %s" % (gid(4), json.dumps(intune(
        4, "Umars-MacBook-Air", "a4:83:e7:00:00:04", os_name="macOS"))))
    fake.command("add_intune %s - %s" % (gid(5), json.dumps(intune(
        5, "Android-e5", "5c17cf4a43e5", compliance="noncompliant", os_name="Android"))))
    fake.command("add_intune %s - %s" % (gid(6), json.dumps(intune(
        6, "TABLET-AWAY", "a4:83:e7:00:00:06"))))               # never on the wire
    fake.command("add_entra %s %s" % (gid(0x1001), json.dumps(dict(
        entra(1, "DESKTOP-Y32ELF3", device_id_1, "Windows"), trustType="AzureAd"))))
    fake.command("add_entra %s %s" % (gid(0x1007), json.dumps(entra(
        7, "ubuntu-f9b0", "aaaaaaaa-0000-4000-8000-000000000007"))))

    secret = os.path.join(tmp, "secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret, 0o600)
    user, group = service_user()
    run_dir = os.path.join(tmp, "run")  # like /run/edgeid: the service user's, so it can
    os.mkdir(run_dir, 0o755)            # remove its socket on exit after dropping root
    if os.geteuid() == 0:
        os.chown(run_dir, pwd.getpwnam(user).pw_uid, -1)
    sock = os.path.join(run_dir, "control.sock")
    data = os.path.join(tmp, "data")
    config = os.path.join(tmp, "edgeid.json")
    log_path = os.path.join(tmp, "agent.log")
    write_config(config, tmp, fake, sock, data, user, group)

    agent = start(binary, config, log_path)
    try:
        st = wait_for("both syncs and the capture file", lambda: synced(binary, sock))
        check(st["sync"]["enrichment"]["ethernet_lookups"] >= 1, "Ethernet MACs looked up")
        r = ctl(binary, sock, "flush")
        check(r.returncode == 0, "flush: " + r.stderr + r.stdout)
        by_mac = expect_inventory(devices(binary, sock), removed_entra=False)
        versions = {m: r["version"] for m, r in by_mac.items()}

        # `device` finds by MAC, IP, host name, UPN and serial.
        for key in ("5c:17:cf:4a:43:e5", "10.2.1.5", "user5@contoso.example", "SN0005"):
            r = ctl(binary, sock, "device", key, "--json")
            check(r.returncode == 0 and "5c:17:cf:4a:43:e5" in r.stdout, "device " + key)
        r = ctl(binary, sock, "device", "no-such-device")
        check(r.returncode != 0 or "no device" in (r.stdout + r.stderr).lower(),
              "device with no match says so")
        r = ctl(binary, sock, "devices", "--json", "--noncompliant")
        check([json.loads(x)["mac"] for x in r.stdout.splitlines()] == ["5c:17:cf:4a:43:e5"],
              "noncompliant filter")
        metrics = ctl(binary, sock, "metrics").stdout
        check('edgeid_devices{state="managed"} 5' in metrics, "metrics: managed count\n" + metrics)

        # The Entra-only device is deleted in the tenant; the next delta round removes it.
        before = synced(binary, sock)["sync"]["entra"]["last_success"]
        fake.command("remove_entra " + gid(0x1007))
        time.sleep(1.1)  # last_success has one-second resolution
        r = ctl(binary, sock, "sync")
        check(r.returncode == 0, "sync: " + r.stderr + r.stdout)
        wait_for("the delta round", lambda: synced(binary, sock, after=before))
        ctl(binary, sock, "flush")
        by_mac = expect_inventory(devices(binary, sock), removed_entra=True)
        check(by_mac["e4:5f:01:4f:0e:2d"]["version"] == versions["e4:5f:01:4f:0e:2d"] + 1,
              "the removal bumped that record's version")
        check(by_mac["04:92:26:cd:0e:18"]["version"] == versions["04:92:26:cd:0e:18"],
              "unchanged records keep their version")

        control_socket_defences(binary, sock)
        bad_reload(binary, sock, agent, config)

        # kill -9 in the middle of a run, then restart on the same data.
        committed = inventory(binary, data)
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=10)
        after_kill = inventory(binary, data)
        check(after_kill == committed, "nothing committed was lost by kill -9")
        agent = start(binary, config, log_path)
        wait_for("the restarted agent", lambda: synced(binary, sock))
        ctl(binary, sock, "flush")
        by_mac2 = expect_inventory(devices(binary, sock), removed_entra=True)
        for mac, rec in by_mac2.items():
            check(rec["version"] >= by_mac[mac]["version"], mac + " version carries on")
        check(by_mac2["04:92:26:cd:0e:18"]["version"] == by_mac["04:92:26:cd:0e:18"]["version"],
              "a restart does not bump an unchanged record:\n%s\n%s" % (
                  by_mac["04:92:26:cd:0e:18"], by_mac2["04:92:26:cd:0e:18"]))
        check(by_mac2["04:92:26:cd:0e:18"]["first_seen"] == by_mac["04:92:26:cd:0e:18"]["first_seen"],
              "first_seen survives the restart")

        # SIGTERM: flushed and gone within 5 s.
        t0 = time.time()
        agent.send_signal(signal.SIGTERM)
        rc = agent.wait(timeout=10)
        check(rc == 0, "exit 0 after SIGTERM, got %d" % rc)
        check(time.time() - t0 < 5, "stopped within 5 s (%.1f s)" % (time.time() - t0))
        check(not os.path.exists(sock), "control socket removed on exit")
        r = ctl(binary, sock, "status")
        check(r.returncode == 1 and "not running" in r.stderr, "CLI says the agent is not running")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        with open(log_path, errors="replace") as f:
            log = f.read()
        check(SECRET not in log, "the client secret never appears in the log")
        if os.environ.get("EDGEID_TEST_VERBOSE"):
            print(log)


def inventory(binary, data):
    r = subprocess.run([binary, "inventory", "--data-dir", data, "--json"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "inventory: " + r.stderr)
    return sorted(r.stdout.splitlines())


def control_socket_defences(binary, sock):
    for payload, what in ((b"this is not json\n", "garbage"),
                          (b"\n", "empty"),
                          (b'{"command": "status"', "truncated"),
                          (b'{"command": "' + b"x" * 70000 + b'"}\n', "oversize"),
                          (b'{"command": "no-such-command"}\n', "unknown command")):
        answer = raw_request(sock, payload)
        check(answer["result"] != 0, "%s request refused: %s" % (what, answer))
    check(status(binary, sock) is not None, "the daemon survived hostile requests")
    if os.geteuid() != 0:
        return  # an unprivileged peer needs root to impersonate; control_server tests cover it
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(65534)
            os.setgroups([])
            os.setuid(65534)
            answer = raw_request(sock, b'{"command": "sync"}\n')
            ok = answer["result"] == 1 and "not allowed" in answer.get("text", "").lower() or \
                answer["result"] == 1
            read = raw_request(sock, b'{"command": "status"}\n')
            os._exit(0 if ok and read["result"] == 0 else 3)
        except Exception as e:  # noqa: BLE001 - any failure fails the child
            print("child: %r" % e, file=sys.stderr)
            os._exit(4)
    _, code = os.waitpid(pid, 0)
    check(os.WEXITSTATUS(code) == 0, "an unprivileged peer: status yes, sync no (child %d)" % code)


def bad_reload(binary, sock, agent, config):
    with open(config) as f:
        good = f.read()
    with open(config, "w") as f:
        f.write('{"sensor_id": "x", "store": {"flush_interval_s": "soon"}}')
    agent.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    check(agent.poll() is None, "a bad config on SIGHUP does not stop the agent")
    r = ctl(binary, sock, "config-get", "--json")
    check(r.returncode == 0 and '"e2e-fw1"' in r.stdout, "the old config is kept: " + r.stdout)
    with open(config, "w") as f:
        f.write(good)


if __name__ == "__main__":
    main()
