/*
 * A configuration change on a big pool (issue 11 item 10): cp_apply_config()'s pool rebuild
 * runs in slices over the control loop's turns, with quiescent states between them, and the
 * free lists it leaves are the ones a rebuild in one go leaves, also when workers change
 * bindings meanwhile or a second change comes before the first is applied.
 *
 *   test_apply                 the unit tests (a /14 pool, small slices)
 *   test_apply --measure [P]   time of the longest control-loop turn of a change on a /P pool
 *                              (default 8) with 1 binding in 16, the old way (one call) and
 *                              sliced; not a test (no pass/fail), for doc/performance figures
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_ring.h>

#include "apply.h"
#include "config.h"
#include "ctl.h"
#include "ctl_cmds.h"
#include "persist.h"
#include "pool.h"
#include "worker.h"

#define PREFIX 14		/* the unit tests' pool: 262 k addresses */
#define SLICE 4096
#define POOL_MAX (1u << (32 - PREFIX))	/* addresses in the pool, at most */

struct fake_commit {
	uint64_t posted[2], durable[2];
};

static uint64_t fc_posted(void *ctx, uint32_t w)
{
	return ((struct fake_commit *)ctx)->posted[w];
}

static uint64_t fc_durable(void *ctx, uint32_t w)
{
	return ((struct fake_commit *)ctx)->durable[w];
}

static const struct dp_commit_ops fc_ops = {.posted = fc_posted, .durable = fc_durable};

struct env {
	struct dp_runtime rt;
	struct cp_persist persist;
	struct cp_apply apply;
	struct bt_writer wr;
	struct fake_commit fc;
	uint32_t first, last;		/* the pool */
	uint64_t now;
	unsigned prefix;
};

/* Non-zero: the scope is shared in failover relationship "pair" (primary). */
static int with_rel;

static char *cfg_text(unsigned prefix, const char *domain)
{
	static char buf[2048];
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	uint32_t net = prefix <= 14 ? 0x0a000000u & mask : 0xc6120000u & mask;

	snprintf(buf, sizeof(buf),
		 "{\"server\": {\"workers\": 2%s},"
		 " \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
		 "   \"interfaces\": [{\"address\": \"%u.%u.%u.1/%u\"}]}],"
		 " \"scopes\": [{\"name\": \"big\", \"subnet\": \"%u.%u.%u.0/%u\","
		 "   \"pools\": [\"%u.%u.%u.10 - %u.%u.%u.250\"],"
		 "   \"options\": {\"domain-name\": \"%s\"}}]%s}",
		 with_rel ? ", \"store\": \"/tmp/lw-apply-unused\"" : "",
		 net >> 24, (net >> 16) & 255, (net >> 8) & 255, prefix,
		 net >> 24, (net >> 16) & 255, (net >> 8) & 255, prefix,
		 net >> 24, (net >> 16) & 255, (net >> 8) & 255,
		 (net | ~mask) >> 24, ((net | ~mask) >> 16) & 255, ((net | ~mask) >> 8) & 255,
		 domain, with_rel ? ", \"relationships\": [{\"name\": \"pair\", \"role\": "
		 "\"primary\", \"local-address\": \"198.18.0.1\", \"partner-address\": "
		 "\"198.18.0.2\", \"scopes\": [\"big\"]}]" : "");
	return buf;
}

static struct dp_config *cfg_new(unsigned prefix, const char *domain)
{
	char err[512];
	struct dp_config *c = cp_config_parse(cfg_text(prefix, domain), err, sizeof(err));

	if (c == NULL) {
		fail_msg("config: %s", err);
	}
	return c;
}

/* A runtime with a /@p prefix pool holding one binding every @p every addresses (states
 * mixed: ACTIVE, OFFERED, EXPIRED, RELEASED), its pools built from the table. */
static void env_init(struct env *v, unsigned prefix, unsigned every)
{
	static const uint8_t states[] = {BT_ACTIVE, BT_ACTIVE, BT_OFFERED, BT_EXPIRED,
					 BT_RELEASED};
	struct dp_snapshot *snap = malloc(sizeof(*snap));
	uint64_t n;
	unsigned i = 0;

	memset(v, 0, sizeof(*v));
	assert_non_null(snap);
	urcu_qsbr_register_thread();
	v->prefix = prefix;
	v->now = (uint64_t)time(NULL);
	snap->cfg = cfg_new(prefix, "one.example");
	v->first = snap->cfg->scopes[0].ranges[0].first;
	v->last = snap->cfg->scopes[0].ranges[0].last;
	v->rt.snap = snap;
	v->rt.n_workers = 2;
	v->rt.workers = aligned_alloc(64, 2 * sizeof(*v->rt.workers));
	assert_non_null(v->rt.workers);
	memset(v->rt.workers, 0, 2 * sizeof(*v->rt.workers));
	for (uint32_t w = 0; w < 2; w++) {
		ssize_t sz = rte_ring_get_memsize(1 << 16);

		v->rt.workers[w].cmd = aligned_alloc(64, (size_t)sz);
		assert_non_null(v->rt.workers[w].cmd);
		assert_int_equal(rte_ring_init(v->rt.workers[w].cmd, w ? "w1" : "w0", 1 << 16,
					       RING_F_SC_DEQ), 0);
	}
	v->fc = (struct fake_commit){.posted = {5, 5}, .durable = {5, 5}};
	v->rt.commit = (struct dp_commit){.ops = &fc_ops, .ctx = &v->fc};
	v->rt.table = bt_table_new(dp_config_capacity(snap->cfg));
	assert_non_null(v->rt.table);
	n = ((uint64_t)v->last - v->first) / every + 1;
	assert_int_equal(bt_writer_init(&v->wr, v->rt.table, 1, (uint32_t)n + 1024), 0);
	bt_table_reserve(v->rt.table, n);	/* as dp_workers_grow() does in the daemon */
	for (uint64_t a = v->first; a <= v->last; a += every, i++) {
		struct bt_binding *b = bt_record_get(&v->wr);

		assert_non_null(b);
		b->addr = (uint32_t)a;
		b->state = states[i % sizeof(states)];
		b->start = v->now - 100;
		b->ends = b->state == BT_ACTIVE || b->state == BT_OFFERED ? v->now + 600 :
			  v->now - 1000 + i % 500;
		b->key.type = DP_KEY_HWADDR;
		b->key.len = 5;
		memcpy(b->key.data, &a, 4);
		b->key.data[4] = 1;
		assert_int_equal(bt_publish(&v->wr, NULL, b), 0);
	}
	snap->pools = dp_pools_new(snap->cfg, 2);
	assert_non_null(snap->pools);
	assert_int_equal(dp_pools_requeue(snap->pools, v->rt.table), 0);
	urcu_qsbr_thread_offline();	/* the control thread: online around table reads */
	v->persist = (struct cp_persist){0};
	v->apply.rt = &v->rt;
	v->apply.persist = &v->persist;
}

static void env_deinit(struct env *v)
{
	cp_apply_deinit(&v->apply);
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	dp_snapshot_free(v->rt.snap);
	bt_table_free(v->rt.table);
	bt_writer_deinit(&v->wr);
	free(v->rt.workers[0].cmd);
	free(v->rt.workers[1].cmd);
	free(v->rt.workers);
	urcu_qsbr_unregister_thread();
}


/* The running configuration's scopes[0].options.domain-name. */
static const char *domain_of(const struct dp_config *c)
{
	static char buf[128];
	json_t *j = cp_config_to_json(c);
	json_t *d = json_object_get(json_object_get(json_array_get(json_object_get(j, "scopes"),
								  0), "options"), "domain-name");

	snprintf(buf, sizeof(buf), "%s", json_is_string(d) ? json_string_value(d) : "?");
	json_decref(j);
	return buf;
}

/* Every address popped from every slice of @p p, in order (worker 0's, then worker 1's),
 * then the slices are empty. @return how many. */
static size_t drain(struct dp_pools *p, uint32_t *out, size_t max)
{
	size_t n = 0;
	uint32_t a;

	for (uint32_t w = 0; w < p->n_workers; w++) {
		while (dp_slice_pop(p, w, 0, &a)) {
			assert_true(n < max);
			out[n++] = a;
		}
	}
	return n;
}

static struct {
	int calls, rc;
	char err[512];
} done_seen;

static void on_done(void *ctx, int rc, const char *err)
{
	(void)ctx;
	done_seen.calls++;
	done_seen.rc = rc;
	snprintf(done_seen.err, sizeof(done_seen.err), "%s", err);
}

/* Turns of cp_apply_progress() until the change is applied. @return how many. */
static unsigned until_applied(struct env *v)
{
	unsigned turns = 0;

	while (cp_apply_busy(&v->apply)) {
		assert_true(cp_apply_progress(&v->apply));
		assert_true(++turns < 100000);
	}
	return turns;
}

/* Run the requeue scan that follows a publication to its end. */
static void requeue_to_end(struct env *v)
{
	for (unsigned i = 0; cp_apply_progress(&v->apply); i++) {
		assert_true(i < 100000);
	}
}

/*
 * A change on a pool of 262 k addresses with 4096 lookups per slice: the pools are built over
 * 64 turns (the old one-call rebuild: 1), the running snapshot unchanged until the last one,
 * quiescent states reported inside the slices, and a grace period another thread waits for
 * ends while the rebuild is not over (the control thread is offline between turns).
 */
static void *sync_thread(void *arg)
{
	atomic_int *state = arg;

	urcu_qsbr_register_thread();
	urcu_qsbr_thread_offline();
	urcu_qsbr_synchronize_rcu();
	atomic_store(state, 1);
	urcu_qsbr_unregister_thread();
	return NULL;
}

static void rebuild_runs_in_slices(void **state)
{
	static struct env v;
	const struct dp_snapshot *before;
	uint64_t slices, qs, total;
	atomic_int synced = 0;
	pthread_t th;
	unsigned turns;
	char err[512];
	int rc;

	(void)state;
	env_init(&v, PREFIX, 16);
	v.apply.rebuild_slice = SLICE;
	total = (uint64_t)v.last - v.first + 1;
	before = v.rt.snap;
	done_seen.calls = 0;
	rc = cp_apply_config_start(&v.apply, cfg_new(PREFIX, "two.example"), "test", on_done,
				   NULL, err, sizeof(err));
	assert_int_equal(rc, CP_APPLY_PENDING);
	assert_true(cp_apply_busy(&v.apply));
	assert_ptr_equal(v.rt.snap, before);	/* the old one runs meanwhile */
	/* A grace period begun now ends between two slices, before the change is done. */
	assert_int_equal(pthread_create(&th, NULL, sync_thread, &synced), 0);
	for (turns = 1; atomic_load(&synced) == 0; turns++) {
		struct timespec ts = {0, 1000000};

		assert_true(cp_apply_progress(&v.apply));
		assert_true(cp_apply_busy(&v.apply));
		nanosleep(&ts, NULL);	/* the loop's wait, offline */
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	turns += until_applied(&v);
	assert_int_equal(done_seen.calls, 1);
	assert_int_equal(done_seen.rc, 0);
	assert_true(v.rt.snap != before);
	assert_string_equal(domain_of(v.rt.snap->cfg), "two.example");
	assert_true(turns >= total / SLICE);
	cp_apply_rebuild_counts(&v.apply, &slices, &qs);
	assert_int_equal(slices, turns);
	assert_true(qs >= total / 1024 - 1);
	requeue_to_end(&v);
	env_deinit(&v);
}


/* The free lists a sliced rebuild leaves are those a rebuild in one go leaves, address for
 * address and in the same order. */
static void free_lists_as_in_one_go(void **state)
{
	static struct env v;
	static uint32_t got[POOL_MAX], want[POOL_MAX];
	struct dp_config *c = cfg_new(PREFIX, "two.example");
	struct dp_pools *ref;
	size_t n_got, n_want;
	char err[512];

	(void)state;
	env_init(&v, PREFIX, 7);
	v.apply.rebuild_slice = SLICE;
	ref = dp_pools_new(c, 2);
	assert_non_null(ref);
	urcu_qsbr_thread_online();
	assert_int_equal(dp_pools_requeue(ref, v.rt.table), 0);
	urcu_qsbr_thread_offline();
	assert_int_equal(cp_apply_config_start(&v.apply, c, "test", on_done, NULL, err,
					       sizeof(err)), CP_APPLY_PENDING);
	assert_true(until_applied(&v) > 10);
	requeue_to_end(&v);
	assert_int_equal(rte_ring_count(v.rt.workers[0].cmd), 0);	/* nothing missing */
	assert_int_equal(rte_ring_count(v.rt.workers[1].cmd), 0);
	n_want = drain(ref, want, POOL_MAX);
	n_got = drain(v.rt.snap->pools, got, POOL_MAX);
	assert_true(n_want > POOL_MAX / 2);
	assert_int_equal(n_got, n_want);
	assert_memory_equal(got, want, n_got * sizeof(got[0]));
	dp_pools_free(ref);
	env_deinit(&v);
}

/* What worker @p w's command ring holds: REQUEUE addresses (the requeue scan's). */
static size_t ring_addrs(struct dp_worker *wk, uint32_t *out, size_t max)
{
	size_t n = 0;
	void *c;

	while (rte_ring_sc_dequeue(wk->cmd, &c) == 0) {
		uintptr_t x = (uintptr_t)c;

		assert_int_equal((x >> 1) & 0x7f, DP_CMD_REQUEUE);
		assert_true(n < max);
		out[n++] = (uint32_t)(x >> 32);
	}
	return n;
}

static bool in(const uint32_t *v, size_t n, uint32_t a)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] == a) {
			return true;
		}
	}
	return false;
}

static struct bt_binding *bind_addr(struct env *v, uint32_t a, uint8_t st)
{
	const struct bt_binding *old = bt_lookup_addr(v->rt.table, a);
	struct bt_binding *b = bt_record_get(&v->wr);

	assert_non_null(b);
	b->addr = a;
	b->state = st;
	b->start = v->now;
	b->ends = v->now + 600;
	b->key.type = DP_KEY_HWADDR;
	b->key.len = 5;
	memcpy(b->key.data, &a, 4);
	b->key.data[4] = 2;
	assert_int_equal(bt_publish(&v->wr, old, b), 0);
	return b;
}

/*
 * Packets during the rebuild (as a worker would, between two slices): an address the scan has
 * passed as free is bound, one it has passed as bound is freed, one ahead of it is bound. No
 * free address is lost (each is in a free list or handed to its owner by the requeue scan
 * that follows), and none is given twice: the one bound behind the cursor sits in a free list
 * but its binding is what the engine looks up before it uses a popped address; the one bound
 * ahead is in no list.
 */
static void changes_during_the_rebuild(void **state)
{
	static struct env v;
	static uint32_t lists[POOL_MAX], sent[4096];
	uint32_t taken = 0, freed = 0, ahead = 0;
	size_t n_lists, n_sent = 0;
	char err[512];

	(void)state;
	env_init(&v, PREFIX, 16);
	v.apply.rebuild_slice = SLICE;
	assert_int_equal(cp_apply_config_start(&v.apply, cfg_new(PREFIX, "two.example"), "test",
					       on_done, NULL, err, sizeof(err)),
			 CP_APPLY_PENDING);
	for (int i = 0; i < 3; i++) {
		assert_true(cp_apply_progress(&v.apply));	/* 4 slices: 16 k looked up */
	}
	urcu_qsbr_thread_online();
	for (uint32_t a = v.first + 1000; taken == 0 || freed == 0; a++) {
		const struct bt_binding *b = bt_lookup_addr(v.rt.table, a);

		if (b == NULL && taken == 0) {
			taken = a;
			(void)bind_addr(&v, a, BT_ACTIVE);
		} else if (b != NULL && b->state == BT_ACTIVE && freed == 0) {
			freed = a;
			assert_int_equal(bt_remove(&v.wr, b), 0);
		}
	}
	for (ahead = v.last - 1000; bt_lookup_addr(v.rt.table, ahead) != NULL; ahead++) {
	}
	(void)bind_addr(&v, ahead, BT_OFFERED);
	urcu_qsbr_thread_offline();
	assert_true(until_applied(&v) > 10);
	requeue_to_end(&v);
	n_sent += ring_addrs(&v.rt.workers[0], sent, 4096);
	n_sent += ring_addrs(&v.rt.workers[1], sent + n_sent, 4096 - n_sent);
	n_lists = drain(v.rt.snap->pools, lists, POOL_MAX);

	assert_true(in(sent, n_sent, freed));		/* found again, to its owner */
	assert_false(in(lists, n_lists, ahead));	/* seen bound: never offered */
	assert_true(in(lists, n_lists, taken));		/* a stale hint ... */
	urcu_qsbr_thread_online();
	assert_int_equal(bt_lookup_addr(v.rt.table, taken)->state, BT_ACTIVE);	/* ... skipped */
	/* Every free address is in a list or was sent: none lost. */
	for (uint32_t a = v.first; a <= v.last; a++) {
		const struct bt_binding *b = bt_lookup_addr(v.rt.table, a);

		if (b == NULL || b->state == BT_EXPIRED || b->state == BT_RELEASED) {
			if (!in(sent, n_sent, a)) {
				/* lists is in pop order: a binary search would not do */
				static uint8_t seen[POOL_MAX];
				static bool built;

				if (!built) {
					for (size_t i = 0; i < n_lists; i++) {
						seen[lists[i] - v.first] = 1;
					}
					built = true;
				}
				assert_true(seen[a - v.first]);
			}
		}
	}
	urcu_qsbr_thread_offline();
	env_deinit(&v);
}



/*
 * The partner-acked PETs survive a configuration change (they were lost with the old pools:
 * PARTNER-DOWN then gave an ended lease's address away at end + MCLT, D12 9.4.2).
 */
static void pets_survive_a_change(void **state)
{
	static struct env v;
	const struct dp_pool *p;
	uint64_t r1, r2;
	char err[512];

	(void)state;
	with_rel = 1;
	env_init(&v, 20, 16);
	p = &v.rt.snap->pools->pools[0];
	assert_non_null(p->peer_pet);
	assert_true(dp_pool_rank(p, v.first + 5, &r1));
	assert_true(dp_pool_rank(p, v.last - 5, &r2));
	atomic_store(&p->peer_pet[r1], (uint32_t)v.now + 1000);
	atomic_store(&p->peer_pet[r2], (uint32_t)v.now + 2000);
	assert_int_equal(cp_apply_config(&v.apply, cfg_new(20, "two.example"), "test", err,
					 sizeof(err)), 0);
	p = &v.rt.snap->pools->pools[0];
	assert_int_equal(atomic_load(&p->peer_pet[r1]), (uint32_t)v.now + 1000);
	assert_int_equal(atomic_load(&p->peer_pet[r2]), (uint32_t)v.now + 2000);
	assert_int_equal(atomic_load(&p->peer_pet[r1 + 1]), 0);
	requeue_to_end(&v);
	with_rel = 0;
	env_deinit(&v);
}

/* --- through the control socket: answers, and a second change meanwhile --------------- */

struct sock {
	struct cp_cmds *c;
	struct ctl_server *srv;
	char dir[64], path[96];
};

static void sock_open(struct sock *k, struct env *v)
{
	struct ctl_opts o = {0};
	char err[256];

	k->c = cp_cmds_new(&(struct cp_cmds_env){.rt = &v->rt, .persist = &v->persist,
			   .apply = &v->apply});
	assert_non_null(k->c);
	snprintf(k->dir, sizeof(k->dir), "/tmp/lw-apply-XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	snprintf(k->path, sizeof(k->path), "%s/ctl.sock", k->dir);
	o.path = k->path;
	k->srv = ctl_server_open(&o, cp_cmd_dispatch, k->c, err, sizeof(err));
	if (k->srv == NULL) {
		fail_msg("ctl: %s", err);
	}
}

static void sock_close(struct sock *k)
{
	cp_cmds_free(k->c);
	ctl_server_close(k->srv);
	rmdir(k->dir);
}

static int client_send(struct sock *k, const char *req)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", k->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

/* The answer on @p fd if it has come, else NULL. */
static json_t *client_answer(struct sock *k, int fd)
{
	static char buf[1 << 16];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t len = 0;
	json_error_t e;

	if (poll(&p, 1, 0) != 1) {
		return NULL;
	}
	for (;;) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			(void)ctl_server_poll(k->srv, 10);
			continue;
		}
		assert_true(n >= 0);
		if (n == 0) {
			break;
		}
		len += (size_t)n;
		assert_true(len < sizeof(buf));
	}
	close(fd);
	return json_loadb(buf, len, 0, &e);
}

/* One control-loop turn as loop.c runs it: the socket, the commands, the change. */
static void loop_turn(struct sock *k, struct env *v)
{
	(void)ctl_server_poll(k->srv, 0);
	(void)cp_cmd_progress(k->c);
	(void)cp_apply_progress(&v->apply);
}

static const char *text_of(json_t *a)
{
	return json_string_value(json_object_get(a, "text"));
}

/*
 * config-set on a big pool is answered once the change is published, turns later, the
 * socket served meanwhile (a status-get is answered at once); an exclusion-add sent while it
 * is being built waits for it and is derived from it: the end holds both (the exclusion-add
 * applied on the configuration it found when it came would have put the domain back).
 */
static void second_change_waits_for_the_first(void **state)
{
	static struct env v;
	static struct sock k;
	static char req[2048];
	json_t *a1 = NULL, *a2 = NULL, *st = NULL, *j, *ex;
	unsigned turns = 0, at1 = 0, at2 = 0;
	int fd1, fd2, fd3;

	(void)state;
	env_init(&v, PREFIX, 16);
	v.apply.rebuild_slice = SLICE;
	sock_open(&k, &v);
	snprintf(req, sizeof(req), "{\"command\": \"config-set\", \"arguments\": %s}",
		 cfg_text(PREFIX, "two.example"));
	fd1 = client_send(&k, req);
	for (int i = 0; i < 20 && !cp_apply_busy(&v.apply); i++) {
		loop_turn(&k, &v);
	}
	assert_true(cp_apply_busy(&v.apply));
	fd2 = client_send(&k, "{\"command\": \"exclusion-add\", \"arguments\": {\"scope\": "
			  "\"big\", \"range\": \"10.0.0.100 - 10.0.0.199\"}}");
	fd3 = client_send(&k, "{\"command\": \"status-get\"}");
	while (a1 == NULL || a2 == NULL) {
		assert_true(++turns < 10000);
		loop_turn(&k, &v);
		if (a1 == NULL && (a1 = client_answer(&k, fd1)) != NULL) {
			at1 = turns;
		}
		if (a2 == NULL && (a2 = client_answer(&k, fd2)) != NULL) {
			at2 = turns;
		}
		if (st == NULL && (st = client_answer(&k, fd3)) != NULL) {
			assert_null(a1);	/* served while the change is built */
		}
	}
	assert_non_null(st);
	assert_string_equal(text_of(a1), "configuration applied");
	assert_string_equal(text_of(a2), "exclusion added");
	assert_true(at1 > 20 && at2 > at1 + 20);	/* each rebuilt over turns, in order */
	j = cp_config_to_json(v.rt.snap->cfg);
	ex = json_object_get(json_array_get(json_object_get(j, "scopes"), 0), "exclusions");
	assert_int_equal(json_array_size(ex), 1);
	json_decref(j);
	assert_string_equal(domain_of(v.rt.snap->cfg), "two.example");
	/* The excluded addresses are in no free list. */
	{
		static uint32_t lists[POOL_MAX];
		size_t n;

		for (unsigned i = 0; cp_apply_progress(&v.apply); i++) {
			assert_true(i < 100000);
		}
		n = drain(v.rt.snap->pools, lists, POOL_MAX);
		for (size_t i = 0; i < n; i++) {
			assert_false(lists[i] >= 0x0a000064u && lists[i] <= 0x0a0000c7u);
		}
	}
	json_decref(a1);
	json_decref(a2);
	json_decref(st);
	sock_close(&k);
	env_deinit(&v);
}

/* The control thread's CPU time: on a loaded machine its wall time says more about the other
 * processes than about the turn. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --measure: the longest control-loop turn of one configuration change, in one call (the
 * rebuild before: cp_apply_config()) or sliced (cp_apply_config_start(), 65536 lookups per
 * turn), then the requeue scan's turns; alternating, twice each, on one table. */
static void measure_one(struct env *v, bool sliced, int round)
{
	uint64_t t0, longest = 0, total = 0, first, slice = 0, publish = 0, requeue = 0;
	unsigned turns = 0, rb_turns = 0;
	char err[512], dom[32];
	int rc;

	snprintf(dom, sizeof(dom), "d%d.example", round);
	t0 = mono_ns();
	rc = sliced ? cp_apply_config_start(&v->apply, cfg_new(v->prefix, dom), "measure",
					    on_done, NULL, err, sizeof(err)) :
		      cp_apply_config(&v->apply, cfg_new(v->prefix, dom), "measure", err,
				      sizeof(err));
	first = mono_ns() - t0;
	if (rc < 0) {
		fail_msg("apply: %s", err);
	}
	longest = total = first;
	for (;;) {
		uint64_t s = mono_ns(), d;
		bool building = cp_apply_busy(&v->apply);
		bool busy = cp_apply_progress(&v->apply);

		d = mono_ns() - s;
		longest = d > longest ? d : longest;
		total += d;
		if (building && !cp_apply_busy(&v->apply)) {
			publish = d;	/* the last slice, the free lists and the swap */
		} else if (building) {
			slice = d > slice ? d : slice;
		} else {
			requeue = d > requeue ? d : requeue;
		}
		if (!busy) {
			break;
		}
		turns++;
		rb_turns += building;
	}
	printf("  %-8s first call %8.1f ms, then %u turns (%u building); longest turn %8.1f ms "
	       "(building %.1f, publishing %.1f, requeue scan %.1f); all turns %8.1f ms (CPU "
	       "time of the control thread)\n",
	       sliced ? "sliced" : "one-call", (double)first / 1e6, turns, rb_turns,
	       (double)longest / 1e6, (double)slice / 1e6, (double)publish / 1e6,
	       (double)requeue / 1e6, (double)total / 1e6);
	fflush(stdout);
}

static int measure(unsigned prefix)
{
	static struct env v;
	FILE *f = fopen("/proc/loadavg", "r");
	char load[64] = "?";

	if (f != NULL) {
		if (fgets(load, sizeof(load), f) == NULL) {
			snprintf(load, sizeof(load), "?");
		}
		fclose(f);
	}
	env_init(&v, prefix, 16);
	printf("/%u pool (%u addresses, 1 binding in 16), load %s", prefix, v.last - v.first + 1,
	       load);
	for (int r = 0; r < 4; r++) {
		measure_one(&v, r % 2 == 1, r);
	}
	env_deinit(&v);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rebuild_runs_in_slices),
		cmocka_unit_test(free_lists_as_in_one_go),
		cmocka_unit_test(changes_during_the_rebuild),
		cmocka_unit_test(second_change_waits_for_the_first),
		cmocka_unit_test(pets_survive_a_change),
	};

	if (argc > 1 && strcmp(argv[1], "--measure") == 0) {
		return measure(argc > 2 ? (unsigned)atoi(argv[2]) : 8);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
