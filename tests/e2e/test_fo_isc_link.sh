#!/bin/bash
# e2e-fo-isc-link: failover/fo_link against a real ISC dhcpd 4.4.3 on a veth pair.
#
#   test_fo_isc_link.sh [FO_LINKPROBE [SRCDIR]]        (root; exit 77 = skipped)
#
# FO_LINKPROBE is tests/e2e/fo_linkprobe built by meson; when it is not given (or not
# executable) the script builds it with cc from SRCDIR (default: two levels above this file).
# Namespaces fol-isc-$$ (ISC, 198.18.7.2) and fol-lw-$$ (probe, 198.18.7.1).
#   A. ISC secondary, probe primary, name "iscfo": ISC answers CONNECTACK (no reject) with its
#      receive-timer 15 and max-unacked 10, then STATE; our decoder reads it.
#   B. Same ISC, probe primary with name "wrongname": ISC answers reject 8 with the message
#      "unknown failover relationship name".
#   C. ISC primary, probe secondary: we accept ISC's CONNECT (MCLT 60, HBA split 128), answer
#      CONNECTACK, ISC sends STATE, and ISC's log shows it took our STATE (no reject); the
#      link stays up 6 s more, with ISC's CONTACT (5 s = our receive-timer 15 / 3) decoded.
set -uo pipefail

SELF_DIR=$(cd "$(dirname "$0")" && pwd)
PROBE=${1:-}
SRCDIR=${2:-$SELF_DIR/../..}
NS_ISC=fol-isc-$$ NS_LW=fol-lw-$$ IF_ISC=fol-i$$ IF_LW=fol-l$$
IP_ISC=198.18.7.2 IP_LW=198.18.7.1
T=
ISC_PID=
FAILS=0

log() { echo "[fo-isc-link $(date +%T.%3N)] $*" >&2; }

cleanup() {
	local rc=$?

	trap - EXIT INT TERM
	if [ -n "$ISC_PID" ] && kill -0 "$ISC_PID" 2>/dev/null; then
		kill "$ISC_PID" 2>/dev/null
		wait "$ISC_PID" 2>/dev/null
	fi
	if [ -n "${PROBE_PID:-}" ] && kill -0 "$PROBE_PID" 2>/dev/null; then
		kill "$PROBE_PID" 2>/dev/null
		wait "$PROBE_PID" 2>/dev/null
	fi
	"$SRCDIR/scripts/lab.sh" down "$NS_ISC" "$NS_LW" >/dev/null 2>&1
	[ -n "$T" ] && rm -rf "$T"
	exit $rc
}

if [ "$(id -u)" -ne 0 ]; then
	echo "needs root (network namespaces); skipped" >&2
	exit 77
fi
if ! command -v dhcpd >/dev/null; then
	echo "no dhcpd (isc-dhcp-server); skipped" >&2
	exit 77
fi
T=$(mktemp -d /tmp/fo-isc-link.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$PROBE" ] || [ ! -x "$PROBE" ]; then
	PROBE=$T/fo_linkprobe
	cc -std=c11 -D_GNU_SOURCE -O1 -I "$SRCDIR/failover" "$SRCDIR/tests/e2e/fo_linkprobe.c" \
		"$SRCDIR/failover/fo_link.c" "$SRCDIR/failover/fo_msg.c" -o "$PROBE" || exit 1
fi

check() { # check DESCRIPTION COMMAND...
	if "${@:2}"; then
		log "PASS $1"
	else
		log "FAIL $1"
		FAILS=$((FAILS + 1))
	fi
}

"$SRCDIR/scripts/lab.sh" down "$NS_ISC" "$NS_LW"	# left by an earlier killed run: ours
"$SRCDIR/scripts/lab.sh" up "$NS_ISC" "$NS_LW" "$IF_ISC" "$IF_LW" || exit 1
ip -n "$NS_ISC" addr add $IP_ISC/24 dev "$IF_ISC"
ip -n "$NS_LW" addr add $IP_LW/24 dev "$IF_LW"

# conf ROLE: an ISC config as reference/isc-peer/conf/dhcp{1,2}.conf, on our addresses.
conf() {
	local role_lines

	if [ "$1" = primary ]; then
		role_lines="primary;
  mclt 60;
  split 128;"
	else
		role_lines="secondary;"
	fi
	cat <<EOF
authoritative;
ddns-update-style none;
ping-check false;
default-lease-time 120;
max-lease-time 300;
failover peer "iscfo" {
  $role_lines
  address $IP_ISC;
  port 647;
  peer address $IP_LW;
  peer port 647;
  max-response-delay 15;
  max-unacked-updates 10;
  load balance max seconds 3;
  auto-partner-down 20;
}
subnet 198.18.7.0 netmask 255.255.255.0 {
  pool {
    failover peer "iscfo";
    range 198.18.7.100 198.18.7.200;
  }
}
EOF
}

# start_isc ROLE: dhcpd in NS_ISC with a fresh lease file; waits (<= 5 s) until it listens.
start_isc() {
	conf "$1" >"$T/dhcpd-$1.conf"
	: >"$T/leases-$1"
	ip netns exec "$NS_ISC" dhcpd -4 -f -d -cf "$T/dhcpd-$1.conf" -lf "$T/leases-$1" \
		-pf "$T/dhcpd-$1.pid" "$IF_ISC" >"$T/isc-$1.log" 2>&1 &
	ISC_PID=$!
	for _ in $(seq 50); do
		if ip netns exec "$NS_ISC" ss -ltnH 'sport = :647' | grep -q 647; then
			return 0
		fi
		kill -0 "$ISC_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "dhcpd ($1) did not start listening:"
	cat "$T/isc-$1.log" >&2
	exit 1
}

stop_isc() {
	kill "$ISC_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$ISC_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$ISC_PID" 2>/dev/null
	wait "$ISC_PID" 2>/dev/null
	ISC_PID=
}

# probe NAME ROLE RELNAME TIMEOUT LINGER: runs the probe in NS_LW, output in $T/NAME.out.
probe() {
	timeout $(($4 + 5)) ip netns exec "$NS_LW" "$PROBE" "$2" $IP_LW $IP_ISC "$3" "$4" "$5" \
		>"$T/$1.out" 2>&1
	echo $? >"$T/$1.rc"
	log "probe $1 ($2, name $3) exit $(cat "$T/$1.rc"):"
	sed 's/^/    /' "$T/$1.out" >&2
}

has() { grep -qE -- "$2" "$T/$1"; }
lacks() { ! grep -qE -- "$2" "$T/$1"; }
rc_is() { [ "$(cat "$T/$1.rc")" = "$2" ]; }

# --- A + B: ISC secondary -----------------------------------------------------------------
start_isc secondary
probe a primary iscfo 10 1
check "A: probe exit 0 (UP, STATE received)" rc_is a 0
check "A: CONNECTACK accepted: UP with ISC's receive-timer 15, max-unacked 10" \
	has a.out '^UP partner_rt=15 partner_mu=10 .*vendor=isc-'
check "A: no reject" lacks a.out '^REJECTED'
check "A: ISC's STATE decoded" has a.out '^MSG STATE state=[0-9]+ flags=[01] stos=[0-9]+'

probe b primary wrongname 10 0
check "B: probe exit 3 (REJECTED)" rc_is b 3
check "B: ISC reject 8 'unknown failover relationship name'" \
	has b.out '^REJECTED local=0 reason=8 msg=unknown failover relationship name$'
check "B: ISC logged the unknown name" \
	has isc-secondary.log 'unknown failover relationship name'
stop_isc
log "ISC secondary log (failover lines):"
grep -iE 'failover|peer|CONNECT' "$T/isc-secondary.log" | sed 's/^/    /' >&2

# --- C: ISC primary, probe secondary -------------------------------------------------------
# The probe listens first; ISC connects to it as soon as it starts (and every 5 s).
timeout 25 ip netns exec "$NS_LW" "$PROBE" secondary $IP_LW $IP_ISC iscfo 20 6 \
	>"$T/c.out" 2>&1 &
PROBE_PID=$!
for _ in $(seq 50); do
	if ip netns exec "$NS_LW" ss -ltnH 'sport = :647' | grep -q 647; then
		break
	fi
	sleep 0.1
done
start_isc primary
wait "$PROBE_PID"
echo $? >"$T/c.rc"
PROBE_PID=
log "probe c (secondary) exit $(cat "$T/c.rc"):"
sed 's/^/    /' "$T/c.out" >&2
stop_isc
log "ISC primary log (failover lines):"
grep -iE 'failover|peer|CONNECT' "$T/isc-primary.log" | sed 's/^/    /' >&2
check "C: probe exit 0 (UP, STATE received, link kept 6 s)" rc_is c 0
check "C: ISC's CONTACT (every our receive-timer / 3 = 5 s) decoded" has c.out '^MSG CONTACT$'
check "C: the link stayed up" lacks c.out '^DOWN' 
check "C: we accepted ISC's CONNECT: MCLT 60, HBA split 128, receive-timer 15" \
	has c.out '^UP partner_rt=15 partner_mu=10 partner_mclt=60 hba=1 hba0=ff vendor=isc-'
check "C: ISC's STATE decoded" has c.out '^MSG STATE state=[0-9]+'
check "C: ISC took our STATE (peer moves ... to communications-interrupted)" \
	has isc-primary.log 'peer moves from .* to communications-interrupted'
check "C: ISC did not reject" lacks isc-primary.log 'rejected|reject reason|does not match'

if [ $FAILS -ne 0 ]; then
	log "$FAILS check(s) failed"
	exit 1
fi
log "all checks passed"
exit 0
