#!/bin/bash
# RAM and LMDB bytes per binding, and time from start to serving, with many bindings
# (issue 13 item 6).
#
#   bindings.sh [BUILD-DIR [COUNT...]]        default: build 1000000 10000000
#
# For each COUNT, a store holding COUNT active bindings of one /8 scope (10.0.0.0/8, 16.7 M
# addresses; pcap files only: no frame reaches any network) is filled once with the store API
# (leasewire-bindings-fill; kept in $LW_BENCH_DIR, default /tmp/lw-bindings-bench, for the
# next run). leasewired then starts on it with one worker, a net_pcap port whose input is one
# DHCPDISCOVER from a new client, and runs for a few seconds. Printed per run:
#   start->serving  from exec to the OFFER appearing in the output pcap (polled every 2 ms),
#                   and the CPU time (user + system, all threads) leasewired used until then:
#                   on a shared machine the CPU time is the steadier figure;
#   RSS serving     the process's resident set when the OFFER appeared, and its peak (VmHWM);
#   RSS later       the resident set 3 s later, and its anonymous part (the process's own
#                   memory) and file part (mostly LMDB pages read at load: page cache the
#                   kernel can drop, shared with any reader of the store);
#   B/binding       anonymous memory per binding: (anon later - anon later of the same /8
#                   with an empty store) / COUNT, and (anon later - anon of a /24 with an
#                   empty store) / COUNT: the second counts what the /8 costs up front too;
#   LMDB B/binding  the data file's allocated blocks / COUNT (from the fill).
# LW_FILL_INFO=1: the bindings remember their clients (host name, vendor class; see
# bindings_fill.c): use another LW_BENCH_DIR for it, the filled stores are kept.
# Runs one leasewired at a time under nice; needs ~4 GB free at 10 M.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000000 10000000)
lw=$build/controlplane/leasewired
fill=$build/bench/leasewire-bindings-fill
dir=${LW_BENCH_DIR:-/tmp/lw-bindings-bench}
mkdir -p "$dir"

run() {	# run NAME SUBNET POOL STORE: one start, prints
	# "name serve_s rss_serving hwm rss_later anon_later file_later cpu_s" (bytes)
	local name=$1 subnet=$2 pool=$3 store=$4
	rm -f "$dir/out.pcap"
	cat > "$dir/$name.json" <<JSON
{
  "server": { "workers": 1, "log-interval": 0, "idle-sleep-us": 100, "mbufs": 4095,
              "durability": "relaxed", "store": "$store",
              "control-socket": "$dir/ctl.sock" },
  "ports": [ { "name": "bench",
               "device": "net_pcap0,rx_pcap=$dir/discover.pcap,tx_pcap=$dir/out.pcap",
               "interfaces": [ { "address": "${subnet%/*}" } ] } ],
  "scopes": [ { "name": "bench", "subnet": "$subnet", "pools": [ "$pool" ],
                "lease-time": 3600, "options": { "routers": [ "${subnet%.*}.1" ] } } ]
}
JSON
	sed -i "s|\"address\": \"\([0-9.]*\)\"|\"address\": \"${subnet%.*}.1/${subnet#*/}\"|" \
		"$dir/$name.json"
	/usr/bin/python3 - "$lw" "$dir/$name.json" "$dir/out.pcap" "$dir/$name.log" "$name" <<'PY'
import os, subprocess, sys, time
lw, cfg, out, log, name = sys.argv[1:]
def status(pid):
    v = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                v[k] = int(rest.split()[0]) * 1024
    return v
t0 = time.monotonic()
p = subprocess.Popen(["nice", "-n", "19", lw, "-c", cfg, "-r", "600", "--", "--no-huge", "-m",
                      "256", "--no-shconf", "--no-pci", "--log-level=*:error", "--lcores=0@0,1@1"],
                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))
serve = None
try:
    while time.monotonic() - t0 < 300:
        if p.poll() is not None:
            sys.exit("%s: leasewired exited (%s), see %s" % (name, p.returncode, log))
        try:
            if os.path.getsize(out) > 24:
                serve = time.monotonic() - t0
                break
        except OSError:
            pass
        time.sleep(0.002)
    if serve is None:
        sys.exit("%s: no answer within 300 s, see %s" % (name, log))
    at = status(p.pid)
    with open("/proc/%d/stat" % p.pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    time.sleep(3)
    later = status(p.pid)
finally:
    p.terminate()
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
print("%s %.3f %d %d %d %d %d %.2f" % (name, serve, at["VmRSS"], later["VmHWM"], later["VmRSS"],
                                      later["RssAnon"], later["RssFile"], cpu))
PY
}

mib() { awk -v b="$1" 'BEGIN { printf "%9.1f MiB", b / 1048576 }'; }

printf '%-9s %10s %8s %13s %13s %13s %13s %13s %10s %11s %9s\n' bindings start-serve cpu "RSS serving" \
	"RSS peak" "RSS later" "anon later" "file later" "B/bind(/8)" "B/bind(all)" "LMDB B/b"
"$fill" "$dir/empty" 0 10.0.0.2 "$dir/discover.pcap" > /dev/null
rm -rf "$dir/empty24"
read -r _ _ _ _ _ base24 _ _ < <(run base24 198.18.0.0/24 "198.18.0.10 - 198.18.0.250" "$dir/empty24")
for n in 0 "${counts[@]}"; do
	store=$dir/store-$n
	if [ ! -f "$store.filled" ]; then
		rm -rf "$store"
		nice -n 19 "$fill" "$store" "$n" 10.0.0.2 > "$store.fill.txt"
		touch "$store.filled"
	fi
	lmdb=$(sed -n 's/.* \([0-9.]*\) bytes per binding/\1/p' "$store.fill.txt")
	read -r _ serve rss hwm later anon file cpu < \
		<(run "n$n" 10.0.0.0/8 "10.0.0.2 - 10.255.255.254" "$store")
	[ "$n" = 0 ] && base8=$anon
	if [ "$n" = 0 ]; then
		per8=- perall=-
	else
		per8=$(( (anon - base8) / n )) perall=$(( (anon - base24) / n ))
	fi
	printf '%-9s %9.3fs %7.2fs %s %s %s %s %s %10s %11s %9s\n' "$n" "$serve" "$cpu" \
		"$(mib "$rss")" "$(mib "$hwm")" "$(mib "$later")" "$(mib "$anon")" "$(mib "$file")" \
		"$per8" "$perall" "${lmdb:--}"
done
echo "(anonymous RSS of a /24 scope with an empty store: $(mib "$base24"))"
