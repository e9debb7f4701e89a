#!/usr/bin/python3
"""e2e-fo-mgmt: the management channel between two leasewired failover partners (issue 12,
seed 004's replication example).

    test_fo_mgmt.py [LEASEWIRED [SRCDIR]]       (root; exit 77 = skipped)

The fotest lab with partner="lw" in namespaces lwt-fm-l/-i/-c: A (primary) and B (secondary)
share scope "fo"; server.management on each lists the other (the failover link's kernel
addresses, 198.18.9.1/.2) with the same secret.
  1. a reservation added on A reaches B on its own (B's config-get shows it); A's
     failover-sync-status says in-sync; a scope policy added on A reaches B and is in force
     there: a client of B's hash bucket that matches it gets an address of the policy's
     range and its domain name from B (issue 14);
  2. B stopped; a second reservation added on A is pending; B started again: it reaches B;
  3. B restarted from a diverged file (other lease time, no reservations): B reports drift
     after its digest comparison; `failover replicate --scope fo` on A overwrites B, both
     in-sync again;
  4. a management peer with a wrong secret is refused (REFUSE "digest"), one from an address
     not listed is refused (REFUSE "peer"), and A's configuration is unchanged;
  5. after every scenario a client is served and no address is bound to two clients.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_FO, B_FO, check_no_double  # noqa: E402

fotest.use_namespaces("lwt-fm")

SECRET = "mgmt-s3cret"
MGMT_PORT = 6470
WALL_LIMIT = 120
ROUTER = "198.18.8.254"
STRANGER = "198.18.9.3"     # a kernel address of B's namespace no server lists

# Lw.config with server.management and per-server scope changes (lw.mgmt, lw.scope_extra).
_config = fotest.Lw.config


def _config_mgmt(self, role, name=fotest.REL):
    cfg = json.loads(_config(self, role, name))
    if getattr(self, "mgmt", None):
        cfg["server"]["management"] = self.mgmt
    cfg["scopes"][0].update(getattr(self, "scope_extra", {}))
    return json.dumps(cfg, indent=1)


fotest.Lw.config = _config_mgmt


def scope_of(lw, name="fo"):
    a = lw.ctl_cmd("config-get")
    if a.get("result") != 0:
        fail("%s config-get: %r" % (lw.tag, a))
    for s in a["arguments"]["scopes"]:
        if s["name"] == name:
            return s
    fail("%s has no scope %s" % (lw.tag, name))


def reserved(lw, addr):
    return any(r.get("ip-address") == addr for r in scope_of(lw).get("reservations", []))


def sync_status(lw, scope="fo"):
    a = lw.ctl_cmd("failover-sync-status")
    if a.get("result") != 0:
        fail("%s failover-sync-status: %r" % (lw.tag, a))
    for e in a["arguments"]:
        if e["scope"] == scope:
            return e
    fail("%s: no sync status for %s: %r" % (lw.tag, scope, a))


def add_reservation(lw, addr, mac):
    a = lw.ctl_cmd("reservation-add", {"scope": "fo", "reservation": {
        "hw-address": mac, "ip-address": addr}})
    check("%s reservation-add %s" % (lw.tag, addr), a.get("result"), 0)


# A management client in B's namespace: HELLO signed with @secret from @src; returns the
# code of the REFUSE it gets (or "welcome"). The frame layout is mgmt_proto.h's.
PEER_PY = r"""
import hashlib, hmac, json, os, socket, struct, sys, time
src, dst, port, secret = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
nonce = os.urandom(16)
body = json.dumps({"nonce": nonce.hex()}, separators=(",", ":"), sort_keys=True).encode()
n = 4 + 24 - 4 + len(body) + 32
hdr = struct.pack(">IBBHQQ", n, 1, 1, 0, 1, int(time.time()))
mac = hmac.new(secret, b"LWMGMT1" + nonce + bytes(16) + b"I" + hdr + body,
               hashlib.sha256).digest()
s = socket.socket()
s.settimeout(10)
s.bind((src, 0))
s.connect((dst, port))
s.sendall(hdr + body + mac)
buf = b""
while len(buf) < 4 or len(buf) < struct.unpack(">I", buf[:4])[0]:
    b = s.recv(65536)
    if not b:
        break
    buf += b
t = buf[5]
print("welcome" if t == 2 else json.loads(buf[24:-32])["code"] if t == 5 else "type%d" % t)
"""


def peer_try(src, secret):
    r = subprocess.run(["ip", "netns", "exec", fotest.NS_I, sys.executable, "-c", PEER_PY, src,
                        A_FO, str(MGMT_PORT), secret], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=20)
    if r.returncode != 0:
        fail("management probe from %s failed: %s" % (src, r.stderr.strip()))
    return r.stdout.strip()


POLICY_RANGE = ("198.18.8.190", "198.18.8.199")


def addr_in(addr, rng):
    def n(a):
        return int.from_bytes(bytes(int(x) for x in a.split(".")), "big")
    return n(rng[0]) <= n(addr) <= n(rng[1])


def policy_mac(cl):
    """A MAC matching policy fc-clients (02:fc:*) in the secondary's (B's) hash bucket."""
    for i in range(1, 65536):
        mac = "02:fc:%02x:00:%02x:%02x" % (os.getpid() & 255, i >> 8, i & 255)
        if cl.lbhash.bucket(bytes.fromhex(mac.replace(":", ""))) >= 128:
            return mac
    fail("no MAC in B's bucket")


def client_round(lab, cl):
    cl.dora_any(cl.mac_for(primary_bucket=True))
    check_no_double(lab)


def run(lab, cl):
    A, B = lab.a, lab.b
    A.mgmt = {"address": A_FO, "partners": [{"address": B_FO, "shared-secret": SECRET}]}
    B.mgmt = {"address": B_FO, "partners": [{"address": A_FO, "shared-secret": SECRET}]}
    # fotest gives each server its own address as router: the same scope on both here.
    A.scope_extra = {"options": {"routers": [ROUTER]}}
    B.scope_extra = {"options": {"routers": [ROUTER]}}

    log("=== start: both NORMAL, channel up ===")
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    lab.wait("A and B in sync on fo", 15,
             lambda: sync_status(A)["status"] == "in-sync" and
             sync_status(B)["status"] == "in-sync")

    log("=== 1. a reservation added on A reaches B on its own ===")
    add_reservation(A, "198.18.8.50", "02:fb:00:00:00:50")
    lab.wait("B's config-get shows the reservation", 15, lambda: reserved(B, "198.18.8.50"))
    lab.wait("A says fo is in-sync", 10, lambda: sync_status(A)["status"] == "in-sync")
    client_round(lab, cl)

    log("=== 1b. a policy added on A is in force on B (issue 14) ===")
    a = A.ctl_cmd("policy-add", {"scope": "fo", "policy": {
        "name": "fc-clients", "conditions": [{"type": "mac-address", "values": ["02:fc:*"]}],
        "ranges": [POLICY_RANGE[0] + " - " + POLICY_RANGE[1]],
        "options": {"domain-name": "policy.test"}}})
    check("A policy-add", a.get("result"), 0)
    lab.wait("B's config-get shows the policy", 15,
             lambda: [p["name"] for p in scope_of(B).get("policies", [])] == ["fc-clients"])
    lab.wait("A says fo is in-sync", 10, lambda: sync_status(A)["status"] == "in-sync")
    # A balanced the range on its own: half of its 10 addresses are B's (BACKUP).
    lab.wait("B holds BACKUP addresses of the policy's range", 10,
             lambda: sum(1 for x in B.leases() if x.get("state") == "backup" and
                         addr_in(x["ip-address"], POLICY_RANGE)) >= 5)
    mac = policy_mac(cl)
    ack = cl.dora(mac, fotest.B_IP)     # B's hash bucket: B answers
    if not addr_in(ack.yiaddr, POLICY_RANGE):
        fail("B gave %s to a client of policy fc-clients: not in %s - %s" %
             ((ack.yiaddr,) + POLICY_RANGE))
    check("domain name B gave the policy's client", ack.opts.get(15), b"policy.test")
    check_no_double(lab)

    log("=== 2. a change made while B is down reaches it when it returns ===")
    B.stop()
    add_reservation(A, "198.18.8.51", "02:fb:00:00:00:51")
    check("A's sync status while B is down", sync_status(A)["status"], "pending")
    if not os.path.exists(os.path.join(A.store, "mgmt-queue.json")):
        fail("A keeps no mgmt-queue.json in its store")
    B.start("secondary")
    lab.wait("B got the change made while it was down", 30, lambda: reserved(B, "198.18.8.51"))
    lab.wait("A says fo is in-sync", 10, lambda: sync_status(A)["status"] == "in-sync")
    A.wait_state("normal", 60, partner="normal")
    client_round(lab, cl)

    log("=== 3. a diverged B: drift reported, then replicate --scope overwrites it ===")
    B.stop()
    B.scope_extra = {"options": {"routers": [ROUTER]}, "lease-time": 200}
    B.start("secondary")        # its changed file wins over its stored configuration
    check("B's diverged lease time", scope_of(B)["lease-time"], 200)
    lab.wait("B reports drift on fo", 20, lambda: sync_status(B)["status"] == "drift")
    log("B: %r" % sync_status(B))
    a = A.ctl_cmd("failover-replicate", {"scope": "fo"})
    check("failover-replicate --scope fo on A", a.get("result"), 0)
    check("scopes queued", a.get("arguments"), ["fo"])
    lab.wait("B holds A's settings again", 20,
             lambda: scope_of(B)["lease-time"] == scope_of(A)["lease-time"] and
             reserved(B, "198.18.8.50") and reserved(B, "198.18.8.51"))
    lab.wait("both in-sync", 10, lambda: sync_status(A)["status"] == "in-sync" and
             sync_status(B)["status"] == "in-sync")
    a = A.ctl_cmd("failover-replicate", {"relationship": "nope"})
    check("replicate of an unknown relationship", a.get("result"), 1)
    A.wait_state("normal", 60, partner="normal")
    client_round(lab, cl)

    log("=== 4. a wrong secret and an unlisted address are refused ===")
    before = scope_of(A)
    check("HELLO with a wrong secret", peer_try(B_FO, "not-the-secret"), "digest")
    subprocess.run(["ip", "-n", fotest.NS_I, "addr", "add", STRANGER + "/24", "dev",
                    fotest.IF_IF], timeout=10, check=True)
    check("HELLO from an unlisted address", peer_try(STRANGER, SECRET), "peer")
    check("HELLO with the right secret", peer_try(B_FO, SECRET), "welcome")
    check("A's scope after the refusals", scope_of(A), before)
    if not [ln for ln in A.events("mgmt-refuse") if "code=digest" in ln]:
        fail("A logged no refusal of the wrong secret")
    client_round(lab, cl)


def main():
    def body(lab, cl):
        run(lab, cl)

    return fotest.run_pair("fo-mgmt", body, WALL_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
