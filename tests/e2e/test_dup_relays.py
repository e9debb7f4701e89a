#!/usr/bin/python3
"""e2e-dup-relays: redundant relay agents (VRRP/HSRP, two ip helper-addresses; seed 003,
issue 12 item 9) and server.relay-allow (issue 11 item 6), against leasewired with 2 workers
on one af_packet port with 2 queue pairs.

    test_dup_relays.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

Two routers of the clients' subnet, R1 198.18.0.2 and R2 198.18.0.3 (both in
server.relay-allow), relay every broadcast of each of N clients: two copies of each DISCOVER
and REQUEST, identical but for the giaddr and the frame's source (so the kernel's fanout may
hand them to different queues, hence workers; they are steered to the client's worker).
  - each DISCOVER copy is answered, to its own relay, with the same address and lease;
  - each REQUEST copy is ACKed, to its own relay, with the same address, lease, T1 and T2;
    the N clients hold N distinct addresses;
  - a third "relay" 198.18.0.9, not listed, gets no answer (drop_relay_not_allowed), which a
    barrier request answered after it proves;
  - final counters: offers = acks = 2 N (+ the barrier's), the only drop is the unlisted relay.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import (SERVER_IP, Wire, check, check_counters, fail, ip_int,  # noqa: E402
                    log, run_test)
import lwtest  # noqa: E402

POOL = ("198.18.0.100", "198.18.0.199")
N = 8
MACS = ["02:00:5e:33:%02x:%02x" % (i * 5 % 256, i) for i in range(N)]
RELAYS = {"198.18.0.2": "02:00:5e:33:ff:02", "198.18.0.3": "02:00:5e:33:ff:03"}
UNLISTED = ("198.18.0.9", "02:00:5e:33:ff:09")

CONFIG = """{
  "server": { "workers": 2, "store": "", "control-socket": "{ctl}", "log-interval": 1,
              "idle-sleep-us": 100, "relay-allow": [ "198.18.0.2", "198.18.0.3" ] },
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

    def collect(xids, n, what):
        """Wait until every xid has n replies; returns {xid: [replies]}."""
        deadline = time.monotonic() + lwtest.REPLY_WAIT
        while not all(len(replies.get(x, [])) >= n for x in xids):
            rep = wire.recv(deadline)
            if rep is None:
                short = sorted("%08x" % x for x in xids if len(replies.get(x, [])) < n)
                fail("%s: fewer than %d replies for xid %s within %.0f s" %
                     (what, n, short, lwtest.REPLY_WAIT))
            if rep.dhcp and rep.op == 2:
                replies.setdefault(rep.xid, []).append(rep)
        return {x: replies[x] for x in xids}

    def relayed(i, xid, mtype, relay, relay_mac, **kw):
        m = lwtest.dhcp_msg(sc, MACS[i], xid, mtype, flags=0, **kw)
        m.giaddr = relay
        m.hops = 1
        return lwtest.frame(sc, relay_mac, m, src=relay, dst=SERVER_IP, sport=67)

    def both(i, xid, mtype, **kw):
        for relay, relay_mac in RELAYS.items():
            send(relayed(i, xid, mtype, relay, relay_mac, **kw))

    def check_pair(reps, i, mtype, what):
        check("%s: message types" % what, [r.msgtype() for r in reps], [mtype, mtype])
        check("%s: each copy answered to its own relay" % what,
              sorted((r.ip_dst, r.dport) for r in reps), sorted((a, 67) for a in RELAYS))
        check("%s: chaddr" % what, {r.chaddr for r in reps}, {MACS[i]})
        check("%s: one address" % what, len({r.yiaddr for r in reps}), 1)
        check("%s: one lease (51, 58, 59)" % what,
              len({(r.opt_u32(51), r.opt_u32(58), r.opt_u32(59)) for r in reps}), 1)

    xids = [0x3D000000 + i for i in range(N)]
    for i in range(N):
        both(i, xids[i], "discover")
    offers = collect(xids, 2, "DISCOVER")
    addr = {}
    for i in range(N):
        check_pair(offers[xids[i]], i, 2, "OFFERs %d" % i)
        addr[i] = offers[xids[i]][0].yiaddr
        if not ip_int(POOL[0]) <= ip_int(addr[i]) <= ip_int(POOL[1]):
            fail("OFFER %d: %s is not in the pool" % (i, addr[i]))
    check("distinct offered addresses", len(set(addr.values())), N)

    for i in range(N):
        both(i, xids[i], "request", opts=[("server_id", SERVER_IP),
                                          ("requested_addr", addr[i])])
    acks = collect(xids, 4, "REQUEST (selecting)")
    for i in range(N):
        pair = [r for r in acks[xids[i]] if r.msgtype() != 2]
        check_pair(pair, i, 5, "ACKs %d" % i)
        check("ACKs %d: yiaddr" % i, pair[0].yiaddr, addr[i])

    # A relay not in server.relay-allow: silence, then a barrier answered after it.
    bxid = 0x3D0000FF
    send(relayed(0, 0x3D0000FE, "discover", *UNLISTED))
    send(relayed(0, bxid, "discover", "198.18.0.2", RELAYS["198.18.0.2"]))
    collect([bxid], 1, "barrier DISCOVER")

    counters = lab.stop_server()
    deadline = time.monotonic() + 1.0
    while True:
        rep = wire.recv(deadline)
        if rep is None:
            break
        if rep.dhcp and rep.op == 2:
            replies.setdefault(rep.xid, []).append(rep)
    check("answers to the unlisted relay", len(replies.get(0x3D0000FE, [])), 0)
    counts = {"%08x" % x: len(v) for x, v in replies.items()
              if len(v) != (1 if x == bxid else 4)}
    check("xids answered other than once per copy", counts, {})
    check_counters(counters, {
        "rx": sent,
        "discover": 2 * N + 2,
        "offer": 2 * N + 1,
        "request": 2 * N,
        "ack": 2 * N,
        "nak": 0,
        "drops": 1,
        "drop_relay_not_allowed": 1,
    })
    log("%d frames sent; every copy answered alike, the unlisted relay not at all" % sent)


if __name__ == "__main__":
    sys.exit(run_test("dup", CONFIG, body, eal_args=eal_args()))
