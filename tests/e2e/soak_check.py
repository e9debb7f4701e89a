#!/usr/bin/python3
"""soak_check: the verdict of a chaos soak (test_soak.py) over every captured ACK and the
stores of both leasewired partners.

    soak_check.py RUN.json        (exit 0: both properties hold; 1: a violation, listed)

RUN.json (written by test_soak.py; test_soak_check.py fabricates its own):
  "now":      unix time (the clients' clock, never stepped) at which the final stores were
              dumped, both servers stopped;
  "events":   what the clients saw, in order: {"t", "kind": "ack"|"nak"|"release", "mac",
              "addr", "server", "lease", "treq"} (t: when the client received it; lease in
              s, ACKs only; treq, ACKs only and optional: when the client first sent the
              request the ACK answers. The lease ends at treq + lease, as RFC 2131 §4.4.1
              has the client count it; t + lease without treq);
  "stores":   {server id: [leasewired --dump-store records]} after the run;
  "offsets":  {server id: seconds its wall clock was ahead of the clients' at the end};
  "kills":    [{"t", "server", "store": [dump-store records of the killed server's store,
              read while it was down]}].

The properties (ARCHITECTURE.md's promise; issue 11):
 1. No acknowledged lease is lost. For each client, its last event before a point in time P
    is an ACK whose lease end is later than P (plus MARGIN): then the address is stored
    active for that client. P = each kill -9 (the killed server's store, for ACKs it sent:
    an ACK leaves only after its binding is durable) and the end of the run (the serving
    server's store, or its partner's: the binding may have moved there by failover).
 2. No address is bound to two clients at the same time. An ACK holds its address for its
    client from t to t + lease, or until that client's next ACK for another address (it
    moved: one address per client) or its RELEASE of it; a NAK does not end it (a NAK of a
    live lease is the server taking back its promise, which property 2 must catch if the
    address then goes to somebody else). Two such spans of different clients on one address
    must not overlap (by more than SLACK: the clients stamp on receipt). At the end, a live
    span must not meet a store binding the address, live in that server's clock, to another
    client, and the two stores must not bind one address live to two clients.
"""
import json
import sys

MARGIN = 3.0    # s: an ACK this close to its end at P may end while P is being taken
SLACK = 2.0     # s: receipt-time stamps and whole-second server ends


def store_client(rec):
    """The client MAC of a dump-store record bound by hardware address, else None."""
    if rec.get("key-type") == "hw" and rec.get("key", "").startswith("01:"):
        return rec["key"][3:]
    hw = rec.get("hw")
    if hw and hw.startswith("01:"):
        return hw[3:]
    return None


def index_active(records):
    """address -> record, for records in state active."""
    return {r["address"]: r for r in records if r.get("state") == "active"}


def lease_end(e):
    return e.get("treq", e["t"]) + e["lease"]


def last_events(events, before):
    """mac -> the client's last event with t < before."""
    out = {}
    for e in events:
        if e["t"] < before:
            out[e["mac"]] = e
    return out


def spans(events):
    """Every ACK as (addr, t0, t1, mac, server), t1 cut as property 2 says."""
    by_mac = {}
    for e in sorted(events, key=lambda e: e["t"]):
        by_mac.setdefault(e["mac"], []).append(e)
    out = []
    for mac, evs in by_mac.items():
        for i, e in enumerate(evs):
            if e["kind"] != "ack":
                continue
            t1 = lease_end(e)
            for f in evs[i + 1:]:
                if f["t"] >= t1:
                    break
                if (f["kind"] == "ack" and f["addr"] != e["addr"]) or \
                        (f["kind"] == "release" and f["addr"] == e["addr"]):
                    t1 = f["t"]
                    break
            out.append((e["addr"], e["t"], t1, mac, e["server"]))
    return out


def check_lost(run):
    """Property 1; returns the list of violations (strings)."""
    bad = []
    events = run["events"]
    for k in run.get("kills", []):
        active = index_active(k["store"])
        for mac, e in last_events(events, k["t"]).items():
            if e["kind"] != "ack" or e["server"] != k["server"]:
                continue
            if lease_end(e) <= k["t"] + MARGIN:
                continue
            r = active.get(e["addr"])
            if r is None or store_client(r) != mac:
                bad.append("lost at the kill of %s at %.1f: %s ACKed to %s at %.1f "
                           "(until %.1f) is %s in its store" %
                           (k["server"], k["t"], e["addr"], mac, e["t"], lease_end(e),
                            "bound to %s" % store_client(r) if r else "not active"))
    now = run["now"]
    stores = {s: index_active(recs) for s, recs in run["stores"].items()}
    for mac, e in last_events(events, now).items():
        if e["kind"] != "ack" or lease_end(e) <= now + MARGIN:
            continue
        order = [e["server"]] + sorted(s for s in stores if s != e["server"])
        if not any(store_client(stores[s].get(e["addr"], {})) == mac for s in order
                   if s in stores):
            bad.append("lost at the end: %s ACKed to %s by %s at %.1f (until %.1f) is in "
                       "no store" % (e["addr"], mac, e["server"], e["t"],
                                     lease_end(e)))
    return bad


def check_double(run):
    """Property 2; returns the list of violations (strings)."""
    bad = []
    by_addr = {}
    for sp in spans(run["events"]):
        by_addr.setdefault(sp[0], []).append(sp)
    for addr, sps in by_addr.items():
        sps.sort(key=lambda s: s[1])
        for i, a in enumerate(sps):
            for b in sps[i + 1:]:
                if b[1] >= a[2] - SLACK:
                    continue        # (sorted by start: later ones may still overlap a)
                if a[3] != b[3]:
                    bad.append("%s bound to %s (ACK by %s at %.1f, until %.1f) and to %s "
                               "(ACK by %s at %.1f) at once" %
                               (addr, a[3], a[4], a[1], a[2], b[3], b[4], b[1]))
    now = run["now"]
    offsets = run.get("offsets", {})
    live = {}       # addr -> [(server, mac)] store bindings live in their server's clock
    for s, recs in run["stores"].items():
        for addr, r in index_active(recs).items():
            ends = r.get("ends")
            if ends is None or ends > now + offsets.get(s, 0) + SLACK:
                live.setdefault(addr, []).append((s, store_client(r)))
    for addr, holders in live.items():
        if len({m for _, m in holders}) > 1:
            bad.append("%s live in the stores for two clients: %s" % (addr, holders))
    for addr, sps in by_addr.items():
        for a in sps:
            if a[2] <= now + MARGIN:
                continue
            for s, m in live.get(addr, []):
                if m != a[3]:
                    bad.append("%s ACKed to %s (by %s at %.1f, until %.1f) is live in %s's "
                               "store for %s" % (addr, a[3], a[4], a[1], a[2], s, m))
    return bad


def check(run):
    """Both properties: (figures, violations)."""
    acks = [e for e in run["events"] if e["kind"] == "ack"]
    bad = check_lost(run) + check_double(run)
    figures = {"acks": len(acks), "clients": len({e["mac"] for e in run["events"]}),
               "addresses": len({e["addr"] for e in acks}),
               "naks": sum(1 for e in run["events"] if e["kind"] == "nak"),
               "kill-snapshots": len(run.get("kills", [])),
               "stored-active": {s: len(index_active(r)) for s, r in run["stores"].items()}}
    return figures, bad


def main():
    if len(sys.argv) != 2:
        print("usage: soak_check.py RUN.json", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        run = json.load(f)
    figures, bad = check(run)
    print("soak-check: %s" % json.dumps(figures, sort_keys=True))
    for v in bad[:40]:
        print("  VIOLATION " + v)
    if bad:
        print("soak-check: FAILED, %d violations" % len(bad))
        return 1
    print("soak-check: no acknowledged lease lost, no address bound to two clients")
    return 0


if __name__ == "__main__":
    sys.exit(main())
