#!/usr/bin/python3
"""check_options.py EXPECTED.json OUT.pcap: the option golden test. Every reply leasewired
wrote for options-requests.pcap must be in EXPECTED.json (found by xid and message type), with
its options area byte for byte: every option in the order sent, each code, length and value
byte, up to and including END. yiaddr, siaddr and file are compared too. A missing reply, an
unexpected frame or a single changed byte fails (exit 1), the difference printed option by
option.

check_options.py --write EXPECTED.json OUT.pcap writes EXPECTED.json from OUT.pcap instead:
review every option of the result against options.json before committing it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import decode, hexs  # noqa: E402  (scapy's pcap reader comes with it)
from scapy.utils import RawPcapReader  # noqa: E402

NAMES = {2: "OFFER", 5: "ACK", 6: "NAK"}


def option_list(raw):
    """The options area of a DHCP frame as ["cc ll vv vv ...", ..., "ff"], pads dropped."""
    ihl = (raw[14] & 15) * 4
    b = raw[14 + ihl + 8:]
    out, i = [], 240
    while i < len(b):
        code = b[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            out.append("ff")
            break
        n = b[i + 1]
        out.append(" ".join("%02x" % x for x in b[i:i + 2 + n]))
        i += 2 + n
    return out


def replies(pcap):
    r = []
    for pkt, _ in RawPcapReader(pcap):
        raw = bytes(pkt)
        f = decode(raw)
        if f["kind"] != "dhcp":
            r.append((None, f, []))
            continue
        r.append(((f["xid"], f["msg_type"]), f, option_list(raw)))
    return r


def write(expected, pcap):
    out = {"_comment": "written by check_options.py --write from leasewired's replies to "
                       "options-requests.pcap under options.json, then reviewed by hand; "
                       "each option is 'code length value...' in hex, in the order sent",
           "replies": []}
    for key, f, opts in replies(pcap):
        if key is None:
            continue
        out["replies"].append({"xid": key[0], "msg_type": key[1], "yiaddr": f["yiaddr"],
                               "siaddr": f["siaddr"], "file": f["file"], "options": opts})
    with open(expected, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print("wrote %s (%d replies)" % (expected, len(out["replies"])))
    return 0


def check(expected, pcap):
    exp = json.load(open(expected))
    got = replies(pcap)
    errors, used = [], set()
    for e in exp["replies"]:
        where = "reply %s %s" % (e["xid"], NAMES.get(e["msg_type"], e["msg_type"]))
        hits = [i for i, (k, _, _) in enumerate(got) if k == (e["xid"], e["msg_type"])]
        if len(hits) != 1:
            errors.append("%s: %d frames (want 1)" % (where, len(hits)))
            continue
        used.add(hits[0])
        _, f, opts = got[hits[0]]
        for field in ("yiaddr", "siaddr", "file"):
            if f[field] != e[field]:
                errors.append("%s: %s: expected %s, got %s" % (where, field, e[field], f[field]))
        if "".join(opts) != "".join(e["options"]):
            errors.append("%s: options differ" % where)
            for k in range(max(len(opts), len(e["options"]))):
                w = e["options"][k] if k < len(e["options"]) else "(none)"
                g = opts[k] if k < len(opts) else "(none)"
                errors.append("    %s %-40s  got %s" % ("  " if w == g else "!=", w, g))
    for i, (k, f, _) in enumerate(got):
        if i not in used:
            errors.append("unexpected frame %d: %s" % (i, k or f["kind"]))
    if errors:
        print("OPTION GOLDEN MISMATCH:\n" + "\n".join(errors))
        return 1
    n = sum(len(e["options"]) for e in exp["replies"])
    print("golden options: %d replies, %d options byte for byte, all as expected" %
          (len(exp["replies"]), n))
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "--write":
        return write(a[1], a[2])
    if len(a) == 2:
        return check(a[0], a[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
