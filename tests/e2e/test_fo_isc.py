#!/usr/bin/python3
"""e2e-fo-isc: leasewired and a real ISC dhcpd 4.4.3 as failover partners (draft-12, TCP/647).

    test_fo_isc.py [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)

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
     binding appears in ISC's lease file (BNDUPD/BNDACK); a client hashing to ISC gets its
     lease from ISC and the binding appears in leasewired (lease4-get);
  3. the secondary has BACKUP addresses: the primary balanced the pool;
  4. SIGKILL of ISC: leasewired goes COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN after the
     state switch interval, and then answers ISC's client (a REBINDING request) and a new
     client;
  5. ISC restarted with its lease file: both back to NORMAL.
Then: a wrong relationship name is refused by ISC, as ISC refuses it.
After every phase, a checker over every ACK captured on the bridge (and both servers'
bindings at the end): no address was bound to two clients at the same time.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lwtest  # noqa: E402
from lwtest import Wire, check, dhcp_msg, fail, frame, log, run, setns, setns_fd  # noqa: E402

NS_L, NS_I, NS_C = "lwt-fo-l", "lwt-fo-i", "lwt-fo-c"
IF_LD, IF_LF, IF_ID, IF_IF = "lwt-fo-ld", "lwt-fo-lf", "lwt-fo-id", "lwt-fo-if"
IF_CL, IF_CI, BR = "lwt-fo-cl", "lwt-fo-ci", "lwt-fo-br"
LW_IP, ISC_IP = "198.18.8.1", "198.18.8.2"
LW_FO, ISC_FO = "198.18.9.1", "198.18.9.2"
POOL = ("198.18.8.100", "198.18.8.200")
MCLT = 30
SWITCH = 12          # state switch interval / ISC auto-partner-down
LEASE = 120
REL = "iscfo"


def ip_int(a):
    return int.from_bytes(socket.inet_aton(a), "big")


# --- the lab ---------------------------------------------------------------------------------

class FoLab:
    def __init__(self, leasewired, srcdir, tmp):
        self.leasewired = leasewired
        self.srcdir = srcdir
        self.tmp = tmp
        self.lw = None
        self.isc = None
        self.lw_log = os.path.join(tmp, "lw.log")
        self.isc_log = os.path.join(tmp, "isc.log")
        self.leases = os.path.join(tmp, "isc.leases")
        self.ctl = os.path.join(tmp, "ctl.sock")
        self.acks = []      # (time, addr, mac, lease, server)
        self.starts = 0

    def sh(self, *cmd):
        run(list(cmd), timeout=30)

    def up(self):
        self.down()
        for ns in (NS_L, NS_I, NS_C):
            self.sh("ip", "netns", "add", ns)
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.sh("ip", "netns", "exec", ns, "sysctl", "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        self.sh("ip", "link", "add", IF_LD, "netns", NS_L, "type", "veth", "peer", "name",
                IF_CL, "netns", NS_C)
        self.sh("ip", "link", "add", IF_ID, "netns", NS_I, "type", "veth", "peer", "name",
                IF_CI, "netns", NS_C)
        self.sh("ip", "link", "add", IF_LF, "netns", NS_L, "type", "veth", "peer", "name",
                IF_IF, "netns", NS_I)
        self.sh("ip", "-n", NS_C, "link", "add", BR, "type", "bridge")
        for i in (IF_CL, IF_CI):
            self.sh("ip", "-n", NS_C, "link", "set", i, "master", BR)
            self.sh("ip", "-n", NS_C, "link", "set", i, "up")
        self.sh("ip", "-n", NS_C, "link", "set", BR, "up")
        # The clients' socket is on the bridge: it must see replies unicast to their MACs.
        self.sh("ip", "-n", NS_C, "link", "set", BR, "promisc", "on")
        for ns, i in ((NS_L, IF_LD), (NS_L, IF_LF), (NS_I, IF_ID), (NS_I, IF_IF)):
            self.sh("ip", "-n", ns, "link", "set", i, "up")
        self.sh("ip", "-n", NS_L, "addr", "add", LW_FO + "/24", "dev", IF_LF)
        self.sh("ip", "-n", NS_I, "addr", "add", ISC_FO + "/24", "dev", IF_IF)
        self.sh("ip", "-n", NS_I, "addr", "add", ISC_IP + "/24", "dev", IF_ID)
        # ISC's replies leave through a kernel socket: full checksums on the wire.
        subprocess.run(["ip", "netns", "exec", NS_I, "ethtool", "-K", IF_ID, "tx", "off"],
                       timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def down(self):
        for ns in (NS_L, NS_I, NS_C):
            subprocess.run(["ip", "netns", "del", ns], timeout=30, stderr=subprocess.DEVNULL)

    # leasewired ----------------------------------------------------------------------------
    def lw_config(self, role, name=REL):
        return json.dumps({
            "server": {"workers": 1, "store": os.path.join(self.tmp, "store"),
                       "control-socket": self.ctl, "log-interval": 5, "idle-sleep-us": 200,
                       "reclaim-interval": 1},
            "ports": [{"name": "p0", "device": "net_af_packet0,iface=" + IF_LD,
                       "interfaces": [{"address": LW_IP + "/24"}]}],
            "scopes": [{"name": "fo", "subnet": "198.18.8.0/24",
                        "pools": ["%s - %s" % POOL], "lease-time": LEASE,
                        "max-lease-time": 300, "options": {"routers": [LW_IP]}}],
            "relationships": [{"name": name, "role": role, "local-address": LW_FO,
                               "partner-address": ISC_FO, "scopes": ["fo"], "mclt": MCLT,
                               "max-response-delay": 15, "max-unacked": 10,
                               "auto-state-transition": True,
                               "state-switch-interval": SWITCH,
                               "load-balance-max-seconds": 3}],
        }, indent=1)

    def lw_start(self, role, name=REL):
        cfg = os.path.join(self.tmp, "lw.json")
        with open(cfg, "w") as f:
            f.write(self.lw_config(role, name))
        run([self.leasewired, "-t", "-c", cfg], timeout=10)
        self.starts += 1
        self.lw_log = os.path.join(self.tmp, "lw-%d.log" % self.starts)
        self.lw = subprocess.Popen(
            ["timeout", "-k", "10", "600", "ip", "netns", "exec", NS_L, self.leasewired, "-c",
             cfg], stdout=open(self.lw_log, "w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.wait("leasewired ready", 60, lambda: "leasewired ready" in self.text(self.lw_log))

    def lw_stop(self):
        if self.lw is None:
            return
        self.lw.send_signal(signal.SIGTERM)
        try:
            self.lw.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.lw.kill()
            self.lw.wait(timeout=10)
            fail("leasewired did not stop within 30 s")
        text = self.text(self.lw_log)
        if re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", text):
            fail("sanitizer report in the leasewired log")
        if self.lw.returncode != 0:
            fail("leasewired exited with status %d" % self.lw.returncode)
        self.lw = None

    def ctl_cmd(self, command, arguments=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.ctl)
        req = {"command": command}
        if arguments is not None:
            req["arguments"] = arguments
        s.sendall(json.dumps(req).encode())
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
        s.close()
        return json.loads(buf)

    def fo_status(self):
        a = self.ctl_cmd("failover-status", {"name": REL})
        if a.get("result") != 0:
            fail("failover-status: %r" % a)
        return a["arguments"][0]

    def lw_lease(self, addr):
        a = self.ctl_cmd("lease4-get", {"ip-address": addr})
        return a.get("arguments") if a.get("result") == 0 else None

    # ISC -----------------------------------------------------------------------------------
    def isc_config(self, role, name=REL):
        role_lines = "primary;\n  mclt %d;\n  split 128;" % MCLT if role == "primary" \
            else "secondary;"
        return """authoritative;
ddns-update-style none;
ping-check false;
default-lease-time %d;
max-lease-time 300;
failover peer "%s" {
  %s
  address %s;
  port 647;
  peer address %s;
  peer port 647;
  max-response-delay 15;
  max-unacked-updates 10;
  load balance max seconds 3;
  auto-partner-down %d;
}
subnet 198.18.8.0 netmask 255.255.255.0 {
  option routers %s;
  pool {
    failover peer "%s";
    range %s %s;
  }
}
""" % (LEASE, name, role_lines, ISC_FO, LW_FO, SWITCH, ISC_IP, name, POOL[0], POOL[1])

    def isc_start(self, role, fresh, name=REL):
        cfg = os.path.join(self.tmp, "dhcpd.conf")
        with open(cfg, "w") as f:
            f.write(self.isc_config(role, name))
        if fresh or not os.path.exists(self.leases):
            open(self.leases, "w").close()
        self.isc = subprocess.Popen(
            ["timeout", "-k", "5", "600", "ip", "netns", "exec", NS_I, "dhcpd", "-4", "-f",
             "-d", "-cf", cfg, "-lf", self.leases, "-pf", os.path.join(self.tmp, "isc.pid"),
             IF_ID], stdout=open(self.isc_log, "a"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)

    def isc_kill(self):
        """SIGKILL dhcpd itself (not the `timeout` wrapper): a crash, not a shutdown."""
        with open(os.path.join(self.tmp, "isc.pid")) as f:
            pid = int(f.read().strip())
        # The pid file is ISC's own: make sure it is our child's child before killing it.
        ppid = open("/proc/%d/stat" % pid).read().split(")")[1].split()[1]
        chain = {str(self.isc.pid)}
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.isc.pid)],
                              stdout=subprocess.PIPE, text=True).stdout.split()
        chain.update(kids)
        if ppid not in chain and str(pid) not in chain:
            fail("dhcpd pid %d is not the one this test started" % pid)
        os.kill(pid, signal.SIGKILL)
        self.isc.wait(timeout=15)
        self.isc = None

    def isc_stop(self):
        if self.isc is not None:
            self.isc.send_signal(signal.SIGTERM)
            try:
                self.isc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.isc.kill()
                self.isc.wait(timeout=10)
            self.isc = None

    def isc_leases(self):
        """address -> (binding state, mac) of the latest record of each lease."""
        out = {}
        for m in re.finditer(r"lease ([0-9.]+) \{(.*?)\n\}", self.text(self.leases), re.S):
            body = m.group(2)
            st = re.search(r"\n\s+binding state (\w+);", body)
            hw = re.search(r"hardware ethernet ([0-9a-f:]+);", body)
            out[m.group(1)] = (st.group(1) if st else None, hw.group(1) if hw else None)
        return out

    # helpers -------------------------------------------------------------------------------
    @staticmethod
    def text(path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait(self, what, secs, cond):
        deadline = time.monotonic() + secs
        while not cond():
            if self.lw is not None and self.lw.poll() is not None:
                fail("leasewired exited (rc %s) while waiting for %s" % (self.lw.returncode,
                                                                        what))
            if time.monotonic() > deadline:
                fail("timed out after %d s waiting for %s" % (secs, what))
            time.sleep(0.2)
        log("ok: %s" % what)

    def wait_lw_state(self, state, secs, partner=None):
        def cond():
            st = self.fo_status()
            return st["state"] == state and (partner is None or st["partner-state"] == partner)
        self.wait("leasewired %s%s" % (state, " (partner %s)" % partner if partner else ""),
                  secs, cond)


# --- clients -------------------------------------------------------------------------------

class Clients:
    def __init__(self, lab, sc, wire, lbhash):
        self.lab, self.sc, self.wire, self.lbhash = lab, sc, wire, lbhash
        self.n = 0

    def mac_for(self, primary_bucket):
        """A fresh MAC whose ISC bucket (split 128) is the primary's (True) or not."""
        while True:
            self.n += 1
            mac = "02:fa:%02x:%02x:%02x:%02x" % (os.getpid() & 255, (self.n >> 16) & 255,
                                                 (self.n >> 8) & 255, self.n & 255)
            b = self.lbhash.bucket(bytes.fromhex(mac.replace(":", "")))
            if (b < 128) == primary_bucket:
                return mac

    def record(self, rep, mac, server):
        lease = rep.opt_u32(51) or 0
        self.lab.acks.append((time.time(), rep.yiaddr, mac, lease, server))
        log("ACK %s -> %s from %s, lease %d s" % (mac, rep.yiaddr, server, lease))

    def dora(self, mac, want_server, secs=0):
        sc = self.sc
        xid = int.from_bytes(os.urandom(4), "big")
        disc = dhcp_msg(sc, mac, xid, "discover")
        disc.secs = secs
        self.wire.send(frame(sc, mac, disc))
        rep, _ = self.wire.wait_reply(xid, "DISCOVER of %s" % mac)
        check("OFFER type for %s" % mac, rep.msgtype(), 2)
        sid = rep.opt_ip(54)[0]
        check("server answering %s" % mac, sid, want_server)
        req = dhcp_msg(sc, mac, xid, "request",
                       opts=[("requested_addr", rep.yiaddr), ("server_id", sid)])
        req.secs = secs
        self.wire.send(frame(sc, mac, req))
        ack, _ = self.wire.wait_reply(xid, "REQUEST of %s" % mac)
        check("ACK type for %s" % mac, ack.msgtype(), 5)
        self.record(ack, mac, sid)
        return ack

    def rebind(self, mac, addr, want_server):
        """REBINDING: broadcast REQUEST with ciaddr, no server id (RFC 2131 §4.4.5)."""
        sc = self.sc
        xid = int.from_bytes(os.urandom(4), "big")
        req = dhcp_msg(sc, mac, xid, "request", flags=0, ciaddr=addr)
        self.wire.send(frame(sc, mac, req, src=addr))
        ack, _ = self.wire.wait_reply(xid, "REBINDING of %s" % mac)
        check("REBINDING answer type for %s" % mac, ack.msgtype(), 5)
        check("REBINDING answer from", ack.opt_ip(54)[0], want_server)
        check("REBINDING keeps the address", ack.yiaddr, addr)
        self.record(ack, mac, want_server)
        return ack


def check_no_double(lab, extra=()):
    """No address held by two clients at once, over the captured ACKs (+ extra bindings)."""
    by_addr = {}
    for t, addr, mac, lease, server in lab.acks:
        by_addr.setdefault(addr, []).append((t, t + lease, mac, server))
    for addr, mac, t0, t1 in extra:
        by_addr.setdefault(addr, []).append((t0, t1, mac, "store"))
    for addr, spans in by_addr.items():
        spans.sort()
        for i in range(len(spans)):
            for j in range(i + 1, len(spans)):
                a, b = spans[i], spans[j]
                if a[2] != b[2] and b[0] < a[1]:
                    fail("address %s bound to %s (%s) and %s (%s) at once" %
                         (addr, a[2], a[3], b[2], b[3]))
    log("ok: no address bound to two clients at once (%d addresses, %d ACKs)" %
        (len(by_addr), len(lab.acks)))


# --- scenarios -----------------------------------------------------------------------------

def scenario(lab, cl, lw_role):
    isc_role = "secondary" if lw_role == "primary" else "primary"
    lw_is_primary = lw_role == "primary"
    log("=== leasewired %s, ISC %s ===" % (lw_role, isc_role))
    lab.acks = []       # both servers start empty: earlier ACKs belong to another world
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
    ack = cl.dora(mac_lw, LW_IP)
    if (ack.opt_u32(51) or 0) > MCLT:
        fail("first lease from leasewired is %d s, more than MCLT %d" % (ack.opt_u32(51), MCLT))
    addr_lw = ack.yiaddr
    lab.wait("ISC has leasewired's lease of %s" % addr_lw, 20,
             lambda: lab.isc_leases().get(addr_lw) == ("active", mac_lw))
    mac_isc = cl.mac_for(primary_bucket=not lw_is_primary)
    ack = cl.dora(mac_isc, ISC_IP)
    addr_isc = ack.yiaddr
    lab.wait("leasewired has ISC's lease of %s" % addr_isc, 20,
             lambda: (lab.lw_lease(addr_isc) or {}).get("state") in ("active", 0, "0"))
    got = lab.lw_lease(addr_isc)
    check("leasewired's copy of ISC's lease: hw-address", got.get("hw-address"), mac_isc)
    check_no_double(lab)

    # 4. ISC crashes: COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN after the interval.
    lab.isc_kill()
    lab.wait_lw_state("communications-interrupted", 40)
    t_ci = time.monotonic()
    lab.wait_lw_state("partner-down", SWITCH + 20)
    log("partner-down %.1f s after communications-interrupted (interval %d s)" %
        (time.monotonic() - t_ci, SWITCH))
    cl.rebind(mac_isc, addr_isc, LW_IP)
    mac_new = cl.mac_for(primary_bucket=not lw_is_primary)
    cl.dora(mac_new, LW_IP)
    check_no_double(lab)

    # 5. ISC comes back with its lease file: NORMAL again.
    lab.isc_start(isc_role, fresh=False)
    lab.wait_lw_state("normal", 120, partner="normal")
    check_no_double(lab)
    lab.isc_stop()
    lab.lw_stop()


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


def main():
    lwtest._name = "fo-isc"
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
