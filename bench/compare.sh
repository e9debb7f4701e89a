#!/bin/bash
# One run, one generator (leasewire-bench), every server: the maximum DORA rate each sustains
# with < 2.5 % of exchanges dropped or later than 1 s (ISC's own criterion), latency, CPU.
#
#   bench/compare.sh [--full] [--build DIR] [--out DIR] [--seconds S] [--clients N]
#                    [--window W] [--rate-window W] [--only reflect,memory,relaxed,strict,kea,isc,reflect-afp]
#
# Cases, in this order:
#   reflect      leasewire-bench --mode reflect over vhost-user: the transport's ceiling
#   memory       leasewired, bindings in memory only          (vhost-user, as lwbench.sh)
#   relaxed      leasewired, LMDB store, no fsync              (vhost-user)
#   strict       leasewired, LMDB store, ACK once durable      (vhost-user)
#   kea          Kea 2.2 kea-dhcp4 (Debian), memfile (persist, no LFC), multi-threaded
#                (thread pool auto = 2 threads, packet queue 64), raw sockets
#   isc          ISC dhcpd 4.4 (Debian), lease file on disk (fsync per lease), ping-check false
#   reflect-afp  (--full only) the reflector on the veth through net_af_packet: the ceiling of
#                the kernel servers' transport
# Kea and ISC dhcpd run in network namespace lwcmp-s on one end of a veth (198.18.0.1/15,
# tx checksum offload off); the generator runs in lwcmp-g on the other end through
# net_af_packet with --answer-arp. Both namespaces are made here and removed on exit.
# Direct clients (broadcast flag), a population of --clients distinct chaddrs (default
# 100000) that every step goes round again, pool 198.18.1.0 - 198.19.255.254 everywhere.
#
# Search, per case (compare.py has the rules): a flat-out probe (window only) gives the
# scale P; then open-loop steps at fixed fractions of P (short: 0.5 and 0.9; full: 0.25 to
# 1.3), then bisection between the highest passing and lowest failing --rate (short: 3 steps,
# full: 4; a quarter of the lowest rate when none passed yet). Every step: --timeout-ms 1000 --retries 0, so a late exchange is a dropped one.
# The probe is closed loop with --window (224, as lwbench.sh); the open-loop steps allow
# --rate-window (896) sessions in flight on a 1024-entry virtio ring (queue_size=1024), so
# that a server stalling for a moment only delays answers. More in flight than the rings
# hold would be lost (a lost exchange then holds its window slot for the 1 s timeout), so a
# session due while the window is full counts as dropped, as a frame overflowing a NIC's
# ring would be.
# Short mode (default) runs 1 s per step (about 1.5 min in all); --full 5 s per step.
# Placement: the generator on the first CPU, the server on the last (Kea and dhcpd with
# taskset, the reflector and leasewired's worker lcore by EAL; leasewired's control lcore
# and committer share the first CPU, as in lwbench.sh).
# Output: the table on stdout; steps.csv (every step), results.json and
# offered-vs-completed.png (gnuplot) in --out (default /var/tmp/lw-compare-DATE).
# Needs root, ~150 free 2 MiB hugepages, kea-dhcp4-server, isc-dhcp-server, gnuplot-nox.
# Namespace names are fixed: run it under `flock /tmp/lw-e2e.lock` beside the e2e tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
mode=short
secs=
rate_window=896
only=reflect,memory,relaxed,strict,kea,isc
out=${LWBENCH_TMP:-/var/tmp}/lw-compare-$(date +%Y%m%d-%H%M%S)
prog=compare.sh
# shellcheck source=bench/lib/common.sh
. "$here/lib/common.sh"
while [ $# -gt 0 ]; do
	case $1 in
	--full) mode=full; only=$only,reflect-afp ;;
	--build) build=$2; shift ;;
	--out) out=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--clients) lwb_clients=$2; shift ;;
	--window) lwb_window=$2; shift ;;
	--rate-window) rate_window=$2; shift ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$secs" ] || { [ "$mode" = full ] && secs=5 || secs=1; }
lwb_check_clients
want() { [[ ",$only," == *",$1,"* ]]; }
py=/usr/bin/python3
NS_GEN=lwcmp-g
NS_SRV=lwcmp-s
IF_GEN=v-lwcmp-g
IF_SRV=v-lwcmp-s
netns_made=0
sampler=

cleanup() {
	[ -n "$sampler" ] && lwb_stop "$sampler"
	lwb_cleanup_pids
	[ "$netns_made" = 1 ] && "$here/../scripts/lab.sh" down "$NS_GEN" "$NS_SRV"
	rm -rf "$work"
}
lwb_workdir lw-compare cleanup
trap 'exit 130' INT TERM
lwb_init 150
if want kea || want isc || want reflect-afp; then
	for c in ip ethtool taskset; do
		command -v "$c" >/dev/null || lwb_die "$c not installed"
	done
	if want kea; then command -v kea-dhcp4 >/dev/null || lwb_die "kea-dhcp4 not installed"; fi
	if want isc; then command -v dhcpd >/dev/null || lwb_die "dhcpd not installed"; fi
fi
lwb_gen_timeout=$((secs + 60))
lwb_vhost_devargs=,queue_size=1024
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# sample PID: "EPOCH /proc/PID/stat" every 0.1 s until killed (or PID ends).
sample() {
	while [ -r "/proc/$1/stat" ]; do
		printf '%s %s\n' "$EPOCHREALTIME" "$(< "/proc/$1/stat")"
		sleep 0.1
	done
}

# step DIR N PID TRANSPORT RATE|probe: one generator run, its JSON and the server's CPU.
step() {
	local d=$1 n=$2 pid=$3 transport=$4 rate=$5 f args
	f=$(printf '%s/step%02d' "$d" "$n")
	# --xid-base alternates 0 and 128: the server outlives the step, and a REQUEST whose xid
	# repeated the client's last ACK of the step before would be answered from memory,
	# nothing written (a retransmission, engine.c dup_request()): it measured that.
	args=(--duration "$secs" --clients "$lwb_clients" --timeout-ms 1000 --retries 0
	      --xid-base "$(( n % 2 * 128 ))" --label "$(basename "$d")-$n")
	if [ "$rate" = probe ]; then
		args+=(--window "$lwb_window")
	else
		args+=(--window "$rate_window" --rate "$rate")
	fi
	sample "$pid" > "$f.cpu" &
	sampler=$!
	if [ "$transport" = vhost ]; then
		lwb_gen_prefix=()
		lwb_gen_vhost "$f.json" "$f.log" "${args[@]}"
	else
		lwb_gen_prefix=(ip netns exec "$NS_GEN")
		lwb_gen_cmd "$f.json" "$f.log" "net_af_packet0,iface=$IF_GEN" --answer-arp "${args[@]}"
	fi
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	sampler=
	echo "end $EPOCHREALTIME" >> "$f.cpu"
	kill -0 "$pid" 2>/dev/null || lwb_die "the server (pid $pid) died during $f"
	"$py" "$here/compare.py" show "$f.json"
}

# search NAME TITLE TRANSPORT PID: all the steps of one case.
ncase=0
search() {
	local d n=0 r
	ncase=$((ncase + 1))
	d=$work/case-$ncase-$1
	mkdir -p "$d"
	"$py" -c 'import json,sys; json.dump(dict(zip(("key","title","transport"),sys.argv[1:])),
		open(sys.argv[4],"w"))' "$1" "$2" "$3" "$d/meta.json"
	echo "compare: $2 ($3)"
	while :; do
		r=$("$py" "$here/compare.py" next "$d" "$mode") || lwb_die "compare.py next failed"
		[ "$r" != done ] || break
		step "$d" "$n" "$4" "$3" "$r"
		n=$((n + 1))
	done
}

netns_up() {
	[ "$netns_made" = 1 ] && return 0
	# lab.sh's "server" end (no address, DPDK attaches) is the generator's here; its
	# "client" end, with tx checksum offload off, is where Kea and dhcpd listen.
	# Namespaces of these names left by an earlier killed run are ours to delete.
	"$here/../scripts/lab.sh" down "$NS_GEN" "$NS_SRV"
	"$here/../scripts/lab.sh" up "$NS_GEN" "$NS_SRV" "$IF_GEN" "$IF_SRV" >/dev/null
	netns_made=1
	ip -n "$NS_SRV" addr add 198.18.0.1/15 dev "$IF_SRV"
}

bound67() {	# bound67 COMM: a socket on port 67 in $NS_SRV belongs to COMM
	ip netns exec "$NS_SRV" ss -Hulpn 'sport = :67' | grep -q "\"$1\""
}

run_kea() {
	netns_up
	cat > "$work/kea.json" <<JSON
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "$IF_SRV" ], "dhcp-socket-type": "raw" },
  "lease-database": { "type": "memfile", "persist": true, "lfc-interval": 0,
                      "name": "$work/kea-leases4.csv" },
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 0,
                       "packet-queue-size": 64 },
  "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3000,
  "subnet4": [ { "id": 1, "subnet": "198.18.0.0/15",
                 "pools": [ { "pool": "198.18.1.0 - 198.19.255.254" } ],
                 "option-data": [ { "name": "routers", "data": "198.18.0.1" },
                                  { "name": "domain-name-servers", "data": "198.18.0.1" },
                                  { "name": "domain-name", "data": "bench.leasewire.test" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                 "output_options": [ { "output": "$work/kea.log" } ] } ]
} }
JSON
	KEA_LOCKFILE_DIR=$work KEA_PIDFILE_DIR=$work ip netns exec "$NS_SRV" \
		taskset -c "$srv_cpu" kea-dhcp4 -c "$work/kea.json" > "$work/kea.out" 2>&1 &
	local pid=$!
	lwb_pids+=("$pid")
	wait_for 30 "kea-dhcp4 on port 67" bound67 kea-dhcp4 || { cat "$work/kea.out" >&2; exit 1; }
	search kea "Kea $(kea-dhcp4 -v), memfile, MT" "af_packet veth" "$pid"
	lwb_stop "$pid" TERM 10
	echo "compare:   Kea lease file: $(grep -c '^198\.' "$work/kea-leases4.csv" || true) records"
}

run_isc() {
	netns_up
	cat > "$work/dhcpd.conf" <<'EOF'
authoritative;
ddns-update-style none;
ping-check false;
default-lease-time 3600;
max-lease-time 3600;
log-facility local7;
option routers 198.18.0.1;
option domain-name-servers 198.18.0.1;
option domain-name "bench.leasewire.test";
subnet 198.18.0.0 netmask 255.254.0.0 {
  range 198.18.1.0 198.19.255.254;
}
EOF
	: > "$work/dhcpd.leases"
	ip netns exec "$NS_SRV" taskset -c "$srv_cpu" dhcpd -4 -f -q -cf "$work/dhcpd.conf" \
		-lf "$work/dhcpd.leases" -pf "$work/dhcpd.pid" "$IF_SRV" > "$work/dhcpd.out" 2>&1 &
	local pid=$!
	lwb_pids+=("$pid")
	wait_for 60 "dhcpd on port 67" bound67 dhcpd || { cat "$work/dhcpd.out" >&2; exit 1; }
	search isc "ISC dhcpd $(dhcpd --version 2>&1 | sed 's/.*isc-dhcpd-//'), leases on disk" \
		"af_packet veth" "$pid"
	# dhcpd may work through a backlog at ~10 ms a message before it sees SIGTERM.
	lwb_stop "$pid" TERM 5
	echo "compare:   ISC lease file: $(grep -c '^lease ' "$work/dhcpd.leases" || true) records"
}

run_reflect_afp() {	# the reflector on the kernel servers' end of the veth
	netns_up
	ip netns exec "$NS_SRV" "$gen" "${EAL_COMMON[@]}" --file-prefix=lwbench-srv \
		--lcores="0@$srv_cpu" --vdev="net_af_packet0,iface=$IF_SRV" -- --mode reflect \
		--json --quiet --label reflect-afp > "$work/reflect-afp.srv.json" \
		2> "$work/reflect-afp.srv.log" &
	local pid=$!
	lwb_pids+=("$pid")
	sleep 1	# no socket to wait for: EAL and the port come up within ~0.3 s
	kill -0 "$pid" 2>/dev/null || { cat "$work/reflect-afp.srv.log" >&2; exit 1; }
	search reflect-afp "reflect (af_packet veth, ceiling)" "af_packet veth" "$pid"
	lwb_stop "$pid" INT
}

title="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), CPUs ${cpus[*]}; $mode mode, $secs s per step, $lwb_clients clients, window $lwb_window (probe) / $rate_window (rate steps)"
echo "compare: $title; load average at start $load_start"
echo "compare: generator on CPU $gen_cpu; server on CPU $srv_cpu (Kea, dhcpd: taskset;" \
     "reflector and leasewired's worker lcore: EAL); leasewired's control lcore and" \
     "committer on CPU $gen_cpu"

if want reflect; then
	lwb_start_reflect reflect
	search reflect "reflect (vhost-user, ceiling)" vhost "$lwb_pid"
	lwb_stop "$lwb_pid" INT
fi
for c in memory:strict:0:"leasewired, in memory" relaxed:relaxed:1:"leasewired, LMDB relaxed" \
	 strict:strict:1:"leasewired, LMDB strict"; do
	IFS=: read -r key dur store t <<< "$c"
	want "$key" || continue
	lwb_start_leasewired "$key" "$dur" "$store"
	search "$key" "$t" vhost "$lwb_pid"
	lwb_stop "$lwb_pid" TERM
done
if want kea; then run_kea; fi
if want isc; then run_isc; fi
if want reflect-afp; then run_reflect_afp; fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
"$py" -c 'import json,sys; json.dump({"title": sys.argv[2], "timeout_ms": 1000,
	"notes": sys.argv[3:]}, open(sys.argv[1], "w"), indent=1)' "$work/run.json" "$title" \
	"placement: generator on CPU $gen_cpu, server on CPU $srv_cpu (Kea/dhcpd by taskset);" \
	"leasewired's control lcore and committer share CPU $gen_cpu with the generator." \
	"load average at start $load_start, at end $load_end (1/5/15 min; other work on the" \
	"machine shares these CPUs). Kea: memfile persist, lfc-interval 0, MT thread pool auto" \
	"(2), queue 64, raw sockets. ISC dhcpd: ping-check false, lease file on disk." \
	"leasewired and the reflect ceiling over vhost-user; Kea, dhcpd over net_af_packet/veth."
mkdir -p "$out/raw"
"$py" "$here/compare.py" report "$work" "$out"
# The generator's own JSON per step and the server logs, for the record.
cp -r "$work"/case-* "$work"/*.log "$work"/*.out "$out/raw/" 2>/dev/null || true
