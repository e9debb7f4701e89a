#!/usr/bin/python3
"""ping.py DST [COUNT]: ICMP echo through the kernel (raw socket, root), like `ping -c COUNT`.

iputils ping is not installed on the CI machines. The kernel routes and resolves DST with ARP,
so a reply proves that the server answered both ARP and ICMP echo. Exit 0 when every echo got
its reply (2 s each), 1 otherwise.
"""
import os
import select
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    dst = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    ident = os.getpid() & 0xFFFF
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    got = 0
    for seq in range(1, count + 1):
        payload = b"leasewire-e2e-%04d" % seq
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload
        t0 = time.monotonic()
        sock.sendto(pkt, (dst, 0))
        deadline = t0 + 2.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                print("no reply to icmp_seq=%d" % seq)
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                continue
            data, addr = sock.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            icmp = data[ihl:]
            if len(icmp) < 8:
                continue
            typ, code, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
            if addr[0] == dst and typ == 0 and rid == ident and rseq == seq:
                if icmp[8:] != payload:
                    print("icmp_seq=%d: payload differs" % seq)
                    break
                if csum(icmp) != 0:
                    print("icmp_seq=%d: bad ICMP checksum" % seq)
                    break
                got += 1
                print("reply from %s: icmp_seq=%d ttl=%d time=%.2f ms" %
                      (dst, seq, data[8], (time.monotonic() - t0) * 1000))
                break
    print("%d packets transmitted, %d received" % (count, got))
    return 0 if got == count else 1


if __name__ == "__main__":
    sys.exit(main())
