"""lwtest: shared harness of the leasewire end-to-end tests written in Python (scapy).

Run the tests with /usr/bin/python3 (the python3 first on PATH has no scapy).

    def body(lab):                       # runs inside the client namespace
        sc = lab.scapy                   # scapy.all, imported inside the namespace
        wire = Wire(lab.cliif)
        ...
        counters = lab.stop_server()     # the "final" line as a dict
    sys.exit(run_test("name", CONFIG_TEMPLATE, body))

run_test() does everything around the body: the root check (exit 77), a namespace pair from
scripts/lab.sh (lwt-NAME-s / lwt-NAME-c), leasewired started in the server namespace and
waited for ("leasewired ready", 60 s), and a teardown that always runs (server stopped by
PID, namespaces deleted, temp dir removed, the server log shown on failure). Every wait has a
deadline; every subprocess has a timeout.
"""
import ctypes
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SERVER_IP = "198.18.0.1"
BCAST = "ff:ff:ff:ff:ff:ff"
REPLY_WAIT = 15.0       # seconds for any expected reply (loaded 2-core machine)

_name = "?"
_t0 = time.monotonic()


def log(msg):
    print("[%s %6.2f] %s" % (_name, time.monotonic() - _t0, msg), file=sys.stderr, flush=True)


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(what, got, want):
    if got != want:
        fail("%s: expected %r, got %r" % (what, want, got))
    log("ok: %s = %r" % (what, got))


def run(cmd, timeout=30, check_rc=True):
    r = subprocess.run(cmd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if check_rc and r.returncode != 0:
        fail("%s failed (rc %d): %s" % (" ".join(cmd), r.returncode, r.stdout.strip()))
    return r


# --- network namespaces ---------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns_fd(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        fail("setns: %s" % os.strerror(ctypes.get_errno()))


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


# --- raw frames -----------------------------------------------------------------------------

def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def ip_str(b):
    return socket.inet_ntoa(b)


def ip_int(a):
    return struct.unpack("!I", socket.inet_aton(a))[0]


def csum16(data):
    """One's complement sum (not inverted): 0xffff over a block with a valid checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Reply:
    """A received frame, decoded by hand (independent of scapy's dissectors)."""

    def __init__(self, raw):
        self.raw = raw
        self.eth_dst = mac_str(raw[0:6])
        self.eth_src = mac_str(raw[6:12])
        self.ethertype = struct.unpack("!H", raw[12:14])[0]
        self.dhcp = False
        self.op = self.xid = None
        if self.ethertype != 0x0800 or len(raw) < 34:
            return
        ip = raw[14:]
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        self.ip_ok = csum16(ip[:ihl]) == 0xFFFF
        self.ip_src, self.ip_dst = ip_str(ip[12:16]), ip_str(ip[16:20])
        self.proto = ip[9]
        if self.proto != 17 or tot > len(ip):
            return
        udp = ip[ihl:tot]
        self.sport, self.dport, ulen, uck = struct.unpack("!HHHH", udp[:8])
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, ulen)
        self.udp_ok = uck != 0 and csum16(pseudo + udp[:ulen]) == 0xFFFF
        self.udp_len_ok = ulen == len(udp)
        b = udp[8:ulen]
        if len(b) < 240 or b[236:240] != b"\x63\x82\x53\x63":
            return
        self.op, self.htype, self.hlen, self.hops = b[0], b[1], b[2], b[3]
        self.xid = struct.unpack("!I", b[4:8])[0]
        self.flags = struct.unpack("!H", b[10:12])[0]
        self.ciaddr, self.yiaddr = ip_str(b[12:16]), ip_str(b[16:20])
        self.siaddr, self.giaddr = ip_str(b[20:24]), ip_str(b[24:28])
        self.chaddr = mac_str(b[28:34])
        self.opts = {}
        i = 240
        while i < len(b):
            code = b[i]
            if code == 0:
                i += 1
                continue
            if code == 255 or i + 1 >= len(b):
                break
            ln = b[i + 1]
            self.opts[code] = self.opts.get(code, b"") + b[i + 2:i + 2 + ln]
            i += 2 + ln
        self.dhcp = True

    def msgtype(self):
        v = self.opts.get(53)
        return v[0] if v and len(v) == 1 else None

    def opt_ip(self, code):
        v = self.opts.get(code)
        if v is None or len(v) % 4:
            return None
        return [ip_str(v[i:i + 4]) for i in range(0, len(v), 4)]

    def opt_u32(self, code):
        v = self.opts.get(code)
        return struct.unpack("!I", v)[0] if v is not None and len(v) == 4 else None

    def __repr__(self):
        if not self.dhcp:
            return "<frame %s -> %s type %04x>" % (self.eth_src, self.eth_dst, self.ethertype)
        return "<DHCP type %s xid %08x %s:%d -> %s:%d yiaddr %s>" % (
            self.msgtype(), self.xid, self.ip_src, self.sport, self.ip_dst, self.dport,
            self.yiaddr)


class Wire:
    """An AF_PACKET socket on the client's veth: send frames, wait for replies by xid."""

    def __init__(self, iface):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind((iface, 0))
        self.seen = []          # every frame received, in order

    def send(self, frame):
        self.s.send(bytes(frame))

    def recv(self, deadline):
        """Next frame not sent by us, or None at the deadline (time.monotonic())."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            data, addr = self.s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            rep = Reply(data)
            self.seen.append(rep)
            return rep

    def wait_reply(self, xid, what, timeout=REPLY_WAIT):
        """The BOOTREPLY with this xid, and the other frames received before it."""
        deadline = time.monotonic() + timeout
        others = []
        while True:
            rep = self.recv(deadline)
            if rep is None:
                fail("no reply to %s (xid %08x) within %.0f s" % (what, xid, timeout))
            if rep.dhcp and rep.op == 2 and rep.xid == xid:
                return rep, others
            others.append(rep)


# --- requests (built with scapy) ------------------------------------------------------------

def dhcp_msg(sc, mac, xid, mtype, flags=0x8000, ciaddr="0.0.0.0", opts=(), hlen=6, prl=True):
    o = [("message-type", mtype)] + list(opts)
    if prl:
        o.append(("param_req_list", [1, 3, 6, 15, 51, 58, 59]))
    o.append("end")
    return (sc.BOOTP(op=1, htype=1, hlen=hlen, xid=xid, flags=flags, ciaddr=ciaddr,
                     chaddr=mac_bytes(mac) + b"\0" * 10) / sc.DHCP(options=o))


def frame(sc, mac, payload, src="0.0.0.0", dst="255.255.255.255", eth_dst=BCAST, dport=67,
          sport=68):
    return (sc.Ether(src=mac, dst=eth_dst) / sc.IP(src=src, dst=dst) /
            sc.UDP(sport=sport, dport=dport) / payload)


# --- the lab ----------------------------------------------------------------------------------

class Lab:
    def __init__(self, name, leasewired, srcdir, tmp):
        self.name = name
        self.srv, self.cli = "lwt-%s-s" % name, "lwt-%s-c" % name
        self.srvif, self.cliif = "lwt-%s-s0" % name, "lwt-%s-c0" % name
        self.leasewired = leasewired
        self.lab_sh = os.path.join(srcdir, "scripts/lab.sh")
        self.tmp = tmp
        self.slog = os.path.join(tmp, "server.log")
        self.server = None
        self.scapy = None
        self.counters = None

    def up(self):
        for n in (self.srvif, self.cliif):
            if len(n) > 15:
                fail("interface name %s is too long" % n)
        run([self.lab_sh, "down", self.srv, self.cli])
        run([self.lab_sh, "up", self.srv, self.cli, self.srvif, self.cliif])

    def start_server(self, config_text, eal_args=()):
        cfg = os.path.join(self.tmp, "server.json")
        with open(cfg, "w") as f:
            f.write(config_text)
        run([self.leasewired, "-t", "-c", cfg], timeout=10)
        cmd = ["timeout", "-k", "10", "200", "ip", "netns", "exec", self.srv,
               self.leasewired, "-c", cfg]
        if eal_args:
            cmd += ["--"] + list(eal_args)
        self.server = subprocess.Popen(cmd, stdout=open(self.slog, "w"),
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while "leasewired ready" not in self.server_log():
            if self.server.poll() is not None:
                fail("leasewired exited (rc %s) before it was ready" % self.server.returncode)
            if time.monotonic() > deadline:
                fail("leasewired not ready after 60 s")
            time.sleep(0.1)
        log("leasewired ready (pid %d) in %s" % (self.server.pid, self.srv))

    def server_log(self):
        with open(self.slog, errors="replace") as f:
            return f.read()

    def enter_client_ns(self):
        """Move this thread into the client namespace, then import scapy (its interface list
        is read at import time and must be the namespace's)."""
        setns("/run/netns/" + self.cli)
        from scapy import all as sc
        sc.conf.checkIPaddr = False
        sc.conf.verb = 0
        self.scapy = sc

    def stop_server(self):
        """SIGTERM (through `timeout`, by PID), wait 30 s; returns the "final" counters."""
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait(timeout=10)
            fail("leasewired did not stop within 30 s of SIGTERM")
        text = self.server_log()
        if "leasewired stopped" not in text:
            fail("no 'leasewired stopped' in the server log (crash?)")
        if re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", text):
            fail("sanitizer report in the server log")
        if self.server.returncode != 0:
            fail("leasewired exited with status %d" % self.server.returncode)
        lines = [ln for ln in text.splitlines() if " final " in ln]
        if not lines:
            fail("no 'final' counters line in the server log")
        self.counters = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}
        log("final: " + " ".join("%s=%d" % kv for kv in self.counters.items()))
        return self.counters

    def teardown(self):
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        subprocess.run([self.lab_sh, "down", self.srv, self.cli], timeout=30)


def check_counters(counters, expect):
    """Each expected counter exactly; drop_* reasons missing from the line are 0."""
    for k, v in expect.items():
        check("server counter %s" % k, counters.get(k, 0), v)


def run_test(name, config_template, body, eal_args=(), tmp_prefix="lwt-"):
    """config_template: the server JSON with {srvif} where the server's veth goes and {ctl}
    where its control socket goes (in the test's temp dir, so that tests never share one).
    tmp_prefix: the temp dir's name begins with it, then NAME (the configuration is written
    there: "leasewire-" makes it a directory of leasewire's own for config-write)."""
    global _name
    _name = name
    if os.geteuid() != 0:
        print("SKIP [%s]: needs root (network namespaces, AF_PACKET)" % name, file=sys.stderr)
        return 77
    here = os.path.dirname(os.path.abspath(__file__))
    srcdir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "../.."))
    leasewired = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(srcdir, "build/controlplane/leasewired")
    if not os.access(leasewired, os.X_OK):
        print("FAIL [%s]: no leasewired executable at %s" % (name, leasewired), file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="%s%s." % (tmp_prefix, name))
    root_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    lab = Lab(name, leasewired, srcdir, tmp)
    ok = False

    def on_term(sig, frm):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        lab.up()
        lab.start_server(config_template.replace("{srvif}", lab.srvif)
                         .replace("{ctl}", os.path.join(tmp, "ctl.sock")), eal_args)
        lab.enter_client_ns()
        body(lab)
        if lab.counters is None:
            lab.stop_server()
        ok = True
        log("PASS in %.1f s" % (time.monotonic() - _t0))
        return 0
    except TestFailure as e:
        print("FAIL [%s]: %s" % (name, e), file=sys.stderr)
        return 1
    finally:
        setns_fd(root_fd)       # back to where we started
        os.close(root_fd)
        lab.teardown()
        if not ok and os.path.exists(lab.slog):
            print("----- server log (last 30 lines) -----", file=sys.stderr)
            print("".join(open(lab.slog, errors="replace").readlines()[-30:]), file=sys.stderr)
        subprocess.run(["rm", "-rf", tmp], timeout=30)
