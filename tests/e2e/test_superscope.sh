#!/bin/bash
# e2e-superscope: a superscope added live (superscope-add) lets a direct client of a full
# scope take an address of the next member subnet (issue 14 item 3), with a real ISC dhclient
# (leasewired on net_af_packet on a veth).
#
#   test_superscope.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# Scope "lab" (198.18.0.0/24, the link's subnet) has one pool address, 198.18.0.100, held by
# another client (lease add); scope "lab2" (198.18.1.0/24) has 198.18.1.100-101.
# 1. dhclient's DISCOVER finds lab full: counted drop_pool_exhausted, no OFFER.
# 2. leasewirectl superscope add floor1 lab lab2; superscope show lists it; the event is logged.
# 3. dhclient's next DISCOVER is bound to 198.18.1.100, with lab2's router. (~5 s)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init superscope "$@"
lw_require dhclient
LEASEWIRECTL=${LEASEWIRECTL:-$(dirname "$(dirname "$LEASEWIRED")")/client/leasewirectl}
[ -x "$LEASEWIRECTL" ] || lw_die "no leasewirectl at $LEASEWIRECTL"
CTL="$LEASEWIRECTL -s $LW_T/ctl.sock"

SRV=lwt-sup-s CLI=lwt-sup-c SRVIF=lwt-sup-s0 CLIIF=lwt-sup-c0

lw_lab_up $SRV $CLI $SRVIF $CLIIF

cat >"$LW_T/cfg.json" <<EOF
{
  "server": { "workers": 1, "store": "", "control-socket": "$LW_T/ctl.sock", "log-interval": 1,
              "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [
    { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.100" ],
      "lease-time": 120, "options": { "routers": [ "198.18.0.1" ] } },
    { "name": "lab2", "subnet": "198.18.1.0/24", "pools": [ "198.18.1.100 - 198.18.1.101" ],
      "relay-addresses": [ "198.18.1.1" ], "lease-time": 120,
      "options": { "routers": [ "198.18.1.1" ] } }
  ]
}
EOF
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/cfg.json" "$SLOG"
timeout 10 $CTL lease add 198.18.0.100 --mac 02:00:5e:44:00:01 --lifetime 600 ||
	lw_die "lease add failed"

# --- 1. lab is full --------------------------------------------------------------------------
A=$LW_T/dhc-a
lw_dhclient_setup "$A"
lw_dhclient_start $CLI $CLIIF "$A"
exhausted() { [ "$(lw_live_counter "$SLOG" drop_pool_exhausted)" -ge 1 ] 2>/dev/null; }
lw_wait_until 20 "a DISCOVER counted drop_pool_exhausted" exhausted
lw_check_eq "dhclient bound before the superscope" "$(lw_event_count "$A" BOUND)" 0

# --- 2. the superscope, live -----------------------------------------------------------------
timeout 10 $CTL superscope add floor1 lab lab2 || lw_die "superscope add failed"
SHOW=$(timeout 10 $CTL superscope show floor1 | tail -n 1)
lw_check_eq "superscope show" "$(echo $SHOW)" "floor1 lab, lab2"
grep -q "event=superscope-add superscope=floor1 scopes=2 by=control-socket" "$SLOG" ||
	lw_die "no event=superscope-add in $SLOG"

# --- 3. the next DISCOVER overflows to lab2 --------------------------------------------------
lw_wait_event "$A" BOUND 1 20
lw_check_eq "dhclient's address" "$(lw_event_field "$A" BOUND 1 new_ip_address)" 198.18.1.100
lw_check_eq "dhclient's router" "$(lw_event_field "$A" BOUND 1 new_routers)" 198.18.1.1
lw_stop_pid "$LW_DHCLIENT_PID" 15
lw_server_stop "$LW_SRV_PID" "$SLOG"
lw_check_eq "nak" "$(lw_counter "$SLOG" nak)" 0
exit 0
