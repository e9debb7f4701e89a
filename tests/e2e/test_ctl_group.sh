#!/bin/bash
# server.control-socket-group works for a real non-root member of the group, with the
# socket in a directory leasewired creates itself (as the default /run/leasewire/ is):
# the member runs leasewirectl status and gets an answer; a user outside the group is
# refused by the kernel (permission denied), and the directory is 0750 root:GROUP.
#
#   test_ctl_group.sh [LEASEWIRED [SRCDIR]]
#
# It creates the group lwt-ctlgrp and the users lwt-ctlin (member) and lwt-ctlout (not),
# no home, no shell, and removes them at the end, failed or not.
. "$(dirname "$0")/lib.sh"
lw_init ctlgroup "$@"
lw_require setpriv
lw_require useradd
LEASEWIRECTL=$(dirname "$LEASEWIRED")/../client/leasewirectl
[ -x "$LEASEWIRECTL" ] || LEASEWIRECTL=$(dirname "$LEASEWIRED")/leasewirectl
[ -x "$LEASEWIRECTL" ] || lw_die "no leasewirectl beside $LEASEWIRED"

GRP=lwt-ctlgrp IN=lwt-ctlin OUT=lwt-ctlout
drop_accounts() {
	userdel "$IN" 2>/dev/null
	userdel "$OUT" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	return 0
}
trap 'r=$?; drop_accounts; (exit $r); lw_cleanup' EXIT
drop_accounts	# left over by an earlier killed run of this test: ours to delete
groupadd -r "$GRP" || lw_die "groupadd $GRP failed"
useradd -r -M -N -g nogroup -G "$GRP" -s /usr/sbin/nologin "$IN" || lw_die "useradd $IN failed"
useradd -r -M -N -g nogroup -s /usr/sbin/nologin "$OUT" || lw_die "useradd $OUT failed"

SRV=lwt-cg-s CLI=lwt-cg-c SIF=lwt-cg-s0 CIF=lwt-cg-c0
lw_lab_up $SRV $CLI $SIF $CIF

# The binaries and the socket's parents must be reachable by the two users.
chmod 0755 "$LW_T"
mkdir -m 0755 "$LW_T/pub"
cp "$LEASEWIRECTL" "$LW_T/pub/leasewirectl"
chmod 0755 "$LW_T/pub/leasewirectl"
SOCK="$LW_T/pub/run/leasewire.sock"

cat >"$LW_T/lw.json" <<EOF
{
  "server": { "workers": 1, "control-socket": "$SOCK", "control-socket-group": "$GRP" },
  "ports": [ { "name": "lab", "device": "net_af_packet0,iface=$SIF",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24", "pools": [ "198.18.0.100 - 198.18.0.199" ] } ]
}
EOF

as_user() {	# as_user USER CMD...: run CMD as USER with USER's supplementary groups
	local u=$1
	shift
	setpriv --reuid="$u" --regid=nogroup --init-groups --inh-caps=-all -- "$@"
}

for round in 1 2; do	# 2: the directory exists from the first start
	lw_server_start $SRV "$LW_T/lw.json" "$LW_T/lw.$round.log"
	lw_check_eq "socket directory mode, start $round" "$(stat -c '%a %U %G' "$LW_T/pub/run")" "750 root $GRP"
	lw_check_eq "socket mode, start $round" "$(stat -c '%a %G' "$SOCK")" "660 $GRP"
	out=$(as_user "$IN" "$LW_T/pub/leasewirectl" -s "$SOCK" status 2>&1) ||
		lw_die "member $IN could not use the socket: $out"
	grep -q "^pid: *[0-9]" <<<"$out" || lw_die "member's status answer unexpected: $out"
	lw_log "member $IN: status answered"
	if out=$(as_user "$OUT" "$LW_T/pub/leasewirectl" -s "$SOCK" status 2>&1); then
		lw_die "non-member $OUT was answered: $out"
	fi
	grep -qi "permission denied" <<<"$out" || lw_die "non-member's error unexpected: $out"
	lw_log "non-member $OUT: refused ($out)"
	if [ $round = 1 ]; then
		# config-write as a member: the file leasewired was started with, yes; another file
		# in its directory ($LW_T, not a directory of leasewire's own), never.
		for f in "$LW_T/ld.so.preload" "$LW_T/other.json"; do
			if out=$(as_user "$IN" "$LW_T/pub/leasewirectl" -s "$SOCK" config write "$f" 2>&1); then
				lw_die "config-write of $f was accepted: $out"
			fi
			[ ! -e "$f" ] || lw_die "config-write created $f"
			lw_log "config-write $f refused: $out"
		done
		grep -q "not a directory of leasewire's own" <<<"$out" || lw_die "unexpected refusal: $out"
		out=$(as_user "$IN" "$LW_T/pub/leasewirectl" -s "$SOCK" config write 2>&1) ||
			lw_die "config-write of the started file refused: $out"
		grep -q '"scopes"' "$LW_T/lw.json" || lw_die "config-write did not write lw.json"
	fi
	lw_server_stop "$LW_SRV_PID" "$LW_T/lw.$round.log"
done
