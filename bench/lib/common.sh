# Sourced (not run) by bench/lwbench.sh, bench/abmem.sh and bench/compare.sh: what they need
# to run leasewire-bench against leasewired or its reflector over vhost-user <-> virtio_user.
# Sourcing only defines (functions, defaults): a script sources it before parsing its options.
#
# The caller sets, before calling anything here:
#   prog    name for messages ("lwbench.sh")
#   build   the meson build directory
#   work    a temp dir it owns (sockets, configs, logs, JSON outputs): lwb_workdir makes it
# LWBENCH_LEASEWIRED, when set, is the leasewired binary to measure instead of the build's
# (an older daemon against the same generator, for a before/after comparison in one run).
# The caller gets from lwb_init: lwd, gen (the two binaries), cpus, gen_cpu (first CPU), srv_cpu
# (last CPU), EAL_COMMON, sock ($work/vhost.sock). Every process started here is appended to
# lwb_pids; lwb_cleanup_pids (call it from the caller's EXIT trap) stops those and only those.

lwb_pids=()

# The DORA workload (lwb_gen_dora; compare.sh's steps take the two figures): lwb_clients
# distinct clients, at most lwb_window sessions in flight. The pool of lwb_start_leasewired
# holds lwb_max_clients addresses (198.18.1.0 - 198.19.255.254).
lwb_clients=100000
lwb_window=224
lwb_max_clients=130000

lwb_die() {
	echo "$prog: $*" >&2
	exit 1
}

# lwb_check_clients: exit 2 (a usage error) when lwb_clients does not fit the pool.
lwb_check_clients() {
	if [ "$lwb_clients" -gt "$lwb_max_clients" ]; then
		echo "$prog: at most $lwb_max_clients clients fit the 198.18.0.0/15 pool" >&2
		exit 2
	fi
}

# lwb_workdir NAME [CLEANUP]: make $work, a temp dir NAME.XXXXXX in LWBENCH_TMP (default
# /var/tmp: strict durability must fsync a real disk, not tmpfs), and set the EXIT trap to
# CLEANUP (default lwb_cleanup: stop the processes started here, remove $work). A CLEANUP of
# the caller's own must do both.
lwb_workdir() {
	work=$(mktemp -d "${LWBENCH_TMP:-/var/tmp}/$1.XXXXXX")
	# shellcheck disable=SC2064	# a function's name, expanded now on purpose
	trap "${2:-lwb_cleanup}" EXIT
}

lwb_cleanup() {
	lwb_cleanup_pids
	rm -rf "$work"
}

# lwb_init MIN_HUGEPAGES: check binaries, root and hugepages; set the variables above.
lwb_init() {
	lwd=${LWBENCH_LEASEWIRED:-$build/controlplane/leasewired}
	gen=$build/bench/leasewire-bench
	local b
	for b in "$lwd" "$gen"; do
		[ -x "$b" ] || lwb_die "$b not built (ninja -C $build)"
	done
	[ "$(id -u)" = 0 ] || lwb_die "needs root (DPDK)"
	if [ "$(awk '/HugePages_Free/{print $2}' /proc/meminfo)" -lt "$1" ]; then
		lwb_die "fewer than $1 free 2 MiB hugepages (echo 256 > /proc/sys/vm/nr_hugepages)"
	fi
	read -r -a cpus < <(/usr/bin/python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')
	gen_cpu=${cpus[0]}
	srv_cpu=${cpus[${#cpus[@]} - 1]}
	EAL_COMMON=(--in-memory --no-pci --no-telemetry "--log-level=*:error" --single-file-segments)
	sock=$work/vhost.sock
}

lwb_cleanup_pids() {
	local p
	for p in "${lwb_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${lwb_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	lwb_pids=()
}

wait_for() {	# wait_for SECONDS DESCRIPTION COMMAND...
	local t=$1 what=$2 i
	shift 2
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "$prog: timed out waiting for $what" >&2
	return 1
}

# lwb_stop PID [SIGNAL [GRACE]]: signal one process we started, reap it, forget it; with
# GRACE (seconds), SIGKILL it if it is still there by then.
lwb_stop() {
	local p i keep=()
	kill -"${2:-TERM}" "$1" 2>/dev/null || true
	if [ -n "${3:-}" ]; then
		for ((i = 0; i < $3 * 10; i++)); do
			kill -0 "$1" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$1" 2>/dev/null || true
	fi
	wait "$1" 2>/dev/null || true
	for p in "${lwb_pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	lwb_pids=("${keep[@]}")
}

# lwb_start_reflect NAME: leasewire-bench --mode reflect on the server's CPU, serving $sock.
# Sets lwb_pid. Its JSON goes to $work/NAME.srv.json, its log to $work/NAME.srv.log. The
# options in lwb_reflect_args (e.g. --csum-offload) go to the reflector.
lwb_reflect_args=()
lwb_start_reflect() {
	local name=$1
	rm -f "$sock"
	"$gen" "${EAL_COMMON[@]}" --file-prefix=lwbench-srv --lcores="0@$srv_cpu" \
		--vdev="net_vhost0,iface=$sock,queues=1" -- --mode reflect --json --quiet \
		--label "$name" "${lwb_reflect_args[@]}" > "$work/$name.srv.json" \
		2> "$work/$name.srv.log" &
	lwb_pid=$!
	lwb_pids+=("$lwb_pid")
	wait_for 30 "the reflector's vhost socket" test -S "$sock"
}

# lwb_start_leasewired NAME DURABILITY STORE(0|1): leasewired with one worker serving $sock,
# pool 198.18.1.0 - 198.19.255.254 (130 k addresses of the benchmark range 198.18.0.0/15),
# worker lcore on the server's CPU, control lcore (and committer) on the generator's. With
# STORE=1 the LMDB store is $work/store (made empty first). Sets lwb_pid; log in
# $work/NAME.srv.log.
lwb_start_leasewired() {
	local name=$1 durability=$2 store=$3 store_json=""
	rm -f "$sock"
	rm -rf "$work/store"
	[ "$store" = 1 ] && store_json="\"store\": \"$work/store\","
	cat > "$work/$name.conf.json" <<JSON
{
  "server": { "workers": 1, "log-interval": 1, "idle-sleep-us": 0, "mbufs": 16383,
              "durability": "$durability", $store_json
              "control-socket": "$work/ctl.sock" },
  "ports": [ { "name": "vhost", "device": "net_vhost0,iface=$sock,queues=1",
               "interfaces": [ { "address": "198.18.0.1/15" } ] } ],
  "scopes": [ { "name": "bench", "subnet": "198.18.0.0/15",
                "pools": [ "198.18.1.0 - 198.19.255.254" ], "lease-time": 3600,
                "options": { "routers": [ "198.18.0.1" ], "domain-name-servers": [ "198.18.0.1" ],
                             "domain-name": "bench.leasewire.test" } } ]
}
JSON
	"$lwd" -c "$work/$name.conf.json" -- "${EAL_COMMON[@]}" --file-prefix=lwbench-srv \
		--lcores="0@$gen_cpu,1@$srv_cpu" 2> "$work/$name.srv.log" &
	lwb_pid=$!
	lwb_pids+=("$lwb_pid")
	wait_for 60 "leasewired ready ($name)" grep -qs "leasewired ready" "$work/$name.srv.log" || {
		cat "$work/$name.srv.log" >&2
		return 1
	}
}

# lwb_sched PID: one line per thread of process PID, "TID COMM RUN_NS WAIT_NS SLICES", from
# /proc/PID/task/*/schedstat: time on a CPU, and time runnable but waiting for one (another
# task had it). Two snapshots around a case say how much CPU the machine took from us.
lwb_sched() {
	local t comm st
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		st=$(cat "$t/schedstat" 2>/dev/null) || continue
		echo "${t##*/} ${comm// /_} $st"
	done
}

# lwb_gen_vhost OUT LOG [generator options...]: the generator on the first CPU against
# whatever serves $sock; its JSON summary to OUT, its stderr to LOG. lwb_vhost_devargs
# (e.g. ",queue_size=1024") is appended to the virtio_user devargs.
lwb_vhost_devargs=
lwb_gen_vhost() {
	local out=$1 log=$2
	shift 2
	lwb_gen_cmd "$out" "$log" \
		"virtio_user0,path=$sock,queues=1,mac=02:00:00:00:00:aa$lwb_vhost_devargs" "$@"
}

# lwb_gen_dora NAME SECONDS [generator options...]: the generator (lwb_gen_vhost) against
# whatever serves $sock for SECONDS, the DORA workload above, an exchange given up after 1 s
# and retried 3 times, labelled NAME; its JSON summary to $work/NAME.json, its stderr to
# $work/NAME.gen.log.
lwb_gen_dora() {
	local name=$1 secs=$2
	shift 2
	lwb_gen_vhost "$work/$name.json" "$work/$name.gen.log" --duration "$secs" \
		--clients "$lwb_clients" --window "$lwb_window" --timeout-ms 1000 --retries 3 \
		--label "$name" "$@"
}

# lwb_gen_cmd OUT LOG VDEV [generator options...] (with lwb_gen_prefix=(ip netns exec NS)
# to run it elsewhere): the generator on lcore 0 pinned to the first CPU, killed after
# lwb_gen_timeout seconds (default 120).
lwb_gen_prefix=()
lwb_gen_cmd() {
	local out=$1 log=$2 vdev=$3
	shift 3
	"${lwb_gen_prefix[@]}" timeout "${lwb_gen_timeout:-120}" "$gen" "${EAL_COMMON[@]}" --file-prefix=lwbench-gen \
		--lcores="0@$gen_cpu" --vdev="$vdev" -- --json --quiet "$@" > "$out" 2> "$log" || {
		echo "$prog: leasewire-bench failed ($out):" >&2
		cat "$log" >&2
		return 1
	}
}
