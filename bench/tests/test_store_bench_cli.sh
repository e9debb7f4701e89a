#!/bin/bash
# leasewire-store-bench's command line: options are options, and DIR is never removed.
# Before this test the bench took any first argument for its directory and ran `rm -rf` on
# it: `--help` made a directory named "--help", and a store's own directory given as DIR
# would have been wiped. Now DIR must exist and the bench works in lw-store-bench.XXXXXX
# inside it, which it removes, leaving everything else in DIR alone.
#   test_store_bench_cli.sh BUILD_DIR
set -u
bin="$(cd "$1" && pwd)/bench/leasewire-store-bench"
work=$(mktemp -d /tmp/lw-sbcli.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

check() {	# check NAME CONDITION...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name" >&2
	fi
}

# expect_rc WANT CMD...: CMD run in an empty cwd exits WANT and creates nothing there.
expect_rc() {
	local want=$1 rc
	shift
	mkdir "$work/cwd"
	(cd "$work/cwd" && timeout 60 "$@" >"$work/out" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || { echo "  rc $rc, want $want: $*" >&2; cat "$work/out" >&2; }
	[ -z "$(ls -A "$work/cwd")" ] || { echo "  left in cwd: $(ls -A "$work/cwd")" >&2; rc=x; }
	rm -rf "$work/cwd"
	[ "$rc" = "$want" ]
}

check "--help prints usage, exit 0" expect_rc 0 "$bin" --help
check "--help says usage" grep -q '^usage:' "$work/out"
check "-h" expect_rc 0 "$bin" -h
check "unknown option is a usage error" expect_rc 2 "$bin" --bogus
check "-rf is a usage error" expect_rc 2 "$bin" -rf /nonexistent
check "--apply without DIR" expect_rc 2 "$bin" --apply
check "--flush without DIR" expect_rc 2 "$bin" --flush
check "--cpu DIR with a bad seconds" expect_rc 2 "$bin" --cpu "$work" abc
check "--flush with COUNT 0" expect_rc 2 "$bin" --flush "$work" 0
check "too many arguments" expect_rc 2 "$bin" --cpu "$work" 1 2
check "DIR that does not exist" expect_rc 1 "$bin" --cpu "$work/none" 0.01

# DIR with something in it: the bench runs, and leaves DIR as it found it.
mkdir "$work/dir"
echo precious >"$work/dir/keep"
check "--cpu in DIR runs" expect_rc 0 "$bin" --cpu "$work/dir" 0.01
check "--cpu printed a relaxed line" grep -q '^relaxed  group' "$work/out"
check "default mode in DIR runs" expect_rc 0 "$bin" "$work/dir" 0.01
check "default mode printed a strict line" grep -q '^strict' "$work/out"
check "--flush in DIR runs" expect_rc 0 "$bin" --flush "$work/dir" 4
check "--flush printed its percentiles" grep -q 'p50 .* p99' "$work/out"
check "DIR's own file survives" grep -qx precious "$work/dir/keep"
check "nothing else left in DIR" test "$(ls -A "$work/dir")" = keep

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
