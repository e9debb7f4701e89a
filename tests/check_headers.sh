#!/bin/bash
# Every public header compiles on its own (DPDK's check_includes; STYLE.md, HEADERS).
#
#   check_headers.sh SRCDIR --pkgs PKG... --cc CC... --cflags FLAG...
#
# For each *.h under the project's code folders (found at run time, so a new header is
# checked without touching this script or meson), compile a translation unit that holds
# nothing but that header, included twice (the second time checks `#pragma once`), with the
# project's include folders, the given compiler and flags, and the pkg-config cflags of the
# given packages. -Werror: a header that warns under the project's flags fails too.
# Prints every failing header with the compiler's message; exits 1 if any failed.
set -uo pipefail

src=$1
shift
pkgs=() cc=() cflags=()
list=
for a in "$@"; do
	case "$a" in
	--pkgs | --cc | --cflags) list=${a#--} ;;
	*)
		case "$list" in
		pkgs) pkgs+=("$a") ;;
		cc) cc+=("$a") ;;
		cflags) cflags+=("$a") ;;
		*) echo "check_headers: unexpected argument $a" >&2; exit 2 ;;
		esac
		;;
	esac
done
if [ ${#cc[@]} -eq 0 ]; then
	echo "check_headers: no compiler given (--cc)" >&2
	exit 2
fi

# The folders whose headers are checked; client/ only once it exists.
dirs=()
for d in common dataplane lmdb-store failover controlplane client; do
	[ -d "$src/$d" ] && dirs+=("$src/$d")
done
incs=()
for d in "${dirs[@]}"; do
	incs+=("-I$d")
done
pkgflags=()
if [ ${#pkgs[@]} -gt 0 ]; then
	read -r -a pkgflags <<<"$(pkg-config --cflags "${pkgs[@]}")" || exit 2
fi

mapfile -t headers < <(find "${dirs[@]}" -name '*.h' -type f | sort)
if [ ${#headers[@]} -eq 0 ]; then
	echo "check_headers: no header found under $src" >&2
	exit 2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One compiler per header, as many at a time as there are CPUs.
jobs=$(nproc 2>/dev/null || echo 2)
i=0
for h in "${headers[@]}"; do
	printf '#include "%s"\n#include "%s"\n' "$h" "$h" |
		"${cc[@]}" "${cflags[@]}" "${pkgflags[@]}" "${incs[@]}" -Werror -fsyntax-only \
			-x c - >"$out/$i.log" 2>&1 || echo "$h" >"$out/$i.fail" &
	i=$((i + 1))
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
done
wait

failed=0
i=0
for h in "${headers[@]}"; do
	if [ -f "$out/$i.fail" ]; then
		echo "NOT SELF-CONTAINED: ${h#"$src"/}"
		sed 's/^/    /' "$out/$i.log"
		failed=$((failed + 1))
	fi
	i=$((i + 1))
done
echo "check_headers: ${#headers[@]} headers, $failed not self-contained"
[ "$failed" -eq 0 ]
