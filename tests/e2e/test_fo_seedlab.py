#!/usr/bin/python3
"""e2e-fo-seedlab: the seeds' own lab (seed 002, "Step-by-Step: Configure DHCP for Failover")
with two leasewired servers and a real ISC dhclient, in the fotest lab (partner="lw") with
namespaces lwt-sl-*.

    test_fo_seedlab.py [LEASEWIRED [SRCDIR]]    (root; exit 77 = skipped)

DHCP2 of the seed is A (it holds the scope), DHCP1 is B (no scope of the lab); server.management
on each lists the other. dhclient runs in the client namespace on its own veth, a port of the
bridge joining both servers' DHCP sides; its script logs every event (time, reason, address,
server identifier, lease) and puts the address on the interface, so that renewals go by
unicast to the server as on a real client. The scope's lease is 60 s (leasewired's minimum)
with T1 = 2 s and T2 = 4 s: a client renews every 2 s, and rebinds 2 s after a silent renewal.
Everything is done with `leasewirectl` on A (LEASEWIRECTL), as the seed does on DHCP2:
  1. `failover add` with the wizard's defaults (no name: THIS-SERVER-PARTNER), load balance
     50 %, MCLT 60 s, a shared secret, --scope lab: B gets the relationship and the scope with
     its options, exclusion, reservation and lease times; both NORMAL;
  2. dhclient binds; its MAC hashes to A, so A serves it;
  3. `failover set NAME load-balance-percent=0` (100 % to B, the server not serving the
     client): the client's next renewal (A silent, the rebind at T2) is answered by B, same
     address; every later one too;
  4. `failover set NAME mode=hot-standby server-role=active` (A active, as the seed's tip
     says: the server the relationship was made on): both NORMAL, B the standby; the client
     moves back to A at its next renewal;
  5. A stopped (SIGTERM to the process this test started): B serves the client, same address.
After the scenario the checker (fotest.check_final) proves no address was bound to two clients
at once, over every ACK dhclient logged and both servers' bindings.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_FO, A_IP, B_FO, B_IP  # noqa: E402

fotest.use_namespaces("lwt-sl")

WALL_LIMIT = 40
SECRET = "secret"           # the seed's example
LEASE, T1, T2 = 60, 2, 4
DNS = "198.18.8.53"
RESV = {"hw-address": "02:fb:00:00:00:60", "ip-address": "198.18.8.60"}
EXCL = "198.18.8.100 - 198.18.8.109"    # the seed excludes the first ten of its range
CTL = os.environ.get("LEASEWIRECTL")
IF_CV, IF_CD = "lwt-sl-cv", "lwt-sl-cd"  # bridge port, dhclient's interface (client ns)


def config(lw, a_side):
    peer = B_FO if a_side else A_FO
    cfg = {
        "server": {"workers": 1, "store": lw.store, "control-socket": lw.ctl,
                   "log-interval": 5, "idle-sleep-us": 200, "reclaim-interval": 1,
                   "management": {"address": lw.fo, "partners": [
                       {"address": peer, "shared-secret": "mgmt-" + SECRET}]}},
        "ports": [{"name": "p0", "device": "net_af_packet0,iface=" + lw.dhcp_if,
                   "interfaces": [{"address": lw.ip + "/24"}]}],
    }
    if a_side:
        cfg["scopes"] = [{"name": "lab", "subnet": "198.18.8.0/24",
                          "pools": ["%s - %s" % fotest.POOL], "exclusions": [EXCL],
                          "lease-time": LEASE, "renew-time": T1, "rebind-time": T2,
                          "max-lease-time": 300,
                          "options": {"routers": [A_IP], "domain-name-servers": [DNS],
                                      "domain-name": "contoso.test"},
                          "reservations": [RESV]}]
    else:
        cfg["scopes"] = [{"name": "other", "subnet": "198.18.20.0/24",
                          "pools": ["198.18.20.10 - 198.18.20.20"]}]
    return json.dumps(cfg, indent=1)


def ctl(lw, *words):
    """leasewirectl -j WORDS against lw (must succeed); the answer."""
    r = subprocess.run([CTL, "-s", lw.ctl, "-j", "-t", "20"] + list(words),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    log("%s: leasewirectl %s -> %d %s" % (lw.tag, " ".join(words), r.returncode,
                                          (r.stdout.strip() or r.stderr.strip())[:300]))
    if r.returncode != 0:
        fail("%s: leasewirectl %s failed: %s %s" % (lw.tag, " ".join(words), r.stdout,
                                                     r.stderr))
    return json.loads(r.stdout)


def conf(lw):
    a = lw.ctl_cmd("config-get")
    if a.get("result") != 0:
        fail("%s config-get: %r" % (lw.tag, a))
    return a["arguments"]


def named(lst, name):
    for e in lst or []:
        if e.get("name") == name:
            return e
    return None


class Dhclient:
    """ISC dhclient on IF_CD in the client namespace (this process is in it). Its script
    appends one JSON object per event to events.log."""

    def __init__(self, lab, mac):
        self.lab, self.mac = lab, mac
        self.dir = os.path.join(lab.tmp, "dhclient")
        os.makedirs(self.dir, exist_ok=True)
        self.events_log = os.path.join(self.dir, "events.log")
        self.proc = None
        with open(os.path.join(self.dir, "dhclient.conf"), "w") as f:
            f.write("timeout 30;\nretry 1;\ninitial-interval 1;\nbackoff-cutoff 1;\n"
                    "request subnet-mask, routers, domain-name-servers, domain-name, "
                    "dhcp-lease-time, dhcp-renewal-time, dhcp-rebinding-time, "
                    "dhcp-server-identifier;\n")
        script = os.path.join(self.dir, "script.py")
        with open(script, "w") as f:
            f.write("""#!PYTHON
import json, os, subprocess, time
e = {k: v for k, v in os.environ.items() if k == "reason" or k.startswith("new_")}
e["t"] = time.time()
with open(EVENTS, "a") as f:
    f.write(json.dumps(e) + "\\n")
r, i = e["reason"], os.environ.get("interface", "")
if r in ("BOUND", "RENEW", "REBIND", "REBOOT"):
    subprocess.run(["ip", "addr", "replace", e["new_ip_address"] + "/" +
                    e["new_subnet_mask"], "dev", i])
elif r in ("EXPIRE", "FAIL", "STOP", "RELEASE") and os.environ.get("old_ip_address"):
    subprocess.run(["ip", "addr", "flush", "dev", i])
""".replace("PYTHON", sys.executable).replace("EVENTS", repr(self.events_log)))
        os.chmod(script, 0o755)
        self.script = script

    def start(self):
        self.out = open(os.path.join(self.dir, "dhclient.out"), "w")
        self.proc = subprocess.Popen(
            ["timeout", "-k", "5", "120", "dhclient", "-d", "-v",
             "-cf", os.path.join(self.dir, "dhclient.conf"), "-sf", self.script,
             "-lf", os.path.join(self.dir, "dhclient.leases"),
             "-pf", os.path.join(self.dir, "dhclient.pid"), IF_CD],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def output(self):
        return fotest.FoLab.text(os.path.join(self.dir, "dhclient.out"))

    def events(self):
        """Every event with an answer (BOUND/RENEW/REBIND/REBOOT) so far."""
        out = []
        for ln in fotest.FoLab.text(self.events_log).splitlines():
            e = json.loads(ln)
            if e.get("reason") in ("BOUND", "RENEW", "REBIND", "REBOOT"):
                out.append(e)
        return out

    def acks(self):
        """The events as fotest ACKs (time, addr, mac, lease, server)."""
        return [(e["t"], e["new_ip_address"], self.mac, int(e["new_dhcp_lease_time"]),
                 e["new_dhcp_server_identifier"]) for e in self.events()]

    def wait_served(self, server, after, secs, what):
        """Wait for an answered event from SERVER later than AFTER (unix time); it."""
        found = []

        def cond():
            if self.proc is not None and self.proc.poll() is not None:
                fail("dhclient exited (rc %s)" % self.proc.returncode)
            found[:] = [e for e in self.events() if e["t"] > after and
                        e["new_dhcp_server_identifier"] == server]
            return bool(found)
        self.lab.wait(what, secs, cond)
        e = found[0]
        log("dhclient %s %s from %s%s (lease %s)" % (
            e["reason"], e["new_ip_address"], server,
            " %.1f s later" % (e["t"] - after) if after else "", e["new_dhcp_lease_time"]))
        return e


def both_normal(lab, name):
    for lw in (lab.a, lab.b):
        st = lw.fo_status(name)
        if st["state"] != "normal" or st["partner-state"] != "normal":
            return False
    return True


def run(lab, cl):
    A, B = lab.a, lab.b
    A.config = lambda role, name=None: config(A, True)
    B.config = lambda role, name=None: config(B, False)
    # dhclient's own port on the bridge, with a MAC whose bucket is A's at 50 %.
    mac = cl.mac_for(primary_bucket=True)
    lab.sh("ip", "-n", fotest.NS_C, "link", "add", IF_CV, "type", "veth", "peer", "name",
                  IF_CD)
    lab.sh("ip", "-n", fotest.NS_C, "link", "set", IF_CD, "address", mac)
    lab.sh("ip", "-n", fotest.NS_C, "link", "set", IF_CV, "master", fotest.BR)
    for i in (IF_CV, IF_CD):
        lab.sh("ip", "-n", fotest.NS_C, "link", "set", i, "up")
    # dhclient's renewals leave through a kernel UDP socket: full checksums on the veth (else
    # the servers drop them as drop_udp_checksum, scripts/lab.sh).
    lab.sh("ip", "netns", "exec", fotest.NS_C, "ethtool", "-K", IF_CD, "tx", "off")
    dh = Dhclient(lab, mac)
    lab.extra_acks = dh.acks
    A.start("primary")
    B.start("secondary")
    try:
        scenario(lab, dh)
    finally:
        dh.stop()


def scenario(lab, dh):
    A, B = lab.a, lab.b
    log("=== 1. failover add on A (the wizard's defaults) makes it all on B ===")
    ans = ctl(A, "failover", "add", "partner-address=" + B_FO, "local-address=" + A_FO,
              "role=primary", "mode=load-balance", "load-balance-percent=50", "mclt=60",
              "shared-secret=" + SECRET, "auto-state-transition=true",
              "state-switch-interval=5", "max-response-delay=5",
              "load-balance-max-seconds=0", "--scope", "lab")
    name = ans["arguments"][0]["name"]
    if B_FO not in name:
        fail("the default relationship name %r does not name the partner" % name)
    rb = named(conf(B).get("relationships"), name)
    if rb is None:
        fail("B has no relationship %s" % name)
    check("B's role", (rb["role"], rb["partner-address"]), ("secondary", A_FO))
    check("B's scopes", rb["scopes"], ["lab"])
    check("B's secret, masked by config-get", rb.get("shared-secret"), "********")
    sa, sb = named(conf(A)["scopes"], "lab"), named(conf(B)["scopes"], "lab")
    if sb is None:
        fail("the scope did not appear on B")
    for key in ("subnet", "pools", "exclusions", "lease-time", "renew-time", "rebind-time",
                "options", "reservations"):
        check("B's scope %s" % key, sb.get(key), sa.get(key))
    lab.wait("both NORMAL after add", 25, lambda: both_normal(lab, name))

    log("=== 2. dhclient binds, from A (its bucket) ===")
    dh.start()
    t0 = time.time()
    first = dh.wait_served(A_IP, 0, 15, "dhclient bound by A")
    addr = first["new_ip_address"]
    check("first answer", first["reason"], "BOUND")
    check("router", first.get("new_routers"), A_IP)
    check("DNS", first.get("new_domain_name_servers"), DNS)
    check("renewal time", first.get("new_dhcp_renewal_time"), str(T1))
    dh.wait_served(A_IP, first["t"], 10, "a renewal answered by A")
    if "DHCPREQUEST for %s on %s to %s port 67" % (addr, IF_CD, A_IP) not in dh.output():
        fail("dhclient did not renew by unicast to A")

    log("=== 3. 100 %% to B, the server not serving the client: it moves ===")
    ctl(A, "failover", "set", name, "load-balance-percent=0")
    lab.wait("B's share is 100 %", 10,
             lambda: named(conf(B)["relationships"], name)["load-balance-percent"] == 100)
    lab.wait("both NORMAL after the split", 20, lambda: both_normal(lab, name))
    t_split = time.time()
    e = dh.wait_served(B_IP, t_split, 12, "the client's next renewal answered by B")
    check("address kept on the move to B", e["new_ip_address"], addr)
    e2 = dh.wait_served(B_IP, e["t"], 8, "B answers the renewal after")
    late_a = [x for x in dh.events() if e["t"] <= x["t"] <= e2["t"] and
              x["new_dhcp_server_identifier"] == A_IP]
    check("answers from A (0 %) after the move", late_a, [])

    log("=== 4. hot standby live, A active: the client comes back to A ===")
    ctl(A, "failover", "set", name, "mode=hot-standby", "server-role=active")
    lab.wait("B is the standby", 10, lambda: named(conf(B)["relationships"], name).get(
        "server-role") == "standby")
    lab.wait("both NORMAL in hot standby", 20, lambda: both_normal(lab, name))
    check("B's service in NORMAL", B.fo_status(name)["service"], "none")
    e = dh.wait_served(A_IP, time.time(), 12, "the client's next renewal answered by A")
    check("address kept on the move to A", e["new_ip_address"], addr)

    log("=== 5. the active server stopped: the standby serves the client ===")
    A.stop()
    t_stop = time.time()
    e = dh.wait_served(B_IP, t_stop, 12, "the standby B answers the client")
    check("address kept by the standby", e["new_ip_address"], addr)
    log("B: %s; the lab took %.1f s from dhclient's start" % (
        B.fo_status(name)["state"], time.time() - t0))


def main():
    if not CTL or not os.access(CTL, os.X_OK):
        print("FAIL [fo-seedlab]: LEASEWIRECTL is not set to leasewirectl", file=sys.stderr)
        return 1
    return fotest.run_pair("fo-seedlab", run, WALL_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
