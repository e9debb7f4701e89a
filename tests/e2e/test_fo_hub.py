#!/usr/bin/python3
"""e2e-fo-hub: seed 003's hub and spoke, with a real ISC dhcpd 4.4 as one of the branches
(issue 12 item 4; "a hub with two branch partners on one port, a relationship with ISC beside
one with leasewire on the same server"), in the fotest lab (partner="lw") with namespaces
lwt-hb-* and a fourth one, lwt-hb-3, for ISC.

    test_fo_hub.py [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)

The hub H is leasewired A (lwt-hb-l); its failover address 198.18.9.1 is on a bridge there
that joins branch B1, leasewired B (lwt-hb-i, 198.18.9.2), and branch B2, ISC dhcpd
(lwt-hb-3, 198.18.9.3, DHCP on a veth of its own in 198.18.10.0/24). The hub has ONE
failover listener, 198.18.9.1:647, for both relationships; both branches are primary, so both
CONNECTs arrive on it and are matched by partner address and relationship name:
  "hub-br1"  B1 primary, hot standby, B1 active, the hub standby (seed 003), HMAC-SHA-256,
             scope br1 (198.18.8.0/24, the clients' bridge);
  "hub-isc"  ISC primary, load balance 50/50 (split 128), no secret, scope br2
             (198.18.10.0/24): the hub's own subnet, which the hub serves actively, half
             of its clients each, with a third server (seed 003; issue 12 item 4's last part).
  1. all three reach NORMAL (ISC: "Both servers normal"); the hub's status shows one listener
     serving 2 relationships; ISC balanced the pool: the hub got BACKUP addresses of br2;
  2. br2's router (198.18.10.254, a relay on the clients' bridge) relays two br2 clients to
     the hub: the one whose MAC hashes to ISC's half gets no answer from the hub; the one
     hashing to the hub's half is served by the hub (DORA) with a br2 address, and (checked
     at the end) the binding reaches ISC's lease file;
  3. a client of br1 is served by B1 (the active), not by the hub, and its binding reaches
     the hub;
  4. B1 killed (SIGKILL): the hub's hub-br1 goes COMMUNICATIONS-INTERRUPTED while hub-isc stays
     NORMAL on the same listener, and the hub (standby) answers the client's REBINDING with
     its address;
  5. B1 restarted: its new CONNECT is accepted by the same listener, hub-br1 NORMAL again
     (hub-isc NORMAL throughout), and B1 renews the client.
After the scenario the checker (fotest.check_final) proves no address was bound to two
clients at once, over every ACK seen and both leasewired stores.

Three servers fit the 2 cores: the two leasewired poll (idle-sleep-us 200) as in every fotest
test, dhcpd mostly sleeps; the whole test takes about 5.5 s.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lwtest  # noqa: E402
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_IP, B_IP  # noqa: E402

fotest.use_namespaces("lwt-hb")

WALL_LIMIT = 40
SECRET = "hub-secret"
NS_3 = "lwt-hb-3"
HBR, IF_LF3, IF_3F = "lwt-hb-b0", "lwt-hb-f3", "lwt-hb-3f"
IF_3D, IF_3X = "lwt-hb-3d", "lwt-hb-3x"
H_FO, B1_FO, ISC_FO = "198.18.9.1", "198.18.9.2", "198.18.9.3"
ISC_IP = "198.18.10.3"
RELAY, RELAY_MAC = "198.18.10.254", "02:00:5e:10:ff:fe"   # br2's router, relaying to the hub
BR1_POOL = fotest.POOL
BR2_POOL = ("198.18.10.100", "198.18.10.200")
MCLT = 30
REL1, REL2 = "hub-br1", "hub-isc"


def scope(name, net, pool, router):
    return {"name": name, "subnet": net + "/24", "pools": ["%s - %s" % pool],
            "lease-time": 120, "max-lease-time": 300, "options": {"routers": [router]}}


BR1 = scope("br1", "198.18.8.0", BR1_POOL, "198.18.8.254")
BR2 = scope("br2", "198.18.10.0", BR2_POOL, "198.18.10.254")


def server(lw):
    return {"workers": 1, "store": lw.store, "control-socket": lw.ctl, "log-interval": 5,
            "idle-sleep-us": 200, "reclaim-interval": 1}


def port(lw):
    return [{"name": "p0", "device": "net_af_packet0,iface=" + lw.dhcp_if,
             "interfaces": [{"address": lw.ip + "/24"}]}]


def br1_rel(role, srole, local, partner):
    return {"name": REL1, "role": role, "mode": "hot-standby", "server-role": srole,
            "reserve-percent": 10, "local-address": local, "partner-address": partner,
            "mclt": MCLT, "max-response-delay": 5, "shared-secret": SECRET,
            "auto-state-transition": True, "state-switch-interval": 60, "scopes": ["br1"]}


def hub_config(lw):
    isc_rel = {"name": REL2, "role": "secondary", "mode": "load-balance",
               "load-balance-percent": 50, "local-address": H_FO,
               "partner-address": ISC_FO, "mclt": MCLT, "max-response-delay": 15,
               "max-unacked": 10, "load-balance-max-seconds": 3, "scopes": ["br2"]}
    return json.dumps({"server": server(lw), "ports": port(lw), "scopes": [BR1, BR2],
                       "relationships": [br1_rel("secondary", "standby", H_FO, B1_FO),
                                         isc_rel]}, indent=1)


def branch1_config(lw):
    return json.dumps({"server": server(lw), "ports": port(lw), "scopes": [BR1],
                       "relationships": [br1_rel("primary", "active", B1_FO, H_FO)]},
                      indent=1)


ISC_CONF = """authoritative;
ddns-update-style none;
ping-check false;
default-lease-time 120;
max-lease-time 300;
failover peer "%s" {
  primary;
  mclt %d;
  split 128;
  address %s;
  port 647;
  peer address %s;
  peer port 647;
  max-response-delay 15;
  max-unacked-updates 10;
  load balance max seconds 3;
}
subnet 198.18.10.0 netmask 255.255.255.0 {
  option routers 198.18.10.254;
  pool {
    failover peer "%s";
    range %s %s;
  }
}
""" % (REL2, MCLT, ISC_FO, H_FO, REL2, BR2_POOL[0], BR2_POOL[1])


def wire_isc(lab):
    """The hub's failover address onto a bridge joining B1's link and ISC's namespace."""
    sh = lab.sh
    sh("ip", "netns", "add", NS_3)
    sh("ip", "-n", NS_3, "link", "set", "lo", "up")
    sh("ip", "-n", fotest.NS_L, "addr", "del", H_FO + "/24", "dev", fotest.IF_LF)
    sh("ip", "-n", fotest.NS_L, "link", "add", HBR, "type", "bridge")
    sh("ip", "-n", fotest.NS_L, "link", "add", IF_LF3, "type", "veth", "peer", "name",
       IF_3F, "netns", NS_3)
    for i in (fotest.IF_LF, IF_LF3):
        sh("ip", "-n", fotest.NS_L, "link", "set", i, "master", HBR)
        sh("ip", "-n", fotest.NS_L, "link", "set", i, "up")
    sh("ip", "-n", fotest.NS_L, "addr", "add", H_FO + "/24", "dev", HBR)
    sh("ip", "-n", fotest.NS_L, "link", "set", HBR, "up")
    sh("ip", "-n", NS_3, "addr", "add", ISC_FO + "/24", "dev", IF_3F)
    sh("ip", "-n", NS_3, "link", "set", IF_3F, "up")
    # ISC's DHCP interface (no dummy driver on every kernel: a veth pair with its peer).
    sh("ip", "-n", NS_3, "link", "add", IF_3D, "type", "veth", "peer", "name", IF_3X)
    sh("ip", "-n", NS_3, "addr", "add", ISC_IP + "/24", "dev", IF_3D)
    for i in (IF_3D, IF_3X):
        sh("ip", "-n", NS_3, "link", "set", i, "up")


def isc_start(lab):
    cfg = os.path.join(lab.tmp, "dhcpd.conf")
    with open(cfg, "w") as f:
        f.write(ISC_CONF)
    open(lab.leases, "w").close()
    lab.isc = subprocess.Popen(
        ["timeout", "-k", "5", "120", "ip", "netns", "exec", NS_3, "dhcpd", "-4", "-f", "-d",
         "-cf", cfg, "-lf", lab.leases, "-pf", os.path.join(lab.tmp, "isc.pid"), IF_3D],
        stdout=open(lab.isc_log, "a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def relayed_dora(cl, mac, want_answer):
    """DISCOVER (and REQUEST if answered) of a br2 client, relayed by br2's router (giaddr
    RELAY: the hub picks br2 by it, no relay-allow list) to the hub's DHCP address; the
    hub answers to the relay's MAC. Returns the ACK, or the xid of an unanswered DISCOVER."""
    sc, wire = cl.sc, cl.wire
    xid = int.from_bytes(os.urandom(4), "big")

    def send(mtype, opts=()):
        m = lwtest.dhcp_msg(sc, mac, xid, mtype, flags=0, opts=opts)
        m.giaddr, m.hops = RELAY, 1
        wire.send(lwtest.frame(sc, RELAY_MAC, m, src=RELAY, dst=A_IP, sport=67))
    send("discover")
    if not want_answer:
        return xid
    off, _ = wire.wait_reply(xid, "relayed DISCOVER of %s" % mac)
    check("relayed OFFER for %s: type, server, to the relay" % mac,
          (off.msgtype(), off.opt_ip(54)[0], off.ip_dst, off.dport, off.eth_dst),
          (2, A_IP, RELAY, 67, RELAY_MAC))
    send("request", [("requested_addr", off.yiaddr), ("server_id", A_IP)])
    ack, _ = wire.wait_reply(xid, "relayed REQUEST of %s" % mac)
    check("relayed ACK for %s: type, address" % mac, (ack.msgtype(), ack.yiaddr),
          (5, off.yiaddr))
    if not fotest.ip_int(BR2_POOL[0]) <= fotest.ip_int(ack.yiaddr) <= \
            fotest.ip_int(BR2_POOL[1]):
        fail("%s got %s, not an address of br2" % (mac, ack.yiaddr))
    cl.record(ack, mac, A_IP)
    return ack


def normal(lw, name):
    st = lw.fo_status(name)
    return st["state"] == "normal" and st["partner-state"] == "normal"


def run(lab, cl):
    H, B1 = lab.a, lab.b
    H.config = lambda role, name=None: hub_config(H)
    B1.config = lambda role, name=None: branch1_config(B1)
    wire_isc(lab)

    log("=== 1. one listener on the hub, two branch partners: B1 (leasewired), ISC ===")
    H.start("secondary")
    isc_start(lab)
    B1.start("primary")
    lab.wait("hub: %s NORMAL" % REL1, 25, lambda: normal(H, REL1))
    lab.wait("B1: %s NORMAL" % REL1, 5, lambda: normal(B1, REL1))
    lab.wait("hub: %s NORMAL" % REL2, 25, lambda: normal(H, REL2))
    lab.wait("ISC: Both servers normal", 10,
             lambda: "Both servers normal" in lab.text(lab.isc_log))
    s1, s2 = H.fo_status(REL1), H.fo_status(REL2)
    check("hub's listener, as seen by hub-br1", (s1["listener"]["relationships"],
                                                 s1["authentication"]), (2, True))
    check("hub's listener, as seen by hub-isc", (s2["listener"]["relationships"],
                                                 s2["authentication"]), (2, False))
    check("one listener: same counters", s1["listener"], s2["listener"])
    check("hub's role towards B1", (s1["role"], s1["server-role"], s1["service"]),
          ("secondary", "standby", "none"))
    lab.wait("ISC (primary) gave the hub BACKUP addresses of br2", 20,
             lambda: H.fo_status(REL2)["messages"]["bndupd-received"] >= 20)

    log("=== 2. br2, the hub's own subnet, load balance with ISC: the hub serves its half ===")
    isc_xid = relayed_dora(cl, cl.mac_for(primary_bucket=True), False)
    own_mac = cl.mac_for(primary_bucket=False)
    own = relayed_dora(cl, own_mac, True)
    # One worker answers in order: the ISC-half DISCOVER, sent first, was already dropped.
    if any(r.dhcp and r.op == 2 and r.xid == isc_xid for r in cl.wire.seen):
        fail("the hub answered a br2 client of ISC's half (load balance)")

    log("=== 3. a br1 client: served by B1, the active; the hub learns the binding ===")
    mac = cl.mac_for(primary_bucket=True)
    ack = cl.dora(mac, B_IP)
    addr, b1_mac = ack.yiaddr, ack.eth_src
    lab.wait("the hub holds B1's lease of %s" % addr, 10,
             lambda: (H.lease(addr) or {}).get("hw-address") == mac)

    log("=== 4. B1 killed: hub-br1 interrupted, hub-isc NORMAL, the hub serves br1 ===")
    B1.kill()
    lab.wait("hub: %s COMMUNICATIONS-INTERRUPTED" % REL1, 15,
             lambda: H.fo_status(REL1)["state"] == "communications-interrupted")
    check("hub-isc still NORMAL beside it", normal(H, REL2), True)
    cl.rebind(mac, addr, A_IP)
    check("hub-isc still NORMAL after", normal(H, REL2), True)
    if "I move from normal" in lab.text(lab.isc_log):
        fail("ISC left NORMAL when the other branch died")

    log("=== 5. B1 back: its new CONNECT on the same listener, both NORMAL ===")
    B1.start("primary")
    lab.wait("hub: %s NORMAL again" % REL1, 25, lambda: normal(H, REL1))
    lst = H.fo_status(REL1)["listener"]
    check("the listener accepted B1 again (3 connections, none refused)",
          (lst["accepts"], lst["handed"], lst["refused-source"], lst["refused-name"]),
          (3, 3, 0, 0))
    check("hub-isc NORMAL throughout", normal(H, REL2), True)
    cl.renew(mac, addr, B_IP, b1_mac)
    # Step 2's binding, checked last so that steps 3-5 overlap the hub's BNDUPD to ISC.
    lab.wait("ISC holds the hub's binding of %s (BNDUPD)" % own.yiaddr, 5,
             lambda: lab.isc_knew(own.yiaddr, "active", own_mac))


def main():
    if not os.access("/usr/sbin/dhcpd", os.X_OK):
        print("SKIP [fo-hub]: no ISC dhcpd", file=sys.stderr)
        return 77

    def prepare(lab):
        down = lab.down

        def down_all():
            lab.isc_stop()
            subprocess.run(["ip", "netns", "del", NS_3], timeout=30,
                           stderr=subprocess.DEVNULL)
            down()
        lab.down = down_all
    return fotest.run_pair("fo-hub", run, WALL_LIMIT, prepare)


if __name__ == "__main__":
    sys.exit(main())
