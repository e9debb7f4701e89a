#!/usr/bin/python3
"""e2e-fo-pair: two leasewired as failover partners (draft-12 over TCP/647, load balance 50 %).

    test_fo_pair.py [LEASEWIRED [SRCDIR]] [--long]      (root; exit 77 = skipped)

Two forms, the same phases and checks: the short one (meson test e2e-fo-pair, suite e2e,
~50 s) with fotest.short_timers() (MCLT 12 s, state-switch-interval 4 s), and with --long
the realistic timers (MCLT 30 s, 12 s: e2e-fo-pair-long, suite long, on demand:
meson test -C build --suite long, ~95 s).

Topology (fotest.FoLab with partner="lw"; namespaces made and removed here):

    lwt-fp-l  leasewired A, primary:   lwt-fo-ld (DPDK net_af_packet, 198.18.8.1 owned by
              DPDK) and lwt-fo-lf (kernel, 198.18.9.1: the failover link)
    lwt-fp-i  leasewired B, secondary: lwt-fo-id (DPDK, 198.18.8.2, no kernel address) and
              lwt-fo-if (kernel, 198.18.9.2)
    lwt-fp-c  the clients: bridge lwt-fo-br joining both DHCP sides; scapy clients with MACs
              chosen by the RFC 3074 hash (ISC's lbhash.py, ../shared/reference/isc-peer/tools):
              bucket < 128 is A's (split 128).

MCLT 30 s (short 12 s), state-switch-interval 12 s (short 4 s), max-response-delay 6 s; both
start with empty stores.
  1. both reach NORMAL (failover-status of each: state and partner-state normal);
  2. the primary balances the pool: B holds BACKUP addresses (lease4-get-all);
  3. a client hashing to A gets its lease from A (at most MCLT the first time) and the binding
     appears on B (lease4-get: same hw-address, active, and the host name A's client sent:
     BNDUPD client-request-options); the same for a client hashing to B;
  4. SIGKILL of B: A goes COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN after the interval;
     B's client REBINDS and A answers it; a new client of B's bucket is served by A;
  5. B restarted with its store: both NORMAL again; A's partner-down bindings reach B;
  6. amnesia: B stopped, its store deleted, started again: B goes RECOVER -> RECOVER-WAIT
     (MCLT) -> RECOVER-DONE -> NORMAL, A ends NORMAL, and B knows A's bindings (UPDREQALL);
  7. partition: the failover veth goes down until both are PARTNER-DOWN; when it is up again
     both pass through POTENTIAL-CONFLICT (the logs' event=failover-state lines) and end
     NORMAL;
  8. a wrong relationship name on B: A logs the link rejected by the partner, B its own
     reject.
  9. after every phase, no address bound to two clients at once over every ACK captured on
     the bridge; at the end the same over both servers' bindings, and an address active on
     both servers is the same client's.
"""
import datetime
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
# The timers MCLT and SWITCH depend on the form: read them as fotest.MCLT, fotest.SWITCH.
from fotest import A_IP, B_IP, IF_LF, check_no_double  # noqa: E402

# Namespaces of its own (lwt-fp-l/-i/-c), not e2e-fo-isc's lwt-fo-*: both may be run by hand
# at once. Read them as fotest.NS_*.
fotest.use_namespaces("lwt-fp")

RESPONSE_DELAY = 6      # max-response-delay: a silent partner is noticed within it
WALL_LIMIT = {"long": 200, "short": 120}    # seconds for the whole test


def lease_is(lw, addr, mac):
    got = lw.lease(addr) or {}
    return got.get("state") == "active" and got.get("hw-address") == mac


def states_seen(lw, since_start):
    """The to= states of lw's event=failover-state lines, in its logs from start since_start."""
    out = []
    for n in range(since_start, lw.starts + 1):
        path = os.path.join(lw.lab.tmp, "%s-%d.log" % (lw.tag, n))
        for ln in lw.lab.text(path).splitlines():
            if "event=failover-state" in ln:
                out += [w[3:] for w in ln.split() if w.startswith("to=")]
    return out


def store_spans(lab):
    """Active bindings of both servers as check_no_double extras; and the cross check."""
    a = {x["ip-address"]: x for x in lab.a.leases() if x.get("state") == "active"}
    b = {x["ip-address"]: x for x in lab.b.leases() if x.get("state") == "active"}
    for addr in sorted(set(a) & set(b)):
        ka = a[addr].get("hw-address") or a[addr].get("client-id")
        kb = b[addr].get("hw-address") or b[addr].get("client-id")
        if ka != kb:
            fail("%s active on A for %s and on B for %s" % (addr, ka, kb))
    extra = []
    for side in (a, b):
        for addr, x in side.items():
            t1 = x.get("expire") or 2 ** 40
            extra.append((addr, x.get("hw-address") or x.get("client-id"), x["cltt"], t1))
    log("ok: %d active on A, %d on B, %d on both, same clients" % (len(a), len(b),
                                                                   len(set(a) & set(b))))
    return extra


def log_time(ln):
    """The time stamp of a leasewired log line, in seconds."""
    return datetime.datetime.strptime(ln.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def interrupted_throughout(lw, mark):
    """Since its first @mark event=failover-state lines, @lw moved to COMMUNICATIONS-INTERRUPTED
    and stayed there (a refused partner brings no link up, no other state), but for the move
    to PARTNER-DOWN that state-switch-interval makes (reason=safe-period, no sooner than the
    interval after); the state it reports is the last of these."""
    seen = {}

    def settled():      # the log and failover-status agree (a move may be logged meanwhile)
        seen["lines"] = lw.events()[mark:]
        state = lw.fo_status()["state"]
        return seen["lines"] == lw.events()[mark:] and seen["lines"] and \
            seen["lines"][-1].split(" to=", 1)[1].split()[0] == state
    lw.lab.wait("%s's log and state agree" % lw.tag, 5, settled)
    lines = seen["lines"]
    moves = [dict(w.split("=", 1) for w in ln.split() if "=" in w) for ln in lines]
    tos = [m.get("to") for m in moves]
    log("%s since the partner stopped: %s" % (lw.tag, " -> ".join(tos)))
    if tos not in (["communications-interrupted"], ["communications-interrupted", "partner-down"]):
        fail("%s did not stay communications-interrupted: %s" % (lw.tag, tos))
    if len(tos) == 2:
        check("%s's move to partner-down" % lw.tag,
              (moves[1].get("from"), moves[1].get("reason")),
              ("communications-interrupted", "safe-period"))
        waited = log_time(lines[1]) - log_time(lines[0])
        if waited < fotest.SWITCH - 0.5:
            fail("%s partner-down %.1f s after communications-interrupted, interval %d s" %
                 (lw.tag, waited, fotest.SWITCH))


def run(lab, cl):
    A, B = lab.a, lab.b
    lab.fo_extra = {"mode": "load-balance", "load-balance-percent": 50,
                    "max-response-delay": RESPONSE_DELAY}

    log("=== 1. both NORMAL ===")
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    B.wait_state("normal", 20, partner="normal")

    log("=== 2. pool balance: B holds BACKUP addresses ===")
    lab.wait("B holds backup addresses (about half the pool)", 30,
             lambda: sum(1 for x in B.leases() if x.get("state") == "backup") >= 40)
    n_backup = sum(1 for x in B.leases() if x.get("state") == "backup")
    log("B: %d backup addresses; A gave %d" % (
        n_backup, A.fo_status()["messages"]["addresses-given"]))
    if n_backup > 60:
        fail("B holds %d backup addresses of 101: more than its half" % n_backup)

    log("=== 3. a client of each server; each binding reaches the partner ===")
    mac_a = cl.mac_for(primary_bucket=True)
    ack = cl.dora(mac_a, A_IP, hostname="fo-pair-a")
    if (ack.opt_u32(51) or 0) > fotest.MCLT:
        fail("first lease from A is %d s, more than MCLT %d" % (ack.opt_u32(51), fotest.MCLT))
    addr_a = ack.yiaddr
    lab.wait("B has A's binding of %s" % addr_a, 20, lambda: lease_is(B, addr_a, mac_a))
    # The client's host name travels with the binding (BNDUPD client-request-options).
    check("A's binding of %s: host name on B" % addr_a, B.lease(addr_a).get("hostname"),
          "fo-pair-a")
    mac_b = cl.mac_for(primary_bucket=False)
    ack = cl.dora(mac_b, B_IP)
    if (ack.opt_u32(51) or 0) > fotest.MCLT:
        fail("first lease from B is %d s, more than MCLT %d" % (ack.opt_u32(51), fotest.MCLT))
    addr_b = ack.yiaddr
    lab.wait("A has B's binding of %s" % addr_b, 20, lambda: lease_is(A, addr_b, mac_b))
    # A released address goes back to the primary's pool once B has acknowledged the
    # RELEASED (D12 §5.4): FREE on both, and A says it returned it.
    mac_r = cl.mac_for(primary_bucket=True)
    ack = cl.dora(mac_r, A_IP)
    addr_r = ack.yiaddr
    lab.wait("B has A's binding of %s" % addr_r, 20, lambda: lease_is(B, addr_r, mac_r))
    cl.release(mac_r, addr_r, A_IP, ack.eth_src)
    lab.wait("%s free again on A after B's ack" % addr_r, 20,
             lambda: A.lease(addr_r) is None and
             A.fo_status()["messages"]["returned-to-pool"] >= 1)
    lab.wait("%s free on B too" % addr_r, 20, lambda: B.lease(addr_r) is None)
    lab.acks = [x for x in lab.acks if x[2] != mac_r]   # released: its span ended
    # A's client renews now (its first lease is MCLT-short): its binding must outlive the
    # phases up to B's amnesia. Now the partner has acked the PET, the lease may be longer.
    ack = cl.rebind(mac_a, addr_a, A_IP)
    log("A's renewed lease: %d s" % (ack.opt_u32(51) or 0))
    check_no_double(lab)

    log("=== 4. SIGKILL of B: A COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN ===")
    mark = len(A.events())
    B.kill()
    A.wait_entered("communications-interrupted", RESPONSE_DELAY + 10, mark)
    t_ci = time.monotonic()
    A.wait_state("partner-down", fotest.SWITCH + 10)
    log("partner-down %.1f s after communications-interrupted (interval %d s)" %
        (time.monotonic() - t_ci, fotest.SWITCH))
    cl.rebind(mac_b, addr_b, A_IP)
    mac_new = cl.mac_for(primary_bucket=False)
    addr_new = cl.dora(mac_new, A_IP).yiaddr
    check_no_double(lab)

    log("=== 5. B restarted with its store: NORMAL again ===")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    B.wait_state("normal", 20, partner="normal")
    lab.wait("B has A's partner-down binding of %s" % addr_new, 20,
             lambda: lease_is(B, addr_new, mac_new))
    lab.wait("B has A's rebound binding of %s" % addr_b, 20, lambda: lease_is(B, addr_b, mac_b))
    check_no_double(lab)

    log("=== 6. amnesia: B loses its store ===")
    # B's clients renew (REBINDING, answered by B: their bucket) so that their bindings
    # outlive B's recovery; B stops once A has acked all of it.
    for mac, addr in ((mac_b, addr_b), (mac_new, addr_new)):
        cl.rebind(mac, addr, B_IP)

    def b_synced():
        st = B.fo_status()
        return st["unacked"] == 0 and st["queued"] == 0 and st["in-flight"] == 0
    lab.wait("A acked all of B's updates", 10, b_synced)
    B.stop()
    subprocess.run(["rm", "-rf", B.store], timeout=30)
    b_start = B.starts + 1
    B.start("secondary")
    t_b = time.monotonic()
    B.wait_state("normal", fotest.MCLT + 40, partner="normal")
    log("B normal %.1f s after its amnesic start (MCLT %d s)" % (time.monotonic() - t_b,
                                                                fotest.MCLT))
    A.wait_state("normal", 20, partner="normal")
    seen = states_seen(B, b_start)
    log("B went through: %s" % " -> ".join(seen))
    for st in ("recover", "recover-wait", "recover-done", "normal"):
        if st not in seen:
            fail("B never entered %s after losing its store (saw %s)" % (st, seen))
    if not (seen.index("recover") < seen.index("recover-wait") < seen.index("recover-done")
            < len(seen) - 1 - seen[::-1].index("normal")):
        fail("B's recovery out of order: %s" % seen)
    if A.fo_status()["messages"]["updreqall-received"] < 1:
        fail("A got no UPDREQALL from the amnesic B")
    a_active = [(x["ip-address"], x.get("hw-address")) for x in A.leases()
                if x.get("state") == "active"]
    if len(a_active) < 3:
        fail("A holds %d active bindings, expected the 3 renewed ones: %r" % (len(a_active),
                                                                           a_active))
    for addr, mac in a_active:
        lab.wait("amnesic B knows %s of %s again" % (addr, mac), 20,
                 lambda: lease_is(B, addr, mac))
    check_no_double(lab)

    log("=== 7. partition: both PARTNER-DOWN, then POTENTIAL-CONFLICT, then NORMAL ===")
    a_start, b_start = A.starts, B.starts
    lab.sh("ip", "-n", fotest.NS_L, "link", "set", IF_LF, "down")
    try:
        A.wait_state("partner-down", RESPONSE_DELAY + fotest.SWITCH + 10)
        B.wait_state("partner-down", RESPONSE_DELAY + fotest.SWITCH + 10)
        # Both serve everyone now: a new client gets a binding only one side knows.
        ack, sid = cl.dora_any(cl.mac_for(primary_bucket=False))
        mac_p, addr_p = ack.chaddr, ack.yiaddr
        log("during the partition %s got %s from %s" % (mac_p, addr_p, sid))
    finally:
        lab.sh("ip", "-n", fotest.NS_L, "link", "set", IF_LF, "up")
    A.wait_state("normal", 40, partner="normal")
    B.wait_state("normal", 20, partner="normal")
    for lw, start in ((A, a_start), (B, b_start)):
        seen = states_seen(lw, start)
        tail = seen[len(seen) - 1 - seen[::-1].index("partner-down"):]
        log("%s after the partition: %s" % (lw.tag, " -> ".join(tail)))
        if "potential-conflict" not in tail:
            fail("%s never entered potential-conflict after the partition" % lw.tag)
    other = B if sid == A_IP else A
    lab.wait("%s learns the partition's binding of %s" % (other.tag, addr_p), 20,
             lambda: lease_is(other, addr_p, mac_p))
    check_no_double(lab)
    check_no_double(lab, store_spans(lab))

    log("=== 8. a wrong relationship name on B ===")
    mark = len(A.events())
    B.stop()
    A.wait_entered("communications-interrupted", RESPONSE_DELAY + 10, mark)
    B.start("secondary", name="notiscfo")
    lab.wait("A logs the link rejected by B", 20,
             lambda: any("link=rejected by=partner reason=8" in ln for ln in
                         A.events("failover-link")))
    lab.wait("B logs its own reject", 5,
             lambda: any("link=rejected by=us reason=8" in ln for ln in
                         B.events("failover-link")))
    st = B.fo_status("notiscfo")
    check("B's state with a refused name", st["state"] in ("startup", "recover"), True)
    B.stop()
    interrupted_throughout(A, mark)
    A.stop()


def hot_standby(lab, cl):
    """Hot standby: A (primary, active) answers every client; B (secondary, standby) holds
    reserve-percent of the free addresses as BACKUP. When A dies, B serves new clients from
    that reserve at once in PARTNER-DOWN (the rest of the pool only MCLT later)."""
    A, B = lab.a, lab.b
    for lw in (A, B):
        subprocess.run(["rm", "-rf", lw.store], timeout=30)
    lab.acks = []
    lab.fo_extra = {"mode": "hot-standby", "reserve-percent": 10,
                    "max-response-delay": RESPONSE_DELAY}
    A.extra = {"server-role": "active"}
    B.extra = {"server-role": "standby"}
    log("=== hot standby: both NORMAL ===")
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    B.wait_state("normal", 20, partner="normal")
    lab.wait("B (standby) holds its reserve", 30,
             lambda: sum(1 for x in B.leases() if x.get("state") == "backup") >= 9)
    reserve = {x["ip-address"] for x in B.leases() if x.get("state") == "backup"}
    if len(reserve) > 12:
        fail("the standby holds %d backup addresses of 101: more than its 10 %%" %
             len(reserve))
    log("B holds %d reserve addresses" % len(reserve))
    for bucket in (True, False):
        cl.dora(cl.mac_for(primary_bucket=bucket), A_IP)   # the active answers everyone
    log("=== hot standby: A dies, B serves from its reserve ===")
    mark = len(B.events())
    A.kill()
    B.wait_entered("communications-interrupted", RESPONSE_DELAY + 10, mark)
    B.wait_state("partner-down", fotest.SWITCH + 10)
    ack = cl.dora(cl.mac_for(primary_bucket=True), B_IP)
    check("the standby's new lease comes from its reserve", ack.yiaddr in reserve, True)
    check_no_double(lab)
    B.stop()
    A.extra = B.extra = {}


def main():
    def body(lab, cl):
        run(lab, cl)
        hot_standby(lab, cl)

    form = "long" if fotest.long_or_short(sys.argv) else "short"
    print("[fo-pair] %s form: MCLT %d s, state switch %d s" % (form, fotest.MCLT, fotest.SWITCH),
          file=sys.stderr)
    return fotest.run_pair("fo-pair", body, WALL_LIMIT[form])


if __name__ == "__main__":
    sys.exit(main())
