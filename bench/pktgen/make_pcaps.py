#!/usr/bin/python3
"""Write the pktgen-dpdk assets: DHCP frames that one pcap replays as many clients.

    make_pcaps.py OUTDIR [N]

discover.pcap  one DHCPDISCOVER, broadcast, chaddr 02:42:00:00:00:00. dhcp.lua randomises
               its xid and the last 4 bytes of its chaddr on every transmission (pktgen's
               random bit masks), so this one frame is a stream of distinct clients.
request.pcap   N DHCPREQUESTs (SELECTING: option 54 = 198.18.0.1, option 50 = the client's
               own address in 198.19.0.0/16) from N distinct clients 02:42:00:00:xx:xx;
               dhcp.lua randomises only the xid. Each is ACKed once its client has a binding
               (or got an OFFER); otherwise the server answers NAK or nothing (RFC 2131).

Frames are 342 bytes (a 300-byte BOOTP payload), untagged, with UDP checksum 0 ("not
computed", valid in IPv4): pktgen's random masks change bytes after the checksum was made
and do not recompute it. The IPv4 header checksum is valid (the masks never touch it).
Timestamps are fixed, so the output is byte-for-byte reproducible (check_pcaps.py checks
the committed files against a fresh run).
Run with /usr/bin/python3 (scapy).
"""
import os
import sys

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, Raw, wrpcap

SERVER = "198.18.0.1"
PRL = [1, 3, 6, 15, 51, 54, 58, 59]


def mac(i):
    return "02:42:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255,
                                          i & 255)


def frame(i, options):
    m = mac(i)
    bootp = bytes(BOOTP(op=1, chaddr=bytes.fromhex(m.replace(":", "")) + b"\0" * 10, xid=i,
                        flags=0x8000) / DHCP(options=options + ["end"]))
    bootp += b"\0" * (300 - len(bootp))
    pkt = (Ether(src=m, dst="ff:ff:ff:ff:ff:ff") /
           IP(src="0.0.0.0", dst="255.255.255.255", id=0) /
           UDP(sport=68, dport=67, chksum=0) / Raw(bootp))
    pkt = Ether(bytes(pkt))
    pkt.time = 0
    return pkt


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    os.makedirs(out, exist_ok=True)
    disc = [frame(0, [("message-type", "discover"), ("param_req_list", PRL)])]
    req = [frame(i, [("message-type", "request"), ("server_id", SERVER),
                     ("requested_addr", "198.19.%d.%d" % (i // 254, 1 + i % 254)),
                     ("param_req_list", PRL)])
           for i in range(n)]
    wrpcap(os.path.join(out, "discover.pcap"), disc)
    wrpcap(os.path.join(out, "request.pcap"), req)


if __name__ == "__main__":
    main()
