#!/bin/bash
# Static analysis of every C file of the project, from a build's compile_commands.json.
#
#   scripts/lint.sh BUILD_DIR cppcheck      cppcheck (warning, portability, performance; the
#                                           suppressions in scripts/lint/cppcheck.supp)
#   scripts/lint.sh BUILD_DIR clang-tidy    clang-tidy with .clang-tidy (bugprone-*, cert-*
#                                           minus the documented exclusions), 2 jobs
#   scripts/lint.sh BUILD_DIR deep          clang-tidy with clang-analyzer-* added: ~10 min on
#                                           2 cores, so on demand only (not in the test command)
#
# The first two are the meson tests lint-cppcheck and lint-clang-tidy (suite "lint", gcc
# build only), so scripts/test.sh runs and counts them. Exit status 0 = clean, 1 = findings
# (printed), 77 = the tool is not installed (meson: skipped).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: lint.sh BUILD_DIR cppcheck|clang-tidy|deep}" && pwd)
what=${2:?usage: lint.sh BUILD_DIR cppcheck|clang-tidy|deep}
db="$build/compile_commands.json"
jobs=${LINT_JOBS:-2}

[ -f "$db" ] || { echo "lint: no $db" >&2; exit 1; }

# The project's C files as the build compiles them (generated files and other trees aside).
files() {
	/usr/bin/python3 - "$db" "$src" <<'PY'
import json, os, sys
db, src = sys.argv[1], sys.argv[2]
seen = set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(src + "/") and "/build" not in f[len(src):] and f not in seen:
        seen.add(f)
        print(f)
PY
}

case "$what" in
cppcheck)
	command -v cppcheck >/dev/null || { echo "lint: cppcheck not installed" >&2; exit 77; }
	cbd=$(mktemp -d /tmp/lw-cppcheck.XXXXXX)
	trap 'rm -rf "$cbd"' EXIT
	# System headers are not read (cppcheck's advice): the few macros of theirs that shape
	# control flow come from scripts/lint/leasewire.cfg. The -D set is the one configuration
	# the build compiles (x86-64, little endian, gcc).
	out=$(cppcheck --project="$db" --file-filter="$src/*" -i "$build" \
		--enable=warning,portability,performance --std=c11 --platform=unix64 \
		--library="$src/scripts/lint/leasewire.cfg" \
		-D__x86_64__ -D__GNUC__=12 -D__BYTE_ORDER__=1234 -D__ORDER_LITTLE_ENDIAN__=1234 \
		-D__ORDER_BIG_ENDIAN__=4321 -D__linux__ -D__STDC__=1 -D__STDC_VERSION__=201112L \
		-DLW_SRCDIR='"."' \
		--suppressions-list="$src/scripts/lint/cppcheck.supp" --inline-suppr \
		--cppcheck-build-dir="$cbd" -j "$jobs" --quiet --error-exitcode=1 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out"
	echo "lint: cppcheck over $(files | wc -l) files: $([ $rc -eq 0 ] && echo clean || echo FINDINGS)"
	exit $rc
	;;
clang-tidy | deep)
	command -v clang-tidy >/dev/null || { echo "lint: clang-tidy not installed" >&2; exit 77; }
	extra=()
	if [ "$what" = deep ]; then
		extra=(--checks=clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling)
	fi
	# gcc's compile_commands.json: clang-tidy (clang 14) takes its flags; -Wno-unknown-warning-option
	# for the few gcc-only warning names.
	out=$(files | xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet "${extra[@]}" \
		--extra-arg=-Wno-unknown-warning-option 2>&1 |
		grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers')
	n=$(echo "$out" | grep -c -E ': (warning|error): ')
	[ -n "$out" ] && echo "$out"
	echo "lint: clang-tidy ($what) over $(files | wc -l) files: $n finding(s)"
	[ "$n" -eq 0 ]
	;;
*)
	echo "usage: lint.sh BUILD_DIR cppcheck|clang-tidy|deep" >&2
	exit 2
	;;
esac
