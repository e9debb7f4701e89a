#!/bin/bash
# Install what leasewire needs from Debian 12's packages, reserve hugepages, and build.
#   scripts/setup.sh [BUILD_DIR [meson options...]]
# Idempotent: re-running only rebuilds what changed. Needs root for apt-get and hugepages.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	gcc clang libclang-rt-14-dev clang-tidy cppcheck pkg-config meson ninja-build
	dpdk dpdk-dev libdpdk-dev liburcu-dev liblmdb-dev lmdb-utils libjemalloc-dev
	libjansson-dev libcmocka-dev
	iproute2 ethtool procps isc-dhcp-client isc-dhcp-server kea-admin python3-scapy tshark
	kea-dhcp4-server gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# kea-dhcp4-server and isc-dhcp-server are only run by bench/compare.sh, in namespaces it
# makes. Debian's postinst may start them on a systemd host (Kea's stock config binds no
# interface, but nothing of them may run beside the tests): stop and disable both.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	for s in kea-dhcp4-server isc-dhcp-server; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi

# 2 MiB hugepages for EAL --in-memory (no hugetlbfs mount needed). Without them leasewired
# falls back to --no-huge, which works but moves mbufs ~3x slower.
if [ -w /proc/sys/vm/nr_hugepages ] && [ "$(cat /proc/sys/vm/nr_hugepages)" -lt 256 ]; then
	echo 256 > /proc/sys/vm/nr_hugepages || true
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$@"
fi
ninja -C "$build"
