#!/bin/bash
# Two leasewired binaries, in memory, flat out, alternating: the figure that tells two builds
# apart on a shared VM, where one lwbench.sh run of each does not (doc/performance.md "The
# merged main on a quiet machine, late evening": five runs of each spread 545-947 k DORA/s).
#
#   bench/abmem.sh [--pairs N] [--seconds S] [--build DIR] [--csum-offload] A_LEASEWIRED B_LEASEWIRED
#
# Each pair: the reflect ceiling, then A and B (the order swapped every other pair, so that a
# drift of the machine does not favour one), each against the same generator (the build's
# leasewire-bench) for S seconds (default 4), 100 000 clients, window 224, generator on the
# first CPU, leasewired's worker on the last (bench/lib/common.sh). Prints one line a pair,
# then the medians, A/B pair by pair (its median, min and max) and each as a share of its
# pair's ceiling. Default 8 pairs, about 3.5 minutes. Needs root and 150 free hugepages.
# --csum-offload goes to every generator and the reflector (leasewire-bench --help): UDP sums
# left to the ports both ways, the generator negotiating VIRTIO_NET_F_GUEST_CSUM, so that a
# leasewired that offloads its replies' sums passes them to it partial. Both builds must
# take partial checksums on RX (46044ea and before drop them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
secs=4
pairs=8
csum=()
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) pairs=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--build) build=$2; shift ;;
	--csum-offload) csum=(--csum-offload) ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "abmem.sh: unknown argument $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# = 2 ] || { echo "usage: bench/abmem.sh [--pairs N] [--seconds S] [--csum-offload] A_LEASEWIRED B_LEASEWIRED" >&2; exit 2; }
bin_a=$1
bin_b=$2
for b in "$bin_a" "$bin_b"; do
	[ -x "$b" ] || { echo "abmem.sh: $b is not an executable" >&2; exit 2; }
done
prog=abmem.sh
# shellcheck source=bench/lib/common.sh
. "$here/lib/common.sh"
lwb_workdir abmem
lwb_init 150
lwb_gen_timeout=$((secs + 60))
lwb_reflect_args=("${csum[@]}")

run_gen() {	# run_gen NAME
	lwb_gen_dora "$1" "$secs" "${csum[@]}"
}

echo "abmem: A $bin_a"
echo "abmem: B $bin_b"
echo "abmem: $pairs pairs, $secs s a case; generator on CPU $gen_cpu, leasewired's worker" \
     "(and the reflector) on CPU $srv_cpu, its control lcore on CPU $gen_cpu"
if [ ${#csum[@]} -gt 0 ]; then
	echo "abmem: --csum-offload: UDP checksums left to the ports both ways (GUEST_CSUM)"
else
	echo "abmem: UDP checksums in full both ways (no --csum-offload: no GUEST_CSUM)"
fi
for ((i = 1; i <= pairs; i++)); do
	lwb_start_reflect "r$i"
	run_gen "r$i"
	lwb_stop "$lwb_pid" INT
	order="a b"
	[ $((i % 2)) = 0 ] && order="b a"
	for v in $order; do
		if [ "$v" = a ]; then lwd=$bin_a; else lwd=$bin_b; fi
		lwb_start_leasewired "$v$i" strict 0
		run_gen "$v$i"
		lwb_stop "$lwb_pid" TERM
	done
	/usr/bin/python3 - "$work" "$i" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
w, i, load = sys.argv[1], sys.argv[2], sys.argv[3]
r = {k: json.load(open("%s/%s%s.json" % (w, k, i)))["dora_per_s"] for k in ("r", "a", "b")}
print("pair %s: ceiling %.0f, A %.0f (%.1f %%), B %.0f (%.1f %%), A/B %.3f, load %s" % (
    i, r["r"], r["a"], 100 * r["a"] / r["r"], r["b"], 100 * r["b"] / r["r"], r["a"] / r["b"], load))
PY
done
/usr/bin/python3 - "$work" "$pairs" <<'PY'
import json, statistics as st, sys
w, n = sys.argv[1], int(sys.argv[2])
get = lambda k, i: json.load(open("%s/%s%d.json" % (w, k, i)))["dora_per_s"]
r = [get("r", i) for i in range(1, n + 1)]
a = [get("a", i) for i in range(1, n + 1)]
b = [get("b", i) for i in range(1, n + 1)]
ratio = [x / y for x, y in zip(a, b)]
print("medians: ceiling %.0f, A %.0f, B %.0f DORA/s" % (st.median(r), st.median(a), st.median(b)))
print("A/B pair by pair: median %.3f (min %.3f, max %.3f); A ahead in %d of %d pairs" % (
    st.median(ratio), min(ratio), max(ratio), sum(x > 1 for x in ratio), n))
print("share of the pair's ceiling: A median %.1f %%, B median %.1f %%" % (
    100 * st.median([x / c for x, c in zip(a, r)]), 100 * st.median([x / c for x, c in zip(b, r)])))
PY
