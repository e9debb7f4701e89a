#!/usr/bin/python3
"""e2e-soak / soak: chaos under load for a leasewired failover pair (issue 11, "Also").

    test_soak.py [LEASEWIRED [SRCDIR]] [--long] [--seconds S] [--seed N] [--clients N]

(root; exit 77 = skipped; LW_SOAK_SEED=N fixes the seed as --seed does.)

The lab is fotest's (namespaces lwt-sk-l/-i/-c): leasewired A (primary) and B (secondary),
load balance 50 %, each under the clockstep.so shim (LD_PRELOAD; clockstep.c says why not
libfaketime: it cannot start in a jemalloc process) with a clock file of its own, so the
harness steps each server's wall clock (CLOCK_REALTIME) while it runs; monotonic clocks and
the TSC are left alone, as a `date -s` or an NTP step leaves them.

A population of scapy clients on the bridge (one thread, raw socket) lives the RFC 2131
client life: DISCOVER, REQUEST, renew at T1 (unicast), rebind at T2, start over at the
lease end or on a NAK, release now and then. Every ACK, NAK and RELEASE is recorded
(client time, server id, client, address, lease).

Meanwhile the chaos loop, from a seeded generator (the seed is printed: the same seed
replays the same schedule of actions), picks one action at a time:
  kill     SIGKILL of an up server (the PID we started); its store is dumped while it is
           down; it is restarted with its store after a random delay;
  part     the failover link goes down (both sides go COMMUNICATIONS-INTERRUPTED and, after
           the state-switch interval, PARTNER-DOWN and serve everyone); healed later;
  step     one running server's wall clock steps forward (up to 5 min) or back (up to 2 min), or
           a wrong one is put right (offset 0), as NTP would. While the partners' clocks
           differ by more than 60 s each rejects the other's binding updates (fo_link.h).
At the end every partition is healed, every server up, both clocks right, and both must
reach NORMAL; the clients
stop, both servers stop cleanly, both stores are dumped and soak_check.py judges the run:
no acknowledged lease lost, no address bound to two clients at once. Every loop is bounded
in count and in time; the namespaces go away on every exit (fotest.run_pair).

Modes: the default (e2e-soak-short, ~27 s, in the e2e suite): 40 clients, 20 s of chaos,
short leases and failover timers, the first actions one of each kind (kill, partition, clock
step), so its clocks step under load as the long form's do; the first step (+30 s on A,
checked) comes before the clients start, to prove the shim is in place. `--clock probe`
keeps that single step only (the short form's behaviour until 2026-12-07: a step under load
could lose an ACKed lease through failover, README "Chaos soak", fixed since). --long (soak
suite, on demand): 10 minutes of chaos, 150 clients, clock steps under load.
"""
import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import dhcp_msg, fail, frame, log, Reply, TestFailure  # noqa: E402
import fotest  # noqa: E402
from fotest import IF_LF  # noqa: E402
import soak_check  # noqa: E402

fotest.use_namespaces("lwt-sk")


MODES = {
    # chaos seconds, clients, lease, mclt, max-response-delay, switch interval, wall limit,
    # action gap (s), kill downtime (s), partition length (s), NORMAL wait at the end (s)
    "short": dict(chaos=20, clients=40, lease=60, mclt=8, mrd=2, switch=3, wall=40, probe=30,
                  clock="steps",
                  gap=(2.0, 4.0), down=(1.0, 3.0), part=(3.0, 6.0), settle=30,
                  pool=("198.18.8.100", "198.18.8.200")),
    # (settle: s to wait for NORMAL at the end, plus the largest clock correction)
    "long": dict(chaos=600, clients=150, lease=120, mclt=30, mrd=4, switch=10, wall=840,
                 probe=60, clock="steps",
                 gap=(3.0, 15.0), down=(1.0, 12.0), part=(5.0, 45.0), settle=120,
                 pool=("198.18.8.10", "198.18.8.250")),
}
STEP_FWD = (30, 300)        # s a forward step takes, drawn uniformly
STEP_BACK = (10, 120)       # s a backward step takes
OFFSET_RANGE = (-120, 300)  # s: a server's clock is kept within this of the clients'
NTP_P = 0.35                # chance that a step puts a wrong clock right (offset 0)
RETRY = 3.0                 # s between a client's retransmissions
RELEASE_P = 0.03            # chance that a client releases at T1 instead of renewing


class Client:
    """One RFC 2131 client (state machine driven by Population, no I/O of its own)."""

    def __init__(self, mac):
        self.mac = mac
        self.state = "init"
        self.xid = 0
        self.next = 0.0         # monotonic time of its next timer
        self.tries = 0
        self.addr = self.server = self.server_mac = None
        self.t1 = self.t2 = self.end = 0.0


class Population:
    """The clients, in a thread of their own (the chaos loop blocks on server starts)."""

    def __init__(self, sc, wire, n, rng):
        self.sc, self.wire, self.rng = sc, wire, rng
        self.clients = [Client("02:5a:%02x:%02x:%02x:%02x" % (os.getpid() & 255, 0, i >> 8,
                                                              i & 255)) for i in range(n)]
        self.by_xid = {}        # every xid a client used -> the client (late ACKs count)
        self.sent_at = {}       # xid -> wall time it was first sent with (a lease's start)
        self.events = []        # soak_check's "events"
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent = 0
        self.error = None
        for i, c in enumerate(self.clients):
            c.next = time.monotonic() + i * 0.02     # a staggered start

    def record(self, kind, c, addr, server, lease=0, treq=None):
        e = {"t": time.time(), "kind": kind, "mac": c.mac, "addr": addr, "server": server,
             "lease": lease}
        if treq is not None:
            e["treq"] = treq
        with self.lock:
            self.events.append(e)

    def send(self, c, mtype, opts=(), ciaddr="0.0.0.0", unicast=False):
        sc = self.sc
        msg = dhcp_msg(sc, c.mac, c.xid, mtype, flags=0 if ciaddr != "0.0.0.0" else 0x8000,
                       ciaddr=ciaddr, opts=opts, prl=mtype != "release")
        if unicast:
            f = frame(sc, c.mac, msg, src=ciaddr, dst=c.server, eth_dst=c.server_mac)
        else:
            f = frame(sc, c.mac, msg, src=ciaddr)
        self.sent_at.setdefault(c.xid, time.time())
        self.wire.send(f)
        self.sent += 1

    def new_xid(self, c):
        c.xid = self.rng.getrandbits(32)
        self.by_xid[c.xid] = c

    def timer(self, c, now):
        if c.state in ("init", "selecting"):
            self.new_xid(c)
            self.send(c, "discover")
            c.state, c.next = "selecting", now + RETRY
        elif c.state == "requesting":
            c.tries += 1
            if c.tries > 2:
                c.state, c.next = "init", now
            else:
                self.send(c, "request", opts=[("requested_addr", c.offer),
                                              ("server_id", c.offer_server)])
                c.next = now + RETRY
        elif c.state in ("bound", "renewing", "rebinding"):
            if now >= c.end:
                c.state, c.next, c.addr = "init", now, None
                return
            if c.state == "bound" and self.rng.random() < RELEASE_P:
                self.new_xid(c)
                self.send(c, "release", opts=[("server_id", c.server)], ciaddr=c.addr,
                          unicast=True)
                self.record("release", c, c.addr, c.server)
                c.state, c.next, c.addr = "init", now + 1.0, None
                return
            if now >= c.t2:
                c.state = "rebinding"
            elif c.state == "bound":
                c.state = "renewing"
            if c.tries == 0:
                self.new_xid(c)
            self.send(c, "request", ciaddr=c.addr, unicast=c.state == "renewing")
            c.tries += 1
            c.next = min(now + RETRY, c.end if c.state == "rebinding" else c.t2)

    def reply(self, rep, now):
        c = self.by_xid.get(rep.xid)
        if c is None or rep.chaddr != c.mac:
            return
        mt = rep.msgtype()
        sid = (rep.opt_ip(54) or [None])[0]
        if mt == 5:
            # Every ACK is a promise, even a late one the client no longer waits for.
            lease = rep.opt_u32(51) or 0
            self.record("ack", c, rep.yiaddr, sid, lease, self.sent_at.get(rep.xid))
        if rep.xid != c.xid:
            return
        if mt == 2 and c.state == "selecting":
            c.offer, c.offer_server = rep.yiaddr, sid
            c.state, c.tries = "requesting", 0
            self.send(c, "request", opts=[("requested_addr", c.offer), ("server_id", sid)])
            c.next = now + RETRY
        elif mt == 5 and c.state in ("requesting", "renewing", "rebinding"):
            c.addr, c.server, c.server_mac = rep.yiaddr, sid, rep.eth_src
            t1 = rep.opt_u32(58) or lease // 2
            t2 = rep.opt_u32(59) or lease * 7 // 8
            c.t1, c.t2, c.end = now + t1, now + t2, now + lease
            c.state, c.tries = "bound", 0
            c.next = c.t1 + self.rng.uniform(0, 1)
            c.xid = 0
        elif mt == 6 and c.state in ("requesting", "renewing", "rebinding"):
            self.record("nak", c, c.addr or c.offer, sid)
            c.state, c.next, c.addr = "init", now + 1.0, None
            c.xid = 0

    def run(self):
        try:
            s = self.wire.s
            s.setblocking(False)
            while not self.stop.is_set():
                now = time.monotonic()
                due = min(c.next for c in self.clients)
                for c in self.clients:
                    if c.next <= now:
                        self.timer(c, now)
                # Replies until the next timer (at most 50 ms: the stop flag is polled).
                deadline = min(due, now + 0.05) if due > now else now + 0.001
                while True:
                    left = deadline - time.monotonic()
                    r, _, _ = select.select([s], [], [], max(0.0, left))
                    if not r:
                        break
                    try:
                        data, addr = s.recvfrom(65535)
                    except BlockingIOError:
                        continue
                    if addr[2] == 4:        # PACKET_OUTGOING: our own frame
                        continue
                    rep = Reply(data)
                    if rep.dhcp and rep.op == 2:
                        self.reply(rep, time.monotonic())
        except Exception as e:      # reported by the chaos loop
            self.error = e

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def bound(self):
        return sum(1 for c in self.clients if c.state in ("bound", "renewing"))


# --- the servers ---------------------------------------------------------------------------

def clockstep_lib(leasewired):
    """The clockstep.so shim (LW_CLOCKSTEP, or beside the build's leasewired)."""
    p = os.environ.get("LW_CLOCKSTEP") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(leasewired))), "tests", "e2e",
        "clockstep.so")
    return p if os.path.exists(p) else None


def set_clock(lab, lw, offset):
    """Step lw's wall clock to the clients' + offset s (read at its next clock call)."""
    path = os.path.join(lab.tmp, "clock-%s" % lw.tag)
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write("%+d\n" % offset)
    os.rename(tmp, path)        # never a half-written file under a reading server
    lw.offset = offset


def step_clock(lab, lw, off):
    old = lw.offset
    set_clock(lab, lw, off)
    log("chaos: step %s's wall clock %+d s (now %+d s from the clients')" %
        (lw.tag, off - old, off))


def dump_store(lab, lw):
    out = subprocess.run([lab.leasewired, "--dump-store", lw.store], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    if out.returncode != 0:
        fail("cannot dump %s's store: %s" % (lw.tag, out.stderr.strip()))
    return [json.loads(ln) for ln in out.stdout.splitlines() if ln.strip()]


def chaos(lab, cl, opts):
    m = MODES[opts.mode]
    seed = opts.seed
    rng = random.Random(seed)
    log("seed %d (replay: --seed %d%s)" % (seed, seed, " --long" if opts.mode == "long"
                                                  else ""))
    lib = clockstep_lib(lab.leasewired)
    if lib is None:
        fail("no clockstep.so (built by ninja beside leasewired; or set LW_CLOCKSTEP)")
    A, B = lab.a, lab.b
    for lw in (A, B):
        set_clock(lab, lw, 0)
        asan = os.environ.get("ASAN_OPTIONS", "")
        lw.env = dict(os.environ, LD_PRELOAD=lib,
                      LW_CLOCKSTEP_FILE=os.path.join(lab.tmp, "clock-%s" % lw.tag),
                      # ASan wants to come first among the libraries: the shim does.
                      ASAN_OPTIONS=(asan + ":" if asan else "") + "verify_asan_link_order=0")
    lab.fo_extra = {"mode": "load-balance", "load-balance-percent": 50, "mclt": m["mclt"],
                    "max-response-delay": m["mrd"], "state-switch-interval": m["switch"]}
    roles = {A: "primary", B: "secondary"}
    A.start("primary")
    B.start("secondary")
    A.wait_state("normal", 60, partner="normal")
    B.wait_state("normal", 20, partner="normal")
    # Are the servers really under the shim? A step must show in what they report.
    probe_server_clock(lab, A, m["probe"])

    pop = Population(cl.sc, cl.wire, opts.clients or m["clients"], random.Random(seed + 1))
    th = threading.Thread(target=pop.run, name="clients", daemon=True)
    th.start()
    fig = {"kills": 0, "partitions": 0, "steps": 1, "restarts": 0}
    kills = []
    not_normal = None
    down = {}           # lw -> monotonic restart time
    healed_at = None    # monotonic time of the pending heal, None when connected
    try:
        lab.wait("the first clients bound", 30, lambda: pop.bound() >= 5)
        t_end = time.monotonic() + m["chaos"]
        kinds = ["kill", "part", "step"] if m["clock"] == "steps" else ["kill", "part"]
        first = list(kinds)
        rng.shuffle(first)
        next_act = time.monotonic() + rng.uniform(*m["gap"])
        n = 0
        # New actions until t_end; then the pending restarts and heals at their own times
        # (drawn from the seed too), so that the end does not cut the schedule short.
        while (time.monotonic() < t_end or down or healed_at is not None) and n < 100000:
            n += 1
            if pop.error is not None:
                fail("the client population died: %r" % pop.error)
            now = time.monotonic()
            for lw, at in list(down.items()):
                if now >= at:
                    log("chaos: restart %s with its store" % lw.tag)
                    lw.start(roles[lw])
                    fig["restarts"] += 1
                    del down[lw]
            if healed_at is not None and now >= healed_at:
                log("chaos: heal the partition")
                lab.sh("ip", "-n", fotest.NS_L, "link", "set", IF_LF, "up")
                healed_at = None
            if now < next_act or now >= t_end:
                time.sleep(min(0.2, max(0.01, next_act - now)))
                continue
            next_act = now + rng.uniform(*m["gap"])
            kind = first.pop(0) if first else rng.choice(kinds)
            if kind == "kill":
                up = [lw for lw in (A, B) if lw not in down]
                if len(up) < 2:
                    continue        # one server down at a time: somebody serves
                lw = rng.choice(up)
                t = time.time()
                lw.kill()
                kills.append({"t": t, "server": lw.ip, "store": dump_store(lab, lw)})
                down[lw] = time.monotonic() + rng.uniform(*m["down"])
                fig["kills"] += 1
                log("chaos: kill -9 %s (%d active in its store)" % (
                    lw.tag, sum(1 for r in kills[-1]["store"] if r["state"] == "active")))
            elif kind == "part":
                if healed_at is not None:
                    continue
                lab.sh("ip", "-n", fotest.NS_L, "link", "set", IF_LF, "down")
                healed_at = time.monotonic() + rng.uniform(*m["part"])
                fig["partitions"] += 1
                log("chaos: partition the failover link for %.1f s" %
                    (healed_at - time.monotonic()))
            else:
                # Only a running server's clock steps: one that steps while the server is
                # down (NTP at boot) is beyond what leasewired can know (README, "Clock").
                lw = rng.choice([lw for lw in (A, B) if lw not in down])
                if lw.offset != 0 and rng.random() < NTP_P:
                    off = 0     # NTP puts it right (back or forward)
                else:
                    fwd = rng.random() < 0.6
                    d = rng.randint(*(STEP_FWD if fwd else STEP_BACK)) * (1 if fwd else -1)
                    off = max(OFFSET_RANGE[0], min(OFFSET_RANGE[1], lw.offset + d))
                if off == lw.offset:
                    continue
                step_clock(lab, lw, off)
                fig["steps"] += 1

        log("=== the end: heal, restart, clocks right (NTP), both NORMAL ===")
        # A server whose clock was ahead and is put right waits that much longer in
        # RECOVER-WAIT (its time of failure, STOS, was stamped by the clock ahead): so the
        # wait for NORMAL allows for the largest correction.
        settle = m["settle"] + max(abs(A.offset), abs(B.offset))
        for lw in (A, B):
            if lw.offset != 0:
                step_clock(lab, lw, 0)
                fig["steps"] += 1
        # The short form has no time for a long RECOVER-WAIT: it checks the stores as they
        # are (both properties hold in any state) and says where the pair stands. The long
        # one fails when the pair is not NORMAL again, after the checker has spoken.
        try:
            A.wait_state("normal", settle if opts.mode == "long" else 6, partner="normal")
            B.wait_state("normal", 20, partner="normal")
        except TestFailure as e:
            not_normal = "%s (A %s, B %s)" % (e, A.fo_status()["state"],
                                             B.fo_status()["state"])
            log("note: not NORMAL at the end: " + not_normal)
        if pop.error is not None:
            fail("the client population died: %r" % pop.error)
    finally:
        pop.stop.set()
        th.join(timeout=10)
    now = time.time()
    A.stop()
    B.stop()
    run = {"now": now, "events": pop.snapshot(),
           "stores": {A.ip: dump_store(lab, A), B.ip: dump_store(lab, B)},
           "offsets": {A.ip: A.offset, B.ip: B.offset}, "kills": kills, "seed": seed}
    path = os.path.join(lab.tmp, "run.json")
    with open(path, "w") as f:
        json.dump(run, f)
    figures, bad = soak_check.check(run)
    figures.update(fig)
    figures["frames-sent"] = pop.sent
    figures["seed"] = seed
    log("figures: %s" % json.dumps(figures, sort_keys=True))
    if figures["acks"] < 2 * figures["clients"]:
        fail("only %d ACKs for %d clients: the soak did not test" % (figures["acks"],
                                                                    figures["clients"]))
    for v in bad[:40]:
        log("VIOLATION " + v)
    if bad:
        os.environ["LW_KEEP_TMP"] = "1"
        fail("%d violations (seed %d; the run is in %s: soak_check.py %s)" %
             (len(bad), seed, path, path))
    log("ok: no acknowledged lease lost, no address bound to two clients (seed %d)" % seed)
    if not_normal and opts.mode == "long":
        fail("the pair did not get back to NORMAL: " + not_normal)


def probe_server_clock(lab, lw, step):
    """Step lw's wall clock forward by step s (a chaos step like the others, kept): the
    uptime status-get reports (its CLOCK_REALTIME minus its start time) must jump with it,
    or leasewired does not run under the shim and the soak steps nothing."""
    def uptime():
        a = lw.ctl_cmd("status-get")
        if a.get("result") != 0:
            fail("%s status-get: %r" % (lw.tag, a))
        return a["arguments"]["uptime"]
    u0 = uptime()
    set_clock(lab, lw, lw.offset + step)
    lab.wait("%s's wall clock stepped %+d s under clockstep.so" % (lw.tag, step), 10,
             lambda: uptime() >= u0 + step - 5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("leasewired", nargs="?")
    ap.add_argument("srcdir", nargs="?")
    ap.add_argument("--long", dest="mode", action="store_const", const="long",
                    default="short")
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("LW_SOAK_SEED", "0")) or None)
    ap.add_argument("--clients", type=int)
    ap.add_argument("--clock", choices=("steps", "probe"),
                    help="steps: clock steps under load (the default of both forms); probe: "
                    "only the one step before the clients start")
    opts = ap.parse_args()
    if opts.seed is None:
        opts.seed = random.SystemRandom().randrange(1, 1 << 31)
    m = MODES[opts.mode]
    if opts.seconds:
        m["chaos"] = opts.seconds
    if opts.mode == "long":
        # Start, the restarts still due, and the wait for NORMAL after the clocks are put
        # right (which may last the largest correction longer).
        m["wall"] = m["chaos"] + 150 + m["settle"] + OFFSET_RANGE[1]
    if opts.clock:
        m["clock"] = opts.clock
    fotest.LEASE, fotest.POOL = m["lease"], m["pool"]
    sys.argv = [sys.argv[0]] + [a for a in (opts.leasewired, opts.srcdir) if a]
    for lw_attr in ("offset",):
        setattr(fotest.Lw, lw_attr, 0)
    name = "soak" if opts.mode == "long" else "soak-short"
    # chaos() ends with soak_check over both properties and the clock offsets: no
    # check_final after it.
    rc = fotest.run_pair(name, lambda lab, cl: chaos(lab, cl, opts), m["wall"], final=False)
    print("seed %d" % opts.seed, file=sys.stderr)
    return rc


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
