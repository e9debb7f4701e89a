#!/bin/bash
# Install, build and run every test. This is the README's test command and what CI runs.
#
#   1. gcc build (-Werror):           unit, fuzz-replay, golden, end-to-end and lint suites
#                                     (not `soak`, the 10-minute chaos run: meson test --suite soak,
#                                     nor `long`, the realistic-timer forms of e2e-fo-isc and
#                                     e2e-fo-pair, whose short forms are in e2e: --long adds them)
#                                     (lint: cppcheck and clang-tidy, scripts/lint.sh; the
#                                     slow clang-analyzer pass is on demand: lint.sh build deep)
#   2. gcc ASan+UBSan build:          the same suites again (bad input must never crash,
#                                     over-read or leak, in the daemon as in the codecs)
#   3. clang build (-Werror):         unit suite (the fuzz harnesses also build for libFuzzer)
#
#   scripts/test.sh [--long]          --long: the `long` suite too, in builds 1 and 2 (~+8 min)
#
# Ends with one line "N passed, N failed" over all runs and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

skip=(--no-suite soak --no-suite long)
case "${1:-}" in
--long) skip=(--no-suite soak) ;;
"") ;;
*) echo "usage: scripts/test.sh [--long]" >&2; exit 2 ;;
esac

total_ok=0
total_fail=0
status=0

# run_suite BUILD_DIR ARGS...: meson test, then add its counts to the totals.
run_suite() {
	local dir=$1
	shift
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
	local rc=$?
	local log="$dir/meson-logs/testlog.json"
	if [ -f "$log" ]; then
		local counts
		counts=$(/usr/bin/python3 - "$log" <<'PY'
import json, sys
ok = fail = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r == "OK":
        ok += 1
    elif r != "SKIP":
        fail += 1
print(ok, fail)
PY
)
		total_ok=$((total_ok + ${counts% *}))
		total_fail=$((total_fail + ${counts#* }))
	fi
	[ $rc -eq 0 ] || status=1
}

step() { echo; echo "=== $* ==="; }

step "install and build (gcc)"
./scripts/setup.sh build -Dwerror=true || exit 1

step "build (gcc, ASan+UBSan)"
./scripts/setup.sh build-asan -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug -Dmalloc=libc || exit 1

step "build (clang)"
# meson puts ccache in front of the compiler it finds itself, not of one named by CC: without
# it here the clang build compiled everything again on every run (28 s of CI-D's 41 s of
# builds, with the cache warm for gcc).
clang_cc=clang
command -v ccache >/dev/null && clang_cc="ccache clang"
CC="$clang_cc" ./scripts/setup.sh build-clang -Dwerror=true -Dfuzz=true || exit 1

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

step "tests (gcc)"
run_suite build "${skip[@]}"
step "tests (ASan+UBSan)"
run_suite build-asan "${skip[@]}"
step "tests (clang)"
run_suite build-clang --suite unit

echo
echo "${total_ok} passed, ${total_fail} failed"
exit $status
