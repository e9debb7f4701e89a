#!/bin/bash
# kill -9 proof of durability: every DHCPACK seen on the wire is in the store after a crash,
# bound to the same client, and no other client is ever offered one of those addresses.
#
#   test_kill9.sh [LEASEWIRED [SRCDIR]]
#
# Three cycles on one store: leasewired (strict durability) serves perfdhcp (relayed DORA,
# a fresh set of client MACs each cycle); once it has acknowledged a few hundred leases it is
# killed with SIGKILL mid-load. The client side is captured throughout. At the end the store
# is dumped and checked against every ACK and OFFER in the capture (check_kill9.py).
. "$(dirname "$0")/lib.sh"
lw_init kill9 "$@"
lw_require perfdhcp dumpcap tshark

SRV=lwt-k9-s CLI=lwt-k9-c SIF=lwt-k9-s0 CIF=lwt-k9-c0
CYCLES=${LW_KILL9_CYCLES:-3}
lw_lab_up $SRV $CLI $SIF $CIF
ip -n $CLI addr add 198.18.0.2/24 dev $CIF

cat >"$LW_T/lw.json" <<EOF
{
  "server": { "workers": 1, "log-interval": 1, "store": "$LW_T/store", "durability": "strict",
              "control-socket": "$LW_T/ctl.sock" },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface=$SIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [
    { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.199" ] },
    { "name": "relayed", "subnet": "198.19.0.0/16", "pools": [ "198.19.0.10 - 198.19.255.250" ],
      "relay-addresses": [ "198.18.0.2" ], "lease-time": 3600 }
  ]
}
EOF

timeout -k 5 600 ip netns exec $CLI dumpcap -q -i $CIF -f "udp port 67" \
	-w "$LW_T/wire.pcapng" >"$LW_T/dumpcap.out" 2>&1 </dev/null &
CAP_PID=$!
lw_track_pid $CAP_PID
lw_wait_until 20 "dumpcap to start" test -s "$LW_T/wire.pcapng"

ncpu=$(nproc)
for cycle in $(seq "$CYCLES"); do
	log="$LW_T/lw.$cycle.log"
	lw_server_start $SRV "$LW_T/lw.json" "$log"
	grep -q "store: loaded" "$log" || lw_die "cycle $cycle: no 'store: loaded' line"
	lw_log "$(grep 'store: loaded' "$log")"

	timeout -k 5 60 ip netns exec $CLI taskset -c 0 perfdhcp -4 -l $CIF -r 1500 -R 100000 \
		-b "mac=02:0$cycle:00:00:00:00" -p 30 >"$LW_T/perfdhcp.$cycle.out" 2>&1 </dev/null &
	pf=$!
	lw_track_pid $pf

	# Mid-load: wait for some hundreds of ACKs, then SIGKILL leasewired itself (the child of
	# the `timeout` wrapper we started: ip netns exec replaces itself with leasewired).
	lw_wait_until 60 "cycle $cycle: 300 ACKs" \
		bash -c "[ \"\$(grep -E ' counters ' '$log' | tail -n1 | tr ' ' '\n' | sed -n 's/^ack=//p')\" -ge 300 ] 2>/dev/null"
	lw_pid=$(pgrep -P "$LW_SRV_PID" -x leasewired)
	[ -n "$lw_pid" ] || lw_die "cycle $cycle: cannot find the leasewired process"
	kill -KILL "$lw_pid"
	lw_log "cycle $cycle: SIGKILL leasewired (pid $lw_pid) mid-load"
	lw_wait_until 20 "the killed server to be gone" eval "! kill -0 $LW_SRV_PID 2>/dev/null"
	wait "$LW_SRV_PID" 2>/dev/null
	lw_stop_pid $pf 10
done

# One clean start on the same store: it must load, then stop normally.
lw_server_start $SRV "$LW_T/lw.json" "$LW_T/lw.final.log"
lw_server_stop "$LW_SRV_PID" "$LW_T/lw.final.log"
lw_log "$(grep 'store: loaded' "$LW_T/lw.final.log")"

# Let dumpcap write out the last frames, then stop it.
sleep 1
lw_stop_pid $CAP_PID 10

timeout 60 "$LEASEWIRED" --dump-store "$LW_T/store" >"$LW_T/store.jsonl" ||
	lw_die "cannot dump the store"
timeout 120 tshark -r "$LW_T/wire.pcapng" -Y "dhcp" -T fields -E separator=' ' \
	-e frame.number -e dhcp.option.dhcp -e dhcp.ip.your -e dhcp.hw.mac_addr \
	>"$LW_T/wire.txt" 2>/dev/null || lw_die "tshark could not read the capture"
"$LW_PY" "$LW_E2E_DIR/check_kill9.py" "$LW_T/wire.txt" "$LW_T/store.jsonl" "$CYCLES" ||
	lw_die "durability check failed"
