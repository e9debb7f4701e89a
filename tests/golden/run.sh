#!/bin/bash
# golden: leasewired through net_pcap, no namespaces, no root.
#
#   run.sh LEASEWIRED SRCDIR [golden|options]
#
# golden (the default): runs leasewired for 3 s on tests/golden/golden.json with rx_pcap =
# requests.pcap (read once) and tx_pcap = a temporary out.pcap, then check.py compares
# out.pcap and the "final" counters with expected.json (written by hand from the RFCs).
# options: the same with options.json and options-requests.pcap, then check_options.py
# compares every reply's options byte for byte with options-expected.json.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 LEASEWIRED SRCDIR" >&2
	exit 2
fi
LEASEWIRED=$1
G=$2/tests/golden
SET=${3:-golden}
case $SET in
golden) CFG=golden.json REQ=requests.pcap ;;
options) CFG=options.json REQ=options-requests.pcap ;;
*) echo "usage: $0 LEASEWIRED SRCDIR [golden|options]" >&2; exit 2 ;;
esac
PY=/usr/bin/python3		# the python3 first on PATH has no scapy

if ! "$PY" -c 'import scapy' 2>/dev/null; then
	echo "SKIP [golden]: $PY has no scapy (apt-get install python3-scapy)" >&2
	exit 77
fi
[ -x "$LEASEWIRED" ] || { echo "FAIL [golden]: no executable $LEASEWIRED" >&2; exit 1; }

T=$(mktemp -d /tmp/lwgolden.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$G/$REQ" "$T/requests.pcap"
sed -e "s|@REQ@|$T/requests.pcap|" -e "s|@OUT@|$T/out.pcap|" -e "s|@CTL@|$T/ctl.sock|" \
	"$G/$CFG" >"$T/golden.json"

# One CPU we may run on: the control lcore and the worker share it (the worker sleeps when
# idle, see idle-sleep-us).
CPU=$("$PY" -c 'import os; print(min(os.sched_getaffinity(0)))')
timeout -k 10 60 "$LEASEWIRED" -c "$T/golden.json" -r 3 -- \
	--no-huge -m 256 --no-shconf --no-pci --no-telemetry --log-level='*:warning' \
	--lcores="0@$CPU,1@$CPU" --file-prefix="lwgolden$$" >"$T/server.log" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q "leasewired stopped" "$T/server.log" ||
	grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/server.log"; then
	echo "FAIL [golden]: leasewired exited with $rc (or crashed / sanitizer report):" >&2
	cat "$T/server.log" >&2
	exit 1
fi
[ -s "$T/out.pcap" ] || { echo "FAIL [golden]: no output pcap" >&2; cat "$T/server.log" >&2; exit 1; }

if [ "$SET" = options ]; then
	CHECK=("$G/check_options.py" "$G/options-expected.json" "$T/out.pcap")
else
	CHECK=("$G/check.py" "$G/expected.json" "$T/out.pcap" "$T/server.log")
fi
if ! timeout 60 "$PY" "${CHECK[@]}"; then
	echo "FAIL [golden $SET]: server log:" >&2
	cat "$T/server.log" >&2
	exit 1
fi
echo "PASS [golden $SET]"
