/*
 * telemetry: leasewire's counters under DPDK telemetry (dpdk-telemetry.py, or any client of
 * the telemetry socket):
 *   /leasewire/stats            requests and replies by type, rx/tx, reclaims (summed)
 *   /leasewire/drops            every drop reason (summed)
 *   /leasewire/worker,<id>      one worker's rx, tx, steered, parked, drops
 *   /leasewire/store            the committer's counters and its commit latency and batch
 *                               size histograms (fixed buckets); empty without a store
 *
 * The callbacks run on DPDK's telemetry thread: they only read the workers' counters
 * (lock-free, see counters.h) and never touch the lease tables or the control state.
 */
#pragma once

#include "committer.h"
#include "worker.h"

/** Register the endpoints for @p rt and @p cm (NULL without a store); both are kept until
 *  cp_telemetry_detach(). @return 0 or negative. */
int cp_telemetry_register(const struct dp_runtime *rt, const struct committer *cm);

/** Stop answering with worker data (before the workers' memory goes). A callback already
 *  running may finish reading; callers stop the workers first and free them last. */
void cp_telemetry_detach(void);
