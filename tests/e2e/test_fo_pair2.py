#!/usr/bin/python3
"""e2e-fo-pair2: two leasewired partners, several relationships on one port (issue 12 items 4,
5, 7), in the lab of e2e-fo-pair (fotest.FoLab, partner="lw") with namespaces lwt-fq-*.

    test_fo_pair2.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

Every scenario starts both servers with empty stores; after each, no address was bound to two
clients at once (check_no_double over every ACK seen on the bridge).
  1. Two relationships between the same two servers, both on port 647 of each (one listener
     shared): "iscfo" (A primary, load balance, scope "fo", A 100 % / B 0 %) and "spare" (B
     primary, hot standby, no scopes: kept, and running). Both signed with HMAC-SHA-256 (one
     secret). Both reach NORMAL on both servers; a client of either hash bucket is answered by
     A only (100/0); status shows the percents, the split, the algorithm, the shared listener.
  2. Hot standby with the PRIMARY configured standby (A "server-role": "standby", B active):
     the secondary B answers clients of both buckets, A answers none.
  3. A wrong secret on B: the link is refused (reject 20, "message digest failed to
     compare"), neither side reaches NORMAL.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lwtest  # noqa: E402
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_IP, B_IP, MCLT, check_no_double  # noqa: E402

fotest.use_namespaces("lwt-fq")

RESPONSE_DELAY = 6
WALL_LIMIT = 180
SECRET = "lab-secret-1"


def with_second(lw):
    """Make lw.config add lw.second (a relationship dict) after the lab's one."""
    orig = lw.config

    def config(role, name=fotest.REL):
        cfg = json.loads(orig(role, name))
        if lw.second is not None:
            cfg["relationships"].append(lw.second)
        return json.dumps(cfg, indent=1)
    lw.second = None
    lw.config = config


def fresh(lab):
    for lw in (lab.a, lab.b):
        lw.stop()
        subprocess.run(["rm", "-rf", lw.store], timeout=30)
        lw.extra, lw.second = {}, None


def rel_normal(lw, name):
    st = lw.fo_status(name)
    return st["state"] == "normal" and st["partner-state"] == "normal"


def no_answer(cl, mac):
    """A DISCOVER of mac gets no OFFER from A (its bucket is the other server's)."""
    sc = cl.sc
    xid = int.from_bytes(os.urandom(4), "big")
    cl.wire.send(lwtest.frame(sc, mac, lwtest.dhcp_msg(sc, mac, xid, "discover")))
    try:
        rep, _ = cl.wire.wait_reply(xid, "DISCOVER of %s" % mac, timeout=3)
    except lwtest.TestFailure:
        return True
    return rep.opt_ip(54)[0] != A_IP


def two_relationships(lab, cl):
    A, B = lab.a, lab.b
    log("=== 1. two relationships on one port, 100/0, HMAC-SHA-256 ===")
    fresh(lab)
    lab.fo_extra = {"mode": "load-balance", "max-response-delay": RESPONSE_DELAY,
                    "shared-secret": SECRET}
    A.extra = {"load-balance-percent": 100}
    B.extra = {"load-balance-percent": 0}
    for lw, role, srole in ((A, "secondary", "active"), (B, "primary", "standby")):
        lw.second = {"name": "spare", "role": role, "mode": "hot-standby",
                     "server-role": srole, "local-address": lw.fo,
                     "partner-address": lw.peer_fo, "mclt": MCLT,
                     "max-response-delay": RESPONSE_DELAY, "shared-secret": SECRET,
                     "scopes": []}
    A.start("primary")
    B.start("secondary")
    for lw in (A, B):
        for name in (fotest.REL, "spare"):
            lab.wait("%s: %s normal" % (lw.tag, name), 60,
                     lambda: rel_normal(lw, name))
    st = A.fo_status()
    check("A's load-balance-percent", st["load-balance-percent"], 100)
    check("A's partner-load-balance-percent", st["partner-load-balance-percent"], 0)
    check("A's split (all buckets to the primary)", st["split"], 256)
    check("authentication", st["authentication"], True)
    check("algorithm", st["authentication-algorithm"], "hmac-sha256")
    check("A's listener serves both", st["listener"]["relationships"], 2)
    check("B's split", B.fo_status()["split"], 256)
    sp = A.fo_status("spare")
    check("spare kept with no scopes", sp["scopes"], [])
    check("spare's role on A", (sp["role"], sp["server-role"]), ("secondary", "active"))
    if "secret" in json.dumps(A.ctl_cmd("failover-status")):
        fail("failover-status shows the secret")
    for bucket in (True, False):
        cl.dora(cl.mac_for(primary_bucket=bucket), A_IP)   # 100 %: A answers both
    check_no_double(lab)


def standby_primary(lab, cl):
    A, B = lab.a, lab.b
    log("=== 2. hot standby, the primary is the standby: the secondary serves ===")
    fresh(lab)
    lab.fo_extra = {"mode": "hot-standby", "reserve-percent": 10,
                    "max-response-delay": RESPONSE_DELAY}
    A.extra = {"server-role": "standby"}
    B.extra = {"server-role": "active"}
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    B.wait_state("normal", 20, partner="normal")
    check("A's server role", A.fo_status()["server-role"], "standby")
    check("A's service in NORMAL", A.fo_status()["service"], "none")
    for bucket in (True, False):
        cl.dora(cl.mac_for(primary_bucket=bucket), B_IP)   # the active secondary
    check("A silent for a client of its own bucket", no_answer(cl, cl.mac_for(True)), True)
    check_no_double(lab)


def wrong_secret(lab, cl):
    A, B = lab.a, lab.b
    log("=== 3. a wrong secret is refused ===")
    fresh(lab)
    lab.fo_extra = {"mode": "load-balance", "max-response-delay": RESPONSE_DELAY}
    A.extra = {"shared-secret": SECRET}
    B.extra = {"shared-secret": "not-" + SECRET}
    A.start("primary")
    B.start("secondary")
    lab.wait("A logs the link rejected by B (reject 20)", 30,
             lambda: any("link=rejected by=partner reason=20" in ln
                         for ln in A.events("failover-link")))
    lab.wait("B logs its own reject 20", 5,
             lambda: any("link=rejected by=us reason=20" in ln
                         for ln in B.events("failover-link")))
    for lw in (A, B):
        if lw.fo_status()["state"] == "normal":
            fail("%s reached NORMAL with a wrong secret" % lw.tag)
        if " link=up" in lab.text(lw.log):      # this start's log only
            fail("%s brought the link up with a wrong secret" % lw.tag)
    check_no_double(lab)
    fresh(lab)


def main():
    def body(lab, cl):
        two_relationships(lab, cl)
        standby_primary(lab, cl)
        wrong_secret(lab, cl)

    def prepare(lab):
        for lw in (lab.a, lab.b):
            with_second(lw)

    return fotest.run_pair("fo-pair2", body, WALL_LIMIT, prepare)


if __name__ == "__main__":
    sys.exit(main())
