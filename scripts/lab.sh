#!/bin/bash
# lab.sh: a pair of network namespaces joined by a veth, for leasewired and its clients.
#
#   lab.sh up   SRVNS CLINS [SRVIF CLIIF]   create both namespaces and the veth pair
#   lab.sh down SRVNS CLINS                 delete both namespaces (and with them the veth)
#
# SRVIF (default v-SRVNS) is the veth end in SRVNS, where leasewired's net_af_packet port
# attaches; CLIIF (default v-CLINS) is the client's end. Interface names are at most 15
# characters. The server end gets no IP address (the DPDK process owns it; with af_packet
# the kernel still sees every frame and would answer with ARP/ICMP of its own otherwise).
# IPv6 is disabled in both namespaces before the veth exists, so no ND/MLD noise reaches the
# server. The client end gets `ethtool -K tx off`: frames sent by kernel UDP sockets
# (perfdhcp) otherwise cross the veth with partial checksums and the server drops them as
# drop_udp_checksum.
#
# Needs root. `up` fails (and cleans up what it made) if either namespace already exists.
set -euo pipefail

usage() {
	echo "usage: $0 up SRVNS CLINS [SRVIF CLIIF] | down SRVNS CLINS" >&2
	exit 2
}

[ $# -ge 3 ] || usage
cmd=$1 SRVNS=$2 CLINS=$3
SRVIF=${4:-v-$SRVNS}
CLIIF=${5:-v-$CLINS}

down() {
	# Deleting a namespace destroys the veth end inside it, and so the pair.
	ip netns del "$SRVNS" 2>/dev/null || true
	ip netns del "$CLINS" 2>/dev/null || true
}

case "$cmd" in
up)
	for n in "$SRVIF" "$CLIIF"; do
		if [ ${#n} -gt 15 ]; then
			echo "$0: interface name '$n' is longer than 15 characters" >&2
			exit 2
		fi
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "$0: needs root (network namespaces)" >&2
		exit 1
	fi
	for ns in "$SRVNS" "$CLINS"; do
		if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
			echo "$0: namespace $ns already exists (run: $0 down $SRVNS $CLINS)" >&2
			exit 1
		fi
	done
	trap 'rc=$?; if [ $rc -ne 0 ]; then down; fi' EXIT
	for ns in "$SRVNS" "$CLINS"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# Before the veth is created: no IPv6 autoconf/ND/MLD on the test link.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add "$SRVIF" netns "$SRVNS" type veth peer name "$CLIIF" netns "$CLINS"
	ip -n "$SRVNS" link set "$SRVIF" up
	ip -n "$CLINS" link set "$CLIIF" up
	timeout 10 ip netns exec "$CLINS" ethtool -K "$CLIIF" tx off >/dev/null
	trap - EXIT
	;;
down)
	down
	;;
*)
	usage
	;;
esac
