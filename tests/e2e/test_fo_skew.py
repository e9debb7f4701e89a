#!/usr/bin/python3
"""e2e-fo-skew: a failover partner's wall clock steps by more than a minute while the
relationship runs (issue 12 item 6, seed 003: "check every message, log a critical event,
reject binding updates while the skew lasts, do not change state"). Lab of e2e-fo-pair
(fotest.FoLab, partner="lw") with namespaces lwt-fs-*.

    test_fo_skew.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

B (secondary) runs with lw_clockshift preloaded (tests/e2e/lw_clockshift.c, built by meson;
the third argument, else build/tests/e2e/liblw_clockshift.so): its CLOCK_REALTIME is shifted
by the seconds in a file the test rewrites at run time; its monotonic clocks and the TSC are
left alone, so only the wall clock moves, as a `date -s` or a resumed VM does. (Debian's
libfaketime cannot be used: it recurses into jemalloc's start-up and aborts, see the shim.)
  1. A (primary, load balance) and B reach NORMAL.
  2. B's wall clock jumps SKEW s ahead: both servers log the critical event
     failover-time-out-of-sync naming the skew (A: +SKEW, B: -SKEW).
  3. A client of A's hash bucket gets its lease from A; A's binding update is rejected by B
     with reason 4 (time mismatch): B's bndupd-rejected-time and A's bndupd-held-time count
     it, B has no binding of the address, and A keeps it unacked.
  4. While the skew lasts (a few keepalive periods), both stay NORMAL/NORMAL.
  5. B's clock comes back: event failover-time-in-sync, A sends the held update again and
     B takes it (the client's binding on B, nothing unacked on A); both stay NORMAL for
     max-response-delay more, with not one state change of either server (local or
     partner events) since step 1, and no address bound to two clients.
The steps of B's own clock (forward, then back) must not change B's state either: its link
timers follow the monotonic clock (fo_state_clock_step()).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log  # noqa: E402
import fotest  # noqa: E402
from fotest import A_IP, check_no_double  # noqa: E402

fotest.use_namespaces("lwt-fs")

RESPONSE_DELAY = 6
SKEW = 90            # beyond FO_LINK_MAX_SKEW (60 s)
WALL_LIMIT = 40


def clockshift_lib():
    if len(sys.argv) > 3:
        return os.path.abspath(sys.argv[3])
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "../../build/tests/e2e/liblw_clockshift.so")


def asan_runtime(leasewired):
    """The sanitizer runtime leasewired links dynamically, if any: it must come first in
    LD_PRELOAD, before the shim."""
    out = subprocess.run(["ldd", leasewired], stdout=subprocess.PIPE, text=True,
                         timeout=10).stdout
    m = re.search(r"^\s*libasan\S*\s+=>\s+(\S+)", out, re.M)
    return m.group(1) if m else None


def lease_is(lw, addr, mac):
    got = lw.lease(addr) or {}
    return got.get("state") == "active" and got.get("hw-address") == mac


def counters(lw):
    return lw.fo_status()["counters"]


def both_normal(lab):
    for lw in (lab.a, lab.b):
        st = lw.fo_status()
        if (st["state"], st["partner-state"]) != ("normal", "normal"):
            fail("%s: %s (partner %s) while the clocks disagree: the state must not change"
                 % (lw.tag, st["state"], st["partner-state"]))


def state_lines(lw):
    """This server's and its partner's state changes, as logged (every start)."""
    return [ln.strip() for ln in lw.events("failover-")
            if "event=failover-state " in ln or "event=failover-partner-state " in ln]


def prepare(lab):
    lab.skew_file = os.path.join(lab.tmp, "clockshift-b")
    with open(lab.skew_file, "w") as f:
        f.write("+0\n")
    pre = [clockshift_lib()]
    asan = asan_runtime(lab.leasewired)
    if asan is not None:
        pre.insert(0, asan)
    env = dict(os.environ)
    env.update({"LD_PRELOAD": " ".join(pre), "LW_CLOCKSHIFT_FILE": lab.skew_file})
    lab.b.env = env


def set_skew(lab, secs):
    tmp = lab.skew_file + ".new"
    with open(tmp, "w") as f:
        f.write("%+d\n" % secs)
    os.rename(tmp, lab.skew_file)
    log("B's wall clock offset now %+d s" % secs)


def body(lab, cl):
    A, B = lab.a, lab.b
    lab.fo_extra = {"mode": "load-balance", "load-balance-percent": 50,
                    "max-response-delay": RESPONSE_DELAY}

    log("=== 1. both NORMAL ===")
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 30, partner="normal")
    B.wait_state("normal", 10, partner="normal")
    ev_a, ev_b = len(state_lines(A)), len(state_lines(B))
    held0 = counters(A)["bndupd-held-time"]

    log("=== 2. B's clock jumps %d s ahead: a critical event on both ===" % SKEW)
    set_skew(lab, SKEW)
    lab.wait("A logs failover-time-out-of-sync", RESPONSE_DELAY + 4,
             lambda: A.events("failover-time-out-of-sync"))
    lab.wait("B logs failover-time-out-of-sync", RESPONSE_DELAY + 4,
             lambda: B.events("failover-time-out-of-sync"))
    for lw, sign in ((A, 1), (B, -1)):
        line = lw.events("failover-time-out-of-sync")[0]
        if " critical event=failover-time-out-of-sync" not in line:
            fail("%s: the skew event is not critical: %s" % (lw.tag, line))
        skew = int(re.search(r"skew=(-?\d+)", line).group(1))
        if abs(skew - sign * SKEW) > 2:
            fail("%s: the event names skew %d, expected about %+d: %s" % (lw.tag, skew,
                                                                          sign * SKEW, line))
        log("ok: %s: %s" % (lw.tag, line.strip()))
    both_normal(lab)

    log("=== 3. A's binding update is rejected by B (reason 4) ===")
    mac = cl.mac_for(primary_bucket=True)
    ack = cl.dora(mac, A_IP)
    addr = ack.yiaddr
    lab.wait("B rejects A's update of %s for the time" % addr, RESPONSE_DELAY + 4,
             lambda: counters(B)["bndupd-rejected-time"] >= 1 and
             counters(A)["bndupd-held-time"] > held0)
    if lease_is(B, addr, mac):
        fail("B took A's binding of %s while the clocks disagree" % addr)
    if A.fo_status()["unacked"] < 1:
        fail("A's rejected update of %s is not kept unacked" % addr)
    log("ok: rejected, held on A (%r)" % counters(A))

    log("=== 4. the skew lasts: the state does not change ===")
    t_end = time.monotonic() + RESPONSE_DELAY + 1
    while time.monotonic() < t_end:
        both_normal(lab)
        time.sleep(0.5)
    if lease_is(B, addr, mac):
        fail("B took A's binding of %s while the clocks disagree" % addr)

    log("=== 5. B's clock comes back: the held update goes through ===")
    set_skew(lab, 0)
    lab.wait("A logs failover-time-in-sync", RESPONSE_DELAY + 4,
             lambda: A.events("failover-time-in-sync"))
    lab.wait("B has A's binding of %s" % addr, RESPONSE_DELAY + 6,
             lambda: lease_is(B, addr, mac))
    lab.wait("nothing unacked on A", 5, lambda: A.fo_status()["unacked"] == 0)
    # B's clock stepped back 90 s: its keepalives must keep their pace (A would otherwise
    # hear nothing for max-response-delay and drop the link).
    t_end = time.monotonic() + RESPONSE_DELAY + 2
    while time.monotonic() < t_end:
        both_normal(lab)
        time.sleep(0.5)
    for lw, since in ((A, ev_a), (B, ev_b)):
        moved = state_lines(lw)[since:]
        if moved:
            fail("%s: failover state changed while the clocks disagreed: %s" %
                 (lw.tag, " | ".join(moved)))
    log("ok: no failover-state event on either server since NORMAL")
    check_no_double(lab)


def main():
    if os.geteuid() == 0 and not os.path.exists(clockshift_lib()):
        print("FAIL [fo-skew]: no %s (built by meson in tests/e2e)" % clockshift_lib(),
              file=sys.stderr)
        return 1
    return fotest.run_pair("fo-skew", body, WALL_LIMIT, prepare=prepare)


if __name__ == "__main__":
    sys.exit(main())
