#!/usr/bin/python3
"""e2e-conflict-icmp: conflict detection of a relayed client by ICMP echo (issue 14 item 4).

    test_conflict_icmp.py [LEASEWIRED [SRCDIR]]    (root; exit 77 = skipped)

The client namespace's kernel plays the relay and a host behind it: its veth owns the relay
address 198.18.1.1 (giaddr, scope "far" 198.18.1.0/24), 198.18.0.2/24 (the route back to the
server's 198.18.0.1) and the pool address 198.18.1.100, so it answers the echo the server
sends for .100 through the relay's MAC. Scope "far": pool .100-.101, conflict detection
1 attempt, 300 ms. One relayed DISCOVER:
  - the server sends an ICMP echo for .100 to the relay's MAC; the kernel answers it;
  - the OFFER (to the relay) is for .101;
  - statistic address-conflicts is 1, the log has event=address-conflict for .100 detected
    by icmp, and lease show .100 says abandoned;
  - final counters: conflicts 1, offer 1, nak 0, drop_icmp_malformed 0: the kernel answers
    the OFFER to 198.18.1.1:67 (no listener) with a port unreachable, well-formed ICMP
    counted as drop_icmp_not_echo_request, never as malformed (issue 11).
(~1.2 s)
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import SERVER_IP, Wire, check, check_counters, fail, log, run, run_test  # noqa: E402
import lwtest  # noqa: E402

RELAY = "198.18.1.1"
TAKEN = "198.18.1.100"          # owned by the client namespace's kernel
FREE = "198.18.1.101"
CLIENT_MAC = "02:00:5e:34:00:01"

CONFIG = """{
  "server": { "workers": 1, "store": "", "control-socket": "{ctl}", "log-interval": 1,
              "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface={srvif}",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "far", "subnet": "198.18.1.0/24", "pools": [ "%s - %s" ], "lease-time": 120,
    "decline-hold": 600, "conflict-detection-attempts": 1, "conflict-detection-timeout": 300,
    "options": { "routers": [ "%s" ] }
  } ]
}
""" % (TAKEN, FREE, RELAY)


def ctl(lab, *args):
    """leasewirectl --json ARGS on the server's socket; returns the reply's arguments."""
    exe = os.environ.get("LEASEWIRECTL") or os.path.join(
        os.path.dirname(os.path.dirname(lab.leasewired)), "client/leasewirectl")
    sock = os.path.join(os.path.dirname(lab.slog), "ctl.sock")
    r = subprocess.run([exe, "-s", sock, "--json"] + list(args), capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        fail("leasewirectl %s: rc %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)["arguments"]


def body(lab):
    sc = lab.scapy
    # We are in the client namespace: its kernel is the relay and the host owning TAKEN.
    for a in (RELAY + "/24", "198.18.0.2/24", TAKEN + "/32"):
        run(["ip", "addr", "add", a, "dev", lab.cliif])
    relay_mac = json.loads(run(["ip", "-j", "link", "show", "dev", lab.cliif]).stdout)[0][
        "address"]
    wire = Wire(lab.cliif)

    xid = 0x1C3E0001
    m = lwtest.dhcp_msg(sc, CLIENT_MAC, xid, "discover", flags=0)
    m.giaddr = RELAY
    m.hops = 1
    t0 = time.monotonic()
    wire.send(lwtest.frame(sc, relay_mac, m, src=RELAY, dst=SERVER_IP, sport=67))
    offer, before = wire.wait_reply(xid, "relayed DISCOVER")
    log("OFFER after %.2f s" % (time.monotonic() - t0))
    check("OFFER's message type", offer.msgtype(), 2)
    check("OFFER's address (the other one)", offer.yiaddr, FREE)
    check("OFFER sent to the relay", (offer.ip_dst, offer.dport), (RELAY, 67))
    echo = [r for r in before if r.eth_dst == relay_mac and
            getattr(r, "ip_dst", None) == TAKEN and getattr(r, "proto", None) == 1]
    check("ICMP echoes for %s to the relay's MAC before the OFFER" % TAKEN, len(echo), 1)

    # The statistic is summed by the control loop: give it a moment.
    deadline = time.monotonic() + 3
    while True:
        n = ctl(lab, "stats", "address-conflicts")
        n = n.get("address-conflicts", n) if isinstance(n, dict) else n
        if n == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check("statistic address-conflicts", n, 1)
    lease = ctl(lab, "lease", "show", TAKEN)
    lease = lease.get("lease", lease) if isinstance(lease, dict) else lease
    if isinstance(lease, list):
        lease = lease[0] if lease else {}
    check("lease show %s: state" % TAKEN, lease.get("state"), "abandoned")
    pat = (r"event=address-conflict scope=far ip-address=%s detected-by=icmp mac=%s" %
           (re.escape(TAKEN), re.escape(relay_mac)))
    deadline = time.monotonic() + 3
    while not re.search(pat, lab.server_log()):
        if time.monotonic() > deadline:
            fail("no '%s' in the server log" % pat)
        time.sleep(0.1)

    counters = lab.stop_server()
    check_counters(counters, {"discover": 1, "offer": 1, "nak": 0, "conflicts": 1,
                              "drop_icmp_malformed": 0})
    log("echo for %s answered by the host: abandoned, %s offered" % (TAKEN, FREE))


if __name__ == "__main__":
    sys.exit(run_test("cfi", CONFIG, body))
