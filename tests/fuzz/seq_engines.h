/*
 * seq_engines: the real binding table and DHCP engines that fuzz_engine_seq and fuzz_ctl_seq
 * both drive (the workers played by the harness on its own thread): made once per process,
 * emptied and re-wired before each input without freeing the table, so that one input costs
 * microseconds and replays identically (the key hash seed is fixed).
 *
 * Include seq_env.h first (SEQ_HARNESS, CHECK). Test code only: everything runs on the
 * harness's one thread, registered with QSBR; the RCU context of each helper is stated.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Replayable owners and steering: the table's key hash seed is fixed. */
#define SEQ_TABLE_SEED 0x5eed5eed5eed5eedULL

/*
 * Register this thread with QSBR (it stays online), make the table for @p cfg's addresses
 * plus @p extra records, and @p n engines (calloc'd into e[], kept for the process) each with
 * a writer of @p stock records. Any failure aborts. @return the table (kept for the process).
 */
static inline struct bt_table *seq_engines_new(const struct dp_config *cfg, uint32_t extra,
					       struct dp_engine **e, uint32_t n, uint32_t stock)
{
	struct bt_table *t;

	urcu_qsbr_register_thread();
	t = bt_table_new(dp_config_capacity(cfg) + extra);
	CHECK(t != NULL, "table");
	t->seed = SEQ_TABLE_SEED;
	for (uint32_t i = 0; i < n; i++) {
		e[i] = calloc(1, sizeof(*e[i]));
		CHECK(e[i] != NULL, "engine");
		CHECK(bt_writer_init(&e[i]->writer, t, (uint8_t)i, stock) == 0, "writer");
	}
	return t;
}

struct seq_engines {
	struct dp_engine *const *e;
	uint32_t n;
};

NOCOV static inline bool seq_remove_cb(const struct bt_binding *b, void *arg)
{
	const struct seq_engines *w = arg;

	CHECK(b->owner < w->n, "record of %08x by worker %u", b->addr, b->owner);
	CHECK(bt_remove(&w->e[b->owner]->writer, b) == 0, "remove %08x", b->addr);
	return true;
}

/*
 * Remove every record of @p t through its owner's writer (e[0..n-1]), then report a quiescent
 * state. Call online (QSBR). Removed records come back to their writer after a grace period
 * (handed to RCU here: bt_writer_flush, in batches), onto its returned stack, which bt_record_get() takes when its stock runs dry.
 * @return true when a writer has fewer than @p low free records: the caller then waits for
 *         them all (urcu_qsbr_barrier(), offline), so that every input starts with at least
 *         @p low and none depends on the call_rcu thread's timing.
 */
NOCOV static inline bool seq_table_clear(struct bt_table *t, struct dp_engine *const *e,
					 uint32_t n, uint64_t low)
{
	struct seq_engines w = {e, n};
	bool is_low = false;

	bt_foreach(t, seq_remove_cb, &w);
	urcu_qsbr_quiescent_state();
	for (uint32_t i = 0; i < n; i++) {
		(void)bt_writer_flush(&e[i]->writer);	/* held retired records: to RCU */
		is_low |= bt_writer_free(&e[i]->writer) < low;
	}
	return is_low;
}

/*
 * Wire engine @p e as worker @p id of @p n for a fresh input: the table, the pools, its
 * counters and commit sink; no failover, no hand-over queued, no flood state, no tell
 * callback (the caller sets tell, tell_ctx and requeue_lost when it plays them).
 */
static inline void seq_engine_wire(struct dp_engine *e, uint32_t id, uint32_t n,
				   struct bt_table *t, struct dp_pools *pools,
				   struct dp_counters *ctr, const struct dp_commit_ops *ops,
				   void *ctx)
{
	e->id = id;
	e->n_workers = n;
	e->table = t;
	e->pools = pools;
	e->ctr = ctr;
	e->commit.ops = ops;
	e->commit.ctx = ctx;
	e->seq = 0;
	e->tell = NULL;
	e->tell_ctx = NULL;
	e->requeue_lost = NULL;
	e->fo = NULL;
	e->ho_head = e->ho_count = 0;
	memset(&e->flood, 0, sizeof(e->flood));
}

/*
 * The table invariants every record @p b of @p t keeps: found by its address, and its key
 * (if any) finds no other client's record (it may find a newer record of the same client, or
 * none: bindings.h). Call online (QSBR), from a bt_foreach() callback.
 */
NOCOV static inline void seq_check_record(struct bt_table *t, const struct bt_binding *b)
{
	const struct bt_binding *k;

	CHECK(bt_lookup_addr(t, b->addr) == b, "record of %08x not found by address", b->addr);
	if (b->key.len > 0) {
		k = bt_lookup_key(t, &b->key);
		CHECK(k == NULL || bt_key_equal(&k->key, &b->key),
		      "record of %08x: its key finds another client's record", b->addr);
	}
}
