#!/usr/bin/python3
"""e2e-two-workers: leasewired with 2 workers on one af_packet port with 2 queue pairs.

    test_two_workers.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

The port is "net_af_packet0,iface=...,qpairs=2": DPDK opens one AF_PACKET socket per queue in
one PACKET_FANOUT_HASH group, so the kernel hands each frame to exactly one queue. Every
client DHCP broadcast has the same addresses and ports (0.0.0.0:68 -> 255.255.255.255:67),
so they mostly land on one queue and the worker there steers each to the worker that owns
the client (by client key). EAL: control lcore on CPU 0, both workers on the last CPU.

16 clients (distinct MACs, half with the broadcast flag):
  - DISCOVER, all at once   -> exactly one OFFER each, 16 distinct addresses in the pool,
                               broadcast or unicast to chaddr/yiaddr as the flag asks
  - REQUEST SELECTING       -> exactly one ACK each, for the offered address
  - REQUEST INIT-REBOOT for its own address -> ACK (same address)
  - 4 clients ask (INIT-REBOOT) for another client's address -> NAK: whichever worker owns
    the asker sees the other worker's binding
  - final counters: every frame received once (rx == frames sent: the fanout does not
    duplicate), every reply counted once (tx == replies received), drops == 0.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import (BCAST, SERVER_IP, Wire, check, check_counters, fail, ip_int,  # noqa: E402
                    log, run_test)
import lwtest  # noqa: E402

POOL = ("198.18.0.100", "198.18.0.199")
N = 16
MACS = ["02:00:5e:22:%02x:%02x" % (i * 7 % 256, i) for i in range(N)]
NAK_PAIRS = [(0, 1), (5, 2), (10, 15), (13, 6)]    # asker, owner of the address

CONFIG = """{
  "server": { "workers": 2, "store": "", "control-socket": "{ctl}", "log-interval": 1, "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface={srvif},qpairs=2",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "%s - %s" ], "lease-time": 300,
    "options": { "routers": [ "198.18.0.1" ] }
  } ]
}
""" % POOL


def eal_args():
    with open("/proc/meminfo") as f:
        free = int(next(ln.split()[1] for ln in f if ln.startswith("HugePages_Free:")))
    mem = ["--in-memory"] if free >= 64 else ["--no-huge", "-m", "512", "--no-shconf"]
    cpus = sorted(os.sched_getaffinity(0))
    first, last = cpus[0], cpus[-1]
    return mem + ["--no-pci", "--log-level=*:warning",
                  "--lcores=0@%d,1@%d,2@%d" % (first, last, last)]


def body(lab):
    sc = lab.scapy
    wire = Wire(lab.cliif)
    sent = 0
    replies = {}        # xid -> [Reply]

    def send(f):
        nonlocal sent
        wire.send(f)
        sent += 1

    def collect(xids, what):
        """Wait until every xid has a reply; returns {xid: first reply}."""
        deadline = time.monotonic() + lwtest.REPLY_WAIT
        while not all(x in replies for x in xids):
            rep = wire.recv(deadline)
            if rep is None:
                missing = sorted("%08x" % x for x in xids if x not in replies)
                fail("%s: no reply for xid %s within %.0f s" % (what, missing, lwtest.REPLY_WAIT))
            if rep.dhcp and rep.op == 2:
                replies.setdefault(rep.xid, []).append(rep)
        return {x: replies[x][0] for x in xids}

    def msg(i, xid, mtype, **kw):
        flags = 0x8000 if i % 2 == 0 else 0
        return lwtest.frame(sc, MACS[i], lwtest.dhcp_msg(sc, MACS[i], xid, mtype, flags=flags,
                                                         **kw))

    def check_reply(rep, i, mtype, what):
        check("%s: message type" % what, rep.msgtype(), mtype)
        check("%s: chaddr" % what, rep.chaddr, MACS[i])
        check("%s: server id" % what, rep.opt_ip(54), [SERVER_IP])
        check("%s: checksums" % what, (rep.ip_ok, rep.udp_ok), (True, True))
        if mtype == 6 or i % 2 == 0:
            check("%s: broadcast" % what, (rep.eth_dst, rep.ip_dst), (BCAST, "255.255.255.255"))
        else:
            check("%s: unicast to chaddr/yiaddr" % what, (rep.eth_dst, rep.ip_dst),
                  (MACS[i], rep.yiaddr))

    # DISCOVER from all clients at once.
    xids = [0x2A000000 + i for i in range(N)]
    for i in range(N):
        send(msg(i, xids[i], "discover"))
    offers = collect(xids, "DISCOVER")
    addr = {}
    for i in range(N):
        check_reply(offers[xids[i]], i, 2, "OFFER %d" % i)
        a = offers[xids[i]].yiaddr
        if not ip_int(POOL[0]) <= ip_int(a) <= ip_int(POOL[1]):
            fail("OFFER %d: %s is not in the pool" % (i, a))
        addr[i] = a
    check("distinct offered addresses", len(set(addr.values())), N)

    # REQUEST SELECTING.
    xids = [0x2A010000 + i for i in range(N)]
    for i in range(N):
        send(msg(i, xids[i], "request",
                 opts=[("server_id", SERVER_IP), ("requested_addr", addr[i])]))
    acks = collect(xids, "REQUEST (selecting)")
    for i in range(N):
        check_reply(acks[xids[i]], i, 5, "ACK %d" % i)
        check("ACK %d: yiaddr" % i, acks[xids[i]].yiaddr, addr[i])

    # INIT-REBOOT for the own address -> ACK; for another client's address -> NAK.
    xids = [0x2A020000 + i for i in range(N)]
    for i in range(N):
        send(msg(i, xids[i], "request", opts=[("requested_addr", addr[i])]))
    nxids = [0x2A030000 + k for k in range(len(NAK_PAIRS))]
    for k, (i, j) in enumerate(NAK_PAIRS):
        send(msg(i, nxids[k], "request", opts=[("requested_addr", addr[j])]))
    got = collect(xids + nxids, "REQUEST (init-reboot)")
    for i in range(N):
        check_reply(got[xids[i]], i, 5, "ACK (init-reboot) %d" % i)
        check("ACK (init-reboot) %d: yiaddr" % i, got[xids[i]].yiaddr, addr[i])
    for k, (i, j) in enumerate(NAK_PAIRS):
        check_reply(got[nxids[k]], i, 6, "client %d asking for client %d's address" % (i, j))

    counters = lab.stop_server()
    # The server has stopped: whatever it sent is already in our socket buffer.
    deadline = time.monotonic() + 1.0
    while True:
        rep = wire.recv(deadline)
        if rep is None:
            break
        if rep.dhcp and rep.op == 2:
            replies.setdefault(rep.xid, []).append(rep)
    dups = {"%08x" % x: len(v) for x, v in replies.items() if len(v) != 1}
    check("xids answered more than once", dups, {})
    n_replies = sum(len(v) for v in replies.values())
    n_nak = len(NAK_PAIRS)
    check_counters(counters, {
        "rx": sent,
        "tx": n_replies,
        "discover": N,
        "offer": N,
        "request": 2 * N + n_nak,
        "ack": 2 * N,
        "nak": n_nak,
        "drops": 0,
    })
    if "steered" in counters:
        # All client broadcasts hash to one queue; about half the clients belong to the
        # other worker (2^-16 odds that none does).
        if counters["steered"] < 1:
            fail("steered = 0: no request was handed to the other worker")
        log("ok: steered = %d" % counters["steered"])
    else:
        log("note: the final line has no 'steered' counter; steering not checked directly")
    log("%d frames sent, %d replies, each exactly once" % (sent, n_replies))


if __name__ == "__main__":
    sys.exit(run_test("two", CONFIG, body, eal_args=eal_args()))
