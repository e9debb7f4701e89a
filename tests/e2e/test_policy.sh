#!/bin/bash
# e2e-policy: policies (issue 14) with a real ISC dhclient against leasewired (net_af_packet on
# a veth).
#
#   test_policy.sh [LEASEWIRED [SRCDIR]]        (root; exit 77 = skipped)
#
# Scope pool 198.18.0.100-199; policy "phones" (vendor class "leasewire-phone*") owns
# 198.18.0.150-159 with its own domain name and lease time; policy "eng" (user class "eng")
# owns 198.18.0.160-169 with its own domain name.
# 1. dhclient sending vendor-class-identifier "leasewire-phone-x1" (and host-name "phone-a": its
#    lease lists under lease list --hostname / --policy) is bound in 150-159 with the
#    policy's domain name and lease time.
# 2. The same client (same MAC, fresh lease file) without a vendor class is bound outside every
#    policy range, with the scope's domain name and lease time.
# 3. The same client sending user-class "eng" is bound in 160-169 with that policy's domain.
#    The same client sending client architecture 7 (option 93, EFI x64, as a PXE client does)
#    gets the server-level policy "uefi"'s boot file ipxe.efi (BOOTP file field); without
#    option 93 (steps 1-3) it gets none.
# 4. Live, through leasewirectl: a policy added to the scope (policy add), moved first (policy
#    reorder) and listed (policy list) is in force for the next client at once; a MAC pattern
#    added to the deny list is shown by mac-filter show, then removed.
# 5. Server counters: no NAK, no drop. (~2 s)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
lw_init policy "$@"
lw_require dhclient
LEASEWIRECTL=${LEASEWIRECTL:-$(dirname "$(dirname "$LEASEWIRED")")/client/leasewirectl}
[ -x "$LEASEWIRECTL" ] || lw_die "no leasewirectl at $LEASEWIRECTL"
CTL="$LEASEWIRECTL -s $LW_T/ctl.sock"

SRV=lwt-pol-s CLI=lwt-pol-c SRVIF=lwt-pol-s0 CLIIF=lwt-pol-c0

lw_lab_up $SRV $CLI $SRVIF $CLIIF

cat >"$LW_T/server.json" <<EOF
{
  "server": { "workers": 1, "store": "", "control-socket": "$LW_T/ctl.sock", "log-interval": 1,
              "idle-sleep-us": 100, "reclaim-interval": 1,
              "policies": [
                { "name": "uefi", "conditions": [ { "type": "client-arch", "values": [ "7" ] } ],
                  "next-server": "198.18.0.5", "boot-file": "ipxe.efi" } ] },
  "ports": [ { "name": "lab0", "device": "net_af_packet0,iface=$SRVIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ {
    "name": "lab", "subnet": "198.18.0.0/24",
    "pools": [ "198.18.0.100 - 198.18.0.199" ],
    "lease-time": 120,
    "options": { "routers": [ "198.18.0.1" ], "domain-name": "lab.leasewire.test" },
    "policies": [
      { "name": "phones", "processing-order": 1,
        "conditions": [ { "type": "vendor-class", "operator": "equals",
                          "values": [ "leasewire-phone*" ] } ],
        "ranges": [ "198.18.0.150 - 198.18.0.159" ], "lease-time": 300,
        "options": { "domain-name": "phones.leasewire.test" } },
      { "name": "eng", "processing-order": 2,
        "conditions": [ { "type": "user-class", "values": [ "eng" ] } ],
        "ranges": [ "198.18.0.160 - 198.18.0.169" ],
        "options": { "domain-name": "eng.leasewire.test" } }
    ]
  } ]
}
EOF
SLOG=$LW_T/server.log
lw_server_start $SRV "$LW_T/server.json" "$SLOG"

# run_client DIR EXTRA_CONF: one dhclient until BOUND, then stopped (no release); the address
# is flushed so that the next run starts from INIT with a fresh lease file.
run_client() {
	local d=$1 pid
	lw_dhclient_setup "$d"
	[ -n "$2" ] && echo "$2" >>"$d/dhclient.conf"
	lw_dhclient_start $CLI $CLIIF "$d"
	pid=$LW_DHCLIENT_PID
	lw_wait_event "$d" BOUND 1 30
	lw_stop_pid "$pid" 15
	timeout 10 ip -n $CLI addr flush dev $CLIIF
}

# --- 1. vendor class -> policy "phones" --------------------------------------------------------
A=$LW_T/dhc-a
run_client "$A" 'send vendor-class-identifier "leasewire-phone-x1"; send host-name "phone-a";'
lw_check_in_range "phone's address" "$(lw_event_field "$A" BOUND 1 new_ip_address)" \
	198.18.0.150 198.18.0.159
lw_check_eq "phone's domain name" "$(lw_event_field "$A" BOUND 1 new_domain_name)" \
	phones.leasewire.test
lw_check_eq "phone's lease time" "$(lw_event_field "$A" BOUND 1 new_dhcp_lease_time)" 300
lw_check_eq "phone's routers (the scope's)" "$(lw_event_field "$A" BOUND 1 new_routers)" \
	198.18.0.1
# The lease remembers the client (issue 14 item 6): found by host name (any case) and policy.
IPA=$(lw_event_field "$A" BOUND 1 new_ip_address)
L=$(timeout 10 $CTL lease list --hostname PHONE-A --policy phones) || lw_die "lease list failed"
echo "$L" | grep -q "^$IPA .* phone-a " || lw_die "lease list --hostname: no $IPA phone-a in: $L"
L=$(timeout 10 $CTL lease list --hostname phone-a --policy eng || true)
echo "$L" | grep -q "^$IPA " && lw_die "lease list --policy eng lists the phone: $L"
L=$(timeout 10 $CTL lease show "$IPA") || lw_die "lease show failed"
echo "$L" | grep -q "vendor-class.*leasewire-phone-x1" ||
	lw_die "lease show has no vendor class: $L"

# --- 2. no vendor class -> the scope's other addresses ----------------------------------------
B=$LW_T/dhc-b
run_client "$B" ''
IP=$(lw_event_field "$B" BOUND 1 new_ip_address)
lw_check_in_range "plain client's address" "$IP" 198.18.0.100 198.18.0.199
V=$(lw_ip_to_int "$IP")
if [ "$V" -ge "$(lw_ip_to_int 198.18.0.150)" ] && [ "$V" -le "$(lw_ip_to_int 198.18.0.169)" ]; then
	lw_die "plain client got $IP, an address of a policy range"
fi
lw_check_eq "plain client's domain name" "$(lw_event_field "$B" BOUND 1 new_domain_name)" \
	lab.leasewire.test
lw_check_eq "plain client's lease time" "$(lw_event_field "$B" BOUND 1 new_dhcp_lease_time)" 120

# --- 3. user class -> policy "eng" ------------------------------------------------------------
C=$LW_T/dhc-c
run_client "$C" 'send user-class "eng";'
lw_check_in_range "eng client's address" "$(lw_event_field "$C" BOUND 1 new_ip_address)" \
	198.18.0.160 198.18.0.169
lw_check_eq "eng client's domain name" "$(lw_event_field "$C" BOUND 1 new_domain_name)" \
	eng.leasewire.test
lw_check_eq "boot file without option 93" "$(lw_event_field "$C" BOUND 1 new_filename)" ""

# --- 3b. client architecture (option 93) -> server policy "uefi"'s boot file ------------------
P=$LW_T/dhc-p
run_client "$P" 'option lw-client-arch code 93 = unsigned integer 16; send lw-client-arch 7;'
lw_check_eq "PXE client's boot file" "$(lw_event_field "$P" BOUND 1 new_filename)" ipxe.efi

# --- 4. a policy added live -------------------------------------------------------------------
cat >"$LW_T/live.json" <<EOF
{ "name": "live", "conditions": [ { "type": "vendor-class", "values": [ "live*" ] } ],
  "ranges": [ "198.18.0.170 - 198.18.0.179" ],
  "options": { "domain-name": "live.leasewire.test" } }
EOF
timeout 10 $CTL policy add "$LW_T/live.json" --scope lab || lw_die "policy add failed"
timeout 10 $CTL policy reorder live 1 --scope lab || lw_die "policy reorder failed"
ORDER=$(timeout 10 $CTL --json policy list --scope lab |
	/usr/bin/python3 -c 'import json, sys
print(" ".join("%s=%s" % (p["name"], p["processing-order"]) for p in
      sorted(json.load(sys.stdin)["arguments"], key=lambda p: p["processing-order"])))')
lw_check_eq "processing order after policy reorder" "$ORDER" "live=1 phones=2 eng=3"
D=$LW_T/dhc-d
run_client "$D" 'send vendor-class-identifier "live-1";'
lw_check_in_range "live policy's address" "$(lw_event_field "$D" BOUND 1 new_ip_address)" \
	198.18.0.170 198.18.0.179
lw_check_eq "live policy's domain name" "$(lw_event_field "$D" BOUND 1 new_domain_name)" \
	live.leasewire.test
timeout 10 $CTL mac-filter add deny "02:00:5e:*" || lw_die "mac-filter add failed"
timeout 10 $CTL --json mac-filter show | grep -q '"02:00:5e:\*"' ||
	lw_die "mac-filter show does not list the pattern"
timeout 10 $CTL mac-filter del deny "02:00:5e:*" || lw_die "mac-filter del failed"

# --- 5. server counters -------------------------------------------------------------------------
lw_server_stop "$LW_SRV_PID" "$SLOG"
lw_check_ge "ack" "$(lw_counter "$SLOG" ack)" 4
lw_check_eq "nak" "$(lw_counter "$SLOG" nak)" 0
lw_check_eq "drops" "$(lw_counter "$SLOG" drops)" 0
exit 0
