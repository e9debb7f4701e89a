#!/usr/bin/python3
"""soak-check: the chaos soak's checker (soak_check.py) on fabricated runs.

    test_soak_check.py            (no root, no network; exit 0 = pass)

A clean run passes; each fabricated fault (an address ACKed to two clients at once, a store
binding another client's live address, two stores disagreeing, an ACKed lease missing at the
end or in a killed server's store, a NAK followed by reuse) must be reported, and each
legitimate reuse (after the lease ended, after a RELEASE, after the client moved) must not.
The CLI runs once on a file too, for its exit status.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_check  # noqa: E402

A, B = "198.18.8.1", "198.18.8.2"
M1, M2, M3, M4 = ("02:5a:00:00:00:01", "02:5a:00:00:00:02", "02:5a:00:00:00:03",
                  "02:5a:00:00:00:04")
NOW = 10000.0
failures = []


def ack(t, mac, addr, server=A, lease=120):
    return {"t": t, "kind": "ack", "mac": mac, "addr": addr, "server": server,
            "lease": lease}


def rec(addr, mac, ends, state="active"):
    return {"address": addr, "state": state, "key-type": "hw", "key": "01:" + mac,
            "hw": "01:" + mac, "start": int(ends) - 120, "ends": int(ends)}


def base():
    """Three clients: M1 on .100 from A (renewed), M2 on .101 from B, M3 long gone."""
    return {
        "now": NOW,
        "events": [ack(NOW - 500, M3, "198.18.8.102", lease=30),
                   ack(NOW - 100, M1, "198.18.8.100"), ack(NOW - 40, M1, "198.18.8.100"),
                   ack(NOW - 30, M2, "198.18.8.101", server=B)],
        "stores": {A: [rec("198.18.8.100", M1, NOW + 80), rec("198.18.8.101", M2, NOW + 90)],
                   B: [rec("198.18.8.100", M1, NOW + 80), rec("198.18.8.101", M2, NOW + 90),
                       rec("198.18.8.102", M3, NOW - 400, state="expired")]},
        "offsets": {A: 0, B: 0},
        "kills": [{"t": NOW - 60, "server": A, "store": [rec("198.18.8.100", M1, NOW + 20)]}],
    }


def expect(name, run, n_bad, needle=None):
    figures, bad = soak_check.check(run)
    ok = len(bad) == n_bad
    if ok and needle is not None:
        ok = any(needle in b for b in bad)
    print("%s %s: %d violation(s)%s" % ("ok  " if ok else "FAIL", name, len(bad),
                                        "".join("\n      " + b for b in bad)))
    if not ok:
        failures.append(name)


def main():
    expect("clean run", base(), 0)

    r = base()      # M3 takes .101 for 20 s while M2's ACK holds it (ended by the end)
    r["events"].append(ack(NOW - 40, M3, "198.18.8.101", server=A, lease=20))
    expect("double binding over ACKs", r, 1, "at once")

    r = base()      # A's store hands M1's live address to M3
    r["stores"][A][0] = rec("198.18.8.100", M3, NOW + 100)
    # (both of M1's ACKs meet it, and B disagrees with A)
    expect("store binds a live ACKed address to another client", r, 3, "store for %s" % M3)

    r = base()      # the two stores disagree (no ACK involved: M3 never heard of it)
    r["stores"][B].append(rec("198.18.8.150", M3, NOW + 50))
    r["stores"][A].append(rec("198.18.8.150", M2, NOW + 50))
    expect("two stores bind one address to two clients", r, 1, "two clients")

    r = base()      # M2's ACK is in neither store at the end
    r["stores"][A].pop(1)
    r["stores"][B].pop(1)
    expect("lost ACK at the end", r, 1, "lost at the end")

    r = base()      # ... but it is enough that the partner has it
    r["stores"][B].pop(1)
    expect("ACK kept by the partner only", r, 0)

    r = base()      # A's store lacked M1's binding right after the kill
    r["kills"][0]["store"] = []
    expect("lost ACK at a kill", r, 1, "lost at the kill")

    r = base()      # stored for another client in the killed server's store
    r["kills"][0]["store"] = [rec("198.18.8.100", M2, NOW + 20)]
    expect("killed store binds the ACKed address to another client", r, 1, "bound to")

    r = base()      # M2's lease counts from its REQUEST (RFC 2131): ended by the end
    r["events"][-1].update(t=NOW - 2, treq=NOW - 70, lease=60)
    r["stores"][A].pop(1)
    r["stores"][B].pop(1)
    expect("a late ACK's lease counts from the REQUEST", r, 0)

    r = base()      # an ACK whose lease had ended by the kill need not be there
    r["kills"][0]["t"] = NOW + 5000
    r["kills"][0]["store"] = []
    r["now"] = NOW + 5000
    expect("ended leases are not lost", r, 0)

    r = base()      # .102 to M4 long after M3's 30 s lease ended: fine
    r["events"].append(ack(NOW - 10, M4, "198.18.8.102"))
    r["stores"][A].append(rec("198.18.8.102", M4, NOW + 110))
    r["events"].sort(key=lambda e: e["t"])
    expect("reuse after the lease ended", r, 0)

    r = base()      # M2 releases .101, M3 gets it: fine
    r["events"] += [{"t": NOW - 25, "kind": "release", "mac": M2, "addr": "198.18.8.101",
                     "server": B, "lease": 0}, ack(NOW - 20, M3, "198.18.8.101")]
    r["stores"][A][1] = rec("198.18.8.101", M3, NOW + 100)
    r["stores"][B][1] = rec("198.18.8.101", M3, NOW + 100)
    expect("reuse after a RELEASE", r, 0)

    r = base()      # M2 moves to .103 (a later ACK), then M3 gets .101: fine
    r["events"] += [ack(NOW - 25, M2, "198.18.8.103", server=B),
                    ack(NOW - 20, M3, "198.18.8.101")]
    r["stores"][A][1] = rec("198.18.8.101", M3, NOW + 100)
    r["stores"][B][1] = rec("198.18.8.101", M3, NOW + 100)
    r["stores"][B].append(rec("198.18.8.103", M2, NOW + 95))
    expect("reuse after the client moved", r, 0)

    r = base()      # a NAK of M2's live lease, then .101 to M3: still a double binding
    r["events"] += [{"t": NOW - 25, "kind": "nak", "mac": M2, "addr": "198.18.8.101",
                     "server": B, "lease": 0}, ack(NOW - 20, M3, "198.18.8.101", lease=10)]
    expect("a NAK does not free a live lease", r, 1, "at once")

    r = base()      # a store binding that ended in its (stepped) server clock is not live
    r["stores"][A].append(rec("198.18.8.160", M3, NOW + 200))
    r["stores"][B].append(rec("198.18.8.160", M2, NOW + 50))
    r["offsets"][A] = 300
    expect("server clock offsets judge store liveness", r, 0)

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        r = base()
        r["events"].append(ack(NOW - 20, M3, "198.18.8.101", server=A))
        json.dump(r, f)
    cp = subprocess.run([sys.executable, soak_check.__file__, f.name], stdout=subprocess.PIPE,
                        text=True, timeout=30)
    os.unlink(f.name)
    print("%s CLI exit status on a double binding: %d" % ("ok  " if cp.returncode == 1
                                                          else "FAIL", cp.returncode))
    if cp.returncode != 1 or "VIOLATION" not in cp.stdout:
        failures.append("CLI")
    if failures:
        print("soak-check: %d case(s) failed: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("soak-check: all cases pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
