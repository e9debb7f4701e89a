#!/usr/bin/python3
"""Write the replay benchmark's input: N DISCOVERs and N REQUESTs from N distinct clients.

    make_pcaps.py OUTDIR [N]

discover.pcap: DHCPDISCOVER, broadcast flag, one per client (chaddr 02:4c:xx:xx:xx:xx).
request.pcap:  the same clients' DISCOVERs (asking for their address by option 50), then
               seven rounds of their DHCPREQUEST (SELECTING), server id 198.18.0.1, each for
               its own address in 198.19.0.0/16 (the bench scope), so every one is ACKed: a
               SELECTING REQUEST is ACKed only for an address offered to the client (flood
               control). Replayed endlessly, 7 frames in 8 are REQUESTs.
Frames are 342 bytes (300-byte BOOTP payload), the common size on real networks.
"""
import os
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, wrpcap


def client_mac(i):
    return "02:4c:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def frame(i, options):
    mac = client_mac(i)
    pkt = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
           UDP(sport=68, dport=67) /
           BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")) + b"\0" * 10, xid=0x10000 + i,
                 flags=0x8000) /
           DHCP(options=options + ["end"]))
    raw = bytes(pkt)
    pad = 342 - len(raw)
    if pad > 0:
        pkt = pkt / (b"\0" * pad)
    return Ether(bytes(pkt))


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    os.makedirs(out, exist_ok=True)
    disc = [frame(i, [("message-type", "discover"), ("param_req_list", [1, 3, 6, 15, 51, 54])])
            for i in range(n)]
    req = [frame(i, [("message-type", "request"), ("server_id", "198.18.0.1"),
                     ("requested_addr", "198.19.%d.%d" % (10 + i // 250, 1 + i % 250)),
                     ("param_req_list", [1, 3, 6, 15, 51, 54])])
           for i in range(n)]
    wrpcap(os.path.join(out, "discover.pcap"), disc)
    offer = [frame(i, [("message-type", "discover"),
                       ("requested_addr", "198.19.%d.%d" % (10 + i // 250, 1 + i % 250)),
                       ("param_req_list", [1, 3, 6, 15, 51, 54])])
             for i in range(n)]
    wrpcap(os.path.join(out, "request.pcap"), offer + req * 7)


if __name__ == "__main__":
    main()
