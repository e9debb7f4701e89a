#!/usr/bin/python3
"""e2e-fo-live: a failover relationship made and changed live through the management channel
(issue 12 items 1 and 2; the seeds' lab 002 without the clients' move), in the fotest lab
(partner="lw") with namespaces lwt-fl-*.

    test_fo_live.py [LEASEWIRED [SRCDIR]]       (root; exit 77 = skipped)

A starts with scope "fo" (an option and a reservation) and no relationship; B starts with an
unrelated scope only; server.management on each lists the other. Everything is done with
`leasewirectl` on A (LEASEWIRECTL):
  1. refusals, nothing half-made on either side (both configurations compared whole): B holds
     another secret (the partner refuses the HELLO); B already has a scope "fo";
  2. `failover add` with --scope fo: the relationship (mirrored) AND the scope with its option
     and reservation appear on B, both reach NORMAL, a client is served and B learns of its
     lease (A started without a relationship: review17);
  3. `failover set` of the split (100/0), MCLT, then the mode (hot standby, A active): each
     reaches B (mirrored: 0 %, standby) and both return to NORMAL;
  4. `failover scope remove` takes fo off the relationship on both and deletes it on B (as
     Windows), `failover scope add` creates it on B again with its contents; NORMAL again;
  5. `failover remove`: the answer lists fo; the relationship is gone on both, fo stays on A
     and is deleted on B;
  6. the 31-relationship limit: 31 relationships with a partner that is not a management
     partner (this server only) are made live, a 32nd is refused and changes nothing;
  7. A stopped while a `failover add` waits for B (B frozen with SIGSTOP): the waiting
     leasewirectl gets an error answer, not a closed socket.
After the scenarios no address was bound to two clients at once.
"""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_FO, B_FO, check_no_double  # noqa: E402

fotest.use_namespaces("lwt-fl")

SECRET = "live-s3cret"
WALL_LIMIT = 40
ROUTER = "198.18.8.254"
REL = "live"
RESV = {"hw-address": "02:fb:00:00:00:60", "ip-address": "198.18.8.60"}
CTL = os.environ.get("LEASEWIRECTL")


def config(lw, a_side, secret):
    peer = B_FO if a_side else A_FO
    cfg = {
        "server": {"workers": 1, "store": lw.store, "control-socket": lw.ctl,
                   "log-interval": 5, "idle-sleep-us": 200, "reclaim-interval": 1,
                   "management": {"address": lw.fo, "partners": [
                       {"address": peer, "shared-secret": secret}]}},
        "ports": [{"name": "p0", "device": "net_af_packet0,iface=" + lw.dhcp_if,
                   "interfaces": [{"address": lw.ip + "/24"}]}],
    }
    if a_side:
        cfg["scopes"] = [{"name": "fo", "subnet": "198.18.8.0/24",
                          "pools": ["%s - %s" % fotest.POOL], "lease-time": fotest.LEASE,
                          "max-lease-time": 300, "options": {"routers": [ROUTER]},
                          "reservations": [RESV]}]
    else:
        cfg["scopes"] = [{"name": "other", "subnet": "198.18.20.0/24",
                          "pools": ["198.18.20.10 - 198.18.20.20"]}]
    return json.dumps(cfg, indent=1)


def ctl(lw, *words, ok=True):
    """leasewirectl -j WORDS against lw; the answer. ok: the exit status must be 0 (True),
    must not be (False), or is not checked (None)."""
    r = subprocess.run([CTL, "-s", lw.ctl, "-j", "-t", "20"] + list(words),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    log("%s: leasewirectl %s -> %d %s" % (lw.tag, " ".join(words), r.returncode,
                                          (r.stdout.strip() or r.stderr.strip())[:300]))
    if ok is True and r.returncode != 0:
        fail("%s: leasewirectl %s failed: %s %s" % (lw.tag, " ".join(words), r.stdout,
                                                     r.stderr))
    if ok is False and r.returncode == 0:
        fail("%s: leasewirectl %s succeeded: %s" % (lw.tag, " ".join(words), r.stdout))
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"text": r.stdout + r.stderr}


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


def rel_of(lw, name=REL):
    return named(conf(lw).get("relationships"), name)


def both_normal(lab):
    for lw in (lab.a, lab.b):
        st = lw.fo_status(REL)
        if st["state"] != "normal" or st["partner-state"] != "normal":
            return False
    return True


def wait_normal(lab, what):
    lab.wait("both NORMAL " + what, 25, lambda: both_normal(lab))


ADD = ["failover", "add", "name=" + REL, "role=primary", "local-address=" + A_FO,
       "partner-address=" + B_FO, "mode=load-balance", "load-balance-percent=50",
       "mclt=%d" % fotest.MCLT, "max-response-delay=15", "max-unacked=10",
       "state-switch-interval=%d" % fotest.SWITCH, "auto-state-transition=true",
       "load-balance-max-seconds=3", "--scope", "fo"]


def leasewired_pid(lw):
    """The leasewired process of lw (the child of its `timeout` wrapper)."""
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(lw.proc.pid)],
                          stdout=subprocess.PIPE, text=True, timeout=10).stdout.split()
    pids = [int(k) for k in kids if os.path.basename(os.readlink("/proc/%s/exe" % k)) ==
            "leasewired"]
    if len(pids) != 1:
        fail("%s: no single leasewired child: %r" % (lw.tag, kids))
    return pids[0]


def mgmt_busy(lw):
    """An outgoing management connection of lw to B's port is open (ss in its namespace)."""
    r = subprocess.run(["ip", "netns", "exec", lw.ns, "ss", "-Htn", "dst", B_FO + ":6470"],
                       stdout=subprocess.PIPE, text=True, timeout=10)
    return r.stdout.strip() != ""


def run(lab, cl):
    A, B = lab.a, lab.b
    A.config = lambda role, name=None: config(A, True, SECRET)
    B.config = lambda role, name=None: config(B, False, "another-secret")
    A.start("primary")
    B.start("secondary")

    log("=== 1. refusals leave both servers as they were ===")
    a0, b0 = conf(A), conf(B)
    ans = ctl(A, *ADD, ok=False)
    if "digest" not in ans.get("text", ""):
        fail("the refusal does not say the partner refused the digest: %r" % ans)
    check("A after a refused add (wrong secret)", conf(A), a0)
    check("B after a refused add (wrong secret)", conf(B), b0)
    b0["server"]["management"]["partners"][0]["shared-secret"] = SECRET
    check("B takes the right secret live", B.ctl_cmd("config-set", b0).get("result"), 0)
    b0 = conf(B)
    fo = dict(named(conf(A)["scopes"], "fo"))
    fo.pop("interface", None)
    check("B gets its own scope fo", B.ctl_cmd("scope-add", {"scope": fo}).get("result"), 0)
    b1 = conf(B)
    ans = ctl(A, *ADD, ok=False)
    if "scope \"fo\" already exists" not in ans.get("text", ""):
        fail("the refusal does not name the scope that exists on B: %r" % ans)
    check("A after a refused add (scope on B)", conf(A), a0)
    check("B after a refused add (scope on B)", conf(B), b1)
    check("B drops its fo", B.ctl_cmd("scope-del", {"name": "fo"}).get("result"), 0)
    check("B as before", conf(B), b0)

    log("=== 2. failover add on A makes the relationship and the scope on B ===")
    ans = ctl(A, *ADD)
    check("answer names the relationship", (ans.get("arguments") or [{}])[0].get("name"), REL)
    rb = rel_of(B)
    if rb is None:
        fail("B has no relationship %s: %r" % (REL, conf(B).get("relationships")))
    check("B's role", rb["role"], "secondary")
    check("B's local address", rb["local-address"], B_FO)
    check("B's partner address", rb["partner-address"], A_FO)
    check("B's scopes", rb["scopes"], ["fo"])
    sb = named(conf(B)["scopes"], "fo")
    check("B's fo routers", (sb or {}).get("options", {}).get("routers"), [ROUTER])
    check("B's fo reservations", [r["ip-address"] for r in sb.get("reservations", [])],
          [RESV["ip-address"]])
    wait_normal(lab, "after add")
    ack, _ = cl.dora_any(cl.mac_for(primary_bucket=True))
    # review17: A started without a relationship, yet its bindings made since the add reach
    # B (the committer's tap is there for a relationship added live).
    lab.wait("B knows A's lease of %s" % ack.yiaddr, 10,
             lambda: B.lease(ack.yiaddr) is not None)
    check_no_double(lab)

    log("=== 3. failover set: split, MCLT, mode, each reaching B ===")
    ctl(A, "failover", "set", REL, "load-balance-percent=100")
    lab.wait("B's split is 0", 10, lambda: rel_of(B)["load-balance-percent"] == 0)
    check("A's split", rel_of(A)["load-balance-percent"], 100)
    wait_normal(lab, "after the split")
    ctl(A, "failover", "set", REL, "mclt=45", "state-switch-interval=20")
    lab.wait("B's MCLT is 45", 10, lambda: rel_of(B)["mclt"] == 45)
    check("B's state switch interval", rel_of(B)["state-switch-interval"], 20)
    wait_normal(lab, "after the MCLT")
    ctl(A, "failover", "set", REL, "mode=hot-standby", "server-role=active",
        "reserve-percent=10")
    lab.wait("B is the hot standby", 10, lambda: rel_of(B).get("mode") == "hot-standby" and
             rel_of(B).get("server-role") == "standby")
    check("B's reserve percent", rel_of(B)["reserve-percent"], 10)
    check("B's split key is gone", "load-balance-percent" in rel_of(B), False)
    wait_normal(lab, "after hot standby")
    cl.dora_any(cl.mac_for(primary_bucket=False))
    check_no_double(lab)

    log("=== 4. scope remove / scope add ===")
    ctl(A, "failover", "scope", "remove", REL, "fo")
    check("A's relationship scopes", rel_of(A).get("scopes", []), [])
    if named(conf(A)["scopes"], "fo") is None:
        fail("A lost its scope fo")
    lab.wait("B took fo off and deleted it", 10, lambda: rel_of(B).get("scopes", []) == []
             and named(conf(B)["scopes"], "fo") is None)
    ctl(A, "failover", "scope", "add", REL, "fo")
    lab.wait("B has fo again, shared", 10, lambda: rel_of(B).get("scopes") == ["fo"] and
             named(conf(B)["scopes"], "fo") is not None)
    sb = named(conf(B)["scopes"], "fo")
    check("B's fo reservations again", [r["ip-address"] for r in sb.get("reservations", [])],
          [RESV["ip-address"]])
    wait_normal(lab, "after scope add")

    log("=== 5. failover remove ===")
    ans = ctl(A, "failover", "remove", REL)
    check("scopes listed in the answer", ans["arguments"]["scopes-unshared"], ["fo"])
    check("A's relationships", conf(A).get("relationships"), None)
    if named(conf(A)["scopes"], "fo") is None:
        fail("A lost its scope fo")
    lab.wait("B removed the relationship and fo", 10,
             lambda: conf(B).get("relationships") is None and
             named(conf(B)["scopes"], "fo") is None)
    cl.dora_any(cl.mac_for(primary_bucket=False))
    check_no_double(lab)

    log("=== 6. at most 31 relationships ===")
    for i in range(31):
        # A partner that is not a management partner: made on A only.
        ans = A.ctl_cmd("failover-add", {"relationship": {
            "name": "r%d" % i, "role": "primary", "local-address": A_FO,
            "partner-address": "198.18.9.%d" % (100 + i)}})
        check("failover-add r%d" % i, ans.get("result"), 0)
    a31 = conf(A)
    check("A's relationships", len(a31["relationships"]), 31)
    ans = ctl(A, "failover", "add", "name=r31", "role=primary", "local-address=" + A_FO,
              "partner-address=198.18.9.200", ok=False)
    if "at most 31" not in ans.get("text", ""):
        fail("the 32nd relationship is not refused for the limit: %r" % ans)
    check("A after the 32nd", conf(A), a31)
    check("failover-remove r30", A.ctl_cmd("failover-remove", {"name": "r30"}).get("result"), 0)

    log("=== 7. A stopped while the partner has not answered: the client gets an error ===")
    bpid = leasewired_pid(B)
    os.kill(bpid, signal.SIGSTOP)       # B's kernel accepts; B never answers the HELLO
    try:
        waiting = subprocess.Popen([CTL, "-s", A.ctl, "-t", "20"] + ADD,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lab.wait("A waits for B", 5, lambda: mgmt_busy(A))
        A.stop()
        out, _ = waiting.communicate(timeout=20)
        log("the waiting client: rc %d: %s" % (waiting.returncode, out.strip()))
        if waiting.returncode == 0 or "not created" not in out:
            fail("the client waiting on failover add got no error when A stopped: %r" % out)
    finally:
        os.kill(bpid, signal.SIGCONT)


def main():
    if not CTL or not os.access(CTL, os.X_OK):
        print("FAIL [fo-live]: LEASEWIRECTL is not set to leasewirectl", file=sys.stderr)
        return 1
    return fotest.run_pair("fo-live", run, WALL_LIMIT)


if __name__ == "__main__":
    sys.exit(main())
