#!/bin/bash
# Quickstart: install, build, then let a real DHCP client get a lease from leasewired.
#
# Creates two network namespaces joined by a veth (lw-srv: leasewired on net_af_packet,
# lw-cli: ISC dhclient), runs leasewired on its built-in configuration (198.18.0.1/24, pool
# 198.18.0.100-199), prints the lease dhclient got, and tears everything down again.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

./scripts/setup.sh build

work=$(mktemp -d /tmp/leasewire-quickstart.XXXXXX)
lw_pid=""
cleanup() {
	if [ -n "$lw_pid" ] && kill -0 "$lw_pid" 2>/dev/null; then
		kill -TERM "$lw_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$lw_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$lw_pid" 2>/dev/null || true
	fi
	"$top/scripts/lab.sh" down lw-srv lw-cli
	rm -rf "$work"
}
trap cleanup EXIT

"$top/scripts/lab.sh" down lw-srv lw-cli
"$top/scripts/lab.sh" up lw-srv lw-cli lw-srv0 lw-cli0

echo "quickstart: starting leasewired (built-in configuration) in namespace lw-srv"
ip netns exec lw-srv "$top/build/controlplane/leasewired" --default 2> "$work/leasewired.log" &
lw_pid=$!
for _ in $(seq 100); do
	grep -q "leasewired ready" "$work/leasewired.log" && break
	kill -0 "$lw_pid" 2>/dev/null || { cat "$work/leasewired.log"; exit 1; }
	sleep 0.1
done
grep -q "leasewired ready" "$work/leasewired.log" || { cat "$work/leasewired.log"; exit 1; }

# dhclient with private files and a script that only records the lease: the stock
# dhclient-script would rewrite this host's /etc/resolv.conf.
cat > "$work/dhclient.conf" <<'CONF'
timeout 15;
retry 1;
initial-interval 1;
request subnet-mask, routers, domain-name-servers, domain-name, dhcp-lease-time,
	dhcp-server-identifier;
CONF
cat > "$work/lease-script.sh" <<SCRIPT
#!/bin/sh
case "\$reason" in BOUND|RENEW|REBIND|REBOOT)
	{ echo "address=\$new_ip_address"; echo "mask=\$new_subnet_mask"
	  echo "router=\$new_routers"; echo "server=\$new_dhcp_server_identifier"
	  echo "lease=\$new_dhcp_lease_time"; echo "dns=\$new_domain_name_servers"
	  echo "domain=\$new_domain_name"; } > "$work/lease.txt" ;;
esac
SCRIPT
chmod +x "$work/lease-script.sh"

echo "quickstart: running dhclient in namespace lw-cli"
timeout 20 ip netns exec lw-cli dhclient -1 -v -cf "$work/dhclient.conf" -sf "$work/lease-script.sh" \
	-lf "$work/dhclient.leases" -pf "$work/dhclient.pid" lw-cli0 2>&1 | grep -E "DHCP|bound" || true
if [ -f "$work/dhclient.pid" ]; then
	kill -TERM "$(cat "$work/dhclient.pid")" 2>/dev/null || true
fi
if [ ! -s "$work/lease.txt" ]; then
	echo "quickstart: FAILED, dhclient got no lease; leasewired said:" >&2
	cat "$work/leasewired.log" >&2
	exit 1
fi

# shellcheck disable=SC1091
. "$work/lease.txt"
cat <<EOT

  lease from leasewired
  ---------------------
  address            $address
  subnet mask        $mask
  router             $router
  server identifier  $server
  lease time         ${lease} s
  DNS servers        $dns
  domain             $domain

EOT
kill -TERM "$lw_pid"
wait "$lw_pid" || true
lw_pid=""
grep -E " final " "$work/leasewired.log" | sed 's/^/  /'
