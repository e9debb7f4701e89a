#!/usr/bin/python3
"""make_option_requests.py [OUT.pcap]: write the option golden test's input frames (default:
options-requests.pcap next to this script), for options.json. Deterministic (fixed MACs,
xids, IP ids and timestamps): the file is byte-identical on every run. Needs scapy
(/usr/bin/python3). Prints the frame table.

Each client asks for its options in its own parameter request list (option 55); what the
replies must carry, byte by byte, is options-expected.json (check_options.py).

    0  O1  DISCOVER, plain client: scope options over the server's, typed 121 249 119 43
    1  O1  REQUEST SELECTING the offered address (the ACK carries the same options)
    2  O2  DISCOVER, vendor class "Polycom-VVX" (60): scope policy "phones" (range, lease,
           its own 43 and 66 over the scope's)
    3  O3  DISCOVER, user class "golden-uc" (77, raw, as dhclient and Windows send it):
           server policy "uc" (domain-name over the scope's)
    4  O4  DISCOVER, PXE, client architecture 7 (93): policy "uefi" (file, siaddr, 67)
    5  O5  DISCOVER, PXE, client architecture 0 (93): policy "bios"
    6  O6  DISCOVER, reserved MAC: the reservation's options over the scope's and server's
    7  O7  DISCOVER asking only for the subnet mask: the always-send codes come anyway
"""
import os
import sys

from scapy.all import BOOTP, IP, UDP, Ether, PcapWriter, Raw

BCAST = "ff:ff:ff:ff:ff:ff"
SERVER_ID = "198.18.0.1"


def mac(n):
    return "02:00:5e:40:00:%02x" % n


def chaddr(m):
    return bytes.fromhex(m.replace(":", "")) + b"\0" * 10


def opt(code, data):
    return bytes([code, len(data)]) + data


def request(n, xid, mtype, prl, extra=b"", flags=0x8000):
    """A client's broadcast frame: BOOTP header, cookie, 53, @extra, 55, END."""
    m = mac(n)
    body = (b"\x63\x82\x53\x63" + opt(53, bytes([mtype])) + extra + opt(55, bytes(prl)) +
            b"\xff")
    return (Ether(src=m, dst=BCAST) / IP(src="0.0.0.0", dst="255.255.255.255", id=n) /
            UDP(sport=68, dport=67) /
            BOOTP(op=1, htype=1, hlen=6, xid=xid, secs=3, flags=flags, chaddr=chaddr(m)) /
            Raw(body))


PRL_ALL = [1, 3, 6, 15, 119, 121, 249, 43, 42, 51, 58, 59]


def frames():
    f = []
    f.append(("O1 DISCOVER", request(1, 0x4F500100, 1, PRL_ALL)))
    f.append(("O1 REQUEST", request(1, 0x4F500100, 3, PRL_ALL,
                                    opt(54, bytes([198, 18, 0, 1])) +
                                    opt(50, bytes([198, 18, 0, 100])))))
    f.append(("O2 DISCOVER vendor class", request(2, 0x4F500200, 1, [1, 3, 6, 15, 66, 43],
                                                  opt(60, b"Polycom-VVX"))))
    f.append(("O3 DISCOVER user class", request(3, 0x4F500300, 1, [1, 3, 6, 15],
                                                opt(77, b"golden-uc"))))
    f.append(("O4 DISCOVER PXE arch 7", request(4, 0x4F500400, 1, [1, 3, 66, 67, 43],
                                                opt(93, b"\x00\x07") +
                                                opt(60, b"PXEClient:Arch:00007"))))
    f.append(("O5 DISCOVER PXE arch 0", request(5, 0x4F500500, 1, [1, 3, 66, 67],
                                                opt(93, b"\x00\x00") +
                                                opt(60, b"PXEClient:Arch:00000"))))
    f.append(("O6 DISCOVER reserved", request(6, 0x4F500600, 1, [1, 3, 6, 15, 121])))
    f.append(("O7 DISCOVER mask only", request(7, 0x4F500700, 1, [1])))
    return f


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "options-requests.pcap")
    w = PcapWriter(out, linktype=1, sync=True)
    for i, (label, fr) in enumerate(frames()):
        fr = Ether(bytes(fr))           # freeze checksums and lengths
        fr.time = 1795392000 + i / 1000.0
        w.write(fr)
        print("%5d  %s" % (i, label))
    w.close()
    print("wrote %s (%d frames)" % (out, len(frames())))


if __name__ == "__main__":
    main()
