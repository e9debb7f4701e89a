/*
 * Binding tables under concurrent readers and one writer.
 *
 * The writer replaces, re-keys and removes bindings as fast as it can while two readers look
 * them up. Each record carries a check value computed from its address and key; a reader
 * that ever saw a torn or recycled-too-early record would see a wrong check value. At the end
 * the tables must match the writer's shadow model exactly. Iteration counts bound the run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bindings.h"
#include "bt_fix.h"
#include "rcu_fix.h"

/* bt_info_get() of @p b into a buffer of the test's, valid until the next call. */
static const struct dp_client_info *info_of(const struct bt_binding *b)
{
	static struct dp_client_info out;

	bt_info_get(b, &out);
	return &out;
}


#define N_ADDR 512
#define N_CLIENTS 300
#define BASE 0xc6120000u	/* 198.18.0.0 */
#define WRITES 200000

static _Atomic int writer_done, readers_started;
static _Atomic unsigned long reader_errors, reader_hits;

static uint64_t check_of(uint32_t addr, const struct dp_client_key *k)
{
	static const struct bt_table unseeded;

	return ((uint64_t)addr << 20) ^ bt_key_hash(&unseeded, k);
}

struct reader_arg {
	struct bt_table *t;
	unsigned seed;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	unsigned long n = 0;

	urcu_qsbr_register_thread();
	atomic_fetch_add(&readers_started, 1);
	while (!atomic_load(&writer_done)) {
		uint32_t addr = BASE + (uint32_t)(rand_r(&a->seed) % N_ADDR);
		struct dp_client_key k;
		const struct bt_binding *b = bt_lookup_addr(a->t, addr);

		if (b != NULL) {
			atomic_fetch_add(&reader_hits, 1);
			if (b->addr != addr || b->ends != check_of(b->addr, &b->key)) {
				atomic_fetch_add(&reader_errors, 1);
			}
		}
		bt_fix_key(&k, (unsigned)rand_r(&a->seed) % N_CLIENTS);
		b = bt_lookup_key(a->t, &k);
		if (b != NULL && (!bt_key_equal(&b->key, &k) ||
				  b->ends != check_of(b->addr, &b->key))) {
			atomic_fetch_add(&reader_errors, 1);
		}
		if (++n % 64 == 0) {
			urcu_qsbr_quiescent_state();
		}
	}
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void concurrent_readers_one_writer(void **state)
{
	struct bt_table *t = bt_table_new(N_ADDR);
	struct bt_writer w;
	pthread_t th[2];
	struct reader_arg ra[2] = {{NULL, 1}, {NULL, 2}};
	int shadow[N_ADDR];		/* client holding each address, -1 = free */
	int latest[N_CLIENTS];		/* address index of each client's latest binding */
	unsigned seed = 42, in_addr = 0, in_key = 0;
	time_t deadline;
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct bt_binding *b;

	(void)state;
	assert_non_null(t);
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, N_ADDR * 4), 0);
	for (int i = 0; i < N_ADDR; i++) {
		shadow[i] = -1;
	}
	for (int i = 0; i < N_CLIENTS; i++) {
		latest[i] = -1;
	}
	for (int i = 0; i < 2; i++) {
		ra[i].t = t;
		assert_int_equal(pthread_create(&th[i], NULL, reader, &ra[i]), 0);
	}
	/* The writer must race live readers: wait (bounded, offline) until both run. */
	urcu_qsbr_thread_offline();
	for (int i = 0; i < 5000 && atomic_load(&readers_started) < 2; i++) {
		usleep(1000);
	}
	urcu_qsbr_thread_online();
	assert_int_equal(atomic_load(&readers_started), 2);

	/* At least WRITES changes, and more until the readers have really raced them (a
	 * loaded machine may not schedule them at first); bounded by a 30 s deadline. The count
	 * is of changes made: a round with an empty record stock (the call_rcu thread behind)
	 * waits instead of counting. */
	deadline = time(NULL) + 30;
	for (unsigned i = 0; (i < WRITES || atomic_load(&reader_hits) < 100000) &&
	     time(NULL) < deadline; i++) {
		unsigned ai = (unsigned)rand_r(&seed) % N_ADDR;
		unsigned client = (unsigned)rand_r(&seed) % N_CLIENTS;
		uint32_t addr = BASE + ai;
		const struct bt_binding *old = bt_lookup_addr(t, addr);

		if (old != NULL && rand_r(&seed) % 4 == 0) {
			unsigned holder = (unsigned)shadow[ai];

			assert_int_equal(bt_remove(&w, old), 0);
			if (latest[holder] == (int)ai) {
				latest[holder] = -1;
			}
			shadow[ai] = -1;
		} else {
			struct bt_binding *nb = bt_record_get(&w);

			if (nb == NULL) {
				/* Stock empty: let the grace period pass (offline, so the
				 * call_rcu thread can return records), and do not count it. */
				urcu_qsbr_thread_offline();
				usleep(100);
				urcu_qsbr_thread_online();
				i--;
				continue;
			}
			nb->addr = addr;
			nb->state = BT_ACTIVE;
			bt_fix_key(&nb->key, client);
			nb->ends = check_of(addr, &nb->key);
			if (shadow[ai] >= 0 && latest[shadow[ai]] == (int)ai) {
				latest[shadow[ai]] = -1;
			}
			assert_int_equal(bt_publish(&w, old, nb), 0);
			shadow[ai] = (int)client;
			latest[client] = (int)ai;
		}
		if (i % 16 == 0) {
			urcu_qsbr_quiescent_state();
		}
	}
	atomic_store(&writer_done, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}

	assert_int_equal(atomic_load(&reader_errors), 0);
	assert_true(atomic_load(&reader_hits) >= 100000);
	/* The tables equal the shadow model. */
	for (unsigned ai = 0; ai < N_ADDR; ai++) {
		const struct bt_binding *cur = bt_lookup_addr(t, BASE + ai);

		if (shadow[ai] < 0) {
			assert_null(cur);
		} else {
			struct dp_client_key k;

			assert_non_null(cur);
			bt_fix_key(&k, (unsigned)shadow[ai]);
			assert_true(bt_key_equal(&cur->key, &k));
		}
	}
	for (unsigned c = 0; c < N_CLIENTS; c++) {
		struct dp_client_key k;
		const struct bt_binding *cur;

		bt_fix_key(&k, c);
		cur = bt_lookup_key(t, &k);
		if (latest[c] < 0) {
			assert_null(cur);
		} else {
			assert_non_null(cur);
			assert_int_equal(cur->addr, BASE + (unsigned)latest[c]);
		}
	}
	cds_lfht_for_each(t->by_addr, &iter, node) {
		in_addr++;
	}
	cds_lfht_for_each(t->by_key, &iter, node) {
		b = caa_container_of(node, struct bt_binding, key_node);
		assert_ptr_equal(bt_lookup_addr(t, b->addr), b);	/* by_key ⊂ by_addr */
		in_key++;
	}
	assert_true(in_key <= in_addr);

	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

static void records_come_back_after_grace_period(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	struct bt_binding *nb;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 2), 0);
	nb = bt_record_get(&w);
	nb->addr = BASE + 1;
	bt_fix_key(&nb->key, 1);
	assert_int_equal(bt_publish(&w, NULL, nb), 0);
	nb = bt_record_get(&w);
	nb->addr = BASE + 1;
	bt_fix_key(&nb->key, 1);
	assert_int_equal(bt_publish(&w, bt_lookup_addr(t, BASE + 1), nb), 0);
	/* Both records are used (one retired, waiting for a grace period). */
	assert_null(bt_record_get(&w));
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_non_null(bt_record_get(&w));
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* Records and buckets follow the bindings: a writer gets more records from another thread
 * (bt_writer_grow), bt_writer_free counts what is left, and the tables grow (bt_table_reserve)
 * with every binding still found. */
static void writer_and_table_grow(void **state)
{
	struct bt_table *t = bt_table_new(1u << 16);
	struct bt_writer w;
	struct bt_binding *nb;
	unsigned long start = t->buckets;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 2), 0);
	assert_int_equal(bt_writer_free(&w), 2);
	for (uint32_t i = 0; i < 20000; i++) {
		nb = bt_record_get(&w);
		if (nb == NULL) {
			assert_int_equal(bt_writer_free(&w), 0);
			assert_int_equal(bt_writer_grow(&w, 1000), 0);
			assert_int_equal(bt_writer_free(&w), 1000);
			nb = bt_record_get(&w);
		}
		assert_non_null(nb);
		nb->addr = BASE + i;
		bt_fix_key(&nb->key, i);
		assert_int_equal(bt_publish(&w, NULL, nb), 0);
		if (i == 10000) {
			bt_table_reserve(t, i);
		}
	}
	assert_true(start < 8192);
	assert_int_equal(t->buckets, 8192);
	bt_table_reserve(t, 1u << 20);		/* never beyond the capacity */
	assert_int_equal(t->buckets, 1u << 16);
	for (uint32_t i = 0; i < 20000; i++) {
		struct dp_client_key k;

		bt_fix_key(&k, i);
		assert_non_null(bt_lookup_addr(t, BASE + i));
		assert_ptr_equal(bt_lookup_key(t, &k), bt_lookup_addr(t, BASE + i));
	}
	assert_int_equal(w.n_records, 2 + 20 * 1000);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

static uint64_t bit_reverse64(uint64_t v)
{
	uint64_t r = 0;

	for (int i = 0; i < 64; i++, v >>= 1) {
		r = r << 1 | (v & 1);
	}
	return r;
}

/* Whether @p n is in the chain that starts at bucket node @p a[hash & (size - 1)], before the
 * first node ordered after it: what rculfhash's own walks would find. */
static bool in_bucket_chain(const struct cds_lfht_node *a, unsigned long size,
			    const struct cds_lfht_node *n)
{
	uint64_t hash = bit_reverse64(n->reverse_hash);
	const struct cds_lfht_node *it = &a[hash & (size - 1)];

	for (int steps = 0; steps < 1000; steps++) {
		it = (const struct cds_lfht_node *)((uintptr_t)it->next & ~(uintptr_t)7);
		if (it == NULL || it->reverse_hash > n->reverse_hash) {
			return false;
		}
		if (it == n) {
			return true;
		}
	}
	return false;
}

/* bt_warm_key_*() index the bucket arrays bt_table keeps (addr_buckets, key_buckets) as
 * rculfhash does: every published node is in the chain of its bucket there, in a table that
 * fits its array at creation (calloc()ed by rculfhash) and in one that grew (mmap()ed), and
 * warming any key, present or not, reads only bucket nodes and live records (ASan). */
static void warm_buckets_are_the_tables(void **state)
{
	static const uint64_t caps[] = {64, 1u << 16};

	(void)state;
	urcu_qsbr_register_thread();
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct bt_table *t = bt_table_new(caps[c]);
		struct bt_writer w;
		uint32_t n = caps[c] < 5000 ? (uint32_t)caps[c] : 5000;

		assert_int_equal(bt_writer_init(&w, t, 0, n), 0);
		for (uint32_t i = 0; i < n; i++) {
			struct bt_binding *nb = bt_record_get(&w);

			assert_non_null(nb);
			nb->addr = BASE + i;
			bt_fix_key(&nb->key, i);
			assert_int_equal(bt_publish(&w, NULL, nb), 0);
			if (i == n / 2) {
				bt_table_reserve(t, caps[c]);
			}
		}
		for (uint32_t i = 0; i < n + 100; i++) {
			struct dp_client_key k;
			const struct bt_binding *b;
			uint64_t h;

			bt_fix_key(&k, i);
			h = bt_key_hash(t, &k);
			bt_warm_key_bucket(t, h);
			bt_warm_key_chain(t, h);
			bt_warm_key_found(t, &k, h);
			b = bt_lookup_key(t, &k);
			if (i >= n) {
				assert_null(b);
				continue;
			}
			assert_non_null(b);
			assert_true(in_bucket_chain(t->key_buckets, t->buckets, &b->key_node));
			assert_true(in_bucket_chain(t->addr_buckets, t->buckets, &b->addr_node));
		}
		bt_table_free(t);
		bt_writer_deinit(&w);
	}
	urcu_qsbr_unregister_thread();
}

/* Loading: whatever the order the bindings come in, a client's latest one (by start) holds
 * its by_key entry; the others stay in by_addr. */
static void loaded_latest_start_wins(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	static const uint64_t starts[] = {200, 100, 300, 250};
	struct dp_client_key k;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 8), 0);
	bt_fix_key(&k, 7);
	for (uint32_t i = 0; i < 4; i++) {
		struct bt_binding *nb = bt_record_get(&w);

		nb->addr = BASE + i;
		nb->start = starts[i];
		bt_fix_key(&nb->key, 7);
		assert_int_equal(bt_publish_loaded(&w, nb), 0);
		assert_int_equal(bt_lookup_key(t, &k)->start, i < 2 ? 200 : 300);
	}
	assert_int_equal(bt_lookup_key(t, &k)->addr, BASE + 2);
	for (uint32_t i = 0; i < 4; i++) {
		assert_non_null(bt_lookup_addr(t, BASE + i));
	}
	/* An address loaded twice: refused, nothing changed. */
	{
		struct bt_binding *nb = bt_record_get(&w);

		nb->addr = BASE + 1;
		nb->start = 999;
		bt_fix_key(&nb->key, 7);
		assert_int_equal(bt_publish_loaded(&w, nb), -EAGAIN);
		bt_record_put(&w, nb);
		assert_int_equal(bt_lookup_key(t, &k)->addr, BASE + 2);
	}
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* The bulk load (split order) ends where one-by-one loading ends: every address in by_addr
 * with its own record, each client's latest binding in by_key whatever the order given, the
 * records of two writers each going home to its own; an address given twice is refused and
 * its record given back. */
static void loaded_bulk_matches_one_by_one(void **state)
{
	enum { N = 6000, CLIENTS = 2500 };
	struct bt_table *t = bt_table_new(N);
	struct bt_writer w[2];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct bt_binding **recs = calloc(N + 1, sizeof(*recs));
	uint64_t latest[CLIENTS] = {0};
	uint32_t latest_addr[CLIENTS] = {0};
	uint64_t free1;

	(void)state;
	assert_non_null(recs);
	urcu_qsbr_register_thread();
	bt_table_reserve(t, N);
	assert_int_equal(bt_writer_init(&w[0], t, 0, N / 2 + 1), 0);
	assert_int_equal(bt_writer_init(&w[1], t, 1, N / 2 + 1), 0);
	for (uint32_t i = 0; i < N; i++) {
		/* Addresses and starts in a scrambled order; start unique per binding. */
		uint32_t a = (i * 7919u) % N;	/* 7919 is prime: a permutation */
		unsigned client = (a * 7u) % CLIENTS;
		struct bt_binding *nb = bt_record_get(&w[a & 1]);

		nb->addr = BASE + a;
		nb->start = 1000 + ((uint64_t)a * 40503u) % 100003u * 8 + (a & 7);
		bt_fix_key(&nb->key, client);
		if (a % 97 == 0) {
			nb->key.len = 0;	/* no client: by_addr only */
		} else if (nb->start > latest[client]) {
			latest[client] = nb->start;
			latest_addr[client] = nb->addr;
		}
		recs[i] = nb;
	}
	recs[N] = bt_record_get(&w[1]);
	recs[N]->addr = BASE + 5;	/* twice */
	bt_fix_key(&recs[N]->key, 1);
	free1 = bt_writer_free(&w[1]);
	assert_int_equal(bt_publish_loaded_bulk(t, recs, N + 1), 1);
	assert_int_equal(bt_writer_free(&w[1]), free1 + 1);
	for (uint32_t a = 0; a < N; a++) {
		const struct bt_binding *b = bt_lookup_addr(t, BASE + a);

		assert_non_null(b);
		assert_int_equal(b->addr, BASE + a);
		assert_int_equal(b->owner, a & 1);
		assert_ptr_equal(b->chunk->w, &w[a & 1]);
	}
	for (unsigned c = 0; c < CLIENTS; c++) {
		struct dp_client_key k;
		const struct bt_binding *b;

		bt_fix_key(&k, c);
		b = bt_lookup_key(t, &k);
		if (latest[c] == 0) {
			assert_null(b);
		} else {
			assert_non_null(b);
			assert_int_equal(b->addr, latest_addr[c]);
		}
	}
	bt_table_free(t);
	bt_writer_deinit(&w[0]);
	bt_writer_deinit(&w[1]);
	free(recs);
	urcu_qsbr_unregister_thread();
}

/* A helper thread of bt_bulk_publish(), as the store load's (registered, online). */
static void *bulk_helper(void *arg)
{
	urcu_qsbr_register_thread();
	bt_bulk_publish(arg, false);
	urcu_qsbr_unregister_thread();
	return NULL;
}

/* One bulk, published by this thread and a helper at once: @p n addresses from BASE + 1 in
 * increasing order, each client (@p clients of them) holding several with unique starts in a
 * scrambled order, every 13th without a client; addresses BASE + 1 .. @p pre published one
 * by one before the bulk for client @p clients, and in the bulk again for that client,
 * starting later (refused). Checks every address and each client's latest.
 * @return the bulk's refused count. */
static size_t bulk_two_threads(uint32_t n, unsigned clients, uint32_t pre)
{
	struct bt_table *t = bt_table_new(n + 1);
	struct bt_writer w[2];
	uint64_t *latest = calloc(clients + 1, sizeof(*latest));
	uint32_t *latest_addr = calloc(clients + 1, sizeof(*latest_addr));
	struct bt_bulk *bk;
	pthread_t th;
	size_t refused, n_latest = 0;
	uint64_t free0, free1;
	long before, after;
	unsigned long count;

	assert_non_null(latest);
	assert_non_null(latest_addr);
	bt_table_reserve(t, n + 1);
	assert_int_equal(bt_writer_init(&w[0], t, 0, n / 2 + pre + 2), 0);
	assert_int_equal(bt_writer_init(&w[1], t, 1, n / 2 + pre + 2), 0);
	for (uint32_t a = 1; a <= pre; a++) {
		/* Published before: a client that is in the bulk too, starting later there. */
		struct bt_binding *nb = bt_record_get(&w[a & 1]);

		nb->addr = BASE + a;
		nb->start = 1;
		bt_fix_key(&nb->key, clients);
		assert_int_equal(bt_publish_loaded(&w[a & 1], nb), 0);
	}
	bk = bt_bulk_new(t, n);
	assert_non_null(bk);
	for (uint32_t a = 1; a <= n; a++) {
		unsigned client = (a * 7919u) % clients;
		struct bt_binding *nb = bt_record_get(&w[a & 1]);

		nb->addr = BASE + a;
		nb->start = 1000 + ((uint64_t)a * 40503u) % 100003u * 8 + (a & 7);
		bt_fix_key(&nb->key, a <= pre ? clients : client);
		if (a % 13 == 0) {
			nb->key.len = 0;
		} else if (a > pre && nb->start > latest[client]) {
			latest[client] = nb->start;
			latest_addr[client] = nb->addr;
		}
		assert_int_equal(bt_bulk_add(bk, nb), 0);
	}
	assert_int_equal(bt_bulk_count(bk), n);
	assert_true(bt_bulk_parallel(bk));
	free0 = bt_writer_free(&w[0]);
	free1 = bt_writer_free(&w[1]);
	assert_int_equal(pthread_create(&th, NULL, bulk_helper, bk), 0);
	bt_bulk_publish(bk, true);
	assert_int_equal(pthread_join(th, NULL), 0);
	refused = bt_bulk_end(bk);
	/* The refused went home, each to its writer. */
	assert_int_equal(bt_writer_free(&w[0]) + bt_writer_free(&w[1]), free0 + free1 + refused);
	for (uint32_t a = 1; a <= n; a++) {
		const struct bt_binding *b = bt_lookup_addr(t, BASE + a);

		assert_non_null(b);
		assert_int_equal(b->addr, BASE + a);
		assert_int_equal(b->owner, a & 1);
		assert_int_equal(b->start, a <= pre ? 1 : b->start);
	}
	for (unsigned c = 0; c <= clients; c++) {
		struct dp_client_key k;
		const struct bt_binding *b;

		bt_fix_key(&k, c);
		b = bt_lookup_key(t, &k);
		n_latest += latest[c] != 0;
		if (latest[c] == 0) {
			/* No binding in the bulk; or the client published before, whose refused
			 * records took its by_key place and were taken out again (bt_bulk_end):
			 * no record left in by_key that is not in by_addr. */
			assert_null(b);
		} else {
			assert_non_null(b);
			assert_int_equal(b->addr, latest_addr[c]);
			assert_ptr_equal(bt_lookup_addr(t, b->addr), b);
		}
	}
	/* Nothing else in by_key (a refused record left there would be reused while linked). */
	cds_lfht_count_nodes(t->by_key, &before, &count, &after);
	assert_int_equal(count, n_latest);
	bt_table_free(t);
	bt_writer_deinit(&w[0]);
	bt_writer_deinit(&w[1]);
	free(latest);
	free(latest_addr);
	return refused;
}

/* The bulk load on two threads (the store load's): several units of inserts shared out,
 * an odd count, clients with several bindings (one hash each: the unit boundaries must keep
 * them together for the latest to win), bindings without a client; a bulk of one record and
 * an empty one; addresses that already had a record refused and taken out of by_key. */
static void bulk_two_threads_matches_one_by_one(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	struct bt_bulk *bk;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bulk_two_threads(100001, 9001, 0), 0);
	assert_int_equal(bulk_two_threads(1, 1, 0), 0);
	assert_int_equal(bulk_two_threads(40001, 20011, 3), 3);

	/* Empty: nothing to publish, nothing refused; no bulk of 0. */
	assert_null(bt_bulk_new(t, 0));
	bk = bt_bulk_new(t, 8);
	assert_non_null(bk);
	assert_int_equal(bt_bulk_count(bk), 0);
	bt_bulk_publish(bk, true);
	assert_int_equal(bt_bulk_end(bk), 0);
	/* Out of order: not for two threads. */
	assert_int_equal(bt_writer_init(&w, t, 0, 4), 0);
	bk = bt_bulk_new(t, 8);
	assert_non_null(bk);
	for (uint32_t a = 2; a > 0; a--) {
		struct bt_binding *nb = bt_record_get(&w);

		nb->addr = BASE + a;
		assert_int_equal(bt_bulk_add(bk, nb), 0);
	}
	assert_false(bt_bulk_parallel(bk));
	bt_bulk_abort(bk);
	assert_int_equal(bt_writer_free(&w), 4);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* Two writers that read the same record: the second publish changes nothing. */
static void stale_publish_is_refused(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w1, w2;
	struct bt_binding *r, *a, *b;
	const struct bt_binding *seen;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w1, t, 0, 4), 0);
	assert_int_equal(bt_writer_init(&w2, t, 1, 4), 0);
	r = bt_record_get(&w1);
	r->addr = BASE + 7;
	bt_fix_key(&r->key, 1);
	assert_int_equal(bt_publish(&w1, NULL, r), 0);
	seen = bt_lookup_addr(t, BASE + 7);		/* both writers read r */
	a = bt_record_get(&w1);
	a->addr = BASE + 7;
	bt_fix_key(&a->key, 2);
	assert_int_equal(bt_publish(&w1, seen, a), 0);
	b = bt_record_get(&w2);
	b->addr = BASE + 7;
	bt_fix_key(&b->key, 3);
	assert_int_equal(bt_publish(&w2, seen, b), -EAGAIN);	/* r is gone: refused */
	assert_ptr_equal(bt_lookup_addr(t, BASE + 7), a);
	bt_record_put(&w2, b);
	/* A second add where there was none is refused too. */
	b = bt_record_get(&w2);
	b->addr = BASE + 7;
	bt_fix_key(&b->key, 3);
	assert_int_equal(bt_publish(&w2, NULL, b), -EAGAIN);
	bt_record_put(&w2, b);
	assert_int_equal(bt_remove(&w2, seen), -EAGAIN);	/* removing a stale record too */
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w1);
	bt_writer_deinit(&w2);
	urcu_qsbr_unregister_thread();
}

/* bt_publish_found() with the places of bt_lookup_addr_at() and bt_lookup_key_at(): the
 * tables as bt_publish() leaves them, for a client that moves (its key's node replaced), a
 * new client (none found: added) and a record with no client (never in by_key). */
static void publish_found_uses_both_places(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	struct bt_binding *r, *b;
	const struct bt_binding *seen;
	struct bt_addr_pos pos;
	struct bt_key_pos kpos;
	struct dp_client_key k;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 8), 0);
	r = bt_record_get(&w);
	r->addr = BASE + 1;
	bt_fix_key(&r->key, 1);
	assert_int_equal(bt_publish(&w, NULL, r), 0);
	/* The client moves to BASE + 2. */
	assert_ptr_equal(bt_lookup_key_at(t, &r->key, &kpos), r);
	assert_true(kpos.hash == bt_key_hash(t, &r->key));
	seen = bt_lookup_addr_at(t, BASE + 2, &pos);
	assert_null(seen);
	b = bt_record_get(&w);
	b->addr = BASE + 2;
	bt_fix_key(&b->key, 1);
	assert_int_equal(bt_publish_found(&w, seen, &pos, &kpos, b), 0);
	assert_true(b->key_hash == bt_key_hash(t, &b->key));
	assert_ptr_equal(bt_lookup_key(t, &b->key), b);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 2), b);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 1), r);	/* stays in by_addr */
	/* A new client, on the address it had: none found for its key, added. */
	bt_fix_key(&k, 6);
	assert_null(bt_lookup_key_at(t, &k, &kpos));
	seen = bt_lookup_addr_at(t, BASE + 1, &pos);
	b = bt_record_get(&w);
	b->addr = BASE + 1;
	b->key = k;
	assert_int_equal(bt_publish_found(&w, seen, &pos, &kpos, b), 0);
	assert_ptr_equal(bt_lookup_key(t, &k), b);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 1), b);
	assert_ptr_equal(bt_lookup_key(t, &r->key)->addr, BASE + 2);
	/* No client: by_addr only. */
	memset(&k, 0, sizeof(k));
	assert_null(bt_lookup_key_at(t, &k, &kpos));
	seen = bt_lookup_addr_at(t, BASE + 3, &pos);
	b = bt_record_get(&w);
	b->addr = BASE + 3;
	assert_int_equal(bt_publish_found(&w, seen, &pos, &kpos, b), 0);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 3), b);
	assert_null(bt_lookup_key(t, &k));
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* bt_publish() of a record with the key of the one it replaces (an ACK after its offer):
 * replaced in by_key where the writer linked it; and when a later binding of the client
 * (at another address) has taken the key's place since, that one is replaced, as a walk of
 * by_key finds it. */
static void same_key_replace_follows_the_key(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	struct bt_binding *a, *b, *c, *d;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 8), 0);
	a = bt_record_get(&w);
	a->addr = BASE + 1;
	bt_fix_key(&a->key, 1);
	assert_int_equal(bt_publish(&w, NULL, a), 0);
	b = bt_record_get(&w);
	b->addr = BASE + 1;
	bt_fix_key(&b->key, 1);
	assert_int_equal(bt_publish(&w, a, b), 0);
	assert_true(b->key_hash == bt_key_hash(t, &b->key));
	assert_ptr_equal(bt_lookup_key(t, &b->key), b);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 1), b);
	/* The client takes BASE + 2; b stays in by_addr, out of by_key. */
	c = bt_record_get(&w);
	c->addr = BASE + 2;
	bt_fix_key(&c->key, 1);
	assert_int_equal(bt_publish(&w, NULL, c), 0);
	assert_ptr_equal(bt_lookup_key(t, &c->key), c);
	/* b replaced with the same key: the key's node (c's) is the one replaced. */
	d = bt_record_get(&w);
	d->addr = BASE + 1;
	bt_fix_key(&d->key, 1);
	assert_int_equal(bt_publish(&w, b, d), 0);
	assert_ptr_equal(bt_lookup_key(t, &d->key), d);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 1), d);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 2), c);
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* bt_publish_found() from a place found before another writer replaced or removed the record:
 * refused, the tables as the other writer left them; from a fresh place it replaces. */
static void stale_place_is_refused(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w1, w2;
	struct bt_binding *r, *a, *b;
	const struct bt_binding *seen;
	struct bt_addr_pos pos, pos2;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w1, t, 0, 8), 0);
	assert_int_equal(bt_writer_init(&w2, t, 1, 8), 0);
	r = bt_record_get(&w1);
	r->addr = BASE + 9;
	bt_fix_key(&r->key, 1);
	assert_int_equal(bt_publish(&w1, NULL, r), 0);
	seen = bt_lookup_addr_at(t, BASE + 9, &pos);	/* w2's place, then w1 replaces r */
	assert_ptr_equal(seen, r);
	a = bt_record_get(&w1);
	a->addr = BASE + 9;
	bt_fix_key(&a->key, 2);
	assert_int_equal(bt_publish(&w1, seen, a), 0);
	b = bt_record_get(&w2);
	b->addr = BASE + 9;
	bt_fix_key(&b->key, 3);
	assert_int_equal(bt_publish_found(&w2, seen, &pos, NULL, b), -EAGAIN);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 9), a);
	assert_null(bt_lookup_key(t, &b->key));
	/* Removed since the lookup: refused too, and nothing comes back. */
	seen = bt_lookup_addr_at(t, BASE + 9, &pos);
	assert_int_equal(bt_remove(&w1, seen), 0);
	assert_int_equal(bt_publish_found(&w2, seen, &pos, NULL, b), -EAGAIN);
	assert_null(bt_lookup_addr(t, BASE + 9));
	bt_record_put(&w2, b);
	/* A fresh place replaces, and the key index follows. */
	r = bt_record_get(&w1);
	r->addr = BASE + 9;
	bt_fix_key(&r->key, 4);
	assert_int_equal(bt_publish(&w1, NULL, r), 0);
	seen = bt_lookup_addr_at(t, BASE + 9, &pos2);
	b = bt_record_get(&w1);
	b->addr = BASE + 9;
	bt_fix_key(&b->key, 5);
	assert_int_equal(bt_publish_found(&w1, seen, &pos2, NULL, b), 0);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 9), b);
	assert_ptr_equal(bt_lookup_key(t, &b->key), b);
	assert_null(bt_lookup_key(t, &r->key));
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w1);
	bt_writer_deinit(&w2);
	urcu_qsbr_unregister_thread();
}

/* bt_lookup_key_at()'s answer to compare bt_lookup_key_hinted()'s with. */
static void assert_same_pos(struct bt_table *t, const struct dp_client_key *k,
			    const struct bt_binding *b, struct bt_key_pos *pos)
{
	struct bt_key_pos fresh;

	assert_ptr_equal(bt_lookup_key_at(t, k, &fresh), b);
	assert_true(pos->hash == fresh.hash);
	assert_ptr_equal(cds_lfht_iter_get_node(&pos->iter),
			 cds_lfht_iter_get_node(&fresh.iter));
	assert_ptr_equal(pos->iter.next, fresh.iter.next);	/* the next a lookup read */
}

/*
 * bt_addr_pos_of() reads a node's next word once and judges it as rculfhash does: removed
 * exactly when cds_lfht_is_node_deleted() says so, for each of rculfhash's three flag bits
 * alone (a completed delete or replace sets REMOVED_FLAG and REMOVAL_OWNER_FLAG together, so
 * a table cannot show which bit is which), and the word it read, flags and all, is the
 * iterator's next. The record is never in a table: only its addr_node's next is read.
 */
static void removed_flag_is_rculfhash_s(void **state)
{
	static struct cds_lfht_node after __attribute__((aligned(8)));
	struct bt_binding b;
	struct bt_addr_pos pos;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (uintptr_t flags = 0; flags < 8; flags++) {
		struct cds_lfht_node *next = (struct cds_lfht_node *)((uintptr_t)&after | flags);

		b.addr_node.next = next;
		memset(&pos, 0, sizeof(pos));
		if (cds_lfht_is_node_deleted(&b.addr_node)) {
			assert_false(bt_addr_pos_of(&b, &pos));
		} else {
			assert_true(bt_addr_pos_of(&b, &pos));
			assert_ptr_equal(cds_lfht_iter_get_node(&pos.iter), &b.addr_node);
			assert_ptr_equal(pos.iter.next, next);
		}
	}
}

/*
 * A warm pass's record (bt_warm_key_found()) as the hint of a later lookup of the key in the
 * same read-side section: the hint when it is still the key's record, the fresh answer once
 * something replaced it, unlinked it from by_key (its address went to another client), or
 * when the key is another; its place and by_addr's (bt_addr_pos_of) publish as a lookup's
 * would, across a resize of the tables between the warm pass and the use. Likewise for an
 * address's record (bt_warm_addr_found, bt_lookup_addr_hinted).
 */
static void key_hint_is_checked(void **state)
{
	enum { N = 3000 };
	struct bt_table *t = bt_table_new(1u << 16);
	struct bt_writer w;
	const struct bt_binding *hint[N], *b;
	struct bt_binding *nb;
	struct bt_key_pos kpos;
	struct bt_addr_pos pos;
	struct dp_client_key k, k2;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 2 * N + 16), 0);
	for (uint32_t i = 0; i < N; i++) {
		nb = bt_record_get(&w);
		nb->addr = BASE + i;
		bt_fix_key(&nb->key, i);
		assert_int_equal(bt_publish(&w, NULL, nb), 0);
	}
	for (uint32_t i = 0; i < N + 10; i++) {
		bt_fix_key(&k, i);
		b = bt_warm_key_found(t, &k, bt_key_hash(t, &k));
		if (i < N) {
			assert_non_null(b);
			assert_int_equal(b->addr, BASE + i);
			hint[i] = b;
		} else {
			assert_null(b);
		}
	}
	/* The tables grow between the warm pass and the lookups (4096 buckets to 32768). */
	bt_table_reserve(t, 1u << 16);
	for (uint32_t i = 0; i < N; i++) {
		bt_fix_key(&k, i);
		b = bt_lookup_key_hinted(t, &k, hint[i], &kpos);
		assert_ptr_equal(b, hint[i]);
		assert_same_pos(t, &k, b, &kpos);
		if (i % 2 == 0) {
			continue;
		}
		/* A renewal in place from the hint's places. */
		assert_true(bt_addr_pos_of(b, &pos));
		nb = bt_record_get(&w);
		nb->addr = b->addr;
		nb->key = k;
		assert_int_equal(bt_publish_found(&w, b, &pos, &kpos, nb), 0);
		assert_ptr_equal(bt_lookup_key(t, &k), nb);
		assert_ptr_equal(bt_lookup_addr(t, nb->addr), nb);
		/* The hint is stale now: the fresh answer, and b has left by_addr. */
		b = bt_lookup_key_hinted(t, &k, hint[i], &kpos);
		assert_ptr_equal(b, nb);
		assert_same_pos(t, &k, b, &kpos);
		assert_false(bt_addr_pos_of(hint[i], &pos));
	}
	/* A hint of another key, and no hint: lookups. */
	bt_fix_key(&k, 4);
	assert_ptr_equal(bt_lookup_key_hinted(t, &k, hint[2], &kpos), hint[4]);
	assert_same_pos(t, &k, hint[4], &kpos);
	bt_fix_key(&k, N + 1);
	assert_null(bt_lookup_key_hinted(t, &k, NULL, &kpos));
	assert_same_pos(t, &k, NULL, &kpos);
	/* Client 6's address goes to a new client: 6 has no binding in by_key any more. */
	bt_fix_key(&k, 6);
	bt_fix_key(&k2, N + 2);
	nb = bt_record_get(&w);
	nb->addr = hint[6]->addr;
	nb->key = k2;
	assert_true(bt_addr_pos_of(hint[6], &pos));
	assert_int_equal(bt_publish_found(&w, hint[6], &pos, NULL, nb), 0);
	assert_null(bt_lookup_key_hinted(t, &k, hint[6], &kpos));
	assert_same_pos(t, &k, NULL, &kpos);
	assert_ptr_equal(bt_lookup_key_hinted(t, &k2, NULL, &kpos), nb);
	/* Address hints (bt_warm_addr_found): the record while it is the address's, else a
	 * lookup: replaced (client 6's, above), another address, none, no record. */
	b = bt_warm_addr_found(t, BASE + 8);
	assert_ptr_equal(b, hint[8]);
	assert_ptr_equal(bt_lookup_addr_hinted(t, BASE + 8, b, &pos), hint[8]);
	assert_ptr_equal(cds_lfht_iter_get_node(&pos.iter), &hint[8]->addr_node);
	assert_ptr_equal(bt_lookup_addr_hinted(t, nb->addr, hint[6], &pos), nb);
	assert_ptr_equal(cds_lfht_iter_get_node(&pos.iter), &nb->addr_node);
	assert_ptr_equal(bt_lookup_addr_hinted(t, BASE + 10, hint[8], &pos), hint[10]);
	assert_ptr_equal(bt_lookup_addr_hinted(t, BASE + 12, NULL, &pos), hint[12]);
	assert_null(bt_warm_addr_found(t, BASE + N + 5));
	assert_null(bt_lookup_addr_hinted(t, BASE + N + 5, hint[8], &pos));
	urcu_qsbr_thread_offline();
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* A record with an empty key (BACKUP: no client) lives in by_addr only. */
static void empty_key_record_never_in_by_key(void **state)
{
	struct bt_table *t = bt_table_new(16);
	struct bt_writer w;
	struct bt_binding *r, *e1, *e2, *k2;
	struct dp_client_key c1, c2, none = {.type = DP_KEY_HWADDR, .len = 0};
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	unsigned n_key = 0, n_all = 0;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 8), 0);
	bt_fix_key(&c1, 1);
	bt_fix_key(&c2, 2);
	r = bt_record_get(&w);
	r->addr = BASE + 1;
	r->key = c1;
	assert_int_equal(bt_publish(&w, NULL, r), 0);
	/* Client 1's binding becomes BACKUP: it leaves by_key, stays in by_addr. */
	e1 = bt_record_get(&w);
	e1->addr = BASE + 1;
	e1->state = BT_BACKUP;
	memset(e1->key.data, 0xee, sizeof(e1->key.data));	/* stale bytes: len rules */
	assert_int_equal(e1->key.len, 0);
	assert_int_equal(bt_publish(&w, r, e1), 0);
	assert_ptr_equal(bt_lookup_addr(t, BASE + 1), e1);
	assert_null(bt_lookup_key(t, &c1));
	assert_null(bt_lookup_key(t, &none));
	/* A fresh BACKUP address. */
	e2 = bt_record_get(&w);
	e2->addr = BASE + 2;
	e2->state = BT_BACKUP;
	assert_int_equal(bt_publish(&w, NULL, e2), 0);
	assert_null(bt_lookup_key(t, &none));
	none.type = 0;
	assert_null(bt_lookup_key(t, &none));
	cds_lfht_for_each(t->by_key, &iter, node) {
		n_key++;
	}
	assert_int_equal(n_key, 0);
	/* A client takes BACKUP .1 (compare-and-swap on the empty-key record). */
	k2 = bt_record_get(&w);
	k2->addr = BASE + 1;
	k2->key = c2;
	assert_int_equal(bt_publish(&w, e2, k2), -EAGAIN);	/* not .1's record */
	assert_int_equal(bt_publish(&w, e1, k2), 0);
	assert_ptr_equal(bt_lookup_key(t, &c2), k2);
	/* Removing a BACKUP record touches only by_addr. */
	assert_int_equal(bt_remove(&w, e2), 0);
	assert_int_equal(bt_remove(&w, e2), -EAGAIN);
	assert_null(bt_lookup_addr(t, BASE + 2));
	assert_ptr_equal(bt_lookup_key(t, &c2), k2);
	cds_lfht_for_each(t->by_addr, &iter, node) {
		n_all++;
	}
	assert_int_equal(n_all, 1);
	rcu_fix_barrier();
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/*
 * The client-to-worker hash is seeded per table (so per start): the same MACs spread over
 * the workers differently each time, so nobody can pick MACs that all land on one worker.
 */
static void key_owner_depends_on_the_seed(void **state)
{
	struct bt_table *a = bt_table_new(64), *b = bt_table_new(64);
	unsigned differ = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_not_equal(a->seed, b->seed);
	for (unsigned c = 0; c < 64; c++) {
		struct dp_client_key k;

		bt_fix_key(&k, c);
		differ += bt_key_owner(a, &k, 2) != bt_key_owner(b, &k, 2);
	}
	assert_true(differ > 0);	/* all 64 alike by chance: 2^-64 */
	bt_table_free(a);
	bt_table_free(b);
}

static void set_host(struct dp_client_info *in, unsigned i)
{
	memset(in, 0, sizeof(*in));
	in->host_len = (uint8_t)snprintf(in->host, sizeof(in->host), "host-%u", i);
	in->circuit[0] = (uint8_t)i;
	in->circuit_len = 1;
}

/* What a binding remembers of its client lives beside its record in the record's chunk: each
 * of three chunks (one from bt_writer_init, two from bt_writer_grow) keeps every record's own,
 * found through the published record; a record taken again (after a grace period, or put
 * back unpublished) starts with none, and an empty one is not written. */
static void client_info_rides_on_chunks(void **state)
{
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	struct bt_binding *nb, *recs[9];
	struct dp_client_info in;
	const struct bt_binding *b;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 3), 0);
	assert_int_equal(bt_writer_grow(&w, 3), 0);
	assert_int_equal(bt_writer_grow(&w, 3), 0);
	for (unsigned i = 0; i < 9; i++) {
		nb = recs[i] = bt_record_get(&w);
		assert_non_null(nb);
		assert_true(dp_info_empty(info_of(nb)));
		nb->addr = BASE + i;
		bt_fix_key(&nb->key, i);
		set_host(&in, i);
		assert_int_equal(bt_info_set(nb, &in), 0);
		assert_int_equal(bt_publish(&w, NULL, nb), 0);
	}
	assert_null(bt_record_get(&w));
	assert_true(recs[0]->chunk != recs[3]->chunk && recs[3]->chunk != recs[6]->chunk &&
		    recs[0]->chunk != recs[6]->chunk);
	for (unsigned i = 0; i < 9; i++) {
		b = bt_lookup_addr(t, BASE + i);
		assert_ptr_equal(b, recs[i]);
		set_host(&in, i);
		assert_memory_equal(info_of(b), &in, sizeof(in));
		assert_ptr_equal(b->chunk->w, &w);
	}

	/* .4 is rewritten with no information: its old record comes back after the grace
	 * period and is taken again with none. */
	assert_int_equal(bt_writer_grow(&w, 1), 0);
	nb = bt_record_get(&w);
	nb->addr = BASE + 4;
	bt_fix_key(&nb->key, 4);
	assert_int_equal(bt_info_set(nb, NULL), 0);
	assert_int_equal(bt_publish(&w, bt_lookup_addr(t, BASE + 4), nb), 0);
	assert_true(dp_info_empty(info_of(bt_lookup_addr(t, BASE + 4))));
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	nb = bt_record_get(&w);
	assert_ptr_equal(nb, recs[4]);
	assert_true(dp_info_empty(info_of(nb)));
	/* Put back unpublished with information: taken again with none. */
	set_host(&in, 99);
	assert_int_equal(bt_info_set(nb, &in), 0);
	bt_record_put(&w, nb);
	nb = bt_record_get(&w);
	assert_ptr_equal(nb, recs[4]);
	assert_true(dp_info_empty(info_of(nb)));
	bt_record_put(&w, nb);
	/* The others kept theirs. */
	for (unsigned i = 0; i < 9; i++) {
		if (i != 4) {
			set_host(&in, i);
			assert_memory_equal(info_of(bt_lookup_addr(t, BASE + i)), &in, sizeof(in));
		}
	}
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* A client information with every field at the given lengths, bytes from @p seed. */
static void set_full(struct dp_client_info *in, unsigned seed, uint8_t host, uint8_t vendor,
		     uint8_t circuit, uint8_t policy)
{
	memset(in, 0, sizeof(*in));
	in->host_len = host;
	in->vendor_len = vendor;
	in->circuit_len = circuit;
	in->policy_len = policy;
	for (unsigned i = 0; i < DP_INFO_HOST_MAX; i++) {
		in->host[i] = (char)(i < host ? 'a' + (seed + i) % 26 : 0);
		in->vendor[i] = (char)(i < vendor ? 'A' + (seed / 26 + i) % 26 : 0);
	}
	for (unsigned i = 0; i < circuit; i++) {
		in->circuit[i] = (uint8_t)(seed * 7 + i);
	}
	for (unsigned i = 0; i < policy; i++) {
		in->policy[i] = (char)('0' + (seed + i) % 10);
	}
}

/* The packed slot (bindings.h): vendor classes and policy names are interned (one entry for
 * many bindings), host name and circuit id inline; what does not fit goes whole in a spill
 * record of the same writer, which comes back with its binding (retired after a grace
 * period, or put back unpublished). Every case reads back exactly what was set. */
static void client_info_packs_and_spills(void **state)
{
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	struct bt_binding *nb;
	struct dp_client_info in;
	uint64_t before;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 16), 0);

	/* Ten clients, one vendor class and one policy: two intern entries in all. */
	for (unsigned i = 0; i < 10; i++) {
		nb = bt_record_get(&w);
		nb->addr = BASE + i;
		bt_fix_key(&nb->key, i);
		set_full(&in, 0, 12, DP_INFO_VENDOR_MAX, 0, DP_INFO_POLICY_MAX);
		in.host[0] = (char)('a' + i);	/* host names differ */
		assert_int_equal(bt_info_set(nb, &in), 0);
		assert_int_equal(bt_publish(&w, NULL, nb), 0);
		assert_memory_equal(info_of(bt_lookup_addr(t, BASE + i)), &in, sizeof(in));
	}
	assert_int_equal(w.intern.n, 2);
	assert_int_equal(bt_writer_free(&w), 6);

	/* Host and circuit at the inline limit: still no spill record. */
	set_full(&in, 3, BT_INFO_INLINE - DP_INFO_CIRCUIT_MAX, 5, DP_INFO_CIRCUIT_MAX, 0);
	nb = bt_record_get(&w);
	nb->addr = BASE + 10;
	bt_fix_key(&nb->key, 10);
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_writer_free(&w), 5);
	assert_int_equal(bt_publish(&w, NULL, nb), 0);
	assert_memory_equal(info_of(bt_lookup_addr(t, BASE + 10)), &in, sizeof(in));

	/* Every field at its longest: a spill record more. Set twice, only one is kept. */
	set_full(&in, 5, DP_INFO_HOST_MAX, DP_INFO_VENDOR_MAX, DP_INFO_CIRCUIT_MAX,
		 DP_INFO_POLICY_MAX);
	nb = bt_record_get(&w);
	nb->addr = BASE + 11;
	bt_fix_key(&nb->key, 11);
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_writer_free(&w), 3);
	assert_int_equal(bt_publish(&w, NULL, nb), 0);
	assert_memory_equal(info_of(bt_lookup_addr(t, BASE + 11)), &in, sizeof(in));

	/* Spilled, with bytes past the lengths that are not zero (a caller's buffer reused):
	 * read back with zeros there, as bt_info_get() promises. */
	{
		struct dp_client_info dirty, want;
		struct bt_binding *sb = bt_record_get(&w);

		set_full(&want, 9, DP_INFO_HOST_MAX - 4, DP_INFO_VENDOR_MAX - 1,
			 DP_INFO_CIRCUIT_MAX - 2, 3);
		dirty = want;
		memset(dirty.host + dirty.host_len, 'x', DP_INFO_HOST_MAX - dirty.host_len);
		memset(dirty.vendor + dirty.vendor_len, 'y', DP_INFO_VENDOR_MAX - dirty.vendor_len);
		memset(dirty.circuit + dirty.circuit_len, 0xee,
		       DP_INFO_CIRCUIT_MAX - dirty.circuit_len);
		memset(dirty.policy + dirty.policy_len, 'z', DP_INFO_POLICY_MAX - dirty.policy_len);
		assert_int_equal(bt_info_set(sb, &dirty), 0);
		assert_memory_equal(info_of(sb), &want, sizeof(want));
		bt_record_put(&w, sb);
	}

	/* Replaced by a binding that knows nothing: both records come home after the grace
	 * period. */
	nb = bt_record_get(&w);
	nb->addr = BASE + 11;
	bt_fix_key(&nb->key, 11);
	assert_int_equal(bt_publish(&w, bt_lookup_addr(t, BASE + 11), nb), 0);
	assert_true(dp_info_empty(info_of(bt_lookup_addr(t, BASE + 11))));
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), 4);

	/* A spilled record put back unpublished takes its spill record with it. */
	before = bt_writer_free(&w);
	nb = bt_record_get(&w);
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_writer_free(&w), before - 2);
	bt_record_put(&w, nb);
	assert_int_equal(bt_writer_free(&w), before);
	nb = bt_record_get(&w);
	assert_true(dp_info_empty(info_of(nb)));

	/* No record left for the spill: refused, nothing written. */
	while (bt_record_get(&w) != NULL) {
	}
	assert_int_equal(bt_info_set(nb, &in), -ENOBUFS);
	assert_true(dp_info_empty(info_of(nb)));
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/*
 * The RCU rule of a spill record (bindings.h): a reader that still holds a replaced binding
 * (no quiescent state since its lookup) reads its information whole, however many bindings
 * the writer makes meanwhile. Here the reader is the writer's own thread, online throughout,
 * so no grace period can end: a spill record that went back to the stock at the replacement,
 * not after the grace period, is taken again by the next spilled binding and overwritten.
 */
static void client_info_spill_outlives_replacement(void **state)
{
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	struct dp_client_info first, in, last;
	const struct bt_binding *held;
	struct bt_binding *nb;
	unsigned made = 0;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 16), 0);
	set_full(&first, 1, DP_INFO_HOST_MAX, DP_INFO_VENDOR_MAX, DP_INFO_CIRCUIT_MAX,
		 DP_INFO_POLICY_MAX);
	nb = bt_record_get(&w);
	nb->addr = BASE;
	bt_fix_key(&nb->key, 1);
	assert_int_equal(bt_info_set(nb, &first), 0);
	assert_int_equal(bt_publish(&w, NULL, nb), 0);
	held = bt_lookup_addr(t, BASE);

	/* The same address, again and again, each binding with other long names, until the
	 * stock is empty (nothing comes back: the grace period cannot end). */
	for (unsigned i = 2;; i++) {
		nb = bt_record_get(&w);
		if (nb == NULL) {
			break;
		}
		nb->addr = BASE;
		bt_fix_key(&nb->key, 1);
		set_full(&in, i, DP_INFO_HOST_MAX, DP_INFO_VENDOR_MAX, DP_INFO_CIRCUIT_MAX,
			 DP_INFO_POLICY_MAX);
		if (bt_info_set(nb, &in) != 0) {
			bt_record_put(&w, nb);
			break;
		}
		assert_int_equal(bt_publish(&w, bt_lookup_addr(t, BASE), nb), 0);
		last = in;
		made++;
	}
	assert_true(made >= 5);
	assert_memory_equal(info_of(held), &first, sizeof(first));
	assert_memory_equal(info_of(bt_lookup_addr(t, BASE)), &last, sizeof(last));

	/* After the grace period every record is back. */
	assert_int_equal(bt_writer_flush(&w), 0);
	rcu_fix_barrier();
	assert_int_equal(bt_writer_free(&w), 16 - 2);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

/* A full intern table (BT_INTERN_MAX distinct vendor classes) spills the next new one, and
 * still finds the ones it holds. */
static void client_info_intern_full_spills(void **state)
{
	struct bt_table *t = bt_table_new(64);
	struct bt_writer w;
	struct bt_binding *nb;
	struct dp_client_info in;

	(void)state;
	urcu_qsbr_register_thread();
	assert_int_equal(bt_writer_init(&w, t, 0, 8), 0);
	nb = bt_record_get(&w);
	for (unsigned i = 0; i < BT_INTERN_MAX; i++) {
		set_full(&in, 0, 4, 0, 0, 0);
		in.vendor_len = (uint8_t)snprintf(in.vendor, sizeof(in.vendor), "vendor-%u", i);
		assert_int_equal(bt_info_set(nb, &in), 0);
		assert_memory_equal(info_of(nb), &in, sizeof(in));
	}
	assert_int_equal(w.intern.n, BT_INTERN_MAX);
	assert_int_equal(bt_writer_free(&w), 7);	/* none spilled */
	in.vendor_len = (uint8_t)snprintf(in.vendor, sizeof(in.vendor), "vendor-new");
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_writer_free(&w), 6);	/* spilled */
	assert_memory_equal(info_of(nb), &in, sizeof(in));
	in.vendor_len = (uint8_t)snprintf(in.vendor, sizeof(in.vendor), "vendor-17");
	assert_int_equal(bt_info_set(nb, &in), 0);
	assert_int_equal(bt_writer_free(&w), 7);	/* interned: the spill went back */
	assert_memory_equal(info_of(nb), &in, sizeof(in));
	assert_int_equal(w.intern.n, BT_INTERN_MAX);
	bt_record_put(&w, nb);
	bt_table_free(t);
	bt_writer_deinit(&w);
	urcu_qsbr_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_readers_one_writer),
		cmocka_unit_test(records_come_back_after_grace_period),
		cmocka_unit_test(stale_publish_is_refused),
		cmocka_unit_test(stale_place_is_refused),
		cmocka_unit_test(writer_and_table_grow),
		cmocka_unit_test(warm_buckets_are_the_tables),
		cmocka_unit_test(client_info_rides_on_chunks),
		cmocka_unit_test(client_info_packs_and_spills),
		cmocka_unit_test(client_info_intern_full_spills),
		cmocka_unit_test(client_info_spill_outlives_replacement),
		cmocka_unit_test(loaded_latest_start_wins),
		cmocka_unit_test(loaded_bulk_matches_one_by_one),
		cmocka_unit_test(bulk_two_threads_matches_one_by_one),
		cmocka_unit_test(empty_key_record_never_in_by_key),
		cmocka_unit_test(key_owner_depends_on_the_seed),
		cmocka_unit_test(publish_found_uses_both_places),
		cmocka_unit_test(same_key_replace_follows_the_key),
		cmocka_unit_test(key_hint_is_checked),
		cmocka_unit_test(removed_flag_is_rculfhash_s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
