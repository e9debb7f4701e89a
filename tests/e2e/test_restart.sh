#!/bin/bash
# A lease that dhclient renewed survives a clean restart of leasewired with the same expiry.
#
#   test_restart.sh [LEASEWIRED [SRCDIR]]
#
# dhclient gets a lease and renews it (renew-time 3 s); leasewired stops cleanly; the store
# holds the renewed binding (its end = the renewal's time + lease time, later than the first
# ACK's); leasewired starts again on the store, loads it, and the binding is unchanged; a
# new dhclient run for the same client (INIT-REBOOT) is ACKed the same address.
. "$(dirname "$0")/lib.sh"
lw_init restart "$@"
lw_require dhclient

SRV=lwt-rs-s CLI=lwt-rs-c SIF=lwt-rs-s0 CIF=lwt-rs-c0
lw_lab_up $SRV $CLI $SIF $CIF

cat >"$LW_T/lw.json" <<EOF
{
  "server": { "workers": 1, "log-interval": 1, "store": "$LW_T/store",
              "control-socket": "$LW_T/ctl.sock" },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface=$SIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.199" ],
                "lease-time": 600, "renew-time": 3, "rebind-time": 500,
                "options": { "routers": [ "198.18.0.1" ] } } ]
}
EOF

binding_of() {	# binding_of ADDR: the store's JSON line for ADDR
	timeout 30 "$LEASEWIRED" --dump-store "$LW_T/store" | grep "\"address\": \"$1\""
}
field() {	# field JSON NAME
	sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" <<<"$1"
}

lw_server_start $SRV "$LW_T/lw.json" "$LW_T/lw.1.log"
lw_dhclient_setup "$LW_T/c"
lw_dhclient_start $CLI $CIF "$LW_T/c"
lw_wait_event "$LW_T/c" BOUND 1 40
addr=$(lw_event_field "$LW_T/c" BOUND 1 new_ip_address)
lw_check_in_range "bound address" "$addr" 198.18.0.100 198.18.0.199
first=$(binding_of "$addr")
lw_log "after BOUND: $first"
lw_wait_event "$LW_T/c" RENEW 1 40
# The RENEW ACK left the server only once durable: the store has the new end already.
renewed=$(binding_of "$addr")
lw_check_ge "renewal committed before its ACK" "$(field "$renewed" ends)" $(( $(field "$first" ends) + 1 ))
lw_stop_pid "$LW_DHCLIENT_PID" 10	# dhclient -d on SIGTERM exits without a RELEASE
lw_server_stop "$LW_SRV_PID" "$LW_T/lw.1.log"

before=$(binding_of "$addr")
lw_log "stored after clean stop: $before"
lw_check_eq "state after stop" "$(sed -n 's/.*"state": "\([a-z]*\)".*/\1/p' <<<"$before")" active
lw_check_ge "renewal moved the end" "$(field "$before" ends)" $(( $(field "$first" ends) + 1 ))

lw_server_start $SRV "$LW_T/lw.json" "$LW_T/lw.2.log"
grep -q "store: loaded 1 bindings" "$LW_T/lw.2.log" || lw_die "restart did not load the binding"
after=$(binding_of "$addr")
lw_check_eq "binding after restart" "$after" "$before"

# The same client asks for its address again after the restart (INIT-REBOOT): ACKed.
lw_dhclient_start $CLI $CIF "$LW_T/c"
lw_wait_event "$LW_T/c" REBOOT 1 40
lw_check_eq "address after restart" "$(lw_event_field "$LW_T/c" REBOOT 1 new_ip_address)" "$addr"
lw_stop_pid "$LW_DHCLIENT_PID" 10
lw_server_stop "$LW_SRV_PID" "$LW_T/lw.2.log"
lw_check_eq "requests NAKed" "$(lw_counter "$LW_T/lw.2.log" nak)" 0
