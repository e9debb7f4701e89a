#!/bin/bash
# leasewire-bench against leasewired over vhost-user <-> virtio_user, in one session:
#
#   1. reflect   leasewire-bench --mode reflect on the server's CPU: the transport's ceiling
#   2. memory    leasewired, no store (bindings in memory only)
#   3. relaxed   leasewired, LMDB store, "durability": "relaxed" (no fsync)
#   4. strict    leasewired, LMDB store, "durability": "strict" (ACK only once durable)
#   5. half rate in memory and strict again, open loop (--rate) at half of what each did flat
#                out: the latency targets (p99 DISCOVER->OFFER < 50 us in memory, p99
#                REQUEST->durable ACK < 2 ms strict) are stated at half the maximum rate
#   6. reflect   the ceiling again: if it moved, the machine's load moved under the run
#
# and prints one table: DORA/s, each as a fraction of the ceiling (the mean of the two reflect
# runs), latency percentiles, losses, and on which CPU each process ran. Full DORA from a
# population of distinct clients (flat out, a bounded window of sessions in flight).
#
#   bench/lwbench.sh [--full] [--build DIR] [--seconds S] [--clients N] [--window W]
#                    [--idle-polls K] [--idle-sleep-us U] [--csum-offload] [--disk-rest S]
#                    [--perf CASES]
#
# Short mode (default) runs each case for 4 s (about 35-45 s in all); --full for 20 s each.
# Placement: leasewired's worker lcore (and the reflector) on the last CPU, leasewired's
# control lcore and the generator on the first; the committer thread shares the first CPU
# too (what a 2-core machine allows). Both DPDK processes use --in-memory (hugepages, no
# files), --single-file-segments (virtio_user needs it) and a --file-prefix of their own.
# Needs root and ~150 free 2 MiB hugepages. Everything happens in a temp dir on disk
# (LWBENCH_TMP, default /var/tmp: strict durability must fsync a real disk, not tmpfs).
# Figures on a shared VM swing by tens of percent between runs: compare within one run.
#
# The generator's idle back-off (--idle-polls, --idle-sleep-us; leasewire-bench --help): after
# K empty polls in a row (nothing received, nothing to send) it gives CPU 0 away once
# (sched_yield when U is 0, else a sleep of U us), so that leasewired's committer, which shares
# that CPU, gets what the generator does not need. Default: leasewire-bench's (K = 64,
# sched_yield); --idle-polls 0 busy-polls as before. Every case of a run, the two reflect
# ceilings included, uses the same setting, and the header and the table say which.
#
# Checksums (--csum-offload; leasewire-bench --help): with it the generator sends every
# request with its UDP checksum left to virtio_user (a partial checksum, which leasewired's
# net_vhost port marks L4 NONE and leasewired takes without summing) and accepts partial
# ones back; the reflector does the same with its replies, so both ceilings run with it
# too. With it virtio_user negotiates VIRTIO_NET_F_GUEST_CSUM, and leasewired then leaves
# its replies' sums to net_vhost too, which passes them on partial (port.c; without
# GUEST_CSUM that PMD would sum them in software itself, which cost the worker more than
# its own sum, so leasewired sums them then). Without it (the default) every request and
# reply carries a full checksum, which leasewired sums: the figures earlier runs took.
# A leasewired older than
# the checksum offloads (46044ea and before) drops partial checksums as bad_udp_csum, so a
# before/after run against one (LWBENCH_LEASEWIRED) must not give --csum-offload. The header
# and the table say which setting ran.
# The disk (--disk-rest S, default 30): this VM's disk gives ~8 000 pwrite+fdatasync rounds a
# second at ~0.1 ms for a few seconds, then slow spells where nearly every flush takes 4 ms (an
# I/O credit under the virtual disk: doc/durable-path.md "The disk's slow spells"), and one
# strict case at full rate empties it, and so can a fresh store's 64 MiB of zeros written
# ahead at start. Before each strict case, once leasewired is ready, the script probes the
# disk (leasewire-store-bench --flush, 64 rounds) and waits, at most S s, for a flush p50
# under 1 ms; --disk-rest 0 does not wait. Every probe is printed after the table.
# Profiles (--perf CASES, a comma-separated list of case names: reflect, memory, relaxed,
# strict, memory_half, strict_half, reflect2): during each named case `perf record -C` samples
# both CPUs (cpu-clock, 999 Hz, no call graphs: this VM has no PMU), and after the table the
# script prints each CPU's share by thread and the top symbols of each busy thread. What it
# shows: what shares a CPU with what, and where the time of each thread goes. It costs the
# case a few percent: compare profiled cases with each other, not with unprofiled runs.
# After the table: the committer's own figures from leasewired's log at its stop (changes,
# batches, CPU per change; strict: the journal's applier too), and the disk's flush latency
# measured right before and after each strict case (leasewire-store-bench --flush).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
secs=4
disk_rest=30
idle=()
csum=()
perf_cases=
prog=lwbench.sh
# shellcheck source=bench/lib/common.sh
. "$here/lib/common.sh"
while [ $# -gt 0 ]; do
	case $1 in
	--full) secs=20 ;;
	--build) build=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--disk-rest) disk_rest=$2; shift ;;
	--clients) lwb_clients=$2; shift ;;
	--window) lwb_window=$2; shift ;;
	--idle-polls) idle+=(--idle-polls "$2"); shift ;;
	--idle-sleep-us) idle+=(--idle-sleep-us "$2"); shift ;;
	--csum-offload) csum=(--csum-offload) ;;
	--perf) perf_cases=,$2,; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "lwbench.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
lwb_check_clients
if [ -n "$perf_cases" ] && ! command -v perf > /dev/null; then
	echo "lwbench.sh: --perf needs perf (apt-get install linux-perf)" >&2
	exit 2
fi
# The generator's virtio rings hold the window: 256 descriptors (virtio_user's default) up to
# a window of 224, else the next power of two above window + 32, at most 1 024 (virtio_user's
# largest; compare.sh's open-loop steps use 1 024 too). With more in flight than its ring holds
# the transport itself drops frames, and even the reflect ceiling retransmits.
if [ "$lwb_window" -gt 992 ]; then
	echo "lwbench.sh: --window at most 992 (a 1024-descriptor virtio ring)" >&2
	exit 2
fi
if [ "$lwb_window" -gt 224 ]; then
	qs=512
	[ "$lwb_window" -gt 480 ] && qs=1024
	lwb_vhost_devargs=,queue_size=$qs
fi
lwb_workdir lwbench
lwb_init 150
lwb_gen_timeout=$((secs + 60))
lwb_reflect_args=("${csum[@]}")

# run_gen NAME [CEILING [ARGS...]]: the generator on the first CPU against whatever serves
# $sock; ARGS go to leasewire-bench (--rate R for the half-rate cases).
run_gen() {
	local name=$1 ceiling=${2:-0} perf_pid=
	shift $(($# < 2 ? $# : 2))
	if [[ $perf_cases == *,$name,* ]]; then
		perf record -q -F 999 -C "$gen_cpu,$srv_cpu" -o "$work/$name.perf" \
			-- sleep "$((secs + 1))" > "$work/$name.perf.log" 2>&1 &
		perf_pid=$!
	fi
	lwb_gen_dora "$name" "$secs" --ceiling "$ceiling" "${idle[@]}" "${csum[@]}" "$@"
	[ -z "$perf_pid" ] || wait "$perf_pid" || echo "$prog: perf record failed ($name)" >&2
}

# perf_summary NAME: each CPU's samples by thread, then the top symbols of each thread that
# had 5 % of the samples or more (share of that thread's own samples).
perf_summary() {
	local f=$work/$1.perf comm
	[ -s "$f" ] || return 0
	echo "profile of $1 (perf record -C $gen_cpu,$srv_cpu, cpu-clock 999 Hz), samples by CPU and thread:"
	perf report -i "$f" --stdio --sort cpu,comm --percent-limit 1 2>/dev/null |
		grep -E '^ +[0-9]' | sed 's/^/  /'
	perf report -i "$f" --stdio --sort comm --percent-limit 5 2>/dev/null |
		awk '/^ +[0-9]/ {print $2}' | while read -r comm; do
		echo "  $comm, its own samples:"
		perf report -i "$f" --stdio --comms "$comm" --sort dso,sym --percentage relative \
			--percent-limit 1.5 2>/dev/null | grep -E '^ +[0-9]' | head -15 | sed 's/^/    /'
	done
}

dora_rate() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dora_per_s"])' "$1"
}

run_reflect() {	# run_reflect NAME
	lwb_start_reflect "$1"
	run_gen "$1"
	lwb_stop "$lwb_pid" INT
}

# run_server NAME DURABILITY STORE(0|1) CEILING [ARGS...]
run_server() {
	lwb_start_leasewired "$1" "$2" "$3"
	# A fresh store writes its data files' zeros ahead at start (64 MiB, store.h
	# "Prefilled data files"): the disk is probed, and waited for, after that.
	case $1 in
	strict*) disk_settle "before $1 (leasewired started)" ;;
	esac
	lwb_sched "$lwb_pid" > "$work/$1.sched0"
	cat "$diskstat" > "$work/$1.disk0" 2>/dev/null || true
	date +%s.%N > "$work/$1.schedt"
	run_gen "$1" "$4" "${@:5}"
	lwb_sched "$lwb_pid" > "$work/$1.sched1"
	cat "$diskstat" > "$work/$1.disk1" 2>/dev/null || true
	date +%s.%N >> "$work/$1.schedt"
	lwb_stop "$lwb_pid" TERM
	if [ "$3" = 1 ]; then
		grep -E "info (store: [0-9]+ changes|committer: per change|store: journal applied|store: prefill)" \
			"$work/$1.srv.log" | sed "s/^[^ ]* info /$1: /" >> "$work/committer.txt"
	fi
}

# The block device under $work: its I/O counters (Documentation/block/stat.rst) around each
# server case say what the whole machine asked of the disk meanwhile (writes, flushes).
# A partition's stat counts no flushes (the kernel accounts them on the whole disk): read the
# disk's. Found from $work's device number, so /dev/root or a mapper name works too.
diskstat=$(readlink -f "/sys/dev/block/$(stat -c '%Hd:%Ld' "$work")")
[ -e "$diskstat/partition" ] && diskstat=$(dirname "$diskstat")
diskstat=$diskstat/stat

# disk_probe WHEN: the disk's flush latency right now (leasewire-store-bench --flush: 64
# pwrite + fdatasync rounds in $work, a few ms in all), so that every strict figure comes with
# the state of the disk it ran on (fast: ~0.1 ms a flush; slow spells: ~4 ms, whoever writes).
# disk_settle (below) calls it once leasewired has started, before the generator.
disk_probe() {
	local line
	line=$("$build/bench/leasewire-store-bench" --flush "$work" 64 2>&1) || true
	echo "$1: $line" >> "$work/disk.txt"
	disk_p50=$(echo "$line" | sed -n 's/.* p50 \([0-9]*\) us.*/\1/p')
}

# disk_settle WHEN: before a strict case, wait (at most $disk_rest s, probing every 3 s) until
# the disk is out of a slow spell (a flush p50 under 1 ms), so that a strict figure says what
# leasewired does on this disk, not what the previous case or another tenant left of its I/O
# credit. What it waited, and the disk's state when it gave up, are in the disk lines.
disk_settle() {
	local t0=$SECONDS
	disk_probe "$1"
	while [ "${disk_p50:-0}" -ge 1000 ] && [ $((SECONDS - t0)) -lt "$disk_rest" ]; do
		sleep 3
		disk_probe "$1, after $((SECONDS - t0)) s"
	done
}

echo "lwbench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), CPUs ${cpus[*]}," \
     "$secs s per case, $lwb_clients clients, window $lwb_window (virtio ring ${qs:-256}), full DORA over vhost-user"
echo "lwbench: generator (virtio_user) lcore 0 on CPU $gen_cpu;" \
     "server side (net_vhost: reflector, or leasewired's worker lcore 1) on CPU $srv_cpu;" \
     "leasewired's control lcore 0 and committer on CPU $gen_cpu"
echo "lwbench: generator idle setting: ${idle[*]:-the leasewire-bench default, --idle-polls 64 with sched_yield}"
if [ ${#csum[@]} -gt 0 ]; then
	csum_desc="UDP checksums left to the ports both ways"
	csum_desc+=" (--csum-offload: partial checksums over vhost)"
else
	csum_desc="UDP checksums in full in every request and reflected reply (no --csum-offload)"
fi
echo "lwbench: $csum_desc, the same in every case"
run_reflect reflect
ceiling=$(dora_rate "$work/reflect.json")
run_server memory strict 0 "$ceiling"
run_server relaxed relaxed 1 "$ceiling"
run_server strict strict 1 "$ceiling"
disk_probe "after strict"
# The latency targets are at half the maximum rate: in memory and strict again, open loop at
# half of what each did flat out above.
half_mem=$(( $(dora_rate "$work/memory.json" | cut -d. -f1) / 2 ))
half_strict=$(( $(dora_rate "$work/strict.json" | cut -d. -f1) / 2 ))
run_server memory_half strict 0 "$ceiling" --rate "$((half_mem > 0 ? half_mem : 1))"
run_server strict_half strict 1 "$ceiling" --rate "$((half_strict > 0 ? half_strict : 1))"
disk_probe "after strict_half"
run_reflect reflect2
idle_desc=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
k, u = d.get("idle_polls", 0), d.get("idle_sleep_us", 0)
print("busy-poll (no idle back-off)" if k == 0 else "idle back-off after %d empty polls: %s"
      % (k, "sched_yield" if u == 0 else "sleep %d us" % u))' "$work/reflect.json")
echo "lwbench: generator $idle_desc, the same in every case"
echo "lwbench: $csum_desc"

/usr/bin/python3 - "$work" "$gen_cpu" "$srv_cpu" <<'PY'
import json, sys
work, gcpu, scpu = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [("reflect", "reflect (ceiling), first"), ("memory", "leasewired, in memory"),
        ("relaxed", "leasewired, LMDB relaxed"), ("strict", "leasewired, LMDB strict"),
        ("memory_half", "in memory, half rate"), ("strict_half", "strict, half rate"),
        ("reflect2", "reflect (ceiling), last")]
r1 = json.load(open("%s/reflect.json" % work))["dora_per_s"]
r2 = json.load(open("%s/reflect2.json" % work))["dora_per_s"]
ceil = (r1 + r2) / 2
print()
print("%-26s %11s %8s %19s %19s %8s %8s %9s %9s" % (
    "case", "DORA/s", "ceiling", "D->O p50/p99 us", "R->A p50/p99 us", "timeout",
    "retrans", "gen cpu", "srv cpu"))
for key, title in rows:
    s = json.load(open("%s/%s.json" % (work, key)))
    lat = s["latency_us"]
    print("%-26s %11.0f %7.1f%% %9.1f/%-9.1f %9.1f/%-9.1f %8d %8d %9s %9s" % (
        title, s["dora_per_s"], 100.0 * s["dora_per_s"] / ceil if ceil else 0,
        lat["discover_offer"]["p50"], lat["discover_offer"]["p99"],
        lat["request_ack"]["p50"], lat["request_ack"]["p99"], s["timeouts"],
        s["retransmits"], "%d/lc%d" % (s["cpu"], s["lcore"]), scpu))
print("ceiling = mean of the two reflect runs, %.0f and %.0f DORA/s (%+.0f %% drift during the run)"
      % (r1, r2, 100.0 * (r2 - r1) / r1 if r1 else 0))
mh = json.load(open("%s/memory_half.json" % work))
sh = json.load(open("%s/strict_half.json" % work))
do99 = mh["latency_us"]["discover_offer"]["p99"]
ra99 = sh["latency_us"]["request_ack"]["p99"]
print("half rate (open loop at half of each case's flat-out rate): in memory p99 D->O %.1f us "
      "(target < 50: %s); strict p99 R->durable A %.1f us (target < 2000: %s)"
      % (do99, "met" if do99 < 50 else "missed", ra99, "met" if ra99 < 2000 else "missed"))
# What the machine took from leasewired's worker, committer and applier while each case ran
# (schedstat of each thread, from before the generator started to after it stopped): time
# runnable but not running, because another task had its CPU (the worker's is the last, the
# committer's and applier's the first, shared with the generator). Tens of ms a second make
# the p99 of that case; a committer that waits for its CPU holds every parked ACK.
def sched(key):
    try:
        t0, t1 = (float(x) for x in open("%s/%s.schedt" % (work, key)).read().split())
        snap = []
        for f in ("sched0", "sched1"):
            d = {}
            for line in open("%s/%s.%s" % (work, key, f)):
                p = line.split()
                d[p[0]] = (p[1], int(p[2]), int(p[3]), int(p[4]))
            snap.append(d)
    except (OSError, ValueError):
        return None
    out = {}
    for tid, (comm, run1, wait1, sl1) in snap[1].items():
        if comm.startswith(("rte-worker", "lcore-worker")):
            who = "worker"
        elif comm in ("lw-committer", "lw-applier"):
            who = comm[3:]
        else:
            continue
        _, run0, wait0, sl0 = snap[0].get(tid, (comm, 0, 0, 0))
        s = t1 - t0
        out[who] = ((run1 - run0) / 1e6 / s, (wait1 - wait0) / 1e6 / s)
    return out
for who, cpu in (("worker", scpu), ("committer", gcpu), ("applier", gcpu)):
    waits = []
    for key, title in rows:
        w = (sched(key) or {}).get(who)
        if w:
            waits.append("%s %.0f/%.0f" % (key, w[0], w[1]))
    if waits:
        print("leasewired's %s (CPU %s), ms a second on its CPU / waiting for it: %s"
              % (who, cpu, ", ".join(waits)))
# The disk under the durable cases: I/O the whole machine completed while each ran (fields 5,
# 7 and 16 of the block device's stat: writes, sectors written, flushes).
def disk(key):
    try:
        t0, t1 = (float(x) for x in open("%s/%s.schedt" % (work, key)).read().split())
        a, b = ([int(x) for x in open("%s/%s.%s" % (work, key, f)).read().split()]
                for f in ("disk0", "disk1"))
    except (OSError, ValueError):
        return None
    if len(a) < 17 or len(b) < 17 or t1 <= t0:
        return None
    s = t1 - t0
    return (b[4] - a[4]) / s, (b[6] - a[6]) * 512 / s / 2**20, (b[15] - a[15]) / s
ds = []
for key in ("memory", "relaxed", "strict", "memory_half", "strict_half"):
    d = disk(key)
    if d:
        ds.append("%s %.0f writes/s (%.1f MiB/s), %.0f flushes/s" % (key, d[0], d[1], d[2]))
if ds:
    print("disk (the whole machine's, while each case ran): " + "; ".join(ds))
mem = json.load(open("%s/memory.json" % work))["dora_per_s"]
for key in ("relaxed", "strict"):
    v = json.load(open("%s/%s.json" % (work, key)))["dora_per_s"]
    print("%s = %.1f %% of in memory" % (key, 100.0 * v / mem if mem else 0), end="; " if key == "relaxed" else "\n")
PY
echo "generator: $idle_desc; $csum_desc"
cat "$work/committer.txt" 2>/dev/null || true
echo "disk (leasewire-store-bench --flush in $work):"
sed 's/^/  /' "$work/disk.txt" 2>/dev/null || true
for c in reflect memory relaxed strict memory_half strict_half reflect2; do
	perf_summary "$c"
done
