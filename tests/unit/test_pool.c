/*
 * pool: the order in which a slice hands out its addresses (holes, cursor, back), what counts
 * as queued, the rebuild from a binding table, and that a /8 costs no memory up front.
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bindings.h"
#include "config.h"
#include "pool.h"
#include "rcu_fix.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* .10-.29 and .40-.41; .15-.16 excluded, .20 reserved: 19 allocatable addresses. */
static const char *cfg_json =
	"{\"server\": {\"workers\": 2},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.10 - 198.18.0.29\", \"198.18.0.40 - 198.18.0.41\"],"
	"   \"exclusions\": [\"198.18.0.15 - 198.18.0.16\"],"
	"   \"reservations\": [{\"hw-address\": \"02:00:00:00:00:01\","
	"                      \"ip-address\": \"198.18.0.20\"}],"
	"   \"lease-time\": 600}]}";

static struct dp_config *parse(const char *json)
{
	char err[256];
	struct dp_config *c = cp_config_parse(json, err, sizeof(err));

	if (c == NULL) {
		fail_msg("config: %s", err);
	}
	return c;
}

/* Pop everything from worker @p w's slice: the addresses' last octets, in order. */
static unsigned drain(struct dp_pools *p, uint32_t w, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	uint32_t a;

	while (n < max && dp_slice_pop(p, w, 0, &a)) {
		out[n++] = a & 255;
	}
	return n;
}

/* Worker 0 owns the even ranks: .10 .12 .14 (.16 excluded) .18 (.20 reserved) .22 ... .28,
 * then .40; worker 1 the odd ones: .11 .13 (.15 excluded) .17 .19 .21 ... .29, .41. */
static void test_cursor_order(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 2);
	static const uint32_t w0[] = {10, 12, 14, 18, 22, 24, 26, 28, 40};
	static const uint32_t w1[] = {11, 13, 17, 19, 21, 23, 25, 27, 29, 41};
	uint32_t got[32];

	(void)state;
	assert_non_null(p);
	assert_int_equal(dp_slice_count(p, 0, 0), 9);
	assert_int_equal(dp_slice_count(p, 1, 0), 10);
	assert_true(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 28)));
	assert_false(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 16)));	/* excluded */
	assert_false(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 20)));	/* reserved */
	assert_int_equal(drain(p, 0, got, 32), 9);
	assert_memory_equal(got, w0, sizeof(w0));
	assert_int_equal(drain(p, 1, got, 32), 10);
	assert_memory_equal(got, w1, sizeof(w1));
	assert_int_equal(dp_slice_count(p, 0, 0), 0);
	assert_false(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 28)));
	dp_pools_free(p);
	dp_config_free(c);
}

/* A freed address goes to the back, after every never-used one; nothing is queued twice. */
static void test_back_after_cursor(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 1);
	uint32_t a, got[32];

	(void)state;
	assert_true(dp_slice_pop(p, 0, 0, &a));
	assert_int_equal(a, IP4(198, 18, 0, 10));
	assert_true(dp_slice_pop(p, 0, 0, &a));
	assert_int_equal(a, IP4(198, 18, 0, 11));
	/* Not handed out yet: already queued (at the cursor's side). */
	assert_false(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 25)));
	assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 11)));
	assert_false(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 11)));
	assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 10)));
	assert_true(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 10)));
	assert_int_equal(dp_slice_count(p, 0, 0), 19);
	assert_int_equal(drain(p, 0, got, 32), 19);
	assert_int_equal(got[0], 12);
	assert_int_equal(got[16], 41);
	assert_int_equal(got[17], 11);
	assert_int_equal(got[18], 10);
	assert_false(dp_slice_pop(p, 0, 0, &a));
	dp_pools_free(p);
	dp_config_free(c);
}

/* Addresses popped and given back in reverse order (dp_slice_unpop, engine.c lending) come
 * out again in the order they went, whichever list they came from: the cursor, then the back
 * list, and across the two. */
static void test_unpop_keeps_order(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 1);
	uint32_t a, v[32], got[32];
	unsigned n;

	(void)state;
	/* .10 .11 .12 from the cursor, back in reverse. */
	for (n = 0; n < 3; n++) {
		assert_true(dp_slice_pop(p, 0, 0, &v[n]));
	}
	assert_false(dp_slice_unpop(p, 0, 0, IP4(198, 18, 0, 25)));	/* still queued */
	while (n > 0) {
		assert_true(dp_slice_unpop(p, 0, 0, v[--n]));
	}
	assert_false(dp_slice_unpop(p, 0, 0, v[0]));	/* no twice */
	assert_int_equal(dp_slice_count(p, 0, 0), 19);
	/* Empty the cursor and free .13 and .10 again: the back list is [.13, .10]. */
	assert_int_equal(drain(p, 0, got, 32), 19);
	assert_memory_equal(got, ((uint32_t[]){10, 11, 12, 13}), 4 * sizeof(uint32_t));
	assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 13)));
	assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 10)));
	assert_true(dp_slice_pop(p, 0, 0, &v[0]));
	assert_true(dp_slice_unpop(p, 0, 0, v[0]));
	/* Then across the cursor's end: a fresh pool, its last two and the first freed one. */
	assert_int_equal(drain(p, 0, got, 32), 2);
	assert_int_equal(got[0], 13);
	assert_int_equal(got[1], 10);
	dp_pools_free(p);
	p = dp_pools_new(c, 1);
	assert_int_equal(drain(p, 0, got, 17), 17);
	assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 12)));
	for (n = 0; n < 3; n++) {
		assert_true(dp_slice_pop(p, 0, 0, &v[n]));
	}
	while (n > 0) {
		assert_true(dp_slice_unpop(p, 0, 0, v[--n]));
	}
	assert_int_equal(drain(p, 0, got, 32), 3);
	assert_memory_equal(got, ((uint32_t[]){40, 41, 12}), 3 * sizeof(uint32_t));
	assert_false(dp_slice_pop(p, 0, 0, &a));
	dp_pools_free(p);
	dp_config_free(c);
}

static void bind(struct bt_writer *w, uint32_t addr, uint8_t state, uint64_t ends)
{
	struct bt_binding *b = bt_record_get(w);

	assert_non_null(b);
	b->addr = addr;
	b->state = state;
	b->ends = ends;
	b->key.type = DP_KEY_HWADDR;
	b->key.len = 7;
	b->key.data[0] = 1;
	b->key.data[6] = (uint8_t)addr;
	if (state == BT_BACKUP) {
		b->key.len = 0;
	}
	assert_int_equal(bt_publish(w, bt_lookup_addr(w->table, addr), b), 0);
}

/* After a restart: free addresses below the highest bound one first (holes, in order), then
 * the never-used ones, then the ended ones by end. */
static void test_requeue(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 1);
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	uint32_t a, got[32];
	static const uint32_t want[] = {
		11, 13, 14, 17, 18,	/* holes: .12 bound, .14 BACKUP is free, .19 ended */
		22, 23, 24, 25, 26, 27, 28, 29, 40, 41,	/* cursor: after .21, the top */
		21, 19, 10,		/* ended, the longest-ended first */
	};

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 16), 0);
	bind(&w, IP4(198, 18, 0, 10), BT_EXPIRED, 300);
	bind(&w, IP4(198, 18, 0, 12), BT_ACTIVE, 900);
	bind(&w, IP4(198, 18, 0, 14), BT_BACKUP, 0);
	bind(&w, IP4(198, 18, 0, 19), BT_RELEASED, 200);
	bind(&w, IP4(198, 18, 0, 20), BT_ACTIVE, 900);	/* reserved: in no list */
	bind(&w, IP4(198, 18, 0, 21), BT_EXPIRED, 100);
	/* Swap order of the holes so that the list is visibly rebuilt, not kept. */
	assert_true(dp_slice_pop(p, 0, 0, &a));
	assert_true(dp_slice_push(p, 0, 0, a));
	assert_int_equal(dp_pools_requeue(p, t), 0);
	assert_int_equal(dp_slice_count(p, 0, 0), sizeof(want) / sizeof(want[0]));
	assert_false(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 12)));
	assert_true(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 11)));
	assert_true(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 19)));
	assert_int_equal(drain(p, 0, got, 32), sizeof(want) / sizeof(want[0]));
	assert_memory_equal(got, want, sizeof(want));
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
	dp_pools_free(p);
	dp_config_free(c);
}

/*
 * An address whose binding was RESET (an operator's "set ... state reset", or a failover
 * partner's) is free for any client, as EXPIRED and RELEASED ones are (engine.c free_for,
 * fo_pending): the rebuild after a restart or a configuration change must queue it with them.
 * It used to leave it out of every list for good (review5 finding 2): no reclaim frees an
 * ended record, and the requeue scan skipped RESET too.
 */
static void test_requeue_reset(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 1);
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	uint32_t got[32];
	unsigned n;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 16), 0);
	bind(&w, IP4(198, 18, 0, 10), BT_RESET, 300);
	bind(&w, IP4(198, 18, 0, 11), BT_EXPIRED, 200);
	bind(&w, IP4(198, 18, 0, 12), BT_ACTIVE, 900);
	assert_int_equal(dp_pools_requeue(p, t), 0);
	assert_true(dp_slice_queued(p, 0, 0, IP4(198, 18, 0, 10)));
	assert_int_equal(dp_slice_count(p, 0, 0), 18);	/* 19 allocatable, .12 bound */
	n = drain(p, 0, got, 32);
	assert_int_equal(n, 18);
	/* The ended ones last, the longest-ended first. */
	assert_int_equal(got[n - 2], 11);
	assert_int_equal(got[n - 1], 10);
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
	dp_pools_free(p);
	dp_config_free(c);
}

/* A worker's slice as a fresh pool hands it out, and the per-address arrays all zero. */
static void assert_as_new(struct dp_pools *p, struct dp_pools *fresh)
{
	uint32_t got[32], want[32];
	uint32_t a;

	for (uint32_t w = 0; w < 2; w++) {
		struct dp_slice *s = dp_pools_slice(p, w, 0);

		assert_int_equal(dp_slice_count(p, w, 0),
				 dp_slice_count(fresh, w, 0));
		assert_int_equal(s->b_count, 0);
		assert_int_equal(s->ask_wait, 0);
		assert_false(s->asking);
		for (uint32_t i = 0; i < s->size; i++) {
			assert_int_equal(s->link[i], 0);
		}
	}
	for (uint64_t r = 0; r < p->pools[0].total; r++) {
		assert_int_equal(atomic_load(&p->pools[0].freed_by[r]), 0);
	}
	for (uint32_t i = 0; i < DP_FREED_OTHER * 2; i++) {
		assert_int_equal(atomic_load(&p->pools[0].freed_other[i]), 0);
	}
	assert_false(dp_pool_lent(p, 0, IP4(198, 18, 0, 11)));
	for (uint32_t w = 0; w < 2; w++) {
		unsigned n = drain(p, w, got, 32);

		assert_int_equal(n, drain(fresh, w, want, 32));
		assert_memory_equal(got, want, n * sizeof(got[0]));
		assert_false(dp_slice_pop(p, w, 0, &a));
	}
}

/* dp_pools_reset() (the sequence fuzz harnesses, one input after another) leaves the pools
 * as dp_pools_new() built them, whatever was popped, pushed back, lent, borrowed or marked
 * freed: the next input must not see the last one's state, or a crash it finds would not
 * reproduce when its input is replayed alone. Twice, so that a reset of a reset is one too. */
static void test_pools_reset(void **state)
{
	struct dp_config *c = parse(cfg_json);
	struct dp_pools *p = dp_pools_new(c, 2);
	uint32_t a, got[32];

	(void)state;
	assert_non_null(p);
	for (int round = 0; round < 2; round++) {
		struct dp_pools *fresh = dp_pools_new(c, 2);
		struct dp_slice *s1 = dp_pools_slice(p, 1, 0);

		assert_non_null(fresh);
		/* Worker 0: holes popped, one freed back, one given back to the front. */
		assert_int_equal(drain(p, 0, got, 4), 4);
		assert_true(dp_slice_push(p, 0, 0, IP4(198, 18, 0, 12)));
		assert_true(dp_slice_pop(p, 0, 0, &a));
		assert_true(dp_slice_unpop(p, 0, 0, a));
		/* Worker 1 lends .11 to worker 0, which borrows it; a lend request is out. */
		assert_true(dp_slice_pop(p, 1, 0, &a));
		assert_false(dp_pool_set_lent(p, 0, a, true));	/* its previous mark */
		assert_true(dp_slice_borrow_push(p, 0, 0, a));
		s1->asking = true;
		s1->ask_wait = 7;
		atomic_store(&p->pools[0].freed_by[3], 42);
		atomic_store(&p->pools[0].freed_other[5], 43);

		dp_pools_reset(p);
		assert_as_new(p, fresh);
		dp_pools_free(fresh);
		dp_pools_reset(p);
	}
	dp_pools_free(p);
	dp_config_free(c);
}

static long resident_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A /8 pool (16.7 M addresses, 4 workers) costs no memory up front, and handing out and
 * freeing addresses costs memory for those only (issue 13 item 6: it used to cost 4 bytes of
 * free list per address at once, 64 MiB here). */
static void test_big_pool_lazy(void **state)
{
	struct dp_config *c = parse(
		"{\"server\": {\"workers\": 4},"
		" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
		"   \"interfaces\": [{\"address\": \"10.0.0.1/8\"}]}],"
		" \"scopes\": [{\"name\": \"big\", \"subnet\": \"10.0.0.0/8\","
		"   \"pools\": [\"10.0.0.2 - 10.255.255.254\"], \"lease-time\": 600}]}");
	long before = resident_kib();
	struct dp_pools *p = dp_pools_new(c, 4);
	uint32_t a = 0, last = 0;

	(void)state;
	assert_non_null(p);
	assert_int_equal((uint64_t)dp_slice_count(p, 0, 0) + dp_slice_count(p, 1, 0) +
			 dp_slice_count(p, 2, 0) + dp_slice_count(p, 3, 0), 16777213);
	for (int i = 0; i < 100000; i++) {
		assert_true(dp_slice_pop(p, 1, 0, &a));
		if (i % 2 == 0) {
			assert_true(dp_slice_push(p, 1, 0, a));
		}
		last = a;
	}
	assert_int_equal(last, IP4(10, 0, 0, 2) + 1 + 4 * 99999);
	assert_true(resident_kib() - before < 4096);
	dp_pools_free(p);
	dp_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_order),
		cmocka_unit_test(test_back_after_cursor),
		cmocka_unit_test(test_unpop_keeps_order),
		cmocka_unit_test(test_requeue),
		cmocka_unit_test(test_requeue_reset),
		cmocka_unit_test(test_big_pool_lazy),
		cmocka_unit_test(test_pools_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
