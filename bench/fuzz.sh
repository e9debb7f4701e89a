#!/bin/sh
# bench/fuzz.sh HARNESS|all SECONDS [BUILD_DIR]: run a libFuzzer harness of tests/fuzz/ for
# SECONDS under clang ASan+UBSan (aborting on the first UBSan report), niced, and print its
# executions, time and executions per second.
#
# The build directory (default build-fuzz/ in the source tree) is set up on first use with
# clang and -Dfuzz=true. The harness starts from its committed corpus
# (tests/fuzz/corpus/HARNESS/) and grows a working corpus in BUILD_DIR/fuzz-work/HARNESS/;
# crashes land in BUILD_DIR/fuzz-work/HARNESS/artifacts/. A crash found is a reproducer to
# fix and then commit into tests/fuzz/corpus/HARNESS/ (meson test suite fuzz replays it).
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS="-runs=10000000").
#
# Harnesses: dhcp4 fo_msg ctl config mgmt_proto (parsers); engine_seq fo_seq ctl_seq
# (sequences). "all" runs each in turn, SECONDS each.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 HARNESS|all SECONDS [BUILD_DIR]" >&2
	exit 2
fi
harness=$1
secs=$2
src=$(cd "$(dirname "$0")/.." && pwd)
build=${3:-$src/build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Dfuzz=true -Dbench=false -Dmalloc=libc
fi

run_one() {
	h=$1
	work=$build/fuzz-work/$h
	mkdir -p "$work/corpus" "$work/artifacts"
	ninja -C "$build" "tests/fuzz_$h" >/dev/null
	start=$(date +%s)
	set +e
	# shellcheck disable=SC2086
	nice -n 19 "$build/tests/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} \
		"$work/corpus" "$src/tests/fuzz/corpus/$h" >"$work/log" 2>&1
	rc=$?
	set -e
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
	echo "$h: rc=$rc execs=${execs:-?} seconds=$((end - start))" \
	     "execs/s=$(( ${execs:-0} / (end - start > 0 ? end - start : 1) ))" \
	     "log=$work/log"
	if [ "$rc" -ne 0 ]; then
		grep -E '^(SUMMARY|==[0-9]+==ERROR|.*runtime error|fuzz_[a-z_]+:)' "$work/log" | head -5
		ls "$work/artifacts"
	fi
	return "$rc"
}

if [ "$harness" = all ]; then
	status=0
	for h in dhcp4 fo_msg ctl config mgmt_proto engine_seq fo_seq ctl_seq; do
		run_one "$h" || status=1
	done
	exit "$status"
fi
run_one "$harness"
