/*
 * Retiring records in batches (bindings.c "Retiring in batches"): a writer holds the records
 * it retires until a batch is full or bt_writer_flush() hands them to RCU, one call_rcu per
 * batch; after the grace period every record is back in its home writer's stock exactly
 * once (counted: taken + stock + held/in flight == records), spill records with their
 * bindings, records of another writer's chunks to that writer, and nothing is lost when
 * every batch descriptor is out.
 */
#include <assert.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bindings.h"
#include "bt_fix.h"
#include "rcu_fix.h"

#define BASE 0xc6120000u	/* 198.18.0.0 */

/* Publish a fresh record of @p w for client @p client at @p addr, replacing what is there. */
static struct bt_binding *put_binding(struct bt_table *t, struct bt_writer *w, uint32_t addr,
				      unsigned client, const struct dp_client_info *in)
{
	struct bt_binding *nb = bt_record_get(w);

	assert_non_null(nb);
	nb->addr = addr;
	bt_fix_key(&nb->key, client);
	assert_int_equal(bt_info_set(nb, in), 0);
	assert_int_equal(bt_publish(w, bt_lookup_addr(t, addr), nb), 0);
	return nb;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* Take every record the stock of @p w gives, check each comes once, give them all back.
 * @return how many. */
static uint64_t stock_distinct(struct bt_writer *w)
{
	struct bt_binding **v = calloc(w->n_records + 1, sizeof(struct bt_binding *)), *b;
	uint64_t n = 0;

	assert_non_null(v);
	while ((b = bt_record_get(w)) != NULL) {
		assert_true(n < w->n_records);
		assert_ptr_equal(b->chunk->w, w);
		v[n++] = b;
	}
	qsort(v, n, sizeof(struct bt_binding *), cmp_ptr);
	for (uint64_t i = 1; i < n; i++) {
		assert_ptr_not_equal(v[i], v[i - 1]);
	}
	for (uint64_t i = 0; i < n; i++) {
		bt_record_put(w, v[i]);
	}
	free(v);
	return n;
}

/* Fewer retires than a batch: nothing comes back, whatever the grace periods, until the
 * flush; then every record exactly once, in one call_rcu. */
static void retired_records_wait_for_the_flush(void **state)
{
	enum { R = 64, K = 10 };
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;

	(void)state;
	static_assert(K < BT_RETIRE_BATCH, "below a batch");
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, R), 0);
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w, BASE + i, i, NULL);
		put_binding(t, &w, BASE + i, i, NULL);	/* retires the first */
	}
	assert_int_equal(bt_writer_held(&w), K);
	assert_int_equal(w.n_batches, 0);
	assert_int_equal(bt_writer_free(&w), R - 2 * K);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), R - 2 * K);	/* still held */
	assert_int_equal(bt_writer_flush(&w), 0);
	assert_int_equal(bt_writer_held(&w), 0);
	assert_int_equal(w.n_batches, 1);
	assert_int_equal(bt_writer_flush(&w), 0);		/* nothing more to hand */
	assert_int_equal(w.n_batches, 1);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), R - K);
	assert_int_equal(stock_distinct(&w), R - K);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* A full batch goes to RCU by itself, without a flush. */
static void full_batch_goes_alone(void **state)
{
	enum { R = 2 * BT_RETIRE_BATCH + 8 };
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, R), 0);
	put_binding(t, &w, BASE, 1, NULL);
	for (unsigned i = 0; i < BT_RETIRE_BATCH; i++) {
		put_binding(t, &w, BASE, 1, NULL);
	}
	assert_int_equal(bt_writer_held(&w), 0);
	assert_int_equal(w.n_batches, 1);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), R - 1);
	put_binding(t, &w, BASE, 1, NULL);
	assert_int_equal(bt_writer_held(&w), 1);
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_int_equal(stock_distinct(&w), R - 1);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* A binding whose information spilled retires with its spill record: both held, both back,
 * each once, and a record taken again knows nothing of the old client. */
static void spill_records_come_back_with_their_records(void **state)
{
	enum { R = 64, K = 5 };
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	struct dp_client_info in;
	struct dp_client_info out;
	struct bt_binding *b;

	(void)state;
	memset(&in, 'h', sizeof(in));
	in.host_len = DP_INFO_HOST_MAX;		/* longer than a slot: spilled */
	in.vendor_len = in.circuit_len = in.policy_len = 0;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, R), 0);
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w, BASE + i, i, &in);
	}
	assert_int_equal(bt_writer_free(&w), R - 2 * K);
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w, BASE + i, i, NULL);
	}
	assert_int_equal(bt_writer_held(&w), 2 * K);
	assert_int_equal(bt_writer_free(&w), R - 3 * K);
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), R - K);
	assert_int_equal(stock_distinct(&w), R - K);
	while ((b = bt_record_get(&w)) != NULL) {
		bt_info_get(b, &out);
		assert_true(dp_info_empty(&out));
	}
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/*
 * A writer replaces records of other writers' chunks (addresses that changed hands): it holds
 * them in lists of its own, one per home (writers 0 and 4 share a slot: the first list is
 * handed over when the second needs the slot), never touching the homes' own state; each
 * record goes home after the flush and the grace period.
 */
static void records_of_other_writers_go_home(void **state)
{
	enum { R = 32, K = 3 };
	struct bt_table *t = bt_table_new(64);
	static struct bt_writer w0, w1, w4;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w0, t, 0, R), 0);
	assert_int_equal(bt_writer_init(&w1, t, 1, R), 0);
	assert_int_equal(bt_writer_init(&w4, t, 4, R), 0);
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w0, BASE + i, i, NULL);
		put_binding(t, &w4, BASE + 100 + i, 100 + i, NULL);
	}
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w1, BASE + i, 200 + i, NULL);
	}
	assert_int_equal(bt_writer_held(&w1), K);
	assert_int_equal(w1.n_batches, 0);
	for (unsigned i = 0; i < K; i++) {
		put_binding(t, &w1, BASE + 100 + i, 300 + i, NULL);
	}
	assert_int_equal(w1.n_batches, 1);		/* w0's list made room for w4's */
	assert_int_equal(bt_writer_held(&w1), K);
	assert_int_equal(bt_writer_held(&w0), 0);
	assert_int_equal(bt_writer_held(&w4), 0);
	assert_int_equal(bt_writer_flush(&w1), 0);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w0), R);
	assert_int_equal(bt_writer_free(&w4), R);
	assert_int_equal(bt_writer_free(&w1), R - 2 * K);
	assert_int_equal(stock_distinct(&w0), R);
	assert_int_equal(stock_distinct(&w4), R);
	assert_int_equal(stock_distinct(&w1), R - 2 * K);
	bt_table_free(t);
	bt_writer_deinit(&w0);
	bt_writer_deinit(&w1);
	bt_writer_deinit(&w4);
	urcu_qsbr_unregister_thread();
}

/*
 * Every descriptor out (this thread stays online without a quiescent state, so no grace
 * period ends): the open list grows past a batch, the flush says what it could not hand, a
 * record for another home goes alone through call_rcu; once the grace periods end,
 * everything comes back, each record once.
 */
static void all_batches_out_loses_nothing(void **state)
{
	enum { R = BT_RETIRE_DESC * BT_RETIRE_BATCH + 2 * BT_RETIRE_BATCH + 64, R4 = 8 };
	struct bt_table *t = bt_table_new(64);
	static struct bt_writer w, w4;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, R), 0);
	assert_int_equal(bt_writer_init(&w4, t, 4, R4), 0);
	put_binding(t, &w4, BASE + 1, 1, NULL);
	put_binding(t, &w, BASE, 0, NULL);
	for (unsigned i = 0; i < BT_RETIRE_DESC * BT_RETIRE_BATCH; i++) {
		put_binding(t, &w, BASE, 0, NULL);
	}
	assert_int_equal(w.n_batches, BT_RETIRE_DESC);
	assert_int_equal(bt_writer_held(&w), 0);
	for (unsigned i = 0; i < BT_RETIRE_BATCH + 5; i++) {
		put_binding(t, &w, BASE, 0, NULL);
	}
	assert_int_equal(w.n_batches, BT_RETIRE_DESC);
	assert_int_equal(bt_writer_held(&w), BT_RETIRE_BATCH + 5);
	assert_int_equal(bt_writer_flush(&w), BT_RETIRE_BATCH + 5);
	/* w4's record, in the slot w's own list holds: alone. */
	put_binding(t, &w, BASE + 1, 2, NULL);
	assert_int_equal(bt_writer_held(&w), BT_RETIRE_BATCH + 5);
	assert_int_equal(bt_writer_free(&w4), R4 - 1);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w4), R4);
	assert_int_equal(bt_writer_free(&w), R - 2 - (BT_RETIRE_BATCH + 5));
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), R - 2);
	assert_int_equal(stock_distinct(&w), R - 2);
	assert_int_equal(stock_distinct(&w4), R4);
	bt_table_free(t);
	bt_writer_deinit(&w);
	bt_writer_deinit(&w4);
	urcu_qsbr_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retired_records_wait_for_the_flush),
		cmocka_unit_test(full_batch_goes_alone),
		cmocka_unit_test(spill_records_come_back_with_their_records),
		cmocka_unit_test(records_of_other_writers_go_home),
		cmocka_unit_test(all_batches_out_loses_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
