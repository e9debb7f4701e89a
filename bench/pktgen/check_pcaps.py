#!/usr/bin/python3
"""The pktgen assets are what they say: check_pcaps.py [PKTGEN_DIR]

* make_pcaps.py, run again into a temp dir, writes exactly the committed pcaps;
* every frame is Ethernet / IPv4 (valid header checksum) / UDP 68->67 (checksum 0) / BOOTP
  with the DHCP magic cookie, 342 bytes, of the DHCP message type the file name says,
  REQUESTs with option 54 and option 50;
* dhcp.lua's XID and CHADDR_LOW offsets point at the xid and at chaddr bytes 2..5;
* a frame whose bytes at those offsets are randomised, as pktgen's masks do, still parses as
  the same kind of DHCP message with a valid IPv4 checksum, and names another client.
Exit 77 (skipped) when scapy is not installed.
"""
import os
import random
import re
import subprocess
import sys
import tempfile

try:
    from scapy.all import BOOTP, DHCP, IP, UDP, Ether, rdpcap
except ImportError:
    print("SKIP: scapy not installed")
    sys.exit(77)

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def ip_csum_ok(raw):
    hdr = raw[14:34]
    s = sum((hdr[i] << 8) | hdr[i + 1] for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s == 0xffff


def opt(pkt, name):
    for o in pkt[DHCP].options:
        if isinstance(o, tuple) and o[0] == name:
            return o[1]
    return None


def check_frame(raw, want_type, where):
    check(len(raw) == 342, "%s: length %d" % (where, len(raw)))
    check(ip_csum_ok(raw), "%s: IPv4 header checksum" % where)
    p = Ether(raw)
    check(IP in p and UDP in p and BOOTP in p and DHCP in p, "%s: not Ether/IP/UDP/BOOTP/DHCP"
          % where)
    if DHCP not in p:
        return None
    check(p[UDP].sport == 68 and p[UDP].dport == 67, "%s: ports" % where)
    check(p[UDP].chksum == 0, "%s: UDP checksum must be 0 for pktgen's masks" % where)
    check(p[UDP].len == 308 and p[IP].len == 328, "%s: IP/UDP lengths" % where)
    check(p[BOOTP].op == 1 and p[BOOTP].hlen == 6, "%s: op/hlen" % where)
    check(opt(p, "message-type") == want_type, "%s: message type %r" % (
        where, opt(p, "message-type")))
    if want_type == 3:
        check(opt(p, "server_id") == "198.18.0.1", "%s: option 54" % where)
        check(opt(p, "requested_addr") is not None, "%s: option 50" % where)
    return p


def main():
    lua = open(os.path.join(here, "dhcp.lua")).read()
    xid_off = int(re.search(r"^local XID = (\d+)", lua, re.M).group(1))
    ch_off = int(re.search(r"^local CHADDR_LOW = (\d+)", lua, re.M).group(1))

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(here, "make_pcaps.py"), tmp], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("discover.pcap", "request.pcap"):
            with open(os.path.join(here, name), "rb") as a, \
                    open(os.path.join(tmp, name), "rb") as b:
                check(a.read() == b.read(), "%s differs from make_pcaps.py's output" % name)

    rng = random.Random(13)
    clients = set()
    for name, want_type in (("discover.pcap", 1), ("request.pcap", 3)):
        frames = rdpcap(os.path.join(here, name))
        check(len(frames) >= 1, "%s: empty" % name)
        for k, f in enumerate(frames):
            raw = bytes(f)
            p = check_frame(raw, want_type, "%s[%d]" % (name, k))
            if p is None:
                continue
            check(raw[xid_off:xid_off + 4] == p[BOOTP].xid.to_bytes(4, "big"),
                  "%s[%d]: dhcp.lua XID offset %d is not the xid" % (name, k, xid_off))
            check(raw[ch_off - 2:ch_off + 4] == bytes(p[BOOTP].chaddr[:6]) and
                  raw[ch_off - 2:ch_off] == b"\x02\x42",
                  "%s[%d]: dhcp.lua CHADDR_LOW offset %d is not chaddr[2:6]" % (name, k,
                                                                                 ch_off))
            clients.add(bytes(p[BOOTP].chaddr[:6]))
        # What pktgen's random masks make of the first frame.
        raw = bytearray(bytes(frames[0]))
        for _ in range(20):
            raw[xid_off:xid_off + 4] = rng.getrandbits(32).to_bytes(4, "big")
            raw[ch_off:ch_off + 4] = rng.getrandbits(32).to_bytes(4, "big")
            p = check_frame(bytes(raw), want_type, "%s randomised" % name)
            if p is not None:
                clients.add(bytes(p[BOOTP].chaddr[:6]))
    check(len(clients) >= 1024 + 20, "distinct clients: %d" % len(clients))

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("pktgen assets OK: %d distinct clients seen" % len(clients))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
