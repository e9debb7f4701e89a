#!/bin/bash
# Side by side, same lab, same client, same run: durable leases/s from leasewired (LMDB,
# strict durability, one worker) and from ISC dhcpd 4.4.3 (its lease file, fsync per lease).
#
#   bench/compare_isc.sh [LEASEWIRED] [RATE] [SECONDS]        (root)
#
# The client is Kea's perfdhcp, relayed (giaddr 198.18.0.2), asking for RATE DORA/s over
# 20000 clients for SECONDS. perfdhcp itself tops out near 10 k DORA/s on this 2-core VM, so a
# server that keeps up shows the client's limit, not its own. Each server gets the last CPU,
# perfdhcp the first. Network namespaces lwb-s / lwb-c are created and removed here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lw=${1:-$here/../build/controlplane/leasewired}
rate=${2:-4000}
secs=${3:-10}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
command -v dhcpd >/dev/null || { echo "dhcpd (isc-dhcp-server) is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/lw-compare.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	"$here/../scripts/lab.sh" down lwb-s lwb-c
	rm -rf "$work"
}
trap cleanup EXIT
"$here/../scripts/lab.sh" down lwb-s lwb-c
"$here/../scripts/lab.sh" down lwb-s lwb-c	# left by an earlier killed run: ours
"$here/../scripts/lab.sh" up lwb-s lwb-c lwb-s0 lwb-c0 || exit 1
ip -n lwb-c addr add 198.18.0.2/16 dev lwb-c0
last=$(($(nproc) - 1))

perf() {	# perf NAME: run perfdhcp, print one summary line
	ip netns exec lwb-c taskset -c 0 timeout $((secs + 30)) perfdhcp -4 -l lwb-c0 -r "$rate" \
		-R 20000 -p "$secs" -W 500000 >"$work/$1.out" 2>&1
	awk -v name="$1" '
		/^Rate:/ { rate = $2 }
		/Statistics for: REQUEST-ACK/ { ra = 1 }
		ra && /^received packets:/ { acks = $3 }
		ra && /^drops:/ { drops = $2; ra = 0 }
		END { printf "%-28s %8.0f DORA/s   %7d ACKs   %5d ACKs lost\n", name, rate, acks, drops }' \
		"$work/$1.out"
}

echo "leasewire vs ISC dhcpd: perfdhcp relayed, $rate DORA/s asked, ${secs} s, 20000 clients"

# --- leasewired, strict durability -------------------------------------------------------
cat >"$work/lw.json" <<EOF
{
  "server": { "workers": 1, "store": "$work/store", "durability": "strict",
              "control-socket": "$work/ctl.sock", "log-interval": 0 },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface=lwb-s0",
               "interfaces": [ { "address": "198.18.0.1/16" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/16",
                "pools": [ "198.18.10.0 - 198.18.255.250" ], "lease-time": 3600 } ]
}
EOF
ip netns exec lwb-s "$lw" -c "$work/lw.json" -- --in-memory --no-pci --log-level='*:error' \
	--lcores="0@0,1@$last" >"$work/lw.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "leasewired ready" "$work/lw.log" && break; sleep 0.1; done
perf "leasewired (LMDB, strict)"
kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=""
grep "store:.*changes" "$work/lw.log" | sed 's/^.* info /    /'

# --- ISC dhcpd 4.4.3 ---------------------------------------------------------------------
ip -n lwb-s addr add 198.18.0.1/16 dev lwb-s0
ip netns exec lwb-s ethtool -K lwb-s0 tx off >/dev/null
cat >"$work/dhcpd.conf" <<'EOF'
authoritative;
ddns-update-style none;
ping-check false;
default-lease-time 3600;
max-lease-time 3600;
log-facility local7;
subnet 198.18.0.0 netmask 255.255.0.0 {
  range 198.18.10.0 198.18.255.250;
}
EOF
touch "$work/dhcpd.leases"
ip netns exec lwb-s taskset -c "$last" dhcpd -4 -f -q -cf "$work/dhcpd.conf" \
	-lf "$work/dhcpd.leases" -pf "$work/dhcpd.pid" lwb-s0 >"$work/dhcpd.log" 2>&1 &
pid=$!
sleep 1
perf "ISC dhcpd 4.4.3 (fsync)"
kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=""
echo "    ISC lease file: $(grep -c '^lease ' "$work/dhcpd.leases") lease records"
