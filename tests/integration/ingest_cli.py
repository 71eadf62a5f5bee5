#!/usr/bin/env python3
"""`edgeid ingest` command-line contract (DESIGN.md §10), on hand-built capture files.

usage: ingest_cli.py EDGEID_BINARY
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL: {what}")


def pcap(frames, linktype=1):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)) + f
    return out


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def dhcp_request(chaddr, hostname):
    bootp = bytes([1, 1, 6, 0]) + b"\x12\x34\x56\x78" + b"\0" * 20 + mac(chaddr) + b"\0" * 10
    bootp += b"\0" * 192 + b"\x63\x82\x53\x63"
    bootp += bytes([53, 1, 3, 12, len(hostname)]) + hostname + bytes([55, 3, 1, 3, 6, 255])
    udp = struct.pack(">HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(4), b"\xff\xff\xff\xff") + udp
    return b"\xff" * 6 + mac(chaddr) + b"\x08\x00" + ip


def arp_reply(sender, ip):
    body = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 2) + mac(sender) + bytes(ip)
    body += mac("00:11:22:33:44:55") + bytes([10, 0, 0, 1])
    return mac("00:11:22:33:44:55") + mac(sender) + b"\x08\x06" + body


def run(binary, *args):
    p = subprocess.run([binary, "ingest", *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", errors="replace")


def main(binary):
    tmp = tempfile.mkdtemp(prefix="edgeid-ingest-")

    def write(name, data):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # Usage errors: exit 2 with one line naming the problem.
    for args in ([], ["--pcap"], ["--bogus"], ["--json"]):
        code, out, err = run(binary, *args)
        check(code == 2, f"usage {args}: exit {code}, want 2")
        check(err.count("\n") == 1 and "edgeid ingest" in err, f"usage {args}: stderr {err!r}")

    # Unreadable and garbage files: exit 1, one clear line, no device output.
    garbage = write("garbage.pcap", b"this is not a capture file" * 3)
    for path in ("/nonexistent/x.pcap", garbage):
        code, out, err = run(binary, "--pcap", path)
        check(code == 1, f"{path}: exit {code}, want 1")
        check(out == "" and err.count("\n") == 1 and path in err, f"{path}: stderr {err!r}")

    # Hostile host names: quote, backslash, control characters, invalid UTF-8, valid UTF-8.
    nasty = b'a"b\\c\x01\x7f\xff\xc3\xa9\xed\xa0\x80z'
    a = write("a.pcap", pcap([dhcp_request("3c:22:fb:00:00:02", nasty),
                              arp_reply("3c:22:fb:00:00:02", [10, 0, 0, 2])]))
    b = write("b.pcap", pcap([arp_reply("02:00:00:00:00:01", [10, 0, 0, 3]),
                              arp_reply("00:00:5e:00:01:01", [10, 0, 0, 4])]))
    code, out, err = run(binary, "--json", "--pcap", a, "--pcap", b)
    check(code == 0, f"json run: exit {code}: {err}")
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]  # every line must be valid JSON
    macs = [r["mac"] for r in records]
    check(macs == sorted(macs), f"not sorted by MAC: {macs}")
    # 00:11:22:33:44:55 is only ever a destination: not a device.
    check(set(macs) == {"3c:22:fb:00:00:02", "02:00:00:00:00:01", "00:00:5e:00:01:01"},
          f"devices {macs}")
    by = {r["mac"]: r for r in records}
    host = by["3c:22:fb:00:00:02"]
    want = 'a"b\\c\u0001\u007f\u00ffé\u00ed\u00a0\u0080z'
    check(host.get("hostname") == want, f"hostname {host.get('hostname')!r} != {want!r}")
    check(host.get("hostname_source") == "dhcp", "hostname_source")
    check(host.get("dhcp", {}).get("param_list") == "1,3,6", f"param_list {host.get('dhcp')}")
    check(host.get("ipv4") == ["10.0.0.2"], f"ipv4 {host.get('ipv4')}")
    check(host["sources"] == ["arp", "dhcp"], f"sources {host['sources']}")
    check(host["first_seen"] == "2023-11-14T22:13:20Z", f"first_seen {host['first_seen']}")
    check(host["packets"] == 2 and host["bytes"] > 0, "packets/bytes")
    if os.path.exists("/usr/share/ieee-data/oui.csv"):
        check(host.get("vendor") == "Apple, Inc.", f"vendor {host.get('vendor')!r}")
    for absent in ("vlans", "ipv6", "router", "lldp", "cdp", "dhcpv6"):
        check(absent not in host, f"absent fact {absent} present")
    check(by["02:00:00:00:00:01"]["randomized"] is True, "random MAC not randomized")
    check(by["00:00:5e:00:01:01"]["randomized"] is False, "IANA MAC randomized")
    check("\\u0001" in lines[[i for i, m in enumerate(macs) if m.startswith("3c")][0]],
          "control character not escaped as \\u0001")
    check("frames=4" in err and "devices=3" in err, f"counters line: {err!r}")

    # Human table: a header and one aligned row per device, counters on stderr.
    code, out, err = run(binary, "--pcap", a, "--pcap", b)
    check(code == 0, f"table run: exit {code}")
    rows = out.splitlines()
    check(rows[0].startswith("MAC") and len(rows) == 4, f"table rows: {rows}")
    col = rows[0].index("VENDOR")
    check(all(len(r) <= col or r[col - 1] == " " for r in rows), "table columns not aligned")
    check("\\xff" in out and "\x01" not in out, "table does not escape unprintable bytes")
    check("frames=4" in err, "table mode: counters missing")

    # A file cut in the middle of a record: devices read so far are printed, then exit 1.
    whole = pcap([arp_reply("3c:22:fb:00:00:09", [10, 0, 0, 9]),
                  arp_reply("3c:22:fb:00:00:0a", [10, 0, 0, 10])])
    cut = write("cut.pcap", whole[:-10])
    code, out, err = run(binary, "--json", "--pcap", cut)
    check(code == 1, f"truncated file: exit {code}, want 1")
    check('"3c:22:fb:00:00:09"' in out, "truncated file: first device not printed")
    # ... and the files after it are still read, the error naming the file it came from.
    code, out, err = run(binary, "--json", "--pcap", cut, "--pcap", b)
    check(code == 1, f"truncated then good file: exit {code}, want 1")
    check('"3c:22:fb:00:00:09"' in out and '"02:00:00:00:00:01"' in out,
          f"truncated then good file: devices {out!r}")
    check(f"edgeid ingest: {cut}:" in err, f"truncated then good file: error line {err!r}")

    # Linux cooked capture (DLT 113) goes through the same path.
    sll = struct.pack(">HHH", 0, 1, 6) + mac("3c:22:fb:00:00:07") + b"\0\0" + b"\x08\x06"
    sll += arp_reply("3c:22:fb:00:00:07", [10, 0, 0, 7])[14:]
    code, out, err = run(binary, "--json", "--pcap", write("sll.pcap", pcap([sll], 113)))
    check(code == 0 and '"ipv4":["10.0.0.7"]' in out, f"SLL: {code} {out} {err}")

    print(f"{len(FAILURES)} failures")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
