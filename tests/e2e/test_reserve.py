#!/usr/bin/python3
"""e2e-reserve: turning leases into reservations over the control socket, with 2 workers.

    test_reserve.py [LEASEWIRED [SRCDIR]]      (root; exit 77 = skipped)

leasewired runs 2 workers (one af_packet port, 2 queue pairs, as e2e-two-workers) with a
store and a control socket; scapy clients on the lab link send option 61 (client id), so
their leases are filed under the client id while a reservation by hardware address files
them under the MAC: for about half of them the two keys belong to different workers.

  16 clients DORA                        -> 16 leases
  reservation-add (hw-address -> its own leased address), for each client
  each client renews (RENEWING, unicast) -> ACK, the same address (issue 11 item 3: it was
                                            NAKed, and locked out of its address for good
                                            when the workers differed)
  the reservation of client 0 moves to a new client Y (reservation-del, reservation-add)
  client 0 renews                        -> NAK (the address is Y's now)
  Y DORA                                 -> the address
  restart on the same store; every other client renews -> ACK, the same address
"""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lwtest  # noqa: E402
from lwtest import SERVER_IP, check, fail, log  # noqa: E402
from test_two_workers import eal_args  # noqa: E402

N = 16
MACS = ["02:00:5e:50:%02x:%02x" % (i * 11 % 256, i) for i in range(N)]
MAC_Y = "02:00:5e:50:ff:01"

CONFIG = """{
  "server": { "workers": 2, "log-interval": 1, "idle-sleep-us": 100,
              "store": "{ctl}.store", "control-socket": "{ctl}" },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface={srvif},qpairs=2",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24",
                "pools": [ "198.18.0.100 - 198.18.0.199" ], "lease-time": 600,
                "options": { "routers": [ "198.18.0.1" ] } } ]
}
"""


def client_id(i):
    """An RFC 4361-style client identifier (type 255): not the MAC, so not its key."""
    return b"\xff\x00\x00\x50\x00" + bytes([i])


def ctl_call(lab, command, arguments):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(os.path.join(os.path.dirname(lab.slog), "ctl.sock"))
    s.sendall(json.dumps({"command": command, "arguments": arguments}).encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    a = json.loads(data)
    if a.get("result") != 0:
        fail("%s %s: %r" % (command, json.dumps(arguments), a))
    return a


def body(lab):
    sc = lab.scapy
    wire = lwtest.Wire(lab.cliif)
    xid = [0x5E000000]
    server_mac = [None]

    def next_xid():
        xid[0] += 1
        return xid[0]

    def opts(i):
        return [("client_id", client_id(i))] if i is not None else []

    def dora(mac, i, tries=1):
        """DISCOVER (again every second, as a client does, up to @tries times), REQUEST."""
        for t in range(tries):
            x = next_xid()
            wire.send(lwtest.frame(sc, mac, lwtest.dhcp_msg(sc, mac, x, "discover",
                                                            opts=opts(i))))
            try:
                offer, _ = wire.wait_reply(x, "DISCOVER from %s" % mac,
                                           timeout=1 if t + 1 < tries else lwtest.REPLY_WAIT)
                break
            except lwtest.TestFailure:
                if t + 1 == tries:
                    raise
        check("OFFER to %s" % mac, offer.msgtype(), 2)
        server_mac[0] = offer.eth_src
        x = next_xid()
        wire.send(lwtest.frame(sc, mac, lwtest.dhcp_msg(
            sc, mac, x, "request", opts=opts(i) + [("server_id", SERVER_IP),
                                                    ("requested_addr", offer.yiaddr)])))
        ack, _ = wire.wait_reply(x, "REQUEST from %s" % mac)
        check("ACK to %s" % mac, ack.msgtype(), 5)
        check("ACK to %s: the offered address" % mac, ack.yiaddr, offer.yiaddr)
        return ack.yiaddr

    def renew(mac, i, addr):
        """RENEWING: unicast to the server from the leased address; the reply."""
        x = next_xid()
        wire.send(lwtest.frame(sc, mac, lwtest.dhcp_msg(sc, mac, x, "request", flags=0,
                                                        ciaddr=addr, opts=opts(i)),
                               src=addr, dst=SERVER_IP, eth_dst=server_mac[0]))
        rep, _ = wire.wait_reply(x, "RENEW from %s (%s)" % (mac, addr))
        return rep

    addr = [dora(MACS[i], i) for i in range(N)]
    check("distinct addresses", len(set(addr)), N)
    for i in range(N):
        ctl_call(lab, "reservation-add", {"scope": "lab", "reservation": {
            "hw-address": MACS[i], "ip-address": addr[i]}})
    for i in range(N):
        rep = renew(MACS[i], i, addr[i])
        check("client %d renews after its lease became a reservation" % i,
              (rep.msgtype(), rep.yiaddr), (5, addr[i]))
    log("ok: %d leases turned into reservations, every client kept its address" % N)

    # Move client 0's reservation to Y: client 0 is told at its renewal, Y gets the address.
    ctl_call(lab, "reservation-del", {"scope": "lab", "hw-address": MACS[0]})
    ctl_call(lab, "reservation-add", {"scope": "lab", "reservation": {
        "hw-address": MAC_Y, "ip-address": addr[0]}})
    rep = renew(MACS[0], 0, addr[0])
    check("client 0 renews a reservation moved to another client", rep.msgtype(), 6)
    # (Y's worker takes the address over once the end of client 0's binding is durable: its
    # first DISCOVER may come before that and go unanswered.)
    check("client Y gets the moved reservation's address", dora(MAC_Y, None, tries=10), addr[0])
    log("ok: a moved reservation goes to its new client")

    # The reservations and the leases are in the store: after a restart, the same.
    cfg = open(os.path.join(os.path.dirname(lab.slog), "server.json")).read()
    lab.stop_server()
    lab.start_server(cfg, eal_args())
    for i in range(1, N):
        rep = renew(MACS[i], i, addr[i])
        check("client %d renews after a restart" % i, (rep.msgtype(), rep.yiaddr), (5, addr[i]))
    log("ok: after a restart every reserved client keeps its address")


if __name__ == "__main__":
    sys.exit(lwtest.run_test("resv", CONFIG, body, eal_args=eal_args()))
