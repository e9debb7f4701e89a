# lib.sh: shared helpers of the leasewire end-to-end tests. Source it, then call lw_init.
#
#   . "$(dirname "$0")/lib.sh"
#   lw_init NAME "$@"            # args: [LEASEWIRED [SRCDIR]]; root check, temp dir, EXIT trap
#   lw_lab_up SRVNS CLINS SRVIF CLIIF
#   lw_server_start NS CONFIG LOG [leasewired options]      -> $LW_SRV_PID, waits for "ready"
#   ...
#   lw_server_stop "$LW_SRV_PID" LOG                          -> "final" line in LOG
#   lw_counter LOG rx                                        -> value from the "final" line
#
# Rules every helper keeps: frames only inside namespaces the test made (all of them are
# deleted by the EXIT trap), every wait has a deadline, every external command runs under
# `timeout`, and only processes the test started are signalled, by PID.
# shellcheck shell=bash

LW_PY=/usr/bin/python3		# the python3 first on PATH has no scapy
LW_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LW_NAMESPACES=()
LW_PIDS=()
LW_LOGS=()
LW_T=
LW_NAME=
LW_START=$SECONDS

# --- messages and assertions ------------------------------------------------------------

lw_log() { echo "[$LW_NAME $(date +%T.%3N)] $*" >&2; }

lw_die() {
	echo "FAIL [$LW_NAME]: $*" >&2
	exit 1
}

# lw_check_eq WHAT ACTUAL EXPECTED
lw_check_eq() {
	if [ "$2" != "$3" ]; then
		lw_die "$1: expected '$3', got '$2'"
	fi
	lw_log "ok: $1 = $2"
}

# lw_check_ge WHAT ACTUAL MIN (integers)
lw_check_ge() {
	[[ "$2" =~ ^[0-9]+$ ]] || lw_die "$1: not a number: '$2'"
	if [ "$2" -lt "$3" ]; then
		lw_die "$1: expected >= $3, got $2"
	fi
	lw_log "ok: $1 = $2 (>= $3)"
}

# lw_check_le WHAT ACTUAL MAX (integers)
lw_check_le() {
	[[ "$2" =~ ^[0-9]+$ ]] || lw_die "$1: not a number: '$2'"
	if [ "$2" -gt "$3" ]; then
		lw_die "$1: expected <= $3, got $2"
	fi
	lw_log "ok: $1 = $2 (<= $3)"
}

# lw_ip_to_int A.B.C.D
lw_ip_to_int() {
	local IFS=. a b c d
	read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# lw_check_in_range WHAT IP FIRST LAST
lw_check_in_range() {
	[[ "$2" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || lw_die "$1: not an IPv4 address: '$2'"
	local v f l
	v=$(lw_ip_to_int "$2")
	f=$(lw_ip_to_int "$3")
	l=$(lw_ip_to_int "$4")
	if [ "$v" -lt "$f" ] || [ "$v" -gt "$l" ]; then
		lw_die "$1: $2 is not in $3 - $4"
	fi
	lw_log "ok: $1 = $2 (in $3 - $4)"
}

# --- set-up and teardown -----------------------------------------------------------------

# lw_init NAME [LEASEWIRED [SRCDIR]]: sets LEASEWIRED, LW_SRCDIR, LW_T and the EXIT trap.
lw_init() {
	LW_NAME=$1
	LW_SRCDIR=$(cd "${3:-$LW_E2E_DIR/../..}" && pwd)
	LEASEWIRED=${2:-$LW_SRCDIR/build/controlplane/leasewired}
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP [$LW_NAME]: needs root (network namespaces, AF_PACKET)" >&2
		exit 77
	fi
	[ -x "$LEASEWIRED" ] || lw_die "no leasewired executable at $LEASEWIRED"
	LW_T=$(mktemp -d "/tmp/lwt-$LW_NAME.XXXXXX")
	trap lw_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	lw_log "temp dir $LW_T, leasewired $LEASEWIRED"
}

# lw_require CMD...: skip (77) when a tool the test needs is missing.
lw_require() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
			echo "SKIP [$LW_NAME]: $c is not installed" >&2
			exit 77
		fi
	done
}

# lw_track_pid PID: the EXIT trap stops it (TERM, then KILL) if it still runs.
lw_track_pid() { LW_PIDS+=("$1"); }

# lw_track_log FILE: shown (tail) when the test fails.
lw_track_log() { LW_LOGS+=("$1"); }

# lw_stop_pid PID [DEADLINE_S]: SIGTERM, wait up to the deadline, then SIGKILL. Only PIDs
# this test started (children of this shell) are ever passed here. Sets LW_STOP_RC to the
# process's exit status (from `wait`).
LW_STOP_RC=
lw_stop_pid() {
	local pid=$1 deadline=$((SECONDS + ${2:-15}))
	if lw_is_our_child "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		while lw_is_our_child "$pid" && [ $SECONDS -lt $deadline ]; do
			sleep 0.1
		done
		if lw_is_our_child "$pid"; then
			lw_log "pid $pid ignored SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	LW_STOP_RC=$?
	lw_untrack_pid "$pid"
	return 0
}

# lw_is_our_child PID: PID runs and is a child of this shell (so never a reused PID).
lw_is_our_child() {
	[ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]
}

# lw_untrack_pid PID: once reaped, a PID may be reused by an unrelated process: forget it.
lw_untrack_pid() {
	local p keep=()
	for p in "${LW_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	LW_PIDS=("${keep[@]}")
}

lw_cleanup() {
	local rc=$? p f ns
	trap - EXIT INT TERM
	for p in "${LW_PIDS[@]}"; do
		lw_stop_pid "$p" 10
	done
	LW_PIDS=()
	for ns in "${LW_NAMESPACES[@]}"; do
		timeout 20 ip netns del "$ns" 2>/dev/null
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "${LW_LOGS[@]}"; do
			[ -f "$f" ] || continue
			echo "----- $f (last 40 lines) -----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ -n "$LW_T" ] && [ -d "$LW_T" ]; then
		if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "${LW_KEEP_FAILED:-}" ]; then
			echo "kept $LW_T" >&2
		else
			rm -rf "$LW_T"
		fi
	fi
	if [ $rc -eq 0 ]; then
		echo "PASS [$LW_NAME] in $((SECONDS - LW_START))s" >&2
	fi
	exit $rc
}

# lw_lab_up SRVNS CLINS SRVIF CLIIF: namespace pair + veth (scripts/lab.sh), torn down at exit.
lw_lab_up() {
	LW_NAMESPACES+=("$1" "$2")
	# A namespace left over by an earlier killed run of this same test: ours to delete.
	timeout 20 "$LW_SRCDIR/scripts/lab.sh" down "$1" "$2"
	timeout 30 "$LW_SRCDIR/scripts/lab.sh" up "$1" "$2" "$3" "$4" ||
		lw_die "lab.sh up $* failed"
}

# --- waiting -----------------------------------------------------------------------------

# lw_wait_until DEADLINE_S DESCRIPTION CMD...: poll CMD every 0.1 s until it succeeds.
lw_wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	while ! "$@"; do
		if [ $SECONDS -ge $deadline ]; then
			lw_die "timed out after ${secs}s waiting for: $what"
		fi
		sleep 0.1
	done
}

# --- the server --------------------------------------------------------------------------

LW_SRV_PID=

# lw_server_start NS CONFIG LOG [leasewired options, e.g. -r N, -- EAL args]
# Starts leasewired in NS and waits (60 s) for "leasewired ready". Sets LW_SRV_PID (the PID
# of the `timeout` wrapper, which passes SIGTERM on to leasewired).
lw_server_start() {
	local ns=$1 cfg=$2 log=$3
	shift 3
	timeout 10 "$LEASEWIRED" -t -c "$cfg" >/dev/null 2>"$log.check" ||
		lw_die "configuration $cfg rejected: $(cat "$log.check")"
	lw_track_log "$log"
	timeout -k 10 "${LW_SERVER_MAX:-280}" ip netns exec "$ns" "$LEASEWIRED" -c "$cfg" "$@" \
		>"$log" 2>&1 </dev/null &
	LW_SRV_PID=$!
	lw_track_pid "$LW_SRV_PID"
	local deadline=$((SECONDS + 60))
	while ! grep -q "leasewired ready" "$log"; do
		if ! kill -0 "$LW_SRV_PID" 2>/dev/null; then
			lw_die "leasewired exited before it was ready (see $log)"
		fi
		[ $SECONDS -lt $deadline ] || lw_die "leasewired not ready after 60 s"
		sleep 0.1
	done
	lw_log "leasewired ready (pid $LW_SRV_PID) in $ns"
}

# lw_server_stop PID LOG: SIGTERM, wait (30 s, then SIGKILL), require the "final" line.
lw_server_stop() {
	local pid=$1 log=$2
	lw_stop_pid "$pid" 30
	grep -q " final " "$log" || lw_die "no 'final' counters line in $log (crash?)"
	grep -q "leasewired stopped" "$log" || lw_die "no 'leasewired stopped' line in $log"
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault" "$log"; then
		lw_die "sanitizer report or crash in $log"
	fi
	[ "$LW_STOP_RC" = 0 ] || lw_die "leasewired exited with status $LW_STOP_RC"
	lw_log "$(grep ' final ' "$log" | tail -n 1)"
}

# lw_wait_server_exit PID LOG DEADLINE_S: for a server started with -r N.
lw_wait_server_exit() {
	local pid=$1 log=$2 secs=$3
	lw_wait_until "$secs" "leasewired (pid $pid) to stop by itself" \
		eval "! kill -0 $pid 2>/dev/null"
	lw_server_stop "$pid" "$log"
}

# lw_counter LOG NAME: NAME=value from the last "final" line (0 when a drop_* reason is
# absent: the server prints only the drop reasons that are not zero).
lw_counter() {
	local line v
	line=$(grep " final " "$1" | tail -n 1)
	[ -n "$line" ] || lw_die "no 'final' line in $1"
	v=$(tr ' ' '\n' <<<"$line" | sed -n "s/^$2=\([0-9]*\)\$/\1/p" | head -n 1)
	if [ -z "$v" ]; then
		case $2 in
		drop_*) v=0 ;;
		*) lw_die "counter $2 missing from: $line" ;;
		esac
	fi
	echo "$v"
}

# lw_live_counter LOG NAME: NAME from the newest "counters"/"final" line, or empty.
lw_live_counter() {
	grep -E " (counters|final) " "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=\([0-9]*\)\$/\1/p"
}

# --- dhclient ------------------------------------------------------------------------------

# lw_dhclient_setup DIR: DIR/dhclient.conf and DIR/script.sh. The script only appends the
# event's variables to DIR/events.log (one line per event) and puts the bound address on the
# interface (inside the client's namespace: dhclient runs there) so that renewals, which go
# by unicast through a normal socket, and pings work. It never touches /etc/resolv.conf or
# any file outside DIR.
lw_dhclient_setup() {
	local d=$1
	mkdir -p "$d"
	cat >"$d/dhclient.conf" <<'EOF'
timeout 30;
retry 1;
initial-interval 1;
backoff-cutoff 2;
request subnet-mask, routers, domain-name-servers, domain-name, dhcp-lease-time,
        dhcp-renewal-time, dhcp-rebinding-time, dhcp-server-identifier;
EOF
	cat >"$d/script.sh" <<EOF
#!/bin/sh
# leasewire e2e: log-only dhclient script (plus the address, inside the test namespace).
# One line per event: |var=value|var=value|... (values may hold spaces).
{ printf '|'; env | grep -E '^(reason|interface|new_|old_)' | sort | tr '\n' '|'; echo; } >>"$d/events.log"
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
	ip addr replace "\$new_ip_address/\$new_subnet_mask" dev "\$interface" ;;
RELEASE|EXPIRE|FAIL|STOP)
	[ -n "\$old_ip_address" ] && ip addr del "\$old_ip_address/\$old_subnet_mask" dev "\$interface" 2>/dev/null
	;;
esac
exit 0
EOF
	chmod +x "$d/script.sh"
	: >"$d/events.log"
}

LW_DHCLIENT_PID=

# lw_dhclient_start NS IFACE DIR: dhclient -d in the background (PID in LW_DHCLIENT_PID),
# private config, script, lease and pid files in DIR; output in DIR/dhclient.out.
lw_dhclient_start() {
	local ns=$1 ifc=$2 d=$3
	lw_track_log "$d/dhclient.out"
	timeout -k 5 "${LW_DHCLIENT_MAX:-200}" ip netns exec "$ns" dhclient -d -v \
		-cf "$d/dhclient.conf" -sf "$d/script.sh" -lf "$d/dhclient.leases" \
		-pf "$d/dhclient.pid" "$ifc" >>"$d/dhclient.out" 2>&1 </dev/null &
	LW_DHCLIENT_PID=$!
	lw_track_pid "$LW_DHCLIENT_PID"
}

# lw_dhclient_release NS IFACE DIR: `dhclient -r` with the same files: it stops the running
# dhclient of DIR (its pid file) and sends a DHCPRELEASE.
lw_dhclient_release() {
	local ns=$1 ifc=$2 d=$3
	timeout 60 ip netns exec "$ns" dhclient -r -v \
		-cf "$d/dhclient.conf" -sf "$d/script.sh" -lf "$d/dhclient.leases" \
		-pf "$d/dhclient.pid" "$ifc" >>"$d/dhclient.out" 2>&1 </dev/null ||
		lw_die "dhclient -r failed (rc $?)"
}

# lw_event_count DIR REASON
lw_event_count() {
	grep -c "|reason=$2|" "$1/events.log" || true
}

# lw_wait_event DIR REASON N DEADLINE_S: wait for the N-th event of that reason.
lw_wait_event() {
	local d=$1 reason=$2 n=$3 secs=$4
	local deadline=$((SECONDS + secs))
	while [ "$(lw_event_count "$d" "$reason")" -lt "$n" ]; do
		if [ $SECONDS -ge $deadline ]; then
			lw_die "timed out after ${secs}s waiting for dhclient event $reason #$n"
		fi
		sleep 0.1
	done
}

# lw_event_field DIR REASON N VAR: VAR of the N-th event of that reason.
lw_event_field() {
	grep "|reason=$2|" "$1/events.log" | sed -n "${3}p" | tr '|' '\n' |
		sed -n "s/^$4=//p" | head -n 1
}

# --- ICMP ----------------------------------------------------------------------------------

# lw_ping NS DST COUNT: ICMP echo through the kernel of NS (so it ARPs like ping would);
# iputils ping is not installed on the CI machines. Succeeds when every echo is answered.
lw_ping() {
	timeout 30 ip netns exec "$1" "$LW_PY" "$LW_E2E_DIR/ping.py" "$2" "$3"
}
