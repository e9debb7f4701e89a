/*
 * worker_fix.h: the end of a test's data-plane runtime, for the tests that drive real
 * workers by hand on an EAL without hugepages (test_worker, test_conflict, fuzz_worker).
 * Header-only, for the unit and fuzz tests. The calling thread is an RCU reader (QSBR),
 * registered by the test's set-up, and the workers' call_rcu data is its own.
 */
#pragma once

#include <rte_eal.h>
#include <rte_mempool.h>

#include "rcu_fix.h"
#include "worker.h"

/**
 * Stop the ports, wait out a grace period for the records retired so far (the call_rcu
 * callbacks run), then free the binding table and the workers. Before the test frees what
 * the workers posted to (a committer, a store).
 */
static inline void wf_runtime_stop(struct dp_runtime *rt)
{
	dp_ports_stop(rt->snap->cfg, rt->ports);
	rcu_fix_barrier();
	bt_table_free(rt->table);
	dp_workers_deinit(rt);
}

/** Free the rest, after wf_runtime_stop() and the test's own: the call_rcu data, the
 *  snapshot, the thread's RCU registration, the mbuf pool and the EAL. */
static inline void wf_runtime_release(struct dp_runtime *rt)
{
	urcu_qsbr_set_thread_call_rcu_data(NULL);
	urcu_qsbr_call_rcu_data_free(rt->crdp);
	dp_snapshot_free(rt->snap);
	urcu_qsbr_unregister_thread();
	rte_mempool_free(rt->mp);
	rte_eal_cleanup();
}
