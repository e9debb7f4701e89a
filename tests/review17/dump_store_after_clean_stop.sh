#!/bin/bash
# review17: leasewired --dump-store as the store's owner, in a parent directory that user can
# search but not read (mode 0711, as in tests/review16/dump_store_parent_unreadable.sh),
# after a strict leasewired stopped cleanly. Its stop applied every journal entry and left
# the journal directory with spare segments only ("*.wal" files, written ahead): nothing to
# replay, so the dump only reads. Since e3755eb a reader syncs the store's entries (the
# parent too) whenever the journal directory holds a segment file, replay or not, so the
# dump fails with "cannot sync PARENT, the directory's entry: Permission denied".
#   dump_store_after_clean_stop.sh BUILD_DIR     (root; under flock /tmp/lw-e2e.lock: it
#                                                 runs leasewired on a net_null port, which
#                                                 sends no frame anywhere)
set -uo pipefail
lwd=${1:?build dir}/controlplane/leasewired
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (setpriv to nobody)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
top=$(mktemp -d /tmp/r17-dump.XXXXXX)
cleanup() {
	rm -rf "$top"
}
trap cleanup EXIT
chmod 0755 "$top"
parent=$top/parent
store=$parent/store
mkdir "$parent"
cat >"$top/lw.json" <<JSON
{
  "server": { "workers": 1, "log-interval": 0, "store": "$store", "durability": "strict" },
  "ports": [ { "name": "null", "device": "net_null0",
               "interfaces": [ { "address": "198.18.0.1/24" } ] } ],
  "scopes": [ { "name": "lab", "subnet": "198.18.0.0/24",
                "pools": [ "198.18.0.100 - 198.18.0.199" ] } ]
}
JSON
# A clean stop after 3 s (--run-seconds): the applier's prefill has written a spare by then.
timeout -k 5 60 "$lwd" -c "$top/lw.json" -r 3 >"$top/lw.log" 2>&1 </dev/null ||
	{ echo "FAIL: leasewired did not run: $(tail -5 "$top/lw.log")"; exit 1; }
ls "$store/journal"/*.wal >/dev/null 2>&1 ||
	{ echo "SKIP: no segment file left in $store/journal"; exit 77; }
echo "journal after the clean stop: $(cd "$store/journal" && echo *)"
chown -R nobody:nogroup "$store"
chmod 0711 "$parent"
if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$lwd" --dump-store \
	"$store" 2>&1); then
	echo "PASS: dump after a clean stop"
	exit 0
fi
echo "FAIL: dump after a clean stop: $out"
exit 1
