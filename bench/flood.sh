#!/bin/bash
# Flood measurement: 20 legitimate clients renew while a process sends DISCOVERs from random
# MACs as fast as one AF_PACKET socket goes (the e2e-flood test, full mode). Prints the flood
# rate and the share of renewals answered within 3 s; fails below 99 %.
#
#   bench/flood.sh [FRAMES] [LEASEWIRED]      (root; default: a million random MACs)
#
# CPU placement: the flood process on the first CPU, the server's worker on the last, its
# control lcore on the first; the renewing clients float. e2e tests share network-namespace
# names: run it under the same lock (flock /tmp/lw-e2e.lock bench/flood.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
FLOOD_FRAMES=${1:-1000000} exec /usr/bin/python3 "$here/../tests/e2e/test_flood.py" \
	"${2:-$here/../build/controlplane/leasewired}" "$here/.."
