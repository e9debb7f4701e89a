#!/bin/bash
# e2e-reload-load: configuration changes applied while perfdhcp (relayed DORA) runs.
#
#   test_reload_load.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# perfdhcp runs ~1500 exchanges/s for 8 s against a store-backed leasewired. Meanwhile the
# configuration file gets a new scope and `leasewirectl config reload` applies it; a scope is
# added and an exclusion added and removed over the socket; a broken reload is refused.
# Every change is an RCU swap of {configuration, pools}; none may drop a request or lose a
# lease:
#  - the server answered every DISCOVER and REQUEST (offer == discover, ack == request,
#    drops == 0) and perfdhcp lost nothing beyond the exchange in flight (or what its own
#    socket buffer overflowed, counted by RcvbufErrors);
#  - every address perfdhcp saw ACKed is an active lease of the relayed scope afterwards,
#    and the scope's assigned count is the number of distinct ACKed addresses, plus at most
#    the REQUEST-ACK exchanges perfdhcp dropped (an ACK late on a loaded machine).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init reload "$@"
lw_require perfdhcp taskset

SRV=lwt-rl-s CLI=lwt-rl-c SRVIF=lwt-rl-s0 CLIIF=lwt-rl-c0
# meson passes the client's path; by hand, it is the build's client/leasewirectl.
LEASEWIRECTL=${LEASEWIRECTL:-$(dirname "$(dirname "$LEASEWIRED")")/client/leasewirectl}
[ -x "$LEASEWIRECTL" ] || lw_die "no leasewirectl at $LEASEWIRECTL"
CTL="$LEASEWIRECTL -s $LW_T/ctl.sock"

lw_lab_up $SRV $CLI $SRVIF $CLIIF
timeout 10 ip -n $CLI addr add 198.18.0.2/24 dev $CLIIF || lw_die "cannot add 198.18.0.2"

config() {	# config EXTRA_SCOPE_JSON: the server configuration, with an optional third scope
	cat <<EOF
{
  "server": { "workers": 1, "store": "$LW_T/store", "control-socket": "$LW_T/ctl.sock",
              "log-interval": 1, "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [
    { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.199" ] },
    { "name": "relayed", "subnet": "198.19.0.0/16", "pools": [ "198.19.0.10 - 198.19.255.250" ],
      "relay-addresses": [ "198.18.0.2" ], "lease-time": 3600 }$1
  ]
}
EOF
}
config "" >"$LW_T/server.json"
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/server.json" "$SLOG"

NCPU=$(nproc)
PIN=()
[ "$NCPU" -gt 1 ] && PIN=(taskset -c "0-$((NCPU - 2))")
rcvbuf_errors() {
	timeout 10 ip netns exec $CLI cat /proc/net/snmp |
		awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
			       else print $col["RcvbufErrors"] }'
}
RB0=$(rcvbuf_errors)

OUT=$LW_T/perfdhcp.out
lw_track_log "$OUT"
# -W: perfdhcp waits 2 s after its last REQUEST before it counts what is missing, so that an
# ACK held up by a slow fdatasync (seconds, once, on a fresh CI machine with builds beside
# it: 270 ACKs missing with -W 200000) arrives and is counted as an orphan: late, not lost.
timeout 150 ip netns exec $CLI "${PIN[@]}" perfdhcp -4 -l $CLIIF -r 1500 -R 4000 -p 8 \
	-W 2000000 -x l >"$OUT" 2>&1 &
PF=$!
lw_track_pid $PF

# Under load: wait for traffic, then change the configuration four ways.
lw_wait_until 30 "perfdhcp traffic" \
	bash -c "[ \"\$(grep -E ' counters ' '$SLOG' | tail -n1 | tr ' ' '\n' | sed -n 's/^ack=//p')\" -ge 500 ] 2>/dev/null"
config ',
    { "name": "extra", "subnet": "198.18.60.0/24", "pools": [ "198.18.60.10 - 198.18.60.50" ] }' \
	>"$LW_T/server.json"
timeout 30 $CTL config reload >"$LW_T/ctl.1" 2>&1 || lw_die "config reload failed: $(cat "$LW_T/ctl.1")"
echo '{ "name": "more", "subnet": "198.18.61.0/24", "pools": [ "198.18.61.10 - 198.18.61.50" ] }' |
	timeout 30 $CTL scope add - >"$LW_T/ctl.2" 2>&1 || lw_die "scope add failed: $(cat "$LW_T/ctl.2")"
timeout 30 $CTL exclusion add relayed 198.19.200.0-198.19.200.255 >"$LW_T/ctl.3" 2>&1 ||
	lw_die "exclusion add failed: $(cat "$LW_T/ctl.3")"
timeout 30 $CTL exclusion del relayed "198.19.200.0 - 198.19.200.255" >"$LW_T/ctl.4" 2>&1 ||
	lw_die "exclusion del failed: $(cat "$LW_T/ctl.4")"
echo '{ "server": { "workers": 2 }' >"$LW_T/broken.json"
cp "$LW_T/server.json" "$LW_T/good.json"
cp "$LW_T/broken.json" "$LW_T/server.json"
timeout 30 $CTL config reload >"$LW_T/ctl.5" 2>&1
[ $? -eq 1 ] || lw_die "a broken configuration file was not refused: $(cat "$LW_T/ctl.5")"
cp "$LW_T/good.json" "$LW_T/server.json"
lw_log "4 changes applied and 1 refused while perfdhcp ran: $(grep -c 'event=config-applied' "$SLOG") config-applied events"

wait $PF
PRC=$?
[ $PRC -eq 0 ] || [ $PRC -eq 3 ] || lw_die "perfdhcp failed (rc $PRC)"
RCVBUF=$(( $(rcvbuf_errors) - RB0 ))
lw_check_eq "configurations applied" "$(grep -c 'event=config-applied' "$SLOG")" 4

pstat() {
	awk -v ex="$1" -v f="$2" '
		/^\*\*\*Statistics for: / { inb = index($0, ex) > 0 }
		inb && index($0, f ": ") == 1 { sub(/.*: /, ""); print; exit }' "$OUT"
}
DO_DROP=$(pstat DISCOVER-OFFER drops) RA_DROP=$(pstat REQUEST-ACK drops)
# A reply that reached perfdhcp after it gave the exchange up (its CPU taken by other work
# on a loaded machine) is counted by it as a drop AND as an orphan (a message matching no
# exchange): lost to the client's slowness, not by the server.
DO_ORPH=$(pstat DISCOVER-OFFER orphans) RA_ORPH=$(pstat REQUEST-ACK orphans)
ORPHANS=$(( ${DO_ORPH:-0} + ${RA_ORPH:-0} ))
RA_SENT=$(pstat REQUEST-ACK "sent packets")
lw_check_ge "perfdhcp REQUESTs sent" "$RA_SENT" 1000

# Leases perfdhcp saw ACKed ("client_id,address,prefix" lines of its REQUEST-ACK section).
awk '/^\*\*\*Leases for /{ ra = index($0, "REQUEST-ACK") > 0; next }
	ra && /^[0-9a-f]*,[0-9.]+,/ { split($0, a, ","); print a[2] }' "$OUT" | sort -u >"$LW_T/acked"
NACKED=$(wc -l <"$LW_T/acked")
lw_check_ge "distinct addresses perfdhcp saw ACKed" "$NACKED" 1000

# No lease lost: every ACKed address is an active lease in the running server.
timeout 60 $CTL --json lease list --scope relayed >"$LW_T/leases.json" ||
	lw_die "lease list failed"
/usr/bin/python3 - "$LW_T/leases.json" "$LW_T/acked" <<'PY' || lw_die "leases lost across the reloads"
import json, sys
leases = {l["ip-address"]: l for l in json.load(open(sys.argv[1]))["arguments"]["leases"]}
acked = [a.strip() for a in open(sys.argv[2]) if a.strip()]
missing = [a for a in acked if a not in leases or leases[a]["state"] != "active"]
print("reload: %d ACKed addresses, %d leases listed, %d missing" % (len(acked), len(leases), len(missing)))
sys.exit(1 if missing else 0)
PY
ASSIGNED=$(timeout 30 $CTL --json stats 'scope[relayed].assigned-addresses' |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["arguments"]["scope[relayed].assigned-addresses"])')
# Every address perfdhcp saw ACKed is assigned (checked one by one above); the server may have
# assigned more: a client whose every ACK perfdhcp dropped (late, or lost in its socket
# buffer) is not in its list, and there are at most RA_DROP of those.
lw_check_ge "scope[relayed].assigned-addresses, at least the distinct ACKed" "$ASSIGNED" "$NACKED"
lw_check_le "scope[relayed].assigned-addresses, at most the distinct ACKed + ACKs perfdhcp dropped" \
	"$ASSIGNED" "$((NACKED + ${RA_DROP:-0}))"
lw_check_eq "scopes after the changes" \
	"$(timeout 30 $CTL --json scope list | /usr/bin/python3 -c 'import json,sys; print(",".join(s["name"] for s in json.load(sys.stdin)["arguments"]))')" \
	"lab,relayed,extra,more"

lw_server_stop "$LW_SRV_PID" "$SLOG"
lw_check_eq "server ack == request" "$(lw_counter "$SLOG" ack)" "$(lw_counter "$SLOG" request)"
lw_check_eq "server offer == discover" "$(lw_counter "$SLOG" offer)" "$(lw_counter "$SLOG" discover)"
lw_check_eq "server drops" "$(lw_counter "$SLOG" drops)" 0
if [ "$DO_DROP" -le 2 ] && [ "$RA_DROP" -le 2 ]; then
	lw_log "ok: perfdhcp drops DO=$DO_DROP RA=$RA_DROP (<= 2 each; orphans ${DO_ORPH:-?}/${RA_ORPH:-?})"
else
	[ $((DO_DROP + RA_DROP)) -le $((RCVBUF + ORPHANS + 4)) ] ||
		lw_die "perfdhcp lost $DO_DROP OFFERs and $RA_DROP ACKs, RcvbufErrors only +$RCVBUF, orphans $ORPHANS"
	lw_log "ok: perfdhcp drops DO=$DO_DROP RA=$RA_DROP explained by $RCVBUF RcvbufErrors and $ORPHANS late replies"
fi
