#!/bin/bash
# e2e-dhclient: a real ISC dhclient against leasewired (net_af_packet on a veth).
#
#   test_dhclient.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# 1. DORA: the lease is in the pool, mask 255.255.255.0, router, DNS, domain name, server
#    identifier 198.18.0.1, lease time / T1 / T2 exactly as configured.
# 2. ARP + ICMP: the client namespace's kernel pings 198.18.0.1 (the server answers the ARP
#    request and the echo).
# 3. RENEW: T1 is 4 s; dhclient unicasts a REQUEST to the server and logs RENEW with the same
#    address; the server counts a second REQUEST and ACK.
# 4. RELEASE: `dhclient -r` with the same lease and pid files; the server counts release=1.
# 5. The same client (same MAC) with a fresh lease file (so a plain DISCOVER, no requested
#    address) gets the same address again.
# 6. Final server counters: every DISCOVER offered, every REQUEST acknowledged (at least the
#    2 DORAs and the renewals dhclient logged), release=1, no NAK, ARP and ICMP answered, no
#    drops.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init dhclient "$@"
lw_require dhclient

SRV=lwt-dhc-s CLI=lwt-dhc-c SRVIF=lwt-dhc-s0 CLIIF=lwt-dhc-c0
LEASE=120 T1=4 T2=100
POOL_FIRST=198.18.0.100 POOL_LAST=198.18.0.199

lw_lab_up $SRV $CLI $SRVIF $CLIIF

cat >"$LW_T/server.json" <<EOF
{
  "server": { "workers": 1, "store": "", "control-socket": "$LW_T/ctl.sock", "log-interval": 1, "idle-sleep-us": 100,
              "reclaim-interval": 1 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "lab", "subnet": "198.18.0.0/24",
    "pools": [ "$POOL_FIRST - $POOL_LAST" ],
    "lease-time": $LEASE, "renew-time": $T1, "rebind-time": $T2,
    "options": { "routers": [ "198.18.0.1" ],
                 "domain-name-servers": [ "198.18.0.1", "198.18.0.2" ],
                 "domain-name": "lab.leasewire.test" }
  } ]
}
EOF
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/server.json" "$SLOG"

# --- 1. DORA ---------------------------------------------------------------------------------
A=$LW_T/dhc-a
lw_dhclient_setup "$A"
lw_dhclient_start $CLI $CLIIF "$A"
DHC_A=$LW_DHCLIENT_PID
lw_wait_event "$A" BOUND 1 60
IP=$(lw_event_field "$A" BOUND 1 new_ip_address)
lw_check_in_range "bound address" "$IP" $POOL_FIRST $POOL_LAST
lw_check_eq "subnet mask" "$(lw_event_field "$A" BOUND 1 new_subnet_mask)" 255.255.255.0
lw_check_eq "routers" "$(lw_event_field "$A" BOUND 1 new_routers)" 198.18.0.1
lw_check_eq "domain name servers" "$(lw_event_field "$A" BOUND 1 new_domain_name_servers)" \
	"198.18.0.1 198.18.0.2"
lw_check_eq "domain name" "$(lw_event_field "$A" BOUND 1 new_domain_name)" lab.leasewire.test
lw_check_eq "server identifier" "$(lw_event_field "$A" BOUND 1 new_dhcp_server_identifier)" \
	198.18.0.1
lw_check_eq "lease time" "$(lw_event_field "$A" BOUND 1 new_dhcp_lease_time)" $LEASE
lw_check_eq "renewal time (T1)" "$(lw_event_field "$A" BOUND 1 new_dhcp_renewal_time)" $T1
lw_check_eq "rebinding time (T2)" "$(lw_event_field "$A" BOUND 1 new_dhcp_rebinding_time)" $T2
lw_check_eq "message type of the BOUND reply" \
	"$(lw_event_field "$A" BOUND 1 new_dhcp_message_type)" 5
timeout 10 ip -n $CLI -4 addr show dev $CLIIF | grep -q "inet $IP/24" ||
	lw_die "$IP/24 is not on $CLIIF after BOUND"

# --- 2. ARP and ICMP echo to the server ------------------------------------------------------
lw_ping $CLI 198.18.0.1 2 >"$LW_T/ping.out" 2>&1 ||
	lw_die "ICMP echo to 198.18.0.1 failed: $(cat "$LW_T/ping.out")"
lw_log "ok: ping 198.18.0.1: $(tail -n 1 "$LW_T/ping.out")"
timeout 10 ip -n $CLI neigh show 198.18.0.1 dev $CLIIF | grep -q lladdr ||
	lw_die "no ARP entry for 198.18.0.1 in $CLI"

# --- 3. RENEW ---------------------------------------------------------------------------------
lw_wait_event "$A" RENEW 1 60
lw_check_eq "address after RENEW" "$(lw_event_field "$A" RENEW 1 new_ip_address)" "$IP"
lw_check_eq "lease time after RENEW" "$(lw_event_field "$A" RENEW 1 new_dhcp_lease_time)" \
	$LEASE
grep -q "DHCPREQUEST for $IP on $CLIIF to 198.18.0.1 port 67" "$A/dhclient.out" ||
	lw_die "dhclient did not renew by unicast to the server"
ack_ge2() { local v; v=$(lw_live_counter "$SLOG" ack); [ -n "$v" ] && [ "$v" -ge 2 ]; }
lw_wait_until 30 "server counts a second ACK (the renewal)" ack_ge2

# --- 4. RELEASE -------------------------------------------------------------------------------
lw_dhclient_release $CLI $CLIIF "$A"
grep -q "DHCPRELEASE of $IP" "$A/dhclient.out" || lw_die "dhclient -r sent no DHCPRELEASE"
# dhclient -r stopped the dhclient it found in the pid file: the one started above.
lw_wait_until 30 "the first dhclient to exit after dhclient -r" \
	eval "! lw_is_our_child $DHC_A"
lw_stop_pid "$DHC_A"	# reaps it
released() { [ "$(lw_live_counter "$SLOG" release)" = 1 ]; }
lw_wait_until 30 "server counts release=1" released
RENEWS=$(lw_event_count "$A" RENEW)

# --- 5. the same client again: the same address --------------------------------------------
B=$LW_T/dhc-b
lw_dhclient_setup "$B"
timeout 10 ip -n $CLI addr flush dev $CLIIF
lw_dhclient_start $CLI $CLIIF "$B"
DHC_B=$LW_DHCLIENT_PID
lw_wait_event "$B" BOUND 1 60
lw_check_eq "address after release and a new DISCOVER" \
	"$(lw_event_field "$B" BOUND 1 new_ip_address)" "$IP"
# Stop it before T1 can pass, so the counts below are exact.
lw_stop_pid "$DHC_B" 15
RENEWS_B=$(lw_event_count "$B" RENEW)

# --- 6. server counters -----------------------------------------------------------------------
# dhclient retransmits when a reply is late (loaded machine): at least the messages the steps
# above needed, and an answer to every one of them.
lw_server_stop "$LW_SRV_PID" "$SLOG"
REQ=$((2 + RENEWS + RENEWS_B))
DISC=$(lw_counter "$SLOG" discover)
NREQ=$(lw_counter "$SLOG" request)
lw_check_ge "discover" "$DISC" 2
lw_check_eq "offer == discover" "$(lw_counter "$SLOG" offer)" "$DISC"
lw_check_ge "request (2 selecting + $((RENEWS + RENEWS_B)) renewals)" "$NREQ" $REQ
lw_check_eq "ack == request" "$(lw_counter "$SLOG" ack)" "$NREQ"
lw_check_eq "nak" "$(lw_counter "$SLOG" nak)" 0
lw_check_eq "release" "$(lw_counter "$SLOG" release)" 1
lw_check_eq "decline" "$(lw_counter "$SLOG" decline)" 0
lw_check_ge "arp replies" "$(lw_counter "$SLOG" arp)" 1
lw_check_ge "icmp echo replies" "$(lw_counter "$SLOG" icmp)" 2
lw_check_eq "drops" "$(lw_counter "$SLOG" drops)" 0
exit 0
