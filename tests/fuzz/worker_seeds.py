#!/usr/bin/env python3
"""Seed inputs for fuzz_worker (tests/fuzz/fuzz_worker.c): python3 worker_seeds.py DIR.

Each input is a list of {u8 ctl, u16 length (big endian), frame}; ctl bit 0 ends a burst,
bit 1 lets every conflict-detection probe time out after it, bits 2-3 and 4-5 are the port's
IPv4 and L4 checksum verdicts (0 UNKNOWN, 1 BAD, 2 GOOD, 3 NONE), bits 6-7 of a burst's first
frame the port's TX checksum offloads during it (1 UDP, 2 IPv4 header, 3 both). Addresses as
in the harness's configuration (198.18.0.0/24 untagged, 198.18.7.0/24 on VLAN 7,
198.18.5.0/24 relayed)."""
import os
import struct
import sys

SRV = bytes([198, 18, 0, 1])
BCAST_MAC = b"\xff" * 6
SRV_MAC = b"\x02\x00\x00\x00\xaa\x01"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(src, dst, sport, dport, payload):
    ln = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, ln)
    u = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    c = csum(pseudo + u) or 0xFFFF
    return ip4(src, dst, 17, u[:6] + struct.pack("!H", c) + u[8:])


def eth(dst, src, payload, vlans=(), etype=0x0800):
    f = dst + src
    for tpid, vid in vlans:
        f += struct.pack("!HH", tpid, vid)
    return f + struct.pack("!H", etype) + payload


def dhcp(mtype, mac, xid, giaddr=b"\0" * 4, ciaddr=b"\0" * 4, opts=b"", flags=0x8000):
    m = struct.pack("!BBBBIHH4s4s4s4s", 1, 1, 6, 1 if giaddr != b"\0" * 4 else 0, xid, 0,
                    flags, ciaddr, b"\0" * 4, b"\0" * 4, giaddr)
    m += mac + b"\0" * 10 + b"\0" * 192 + b"\x63\x82\x53\x63"
    m += bytes([53, 1, mtype]) + opts + b"\xff"
    return m


def mac_of(i):
    return bytes([2, 0, 0, 0, (i >> 8) & 255, i & 255])


def client(mtype, i, opts=b"", vlans=()):
    mac = mac_of(i)
    p = udp(b"\0" * 4, b"\xff" * 4, 68, 67, dhcp(mtype, mac, 0x1000 + i, opts=opts))
    return eth(BCAST_MAC, mac, p, vlans)


def relayed(mtype, i, opts=b""):
    gi = bytes([198, 18, 5, 1])
    p = udp(gi, SRV, 67, 67, dhcp(mtype, mac_of(i), 0x2000 + i, giaddr=gi, opts=opts,
                                  flags=0) )
    return eth(SRV_MAC, b"\x02\x00\x00\x00\xbb\x01", p)


def arp(op, sha, spa, tpa, tha=b"\0" * 6, dst=BCAST_MAC):
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)
    return eth(dst, sha, a, etype=0x0806)


def echo(src, dst, ident=7, seq=1, typ=8, src_mac=b"\x02\x00\x00\x00\xcc\x01"):
    icmp = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + b"leasewire"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    return eth(SRV_MAC, src_mac, ip4(src, dst, 1, icmp))


def rec(frame, ctl=0):
    return struct.pack("!BH", ctl, len(frame)) + frame


def ctl(end=0, ip=0, l4=0, tx=0):
    return end | ip << 2 | l4 << 4 | tx << 6


def bad_udp(frame):
    """@p frame with a byte of its DHCP sname changed: its UDP checksum no longer matches."""
    return frame[:100] + bytes([frame[100] ^ 0x5a]) + frame[101:]


def opt(code, val):
    return bytes([code, len(val)]) + val


SEEDS = {
    # A burst longer than DP_BURST (32): the warm pass takes the first 32.
    "01-discover-burst": b"".join(rec(client(1, i)) for i in range(40)) + rec(client(1, 40), 3),
    # DISCOVERs with a client identifier, one with an empty one (no key), then REQUESTs.
    "02-client-id": b"".join(
        rec(client(1, i, opt(61, b"\x01" + mac_of(i)))) for i in range(1, 6))
    + rec(client(1, 9, opt(61, b"")), 3)
    + b"".join(rec(client(3, i, opt(61, b"\x01" + mac_of(i)) + opt(54, SRV)
                          + opt(50, bytes([198, 18, 0, 100 + i])))) for i in range(1, 6)),
    # VLAN 7, an unknown VLAN, QinQ.
    "03-vlan": rec(client(1, 300, vlans=[(0x8100, 7)]))
    + rec(client(1, 301, vlans=[(0x8100, 9)]))
    + rec(client(1, 302, vlans=[(0x88A8, 5), (0x8100, 7)]), 3),
    # Relayed DISCOVER and REQUEST, option 82.
    "04-relayed": rec(relayed(1, 400, opt(82, b"\x01\x04port"))) + rec(relayed(1, 401), 3)
    + rec(relayed(3, 400, opt(54, SRV) + opt(50, bytes([198, 18, 5, 10]))), 1),
    # ARP for us, ARP for someone else, a reply that answers the probe of .100.
    "05-arp": rec(arp(1, b"\x02\x00\x00\x00\xdd\x01", bytes([198, 18, 0, 9]), SRV))
    + rec(arp(1, b"\x02\x00\x00\x00\xdd\x01", bytes([198, 18, 0, 9]), bytes([198, 18, 0, 2])))
    + rec(client(1, 500), 1)
    + rec(arp(2, b"\x02\x00\x00\x00\xee\x01", bytes([198, 18, 0, 100]), SRV, SRV_MAC,
              SRV_MAC), 3),
    # ICMP echo to us, to someone else, and an echo reply (as to the relayed scope's probe).
    "06-icmp": rec(echo(bytes([198, 18, 0, 9]), SRV))
    + rec(echo(bytes([198, 18, 0, 9]), bytes([198, 18, 0, 2])))
    + rec(relayed(1, 600), 1)
    + rec(echo(bytes([198, 18, 5, 10]), SRV, typ=0), 3),
    # Broken frames: short, bad IHL, IP options, UDP to 68, a truncated DHCP message.
    "07-broken": rec(b"\xff" * 10) + rec(client(1, 700)[:40])
    + rec(client(1, 701)[:14] + b"\x4f" + client(1, 701)[15:])
    + rec(client(1, 702)[:-40]) + rec(eth(BCAST_MAC, mac_of(703), udp(b"\0" * 4, b"\xff" * 4,
                                                                     67, 68, b"x" * 300)), 3),
    # INFORM, RELEASE, DECLINE, a BOOTP request (no option 53).
    "08-others": rec(client(8, 800)) + rec(client(7, 801, opt(54, SRV)))
    + rec(client(4, 802, opt(54, SRV) + opt(50, bytes([198, 18, 0, 120]))), 1)
    + rec(client(1, 803)[:-4] + b"\xff\x00\x00\x00", 3),
    # TX checksum offload on and off between bursts (a net_vhost peer reconnecting) and the
    # port's RX verdicts. VLAN 7 (no conflict detection): DISCOVERs under UDP offload; a
    # REQUEST's ACK (parked until durable) and a relayed REQUEST under UDP + IPv4; under IPv4
    # alone RX NONE, and a bad UDP sum the port calls GOOD (answered), BAD or UNKNOWN (dropped).
    # Untagged (ARP probes): a DISCOVER held and offered after the timeout under UDP offload;
    # one held under UDP offload and offered after the timeout in a burst without it.
    "09-csum-offload": rec(client(1, 900, vlans=[(0x8100, 7)]), ctl(0, 2, 2, 1))
    + rec(client(1, 901, vlans=[(0x8100, 7)]), ctl(1, 0, 0))
    + rec(client(3, 900, opt(54, bytes([198, 18, 7, 1])) + opt(50, bytes([198, 18, 7, 100])),
                 vlans=[(0x8100, 7)]), ctl(0, 2, 2, 3))
    + rec(relayed(3, 902, opt(54, SRV) + opt(50, bytes([198, 18, 5, 10]))), ctl(1, 1, 1))
    + rec(client(1, 904, vlans=[(0x8100, 7)]), ctl(0, 3, 3, 2))
    + rec(bad_udp(client(1, 905, vlans=[(0x8100, 7)])), ctl(0, 2, 2))
    + rec(bad_udp(client(1, 906, vlans=[(0x8100, 7)])), ctl(0, 2, 1))
    + rec(bad_udp(client(1, 907, vlans=[(0x8100, 7)])), ctl(1, 0, 0))
    + rec(client(1, 908), ctl(3, 0, 0, 1))
    + rec(client(1, 911), ctl(1, 0, 0, 1))
    + rec(client(1, 912, vlans=[(0x8100, 7)]), ctl(3, 0, 0, 0)),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
