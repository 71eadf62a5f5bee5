#!/usr/bin/env python3
"""Graph sync benchmark: one full sync of a generated tenant (100 k Intune + 100 k Entra devices
by default) over loopback TLS, against the transport floor, in interleaved rounds.

    bench/graph_sync.py BUILD [--intune N] [--entra N] [--intune-page N] [--entra-page N]
                        [--rounds N] [--server replay|live] [--enrich N] [--workdir DIR] [--keep]

BUILD holds bench/edgeid-bench-graph-sync and tests/fakes/edgeid-fake-graph (ninja -C BUILD
edgeid-bench-graph-sync edgeid-fake-graph). Python 3, standard library only.

1. Starts edgeid-fake-graph with `generate INTUNE ENTRA` and `page_size` (default
   1000 Intune devices, 999 Entra devices per page) and records every page of one fetch.
2. The service for the rounds: --server replay (default) serves those recorded pages from memory
   (`edgeid-fake-graph --replay`), --server live the generating fake itself, whose Entra pages
   cost it tens of ms each at 100 k devices (it would be the bottleneck; see
   docs/PERFORMANCE.md). Either way the fake is another process: its CPU is not counted.
3. Primes the Ethernet-MAC cache file once (a sync without enrichment writes it): the agent's
   steady state, where an unchanged device costs a cache look-up and no $batch request.
4. Rounds, each job in a fresh process, the order rotated every round:
     fetch  edgeid-bench-graph-sync --mode fetch: the same GETs through the same HttpClient, TLS
            and token code, bodies dropped after finding the next link (the floor).
     sync   edgeid-bench-graph-sync --mode sync --mac-cache FILE: the agent's GraphClient and
            options, Intune list then Entra delta round, then the join the agent makes next.
   Figures of the sync window come from the binary (steady clock, getrusage, VmHWM); the process
   totals from wait4(); the fake's CPU during each job from /proc/PID/stat.
5. --enrich N (live fake, after the rounds): a sync whose first N cache look-ups miss, so N
   devices go through $batch (within the default budget when N <= 1000), against a warm one.

WORKDIR (--workdir, else a new $TMPDIR/edgeid-graphbench.*) holds the recorded pages (~90 MB) and
the cache file, removed at the end unless --workdir or --keep is given.

Prints medians and ratios; every sample goes to WORKDIR/results.json. Exit status 1 when a sync
fails or returns the wrong device counts; missed targets are reported, not failed.
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

TARGET_WALL_S = 5.0
TARGET_PEAK_MIB = 48.0


class Fake:
    """edgeid-fake-graph as a child process, driven over stdin/stdout."""

    def __init__(self, binary, ca_file, extra):
        self.proc = subprocess.Popen([binary, ca_file] + extra,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "url":
            raise SystemExit("edgeid-fake-graph did not print its url: %r" % first)
        self.url = first[1]
        self.ca_file = ca_file

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise SystemExit("edgeid-fake-graph: %s -> %s" % (line, answer))

    def cpu_s(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_bench(bench, fake, args, label):
    """Runs the bench binary once; its JSON plus process totals and the fake's CPU."""
    cmd = [bench, "--url", fake.url, "--ca", fake.ca_file] + args
    server_before = fake.cpu_s()
    start = time.monotonic()
    # Output to files, not pipes: wait4() (for the child's rusage) must not block on a full pipe.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        out_file.seek(0)
        err_file.seek(0)
        out = out_file.read().decode()
        err = err_file.read().decode()
    code = proc.returncode
    if code != 0:
        raise SystemExit("%s failed (exit %d): %s\n%s" % (label, code, " ".join(cmd), err))
    result = json.loads(out)
    # ru_maxrss is left out: for a child of fork+exec it includes Python's own RSS.
    result["process"] = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}
    result["server_cpu_s"] = fake.cpu_s() - server_before
    return result


def check_counts(result, intune, entra):
    joined = intune + entra - min(intune, entra)
    want = {"intune_devices": intune, "entra_devices": entra, "identities": joined}
    bad = {k: (result.get(k), v) for k, v in want.items() if result.get(k) != v}
    if bad:
        raise SystemExit("wrong counts (got, want): %r" % bad)


def median(values):
    return statistics.median(values) if values else float("nan")


def mib(kib):
    return kib / 1024.0


def machine():
    load = os.getloadavg()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "load_average": [round(x, 2) for x in load], "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--intune", type=int, default=100000)
    ap.add_argument("--entra", type=int, default=100000)
    ap.add_argument("--intune-page", type=int, default=1000)
    ap.add_argument("--entra-page", type=int, default=999)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--server", choices=["replay", "live"], default="replay")
    ap.add_argument("--enrich", type=int, default=0, metavar="N")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    print("command: %s" % " ".join([sys.argv[0]] + sys.argv[1:]), flush=True)

    bench = os.path.join(a.build, "bench", "edgeid-bench-graph-sync")
    fake_bin = os.path.join(a.build, "tests", "fakes", "edgeid-fake-graph")
    for path in (bench, fake_bin):
        if not os.access(path, os.X_OK):
            raise SystemExit("missing %s (ninja -C %s edgeid-bench-graph-sync edgeid-fake-graph)"
                             % (path, a.build))
    work = a.workdir or tempfile.mkdtemp(prefix="edgeid-graphbench.")
    os.makedirs(work, exist_ok=True)
    pages = os.path.join(work, "pages")
    os.makedirs(pages, exist_ok=True)
    cache = os.path.join(work, "mac-cache.bin")
    live = replay = None
    try:
        live = Fake(fake_bin, os.path.join(work, "live-ca.pem"), [])
        t0 = time.monotonic()
        live.command("generate %d %d" % (a.intune, a.entra))
        live.command("page_size %d %d" % (a.intune_page, a.entra_page))
        print("tenant: %d Intune + %d Entra devices generated in %.1f s, pages of %d / %d" %
              (a.intune, a.entra, time.monotonic() - t0, a.intune_page, a.entra_page), flush=True)
        rec = run_bench(bench, live, ["--mode", "fetch", "--record", pages], "record")
        print("recorded: %d + %d pages, %.1f MB of bodies" %
              (rec["intune_pages"], rec["entra_pages"], rec["body_bytes"] / 1e6), flush=True)
        if a.server == "replay":
            replay = Fake(fake_bin, os.path.join(work, "replay-ca.pem"), ["--replay", pages])
        service = replay or live
        prime = run_bench(bench, service,
                          ["--mode", "sync", "--no-enrich", "--write-mac-cache", cache], "prime")
        check_counts(prime, a.intune, a.entra)

        jobs = {
            "fetch": ["--mode", "fetch"],
            "sync": ["--mode", "sync", "--mac-cache", cache],
        }
        names = list(jobs)
        samples = {name: [] for name in names}
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                result = run_bench(bench, service, jobs[name], name)
                if name == "sync":
                    check_counts(result, a.intune, a.entra)
                    if result["ethernet_cached"] != a.intune:
                        raise SystemExit("MAC cache missed: %r" % result)
                samples[name].append(result)
            s, f = samples["sync"][-1], samples["fetch"][-1]
            print("round %d: sync %.2f s wall %.2f s CPU %.1f MiB | fetch %.2f s wall %.2f s CPU"
                  " | fake CPU %.2f / %.2f s" %
                  (r + 1, s["sync"]["wall_s"], s["sync"]["cpu_s"], mib(s["peak_rss_kib"]),
                   f["sync"]["wall_s"], f["sync"]["cpu_s"], s["server_cpu_s"],
                   f["server_cpu_s"]), flush=True)

        enrich = None
        if a.enrich > 0:
            warm = run_bench(bench, live, ["--mode", "sync", "--mac-cache", cache], "warm")
            cold = run_bench(bench, live, ["--mode", "sync", "--mac-cache", cache,
                                           "--cold", str(a.enrich)], "enrich")
            enrich = {"devices": a.enrich, "warm": warm, "cold": cold}
    finally:
        for fake in (replay, live):
            if fake:
                fake.stop()

    def med(name, *path):
        values = []
        for sample in samples[name]:
            v = sample
            for p in path:
                v = v[p]
            values.append(v)
        return median(values)

    sync_wall, fetch_wall = med("sync", "sync", "wall_s"), med("fetch", "sync", "wall_s")
    sync_cpu, fetch_cpu = med("sync", "sync", "cpu_s"), med("fetch", "sync", "cpu_s")
    wall_ratios = [s["sync"]["wall_s"] / f["sync"]["wall_s"]
                   for s, f in zip(samples["sync"], samples["fetch"])]
    cpu_ratios = [s["sync"]["cpu_s"] / f["sync"]["cpu_s"]
                  for s, f in zip(samples["sync"], samples["fetch"])]
    peak = med("sync", "peak_rss_kib")
    peak_join = med("sync", "peak_rss_with_join_kib")
    last = samples["sync"][-1]
    summary = {
        "sync_wall_s": sync_wall, "sync_cpu_s": sync_cpu,
        "sync_intune_wall_s": med("sync", "intune", "wall_s"),
        "sync_entra_wall_s": med("sync", "entra", "wall_s"),
        "join_wall_s": med("sync", "join", "wall_s"), "join_cpu_s": med("sync", "join", "cpu_s"),
        "fetch_wall_s": fetch_wall, "fetch_cpu_s": fetch_cpu,
        "wall_ratio": sync_wall / fetch_wall, "cpu_ratio": sync_cpu / fetch_cpu,
        "wall_ratio_per_round": wall_ratios, "cpu_ratio_per_round": cpu_ratios,
        "sync_peak_rss_mib": mib(peak), "sync_peak_rss_with_join_mib": mib(peak_join),
        "rss_before_mib": mib(med("sync", "rss_before_kib")),
        "fetch_peak_rss_mib": mib(med("fetch", "peak_rss_kib")),
        "heap_after_sync_mib": med("sync", "heap_after_bytes") / 1048576.0,
        "heap_per_identity_bytes": (med("sync", "heap_after_bytes") -
                                    med("sync", "heap_before_bytes")) / max(a.intune + a.entra, 1),
        "fake_cpu_during_sync_s": med("sync", "server_cpu_s"),
        "fake_cpu_during_fetch_s": med("fetch", "server_cpu_s"),
        "requests": last["requests"], "body_bytes": samples["fetch"][-1]["body_bytes"],
        "sizeof_identity": last["sizeof_identity"],
        "intune_text_bytes": last["intune_text_bytes"],
        "entra_text_bytes": last["entra_text_bytes"],
    }
    print()
    print("medians of %d rounds (%s service, %d Intune + %d Entra devices, %d requests, %.1f MB)"
          % (a.rounds, a.server, a.intune, a.entra, summary["requests"],
             summary["body_bytes"] / 1e6))
    print("  sync   wall %.3f s (Intune %.3f, Entra %.3f)  CPU %.3f s  peak RSS %.1f MiB"
          % (sync_wall, summary["sync_intune_wall_s"], summary["sync_entra_wall_s"], sync_cpu,
             mib(peak)))
    print("  join   wall %.3f s  CPU %.3f s  peak RSS with it %.1f MiB"
          % (summary["join_wall_s"], summary["join_cpu_s"], mib(peak_join)))
    print("  fetch  wall %.3f s  CPU %.3f s  peak RSS %.1f MiB (the floor)"
          % (fetch_wall, fetch_cpu, summary["fetch_peak_rss_mib"]))
    print("  sync / fetch: wall %.2fx (rounds %s), CPU %.2fx (rounds %s)"
          % (summary["wall_ratio"], " ".join("%.2f" % x for x in wall_ratios),
             summary["cpu_ratio"], " ".join("%.2f" % x for x in cpu_ratios)))
    print("  fake's CPU during a job: sync %.2f s, fetch %.2f s"
          % (summary["fake_cpu_during_sync_s"], summary["fake_cpu_during_fetch_s"]))
    print("  memory: RSS %.1f MiB before the sync, heap %.1f MiB after it (%.0f B per device"
          " held, texts shared between devices included); sizeof(Identity) %d B"
          % (summary["rss_before_mib"], summary["heap_after_sync_mib"],
             summary["heap_per_identity_bytes"], summary["sizeof_identity"]))
    print("targets: wall <= %.0f s: %.2f s %s; peak RSS <= %.0f MiB: %.1f MiB %s"
          % (TARGET_WALL_S, sync_wall, "meets" if sync_wall <= TARGET_WALL_S else "MISSES",
             TARGET_PEAK_MIB, mib(peak), "meets" if mib(peak) <= TARGET_PEAK_MIB else "MISSES"))
    if enrich:
        w, c = enrich["warm"], enrich["cold"]
        print("enrichment of %d devices (live fake, one sample): Intune phase %.3f -> %.3f s wall,"
              " %.3f -> %.3f s CPU, %d $batch inner requests, fake CPU %.2f -> %.2f s"
              % (a.enrich, w["intune"]["wall_s"], c["intune"]["wall_s"], w["intune"]["cpu_s"],
                 c["intune"]["cpu_s"], c["ethernet_lookups"], w["server_cpu_s"],
                 c["server_cpu_s"]))
    results = {"command": sys.argv, "machine": machine(), "summary": summary,
               "samples": samples, "enrich": enrich}
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("results: %s" % os.path.join(work, "results.json"))
    if not a.keep and not a.workdir:
        shutil.rmtree(pages, ignore_errors=True)
        os.remove(cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
