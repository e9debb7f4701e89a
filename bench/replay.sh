#!/bin/bash
# Server-only replay benchmark: one worker lcore answers DISCOVERs (then REQUESTs) replayed
# endlessly from a pcap by net_pcap (infinite_rx; replies are built and then discarded by the
# tx side). Prints requests/s per worker core, steady state, from the daemon's own counters.
# REQUEST->ACK runs three ways: no store (in-memory sink), LMDB strict (fsync per group
# commit) and LMDB relaxed (no fsync); with a store, ACKs are parked until durable and
# requests beyond what the committer absorbs are dropped (commit_ring_full / park_full),
# never answered early, so "replies/s" is the durable ACK rate.
#
#   bench/replay.sh [LEASEWIRED] [SECONDS]
#
# LW_BENCH_POLICIES=N gives the scope N policies (issue 14) that no request matches, so every
# request evaluates all of them (an OR of a vendor-class wildcard and a MAC prefix each); each
# owns 12 addresses of 198.19.200.0/24, away from the addresses the pcaps' clients ask for.
#
# The worker runs on the last CPU, the control lcore on the first. Run it on an otherwise idle
# machine; figures on a shared 2-core VM swing by tens of percent between runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lw=${1:-$here/../build/controlplane/leasewired}
secs=${2:-6}
work=$(mktemp -d /tmp/lw-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/make_pcaps.py" "$work" 1024

ncpu=$(nproc)
worker_cpu=$((ncpu - 1))
if [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -ge 64 ]; then
	mem="--in-memory"
else
	mem="--no-huge -m 512 --no-shconf"
fi

policies() {
	local n=${LW_BENCH_POLICIES:-0} i sep=""
	[ "$n" -gt 0 ] || return 0
	printf ', "policies": ['
	for ((i = 0; i < n; i++)); do
		printf '%s{ "name": "p%d", "condition": "or", "conditions": [' "$sep" "$i"
		printf '{ "type": "vendor-class", "values": [ "bench-vendor-%d*" ] },' "$i"
		printf '{ "type": "mac-address", "values": [ "0e:%02x:*" ] } ],' "$i"
		printf ' "ranges": [ "198.19.200.%d - 198.19.200.%d" ] }' \
			$((i * 12 + 1)) $((i * 12 + 12))
		sep=", "
	done
	printf ']'
}

run() {
	local name=$1 pcap=$2 durability=$3 store=${4:-}
	rm -rf "$work/store"
	cat > "$work/$name.json" <<JSON
{
  "server": { "workers": 1, "log-interval": 1, "idle-sleep-us": 0, "mbufs": 16383,
              "durability": "$durability", "store": "$store" },
  "ports": [ { "name": "replay", "device": "net_pcap0,rx_pcap=$pcap,infinite_rx=1",
               "interfaces": [ { "address": "198.18.0.1/15" } ] } ],
  "scopes": [ { "name": "bench", "subnet": "198.18.0.0/15",
                "pools": [ "198.19.10.1 - 198.19.255.254" ], "lease-time": 3600$(policies),
                "options": { "routers": [ "198.18.0.1" ], "domain-name-servers": [ "198.18.0.1" ],
                             "domain-name": "bench.leasewire.test" } } ]
}
JSON
	# shellcheck disable=SC2086
	timeout $((secs + 30)) "$lw" -c "$work/$name.json" -r "$secs" -- $mem --no-pci \
		--log-level='*:error' --lcores="0@0,1@$worker_cpu" 2> "$work/$name.log" || {
		cat "$work/$name.log" >&2
		return 1
	}
	# Steady state: rx and tx deltas between the last two 1-second counter lines.
	/usr/bin/python3 - "$name" "$work/$name.log" <<'PY'
import re, sys, datetime
name, path = sys.argv[1], sys.argv[2]
pts = []
for line in open(path):
    if " counters " not in line:
        continue
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    rx = int(re.search(r" rx=(\d+)", line).group(1))
    tx = int(re.search(r" tx=(\d+)", line).group(1))
    drops = int(re.search(r" drops=(\d+)", line).group(1))
    pts.append((t, rx, tx, drops))
if len(pts) < 3:
    sys.exit("%s: not enough counter lines" % name)
(t0, r0, x0, d0), (t1, r1, x1, d1) = pts[1], pts[-1]
dt = t1 - t0
print("%-22s %12.0f requests/s  %12.0f replies/s  drops %d  (1 worker core, %.1f s)"
      % (name, (r1 - r0) / dt, (x1 - x0) / dt, d1 - d0, dt))
PY
	# With a store: the committer's summary at stop (batches, commit latency, drops by reason).
	grep -E "store: [0-9]+ changes|committer:" "$work/$name.log" | sed 's/^[^ ]* [^ ]* /    /' || true
	grep " counters " "$work/$name.log" | tail -1 | grep -oE " drop_[a-z_]+=[0-9]+" |
		tr -d '\n' | sed 's/^/    last counters:/; s/$/\n/' || true
}

echo "leasewire replay benchmark: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $ncpu CPUs, EAL $mem"
run discover-offer "$work/discover.pcap" strict
run request-ack-memory "$work/request.pcap" strict
run request-ack-strict "$work/request.pcap" strict "$work/store"
run request-ack-relaxed "$work/request.pcap" relaxed "$work/store"
