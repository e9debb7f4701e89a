#!/bin/bash
# bench/lib/common.sh's own logic, without DPDK, root or hugepages: the work dir and its
# EXIT trap (lwb_workdir: made in LWBENCH_TMP, removed with the processes started at exit,
# a caller's own cleanup instead), the pool's limit (lwb_check_clients) and the DORA
# workload abmem.sh and lwbench.sh offer (lwb_gen_dora, against a stand-in generator that
# writes its arguments). Fails if any of them changes.
#   test_common.sh BENCH_SRC_DIR
set -uo pipefail
lib=$1/lib/common.sh
tmp=$(mktemp -d /tmp/lwt-bench-common.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# lwb_workdir: $work in LWBENCH_TMP, gone at exit with the process we started.
out=$(LWBENCH_TMP=$tmp bash -c '. "$1"; prog=t; lwb_workdir unit
	sleep 30 >/dev/null & lwb_pids+=($!); echo "$work $!"' _ "$lib")
read -r work pid <<< "$out"
[[ "$work" == "$tmp"/unit.?????? ]] || fail "lwb_workdir made '$work', not $tmp/unit.XXXXXX"
[ ! -e "$work" ] || fail "the work dir $work outlived the script"
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	fail "the process the script started ($pid) outlived it"
	kill "$pid"
fi
# A cleanup of the caller's own runs instead.
out=$(LWBENCH_TMP=$tmp bash -c '. "$1"; prog=t; mine() { echo "mine $work"; }
	lwb_workdir own mine' _ "$lib")
[[ "$out" == "mine $tmp"/own.?????? ]] || fail "the caller's cleanup did not run: '$out'"
rm -rf "$tmp"/own.*

# lwb_check_clients: the pool's 130000 addresses; more is a usage error (exit 2).
bash -c '. "$1"; prog=t; lwb_clients=130000; lwb_check_clients' _ "$lib" ||
	fail "130000 clients refused"
msg=$(bash -c '. "$1"; prog=t.sh; lwb_clients=130001; lwb_check_clients; echo went on' _ \
	"$lib" 2>&1)
rc=$?
[ "$rc" = 2 ] || fail "130001 clients: exit $rc, not 2"
[ "$msg" = "t.sh: at most 130000 clients fit the 198.18.0.0/15 pool" ] ||
	fail "130001 clients: '$msg'"

# lwb_gen_dora: the workload, as leasewire-bench receives it.
printf '#!/bin/sh\necho "$@"\n' > "$tmp/gen"
chmod +x "$tmp/gen"
got=$(LWBENCH_TMP=$tmp bash -c '. "$1"; prog=t; lwb_workdir dora; gen=$2; gen_cpu=0
	EAL_COMMON=(--in-memory); sock=$work/vhost.sock
	lwb_gen_dora case7 3 --ceiling 9 && cat "$work/case7.json"' _ "$lib" "$tmp/gen")
want="--in-memory --file-prefix=lwbench-gen --lcores=0@0"
want+=" --vdev=virtio_user0,path=$tmp/dora.XXXXXX/vhost.sock,queues=1,mac=02:00:00:00:00:aa"
want+=" -- --json --quiet --duration 3 --clients 100000 --window 224 --timeout-ms 1000"
want+=" --retries 3 --label case7 --ceiling 9"
got=$(sed -E 's#/dora\.[^/]{6}/#/dora.XXXXXX/#' <<< "$got")
[ "$got" = "$want" ] || fail "lwb_gen_dora ran: $got; want: $want"

[ "$fails" = 0 ] && echo "PASS: bench/lib/common.sh" && exit 0
exit 1
