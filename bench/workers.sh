#!/bin/bash
# DISCOVER->OFFER replay with 1 and 2 workers (issue 13 item 5), in memory.
#
#   workers.sh [BUILD-DIR [SECONDS [CLIENTS]]]        default: build 10 1024
#
# leasewired reads DISCOVERs from CLIENTS distinct clients, replayed endlessly from a pcap
# (net_pcap, one RX queue per worker, each replaying the same file; replies go to /dev/null:
# no network), for SECONDS; printed: requests and replies per second over the run, steered
# frames per second (a frame that arrived on a worker that does not own its client goes to
# the owner through a ring), and which CPU ran which lcore. On this 2-core machine the
# control lcore sits on CPU 0 in both runs; with 2 workers, worker 0 shares CPU 0 with it.
# See doc/performance.md for measuring 1..N workers on a machine with cores to spare.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
secs=${2:-10}
clients=${3:-1024}
lw=$build/controlplane/leasewired
work=$(mktemp -d /tmp/lw-workers.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/bench/leasewire-bindings-fill" "$work/unused" 0 10.0.0.2 "$work/discover.pcap" \
	"$clients" > /dev/null

run() {	# run WORKERS LCORES
	local n=$1 lcores=$2 dev="net_pcap0"
	for _ in $(seq "$n"); do
		dev="$dev,rx_pcap=$work/discover.pcap,tx_pcap=/dev/null"
	done
	cat > "$work/w$n.json" <<JSON
{
  "server": { "workers": $n, "log-interval": 1, "idle-sleep-us": 0, "mbufs": 32767,
              "control-socket": "$work/ctl.sock" },
  "ports": [ { "name": "replay", "device": "$dev,infinite_rx=1",
               "interfaces": [ { "address": "10.0.0.1/12" } ] } ],
  "scopes": [ { "name": "bench", "subnet": "10.0.0.0/12",
                "pools": [ "10.0.1.0 - 10.15.255.254" ], "lease-time": 3600,
                "options": { "routers": [ "10.0.0.1" ] } } ]
}
JSON
	timeout $((secs + 30)) nice -n 19 "$lw" -c "$work/w$n.json" -r "$secs" -- --no-huge \
		-m 512 --no-shconf --no-pci --log-level='*:error' --lcores="$lcores" \
		2> "$work/w$n.log" || { cat "$work/w$n.log" >&2; return 1; }
	/usr/bin/python3 - "$n" "$lcores" "$work/w$n.log" <<'PY'
import datetime, re, sys
n, lcores, path = sys.argv[1:]
pts = []
for line in open(path):
    if " counters " not in line:
        continue
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    get = lambda k: int(re.search(r" %s=(\d+)" % k, line).group(1))
    pts.append((t, get("rx"), get("tx"), get("steered"), get("drops")))
if len(pts) < 3:
    sys.exit("%s workers: not enough counter lines" % n)
(t0, r0, x0, s0, d0), (t1, r1, x1, s1, d1) = pts[1], pts[-1]
dt = t1 - t0
print("%s worker(s) (lcores %s): %9.0f requests/s %9.0f replies/s %9.0f steered/s"
      " %9.0f drops/s (%.1f s)" % (n, lcores, (r1 - r0) / dt, (x1 - x0) / dt, (s1 - s0) / dt,
                                   (d1 - d0) / dt, dt))
last = [l for l in open(path) if " counters " in l][-1]
print("    drops: " + " ".join(re.findall(r"drop_[a-z_]+=[1-9]\d*", last)))
PY
}

echo "DISCOVER->OFFER replay, $clients clients, in memory; lcore 0 = control (EAL main)"
run 1 "0@0,1@1"
run 2 "0@0,1@0,2@1"
