#!/usr/bin/python3
"""e2e-nak: frame-level RFC 2131 cases against leasewired, with scapy-built frames.

    test_nak.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

Runs leasewired (net_af_packet) in one namespace and talks raw Ethernet from the other:

  A  DISCOVER (broadcast flag)               -> OFFER X, broadcast; fields per RFC 2131 Table 3
  A  REQUEST SELECTING (server id, 50 = X)   -> ACK X with lease/T1/T2/mask/router/DNS
  B  REQUEST INIT-REBOOT (50 = X, no sid)    -> NAK (X is A's), broadcast, no lease options
  B  REQUEST SELECTING (sid 198.18.0.1, X)   -> NAK
  A  REQUEST INIT-REBOOT (50 = X)            -> ACK X
  malformed: bad UDP checksum, truncated BOOTP, bad magic cookie, hlen 17, a DISCOVER to
  UDP port 69 -> no answer at all. Checked up to a barrier: a valid DISCOVER sent after
  them, whose OFFER proves they were all processed (no fixed sleep); that OFFER, without
  the broadcast flag, must be unicast to chaddr/yiaddr.
  a DISCOVER in two IP fragments -> OFFER: the kernel reassembles it for af_packet (see
  below); lone fragments and drop_ip_fragment are tested by the golden test (net_pcap)
  C  INFORM (ciaddr 198.18.0.60)             -> ACK to ciaddr, yiaddr 0, no 51/58/59
  A  DECLINE X                               -> no answer (barrier again)
  A  DISCOVER                                -> OFFER Y != X
and at the end the server's "final" counters: exact message counts and exactly one drop per
malformed frame under its drop_* reason, nothing else dropped.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import (BCAST, SERVER_IP, Wire, check, check_counters, fail, ip_int,  # noqa: E402
                    log, run_test)
import lwtest  # noqa: E402

POOL = ("198.18.0.100", "198.18.0.199")
LEASE, T1, T2 = 300, 100, 200

MAC_A = "02:00:5e:10:00:0a"
MAC_B = "02:00:5e:10:00:0b"
MAC_C = "02:00:5e:10:00:0c"
MAC_P1 = "02:00:5e:10:00:01"
MAC_P2 = "02:00:5e:10:00:02"
MAC_BAD = "02:00:5e:10:00:ee"

CONFIG = """{
  "server": { "workers": 1, "store": "", "control-socket": "{ctl}", "log-interval": 1, "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface={srvif}",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "%s - %s" ],
    "lease-time": %d, "renew-time": %d, "rebind-time": %d,
    "options": { "routers": [ "198.18.0.1" ],
                 "domain-name-servers": [ "198.18.0.1", "198.18.0.2" ],
                 "domain-name": "lab.leasewire.test" }
  } ]
}
""" % (POOL[0], POOL[1], LEASE, T1, T2)

sc = None   # scapy.all, once inside the client namespace


def dhcp_msg(*a, **kw):
    return lwtest.dhcp_msg(sc, *a, **kw)


def frame(*a, **kw):
    return lwtest.frame(sc, *a, **kw)


# --- checks on replies ----------------------------------------------------------------------

def check_common(rep, what, mtype, xid, mac):
    if not rep.dhcp:
        fail("%s: not a DHCP reply: %r" % (what, rep))
    check("%s: IPv4 header checksum valid" % what, rep.ip_ok, True)
    check("%s: UDP checksum present and valid" % what, rep.udp_ok, True)
    check("%s: UDP length" % what, rep.udp_len_ok, True)
    check("%s: IP source" % what, rep.ip_src, SERVER_IP)
    check("%s: UDP ports" % what, (rep.sport, rep.dport), (67, 68))
    check("%s: op" % what, rep.op, 2)
    check("%s: message type" % what, rep.msgtype(), mtype)
    check("%s: xid" % what, rep.xid, xid)
    check("%s: chaddr" % what, rep.chaddr, mac)
    check("%s: htype/hlen" % what, (rep.htype, rep.hlen), (1, 6))
    check("%s: giaddr" % what, rep.giaddr, "0.0.0.0")
    check("%s: server identifier (54)" % what, rep.opt_ip(54), [SERVER_IP])


def check_lease_opts(rep, what):
    check("%s: lease time (51)" % what, rep.opt_u32(51), LEASE)
    check("%s: T1 (58)" % what, rep.opt_u32(58), T1)
    check("%s: T2 (59)" % what, rep.opt_u32(59), T2)
    check("%s: subnet mask (1)" % what, rep.opt_ip(1), ["255.255.255.0"])
    check("%s: router (3)" % what, rep.opt_ip(3), [SERVER_IP])
    check("%s: DNS (6)" % what, rep.opt_ip(6), ["198.18.0.1", "198.18.0.2"])


def check_broadcast(rep, what):
    check("%s: Ethernet destination" % what, rep.eth_dst, BCAST)
    check("%s: IP destination" % what, rep.ip_dst, "255.255.255.255")


def check_nak(rep, what, xid, mac):
    check_common(rep, what, 6, xid, mac)
    check_broadcast(rep, what)
    check("%s: yiaddr" % what, rep.yiaddr, "0.0.0.0")
    check("%s: ciaddr" % what, rep.ciaddr, "0.0.0.0")
    check("%s: siaddr" % what, rep.siaddr, "0.0.0.0")
    # RFC 2131 Table 3: a DHCPNAK carries 53, 54, optionally 56 (and 61/82); nothing else.
    extra = sorted(set(rep.opts) - {53, 54, 56, 61, 82})
    check("%s: options that MUST NOT be in a NAK" % what, extra, [])


def ip_in_pool(a):
    return ip_int(POOL[0]) <= ip_int(a) <= ip_int(POOL[1])


def body(lab):
    global sc
    sc = lab.scapy
    Ether, IP, UDP, Raw = sc.Ether, sc.IP, sc.UDP, sc.Raw
    wire = Wire(lab.cliif)
    # 1. A: DISCOVER -> OFFER (broadcast flag: broadcast reply).
    xid = 0x4C570001
    wire.send(frame(MAC_A, dhcp_msg(MAC_A, xid, "discover")))
    offer, _ = wire.wait_reply(xid, "A DISCOVER")
    check_common(offer, "A OFFER", 2, xid, MAC_A)
    check_broadcast(offer, "A OFFER")
    check("A OFFER: flags echo the broadcast bit", offer.flags, 0x8000)
    check("A OFFER: ciaddr", offer.ciaddr, "0.0.0.0")
    X = offer.yiaddr
    check("A OFFER: yiaddr %s in pool %s-%s" % (X, *POOL), ip_in_pool(X), True)
    check_lease_opts(offer, "A OFFER")
    server_mac = offer.eth_src

    # 2. A: REQUEST SELECTING -> ACK X.
    xid = 0x4C570002
    wire.send(frame(MAC_A, dhcp_msg(MAC_A, xid, "request",
                                     opts=[("server_id", SERVER_IP), ("requested_addr", X)])))
    ack, _ = wire.wait_reply(xid, "A REQUEST (selecting)")
    check_common(ack, "A ACK", 5, xid, MAC_A)
    check_broadcast(ack, "A ACK")
    check("A ACK: yiaddr", ack.yiaddr, X)
    check_lease_opts(ack, "A ACK")

    # 3. B: INIT-REBOOT for A's address -> NAK.
    xid = 0x4C570003
    wire.send(frame(MAC_B, dhcp_msg(MAC_B, xid, "request", flags=0,
                                     opts=[("requested_addr", X)])))
    nak, _ = wire.wait_reply(xid, "B REQUEST (init-reboot) for A's address")
    check_nak(nak, "B NAK (init-reboot)", xid, MAC_B)

    # 4. B: SELECTING with our server id for A's address -> NAK.
    xid = 0x4C570004
    wire.send(frame(MAC_B, dhcp_msg(MAC_B, xid, "request", flags=0,
                                     opts=[("server_id", SERVER_IP), ("requested_addr", X)])))
    nak, _ = wire.wait_reply(xid, "B REQUEST (selecting) for A's address")
    check_nak(nak, "B NAK (selecting)", xid, MAC_B)

    # 5. A: INIT-REBOOT for its own address -> ACK.
    xid = 0x4C570005
    wire.send(frame(MAC_A, dhcp_msg(MAC_A, xid, "request", opts=[("requested_addr", X)])))
    ack, _ = wire.wait_reply(xid, "A REQUEST (init-reboot)")
    check_common(ack, "A ACK (init-reboot)", 5, xid, MAC_A)
    check_broadcast(ack, "A ACK (init-reboot)")
    check("A ACK (init-reboot): yiaddr", ack.yiaddr, X)
    check_lease_opts(ack, "A ACK (init-reboot)")

    # 6. Malformed frames: no answer. Each has its own xid.
    bad = {}

    def disc(xid, **kw):
        return dhcp_msg(MAC_BAD, xid, "discover", **kw)

    # bad UDP checksum
    f = frame(MAC_BAD, disc(0x4C570011))
    f = Ether(bytes(f))
    ck = f[UDP].chksum
    f[UDP].chksum = (ck ^ 0x00FF) or 0x1234
    bad[0x4C570011] = ("bad UDP checksum", f)
    # truncated BOOTP: 200 bytes of the 240-byte header (IP and UDP lengths consistent)
    bad[0x4C570012] = ("truncated BOOTP", frame(MAC_BAD, Raw(bytes(disc(0x4C570012))[:200])))
    # bad magic cookie
    p = bytearray(bytes(disc(0x4C570013)))
    p[236:240] = b"\x63\x82\x53\x64"
    bad[0x4C570013] = ("bad magic cookie", frame(MAC_BAD, Raw(bytes(p))))
    # hlen 17
    bad[0x4C570014] = ("hlen 17", frame(MAC_BAD, disc(0x4C570014, hlen=17)))
    # a DISCOVER to UDP port 69
    bad[0x4C570016] = ("UDP port 69", frame(MAC_BAD, disc(0x4C570016), dport=69))
    for xid, (what, frames) in bad.items():
        for fr in (frames if isinstance(frames, list) else [frames]):
            wire.send(fr)
    log("sent %d malformed frames" % sum(len(f) if isinstance(f, list) else 1
                                         for _, f in bad.values()))
    barrier(wire, MAC_P1, 0x4C570021, bad, "after the malformed frames")

    # 6b. A DISCOVER in two IP fragments. DPDK's af_packet PMD joins a PACKET_FANOUT group
    # with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles fragments before the server
    # sees them: it gets one whole datagram and must answer it like any DISCOVER. (Lone
    # fragments and drop_ip_fragment are covered by the golden test, through net_pcap.)
    xid = 0x4C570015
    whole = IP(src="0.0.0.0", dst="255.255.255.255", id=0x4242) / \
        UDP(sport=68, dport=67) / dhcp_msg(MAC_BAD, xid, "discover")
    frags = sc.fragment(whole, fragsize=160)
    if len(frags) != 2:
        fail("expected 2 fragments, got %d" % len(frags))
    for fr in frags:
        wire.send(Ether(src=MAC_BAD, dst=BCAST) / fr)
    offer, _ = wire.wait_reply(xid, "DISCOVER in 2 IP fragments (reassembled by the kernel)")
    check_common(offer, "OFFER to the fragmented DISCOVER", 2, xid, MAC_BAD)

    # 7. C: INFORM (unicast to the server, ciaddr set) -> ACK to ciaddr, no lease time.
    xid = 0x4C570031
    ciaddr = "198.18.0.60"
    wire.send(frame(MAC_C, dhcp_msg(MAC_C, xid, "inform", flags=0, ciaddr=ciaddr),
                    src=ciaddr, dst=SERVER_IP, eth_dst=server_mac))
    ack, _ = wire.wait_reply(xid, "C INFORM")
    check_common(ack, "C ACK (inform)", 5, xid, MAC_C)
    check("C ACK (inform): Ethernet destination", ack.eth_dst, MAC_C)
    check("C ACK (inform): IP destination (ciaddr)", ack.ip_dst, ciaddr)
    check("C ACK (inform): yiaddr", ack.yiaddr, "0.0.0.0")
    check("C ACK (inform): ciaddr", ack.ciaddr, ciaddr)
    check("C ACK (inform): lease options 51/58/59 absent",
          sorted(set(ack.opts) & {51, 58, 59}), [])
    check("C ACK (inform): subnet mask (1)", ack.opt_ip(1), ["255.255.255.0"])
    check("C ACK (inform): router (3)", ack.opt_ip(3), [SERVER_IP])

    # 8. A: DECLINE X -> no answer; X is out of the pool for A.
    xid = 0x4C570041
    wire.send(frame(MAC_A, dhcp_msg(MAC_A, xid, "decline", flags=0, prl=False,
                                     opts=[("server_id", SERVER_IP), ("requested_addr", X)])))
    barrier(wire, MAC_P2, 0x4C570042, {xid: ("DECLINE", None)}, "after the DECLINE")

    # 9. A: DISCOVER again -> a different address.
    xid = 0x4C570051
    wire.send(frame(MAC_A, dhcp_msg(MAC_A, xid, "discover")))
    offer, _ = wire.wait_reply(xid, "A DISCOVER after DECLINE")
    check_common(offer, "A OFFER after DECLINE", 2, xid, MAC_A)
    Y = offer.yiaddr
    check("A OFFER after DECLINE: yiaddr %s in pool" % Y, ip_in_pool(Y), True)
    if Y == X:
        fail("A OFFER after DECLINE: got the declined address %s again" % X)
    log("ok: A OFFER after DECLINE: %s != declined %s" % (Y, X))

    # 10. The server's own account of all this.
    check_counters(lab.stop_server(), {
        "rx": 16,           # every frame sent (the 2 fragments arrive as 1), nothing else
        "tx": 10,           # 5 OFFER + 3 ACK + 2 NAK
        "discover": 5,      # A, barrier 1, fragmented, barrier 2, A after DECLINE
        "offer": 5,
        "request": 4,       # A selecting, B init-reboot, B selecting, A init-reboot
        "ack": 3,           # A selecting, A init-reboot, C's INFORM
        "nak": 2,
        "decline": 1,
        "release": 0,
        "inform": 1,
        "bootp": 0,
        "drop_udp_checksum": 1,
        "drop_bootp_truncated": 1,
        "drop_bad_cookie": 1,
        "drop_bad_hlen": 1,
        "drop_ip_fragment": 0,  # reassembled by the kernel (af_packet fanout defrag)
        "drop_udp_port": 1,
        "drops": 5,         # the five malformed frames; nothing else
    })


def barrier(wire, mac, xid, silent, when):
    """A valid DISCOVER without the broadcast flag: its OFFER (unicast to chaddr/yiaddr) proves
    the server handled everything sent before it; none of the `silent` xids got an answer."""
    wire.send(frame(mac, dhcp_msg(mac, xid, "discover", flags=0)))
    offer, others = wire.wait_reply(xid, "barrier DISCOVER " + when)
    for rep in others:
        if rep.dhcp and rep.op == 2 and rep.xid in silent:
            fail("%s got an answer: %r" % (silent[rep.xid][0], rep))
        if rep.eth_src == offer.eth_src:
            fail("unexpected frame from the server %s: %r" % (when, rep))
    check_common(offer, "barrier OFFER " + when, 2, xid, mac)
    check("barrier OFFER %s: Ethernet destination (chaddr)" % when, offer.eth_dst, mac)
    check("barrier OFFER %s: IP destination (yiaddr)" % when, offer.ip_dst, offer.yiaddr)
    check("barrier OFFER %s: flags" % when, offer.flags, 0)
    log("ok: no answer to %s" % ", ".join(v[0] for v in silent.values()))


if __name__ == "__main__":
    sys.exit(run_test("nak", CONFIG, body))
