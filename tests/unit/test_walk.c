/*
 * The control thread's address walk (controlplane/walk.h), issue 11 item 10: over a large
 * table it reports quiescent states (a grace period another thread waits for ends during the
 * walk, not after it), it resumes from its cursor, and paging by it returns the same leases in
 * the same order as the former "collect every binding, sort, cut" did.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config.h"
#include "rcu_fix.h"
#include "walk.h"

#define N_BIND 3000

/* Two scopes, the higher subnet first: the walk goes by address, not by scope order. */
static const char *cfg_json =
	"{\"server\": {\"workers\": 1},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/16\"}]}],"
	" \"scopes\": ["
	"  {\"name\": \"hi\", \"subnet\": \"198.19.6.0/23\","
	"   \"pools\": [\"198.19.6.10 - 198.19.7.200\"],"
	"   \"relay-addresses\": [\"198.19.7.1\"]},"
	"  {\"name\": \"lo\", \"subnet\": \"198.18.0.0/16\","
	"   \"pools\": [\"198.18.0.10 - 198.18.255.200\"]}]}";

struct env {
	struct dp_config *cfg;
	struct bt_table *t;
	struct bt_writer w;
	uint32_t addrs[N_BIND];		/* sorted: what a walk must meet */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));
	char err[256];
	uint32_t seed = 12345;

	v->cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (v->cfg == NULL) {
		fail_msg("config: %s", err);
	}
	urcu_qsbr_register_thread();
	v->t = bt_table_new(dp_config_capacity(v->cfg));
	assert_non_null(v->t);
	assert_int_equal(bt_writer_init(&v->w, v->t, 0, N_BIND), 0);
	for (unsigned i = 0; i < N_BIND; i++) {
		struct bt_binding *b;
		uint32_t a;

		do {
			seed = seed * 1103515245u + 12345u;
			a = i % 10 == 0 ? 0xc6130600u + 10 + (seed >> 8) % 440	/* hi */
					: 0xc6120000u + 10 + (seed >> 8) % 65000;	/* lo */
		} while (bt_lookup_addr(v->t, a) != NULL);
		b = bt_record_get(&v->w);
		assert_non_null(b);
		b->addr = a;
		b->state = BT_ACTIVE;
		b->ends = 2000000000;
		b->key.type = DP_KEY_HWADDR;
		b->key.len = 5;
		memcpy(b->key.data, &a, 4);
		b->key.data[4] = 1;
		assert_int_equal(bt_publish(&v->w, NULL, b), 0);
		v->addrs[i] = a;
	}
	qsort(v->addrs, N_BIND, sizeof(v->addrs[0]), cmp_u32);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;

	rcu_fix_barrier();
	bt_table_free(v->t);
	bt_writer_deinit(&v->w);
	dp_config_free(v->cfg);
	urcu_qsbr_unregister_thread();
	free(v);
	return 0;
}

/* --- paging ------------------------------------------------------------------------ */

struct page {
	uint32_t a[N_BIND];
	size_t n, limit;
	uint32_t from;			/* the former way: addresses > from */
	bool all;
};

static bool page_cb(const struct bt_binding *b, void *arg)
{
	struct page *p = arg;

	if (p->n == p->limit) {
		return false;
	}
	p->a[p->n++] = b->addr;
	return true;
}

/* The former lease4-get-page: every binding above from, sorted, the first limit. */
static bool collect_cb(const struct bt_binding *b, void *arg)
{
	struct page *p = arg;

	if (p->all || b->addr > p->from) {
		p->a[p->n++] = b->addr;
	}
	return true;
}

static void pages_equal_the_sorted_table(void **state)
{
	struct env *v = *state;
	static struct page got, old;
	uint32_t all[N_BIND];
	size_t total = 0;
	uint32_t from = 0;
	bool start = true;

	for (unsigned pages = 0;; pages++) {
		struct cp_walk w;

		assert_true(pages < N_BIND);
		memset(&got, 0, sizeof(got));
		memset(&old, 0, sizeof(old));
		got.limit = 97;
		old.from = from;
		old.all = start;
		cp_walk_init(&w, start ? 0 : (uint64_t)from + 1, NULL);
		(void)cp_walk_step(&w, v->cfg, v->t, UINT64_MAX, page_cb, &got);
		bt_foreach(v->t, collect_cb, &old);
		qsort(old.a, old.n, sizeof(old.a[0]), cmp_u32);
		if (old.n > 97) {
			old.n = 97;
		}
		assert_int_equal(got.n, old.n);
		assert_memory_equal(got.a, old.a, got.n * sizeof(got.a[0]));
		if (got.n == 0) {
			break;
		}
		memcpy(all + total, got.a, got.n * sizeof(got.a[0]));
		total += got.n;
		from = got.a[got.n - 1];
		start = false;
	}
	assert_int_equal(total, N_BIND);
	assert_memory_equal(all, v->addrs, sizeof(all));
}

/* A scope filter walks that scope's subnet only. */
static void filtered_walk(void **state)
{
	struct env *v = *state;
	const struct dp_scope *only[2] = {&v->cfg->scopes[0], NULL};	/* "hi" */
	static struct page got;
	struct cp_walk w;

	memset(&got, 0, sizeof(got));
	got.limit = N_BIND;
	cp_walk_init(&w, 0, only);
	assert_true(cp_walk_step(&w, v->cfg, v->t, UINT64_MAX, page_cb, &got));
	assert_int_equal(got.n, N_BIND / 10);
	assert_memory_equal(got.a, v->addrs + N_BIND - N_BIND / 10, got.n * sizeof(got.a[0]));
	assert_int_equal(w.lookups, 512);
}

/* --- bounded slices and quiescent states --------------------------------------------- */

static bool count_cb(const struct bt_binding *b, void *arg)
{
	(void)b;
	(*(size_t *)arg)++;
	return true;
}

/* A walk in slices of a budget meets every binding once; each slice is bounded, and a full
 * walk reports a quiescent state every CP_WALK_QS lookups. */
static void sliced_walk_meets_everything(void **state)
{
	struct env *v = *state;
	struct cp_walk w;
	size_t n = 0;
	unsigned slices = 0;

	cp_walk_init(&w, 0, NULL);
	while (!cp_walk_step(&w, v->cfg, v->t, 5000, count_cb, &n)) {
		assert_true(++slices < 100);
	}
	assert_int_equal(n, N_BIND);
	assert_int_equal(w.lookups, 65536 + 512);
	assert_int_equal(slices, (65536 + 512) / 5000);
	assert_int_equal(w.qs, w.lookups / CP_WALK_QS);
}

struct sync_arg {
	_Atomic bool go, done;
};

static void *synchronizer(void *arg)
{
	struct sync_arg *s = arg;

	while (!atomic_load(&s->go)) {
		struct timespec ts = {0, 100000};

		nanosleep(&ts, NULL);
	}
	urcu_qsbr_synchronize_rcu();	/* a grace period, as call_rcu's thread waits for */
	atomic_store(&s->done, true);
	return NULL;
}

struct slow {
	struct sync_arg *s;
	size_t seen, after_sync;
};

static bool slow_cb(const struct bt_binding *b, void *arg)
{
	struct slow *sl = arg;
	struct timespec ts = {0, 50000};

	(void)b;
	if (sl->seen++ == 0) {
		atomic_store(&sl->s->go, true);
	}
	nanosleep(&ts, NULL);	/* a slow walk: 3000 bindings take about 0.2 s */
	sl->after_sync += atomic_load(&sl->s->done);
	return true;
}

/*
 * The point of it: a grace period that starts early in a long walk ends during the walk
 * (the walker reported a quiescent state), not once it is over. A bt_foreach() held the read
 * side for the whole walk: the workers' retired records waited that long.
 */
static void grace_period_ends_during_the_walk(void **state)
{
	struct env *v = *state;
	struct sync_arg s = {0};
	struct slow sl = {.s = &s};
	struct cp_walk w;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, synchronizer, &s), 0);
	cp_walk_init(&w, 0, NULL);
	assert_true(cp_walk_step(&w, v->cfg, v->t, UINT64_MAX, slow_cb, &sl));
	urcu_qsbr_thread_offline();
	assert_int_equal(pthread_join(th, NULL), 0);
	urcu_qsbr_thread_online();
	assert_int_equal(sl.seen, N_BIND);
	assert_true(sl.after_sync > 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pages_equal_the_sorted_table),
		T(filtered_walk),
		T(sliced_walk_meets_everything),
		T(grace_period_ends_during_the_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
