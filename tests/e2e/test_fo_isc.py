#!/usr/bin/python3
"""e2e-fo-isc: leasewired and a real ISC dhcpd 4.4.3 as failover partners (draft-12, TCP/647).

    test_fo_isc.py [LEASEWIRED [SRCDIR]] [--long]       (root; exit 77 = skipped)

Two forms, the same phases and checks: the short one (meson test e2e-fo-isc, suite e2e,
~1 min) with fotest.short_timers() (MCLT 12 s, state switch / auto-partner-down 4 s,
max-response-delay 6 s), and with --long the realistic timers (MCLT 30 s, 12 s, 15 s:
e2e-fo-isc-long, suite long, on demand: meson test -C build --suite long, ~2.2 min).

Topology (namespaces made and removed here; addresses from 198.18.0.0/15):

    lwt-fo-l  leasewired: lwt-fo-ld (DPDK net_af_packet, DHCP side, 198.18.8.1 owned by
              leasewired) and lwt-fo-lf (kernel, 198.18.9.1: the failover link)
    lwt-fo-i  ISC dhcpd:  lwt-fo-id (198.18.8.2, DHCP) and lwt-fo-if (198.18.9.2)
    lwt-fo-c  the clients: bridge lwt-fo-br joining both DHCP sides; scapy clients on it,
              each with its own MAC, chosen by the RFC 3074 hash (ISC's lbhash.py from
              ../shared/reference/isc-peer/tools) so that each server's share is exercised.

Scenarios, for leasewired as primary (ISC secondary), then the reverse:
  1. both servers reach NORMAL (leasewired's failover-status; ISC's log "Both servers normal");
  2. a client hashing to leasewired gets its lease from leasewired, capped at MCLT; the
     binding appears in ISC's lease file (BNDUPD/BNDACK, carrying the client's host name in
     client-request-options, which ISC drops); a client hashing to ISC gets its
     lease from ISC and the binding appears in leasewired (lease4-get);
  3. the secondary has BACKUP addresses: the primary balanced the pool;
  4. SIGKILL of ISC: leasewired goes COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN after the
     state switch interval, and then answers ISC's client (a REBINDING request) and a new
     client;
  5. ISC restarted with its lease file: both back to NORMAL.
  6. leasewired primary: a partition of the failover link until both are PARTNER-DOWN, then
     heal: POTENTIAL-CONFLICT, NORMAL. leasewired secondary: amnesia (restarted without its
     store): RECOVER, RECOVER-WAIT for MCLT, NORMAL, every lease learnt back.
Then: a wrong relationship name is refused by ISC, as ISC refuses it.
After every phase, a checker over every ACK captured on the bridge (and both servers'
bindings at the end): no address was bound to two clients at the same time.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fotest  # noqa: E402
import lwtest  # noqa: E402
from lwtest import Wire, check, fail, log, setns, setns_fd  # noqa: E402
# The timers (MCLT, SWITCH, RESPONSE_DELAY) depend on the form: read them as fotest.MCLT etc.
from fotest import (BR, IF_LF, ISC_FO, ISC_IP, LEASE, LW_FO, LW_IP, NS_C, NS_I,  # noqa: E402
                    NS_L, REL, Clients, FoLab, check_no_double)

# --- scenarios -----------------------------------------------------------------------------

def scenario(lab, cl, lw_role):
    isc_role = "secondary" if lw_role == "primary" else "primary"
    lw_is_primary = lw_role == "primary"
    log("=== leasewired %s, ISC %s ===" % (lw_role, isc_role))
    lab.acks = []       # both servers start empty: earlier ACKs belong to another world
    # As secondary, leasewired is put in PARTNER-DOWN by the operator while it is
    # COMMUNICATIONS-INTERRUPTED: its switch interval stays 12 s in both forms (the short 4 s
    # could end that state first); it costs no time, no phase there waits for it.
    lab.a.extra = {} if lw_is_primary else {"state-switch-interval": 12}
    lab.lw_start(lw_role)
    lab.isc_start(isc_role, fresh=True)
    # 1. NORMAL on both sides.
    lab.wait_lw_state("normal", 60, partner="normal")
    lab.wait("ISC: Both servers normal", 30,
             lambda: "Both servers normal" in lab.text(lab.isc_log))

    # 3. Pool balance: the secondary holds BACKUP addresses.
    if lw_is_primary:
        lab.wait("ISC (secondary) holds backup addresses", 30,
                 lambda: sum(1 for s, _ in lab.isc_leases().values() if s == "backup") >= 20)
    else:
        lab.wait("leasewired (secondary) got backup addresses from ISC", 30,
                 lambda: lab.fo_status()["messages"]["bndupd-received"] >= 40)

    # 2. A client of each server; each binding reaches the partner.
    mac_lw = cl.mac_for(primary_bucket=lw_is_primary)
    # With a host name: leasewired's BNDUPD carries it in client-request-options (option 8),
    # which ISC parses and drops; the update must still be accepted.
    ack = cl.dora(mac_lw, LW_IP, hostname="lw-client")
    if (ack.opt_u32(51) or 0) > fotest.MCLT:
        fail("first lease from leasewired is %d s, more than MCLT %d" % (ack.opt_u32(51),
                                                                        fotest.MCLT))
    addr_lw, lw_mac = ack.yiaddr, ack.eth_src
    lab.wait("ISC has leasewired's lease of %s" % addr_lw, 20,
             lambda: lab.isc_leases().get(addr_lw) == ("active", mac_lw))
    mac_isc = cl.mac_for(primary_bucket=not lw_is_primary)
    ack = cl.dora(mac_isc, ISC_IP)
    addr_isc, isc_mac = ack.yiaddr, ack.eth_src
    lab.wait("leasewired has ISC's lease of %s" % addr_isc, 20,
             lambda: (lab.lw_lease(addr_isc) or {}).get("state") in ("active", 0, "0"))
    got = lab.lw_lease(addr_isc)
    check("leasewired's copy of ISC's lease: hw-address", got.get("hw-address"), mac_isc)
    check("leasewired's own lease: host name", (lab.lw_lease(addr_lw) or {}).get("hostname"),
          "lw-client")
    # The MCLT rule at work: the first leases were MCLT long; now that each partner has
    # acknowledged the other's potential expiration, a renewal gets the full lease time.
    ack = cl.renew(mac_lw, addr_lw, LW_IP, lw_mac)
    check("renewal from leasewired after the partner's ack gets the full lease",
          ack.opt_u32(51), LEASE)
    cl.renew(mac_isc, addr_isc, ISC_IP, isc_mac)
    check_no_double(lab)

    # 4. ISC crashes: COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN after the interval.
    mark = len(lab.a.events())
    lab.isc_kill()
    if lw_is_primary:     # the state may be over (state switch interval) by the time we look
        lab.a.wait_entered("communications-interrupted", 40, mark)
    else:
        lab.wait_lw_state("communications-interrupted", 40)
    t_ci = time.monotonic()
    if lw_is_primary:
        lab.wait_lw_state("partner-down", fotest.SWITCH + 20)
        log("partner-down %.1f s after communications-interrupted (interval %d s)" %
            (time.monotonic() - t_ci, fotest.SWITCH))
    else:
        # The operator knows better than the timer: partner-down at once.
        a = lab.ctl_cmd("failover-partner-down", {"name": REL})
        check("failover-partner-down result", a.get("result"), 0)
        lab.wait_lw_state("partner-down", 3)
        check("operator's partner-down logged with both states",
              "event=failover-command relationship=%s command=command-partner-down "
              "from=communications-interrupted to=partner-down" % REL in lab.text(lab.lw_log),
              True)
    cl.rebind(mac_isc, addr_isc, LW_IP)
    mac_new = cl.mac_for(primary_bucket=not lw_is_primary)
    addr_new = cl.dora(mac_new, LW_IP).yiaddr
    check_no_double(lab)
    if lw_is_primary:
        # The updates ISC has not acknowledged wait in the store's unacked set (written with
        # the bindings): a restart of leasewired keeps them and sends them later.
        lab.lw_stop()
        lab.lw_start(lw_role)
        m = re.search(r"(\d+) update\(s\) the partner has not acknowledged",
                      lab.text(lab.lw_log))
        check("unacked updates reloaded after a restart (>= 2)", m is not None and
              int(m.group(1)) >= 2, True)

    # 5. ISC comes back with its lease file: NORMAL again, and it learns the leases we gave
    # while it was down.
    lab.isc_start(isc_role, fresh=False)
    lab.wait_lw_state("normal", 120, partner="normal")
    # The partner-down lease lasts MCLT (30 s, 12 s short) and ISC's recovery waits MCLT, so the
    # lease may have ended by now: look for the active record ISC wrote when it learned it.
    lab.wait("ISC knows the partner-down lease of %s" % addr_new, 20,
             lambda: lab.isc_knew(addr_new, "active", mac_new))
    check_no_double(lab)
    if lw_is_primary:
        partition(lab)
    else:
        amnesia(lab, lw_role, {addr_lw: mac_lw, addr_isc: mac_isc})
    check_no_double(lab)
    check_both_stores(lab)
    if lw_is_primary:
        # 7. The operator shuts leasewired's side down: it stops serving the shared scope
        # and ISC takes over at once (D12 §9.14).
        a = lab.ctl_cmd("failover-shutdown", {"name": REL})
        check("failover-shutdown result", a.get("result"), 0)
        lab.wait_lw_state("shutdown", 5)
        lab.wait("ISC sees our shutdown and goes partner-down", 20,
                 lambda: "I move from normal to partner-down" in lab.text(lab.isc_log))
        check("service after shutdown", lab.fo_status()["service"], "none")
    lab.isc_stop()
    lab.lw_stop()
    lab.a.extra = {}


def check_both_stores(lab):
    """Every address active on both servers is bound to the same client on both."""
    a = lab.ctl_cmd("lease4-get-all")
    ours = {l["ip-address"]: l for l in (a.get("arguments") or {}).get("leases", [])}
    both = 0
    for addr, (state, mac) in lab.isc_leases().items():
        l = ours.get(addr)
        if state == "active" and l is not None and l.get("state") == "active":
            both += 1
            check("%s: the same client on both servers" % addr, l.get("hw-address"), mac)
    log("ok: %d addresses active on both servers, each with one client" % both)


def partition(lab):
    """6. The failover link breaks while both serve: each goes COMMUNICATIONS-INTERRUPTED,
    then PARTNER-DOWN after the interval; the link heals: POTENTIAL-CONFLICT, then NORMAL."""
    lab.sh("ip", "-n", NS_L, "link", "set", IF_LF, "down")
    lab.wait_lw_state("partner-down", fotest.RESPONSE_DELAY + fotest.SWITCH + 25)
    lab.wait("ISC in partner-down too", 20,
             lambda: "I move from communications-interrupted to partner-down" in
             lab.text(lab.isc_log))
    lab.sh("ip", "-n", NS_L, "link", "set", IF_LF, "up")
    lab.wait_lw_state("normal", 90, partner="normal")
    check("leasewired went through potential-conflict",
          "to=potential-conflict" in lab.text(lab.lw_log), True)


def amnesia(lab, lw_role, leases):
    """6. leasewired restarts without its store: RECOVER, asks for everything (UPDREQALL),
    waits RECOVER-WAIT for MCLT, then NORMAL, and knows every lease again."""
    lab.lw_stop()
    subprocess.run(["rm", "-rf", os.path.join(lab.tmp, "store")], timeout=30)
    t0 = time.monotonic()
    lab.lw_start(lw_role)
    lab.wait_lw_state("normal", fotest.MCLT + 60, partner="normal")
    text = lab.text(lab.lw_log)
    check("amnesia: started with no stored state", "no stored state" in text, True)
    check("amnesia: went through recover-wait", "to=recover-wait" in text, True)
    log("amnesia: normal again %.1f s after the restart (MCLT %d s)" %
        (time.monotonic() - t0, fotest.MCLT))
    for addr, mac in leases.items():
        got = lab.lw_lease(addr) or {}
        check("amnesia: lease of %s learnt back" % addr, (got.get("state"),
              got.get("hw-address")), ("active", mac))


def wrong_name(lab):
    log("=== wrong relationship name ===")
    lab.lw_start("primary", name="notiscfo")
    lab.isc_start("secondary", fresh=True)
    lab.wait("leasewired logs ISC's reject", 30,
             lambda: "link=rejected by=partner reason=8" in lab.text(lab.lw_log))
    lab.wait("ISC logs the unknown name", 10,
             lambda: "unknown failover relationship name" in lab.text(lab.isc_log))
    st = lab.ctl_cmd("failover-status")["arguments"][0]
    check("state with a refused partner", st["state"] in ("startup", "recover"), True)
    lab.isc_stop()
    lab.lw_stop()


# --- a hostile partner ----------------------------------------------------------------------

def fo_opt(code, data):
    return struct.pack("!HH", code, len(data)) + data


def fo_message(mtype, opts=b"", xid=1, length=None):
    body = struct.pack("!BBII", mtype, 12, int(time.time()), xid) + opts
    return struct.pack("!H", length if length is not None else len(body) + 2) + body


def fake_connect(name):
    """A primary's CONNECT as ISC sends it."""
    return fo_message(5, fo_opt(22, name.encode()) + fo_opt(14, struct.pack("!I", 10)) +
                      fo_opt(19, struct.pack("!I", 15)) + fo_opt(28, b"hostile-test") +
                      fo_opt(20, b"\x01") + fo_opt(27, b"\x00") +
                      fo_opt(15, struct.pack("!I", fotest.MCLT)) +
                      fo_opt(11, b"\xff" * 16 + b"\0" * 16))


def hostile(lab):
    """A partner that misbehaves after a correct handshake is disconnected with a clear log
    line (as ISC drops it: the stream cannot be resynchronised) and the daemon goes on; a
    message of an unknown type with no known option is ignored (as ISC)."""
    log("=== hostile partner ===")
    lab.lw_start("secondary")
    cases = [
        ("unknown message type, no options: ignored", fo_message(200), None),
        ("a duplicate option", fo_message(3, fo_opt(2, socket.inet_aton("198.18.8.150")) +
                                          fo_opt(3, b"\x02") +
                                          fo_opt(2, socket.inet_aton("198.18.8.151"))),
         "protocol error: duplicate-option"),
        ("a length beyond 2048", fo_message(3, length=2304), "protocol error: length-too-big"),
        ("binding-status of 2 bytes", fo_message(3, fo_opt(2, socket.inet_aton("198.18.8.150")) +
                                                 fo_opt(3, b"\x02\x02")),
         "protocol error: option-size"),
    ]
    root = os.open("/proc/self/ns/net", os.O_RDONLY)
    setns("/run/netns/" + NS_I)
    try:
        for what, msg, reason in cases:
            before = lab.text(lab.lw_log).count("link=down")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            s.bind((ISC_FO, 0))
            s.connect((LW_FO, 647))
            s.sendall(fake_connect(REL))
            got = s.recv(4096)
            check("%s: CONNECTACK first" % what, got[2] if len(got) > 2 else None, 6)
            lab.wait("%s: link up" % what, 10, lambda: lab.fo_status()["link"] != "down")
            s.sendall(msg)
            if reason is None:
                time.sleep(1)
                check("%s: link still up" % what, lab.fo_status()["link"] != "down", True)
            else:
                lab.wait("%s: link dropped with \"%s\"" % (what, reason), 10,
                         lambda: lab.text(lab.lw_log).count("link=down") > before and
                         reason in lab.text(lab.lw_log))
            s.close()
            lab.wait("%s: link down again" % what, 10,
                     lambda: lab.fo_status()["link"] == "down")
    finally:
        setns_fd(root)
        os.close(root)
    check("daemon alive after the hostile partner", lab.lw.poll(), None)
    lab.lw_stop()


def main():
    lwtest._name = "fo-isc"
    form = "long" if fotest.long_or_short(sys.argv) else "short"
    log("%s form: MCLT %d s, state switch %d s, max-response-delay %d s" % (
        form, fotest.MCLT, fotest.SWITCH, fotest.RESPONSE_DELAY))
    if os.geteuid() != 0:
        print("SKIP [fo-isc]: needs root", file=sys.stderr)
        return 77
    here = os.path.dirname(os.path.abspath(__file__))
    srcdir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "../.."))
    leasewired = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(srcdir, "build/controlplane/leasewired")
    if subprocess.run(["which", "dhcpd"], stdout=subprocess.DEVNULL).returncode != 0:
        print("SKIP [fo-isc]: no dhcpd (isc-dhcp-server)", file=sys.stderr)
        return 77
    tools = os.path.join(srcdir, "..", "shared", "reference", "isc-peer", "tools")
    sys.path.insert(0, tools)
    try:
        import lbhash
    except ImportError:
        print("FAIL [fo-isc]: no lbhash.py in %s" % tools, file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="lwt-fo-isc.")
    root_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    lab = FoLab(leasewired, srcdir, tmp)
    ok = False

    def on_term(sig, frm):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        lab.up()
        setns("/run/netns/" + NS_C)
        from scapy import all as sc
        sc.conf.checkIPaddr = False
        sc.conf.verb = 0
        cl = Clients(lab, sc, Wire(BR), lbhash)
        for role in ("primary", "secondary"):
            for f in ("store", "isc.leases"):
                subprocess.run(["rm", "-rf", os.path.join(tmp, f)])
            scenario(lab, cl, role)
        for f in ("store", "isc.leases"):
            subprocess.run(["rm", "-rf", os.path.join(tmp, f)])
        wrong_name(lab)
        for f in ("store",):
            subprocess.run(["rm", "-rf", os.path.join(tmp, f)])
        hostile(lab)
        ok = True
        log("PASS")
        return 0
    except lwtest.TestFailure as e:
        print("FAIL [fo-isc]: %s" % e, file=sys.stderr)
        return 1
    finally:
        setns_fd(root_fd)
        os.close(root_fd)
        for stop in (lab.isc_stop, lab.lw_stop):
            try:
                stop()
            except Exception as e:      # keep tearing down
                print("teardown: %s" % e, file=sys.stderr)
        lab.down()
        if not ok:
            for name, path in (("leasewired", lab.lw_log), ("ISC dhcpd", lab.isc_log)):
                print("----- %s log (last 40 lines) -----" % name, file=sys.stderr)
                print("".join(lab.text(path).splitlines(True)[-40:]), file=sys.stderr)
        subprocess.run(["rm", "-rf", tmp], timeout=30)


if __name__ == "__main__":
    sys.exit(main())
