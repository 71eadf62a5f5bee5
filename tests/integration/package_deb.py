#!/usr/bin/env python3
"""The Debian package on this machine: build it with CPack from the test build, install it with
dpkg, and check what an operator gets — the binary, users and groups, directories and modes, the
conffile, a unit that `systemd-analyze verify` accepts, the man page, a run — then purge it.

Also runs the installed agent the way the unit does (user edgeid, CAP_NET_RAW/CAP_NET_ADMIN as
ambient capabilities, nothing else) on the loopback interface: it must start, answer on its
socket, have no capability left, and stop cleanly on SIGTERM.

usage: package_deb.py BUILD_DIR      (needs root and dpkg; exits 77 otherwise)
"""
import json
import os
import pwd
import grp
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from control_socket import request  # noqa: E402


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    print("ok: " + what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120),
                          **kw)


def declared_depends(deb):
    out = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    return {d.strip().split(" ")[0] for d in out.split(",") if d.strip()}


def main():
    if len(sys.argv) != 2:
        fail("usage: package_deb.py BUILD_DIR")
    build = sys.argv[1]
    if os.geteuid() != 0 or not shutil.which("dpkg"):
        print("SKIP: installing a package needs root and dpkg")
        sys.exit(77)
    status = run(["dpkg-query", "-W", "-f=${Status}", "edgeid"]).stdout
    if "installed" in status and "not-installed" not in status:
        print("SKIP: an edgeid package is already installed here; not touching it")
        sys.exit(77)

    with tempfile.TemporaryDirectory() as tmp:
        out = run(["cpack", "-B", tmp], cwd=build, timeout=300)
        check(out.returncode == 0, "cpack builds the package: " + out.stderr[-500:])
        debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
        check(len(debs) == 1, "one .deb: %s" % debs)
        deb = os.path.join(tmp, debs[0])
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        check(run(["dpkg-deb", "-f", deb, "Architecture"]).stdout.strip() == arch,
              "the package is for " + arch)

        # The declared dependencies cover what dpkg-shlibdeps finds in the binary.
        tree = os.path.join(tmp, "tree")
        run(["dpkg-deb", "-x", deb, tree])
        os.makedirs(os.path.join(tree, "debian"))
        with open(os.path.join(tree, "debian", "control"), "w") as f:
            f.write("Source: edgeid\n")
        shl = run(["dpkg-shlibdeps", "-O", "-e", "usr/sbin/edgeid"], cwd=tree)
        check(shl.returncode == 0, "dpkg-shlibdeps runs: " + shl.stderr[-300:])
        found = {d.strip().split(" ")[0]
                 for d in shl.stdout.split("=", 1)[1].split(",") if d.strip()}
        missing = found - declared_depends(deb)
        check(not missing, "Depends declares every library the binary needs (%s)" %
              ", ".join(sorted(found)))
        check({"ieee-data", "ca-certificates"} <= declared_depends(deb),
              "Depends declares the OUI registry and the CA bundle")

        inst = run(["dpkg", "-i", deb], timeout=300)
        check(inst.returncode == 0, "dpkg -i: " + inst.stdout[-300:] + inst.stderr[-500:])
        try:
            installed(tmp)
        finally:
            purge = run(["dpkg", "--purge", "edgeid"], timeout=300)
        check(purge.returncode == 0, "dpkg --purge: " + purge.stderr[-300:])
        check(not os.path.exists("/usr/sbin/edgeid"), "purge removes the binary")
        check(not os.path.exists("/var/lib/edgeid"), "purge removes the inventory")


def installed(tmp):
    version = run(["/usr/sbin/edgeid", "--version"])
    check(version.returncode == 0 and version.stdout.startswith("edgeid "),
          "edgeid --version: " + version.stdout.strip())
    user = pwd.getpwnam("edgeid")
    check(user.pw_uid != 0 and user.pw_shell.endswith("nologin"), "system user edgeid")
    check(grp.getgrnam("edgeid-admin") is not None, "group edgeid-admin")
    st = os.stat("/var/lib/edgeid")
    check(st.st_uid == user.pw_uid and stat.S_IMODE(st.st_mode) == 0o750,
          "/var/lib/edgeid is edgeid's, mode 0750")
    conf = os.stat("/etc/edgeid/edgeid.json")
    check(conf.st_uid == 0 and conf.st_gid == grp.getgrnam("edgeid").gr_gid and
          stat.S_IMODE(conf.st_mode) == 0o640, "/etc/edgeid/edgeid.json root:edgeid 0640")
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "edgeid"]).stdout
    check("/etc/edgeid/edgeid.json" in conffiles, "the configuration is a conffile")
    cc = run(["/usr/sbin/edgeid", "config", "check", "/etc/edgeid/edgeid.json"])
    check(cc.returncode == 0, "the shipped configuration is valid: " + cc.stderr.strip())
    help_text = run(["/usr/sbin/edgeid", "help"]).stdout
    man = open("/usr/share/man/man8/edgeid.8").read().replace("\\-", "-")
    for line in help_text.splitlines():
        if line.startswith("  "):
            name = line.split()[0]
            check(".B " + name in man or ("| " + name) in man or (name + " |") in man,
                  "the man page covers `edgeid %s`" % name)
    if shutil.which("systemd-analyze"):
        verify = run(["systemd-analyze", "verify", "/lib/systemd/system/edgeid.service"])
        problems = [l for l in (verify.stdout + verify.stderr).splitlines()
                    if "edgeid.service" in l and "man edgeid" not in l]
        check(verify.returncode == 0 or not problems,
              "systemd-analyze verify accepts the unit: %s" % problems)
        check(not problems, "systemd-analyze verify reports nothing about the unit")
    else:
        fail("systemd-analyze is missing (scripts/setup installs systemd)")

    # One run on the sample, as the operator would try it.
    data = os.path.join(tmp, "data")
    cfg = os.path.join(tmp, "once.json")
    with open(cfg, "w") as f:
        json.dump({"sensor_id": "pkg-test",
                   "capture": {"pcap_files": [os.path.join(ROOT, "examples", "sample.pcap")]},
                   "store": {"data_dir": data},
                   "identity": {"source": "file",
                                "file": {"path": os.path.join(ROOT, "examples", "tenant.json")}}},
                  f)
    once = run(["/usr/sbin/edgeid", "run", "--once", "--config", cfg])
    check(once.returncode == 0 and "devices=16" in once.stderr,
          "edgeid run --once on the sample: " + once.stderr.strip())

    # As the unit runs it: user edgeid, ambient CAP_NET_RAW + CAP_NET_ADMIN, nothing else.
    rundir = os.path.join(tmp, "run")
    os.makedirs(rundir)
    live_data = os.path.join(tmp, "live")
    os.makedirs(live_data)
    for d in (rundir, live_data):
        os.chown(d, pwd.getpwnam("edgeid").pw_uid, grp.getgrnam("edgeid").gr_gid)
    os.chmod(tmp, 0o755)
    sock = os.path.join(rundir, "control.sock")
    live_cfg = os.path.join(tmp, "live.json")
    with open(live_cfg, "w") as f:
        json.dump({"sensor_id": "pkg-live", "capture": {"interfaces": ["lo"]},
                   "store": {"data_dir": live_data},
                   "control": {"socket": sock, "group": "edgeid", "admin_group": "edgeid-admin"},
                   "user": "edgeid"}, f)
    os.chmod(live_cfg, 0o644)
    agent = subprocess.Popen(
        ["setpriv", "--reuid=edgeid", "--regid=edgeid", "--init-groups",
         "--inh-caps=+net_raw,+net_admin", "--ambient-caps=+net_raw,+net_admin",
         "--bounding-set=-all,+net_raw,+net_admin",
         "/usr/sbin/edgeid", "run", "--config", live_cfg],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        answer = None
        while time.time() < deadline and answer is None:
            if agent.poll() is not None:
                fail("the agent exited: " + agent.stderr.read()[-800:])
            answer = request(sock, "status", timeout=5)
            if answer is None:
                time.sleep(0.2)
        check(answer is not None and answer.get("result") == 0,
              "the agent runs as edgeid with ambient capabilities and answers status")
        check(stat.S_IMODE(os.stat(sock).st_mode) == 0o660 and
              os.stat(sock).st_gid == grp.getgrnam("edgeid").gr_gid,
              "its socket is 0660, group edgeid")
        caps = {}
        for line in open("/proc/%d/status" % agent.pid):
            if line.startswith("Cap"):
                key, value = line.split(":")
                caps[key] = int(value.strip(), 16)
        check(caps.get("CapEff") == 0 and caps.get("CapPrm") == 0 and caps.get("CapAmb") == 0,
              "no capability left after the capture handles are open (%s)" % caps)
        interfaces = answer["arguments"].get("interfaces", [])
        check([i.get("name") for i in interfaces] == ["lo"] and interfaces[0].get("open"),
              "it captures on lo (opened with the ambient CAP_NET_RAW): %s" % interfaces)
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=10)
        check(code == 0, "SIGTERM: clean exit")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


if __name__ == "__main__":
    main()
