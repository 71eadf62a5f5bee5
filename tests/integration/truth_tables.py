#!/usr/bin/env python3
"""Checks `edgeid ingest --json` against the tshark truth tables of the shared captures.

usage: truth_tables.py EDGEID_BINARY SHARED_DIR [CAPTURE_NAME ...]

SHARED_DIR is overridden by the environment variable EDGEID_SHARED_DIR. Without capture names,
every <shared>/pcaps/*.pcap* that has a *.expect.tsv is checked. Exit 0 = pass, 1 = mismatch,
77 = skipped (shared directory absent).

The truth tables list what tshark sees; our binding rules differ on purpose in a few places. Each
difference is a rule below, applied to every capture alike (no per-file exceptions):

  R1  Rows whose source ends in "!malformed" or "!truncated" are optional (parse-or-skip).
  R2  Group and all-zero MACs are never devices, and no fact is attributed to them.
  R3  Addresses a protocol makes the device claim (arp, rarp_reply, dhcp_ack*, bootp_reply,
      dhcp_ciaddr, ndp_src, ndp_na_target, dhcpv6_reply*) must be bound.
  R4  Addresses only seen as a packet source or announced (ip_unicast, ip_mcast_bcast, ip_sll,
      ip6_unicast, ip6_mcast, mdns*, nbns_*) must be bound unless the device is marked "router";
      a router must have none of them unless R3 also proves it.
  R5  Tentative addresses (arp_probe, ndp_dad) bind nothing: not required, and absent unless
      another rule binds them.
  R6  Addresses that cannot be a host's own (0.0.0.0/8, 224/3 and above) are never bound.
  R7  A device's address set is capped (MAX_ADDRESSES); a full set may miss rows.
  R8  LLMNR is not decoded; DHCPv6 ORO (option 6) is not kept; vendor names come from the IEEE
      registries, not Wireshark's manuf file, so oui_wireshark rows are not compared.
  R9  mDNS names are host names only: owner/target names "<host>.local" without service labels,
      reported without ".local". NBNS names are the unique <00>/<20> names without the suffix.
  R10 VLANs are checked on the MAC's own frames (kind "seen"), unless the device is "multi_vlan".
"""

import json
import os
import subprocess
import sys

SKIP = 77
MAX_ADDRESSES = 16

PROVEN = {"arp", "rarp_reply", "dhcp_ack", "dhcp_ack_relayed", "bootp_reply", "dhcp_ciaddr",
          "ndp_src", "ndp_na_target", "dhcpv6_reply", "dhcpv6_reply_relayed"}
SEEN = {"ip_unicast", "ip_mcast_bcast", "ip_sll", "ip6_unicast", "ip6_mcast", "mdns", "mdns_A",
        "mdns_AAAA", "nbns_registration", "nbns_registration_group", "nbns_response"}
TENTATIVE = {"arp_probe", "ndp_dad"}


def is_device_mac(mac):
    first = int(mac[:2], 16)
    return not (first & 1) and mac != "00:00:00:00:00:00"


def host_ipv4(value):
    first = int(value.split(".")[0])
    return 0 < first < 224


def norm_ipv6(value):
    import ipaddress
    return str(ipaddress.IPv6Address(value))


def read_truth(path):
    rows = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        header = None
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or not line:
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                continue
            rows.append(dict(zip(header, cols)))
    return rows


def mdns_host(value):
    if not value.lower().endswith(".local"):
        return None
    host = value[:-6]
    if not host or any(label.startswith("_") for label in host.split(".")):
        return None
    return host


def check_capture(binary, pcap, tsv):
    proc = subprocess.run([binary, "ingest", "--json", "--pcap", pcap], capture_output=True)
    if proc.returncode != 0:
        return [f"edgeid exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"]
    devices = {}
    problems = []
    for line in proc.stdout.decode("utf-8").splitlines():
        d = json.loads(line)
        devices[d["mac"]] = d
    macs = list(devices)
    if macs != sorted(macs):
        problems.append("output not sorted by MAC")
    for mac in devices:
        if not is_device_mac(mac):
            problems.append(f"{mac}: group/zero MAC reported as a device (R2)")

    rows = read_truth(tsv)
    required = [r for r in rows if not r["source"].endswith(("!malformed", "!truncated"))]
    proven_values = {}
    for r in rows:
        if r["kind"] in ("ipv4", "ipv6") and r["source"].split("!")[0] in PROVEN:
            value = r["value"] if r["kind"] == "ipv4" else norm_ipv6(r["value"])
            proven_values.setdefault(r["mac"], set()).add(value)

    def need(mac, what):
        d = devices.get(mac)
        if d is None:
            problems.append(f"{mac}: missing device (needed for {what})")
        return d

    def expect(cond, mac, msg):
        if not cond:
            problems.append(f"{mac}: {msg}")

    # Values per (mac, kind) so that a fact that changed over the capture accepts any of them.
    values = {}
    for r in required:
        values.setdefault((r["mac"], r["kind"]), set()).add(r["value"])

    checked = 0
    for r in required:
        mac, kind, value, source = r["mac"], r["kind"], r["value"], r["source"]
        if not is_device_mac(mac):
            continue
        checked += 1
        if kind == "seen":
            d = need(mac, "frame_src")
            if d and r["vlan"] not in ("-", "*") and not d.get("multi_vlan"):
                vlan = r["vlan"]
                if "." in vlan:
                    expect(vlan in d.get("vlan_stacks", []), mac, f"VLAN stack {vlan} missing")
                else:
                    expect(int(vlan) in d.get("vlans", []), mac, f"VLAN {vlan} missing")
        elif kind == "mac_locally_administered":
            d = need(mac, kind)
            if d and value == "0":
                expect(d["randomized"] is False, mac, "universal MAC reported randomized")
            elif d and value == "1" and "vendor" not in d:
                expect(d["randomized"] is True, mac, "unregistered local MAC not randomized")
        elif kind in ("ipv4", "ipv6"):
            if kind == "ipv4" and not host_ipv4(value):
                continue  # R6
            v = value if kind == "ipv4" else norm_ipv6(value)
            d = devices.get(mac)
            have = set(d.get(kind, [])) if d else set()
            full = len(have) >= MAX_ADDRESSES
            if source in PROVEN:
                if d is None:
                    problems.append(f"{mac}: missing device (needed for {kind} {v} from {source})")
                else:
                    expect(v in have or full, mac, f"{kind} {v} ({source}) not bound (R3)")
            elif source in SEEN:
                if d is None:
                    problems.append(f"{mac}: missing device (needed for {kind} {v} from {source})")
                elif d.get("router"):
                    expect(v not in have or v in proven_values.get(mac, set()), mac,
                           f"router has seen-only {kind} {v} bound (R4)")
                else:
                    expect(v in have or full, mac, f"{kind} {v} ({source}) not bound (R4)")
            elif source in TENTATIVE:
                expect(v not in have or v in proven_values.get(mac, set()) or
                       any(x["mac"] == mac and x["value"] == value and x["source"] in SEEN
                           for x in rows), mac, f"tentative {kind} {v} bound (R5)")
        elif kind in ("dhcp_hostname", "dhcp_fqdn", "dhcpv6_fqdn"):
            d = need(mac, kind)
            key = {"dhcp_hostname": "dhcp", "dhcp_fqdn": "dhcp_fqdn",
                   "dhcpv6_fqdn": "dhcpv6_fqdn"}[kind]
            if d:
                got = d.get("names", {}).get(key)
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
                if kind != "dhcpv6_fqdn":
                    expect(d.get("hostname_source") == "dhcp", mac, "hostname_source is not dhcp")
        elif kind == "dhcp_vendor_class":
            d = need(mac, kind)
            if d:
                got = d.get("dhcp", {}).get("vendor_class")
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
        elif kind == "dhcp_prl":
            d = need(mac, kind)
            if d:
                got = d.get("dhcp", {}).get("param_list")
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
        elif kind == "dhcpv6_duid":
            d = need(mac, kind)
            if d:
                got = d.get("dhcpv6", {}).get("duid")
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
        elif kind == "dhcpv6_vendor_class":
            d = need(mac, kind)
            if d:
                got = d.get("dhcpv6", {}).get("vendor_class")
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
        elif kind == "mdns_hostname":
            hosts = {h for h in (mdns_host(v) for v in values[(mac, kind)]) if h}
            if hosts:
                d = need(mac, kind)
                if d:
                    got = d.get("names", {}).get("mdns")
                    expect(got in hosts, mac, f"mdns name: got {got!r}, want one of {sorted(hosts)}")
        elif kind == "nbns_name":
            if source == "nbns_registration_group":
                continue
            names = {v[:-4].rstrip() for v in values[(mac, kind)]
                     if v.endswith(("<00>", "<20>"))}
            if value.endswith(("<00>", "<20>")):
                d = need(mac, kind)
                if d:
                    got = d.get("names", {}).get("nbns")
                    expect(got in names, mac, f"nbns name: got {got!r}, want one of {sorted(names)}")
        elif kind.startswith("lldp_"):
            d = need(mac, kind)
            if not d:
                continue
            lldp = d.get("lldp", {})
            if kind in ("lldp_chassis_id", "lldp_port_id"):
                field = kind[5:]
                got = f"{lldp.get(field + '_subtype')}:{lldp.get(field)}"
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
            elif kind == "lldp_mgmt_addr":
                got = lldp.get("management_address", "").replace(":", "")
                want = {v.replace(":", "") for v in values[(mac, kind)]}
                expect(got in want, mac, f"{kind}: got {got!r}, want {value!r}")
            else:
                field = {"lldp_system_name": "system_name", "lldp_system_desc": "system_description",
                         "lldp_port_desc": "port_description"}[kind]
                got = lldp.get(field, "").replace("\n", "\\n")
                expect(got in values[(mac, kind)], mac, f"{kind}: got {got!r}, want {value!r}")
        elif kind.startswith("cdp_"):
            d = need(mac, kind)
            if not d:
                continue
            cdp = d.get("cdp", {})
            field = {"cdp_device_id": "device_id", "cdp_port_id": "port_id",
                     "cdp_platform": "platform", "cdp_software": "software",
                     "cdp_address": "address", "cdp_native_vlan": "native_vlan"}[kind]
            got = str(cdp.get(field, ""))
            if kind == "cdp_software":
                # tshark shows the first line of the version text only.
                ok = any(got.startswith(v.rstrip()) for v in values[(mac, kind)])
            else:
                ok = got in values[(mac, kind)]
            expect(ok, mac, f"{kind}: got {got!r}, want {value!r}")
    return problems, checked


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary = argv[1]
    shared = os.environ.get("EDGEID_SHARED_DIR") or argv[2]
    pcaps = os.path.join(shared, "pcaps")
    if not os.path.isdir(pcaps):
        print(f"SKIP: shared captures not found at {pcaps} (set EDGEID_SHARED_DIR)")
        return SKIP
    names = argv[3:]
    if not names:
        names = sorted(n for n in os.listdir(pcaps) if ".pcap" in n or n.endswith(".cap"))
    failed = 0
    for name in names:
        pcap = os.path.join(pcaps, name)
        base = name.rsplit(".", 1)[0]
        tsv = os.path.join(pcaps, base + ".expect.tsv")
        if not os.path.exists(pcap) or not os.path.exists(tsv):
            print(f"{name}: capture or truth table missing")
            failed += 1
            continue
        result = check_capture(binary, pcap, tsv)
        if isinstance(result, list):
            problems, checked = result, 0
        else:
            problems, checked = result
        if problems:
            failed += 1
            print(f"FAIL {name}: {len(problems)} mismatches ({checked} rows checked)")
            for p in problems[:40]:
                print(f"  {p}")
        else:
            print(f"ok   {name}: {checked} rows checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
