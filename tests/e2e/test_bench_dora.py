#!/usr/bin/python3
"""e2e-bench-dora: leasewire-bench's client state machine against a real leasewired.

    test_bench_dora.py LEASEWIRE_BENCH LEASEWIRED LEASEWIRECTL

leasewired serves a net_vhost port (LMDB store, strict durability, one worker); the generator
runs on a virtio_user port against it. No network namespace: the two DPDK processes talk
through a vhost-user socket in a temp dir. Three runs of the generator:

  A  2000 direct clients: DORA, then one RENEWING request each.
  B  the same 2000 clients again: DORA (each must get its address back), then RELEASE.
  C  500 other clients, relayed (giaddr, option 82) with option 61: DORA, renew.
  D  300 other clients with --csum-offload: the generator negotiates VIRTIO_NET_F_GUEST_CSUM,
     so leasewired leaves its replies' UDP sums to net_vhost, which passes them on as partial
     checksums: status-get shows "tx-csum": "udp" while it is connected, "none" once it is
     gone, and the replies come in marked NONE with the right seed (--check-csum), but for
     those the worker built before the LSC callback ran (full sums, right too).
  E  300 more without it (a reconnection without GUEST_CSUM): "tx-csum" is "none" while it
     is connected, and every reply's full sum is right.

What is asserted comes from two sides that must agree: the generator's --json counters and
--leases-out file, and leasewired's own view (lease4-get-all on the control socket, and the
LMDB store dumped after a clean stop). So a generator that counts a DORA it did not finish,
sends its REQUESTs with the wrong address, or claims releases it never sent fails here: the
server's bindings would not be exactly the clients' addresses in the expected state.
No rate or latency is asserted. Root only (exit 77 otherwise); needs 2 MiB hugepages.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NAME = "e2e-bench-dora"
T0 = time.monotonic()
N_A = 2000
N_C = 500
FIRST_C = 100000


def log(msg):
    print("[%s %6.2f] %s" % (NAME, time.monotonic() - T0, msg), file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def check(what, got, want):
    if got != want:
        raise Failure("%s: expected %r, got %r" % (what, want, got))
    text = repr(got)
    log("ok: %s = %s" % (what, text if len(text) < 120 else text[:120] + "..."))


def hugepages_free():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
    return 0


CONFIG = """{
  "server": { "workers": 1, "log-interval": 1, "idle-sleep-us": 20, "mbufs": 8191,
              "durability": "strict", "store": "%(dir)s/store",
              "control-socket": "%(dir)s/ctl.sock" },
  "ports": [ { "name": "vhost", "device": "net_vhost0,iface=%(dir)s/vhost.sock,queues=1",
               "interfaces": [ { "address": "198.18.0.1/15" } ] } ],
  "scopes": [ { "name": "bench", "subnet": "198.18.0.0/15",
                "pools": [ "198.19.0.1 - 198.19.31.254" ], "lease-time": 3600,
                "options": { "routers": [ "198.18.0.1" ] } } ]
}
"""


def eal(prefix, lcores, vdev=None):
    """Both processes: hugepage memory without files, vhost-user's single-file segments, and
    a prefix of their own."""
    args = ["--in-memory", "--no-pci", "--no-telemetry", "--log-level=*:warning",
            "--single-file-segments", "--file-prefix=" + prefix, "--lcores=" + lcores]
    return args + (["--vdev=" + vdev] if vdev else [])


def run_bench(bench, d, cpu, name, extra, during=None):
    """Run the generator to its end; @p during(), if given, is called every 0.1 s while it
    runs."""
    out = os.path.join(d, "leases-%s.txt" % name)
    cmd = ([bench] + eal("lwt-bench-gen", "0@%d" % cpu,
                         "virtio_user0,path=%s/vhost.sock,queues=1,mac=02:00:00:00:00:aa" % d) +
           ["--", "--json", "--check-csum", "--window", "64", "--timeout-ms", "500",
            "--retries", "6", "--leases-out", out, "--label", name] + extra)
    log("run %s: %s" % (name, " ".join(cmd)))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60
        while during is not None and p.poll() is None and time.monotonic() < end:
            during()
            time.sleep(0.1)
        stdout, stderr = p.communicate(timeout=max(1, end - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if p.returncode != 0:
        raise Failure("leasewire-bench %s: rc %d\n%s\n%s" % (name, p.returncode, stdout,
                                                            stderr))
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    if len(lines) != 1:
        raise Failure("leasewire-bench %s: expected one JSON line:\n%s" % (name, stdout))
    summary = json.loads(lines[0])
    leases = {}
    with open(out) as f:
        for line in f:
            idx, mac, ip, state = line.split()
            leases[mac] = (ip, state)
    log("%s: %s" % (name, {k: summary[k] for k in (
        "dora_completed", "renew_acked", "releases", "naks", "timeouts", "retransmits",
        "rx", "rx_partial")}))
    return summary, leases


def server_leases(ctl, d):
    """{hw-address: (ip, state, client-id)} of every lease leasewired holds."""
    r = subprocess.run([ctl, "-s", d + "/ctl.sock", "--json", "raw", "lease4-get-all", "{}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    ans = json.loads(r.stdout)
    if ans.get("result") not in (0, 3):
        raise Failure("lease4-get-all: %s" % r.stdout)
    out = {}
    for l in (ans.get("arguments") or {}).get("leases", []):
        mac = l.get("hw-address")
        if mac is None:
            raise Failure("lease without hw-address: %r" % l)
        if mac in out:
            raise Failure("two leases for %s" % mac)
        out[mac] = (l["ip-address"], l["state"], l.get("client-id"))
    return out


def expect_counters(s, n, renews, releases):
    check("sessions_started", s["sessions_started"], n)
    check("sessions_done", s["sessions_done"], n)
    check("dora_completed", s["dora_completed"], n)
    check("offers", s["offers"], n)
    check("ack_addr_differs", s["ack_addr_differs"], 0)
    check("renew_acked", s["renew_acked"], n * renews)
    check("renew_same_addr", s["renew_same_addr"], n * renews)
    check("releases", s["releases"], n * releases)
    check("naks", s["naks"], 0)
    check("timeouts", s["timeouts"], 0)
    # A RELEASE is sent once: one the port did not take would be lost, not retried.
    check("tx_full", s["tx_full"], 0)
    check("nombuf", s["nombuf"], 0)
    check("rx_bad", s["rx_bad"], 0)
    check("rx_foreign", s["rx_foreign"], 0)
    check("rx_unexpected", s["rx_unexpected"], 0)
    check("clients_bound", s["clients_bound"], 0 if releases else n)
    check("clients_released", s["clients_released"], n if releases else 0)
    # Every reply the generator took is one it had asked for.
    check("rx accounted for", s["rx"] - s["rx_stale"] - s["rx_dup"],
          s["offers"] + s["dora_completed"] + s["renew_acked"])


def same_bindings(what, gen, srv, state):
    """The generator's clients and the server's leases for them are the same (mac, ip)."""
    want = {mac: ip for mac, (ip, _) in gen.items()}
    got = {mac: ip for mac, (ip, st, _) in srv.items() if mac in want}
    check("%s: clients the server has a lease for" % what, len(got), len(want))
    diff = [m for m in want if got.get(m) != want[m]]
    if diff:
        raise Failure("%s: %d clients' addresses differ, e.g. %s: generator %s, server %s"
                      % (what, len(diff), diff[0], want[diff[0]], got.get(diff[0])))
    check("%s: distinct addresses" % what, len(set(want.values())), len(want))
    states = sorted({srv[m][1] for m in want})
    check("%s: lease states" % what, states, [state])


def port_status(ctl, d):
    """(link, tx-csum) of leasewired's one port, from status-get."""
    r = subprocess.run([ctl, "-s", d + "/ctl.sock", "--json", "raw", "status-get", "{}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    port = json.loads(r.stdout)["arguments"]["ports"][0]
    return port["link"], port["tx-csum"]


class Seen:
    """The (link, tx-csum) pairs status-get showed while a generator ran."""

    def __init__(self, ctl, d):
        self.ctl, self.d, self.pairs = ctl, d, set()

    def __call__(self):
        self.pairs.add(port_status(self.ctl, self.d))


def wait_for(what, pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise Failure("timed out waiting for %s" % what)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (DPDK, hugepages)")
        return 77
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    bench, lwd, ctl = sys.argv[1:4]
    if hugepages_free() < 64:
        print("SKIP: fewer than 64 free 2 MiB hugepages (vhost-user needs shared memory)")
        return 77
    cpus = sorted(os.sched_getaffinity(0))
    srv_cpu, gen_cpu = cpus[-1], cpus[0]
    d = tempfile.mkdtemp(prefix="lwt-bench-")
    srv = None
    srv_log = os.path.join(d, "leasewired.log")
    ok = False
    try:
        with open(os.path.join(d, "lw.json"), "w") as f:
            f.write(CONFIG % {"dir": d})
        lcores = "0@%d,1@%d" % (gen_cpu, srv_cpu)
        cmd = ([lwd, "-c", d + "/lw.json", "--"] +
               eal("lwt-bench-srv", lcores))
        log("start: " + " ".join(cmd))
        srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(srv_log, "w"))
        wait_for("leasewired ready", lambda: srv.poll() is not None or
                 "leasewired ready" in open(srv_log).read(), 60)
        if srv.poll() is not None:
            raise Failure("leasewired exited (rc %s)" % srv.returncode)

        # A: DORA + renew, direct.
        s, gen_a = run_bench(bench, d, gen_cpu, "A", ["--clients", str(N_A), "--renew", "1"])
        expect_counters(s, N_A, 1, 0)
        check("A: leases-out lines", len(gen_a), N_A)
        same_bindings("A", gen_a, server_leases(ctl, d), "active")

        # B: the same clients come back (same addresses) and release.
        s, gen_b = run_bench(bench, d, gen_cpu, "B", ["--clients", str(N_A), "--release"])
        expect_counters(s, N_A, 0, 1)
        moved = [m for m in gen_a if gen_b.get(m, (None,))[0] != gen_a[m][0]]
        check("B: clients whose address is not the one of A", len(moved), 0)
        # RELEASE has no answer: wait until the server has taken all of them.
        wait_for("2000 released leases", lambda: sum(
            1 for v in server_leases(ctl, d).values() if v[1] == "released") >= N_A)
        same_bindings("B", gen_b, server_leases(ctl, d), "released")

        # C: relayed, option 82 and option 61, another population.
        s, gen_c = run_bench(bench, d, gen_cpu, "C", [
            "--clients", str(N_C), "--first-client", str(FIRST_C), "--renew", "1",
            "--relay", "198.18.0.2", "--server", "198.18.0.1", "--client-id"])
        expect_counters(s, N_C, 1, 0)
        leases = server_leases(ctl, d)
        same_bindings("C", gen_c, leases, "active")
        cids = {(leases[m][2] or "").replace(":", "").lower() for m in gen_c}
        check("C: client ids are 01+chaddr", cids, {"01" + m.replace(":", "") for m in gen_c})

        # D: GUEST_CSUM negotiated: replies' UDP sums left to net_vhost, passed on partial.
        # 300 sessions at 150/s: two seconds in which to look at the port.
        wait_for("link down before D", lambda: port_status(ctl, d) == ("down", "none"))
        seen = Seen(ctl, d)
        s, gen_d = run_bench(bench, d, gen_cpu, "D", [
            "--clients", "300", "--first-client", str(FIRST_C + 1000), "--rate", "150",
            "--csum-offload"], seen)
        expect_counters(s, 300, 0, 0)
        # ("up", "none") may show for the microseconds between the PMD's link state and its
        # event (rte_eth_vhost.c new_device()): "udp" must be seen, and nothing else.
        log("D: status seen %s" % sorted(seen.pairs))
        check("D: status while connected: tx-csum udp seen", ("up", "udp") in seen.pairs, True)
        check("D: status while connected: no ip offload",
              [p for p in seen.pairs if p[0] == "up" and p[1] not in ("udp", "none")], [])
        # Not all: net_vhost enables the queues before it raises the LSC event whose callback
        # stores "udp" (rte_eth_vhost.c new_device()), and the worker answers with full sums
        # until then, for as long as the vhost-user events thread takes to get there (it
        # shares the control CPU with the generator's busy lcore here). Both are right:
        # --check-csum checked every reply (review16: 90 of 600 full with the callback held
        # back 300 ms, tests/review16/bench_dora_lsc_gap.sh).
        log("D: %d of %d replies with a partial checksum" % (s["rx_partial"], s["rx"]))
        check("D: replies with a partial checksum (some)", s["rx_partial"] > 0, True)
        same_bindings("D", gen_d, server_leases(ctl, d), "active")
        wait_for("D: link down, tx-csum none", lambda: port_status(ctl, d) == ("down", "none"))

        # E: the next peer does not negotiate GUEST_CSUM: the worker sums in full again.
        seen = Seen(ctl, d)
        s, gen_e = run_bench(bench, d, gen_cpu, "E", [
            "--clients", "300", "--first-client", str(FIRST_C + 2000), "--rate", "150"], seen)
        expect_counters(s, 300, 0, 0)
        log("E: status seen %s" % sorted(seen.pairs))
        check("E: status while connected", sorted(p for p in seen.pairs if p[0] == "up"),
              [("up", "none")])
        check("E: replies with a partial checksum", s["rx_partial"], 0)
        same_bindings("E", gen_e, server_leases(ctl, d), "active")

        # The store says the same after a clean stop: every binding is durable.
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
        srv = None
        r = subprocess.run([lwd, "--dump-store", d + "/store"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        stored = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        by_ip = {}
        for b in stored:
            by_ip[b.get("ip-address") or b.get("address")] = b
        missing = [ip for ip, _ in list(gen_b.values()) + list(gen_c.values())
                   if ip not in by_ip]
        check("bindings in the store for every client address", missing, [])
        check("stored states of B", sorted({by_ip[ip]["state"] for ip, _ in gen_b.values()}),
              ["released"])
        check("stored states of C", sorted({by_ip[ip]["state"] for ip, _ in gen_c.values()}),
              ["active"])
        ok = True
        log("PASS")
        return 0
    except Failure as e:
        log("FAIL: %s" % e)
        return 1
    finally:
        if srv is not None and srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(timeout=20)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
        if not ok and os.path.exists(srv_log):
            with open(srv_log) as f:
                sys.stderr.write("--- leasewired log (last 40 lines) ---\n")
                sys.stderr.writelines(f.readlines()[-40:])
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
