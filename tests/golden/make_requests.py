#!/usr/bin/python3
"""make_requests.py [OUT.pcap]: write the golden test's input frames (default: requests.pcap
next to this script). Deterministic: fixed MACs, xids, IP ids and timestamps, so the file is
byte-identical on every run. Needs scapy (/usr/bin/python3). Prints the frame table.

net_pcap hands the server the whole file as fast as it can, DP_BURST frames at a time, and an
ACK leaves only when its binding is durable, at the end of its burst. A real client waits for
its ACK before it renews or releases; here two GAPs of 128 frames the server ignores (ARP
requests for 198.18.0.77, not its address) stand for that wait, so C1's RENEW and RELEASE
reach the server in a later burst than the ACK they follow.

The frames (the "request" numbers expected.json refers to are these indexes):

    0  C1  DISCOVER, broadcast flag, asks for 198.18.0.105 (option 50), secs 5
    1  C1  REQUEST SELECTING 198.18.0.105, server id 198.18.0.1, broadcast flag
    2  relay 198.18.0.2: C3's DISCOVER, giaddr 198.18.0.2, hops 1, option 82 (circuit id,
           remote id), to the server's address and UDP port 67 from 67
    3  C2  REQUEST INIT-REBOOT for 198.18.0.105 (C1's address), no broadcast flag
    4  C4  INFORM, ciaddr 198.18.0.60, unicast to the server
    5  C5  BOOTP request (no option 53; 64-byte vend area with the RFC 1497 cookie); C5 has
           a reservation (198.18.0.50), the broadcast flag is set
    6  C4  ARP request: who has 198.18.0.1, tell 198.18.0.60
    7  C4  ICMP echo request to 198.18.0.1 (id 0x4c57, seq 1, 32-byte payload)
    8  relay 198.18.0.2: C7's INIT-REBOOT for 198.18.0.120 (not in the relayed subnet),
           option 82, no broadcast flag
    9  C2  DISCOVER without the broadcast flag, asks for 198.18.0.106
   10  C8  DISCOVER with a client identifier (option 61) and option 57 = 1500, broadcast
   11-138  GAP A (C1 waits for its ACK)                                drop_not_for_us
  139  C1  REQUEST RENEWING: ciaddr 198.18.0.105, unicast to the server, no options 50/54
  140-267  GAP B (C1 waits for the renewal's ACK)                      drop_not_for_us
  268  C1  RELEASE of 198.18.0.105 (ciaddr, server id), unicast to the server
  269  C1  DISCOVER again (no option 50), broadcast flag
 -- nothing below gets an answer --
  270  DISCOVER with a bad UDP checksum                          drop_udp_checksum
  271  BOOTP payload truncated to 100 bytes                      drop_bootp_truncated
  272  DISCOVER with a bad magic cookie                          drop_bad_cookie
  273  DISCOVER with hlen 17                                     drop_bad_hlen
  274  first IP fragment of a DISCOVER (MF set)                  drop_ip_fragment
  275  second IP fragment of it (offset != 0)                    drop_ip_fragment
  276  DISCOVER to UDP port 69                                   drop_udp_port
  277  DISCOVER with a bad IPv4 header checksum                  drop_ip_checksum
  278  ARP request for 198.18.0.77 (not ours)                    drop_not_for_us
  279  a BOOTREPLY (DHCPOFFER) from a rogue server, to port 67   drop_bootreply_received
  280  option 53 = 32 (no such message type)                     drop_bad_msg_type
  281  an option whose length runs past the end                  drop_option_overrun
  282  an IPv6 frame                                             drop_ethertype
  283  REQUEST SELECTING with server id 198.18.0.99 (not us)     drop_other_server
  284  INIT-REBOOT for 198.18.0.107 by a client we never saw     drop_unknown_client
"""
import os
import random
import sys

from scapy.all import (ARP, BOOTP, DHCP, ICMP, IP, UDP, Ether, IPv6, PcapWriter, Raw,
                       fragment)

random.seed(20261123)          # nothing below is random; this only pins scapy if it were

SERVER_MAC = "02:70:63:61:70:00"   # net_pcap's MAC: the port's address
BCAST = "ff:ff:ff:ff:ff:ff"
C1 = "02:00:5e:30:00:01"
C2 = "02:00:5e:30:00:02"
C3 = "02:00:5e:30:00:03"
C4 = "02:00:5e:30:00:04"
C5 = "02:00:5e:30:00:05"          # reserved: 198.18.0.50 (golden.json)
C6 = "02:00:5e:30:00:06"
C7 = "02:00:5e:30:00:07"
C8 = "02:00:5e:30:00:08"
BAD = "02:00:5e:30:00:ee"
RELAY = "02:00:5e:30:00:72"
ROGUE = "02:00:5e:30:00:99"
PRL = [1, 3, 6, 15, 51, 58, 59]


def chaddr(mac):
    return bytes.fromhex(mac.replace(":", "")) + b"\0" * 10


def bootp(mac, xid, flags=0, ciaddr="0.0.0.0", giaddr="0.0.0.0", hops=0, hlen=6, op=1,
          secs=5):
    return BOOTP(op=op, htype=1, hlen=hlen, hops=hops, xid=xid, secs=secs, flags=flags,
                 ciaddr=ciaddr, giaddr=giaddr, chaddr=chaddr(mac))


def dhcp(mtype, *opts, prl=True):
    o = [("message-type", mtype)] + list(opts)
    if prl:
        o.append(("param_req_list", PRL))
    return DHCP(options=o + ["end"])


def udp_frame(src_mac, payload, src="0.0.0.0", dst="255.255.255.255", eth_dst=BCAST,
              sport=68, dport=67, ip_id=1):
    return (Ether(src=src_mac, dst=eth_dst) / IP(src=src, dst=dst, id=ip_id) /
            UDP(sport=sport, dport=dport) / payload)


GAP = 128


def frames():
    """[(label, frame)] in file order."""
    f = []

    def add(label, fr):
        f.append((label, fr))

    opt82 = b"\x01\x06eth0/3" + b"\x02\x0cgolden-relay"
    opt82b = b"\x01\x06eth0/7" + b"\x02\x0cgolden-relay"
    add("C1 DISCOVER", udp_frame(C1, bootp(C1, 0x4C570100, flags=0x8000) /
                                 dhcp("discover", ("requested_addr", "198.18.0.105"))))
    add("C1 REQUEST selecting", udp_frame(C1, bootp(C1, 0x4C570100, flags=0x8000) /
                                          dhcp("request", ("server_id", "198.18.0.1"),
                                               ("requested_addr", "198.18.0.105"))))
    add("relayed DISCOVER (C3)",
        udp_frame(RELAY, bootp(C3, 0x4C570300, giaddr="198.18.0.2", hops=1) /
                  dhcp("discover", ("relay_agent_information", opt82)),
                  src="198.18.0.2", dst="198.18.0.1", eth_dst=SERVER_MAC, sport=67))
    add("C2 INIT-REBOOT for C1's address",
        udp_frame(C2, bootp(C2, 0x4C570200) / dhcp("request", ("requested_addr", "198.18.0.105"))))
    add("C4 INFORM", udp_frame(C4, bootp(C4, 0x4C570400, ciaddr="198.18.0.60") / dhcp("inform"),
                               src="198.18.0.60", dst="198.18.0.1", eth_dst=SERVER_MAC))
    vend = b"\x63\x82\x53\x63\xff" + b"\0" * 59        # cookie + END, 64-byte vend area
    add("C5 BOOTP", udp_frame(C5, bootp(C5, 0x4C570500, flags=0x8000, secs=0) / Raw(vend)))
    add("C4 ARP who-has 198.18.0.1",
        Ether(src=C4, dst=BCAST) / ARP(op=1, hwsrc=C4, psrc="198.18.0.60",
                                        hwdst="00:00:00:00:00:00", pdst="198.18.0.1"))
    add("C4 ICMP echo", Ether(src=C4, dst=SERVER_MAC) /
        IP(src="198.18.0.60", dst="198.18.0.1", id=9) / ICMP(type=8, id=0x4C57, seq=1) /
        Raw(bytes(range(32))))
    add("relayed INIT-REBOOT (C7) off-subnet",
        udp_frame(RELAY, bootp(C7, 0x4C570700, giaddr="198.18.0.2", hops=1) /
                  dhcp("request", ("requested_addr", "198.18.0.120"),
                       ("relay_agent_information", opt82b)),
                  src="198.18.0.2", dst="198.18.0.1", eth_dst=SERVER_MAC, sport=67))
    add("C2 DISCOVER unicast", udp_frame(C2, bootp(C2, 0x4C570201) /
                                         dhcp("discover", ("requested_addr", "198.18.0.106"))))
    add("C8 DISCOVER with client id",
        udp_frame(C8, bootp(C8, 0x4C570800, flags=0x8000) /
                  dhcp("discover", ("client_id", b"\x01" + chaddr(C8)[:6]),
                       ("max_dhcp_size", 1500))))

    def gap(name):
        for _ in range(GAP):
            add(name, Ether(src=C4, dst=BCAST) /
                ARP(op=1, hwsrc=C4, psrc="198.18.0.60", pdst="198.18.0.77"))

    gap("GAP A")
    add("C1 REQUEST renewing", udp_frame(C1, bootp(C1, 0x4C570103, ciaddr="198.18.0.105") /
                                         dhcp("request"),
                                         src="198.18.0.105", dst="198.18.0.1",
                                         eth_dst=SERVER_MAC))
    gap("GAP B")
    add("C1 RELEASE", udp_frame(C1, bootp(C1, 0x4C570101, ciaddr="198.18.0.105", secs=0) /
                                dhcp("release", ("server_id", "198.18.0.1"), prl=False),
                                src="198.18.0.105", dst="198.18.0.1", eth_dst=SERVER_MAC))
    add("C1 DISCOVER again", udp_frame(C1, bootp(C1, 0x4C570102, flags=0x8000) /
                                       dhcp("discover")))

    # --- malformed / to be ignored ---------------------------------------------------------
    x = Ether(bytes(udp_frame(BAD, bootp(BAD, 0x4C57EE10, flags=0x8000) / dhcp("discover"))))
    x[UDP].chksum ^= 0x00FF
    add("bad UDP checksum", x)
    add("truncated BOOTP",
        udp_frame(BAD, Raw(bytes(bootp(BAD, 0x4C57EE11) / dhcp("discover"))[:100])))
    p = bytearray(bytes(bootp(BAD, 0x4C57EE12, flags=0x8000) / dhcp("discover")))
    p[236:240] = b"\x63\x82\x53\x64"
    add("bad magic cookie", udp_frame(BAD, Raw(bytes(p))))
    add("hlen 17", udp_frame(BAD, bootp(BAD, 0x4C57EE13, flags=0x8000, hlen=17) /
                             dhcp("discover")))
    whole = IP(src="0.0.0.0", dst="255.255.255.255", id=0x4C57) / UDP(sport=68, dport=67) / \
        bootp(BAD, 0x4C57EE14, flags=0x8000) / dhcp("discover")
    frags = fragment(whole, fragsize=160)
    assert len(frags) == 2
    add("IP fragment 1 (MF)", Ether(src=BAD, dst=BCAST) / frags[0])
    add("IP fragment 2 (offset)", Ether(src=BAD, dst=BCAST) / frags[1])
    add("UDP port 69", udp_frame(BAD, bootp(BAD, 0x4C57EE16, flags=0x8000) / dhcp("discover"),
                                 dport=69))
    x = Ether(bytes(udp_frame(BAD, bootp(BAD, 0x4C57EE17, flags=0x8000) / dhcp("discover"))))
    x[IP].chksum ^= 0x0F0F
    add("bad IPv4 header checksum", x)
    add("ARP for 198.18.0.77", Ether(src=C4, dst=BCAST) /
        ARP(op=1, hwsrc=C4, psrc="198.18.0.60", pdst="198.18.0.77"))
    add("BOOTREPLY from a rogue server",
        udp_frame(ROGUE, bootp(C6, 0x4C57EE19, op=2) /
                  dhcp("offer", ("server_id", "198.18.0.99"), prl=False),
                  src="198.18.0.99", sport=67, dport=67))
    p = bytearray(bytes(bootp(BAD, 0x4C57EE20, flags=0x8000) / dhcp("discover", prl=False)))
    assert p[240:243] == b"\x35\x01\x01"
    p[242] = 32
    add("option 53 = 32", udp_frame(BAD, Raw(bytes(p))))
    # option 12 claims 200 bytes, 3 remain
    p = bytes(bootp(BAD, 0x4C57EE21, flags=0x8000)) + b"\x63\x82\x53\x63" + \
        b"\x35\x01\x01" + b"\x0c\xc8abc"
    add("option overrun", udp_frame(BAD, Raw(p)))
    add("IPv6", Ether(src=BAD, dst="33:33:00:01:00:02") /
        IPv6(src="fe80::1", dst="ff02::1:2") / UDP(sport=546, dport=547) / Raw(b"x" * 8))
    add("REQUEST for another server",
        udp_frame(C6, bootp(C6, 0x4C57EE23, flags=0x8000) /
                  dhcp("request", ("server_id", "198.18.0.99"),
                       ("requested_addr", "198.18.0.106"))))
    add("INIT-REBOOT by an unknown client",
        udp_frame(C6, bootp(C6, 0x4C57EE24) / dhcp("request", ("requested_addr", "198.18.0.107"))))
    return f


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.pcap")
    w = PcapWriter(out, linktype=1, sync=True)
    last = None
    for i, (label, fr) in enumerate(frames()):
        fr = Ether(bytes(fr))           # freeze checksums and lengths
        fr.time = 1795392000 + i / 1000.0
        w.write(fr)
        if label != last:
            print("%5d  %s" % (i, label))
        last = label
    w.close()
    print("wrote %s (%d frames)" % (out, i + 1))


if __name__ == "__main__":
    main()
