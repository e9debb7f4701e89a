/*
 * The committer between workers and the store: group commit, per-worker durable sequence,
 * ring back-pressure, and what happens when a commit fails (nothing is published, so a
 * parked ACK stays parked, until a retry succeeds).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bindings.h"
#include "committer.h"
#include "store.h"

struct env {
	char dir[64];
	struct store *s;
	struct committer *c;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct store_opts so = {.sync = STORE_SYNC_STRICT};
	char err[256];

	snprintf(e->dir, sizeof(e->dir), "/tmp/lw-committer.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->s = store_open(e->dir, &so, err, sizeof(err));
	if (e->s == NULL) {
		fail_msg("store_open: %s", err);
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	committer_free(e->c);
	store_close(e->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static struct dp_change change(uint8_t worker, uint64_t seq, uint32_t addr)
{
	struct dp_change c;

	memset(&c, 0, sizeof(c));
	c.worker = worker;
	c.seq = seq;
	c.addr = addr;
	c.state = BT_ACTIVE;
	c.start = 1000;
	c.ends = 2000;
	c.key.type = DP_KEY_HWADDR;
	c.key.len = 7;
	c.key.data[0] = 1;
	c.key.data[5] = (uint8_t)(addr >> 8);
	c.key.data[6] = (uint8_t)addr;
	return c;
}

static void one_batch_many_workers(void **state)
{
	struct env *e = *state;
	struct committer_opts o = {.n_workers = 3};
	struct store_binding b;

	e->c = committer_new(e->s, &o);
	assert_non_null(e->c);
	for (uint64_t i = 1; i <= 100; i++) {
		for (uint8_t w = 0; w < 3; w++) {
			struct dp_change c = change(w, i, 0xc6120000u + w * 1000 + (uint32_t)i);

			assert_int_equal(committer_ops.post(e->c, &c), 0);
		}
	}
	assert_int_equal(committer_ops.durable(e->c, 0), 0);
	assert_int_equal(committer_round(e->c), 300);	/* one transaction */
	for (uint8_t w = 0; w < 3; w++) {
		assert_int_equal(committer_ops.durable(e->c, w), 100);
	}
	assert_int_equal(atomic_load(&committer_stats(e->c)->batches), 1);
	assert_int_equal(store_count(e->s), 300);
	assert_int_equal(store_get(e->s, 0xc6120000u + 2000 + 42, &b), 0);
	assert_int_equal(b.state, BT_ACTIVE);
	assert_int_equal(committer_round(e->c), 0);	/* nothing left */
}

static void failed_commit_publishes_nothing(void **state)
{
	struct env *e = *state;
	struct committer_opts o = {.n_workers = 1};
	struct dp_change c = change(0, 1, 0xc6120001u);
	struct store_binding b;

	e->c = committer_new(e->s, &o);
	assert_int_equal(committer_ops.post(e->c, &c), 0);
	store_inject_failure(e->s, 2, STORE_E_IO);
	assert_true(committer_round(e->c) < 0);
	assert_true(committer_round(e->c) < 0);
	/* A reply parked behind seq 1 is still not releasable, and nothing is on disk. */
	assert_int_equal(committer_ops.durable(e->c, 0), 0);
	assert_int_equal(store_get(e->s, 0xc6120001u, &b), -ENOENT);
	assert_int_equal(atomic_load(&committer_stats(e->c)->failures), 2);
	/* The retry commits the same batch, then the sequence is published. */
	assert_int_equal(committer_round(e->c), 1);
	assert_int_equal(committer_ops.durable(e->c, 0), 1);
	assert_int_equal(store_get(e->s, 0xc6120001u, &b), 0);
}

static void full_ring_refuses(void **state)
{
	struct env *e = *state;
	struct committer_opts o = {.n_workers = 1, .ring_size = 4};

	e->c = committer_new(e->s, &o);
	for (uint64_t i = 1; i <= 4; i++) {
		struct dp_change c = change(0, i, 0xc6120000u + (uint32_t)i);

		assert_int_equal(committer_ops.post(e->c, &c), 0);
	}
	{
		struct dp_change c = change(0, 5, 0xc6120005u);

		assert_false(committer_ops.room(e->c, 0));
		assert_int_equal(committer_ops.post(e->c, &c), -ENOBUFS);
		assert_int_equal(committer_ops.posted(e->c, 0), 4);
		assert_int_equal(committer_round(e->c), 4);
		assert_true(committer_ops.room(e->c, 0));
		assert_int_equal(committer_ops.post(e->c, &c), 0);	/* room again */
		assert_int_equal(committer_ops.posted(e->c, 0), 5);
	}
}

static void bad_options_refused(void **state)
{
	struct env *e = *state;
	struct committer_opts zero = {.n_workers = 0}, odd = {.n_workers = 1, .ring_size = 100};

	assert_null(committer_new(e->s, &zero));
	assert_null(committer_new(e->s, &odd));
}

/* Two producer threads against the committer thread: every change durable, in order. */
struct producer {
	struct committer *c;
	uint8_t worker;
	unsigned n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (uint64_t i = 1; i <= p->n;) {
		struct dp_change c = change(p->worker, i, 0xc6130000u + p->worker * 0x8000u +
						(uint32_t)(i % 0x8000));

		if (committer_ops.post(p->c, &c) == 0) {
			i++;
		} else {
			usleep(50);	/* ring full: a worker would drop; the test retries */
		}
	}
	return NULL;
}

static void threaded_group_commit(void **state)
{
	struct env *e = *state;
	struct committer_opts o = {.n_workers = 2, .ring_size = 1024};
	struct producer p[2];
	pthread_t th[2];

	e->c = committer_new(e->s, &o);
	assert_int_equal(committer_start(e->c), 0);
	for (int i = 0; i < 2; i++) {
		p[i] = (struct producer){e->c, (uint8_t)i, 20000};
		assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
	}
	assert_int_equal(committer_stop(e->c, 10000), 0);
	assert_int_equal(committer_ops.durable(e->c, 0), 20000);
	assert_int_equal(committer_ops.durable(e->c, 1), 20000);
	assert_int_equal(atomic_load(&committer_stats(e->c)->changes), 40000);
	/* Far fewer transactions than changes: that is the point of group commit. */
	assert_true(atomic_load(&committer_stats(e->c)->batches) < 40000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(one_batch_many_workers),
		T(failed_commit_publishes_nothing),
		T(full_ring_refuses),
		T(bad_options_refused),
		T(threaded_group_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
