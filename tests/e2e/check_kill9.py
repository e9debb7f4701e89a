#!/usr/bin/python3
"""Check a kill -9 run: the wire says what was promised, the store says what was kept.

    check_kill9.py WIRE.txt STORE.jsonl CYCLES

WIRE.txt: "frame type yiaddr chaddr" per DHCP message, in capture order (tshark fields).
STORE.jsonl: leasewired --dump-store output.

1. Every address ACKed on the wire is in the store, bound (active) to the client it was
   ACKed to: an ACK leaves the box only after its binding is durable.
2. No address ACKed to one client is ever OFFERed or ACKed to another client afterwards
   (across the crashes), i.e. no address is bound to two clients at once.
"""
import json
import sys


def main():
    wire, store_path, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = {}
    for line in open(store_path):
        b = json.loads(line)
        store[b["address"]] = b

    acked = {}          # address -> mac it was ACKed to
    n_ack = n_offer = 0
    violations = []
    for line in open(wire):
        f = line.split()
        if len(f) < 4:
            continue
        frame, mtype, yiaddr, mac = f[0], int(f[1]), f[2], f[3].lower().split(",")[0]
        if mtype not in (2, 5):
            continue
        if mtype == 2:
            n_offer += 1
        else:
            n_ack += 1
        owner = acked.get(yiaddr)
        if owner is not None and owner != mac:
            violations.append("frame %s: %s %s to %s, but it was ACKed to %s"
                              % (frame, "OFFER" if mtype == 2 else "ACK", yiaddr, mac, owner))
        if mtype == 5:
            acked[yiaddr] = mac

    missing = []
    for addr, mac in acked.items():
        b = store.get(addr)
        want = "01:" + mac
        if b is None:
            missing.append("%s ACKed to %s is not in the store" % (addr, mac))
        # perfdhcp sends option 61 = 01:<mac>; a client without it is keyed 01:<mac> too
        # (htype 1 + chaddr). Either way the stored key must be this client's.
        elif b["key"] != want or b["state"] != "active":
            missing.append("%s ACKed to %s is stored as %s %s %s"
                           % (addr, mac, b["state"], b["key-type"], b["key"]))

    print("kill9: %d OFFERs and %d ACKs on the wire, %d distinct addresses ACKed, "
          "%d bindings in the store" % (n_offer, n_ack, len(acked), len(store)))
    for v in (violations + missing)[:20]:
        print("  " + v)
    if n_ack < 300 * cycles:
        print("kill9: too few ACKs captured (%d) for %d cycles: the test did not test"
              % (n_ack, cycles))
        return 1
    if violations or missing:
        print("kill9: FAILED: %d double allocations, %d ACKed leases not durable"
              % (len(violations), len(missing)))
        return 1
    print("kill9: every ACKed lease is durable and no address went to two clients")
    return 0


if __name__ == "__main__":
    sys.exit(main())
