#!/usr/bin/env python3
"""Capture benchmark: `edgeid ingest` against a bare libpcap read loop and against tshark.

    bench/capture_bench.py EDGEID_BIN [options]

Generates (once, into a scratch directory that is never committed) a large synthetic capture with
edgeid-gen-capture, then times in the same run, interleaved and repeated:

  floor   edgeid-bench-floor FILE                  libpcap pcap_next_ex loop, counts packets/bytes
  edgeid  EDGEID_BIN ingest --pcap FILE --json     > /dev/null
  tshark  tshark -n -r PREFIX -T fields -e ...     > /dev/null, on a prefix of the capture (tshark
                                                   is ~100x slower); scaled to the full file

and reports medians of wall time, CPU time (user+sys) and peak RSS, and the ratios
edgeid/floor, tshark/edgeid and edgeid's peak RSS. It also checks correctness: an untimed
`ingest --json` run must find every MAC of the generator's truth table.

Measurement: wall = monotonic clock around the process; CPU = user+sys of the process tree from
wait4() (microseconds; GNU time's %U+%S say the same with 10 ms resolution); peak RSS = GNU time's
%M (max resident set, KiB). Every process runs under `/usr/bin/time -f`, so GNU time must be
installed (Debian package `time`). The page cache is warmed first; ratios are only meaningful
within one run, on the same machine.

Exit status: 0 when every measurement ran and every truth MAC was found, 1 otherwise, 2 on usage
errors. Missed targets are reported, not turned into a failure: benchmarks are not assertions.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GNU_TIME = "/usr/bin/time"
OUI_CSV = "/usr/share/ieee-data/oui.csv"

# The facts edgeid learns, as tshark fields (tshark 4.0 names).
TSHARK_FIELDS = [
    "eth.src", "vlan.id", "ieee8021ad.id",
    "arp.src.hw_mac", "arp.src.proto_ipv4",
    "ip.src", "ipv6.src",
    "dhcp.hw.mac_addr", "dhcp.ip.your", "dhcp.option.hostname", "dhcp.option.vendor_class_id",
    "dhcp.option.request_list_item", "dhcp.option.requested_ip_address", "dhcp.client_id",
    "dhcp.fqdn.name",
    "dhcpv6.client_domain", "dhcpv6.duid.bytes",
    "icmpv6.opt.linkaddr", "icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address",
    "dns.resp.name", "dns.a", "dns.aaaa", "nbns.name",
    "lldp.tlv.system.name", "lldp.chassis.id.mac", "cdp.deviceid",
]

TARGETS = {"edgeid_over_floor": 1.3, "tshark_over_edgeid": 100.0, "edgeid_rss_mib": 32.0}


def say(msg):
    print(f"[capture_bench] {msg}", file=sys.stderr, flush=True)


def die(msg, code=1):
    say(f"error: {msg}")
    sys.exit(code)


def run_timed(cmd, stdout_path=os.devnull):
    """Runs cmd under GNU time; returns wall/user/sys/cpu seconds, peak RSS KiB and exit code."""
    with tempfile.NamedTemporaryFile("r", prefix="gnutime-", delete=False) as tf:
        time_out = tf.name
    try:
        with open(stdout_path, "wb") as out, open(os.devnull, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen([GNU_TIME, "-f", "%e %U %S %M", "-o", time_out, "--"] + cmd,
                                    stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        with open(time_out) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        # GNU time prefixes "Command exited with non-zero status N" when the command fails.
        e, u, s, m = lines[-1].split()
    finally:
        os.unlink(time_out)
    return {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_kib": int(m),
        "gnu_time": {"elapsed": float(e), "user": float(u), "sys": float(s), "maxrss_kib": int(m)},
        "rc": proc.returncode,
    }


def find_tool(explicit, edgeid_bin, name):
    if explicit:
        return Path(explicit)
    guesses = [Path(edgeid_bin).resolve().parent.parent / "bench" / name,
               Path(__file__).resolve().parent.parent / "build-bench" / "bench" / name]
    for g in guesses:
        if g.is_file() and os.access(g, os.X_OK):
            return g
    die(f"cannot find {name}; build it (ninja -C BUILD {name}) or pass --{name.split('-')[-1]}")


def read_truth(path):
    rows = {}
    header = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if header is None:
                header = cols
                continue
            rows[cols[0]] = dict(zip(header, cols))
    return rows


def ensure_capture(args, gen):
    oui = OUI_CSV if Path(OUI_CSV).is_file() and not args.no_oui_csv else None
    stem = f"synthetic-s{args.seed}-p{args.packets}-m{args.macs}-v{args.vlans}" + \
        ("-oui" if oui else "")
    pcap = args.workdir / f"{stem}.pcap"
    truth = args.workdir / f"{stem}.truth.tsv"
    if pcap.is_file() and truth.is_file():
        say(f"reusing {pcap}")
    else:
        cmd = [str(gen), "--seed", str(args.seed), "--packets", str(args.packets),
               "--macs", str(args.macs), "--vlans", str(args.vlans),
               "--out", str(pcap), "--truth", str(truth)]
        if oui:
            cmd += ["--oui-csv", oui]
        say("generating: " + " ".join(cmd))
        subprocess.run(cmd, check=True)
    return pcap, truth


def make_prefix(full, n, workdir):
    prefix = workdir / f"{full.stem}.first{n}.pcap"
    if prefix.is_file():
        return prefix
    if shutil.which("editcap"):
        subprocess.run(["editcap", "-r", str(full), str(prefix), f"1-{n}"], check=True)
    elif shutil.which("tcpdump"):
        subprocess.run(["tcpdump", "-r", str(full), "-c", str(n), "-w", str(prefix)], check=True,
                       stderr=subprocess.DEVNULL)
    else:
        die("need editcap (wireshark-common) or tcpdump to cut the tshark prefix")
    return prefix


def packet_count(floor, pcap):
    out = subprocess.run([str(floor), str(pcap)], check=True, capture_output=True, text=True)
    fields = dict(kv.split("=") for kv in out.stdout.split())
    return int(fields["packets"]), int(fields["bytes"])


def edgeid_available(edgeid, sample):
    proc = subprocess.run([edgeid, "ingest", "--pcap", str(sample), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or "not built yet" in proc.stderr:
        return False, (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
    return True, ""


def check_correctness(edgeid, pcap, truth_rows, workdir):
    out_path = workdir / "ingest.ndjson"
    err_path = workdir / "ingest.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        rc = subprocess.run([edgeid, "ingest", "--pcap", str(pcap), "--json"], stdout=out,
                            stderr=err).returncode
    result = {"rc": rc, "summary": err_path.read_text(errors="replace").strip()[-2000:]}
    records = {}
    order = []
    bad_lines = 0
    with open(out_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
                records[rec["mac"]] = rec
                order.append(rec["mac"])
            except (ValueError, KeyError):
                bad_lines += 1
    truth = set(truth_rows)
    found = set(records)
    missing = sorted(truth - found)
    by_role = {}
    for mac in missing:
        role = truth_rows[mac]["role"]
        by_role[role] = by_role.get(role, 0) + 1
    rand_mismatch = [m for m in truth & found
                     if bool(records[m].get("randomized")) != (truth_rows[m]["randomized"] == "1")]
    host_mismatch = [m for m in truth & found if truth_rows[m]["hostname"] != "-"
                     and records[m].get("hostname") != truth_rows[m]["hostname"]]
    result.update({
        "truth_macs": len(truth), "found_macs": len(truth & found),
        "extra_macs": len(found - truth),
        "missing": len(missing), "missing_by_role": by_role, "missing_examples": missing[:5],
        "records": len(records), "unparsable_lines": bad_lines,
        "sorted_by_mac": order == sorted(order),
        "randomized_mismatch": len(rand_mismatch),
        "hostname_mismatch": len(host_mismatch),
        "hostname_mismatch_examples": [(m, truth_rows[m]["hostname"], records[m].get("hostname"))
                                       for m in sorted(host_mismatch)[:3]],
    })
    result["ok"] = rc == 0 and not missing and bad_lines == 0 and result["sorted_by_mac"]
    return result


def machine_info():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "loadavg_start": os.getloadavg()}


def tool_version(cmd, containing=""):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        lines = (out.stdout + out.stderr).strip().splitlines()
        return next(ln for ln in lines if containing in ln)
    except (OSError, StopIteration, subprocess.TimeoutExpired):
        return "?"


def fmt_s(x):
    return f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("edgeid", help="path to the edgeid binary (e.g. build-bench/agent/edgeid)")
    ap.add_argument("--gen", help="edgeid-gen-capture binary (default: next to edgeid's build)")
    ap.add_argument("--floor", help="edgeid-bench-floor binary (default: next to edgeid's build)")
    ap.add_argument("--workdir", type=Path,
                    default=Path(os.environ.get("TMPDIR", "/tmp")) / "edgeid-bench",
                    help="scratch directory for the capture and results (default $TMPDIR/"
                         "edgeid-bench)")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--macs", type=int, default=20_000)
    ap.add_argument("--vlans", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-oui-csv", action="store_true",
                    help="do not draw long-tail vendors from /usr/share/ieee-data/oui.csv")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tshark-packets", type=int, default=100_000,
                    help="time tshark on this many leading packets and scale (default 100000)")
    ap.add_argument("--no-tshark", action="store_true")
    ap.add_argument("--json-out", type=Path, help="raw results (default WORKDIR/results.json)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)

    if not Path(GNU_TIME).is_file():
        die("GNU time is missing: apt-get install -y time (scripts/setup should install it)", 2)
    if args.rounds < 1 or args.packets < 1000:
        die("--rounds must be >= 1 and --packets >= 1000", 2)
    edgeid = str(Path(args.edgeid).resolve())
    gen = find_tool(args.gen, edgeid, "edgeid-gen-capture")
    floor = find_tool(args.floor, edgeid, "edgeid-bench-floor")
    tshark = None if args.no_tshark else shutil.which("tshark")
    if not args.no_tshark and not tshark:
        say("tshark not found: the tshark rows will be skipped (apt-get install tshark)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()

    pcap, truth_path = ensure_capture(args, gen)
    truth_rows = read_truth(truth_path)
    full_packets, full_bytes = packet_count(floor, pcap)  # also warms the page cache
    prefix_n = min(args.tshark_packets, full_packets)
    prefix = make_prefix(pcap, prefix_n, args.workdir) if prefix_n < full_packets else pcap
    prefix_packets, _ = packet_count(floor, prefix)
    subprocess.run(["cat", str(pcap), str(prefix)], stdout=subprocess.DEVNULL, check=True)

    have_edgeid, why = edgeid_available(edgeid, prefix)
    if not have_edgeid:
        say(f"edgeid ingest is not usable yet ({why}): edgeid rows are PENDING")

    jobs = [("floor", "full", [str(floor), str(pcap)])]
    if have_edgeid:
        jobs.append(("edgeid", "full", [edgeid, "ingest", "--pcap", str(pcap), "--json"]))
        if prefix is not pcap:
            jobs.append(("edgeid", "prefix", [edgeid, "ingest", "--pcap", str(prefix), "--json"]))
    if tshark:
        cmd = [tshark, "-n", "-r", str(prefix), "-T", "fields", "-E", "separator=/t"]
        for fld in TSHARK_FIELDS:
            cmd += ["-e", fld]
        jobs.append(("tshark", "prefix", cmd))
    if prefix is not pcap:
        jobs.append(("floor", "prefix", [str(floor), str(prefix)]))

    samples = {(j[0], j[1]): [] for j in jobs}
    for r in range(args.rounds):
        order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]  # rotate: no job always goes first
        for tool, inp, cmd in order:
            m = run_timed(cmd)
            if m["rc"] != 0:
                die(f"{tool} on the {inp} input exited {m['rc']}: {' '.join(cmd)}")
            samples[(tool, inp)].append(m)
            say(f"round {r + 1}/{args.rounds} {tool:6} {inp:6} wall {fmt_s(m['wall'])} s  "
                f"cpu {fmt_s(m['cpu'])} s  rss {m['rss_kib'] / 1024:.1f} MiB")

    med = {}
    for key, ms in samples.items():
        med[key] = {k: statistics.median(m[k] for m in ms) for k in ("wall", "cpu", "rss_kib")}

    correctness = check_correctness(edgeid, pcap, truth_rows, args.workdir) if have_edgeid else None

    scale = full_packets / prefix_packets
    ratios = {}
    if have_edgeid:
        for k in ("wall", "cpu"):
            ratios[f"edgeid_over_floor_{k}"] = (
                med[("edgeid", "full")][k] / med[("floor", "full")][k])
        ratios["edgeid_rss_mib"] = med[("edgeid", "full")]["rss_kib"] / 1024
        if tshark:
            for k in ("wall", "cpu"):
                ratios[f"tshark_over_edgeid_{k}_scaled"] = (
                    med[("tshark", "prefix")][k] * scale / med[("edgeid", "full")][k])
                if ("edgeid", "prefix") in med:
                    ratios[f"tshark_over_edgeid_{k}_same_prefix"] = (
                        med[("tshark", "prefix")][k] / med[("edgeid", "prefix")][k])

    results = {
        "machine": machine,
        "versions": {"tshark": tool_version([tshark, "-v"]) if tshark else None,
                     "libpcap": tool_version(["tcpdump", "--version"], "libpcap")
                     if shutil.which("tcpdump") else None,
                     "edgeid": tool_version([edgeid, "version"])},
        "command": " ".join(sys.argv),
        "capture": {"file": str(pcap), "packets": full_packets, "bytes": full_bytes,
                    "mean_frame": full_bytes / full_packets, "truth_macs": len(truth_rows),
                    "prefix_packets": prefix_packets, "rounds": args.rounds,
                    "seed": args.seed, "macs": args.macs, "vlans": args.vlans},
        "median": {f"{t}/{i}": v for (t, i), v in med.items()},
        "samples": {f"{t}/{i}": v for (t, i), v in samples.items()},
        "ratios": ratios,
        "edgeid_pending": None if have_edgeid else why,
        "correctness": correctness,
    }
    results["machine"]["loadavg_end"] = os.getloadavg()
    json_out = args.json_out or args.workdir / "results.json"
    json_out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    # Report.
    print(f"\ncapture: {pcap.name}: {full_packets} packets, {full_bytes} bytes "
          f"(mean {full_bytes / full_packets:.0f} B), {len(truth_rows)} MACs in the truth table")
    print(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
          f"load {results['machine']['loadavg_start'][0]:.2f} -> "
          f"{results['machine']['loadavg_end'][0]:.2f}; medians of {args.rounds} interleaved "
          f"rounds\n")
    print(f"| {'run':30} | {'packets':>9} | {'wall s':>8} | {'cpu s':>8} | {'peak RSS MiB':>12} |")
    print(f"|{'-' * 32}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 14}|")
    whole = prefix is pcap  # tshark ran on the whole file: nothing is scaled
    labels = {("floor", "full"): "floor (libpcap loop)", ("edgeid", "full"): "edgeid ingest --json",
              ("floor", "prefix"): "floor, prefix", ("edgeid", "prefix"): "edgeid, prefix",
              ("tshark", "prefix"): "tshark -T fields" + ("" if whole else ", prefix")}
    for key in [("floor", "full"), ("edgeid", "full"), ("floor", "prefix"), ("edgeid", "prefix"),
                ("tshark", "prefix")]:
        if key not in med:
            continue
        n = full_packets if key[1] == "full" else prefix_packets
        v = med[key]
        print(f"| {labels[key]:30} | {n:>9} | {fmt_s(v['wall']):>8} | {fmt_s(v['cpu']):>8} | "
              f"{v['rss_kib'] / 1024:>12.1f} |")
    if tshark and prefix is not pcap:
        v = med[("tshark", "prefix")]
        print(f"| {'tshark, scaled x' + format(scale, '.1f') + ' (estimate)':30} | "
              f"{full_packets:>9} | {fmt_s(v['wall'] * scale):>8} | {fmt_s(v['cpu'] * scale):>8} |"
              f" {'-':>12} |")
    print()

    def verdict(ok):
        return "meets target" if ok else "MISSES target"

    if have_edgeid:
        t = TARGETS
        for k in ("wall", "cpu"):
            x = ratios[f"edgeid_over_floor_{k}"]
            print(f"edgeid/floor ({k}):            {x:6.2f}x   target <= {t['edgeid_over_floor']}x"
                  f"   {verdict(x <= t['edgeid_over_floor'])}")
        if tshark:
            for k in ("wall", "cpu"):
                x = ratios[f"tshark_over_edgeid_{k}_scaled"]
                how = "whole file" if whole else "scaled"
                print(f"tshark/edgeid ({k}, {how}):    {x:6.1f}x   target >= "
                      f"{t['tshark_over_edgeid']:.0f}x   {verdict(x >= t['tshark_over_edgeid'])}")
                if f"tshark_over_edgeid_{k}_same_prefix" in ratios:
                    x = ratios[f"tshark_over_edgeid_{k}_same_prefix"]
                    print(f"tshark/edgeid ({k}, same {prefix_packets}-packet prefix): {x:6.1f}x")
        x = ratios["edgeid_rss_mib"]
        print(f"edgeid peak RSS, {len(truth_rows)} MACs: {x:6.1f} MiB  target <= "
              f"{t['edgeid_rss_mib']:.0f} MiB   {verdict(x <= t['edgeid_rss_mib'])}")
        c = correctness
        print(f"\ncorrectness: found {c['found_macs']}/{c['truth_macs']} truth MACs "
              f"({c['missing']} missing{' ' + str(c['missing_by_role']) if c['missing'] else ''}, "
              f"{c['extra_macs']} extra), "
              f"sorted by MAC: {c['sorted_by_mac']}, randomized flag mismatches: "
              f"{c['randomized_mismatch']}, hostname mismatches: {c['hostname_mismatch']}")
        if c["missing_examples"]:
            print(f"  missing e.g. {', '.join(c['missing_examples'])}")
        if c["hostname_mismatch_examples"]:
            print(f"  hostname (truth, edgeid) e.g. {c['hostname_mismatch_examples']}")
        print(f"  ingest summary: {c['summary'].splitlines()[-1] if c['summary'] else '-'}")
    else:
        print(f"edgeid rows PENDING: {why}")
        print(f"reproduce once ingest exists: {' '.join(sys.argv)}")
    print(f"\nraw numbers: {json_out}")

    if have_edgeid and not correctness["ok"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
