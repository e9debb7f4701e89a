#!/bin/bash
# compare.sh in a short form (the reflect ceiling and Kea, 1 s steps, ~30 s): the veth,
# namespaces, Kea and the generator's af_packet port work together, every output is
# written, and the namespaces are gone afterwards. Run under flock /tmp/lw-e2e.lock (meson
# suite e2e). Exit 77 (skipped) without root, hugepages or kea-dhcp4.
#   compare_smoke.sh BENCH_SRC_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v kea-dhcp4 >/dev/null || { echo "SKIP: kea-dhcp4 not installed"; exit 77; }
if [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -lt 150 ]; then
	echo "SKIP: fewer than 150 free hugepages"; exit 77
fi
out=$(mktemp -d /tmp/lwt-compare-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; cat "$out/log"; exit 1; }
bash "$src/compare.sh" --build "$build" --only reflect,kea --out "$out" > "$out/log" 2>&1 ||
	fail "compare.sh exited $?"
grep -q '^reflect (vhost-user, ceiling)' "$out/log" || fail "no reflect row"
grep -q '^Kea ' "$out/log" || fail "no Kea row"
# Kea answered through the veth: DORAs completed in its steps.
n=$(awk -F, '$1 == "kea" && $8 > 0' "$out/steps.csv" | wc -l)
[ "$n" -ge 2 ] || fail "fewer than 2 Kea steps with completed DORAs ($n)"
[ -s "$out/results.json" ] || fail "no results.json"
[ "$(head -c 4 "$out/offered-vs-completed.png" | tail -c 3)" = PNG ] || fail "no PNG"
ip netns list | grep -q '^lwcmp-' && fail "namespaces left behind"
pgrep -x kea-dhcp4 >/dev/null && fail "a kea-dhcp4 is still running"
echo "PASS: $(grep '^Kea ' "$out/log")"
