#!/bin/bash
# e2e-conflict: conflict detection (issue 14 item 4) with a real ISC dhclient and a real kernel
# host that owns addresses of the pool (leasewired on net_af_packet on a veth).
#
#   test_conflict.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# Scope pool 198.18.0.100-102, conflict detection off at start (the default).
# 1. Turned on live (config set: conflict-detection-attempts 1, timeout 300 ms), read back by
#    config get.
# 2. The client namespace's kernel owns 198.18.0.100 and .101 (ip addr add), so it answers the
#    server's ARP probes for them. dhclient in that namespace is bound to 198.18.0.102, the one
#    address nobody answers for.
# 3. leasewirectl lease list shows .100 and .101 abandoned; statistic address-conflicts is 2;
#    the log has event=address-conflict for each, detected by ARP, with the host's MAC.
# 4. Server counters: no drop, no NAK. (~10 s)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init conflict "$@"
lw_require dhclient
LEASEWIRECTL=${LEASEWIRECTL:-$(dirname "$(dirname "$LEASEWIRED")")/client/leasewirectl}
[ -x "$LEASEWIRECTL" ] || lw_die "no leasewirectl at $LEASEWIRECTL"
CTL="$LEASEWIRECTL -s $LW_T/ctl.sock"

SRV=lwt-cfl-s CLI=lwt-cfl-c SRVIF=lwt-cfl-s0 CLIIF=lwt-cfl-c0

lw_lab_up $SRV $CLI $SRVIF $CLIIF

# config FILE ATTEMPTS
config() {
	cat >"$1" <<EOF
{
  "server": { "workers": 1, "store": "", "control-socket": "$LW_T/ctl.sock", "log-interval": 1,
              "idle-sleep-us": 100 },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "lab", "subnet": "198.18.0.0/24",
    "pools": [ "198.18.0.100 - 198.18.0.102" ],
    "lease-time": 120, "decline-hold": 600,
    "conflict-detection-attempts": $2, "conflict-detection-timeout": 300
  } ]
}
EOF
}
config "$LW_T/off.json" 0
config "$LW_T/on.json" 1
# Off by default: the key left out of the start-up configuration.
sed -i '/conflict-detection/d; s/"decline-hold": 600,/"decline-hold": 600/' "$LW_T/off.json"
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/off.json" "$SLOG"

# --- 1. on, live ---------------------------------------------------------------------------
# The scope sets none: it follows the server's default, and config get shows only that.
ATT=$(timeout 10 $CTL --json config get | /usr/bin/python3 -c 'import json, sys
a = json.load(sys.stdin)["arguments"]
print(a["scopes"][0].get("conflict-detection-attempts", "server:%s" %
      a["server"]["conflict-detection-attempts"]))')
lw_check_eq "conflict-detection-attempts by default" "$ATT" server:0
timeout 10 $CTL config set "$LW_T/on.json" || lw_die "config set failed"
ATT=$(timeout 10 $CTL --json config get | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["arguments"]["scopes"][0]["conflict-detection-attempts"])')
lw_check_eq "conflict-detection-attempts after config set" "$ATT" 1

# --- 2. a host owns .100 and .101 ----------------------------------------------------------
timeout 10 ip -n $CLI addr add 198.18.0.100/32 dev $CLIIF || lw_die "ip addr add .100"
timeout 10 ip -n $CLI addr add 198.18.0.101/32 dev $CLIIF || lw_die "ip addr add .101"
HOSTMAC=$(cat "/sys/class/net/$CLIIF/address" 2>/dev/null ||
	ip netns exec $CLI cat "/sys/class/net/$CLIIF/address")
A=$LW_T/dhc-a
lw_dhclient_setup "$A"
lw_dhclient_start $CLI $CLIIF "$A"
lw_wait_event "$A" BOUND 1 30
lw_check_eq "dhclient's address" "$(lw_event_field "$A" BOUND 1 new_ip_address)" 198.18.0.102

# --- 3. abandoned, counted, logged ---------------------------------------------------------
STATES=$(timeout 10 $CTL --json lease list --scope lab | /usr/bin/python3 -c 'import json, sys
a = json.load(sys.stdin)["arguments"]
a = a.get("leases", a) if isinstance(a, dict) else a
print(" ".join("%s=%s" % (l["ip-address"], l["state"]) for l in
      sorted(a, key=lambda l: l["ip-address"])))')
lw_log "leases: $STATES"
lw_check_eq "lease states" "$STATES" \
	"198.18.0.100=abandoned 198.18.0.101=abandoned 198.18.0.102=active"
N=$(timeout 10 $CTL --json stats address-conflicts | /usr/bin/python3 -c 'import json, sys
a = json.load(sys.stdin)["arguments"]
print(a["address-conflicts"] if "address-conflicts" in a else a)')
lw_check_eq "statistic address-conflicts" "$N" 2
for ip in 198.18.0.100 198.18.0.101; do
	grep -q "event=address-conflict scope=lab ip-address=$ip detected-by=arp mac=$HOSTMAC" \
		"$SLOG" || lw_die "no event=address-conflict for $ip (mac $HOSTMAC) in $SLOG"
done
lw_stop_pid "$LW_DHCLIENT_PID" 15

# --- 4. server counters ----------------------------------------------------------------------
lw_server_stop "$LW_SRV_PID" "$SLOG"
lw_check_eq "conflicts" "$(lw_counter "$SLOG" conflicts)" 2
lw_check_le "discover (each counted once, not per decision)" "$(lw_counter "$SLOG" discover)" 2
lw_check_eq "nak" "$(lw_counter "$SLOG" nak)" 0
lw_check_eq "drops" "$(lw_counter "$SLOG" drops)" 0
exit 0
