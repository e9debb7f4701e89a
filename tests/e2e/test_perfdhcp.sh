#!/bin/bash
# e2e-perfdhcp: perfdhcp (Kea) DORA load against leasewired, relayed.
#
#   test_perfdhcp.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# perfdhcp -4 acts as a relay: it sends from 198.18.0.2:67 with giaddr 198.18.0.2, so the
# server must pick the scope "relayed" (198.19.0.0/16, relay-addresses [198.18.0.2]) and
# answer to 198.18.0.2:67. About 2000 exchanges/s for 5 s over 5000 simulated clients.
#
# Checks (no speed is asserted):
#  - perfdhcp sent DISCOVERs and REQUESTs, and the server counted exactly that many of each
#    (nothing lost on the way in: no bad UDP checksums, no ring overflow);
#  - the server answered every one (offer == discover, ack == request, drops == 0);
#  - perfdhcp's drops for DISCOVER-OFFER and REQUEST-ACK are each <= 2 (the exchange still in
#    flight at the end), or else the excess is explained by UDP RcvbufErrors counted in the
#    client namespace during the run (perfdhcp's socket overflowed: not the server's fault);
#  - no malformed packets, no rejected leases;
#  - every address offered or acknowledged is in the relayed pool 198.19.0.10-198.19.255.250,
#    and there are at most 5000 distinct ones (a client that comes back gets its address).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init perfdhcp "$@"
lw_require perfdhcp taskset

SRV=lwt-perf-s CLI=lwt-perf-c SRVIF=lwt-perf-s0 CLIIF=lwt-perf-c0
RATE=2000 CLIENTS=5000 PERIOD=5

lw_lab_up $SRV $CLI $SRVIF $CLIIF
# perfdhcp -l needs an address on its interface: it is the relay address (giaddr).
timeout 10 ip -n $CLI addr add 198.18.0.2/24 dev $CLIIF || lw_die "cannot add 198.18.0.2"

cat >"$LW_T/server.json" <<EOF
{
  "server": { "workers": 1, "store": "", "control-socket": "$LW_T/ctl.sock", "log-interval": 1, "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF,framecnt=4096",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [
    { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.199" ],
      "lease-time": 600 },
    { "name": "relayed", "subnet": "198.19.0.0/16", "pools": [ "198.19.0.10 - 198.19.255.250" ],
      "relay-addresses": [ "198.18.0.2" ], "lease-time": 600,
      "options": { "routers": [ "198.19.0.1" ] } }
  ]
}
EOF
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/server.json" "$SLOG"

# leasewired's worker runs on the last CPU: keep perfdhcp off it.
NCPU=$(nproc)
if [ "$NCPU" -gt 1 ]; then
	PIN=(taskset -c "0-$((NCPU - 2))")
else
	PIN=()
fi

rcvbuf_errors() {
	timeout 10 ip netns exec $CLI cat /proc/net/snmp |
		awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
			       else print $col["RcvbufErrors"] }'
}
RB0=$(rcvbuf_errors)
[[ "$RB0" =~ ^[0-9]+$ ]] || lw_die "cannot read Udp RcvbufErrors in $CLI"

OUT=$LW_T/perfdhcp.out
lw_track_log "$OUT"
timeout 150 ip netns exec $CLI "${PIN[@]}" perfdhcp -4 -l $CLIIF -r $RATE -R $CLIENTS \
	-p $PERIOD -W 200000 -x l >"$OUT" 2>&1
PRC=$?
RB1=$(rcvbuf_errors)
RCVBUF=$((RB1 - RB0))
# 0: every exchange completed; 3: some were dropped (judged below). Anything else: broken.
[ $PRC -eq 0 ] || [ $PRC -eq 3 ] || lw_die "perfdhcp failed (rc $PRC)"
grep -q "Statistics for: REQUEST-ACK" "$OUT" || lw_die "no REQUEST-ACK statistics from perfdhcp"

lw_server_stop "$LW_SRV_PID" "$SLOG"

# pstat EXCHANGE FIELD: a number from perfdhcp's "***Statistics for: EXCHANGE***" block.
pstat() {
	awk -v ex="$1" -v f="$2" '
		/^\*\*\*Statistics for: / { inb = index($0, ex) > 0 }
		inb && index($0, f ": ") == 1 { sub(/.*: /, ""); print; exit }' "$OUT"
}
DO_SENT=$(pstat DISCOVER-OFFER "sent packets")
DO_RECV=$(pstat DISCOVER-OFFER "received packets")
DO_DROP=$(pstat DISCOVER-OFFER "drops")
RA_SENT=$(pstat REQUEST-ACK "sent packets")
RA_RECV=$(pstat REQUEST-ACK "received packets")
RA_DROP=$(pstat REQUEST-ACK "drops")
lw_log "perfdhcp rc=$PRC DISCOVER-OFFER sent=$DO_SENT recv=$DO_RECV drops=$DO_DROP;" \
	"REQUEST-ACK sent=$RA_SENT recv=$RA_RECV drops=$RA_DROP; client RcvbufErrors +$RCVBUF"
lw_log "$(grep '^Rate:' "$OUT")"

lw_check_ge "perfdhcp DISCOVERs sent" "$DO_SENT" 100
lw_check_ge "perfdhcp REQUESTs sent" "$RA_SENT" 100
lw_check_eq "perfdhcp malformed packets" "$(sed -n 's/^Malformed packets: //p' "$OUT")" 0
lw_check_eq "perfdhcp rejected leases (DO)" "$(pstat DISCOVER-OFFER 'rejected leases')" 0
lw_check_eq "perfdhcp rejected leases (RA)" "$(pstat REQUEST-ACK 'rejected leases')" 0

# The server saw every request perfdhcp sent and answered every one.
lw_check_eq "server discover == perfdhcp DISCOVERs sent" "$(lw_counter "$SLOG" discover)" "$DO_SENT"
lw_check_eq "server request == perfdhcp REQUESTs sent" "$(lw_counter "$SLOG" request)" "$RA_SENT"
lw_check_eq "server offer == discover" "$(lw_counter "$SLOG" offer)" "$DO_SENT"
lw_check_eq "server ack == request" "$(lw_counter "$SLOG" ack)" "$RA_SENT"
lw_check_eq "server nak" "$(lw_counter "$SLOG" nak)" 0
lw_check_eq "server drop_udp_checksum (veth tx checksum offload must be off)" \
	"$(lw_counter "$SLOG" drop_udp_checksum)" 0
lw_check_eq "server drops" "$(lw_counter "$SLOG" drops)" 0

# perfdhcp's own drops: the one in flight at the end, or its socket's overflow.
if [ "$DO_DROP" -le 2 ] && [ "$RA_DROP" -le 2 ]; then
	lw_log "ok: perfdhcp drops DO=$DO_DROP RA=$RA_DROP (<= 2 each)"
else
	# Every OFFER/ACK the server sent and perfdhcp did not count was either dropped by the
	# client's UDP receive buffer or is the last one in flight.
	EXCESS=$((DO_DROP + RA_DROP))
	[ "$EXCESS" -le $((RCVBUF + 4)) ] ||
		lw_die "perfdhcp lost $DO_DROP OFFERs and $RA_DROP ACKs but the client's UDP" \
			"RcvbufErrors grew by only $RCVBUF: replies went missing"
	lw_log "ok: perfdhcp drops DO=$DO_DROP RA=$RA_DROP explained by $RCVBUF client" \
		"RcvbufErrors (server answered everything)"
fi

# Leases ("client_id,address,prefix"; the client id is there since the server echoes
# option 61, RFC 6842): all from the relayed scope's pool.
awk '/^\*\*\*Leases for /{ sect = $0; next } sect != "" && /^[0-9a-f]*,[0-9.]+,/ {
	split($0, a, ","); print (index(sect, "REQUEST-ACK") ? "RA" : "DO"), a[2] }' "$OUT" \
	>"$LW_T/leases"
NLEASES=$(grep -c '^RA ' "$LW_T/leases")
lw_check_ge "leases listed by perfdhcp (REQUEST-ACK)" "$NLEASES" 100
LO=$(lw_ip_to_int 198.19.0.10) HI=$(lw_ip_to_int 198.19.255.250)
BAD=$(awk -v lo="$LO" -v hi="$HI" '{ split($2, o, "."); v = ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4];
	if (v < lo || v > hi) { print $2; exit } }' "$LW_T/leases")
[ -z "$BAD" ] || lw_die "lease $BAD is not in the relayed pool 198.19.0.10 - 198.19.255.250"
lw_log "ok: all $(wc -l <"$LW_T/leases") listed leases are in 198.19.0.10 - 198.19.255.250"
DISTINCT=$(awk '$1 == "RA" { print $2 }' "$LW_T/leases" | sort -u | wc -l)
lw_check_le "distinct acknowledged addresses (<= $CLIENTS clients)" "$DISTINCT" $CLIENTS
exit 0
