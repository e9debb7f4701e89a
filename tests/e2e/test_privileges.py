#!/usr/bin/python3
"""e2e-privileges: after start-up leasewired keeps no capability it does not need, in every
thread, and runs as server.user when one is set; DHCP and the control socket still work; the
store and the socket are not world-readable.

    test_privileges.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

  1. as root (no server.user), net_af_packet: every thread of leasewired has permitted,
     effective and bounding sets of CAP_NET_BIND_SERVICE only (a failover relationship made
     live binds port 647), empty inheritable and ambient sets, and no_new_privs; a scapy DORA
     is ACKed.
  2. restarted with server.user (a system user made for the test) and a store: every thread
     runs as that user with the same sets; a DORA is ACKed and stored; status-get answers
     on the control socket; a relationship added live (failover-add, local 127.0.0.1) listens
     on port 647; data.mdb/lock.mdb and the socket have no bits for others and belong to the
     user; a clean stop.
"""
import json
import os
import pwd
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lwtest import check, fail, log, run_test  # noqa: E402
import lwtest  # noqa: E402

USER = "lw-priv-%d" % os.getpid()
NET_BIND_SERVICE = 1 << 10      # the only capability kept: failover listeners on port 647

CONFIG = """{
  "server": { "workers": 1, "log-interval": 1, "idle-sleep-us": 100,
              "store": "%(store)s", "control-socket": "{ctl}"%(user)s },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface={srvif}",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24",
                "pools": [ "198.18.0.100 - 198.18.0.199" ], "lease-time": 600 } ]
}
"""


def leasewired_pid(lab):
    """The leasewired process under `timeout ... ip netns exec` (found by parent pid)."""
    want = lab.server.pid
    for _ in range(3):
        kids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % p) as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            if ppid == want:
                kids.append((int(p), comm))
        for pid, comm in kids:
            if comm == "leasewired":
                return pid
        if len(kids) != 1:
            fail("no leasewired under pid %d: %r" % (want, kids))
        want = kids[0][0]
    fail("no leasewired process found")


def thread_status(pid):
    """{tid: {field: value}} from /proc/PID/task/*/status."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        fields = {}
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
        out[int(tid)] = fields
    return out


def check_threads(pid, uid, gid):
    threads = thread_status(pid)
    log("leasewired pid %d: %d threads (%s)" % (pid, len(threads),
        ", ".join(sorted(t["Name"] for t in threads.values()))))
    if len(threads) < 3:
        fail("expected the EAL's and the committer's threads too, got %d" % len(threads))
    for tid, t in sorted(threads.items()):
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            want = NET_BIND_SERVICE if cap in ("CapPrm", "CapEff", "CapBnd") else 0
            check("thread %d (%s) %s" % (tid, t["Name"], cap), int(t[cap], 16), want)
        check("thread %d no_new_privs" % tid, t["NoNewPrivs"], "1")
        check("thread %d uids" % tid, t["Uid"].split(), [str(uid)] * 4)
        check("thread %d gids" % tid, t["Gid"].split(), [str(gid)] * 4)


def dora(lab, wire, mac, xid):
    sc = lab.scapy
    wire.send(lwtest.frame(sc, mac, lwtest.dhcp_msg(sc, mac, xid, "discover")))
    offer, _ = wire.wait_reply(xid, "DISCOVER")
    req = lwtest.dhcp_msg(sc, mac, xid + 1, "request",
                          opts=[("server_id", lwtest.SERVER_IP),
                                ("requested_addr", offer.yiaddr)])
    wire.send(lwtest.frame(sc, mac, req))
    ack, _ = wire.wait_reply(xid + 1, "REQUEST")
    check("DHCPACK for %s" % mac, ack.msgtype(), 5)
    return ack.yiaddr


def ctl(path, command, arguments=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    req = {"command": command}
    if arguments is not None:
        req["arguments"] = arguments
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return json.loads(data)


def private(what, path, owner):
    st = os.lstat(path)
    check("%s has no bits for others (mode %04o)" % (what, stat.S_IMODE(st.st_mode)),
          st.st_mode & 0o007, 0)
    check("%s belongs to %s" % (what, USER), st.st_uid, owner)


def body(lab):
    wire = lwtest.Wire(lab.cliif)
    # 1. root, no server.user
    check_threads(leasewired_pid(lab), 0, 0)
    dora(lab, wire, "02:00:5e:50:00:01", 0x5001)
    lab.stop_server()

    # 2. a dedicated user and a store
    pw = pwd.getpwnam(USER)
    os.chmod(lab.tmp, 0o711)            # as /run and /var/lib: the user may pass through
    sock = os.path.join(lab.tmp, "ctl.sock")
    store = os.path.join(lab.tmp, "store")
    cfg = (CONFIG % {"store": store, "user": ', "user": "%s"' % USER}) \
        .replace("{srvif}", lab.srvif).replace("{ctl}", sock)
    lab.start_server(cfg)
    pid = leasewired_pid(lab)
    check_threads(pid, pw.pw_uid, pw.pw_gid)
    addr = dora(lab, wire, "02:00:5e:50:00:02", 0x5010)
    check("status-get on the control socket", ctl(sock, "status-get")["result"], 0)
    lease = ctl(sock, "lease4-get-all")
    check("the lease is in the server", [x["ip-address"] for x in
                                         lease["arguments"]["leases"]], [addr])
    # A relationship made live, after the drop: its listener binds port 647 as the user.
    a = ctl(sock, "failover-add", {"relationship": {
        "name": "late", "role": "primary", "local-address": "127.0.0.1",
        "partner-address": "127.0.0.2"}})
    check("failover-add as %s" % USER, a["result"], 0)
    with open("/proc/%d/net/tcp" % pid) as f:
        listening = [ln.split()[1] for ln in f.readlines()[1:] if ln.split()[3] == "0A"]
    if "0100007F:0287" not in listening:
        fail("no listener on 127.0.0.1:647 after failover-add: %r\n%s" %
             (listening, lab.server_log()[-2000:]))
    if "failover-start-failed" in lab.server_log():
        fail("the relationship made live did not start")
    for f in ("data.mdb", "lock.mdb"):
        private("store file " + f, os.path.join(store, f), pw.pw_uid)
    # The journal's segment files (strict, the default), the one written at open included.
    jdir = os.path.join(store, "journal")
    segs = sorted(f for f in os.listdir(jdir) if f.endswith(".wal"))
    if not segs:
        fail("no journal segment in %s" % jdir)
    for f in segs:
        private("journal segment " + f, os.path.join(jdir, f), pw.pw_uid)
    private("control socket", sock, pw.pw_uid)
    if "privileges: running as %s" % USER not in lab.server_log():
        fail("no 'privileges: running as' line in the server log")
    lab.stop_server()
    # The stored lease, read back as root from the files the user wrote.
    out = subprocess.run([lab.leasewired, "-S", store], stdout=subprocess.PIPE, text=True,
                         timeout=30, check=True).stdout
    check("binding stored by the unprivileged daemon",
          [json.loads(ln)["address"] for ln in out.splitlines()], [addr])


def main():
    if os.geteuid() != 0:
        return run_test("priv", "", body)      # prints SKIP, 77
    r = subprocess.run(["useradd", "-r", "-M", "-N", "-g", "nogroup", "-s",
                        "/usr/sbin/nologin", USER], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    if r.returncode != 0:
        print("FAIL [priv]: useradd %s: %s" % (USER, r.stdout), file=sys.stderr)
        return 1
    try:
        return run_test("priv", CONFIG % {"store": "", "user": ""}, body,
                        tmp_prefix="lwt-")
    finally:
        subprocess.run(["userdel", USER], timeout=30)


if __name__ == "__main__":
    sys.exit(main())
