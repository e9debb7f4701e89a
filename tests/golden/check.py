#!/usr/bin/python3
"""check.py EXPECTED.json OUT.pcap [SERVER.log]: compare leasewired's output frames with the
hand-written expectations, field by field, and (with the log) its "final" counters.

Frames are decoded here by hand, not by scapy's dissectors (scapy only reads the pcap file),
so a quirk of a dissector cannot hide a wrong byte. Prints every mismatch as
    reply '<name>': <field>: expected <x>, got <y>
and exits 1 if there is any, 0 otherwise.
"""
import json
import re
import socket
import struct
import sys

from scapy.utils import RawPcapReader

IP_CODES = {1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 21, 28, 32, 41, 42, 44, 45, 48, 49, 50, 54,
            65, 68, 69, 70, 71, 72, 73, 74, 75, 76, 150}
U32_CODES = {2, 24, 35, 38, 51, 58, 59}
STR_CODES = {12, 14, 15, 17, 40, 56, 60, 64, 66, 67}


def mac(b):
    return ":".join("%02x" % x for x in b)


def ip(b):
    return socket.inet_ntoa(bytes(b))


def ip_int(s):
    return struct.unpack("!I", socket.inet_aton(s))[0]


def hexs(b):
    return ":".join("%02x" % x for x in b)


def csum_ok(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def cstr(b):
    return bytes(b).split(b"\0", 1)[0].decode("latin-1")


def decode(raw):
    """A dict of every field the checks may look at; 'kind' says what the frame is."""
    f = {"kind": "other", "len": len(raw)}
    if len(raw) < 14:
        return f
    f["eth_dst"], f["eth_src"] = mac(raw[0:6]), mac(raw[6:12])
    etype = struct.unpack("!H", raw[12:14])[0]
    f["ethertype"] = etype
    if etype == 0x0806 and len(raw) >= 42:
        a = raw[14:42]
        f.update(kind="arp", arp_htype=struct.unpack("!H", a[0:2])[0],
                 arp_ptype=struct.unpack("!H", a[2:4])[0], arp_hlen=a[4], arp_plen=a[5],
                 arp_op=struct.unpack("!H", a[6:8])[0], arp_sha=mac(a[8:14]),
                 arp_spa=ip(a[14:18]), arp_tha=mac(a[18:24]), arp_tpa=ip(a[24:28]))
        return f
    if etype != 0x0800 or len(raw) < 34:
        return f
    h = raw[14:]
    ihl = (h[0] & 15) * 4
    tot = struct.unpack("!H", h[2:4])[0]
    f.update(ip_version=h[0] >> 4, ip_ihl=ihl, ip_len=tot, ip_ttl=h[8], ip_proto=h[9],
             ip_frag=struct.unpack("!H", h[6:8])[0] & 0x3FFF,
             ip_csum_ok=csum_ok(bytes(h[:ihl])), ip_src=ip(h[12:16]), ip_dst=ip(h[16:20]),
             ip_len_fits=tot <= len(h))
    if tot > len(h):
        return f
    l4 = h[ihl:tot]
    if h[9] == 1 and len(l4) >= 8:
        f.update(kind="icmp", icmp_type=l4[0], icmp_code=l4[1],
                 icmp_id=struct.unpack("!H", l4[4:6])[0],
                 icmp_seq=struct.unpack("!H", l4[6:8])[0], icmp_data=hexs(l4[8:]),
                 icmp_csum_ok=csum_ok(bytes(l4)))
        return f
    if h[9] != 17 or len(l4) < 8:
        return f
    sport, dport, ulen, uck = struct.unpack("!HHHH", l4[:8])
    pseudo = bytes(h[12:20]) + struct.pack("!BBH", 0, 17, ulen)
    f.update(kind="udp", sport=sport, dport=dport, udp_len=ulen,
             udp_len_ok=ulen == len(l4), udp_csum_present=uck != 0,
             udp_csum_ok=uck != 0 and csum_ok(pseudo + bytes(l4[:ulen])))
    b = l4[8:ulen]
    if len(b) < 240:
        return f
    f.update(bootp_len=len(b), op=b[0], htype=b[1], hlen=b[2], hops=b[3],
             xid="0x%08x" % struct.unpack("!I", b[4:8])[0],
             secs=struct.unpack("!H", b[8:10])[0],
             flags="0x%04x" % struct.unpack("!H", b[10:12])[0],
             ciaddr=ip(b[12:16]), yiaddr=ip(b[16:20]), siaddr=ip(b[20:24]),
             giaddr=ip(b[24:28]), chaddr=mac(b[28:28 + min(b[2], 16)]),
             chaddr_pad_zero=not any(b[28 + min(b[2], 16):44]),
             sname=cstr(b[44:108]), file=cstr(b[108:236]),
             cookie=hexs(b[236:240]))
    opts, order, end_seen, i = {}, [], False, 240
    while i < len(b):
        code = b[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            end_seen = True
            break
        if i + 1 >= len(b) or i + 2 + b[i + 1] > len(b):
            f["options_overrun"] = True
            break
        opts[code] = opts.get(code, b"") + bytes(b[i + 2:i + 2 + b[i + 1]])
        order.append(code)
        i += 2 + b[i + 1]
    f.update(options=opts, option_order=order, end_seen=end_seen)
    t = opts.get(53)
    f["msg_type"] = t[0] if t is not None and len(t) == 1 else None
    f["kind"] = "dhcp" if 53 in opts else "bootp"
    return f


def opt_value(code, v):
    if code in IP_CODES and len(v) % 4 == 0:
        return [ip(v[i:i + 4]) for i in range(0, len(v), 4)]
    if code in U32_CODES and len(v) == 4:
        return struct.unpack("!I", v)[0]
    if code in STR_CODES:
        return v.decode("latin-1")
    return hexs(v)


def key_of(f):
    if f["kind"] == "dhcp":
        return ("dhcp", f["xid"], f["msg_type"])
    if f["kind"] == "bootp" and f.get("op") == 2:
        return ("bootp", f["xid"])
    if f["kind"] == "arp":
        return ("arp", f["arp_op"], f["arp_tpa"])
    if f["kind"] == "icmp":
        return ("icmp", "0x%04x" % f["icmp_id"], f["icmp_seq"])
    return ("other", f["len"])


def expected_key(e):
    if e["kind"] == "dhcp":
        return ("dhcp", e["xid"].lower(), e["msg_type"])
    if e["kind"] == "bootp":
        return ("bootp", e["xid"].lower())
    if e["kind"] == "arp":
        return ("arp", e["arp_op"], e["arp_tpa"])
    if e["kind"] == "icmp":
        return ("icmp", e["icmp_id"].lower(), e["icmp_seq"])
    raise ValueError("unknown kind %r" % e["kind"])


SCALARS = ["eth_dst", "eth_src", "ip_src", "ip_dst", "sport", "dport", "op", "htype", "hlen",
           "hops", "xid", "secs", "flags", "ciaddr", "yiaddr", "siaddr", "giaddr", "chaddr",
           "sname", "file", "msg_type", "arp_htype", "arp_ptype", "arp_hlen", "arp_plen",
           "arp_op", "arp_sha", "arp_spa", "arp_tha", "arp_tpa", "icmp_type", "icmp_code",
           "icmp_seq", "icmp_data"]


class Diff:
    def __init__(self):
        self.errors = []
        self.checked = 0

    def eq(self, where, field, want, got):
        self.checked += 1
        if isinstance(want, str) and isinstance(got, str):
            same = want.lower() == got.lower()
        else:
            same = want == got
        if not same:
            self.errors.append("%s: %s: expected %s, got %s" % (where, field, json.dumps(want),
                                                                json.dumps(got)))

    def true(self, where, what, cond):
        self.checked += 1
        if not cond:
            self.errors.append("%s: %s" % (where, what))


def check_reply(d, e, f, dhcp_defaults):
    where = "reply '%s'" % e["name"]
    exp = dict(dhcp_defaults) if e["kind"] in ("dhcp", "bootp") else {}
    exp.update({k: v for k, v in e.items() if not k.startswith("_")})
    # Frame-level validity.
    if e["kind"] != "arp":
        d.eq(where, "IP version", 4, f.get("ip_version"))
        d.true(where, "IPv4 total length runs past the frame", f.get("ip_len_fits"))
        d.true(where, "IPv4 header checksum invalid", f.get("ip_csum_ok"))
        d.eq(where, "IP MF flag and fragment offset", 0, f.get("ip_frag"))
        d.true(where, "IP TTL is 0", f.get("ip_ttl", 0) > 0)
    if e["kind"] in ("dhcp", "bootp"):
        d.true(where, "UDP length does not match the IP payload", f.get("udp_len_ok"))
        d.true(where, "UDP checksum missing (0)", f.get("udp_csum_present"))
        d.true(where, "UDP checksum invalid", f.get("udp_csum_ok"))
        d.eq(where, "magic cookie", "63:82:53:63", f.get("cookie"))
        d.true(where, "no END option", f.get("end_seen"))
        d.true(where, "an option runs past the message", not f.get("options_overrun"))
        d.true(where, "chaddr bytes past hlen are not zero", f.get("chaddr_pad_zero"))
        if "ip_len_max" in exp:
            d.true(where, "IP datagram of %d bytes exceeds %d (the client's maximum)"
                   % (f["ip_len"], exp["ip_len_max"]), f["ip_len"] <= exp["ip_len_max"])
        if "bootp_len_min" in exp:
            d.true(where, "BOOTP message of %d bytes is below %d" % (f["bootp_len"],
                                                                     exp["bootp_len_min"]),
                   f["bootp_len"] >= exp["bootp_len_min"])
        if "bootp_len_max" in exp:
            d.true(where, "BOOTP message of %d bytes is above %d" % (f["bootp_len"],
                                                                     exp["bootp_len_max"]),
                   f["bootp_len"] <= exp["bootp_len_max"])
    if e["kind"] == "icmp":
        d.true(where, "ICMP checksum invalid", f.get("icmp_csum_ok"))
        d.eq(where, "icmp_id", int(exp["icmp_id"], 16), f.get("icmp_id"))
    for k in SCALARS:
        if k in exp:
            d.eq(where, k, exp[k], f.get(k))
    if "yiaddr_range" in exp:
        lo, hi = exp["yiaddr_range"]
        d.true(where, "yiaddr %s not in %s - %s" % (f.get("yiaddr"), lo, hi),
               ip_int(lo) <= ip_int(f.get("yiaddr", "0.0.0.0")) <= ip_int(hi))
    for a in exp.get("yiaddr_not", []):
        d.true(where, "yiaddr must not be %s" % a, f.get("yiaddr") != a)
    opts = f.get("options", {})
    for code, want in exp.get("options", {}).items():
        c = int(code)
        if c not in opts:
            d.eq(where, "option %d" % c, want, None)
            continue
        got = opt_value(c, opts[c])
        if isinstance(want, str) and isinstance(got, list) and len(got) == 1:
            got = got[0]
        d.eq(where, "option %d" % c, want, got)
    for c in exp.get("absent", []):
        d.true(where, "option %d must be absent, got %s" % (c, hexs(opts.get(c, b""))),
               c not in opts)
    if "allowed_options" in exp:
        extra = sorted(set(opts) - set(exp["allowed_options"]))
        d.eq(where, "options outside %s" % exp["allowed_options"], [], extra)
    if "last_option" in exp:
        order = f.get("option_order", [])
        d.eq(where, "last option before END", exp["last_option"], order[-1] if order else None)


def check_counters(d, want, logfile):
    lines = [ln for ln in open(logfile, errors="replace") if " final " in ln]
    if not lines:
        d.errors.append("server log: no 'final' counters line")
        return
    got = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}
    for k, v in want.items():
        if k.startswith("_"):
            continue
        d.eq("counters", k, v, got.get(k, 0 if k.startswith("drop_") else None))
    for k, v in got.items():
        if k.startswith("drop_") and k not in want:
            d.errors.append("counters: unexpected %s=%d" % (k, v))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    exp = json.load(open(sys.argv[1]))
    frames = [decode(bytes(pkt)) for pkt, _ in RawPcapReader(sys.argv[2])]
    d = Diff()
    print("out.pcap: %d frames" % len(frames))
    for i, f in enumerate(frames):
        print("  %2d %s" % (i, " ".join(str(x) for x in key_of(f))))
    used = set()
    pos = {}
    for e in exp["replies"]:
        k = expected_key(e)
        hits = [i for i, f in enumerate(frames) if key_of(f) == k]
        if not hits:
            d.errors.append("reply '%s': missing (no frame with key %s)" % (e["name"], k))
            continue
        if len(hits) > 1:
            d.errors.append("reply '%s': %d frames with key %s (duplicates)" %
                            (e["name"], len(hits), k))
        used.update(hits)
        pos[e["name"]] = hits[0]
        check_reply(d, e, frames[hits[0]], exp.get("dhcp_defaults", {}))
    # One transaction's replies in the listed order.
    by_xid = {}
    for e in exp["replies"]:
        if "xid" in e and e["name"] in pos:
            by_xid.setdefault(e["xid"].lower(), []).append(e["name"])
    for xid, names in by_xid.items():
        p = [pos[n] for n in names]
        d.true("transaction %s" % xid, "replies out of order: %s at frames %s" % (names, p),
               p == sorted(p))
    for i, f in enumerate(frames):
        if i not in used:
            d.errors.append("unexpected frame %d in the output: %s" % (i, key_of(f)))
    if len(sys.argv) > 3:
        check_counters(d, exp.get("counters", {}), sys.argv[3])
    if d.errors:
        print("\nGOLDEN MISMATCH (%d of %d checks failed):" % (len(d.errors), d.checked))
        for err in d.errors:
            print("  - " + err)
        return 1
    print("golden: %d replies, %d checks, all as expected" % (len(exp["replies"]), d.checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
