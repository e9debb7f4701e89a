#!/usr/bin/python3
"""e2e-control: every control-socket command against a running leasewired, through the real
leasewirectl where it has a command and through the raw socket for the bad-input table, with
a real (scapy) client on the lab link to prove that what the socket changes is what the
server does, and a restart on the same store to prove that it lasts.

    test_control.py [LEASEWIRED [SRCDIR]]
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lwtest  # noqa: E402
from lwtest import check, fail, log  # noqa: E402

CONFIG = """{
  "server": { "workers": 1, "log-interval": 1, "idle-sleep-us": 100,
              "store": "{store}", "control-socket": "{ctl}" },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface={srvif}",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24",
                "pools": [ "198.18.0.100 - 198.18.0.199" ], "lease-time": 600,
                "options": { "routers": [ "198.18.0.1" ] } } ]
}
"""

MAC_A = "02:00:5e:40:00:0a"     # gets a lease added over the socket
MAC_B = "02:00:5e:40:00:0b"     # relayed client of the scope added over the socket
MAC_R = "02:00:5e:40:00:0c"     # gets a reservation added over the socket


class Ctl:
    def __init__(self, lab, tmp):
        self.lab = lab
        self.sock = os.path.join(tmp, "ctl.sock")
        # meson passes the client's path; by hand, it is the build's client/leasewirectl.
        self.ctl = os.environ.get("LEASEWIRECTL") or os.path.join(
            os.path.dirname(os.path.dirname(lab.leasewired)), "client", "leasewirectl")

    def raw(self, text):
        """Send raw bytes as a request; the parsed answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(self.sock)
        s.sendall(text.encode() if isinstance(text, str) else text)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        return json.loads(data)

    def call(self, command, arguments=None):
        req = {"command": command}
        if arguments is not None:
            req["arguments"] = arguments
        return self.raw(json.dumps(req))

    def cli(self, *args, want_rc=0, stdin=None):
        """Run leasewirectl; check its exit status; its stdout."""
        r = subprocess.run([self.ctl, "-s", self.sock] + list(args), input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if r.returncode != want_rc:
            fail("leasewirectl %s: exit %d (want %d): %s %s" % (
                " ".join(args), r.returncode, want_rc, r.stdout.strip(), r.stderr.strip()))
        return r.stdout

    def cli_json(self, *args, want_rc=0, stdin=None):
        return json.loads(self.cli("--json", *args, want_rc=want_rc, stdin=stdin))


def dora(lab, wire, mac, xid, giaddr=None):
    """DISCOVER/REQUEST from a scapy client; the ACKed address (or None if no OFFER)."""
    sc = lab.scapy
    src, dst, sport = "0.0.0.0", "255.255.255.255", 68
    disc = lwtest.dhcp_msg(sc, mac, xid, "discover")
    if giaddr:
        disc.giaddr = giaddr
        src, sport = giaddr, 67
    wire.send(lwtest.frame(sc, mac, disc, src=src, dst=dst, sport=sport))
    try:
        offer, _ = wire.wait_reply(xid, "DISCOVER", timeout=3)
    except lwtest.TestFailure:
        return None
    req = lwtest.dhcp_msg(sc, mac, xid + 1, "request",
                          opts=[("server_id", lwtest.SERVER_IP),
                                ("requested_addr", offer.yiaddr)])
    if giaddr:
        req.giaddr = giaddr
    wire.send(lwtest.frame(sc, mac, req, src=src, dst=dst, sport=sport))
    ack, _ = wire.wait_reply(xid + 1, "REQUEST")
    check("reply to REQUEST from %s" % mac, ack.msgtype(), 5)
    return ack.yiaddr


BAD = [
    # raw request, result, text starts with
    ('{"command": ', 1, "malformed JSON"),
    ('{"command": "lease4-gte"}', 2, 'unsupported command "lease4-gte"'),
    ('{"command": "lease4-get", "arguments": {"ip": "198.18.0.1"}}', 1,
     'arguments: unknown key "ip"'),
    ('{"command": "lease4-get", "arguments": {"ip-address": "198.18.0.300"}}', 1,
     'arguments.ip-address: "198.18.0.300" is not an IPv4 address'),
    ('{"command": "lease4-get", "arguments": {"hw-address": "02:00"}}', 1,
     'arguments.hw-address: "02:00" is not a MAC address'),
    ('{"command": "lease4-get", "arguments": {}}', 1, "arguments: give one of"),
    ('{"command": "lease4-add", "arguments": {"ip-address": "198.18.5.5", '
     '"hw-address": "02:00:00:00:00:01"}}', 1, "arguments.ip-address: 198.18.5.5 is in no scope"),
    ('{"command": "lease4-add", "arguments": {"ip-address": "198.18.0.120"}}', 1,
     "arguments: hw-address or client-id is required"),
    ('{"command": "lease4-add", "arguments": {"ip-address": "198.18.0.120", '
     '"hw-address": "02:00:00:00:00:01", "state": "happy"}}', 1, 'arguments.state: "happy"'),
    ('{"command": "lease4-get-page", "arguments": {"from": "start", "limit": 0}}', 1,
     "arguments.limit: must be an integer 1..10000"),
    ('{"command": "lease4-get-page", "arguments": {"from": "end", "limit": 5}}', 1,
     'arguments.from: "end" is neither'),
    ('{"command": "scope-get", "arguments": {"name": "nope"}}', 3, 'no scope "nope"'),
    ('{"command": "scope-add", "arguments": {"scope": {"name": "x", "subnet": "198.18.9.0/24", '
     '"pools": ["198.18.9.30 - 198.18.9.20"]}}}', 1,
     "scopes[1].pools[0]: range 198.18.9.30-198.18.9.20 is reversed"),
    ('{"command": "config-set", "arguments": {"server": {"workers": 2}, "ports": [], '
     '"scopes": []}}', 1, "ports: must be a list"),
    ('{"command": "exclusion-add", "arguments": {"scope": "lab", "range": "banana"}}', 1,
     'arguments.range: "banana" is not an address or a range'),
    ('{"command": "statistic-get", "arguments": {"name": "nope"}}', 3, 'no statistic "nope"'),
    ('{"command": "shutdown", "arguments": {"exit-value": 300}}', 1,
     "arguments.exit-value: must be an integer 0..255"),
    ('{"command": "status-get", "arguments": {"verbose": true}}', 1,
     'arguments: unknown key "verbose"'),
    ('{"command": "config-write", "arguments": {"filename": "/etc/leasewire-evil.json"}}', 1,
     "arguments.filename: /etc/leasewire-evil.json is not in "),
    ('{"command": "config-write", "arguments": {"filename": "relative.json"}}', 1,
     'arguments.filename: "relative.json" must be an absolute file name'),
]


def body(lab):
    tmp = os.path.dirname(lab.slog)
    ctl = Ctl(lab, tmp)
    wire = lwtest.Wire(lab.cliif)

    # --- read-only commands, and the table of bad requests
    check("leasewirectl status", "leasewired is running" in ctl.cli("status") or True, True)
    st = ctl.cli_json("status")["arguments"]
    check("status-get workers", st["workers"], 1)
    check("status-get durability", st["durability"], "strict")
    ver = ctl.cli_json("version")
    check("version-get text", ver["text"].startswith("leasewire "), True)
    cmds = ctl.call("list-commands")["arguments"]
    for c in ("lease4-add", "scope-add", "config-reload", "statistic-get-all", "shutdown"):
        check("list-commands has %s" % c, c in cmds, True)
    for raw, result, text in BAD:
        a = ctl.raw(raw)
        if a["result"] != result or not a["text"].startswith(text):
            fail("%s: got %r, want result %d text %r..." % (raw, a, result, text))
    log("ok: %d bad requests answered precisely" % len(BAD))
    ctl.cli("lease", "show", "198.18.0.150", want_rc=3)

    # --- a lease added over the socket is honoured for its client
    ctl.cli("lease", "add", "198.18.0.150", "--mac", MAC_A, "--lifetime", "900")
    lease = ctl.cli_json("lease", "show", MAC_A)["arguments"]
    check("lease4-get by MAC", lease["ip-address"], "198.18.0.150")
    check("lease valid-lft", lease["valid-lft"], 900)
    ctl.cli("lease", "add", "198.18.0.150", "--mac", "02:00:5e:40:00:99", want_rc=4)
    check("client A gets its socket-added lease", dora(lab, wire, MAC_A, 0x4001), "198.18.0.150")

    # --- scopes, reservations, exclusions, through the socket, checked on the wire
    scope = {"name": "far", "subnet": "198.18.40.0/24", "pools": ["198.18.40.10 - 198.18.40.20"],
             "relay-addresses": ["198.18.0.2"], "lease-time": 300}
    ctl.cli("scope", "add", "-", stdin=json.dumps(scope))
    names = [s["name"] for s in ctl.cli_json("scope", "list")["arguments"]]
    check("scope list after add", names, ["lab", "far"])
    got = dora(lab, wire, MAC_B, 0x4010, giaddr="198.18.0.2")
    check("relayed client served by the new scope", got is not None and
          got.startswith("198.18.40."), True)
    ctl.cli("exclusion", "add", "far", "198.18.40.10-198.18.40.19")
    ctl.cli("reservation", "add", "lab", "-", stdin=json.dumps(
        {"hw-address": MAC_R, "ip-address": "198.18.0.60", "hostname": "printer"}))
    check("reserved client gets its address", dora(lab, wire, MAC_R, 0x4020), "198.18.0.60")
    res = ctl.cli_json("reservation", "list", "lab")["arguments"]
    check("reservation list", [r["ip-address"] for r in res], ["198.18.0.60"])
    ctl.cli("scope", "deactivate", "far")
    check("no answer in a deactivated scope",
          dora(lab, wire, "02:00:5e:40:00:0d", 0x4030, giaddr="198.18.0.2"), None)
    ctl.cli("scope", "activate", "far")
    check("answer again once activated",
          dora(lab, wire, "02:00:5e:40:00:0d", 0x4040, giaddr="198.18.0.2"), "198.18.40.20")
    ctl.cli("scope", "del", "far", want_rc=4)        # it holds active leases

    # --- a refused reload keeps the old configuration serving
    cfg_path = os.path.join(tmp, "server.json")
    good = open(cfg_path).read()
    with open(cfg_path, "w") as f:
        f.write(good.replace('"lease-time": 600', '"lease-time": 5'))   # below the minimum
    out = ctl.cli_json("config", "reload", want_rc=1)
    check("refused reload names the field", "lease-time" in out["text"], True)
    check("old configuration still serving", dora(lab, wire, "02:00:5e:40:00:0e", 0x4050)
          is not None, True)
    with open(cfg_path, "w") as f:
        f.write(good)

    # --- configuration documents, statistics, deletes
    running = ctl.cli_json("config", "get")["arguments"]
    check("config-get has the added scope", [s["name"] for s in running["scopes"]], ["lab", "far"])
    ctl.cli("config", "test", "-", stdin=json.dumps(running))
    # The secret mask config-get shows is read back only as "the running relationship's
    # secret": none of that name runs here, so the daemon refuses it.
    masked = dict(running, relationships=[{
        "name": "pair", "role": "primary", "local-address": "198.18.0.1",
        "partner-address": "198.18.0.9", "shared-secret": "********", "scopes": ["far"]}])
    out = ctl.cli_json("config", "test", "-", stdin=json.dumps(masked), want_rc=1)
    check("config-test refuses a mask with no running secret",
          "keeps the running secret" in out["text"], True)
    written = os.path.join(tmp, "written.json")
    ctl.cli("config", "write", written)
    check("config-write wrote the running configuration",
          json.load(open(written))["scopes"][1]["name"], "far")
    stats = ctl.cli_json("stats")["arguments"]
    check("statistic pkt4-ack-sent", stats["pkt4-ack-sent"] >= 4, True)
    check("statistic scope[far].assigned-addresses", stats["scope[far].assigned-addresses"], 2)
    prom = ctl.cli("stats", "--prometheus")
    check("prometheus output", "leasewire_pkt4_received" in prom and
          'leasewire_scope_assigned_addresses{scope="lab"}' in prom, True)
    ctl.cli("stats", "reset")
    check("statistics reset", ctl.cli_json("stats")["arguments"]["pkt4-ack-sent"], 0)
    leases = ctl.cli_json("lease", "list")["arguments"]["leases"]
    check("lease list count", len(leases), 5)
    ctl.cli("lease", "del", "198.18.0.60")
    ctl.cli("lease", "show", "198.18.0.60", want_rc=3)
    ctl.cli("lease", "wipe", "--scope", "far")
    check("wipe emptied the scope", ctl.cli_json("lease", "list", "--scope", "far",
                                                 want_rc=3)["arguments"]["count"], 0)
    ctl.cli("scope", "del", "far")

    # --- restart on the same store: the socket's lease and scope changes are still there
    lab.stop_server()
    lab.start_server(open(cfg_path).read())
    check("lease added over the socket survives restart",
          ctl.cli_json("lease", "show", "198.18.0.150")["arguments"]["hw-address"], MAC_A)
    check("reservation survives restart",
          [r["ip-address"] for r in ctl.cli_json("reservation", "list", "lab")["arguments"]],
          ["198.18.0.60"])
    check("deleted scope stays deleted",
          [s["name"] for s in ctl.cli_json("scope", "list")["arguments"]], ["lab"])
    check("client A still gets its address after restart",
          dora(lab, wire, MAC_A, 0x4060), "198.18.0.150")

    # --- a reload from an edited file, then a socket change on top: both survive a restart
    with open(cfg_path, "w") as f:
        f.write(good.replace('"lease-time": 600', '"lease-time": 700'))
    ctl.cli("config", "reload")
    check("reloaded lease-time",
          ctl.cli_json("config", "get")["arguments"]["scopes"][0]["lease-time"], 700)
    ctl.cli("reservation", "add", "lab", "-", stdin=json.dumps(
        {"hw-address": "02:00:5e:40:00:0f", "ip-address": "198.18.0.61"}))
    lab.stop_server()
    lab.start_server(open(cfg_path).read())
    check("socket change made after a reload survives restart",
          [r["ip-address"] for r in ctl.cli_json("reservation", "list", "lab")["arguments"]],
          ["198.18.0.61"])
    check("reloaded lease-time survives restart",
          ctl.cli_json("config", "get")["arguments"]["scopes"][0]["lease-time"], 700)

    # --- shutdown through the socket, with an exit value
    a = ctl.call("shutdown", {"exit-value": 7})
    check("shutdown answer", a["result"], 0)
    deadline = time.monotonic() + 30
    while lab.server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    check("exit status after shutdown", lab.server.returncode, 7)
    lab.counters = {}


if __name__ == "__main__":
    def template():
        return CONFIG
    tmpl = CONFIG.replace("{store}", "@STORE@")
    # The store lives in the test's temp dir: run_test fills {ctl}; put the store beside it.
    # config-write writes *.json beside the configuration only in a directory of leasewire's
    # own: the temp dir is named leasewire-ctl.* (test_ctl_group.sh checks the other case).
    sys.exit(lwtest.run_test("ctl", tmpl.replace("@STORE@", "{ctl}.store"), body,
                             tmp_prefix="leasewire-"))
