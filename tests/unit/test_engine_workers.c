/*
 * Two engines (workers 0 and 1) on one binding table and one set of pools: the single-writer
 * rules between workers. Commands one worker sends another (dp_tell_fn) are captured and
 * delivered by the test, so every hand-over is visible:
 *   - a client's bindings are written by its owner worker, from that worker's pool slice;
 *   - an address freed by a worker that does not own its slice goes back to the slice owner
 *     (DP_CMD_REQUEUE);
 *   - an ended binding written by another worker, met in our free list, is handed back by its
 *     writer (DP_CMD_RELEASE_ENDED) and then becomes ours to give;
 *   - a worker never overwrites another worker's binding (write_conflict);
 *   - failover: a partner's update runs only on the worker that may write it, and a BACKUP
 *     record (no client) is the slice owner's to give whoever wrote it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "committer.h"
#include "config.h"
#include "engine.h"
#include "fmt.h"
#include "rcu_fix.h"
#include "reqbuild.h"
#include "store.h"

#define SRV IP4(198, 18, 0, 1)
#define T0 1700000000ULL

static const char *cfg_json =
	"{\"server\": {\"workers\": 2},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.107\"], \"lease-time\": 600}]}";

struct told {
	uint32_t worker, scope, addr;
	enum dp_cmd_type type;
};

struct env {
	struct dp_config *cfg;
	struct bt_table *table;
	struct dp_pools *pools;
	struct dp_commit_mem mem;
	struct dp_counters ctr[2];
	struct dp_engine e[2];
	struct told q[64];
	unsigned nq;
	bool refuse_tell;		/* tell() fails: the target's ring is full */
	struct dhcp4_msg msg;
	struct dp_frame frame;
	struct dp_fo_view view;		/* setup_fo: "lab" shared, relationship 0 */
	struct dp_fo_view *fo[DP_MAX_RELATIONSHIPS];
};

static int tell(void *ctx, uint32_t worker, enum dp_cmd_type type, uint32_t scope, uint32_t addr)
{
	struct env *v = ctx;

	if (v->refuse_tell) {
		return -ENOBUFS;
	}
	assert_true(v->nq < 64);
	v->q[v->nq++] = (struct told){worker, scope, addr, type};
	return 0;
}

/* Hand over what each engine freed (its changes are durable at once with the in-memory
 * sink), then run the captured commands on their target engines (which may tell more). */
static unsigned deliver(struct env *v, uint64_t now)
{
	unsigned done = 0;

	for (int round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < 2; i++) {
			dp_engine_handoff(&v->e[i], dp_commit_mem_ops.durable(&v->mem, i));
		}
		if (v->nq == 0) {
			break;
		}
		done += v->nq;
		while (v->nq > 0) {
			struct told t = v->q[0];

			memmove(v->q, v->q + 1, sizeof(v->q[0]) * --v->nq);
			if (t.type == DP_CMD_REQUEUE) {
				dp_engine_requeue(&v->e[t.worker], t.scope, t.addr);
			} else if (t.type == DP_CMD_RELEASE_ENDED) {
				dp_engine_release_ended(&v->e[t.worker], v->cfg, t.addr, now);
			} else if (t.type == DP_CMD_LEND) {
				dp_engine_lend(&v->e[t.worker], t.scope, t.addr, now);
			} else if (t.type == DP_CMD_LENT) {
				dp_engine_borrowed(&v->e[t.worker], t.scope, t.addr);
			} else if (t.type == DP_CMD_LEND_DONE) {
				dp_engine_lend_done(&v->e[t.worker], t.scope);
			} else if (t.type == DP_CMD_END_MOVED) {
				dp_engine_end_moved(&v->e[t.worker], v->cfg, t.addr, now);
			} else if (t.type == DP_CMD_UNCOUNT) {
				dp_engine_uncount(&v->e[t.worker], t.scope, t.addr);
			}
		}
	}
	return done;
}

static int setup_env(void **state, bool failover)
{
	struct env *v = calloc(1, sizeof(*v));
	char err[256];

	v->cfg = cp_config_parse(cfg_json, err, sizeof(err));
	if (v->cfg == NULL) {
		fail_msg("config: %s", err);
	}
	if (failover) {
		v->cfg->scopes[0].fo_rel = 1;
		v->view.service = DP_FO_SVC_ALL;
		v->view.primary = true;
		v->view.mclt = 3600;
		v->fo[0] = &v->view;
	}
	urcu_qsbr_register_thread();
	v->table = bt_table_new(dp_config_capacity(v->cfg));
	v->pools = dp_pools_new(v->cfg, 2);
	for (uint32_t i = 0; i < 2; i++) {
		struct dp_engine *e = &v->e[i];

		assert_int_equal(bt_writer_init(&e->writer, v->table, (uint8_t)i, 64), 0);
		e->id = i;
		e->n_workers = 2;
		e->table = v->table;
		e->pools = v->pools;
		e->ctr = &v->ctr[i];
		e->commit.ops = &dp_commit_mem_ops;
		e->commit.ctx = &v->mem;
		e->tell = tell;
		e->tell_ctx = v;
		e->fo = failover ? v->fo : NULL;
	}
	*state = v;
	return 0;
}

static int setup(void **state)
{
	return setup_env(state, false);
}

static int setup_fo(void **state)
{
	return setup_env(state, true);
}

static int teardown(void **state)
{
	struct env *v = *state;

	rcu_fix_barrier();
	bt_table_free(v->table);
	for (int i = 0; i < 2; i++) {
		bt_writer_deinit(&v->e[i].writer);
	}
	dp_pools_free(v->pools);
	dp_config_free(v->cfg);
	urcu_qsbr_unregister_thread();
	free(v);
	return 0;
}

/* A client (chaddr 02:00:00:00:<mac>) whose key belongs to worker @p w. */
static uint16_t client_of(struct env *v, uint32_t w, uint16_t from)
{
	for (uint16_t mac = from; mac < from + 1000; mac++) {
		struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7,
					  .data = {1, 2, 0, 0, 0, (uint8_t)(mac >> 8), (uint8_t)mac}};

		if (bt_key_owner(v->table, &k, 2) == w) {
			return mac;
		}
	}
	fail_msg("no client for worker %u", w);
	return 0;
}

static struct dp_client_key key_of(uint16_t mac)
{
	return (struct dp_client_key){.type = DP_KEY_HWADDR, .len = 7,
				      .data = {1, 2, 0, 0, 0, (uint8_t)(mac >> 8), (uint8_t)mac}};
}

/* Send a request to engine @p w; the decision. */
static bool handle(struct env *v, uint32_t w, struct reqbuf *r, uint64_t now,
		   struct dp_decision *d)
{
	struct dp_ingress in = {.cfg = v->cfg, .frame = &v->frame, .msg = &v->msg, .iface = 0,
				.now = now};

	memset(&v->frame, 0, sizeof(v->frame));
	v->frame.ip_dst = UINT32_MAX;
	assert_int_equal(dhcp4_parse(&v->msg, r->b, r->len), DHCP4_OK);
	return dp_engine_handle(&v->e[w], &in, d);
}

static uint32_t dora(struct env *v, uint32_t w, uint16_t mac, uint64_t now)
{
	struct dp_decision d;
	struct reqbuf r;
	uint32_t a;

	rb_begin(&r, mac, 1);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_true(handle(v, w, &r, now, &d));
	a = d.yiaddr;
	rb_begin(&r, mac, 2);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(handle(v, w, &r, now, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	return a;
}

/* An address of worker @p w's slice. */
static uint32_t addr_of(struct env *v, uint32_t w)
{
	for (uint32_t a = IP4(198, 18, 0, 100); a <= IP4(198, 18, 0, 107); a++) {
		if (dp_pool_owner(v->pools, 0, a) == (int)w) {
			return a;
		}
	}
	fail_msg("no address for worker %u", w);
	return 0;
}

/* An operator's lease for @p mac at @p addr, executed by the client's worker @p w. */
static int add_lease(struct env *v, uint32_t w, uint16_t mac, uint32_t addr)
{
	struct dp_lease_op op = {.kind = DP_OP_SET, .addr = addr, .key = key_of(mac),
				 .state = BT_ACTIVE, .start = T0, .ends = T0 + 600, .add = true};

	dp_engine_apply_op(&v->e[w], v->cfg, &op, T0);
	return op.result;
}

static void owner_allocates_from_its_slice(void **state)
{
	struct env *v = *state;

	for (uint32_t w = 0; w < 2; w++) {
		uint16_t mac = client_of(v, w, (uint16_t)(10 + 100 * w));
		uint32_t a = dora(v, w, mac, T0);

		assert_int_equal(dp_pool_owner(v->pools, 0, a), (int)w);
		assert_int_equal(bt_lookup_addr(v->table, a)->owner, w);
	}
	assert_int_equal(v->nq, 0);	/* nothing to tell anyone */
}

static void freed_address_goes_back_to_its_slice_owner(void **state)
{
	struct env *v = *state;
	uint16_t mac = client_of(v, 0, 10);
	uint32_t a = addr_of(v, 1);		/* worker 1's address, worker 0's client */
	struct dp_decision d;
	struct reqbuf r;

	assert_int_equal(add_lease(v, 0, mac, a), 0);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	/* Worker 1 pops it from its free list: taken by worker 0's binding, skipped. */
	while (dp_slice_count(v->pools, 1, 0) > 0) {
		uint32_t x;

		assert_true(dp_slice_pop(v->pools, 1, 0, &x));
	}
	assert_false(dp_slice_queued(v->pools, 1, 0, a));
	/* The client releases: worker 0 frees the binding, worker 1 gets the address back. */
	rb_begin(&r, mac, 3);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_RELEASE);
	rb_end(&r);
	assert_false(handle(v, 0, &r, T0 + 1, &d));
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_RELEASED);
	/* Handed over only once the change that freed it is durable. */
	assert_int_equal(v->nq, 0);
	assert_int_equal(v->e[0].ho_count, 1);
	dp_engine_handoff(&v->e[0], v->e[0].seq - 1);
	assert_int_equal(v->nq, 0);
	dp_engine_handoff(&v->e[0], v->e[0].seq);
	assert_int_equal(v->nq, 1);
	assert_int_equal(v->q[0].type, DP_CMD_REQUEUE);
	assert_int_equal(v->q[0].worker, 1);
	assert_int_equal(deliver(v, T0 + 1), 1);
	assert_true(dp_slice_queued(v->pools, 1, 0, a));
}

static void ended_binding_of_another_writer_is_handed_over(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	uint32_t got[8];
	unsigned n = 0;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	/* The lease ends; worker 0 (its writer) reclaims it: EXPIRED, handed back to 1. */
	assert_true(dp_engine_reclaim(&v->e[0], v->cfg, a, T0 + 601));
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_EXPIRED);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	assert_int_equal(deliver(v, T0 + 601), 1);	/* DP_CMD_REQUEUE to worker 1, once durable */
	/* Worker 1 allocates through its whole slice: when it meets .a (ended, but worker 0's
	 * record) it must not write it, and asks worker 0 to free it. */
	for (uint16_t c = 0; c < 8; c++) {
		struct dp_decision d;
		struct reqbuf r;
		uint16_t mac = client_of(v, 1, (uint16_t)(mac1 + 1 + c * 7));

		rb_begin(&r, mac, 4);
		rb_type(&r, DHCP4_DISCOVER);
		rb_end(&r);
		if (handle(v, 1, &r, T0 + 602, &d)) {
			assert_int_not_equal(d.yiaddr, a);
			got[n++] = d.yiaddr;
		}
	}
	assert_true(n >= 1);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 0);
	assert_true(v->nq >= 1);
	assert_int_equal(v->q[0].type, DP_CMD_RELEASE_ENDED);
	assert_int_equal(v->q[0].worker, 0);
	deliver(v, T0 + 602);	/* worker 0 frees it, and once durable requeues it to 1 */
	assert_null(bt_lookup_addr(v->table, a));
	assert_true(dp_slice_queued(v->pools, 1, 0, a));
	(void)got;
}

static void no_worker_overwrites_another_workers_binding(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	struct dp_decision d;
	struct reqbuf r;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	assert_true(dp_engine_reclaim(&v->e[0], v->cfg, a, T0 + 601));	/* EXPIRED, worker 0 */
	/* Worker 1's client asks for it (it is free for a new client, and in worker 1's slice),
	 * but the record is worker 0's: never offered, never written. */
	rb_begin(&r, mac1, 5);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(!handle(v, 1, &r, T0 + 700, &d) || d.yiaddr != a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	/* Nor does selecting it without an offer (flood control: silence, RFC 2131 4.3.2). */
	rb_begin(&r, mac1, 5);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_false(handle(v, 1, &r, T0 + 700, &d));
	assert_int_equal(v->ctr[1].drop[DP_DROP_NOT_OFFERED], 1);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	/* And an operator's lease from worker 1 on it is a conflict, not a write. */
	assert_int_equal(add_lease(v, 1, mac1, a), -EEXIST);
}

/*
 * More cross-worker frees within one commit than the hand-off FIFO holds: the one that does
 * not fit is counted and reported to the control thread (requeue_lost), whose requeue scan
 * finds the address again; before, it silently left every free list until a restart.
 */
static void handoff_overflow_is_counted_and_reported(void **state)
{
	struct env *v = *state;
	uint16_t mac = client_of(v, 0, 10);
	uint32_t a = addr_of(v, 1);
	_Atomic uint64_t lost = 0;

	v->e[0].requeue_lost = &lost;
	for (uint32_t i = 0; i <= DP_HANDOFF_MAX; i++) {
		struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};

		if (i % 32 == 0) {
			/* Let retired records come back to the writer's stock. */
			assert_int_equal(bt_writer_flush(&v->e[0].writer), 0);
			rcu_fix_barrier();
		}
		assert_int_equal(add_lease(v, 0, mac, a), 0);
		dp_engine_apply_op(&v->e[0], v->cfg, &del, T0);
		assert_int_equal(del.result, 0);
		assert_int_equal(del.count, 1);
		if (i + 1 == DP_HANDOFF_MAX) {
			assert_int_equal(v->e[0].ho_count, DP_HANDOFF_MAX);
			assert_int_equal(v->ctr[0].handoff_overflow, 0);
			assert_int_equal(lost, 0);
		}
	}
	assert_int_equal(v->e[0].ho_count, DP_HANDOFF_MAX);
	assert_int_equal(v->ctr[0].handoff_overflow, 1);
	assert_int_equal(lost, 1);
}

/*
 * Every client hashes to worker 0 (as an attacker picking MACs would have it, or plain bad
 * luck): worker 0's share (4 of 8 addresses) runs dry, and it borrows worker 1's free
 * addresses instead of refusing clients while half the pool is free. A borrowed address
 * freed again goes back to its slice owner.
 */
static void dry_share_borrows_from_the_other_worker(void **state)
{
	struct env *v = *state;
	uint32_t got[8];
	uint16_t mac = 10;

	for (unsigned i = 0; i < 8; i++) {
		mac = client_of(v, 0, (uint16_t)(mac + 1));
		got[i] = dora(v, 0, mac, T0);
		assert_true(dp_pool_owner(v->pools, 0, got[i]) >= 0);
		for (unsigned j = 0; j < i; j++) {
			assert_int_not_equal(got[i], got[j]);
		}
		deliver(v, T0);	/* worker 1 answers a lend request, once durable */
	}
	assert_int_equal(v->ctr[0].drop[DP_DROP_POOL_EXHAUSTED], 0);
	assert_int_equal(v->ctr[0].borrowed, 4);
	assert_int_equal(v->ctr[1].lent, 4);
	assert_int_equal(v->ctr[0].drop[DP_DROP_WRITE_CONFLICT], 0);
	/* All eight bound, by worker 0 (its clients' writer). */
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(bt_lookup_addr(v->table, got[i])->owner, 0);
	}
	/* The last one, of worker 1's slice, ends: back to worker 1's free list. */
	assert_int_equal(dp_pool_owner(v->pools, 0, got[7]), 1);
	assert_false(dp_slice_queued(v->pools, 1, 0, got[7]));
	assert_true(dp_engine_reclaim(&v->e[0], v->cfg, got[7], T0 + 601));
	deliver(v, T0 + 601);
	assert_true(dp_slice_queued(v->pools, 1, 0, got[7]));
}

/* A lent address the borrower never receives (its ring full) comes back to the lender. */
static void undelivered_loan_returns_to_the_lender(void **state)
{
	struct env *v = *state;
	uint32_t before = dp_slice_count(v->pools, 1, 0);

	dp_engine_lend(&v->e[1], 0, 0, T0);
	assert_int_equal(v->ctr[1].lent, 2);
	assert_int_equal(dp_slice_count(v->pools, 1, 0), before - 2);
	v->refuse_tell = true;
	dp_engine_handoff(&v->e[1], dp_commit_mem_ops.durable(&v->mem, 1));
	assert_int_equal(dp_slice_count(v->pools, 1, 0), before);
	for (uint32_t a = IP4(198, 18, 0, 100); a <= IP4(198, 18, 0, 107); a++) {
		assert_false(dp_pool_lent(v->pools, 0, a));
	}
}

/* Worker @p w's FIFO of scope 0, oldest first, popped and then queued again in order. */
static unsigned fifo_of(struct env *v, uint32_t w, uint32_t *out)
{
	unsigned n = 0;

	while (dp_slice_pop(v->pools, w, 0, &out[n])) {
		n++;
	}
	for (unsigned i = 0; i < n; i++) {
		assert_true(dp_slice_push(v->pools, w, 0, out[i]));
	}
	return n;
}

/*
 * Lending keeps the lender's free list in order (review of issue 11 item 5): an address it
 * skips (it has a record) stays where it was, and a loan that never reaches the borrower
 * goes back to the front in its order (it was the oldest free), not behind every other free
 * address.
 */
static void lending_keeps_the_free_list_in_order(void **state)
{
	struct env *v = *state;
	uint32_t before[8], after[8];
	struct bt_binding *b;
	unsigned n;

	n = fifo_of(v, 1, before);
	assert_int_equal(n, 4);
	/* The second one holds an ended lease of worker 1's: a lender keeps it. */
	b = bt_record_get(&v->e[1].writer);
	assert_non_null(b);
	b->addr = before[1];
	b->state = BT_EXPIRED;
	b->owner = 1;
	b->start = T0 - 700;
	b->ends = T0 - 100;
	b->key = key_of(77);
	assert_int_equal(bt_publish(&v->e[1].writer, NULL, b), 0);

	dp_engine_lend(&v->e[1], 0, 0, T0);	/* lends the first and the third */
	assert_int_equal(v->ctr[1].lent, 2);
	assert_int_equal(fifo_of(v, 1, after), 2);
	assert_int_equal(after[0], before[1]);
	assert_int_equal(after[1], before[3]);

	/* The borrower's ring is full: the loan comes back at the front, in its order (it
	 * was the oldest free), not behind the others. */
	v->refuse_tell = true;
	dp_engine_handoff(&v->e[1], dp_commit_mem_ops.durable(&v->mem, 1));
	assert_int_equal(fifo_of(v, 1, after), 4);
	assert_int_equal(after[0], before[0]);
	assert_int_equal(after[1], before[2]);
	assert_int_equal(after[2], before[1]);
	assert_int_equal(after[3], before[3]);
}

/* The in-memory sink, whose durability the test can hold back. */
struct held_sink {
	struct dp_commit_mem *mem;
	uint64_t cap[2];
	bool hold;
};

static int held_post(void *ctx, const struct dp_change *c)
{
	return dp_commit_mem_ops.post(((struct held_sink *)ctx)->mem, c);
}

static uint64_t held_durable(void *ctx, uint32_t w)
{
	struct held_sink *h = ctx;
	uint64_t d = dp_commit_mem_ops.durable(h->mem, w);

	return h->hold && d > h->cap[w] ? h->cap[w] : d;
}

static uint64_t held_posted(void *ctx, uint32_t w)
{
	return dp_commit_mem_ops.posted(((struct held_sink *)ctx)->mem, w);
}

static bool held_room(void *ctx, uint32_t w)
{
	return dp_commit_mem_ops.room(((struct held_sink *)ctx)->mem, w);
}

static const struct dp_commit_ops held_ops = {
	.post = held_post, .durable = held_durable, .posted = held_posted, .room = held_room,
};

/* A client of worker @p w asks for @p a by option 50 (DISCOVER): offered? */
static bool offered_by_name(struct env *v, uint32_t w, uint16_t mac, uint32_t a, uint64_t now)
{
	struct dp_decision d;
	struct reqbuf r;

	rb_begin(&r, mac, 6);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	return handle(v, w, &r, now, &d) && d.reply == DHCP4_OFFER && d.yiaddr == a;
}

/*
 * Review of issue 11 item 2: a FREE posted just before a configuration change is still
 * waited for under the new snapshot's pools. Worker 0 frees an address of worker 1's slice;
 * before that FREE is durable a new snapshot is published (fresh pools); a client of worker 1
 * asking for the address by name must still wait for the FREE.
 */
static void free_mark_survives_a_configuration_swap(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_pools *np;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
		h.cap[i] = dp_commit_mem_ops.durable(&v->mem, i);
	}
	h.hold = true;
	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* FREE, not durable */
	assert_int_equal(del.count, 1);

	/* A configuration change: new pools, built from the table (the address is free). */
	np = dp_pools_new(v->cfg, 2);
	assert_non_null(np);
	assert_int_equal(dp_pools_requeue(np, v->table), 0);
	dp_pools_carry_freed(np, v->pools, &c);
	dp_pools_free(v->pools);
	v->pools = np;
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].pools = np;
	}

	assert_false(offered_by_name(v, 1, mac1, a, T0 + 2));
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 1);
	h.hold = false;				/* the FREE is durable */
	assert_true(offered_by_name(v, 1, mac1, a, T0 + 3));
}

/*
 * The same for an address outside the ranges (dp_pool.freed_other: an operator's lease, a
 * reservation there). Worker 0 frees its lease of .50; before that FREE is durable a new
 * snapshot is published (fresh pools, so fresh freed_other); worker 1 writes .50 for its
 * client (an operator's lease here; a reserved client's DISCOVER takes the same path). Its
 * change, through ring 1, could be committed before ring 0's FREE: it must wait.
 */
static void free_mark_outside_the_ranges_survives_a_swap(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = IP4(198, 18, 0, 50);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_pools *np;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
		h.cap[i] = dp_commit_mem_ops.durable(&v->mem, i);
	}
	h.hold = true;
	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* FREE, not durable */
	assert_int_equal(del.count, 1);

	np = dp_pools_new(v->cfg, 2);
	assert_non_null(np);
	assert_int_equal(dp_pools_requeue(np, v->table), 0);
	dp_pools_carry_freed(np, v->pools, &c);
	dp_pools_free(v->pools);
	v->pools = np;
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].pools = np;
	}

	assert_int_equal(add_lease(v, 1, mac1, a), -EAGAIN);
	assert_null(bt_lookup_addr(v->table, a));
	h.hold = false;				/* the FREE is durable */
	assert_int_equal(add_lease(v, 1, mac1, a), 0);
}

/* The same for an address of a range that the new configuration shrinks: .107 was in the
 * pool (its FREE remembered in freed_by), the new pool ends at .105. */
static void free_mark_of_a_range_shrunk_survives_a_swap(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = IP4(198, 18, 0, 107);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_config *nc;
	struct dp_pools *np;
	char json[512], err[256];
	const char *at = strstr(cfg_json, "107");

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
		h.cap[i] = dp_commit_mem_ops.durable(&v->mem, i);
	}
	h.hold = true;
	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* FREE, not durable */
	assert_int_equal(del.count, 1);

	assert_non_null(at);
	snprintf(json, sizeof(json), "%.*s105%s", (int)(at - cfg_json), cfg_json, at + 3);
	nc = cp_config_parse(json, err, sizeof(err));
	assert_non_null(nc);
	np = dp_pools_new(nc, 2);
	assert_non_null(np);
	assert_int_equal(dp_pools_requeue(np, v->table), 0);
	dp_pools_carry_freed(np, v->pools, &c);
	dp_pools_free(v->pools);
	dp_config_free(v->cfg);
	v->cfg = nc;
	v->pools = np;
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].pools = np;
	}

	assert_int_equal(add_lease(v, 1, mac1, a), -EAGAIN);
	h.hold = false;
	assert_int_equal(add_lease(v, 1, mac1, a), 0);
}

/*
 * A configuration change's grace period: worker 1 already runs on the new pools, worker 0
 * still on the old ones, and frees an address of worker 1's slice. The carry of FREE marks
 * after the grace period is too late for worker 1, which may write the address meanwhile (a
 * client asking for it by name): its change through ring 1 could be committed before ring
 * 0's FREE. The FREE must be remembered in the new pools at once.
 */
static void free_during_the_grace_period_reaches_the_new_pools(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_pools *np;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
		h.cap[i] = dp_commit_mem_ops.durable(&v->mem, i);
	}
	h.hold = true;
	/* The change, as apply.c makes it: the next pools named, marks carried, published. */
	np = dp_pools_new(v->cfg, 2);
	assert_non_null(np);
	assert_int_equal(dp_pools_requeue(np, v->table), 0);
	dp_pools_set_next(v->pools, np);
	dp_pools_carry_freed(np, v->pools, &c);
	v->e[1].pools = np;		/* worker 1 on the new snapshot, worker 0 not yet */

	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* FREE, not durable */
	assert_int_equal(del.count, 1);
	assert_false(offered_by_name(v, 1, mac1, a, T0 + 2));
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 1);
	h.hold = false;				/* the FREE is durable */
	assert_true(offered_by_name(v, 1, mac1, a, T0 + 3));

	v->e[0].pools = np;		/* the grace period is over */
	dp_pools_free(v->pools);
	v->pools = np;
}

/*
 * A sink whose durable() is where another thread runs while the control thread carries the
 * FREE marks (dp_pools_carry_freed() asks it between reading a new pool's mark and writing
 * it): worker 0's FREE becomes durable, and worker 1, still on the old pools, writes the
 * address again and frees it (its mark reaches the new pools through dp_pools_set_next()).
 */
struct carry_race {
	struct dp_commit_mem *mem;
	uint64_t durable[2];
	struct dp_pools *to;
	uint32_t addr;
	bool armed;
};

static int race_post(void *ctx, const struct dp_change *c)
{
	return dp_commit_mem_ops.post(((struct carry_race *)ctx)->mem, c);
}

static uint64_t race_durable(void *ctx, uint32_t w)
{
	struct carry_race *r = ctx;

	if (r->armed && w == 1) {
		r->armed = false;
		r->durable[0] = 5;				/* worker 0's FREE */
		dp_pools_mark_next(r->to, r->addr, 1, 7);	/* worker 1's FREE, not durable */
	}
	return r->durable[w];
}

static uint64_t race_posted(void *ctx, uint32_t w)
{
	return dp_commit_mem_ops.posted(((struct carry_race *)ctx)->mem, w);
}

static bool race_room(void *ctx, uint32_t w)
{
	return dp_commit_mem_ops.room(((struct carry_race *)ctx)->mem, w);
}

static const struct dp_commit_ops race_ops = {
	.post = race_post, .durable = race_durable, .posted = race_posted, .room = race_room,
};

/*
 * The carry of a FREE mark into the new pools never overwrites a mark a worker wrote there
 * meanwhile. The new pools remember worker 1's FREE 1 of the address (durable); the old
 * ones worker 0's FREE 5 (not yet). While the carry looks, FREE 5 becomes durable and worker
 * 1 frees the address again (FREE 7, marked in the new pools at once). The carry used to
 * write FREE 5 over it: worker 0, on the new pools, then took the address while FREE 7 could
 * still be committed after its change (issue 11 item 2).
 */
static void carry_keeps_a_mark_written_meanwhile(void **state)
{
	struct env *v = *state;
	struct carry_race r = {.mem = &v->mem, .durable = {4, 6}};
	struct dp_commit c = {.ops = &race_ops, .ctx = &r};
	uint16_t mac0 = client_of(v, 0, 10);
	uint32_t a = addr_of(v, 0);
	struct dp_pools *np;

	np = dp_pools_new(v->cfg, 2);
	assert_non_null(np);
	assert_int_equal(dp_pools_requeue(np, v->table), 0);
	dp_pools_mark_next(np, a, 1, 1);	/* settled */
	dp_pools_mark_next(v->pools, a, 0, 5);	/* not yet */
	r.to = np;
	r.addr = a;
	r.armed = true;
	dp_pools_set_next(v->pools, np);
	dp_pools_carry_freed(np, v->pools, &c);
	assert_false(r.armed);
	dp_pools_set_next(v->pools, NULL);

	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].pools = np;
		v->e[i].commit = c;
	}
	dp_pools_free(v->pools);
	v->pools = np;
	assert_false(offered_by_name(v, 0, mac0, a, T0 + 2));	/* waits for FREE 7 */
	assert_int_equal(v->ctr[0].drop[DP_DROP_WRITE_CONFLICT], 1);
	r.durable[1] = 7;
	assert_true(offered_by_name(v, 0, mac0, a, T0 + 3));
}

/*
 * Review of issue 11 item 2: an operator's change of a binding another worker wrote is one
 * step on the client's worker, never a DEL and then a SET (between the two the address was
 * free, and its slice owner could offer it to a third client). The SET waits until the
 * writer's change is durable, then replaces the record in one compare-and-swap.
 */
static void set_takes_over_another_writers_binding_in_one_step(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac1 = client_of(v, 1, 500), mac2 = client_of(v, 1, (uint16_t)(mac1 + 1));
	uint32_t a = addr_of(v, 0);
	struct dp_lease_op set = {.kind = DP_OP_SET, .addr = a, .key = key_of(mac1),
				  .state = BT_ACTIVE, .start = T0 + 5, .ends = T0 + 900,
				  .take = true};
	const struct bt_binding *b;
	uint64_t posted0;

	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
	}
	/* Worker 0 wrote client mac1's lease (as before a restart: the key hash is seeded per
	 * start); its change is not durable yet. */
	h.cap[0] = dp_commit_mem_ops.durable(&v->mem, 0);
	h.hold = true;
	assert_int_equal(add_lease(v, 0, mac1, a), 0);
	posted0 = held_posted(&h, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &set, T0 + 5);
	assert_int_equal(set.result, -EAGAIN);	/* not over a change still on its way */
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);

	h.hold = false;
	atomic_store(&set.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &set, T0 + 5);
	assert_int_equal(set.result, 0);
	b = bt_lookup_addr(v->table, a);
	assert_int_equal(b->owner, 1);
	assert_int_equal(b->ends, T0 + 900);
	assert_true(bt_lookup_key(v->table, &set.key) == b);
	assert_int_equal(held_posted(&h, 0), posted0);	/* no FREE: never free in between */

	/* The address moves to another client of the same worker: one change too. */
	set.key = key_of(mac2);
	atomic_store(&set.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &set, T0 + 6);
	assert_int_equal(set.result, 0);
	b = bt_lookup_addr(v->table, a);
	assert_true(bt_key_equal(&b->key, &set.key));
	assert_null(bt_lookup_key(v->table, &(struct dp_client_key){.type = DP_KEY_HWADDR,
			.len = 7, .data = {1, 2, 0, 0, 0, (uint8_t)(mac1 >> 8), (uint8_t)mac1}}));
}

/*
 * Issue 11 item 2, over the real committer and LMDB store: worker 0 wrote the record of an
 * address of worker 1's slice (an operator's lease) and frees it; before that FREE is
 * durable, a client of worker 1 asks for the address (SELECTING, option 50). Its ACK would go
 * through ring 1 and the committer, which orders rings by nothing, may write it before ring
 * 0's FREE: the store would lose an acknowledged lease. Worker 1 waits (drops the request:
 * the client asks again) until the FREE is durable, then ACKs, and the store holds the lease.
 */
static void write_waits_for_another_writers_free(void **state)
{
	struct env *v = *state;
	struct store_opts so = {.sync = STORE_SYNC_RELAXED};
	struct committer_opts co = {.n_workers = 2};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_client_key k1 = key_of(mac1);
	struct store_binding sb;
	struct committer *cm;
	struct dp_decision d;
	struct store *st;
	struct reqbuf r;
	char dir[64], err[256], cmd[128];
	bool acked, offered;

	snprintf(dir, sizeof(dir), "/tmp/lw-engine-workers.XXXXXX");
	assert_non_null(mkdtemp(dir));
	st = store_open(dir, &so, err, sizeof(err));
	assert_non_null(st);
	cm = committer_new(st, &co);
	assert_non_null(cm);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit.ops = &committer_ops;
		v->e[i].commit.ctx = cm;
	}
	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	assert_int_equal(committer_round(cm), 1);
	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* FREE in ring 0 */
	assert_int_equal(del.count, 1);

	/* The client asks for it by option 50: even its offer is a write, which waits. */
	rb_begin(&r, mac1, 6);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	offered = handle(v, 1, &r, T0 + 2, &d) && d.reply == DHCP4_OFFER && d.yiaddr == a;
	assert_false(offered);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 1);
	rb_begin(&r, mac1, 6);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	acked = handle(v, 1, &r, T0 + 2, &d) && d.reply == DHCP4_ACK;
	assert_int_equal(committer_round(cm), acked ? 2 : 1);
	if (acked) {
		/* What the client was told must be what the store holds. */
		assert_int_equal(store_get(st, a, &sb), 0);
	}
	assert_false(acked);
	/* The FREE is durable now: the client's retry is offered, then ACKed, and it is in
	 * the store. */
	rb_begin(&r, mac1, 6);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(handle(v, 1, &r, T0 + 3, &d));
	assert_int_equal(d.reply, DHCP4_OFFER);
	assert_int_equal(d.yiaddr, a);
	rb_begin(&r, mac1, 6);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(handle(v, 1, &r, T0 + 3, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	assert_int_equal(committer_round(cm), 1);
	assert_true(committer_ops.durable(cm, 1) >= d.seq);
	assert_int_equal(store_get(st, a, &sb), 0);
	assert_int_equal(sb.state, BT_ACTIVE);
	assert_true(bt_key_equal(&sb.key, &k1));

	committer_free(cm);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * The mark a FREE leaves (dp_pool.freed_by) must not turn back into "not durable" when the
 * worker that posted it has gone on for millions of changes: the address would be refused to
 * every other writer (write_conflict) for as long again, and each pop from a free list would
 * lose it from every list. With a 24-bit sequence that happened 2^23 .. 2^24 changes later.
 */
static void old_free_stays_settled(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);
	struct dp_lease_op del = {.kind = DP_OP_DEL, .addrs = &a, .n_addrs = 1};
	struct dp_decision d;
	struct reqbuf r;
	uint32_t x;

	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	dp_engine_apply_op(&v->e[0], v->cfg, &del, T0 + 1);	/* worker 0 frees it */
	assert_int_equal(del.count, 1);
	/* Worker 0 goes on: 12 M changes later, all durable. */
	v->e[0].seq += 12u << 20;
	atomic_store(&v->mem.durable[0], v->e[0].seq);
	assert_int_equal(deliver(v, T0 + 1), 1);	/* back to worker 1's free list */
	/* Only .a left in worker 1's share: the next DISCOVER must get it, and keep it. */
	while (dp_slice_count(v->pools, 1, 0) > 0) {
		assert_true(dp_slice_pop(v->pools, 1, 0, &x));
	}
	dp_engine_requeue(&v->e[1], 0, a);
	rb_begin(&r, mac1, 7);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_true(handle(v, 1, &r, T0 + 2, &d));
	assert_int_equal(d.yiaddr, a);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 0);
	/* And a client asking for it by name (SELECTING, option 50) gets it. */
	rb_begin(&r, mac1, 8);
	rb_type(&r, DHCP4_REQUEST);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	assert_true(handle(v, 1, &r, T0 + 3, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 0);
}

/* DP_OP_PEER (failover scope) on worker @p w: make @p addr {state, mac (0: none)}. */
static int peer_op(struct env *v, uint32_t w, uint32_t addr, uint8_t state, uint16_t mac)
{
	struct dp_lease_op op = {.kind = DP_OP_PEER, .addr = addr, .state = state,
				 .start = T0, .ends = T0 + 600, .from_peer = true};

	if (mac != 0) {
		op.key = key_of(mac);
	}
	dp_engine_apply_op(&v->e[w], v->cfg, &op, T0);
	return op.result;
}

/* A partner's update runs on the record's writer, else the key's owner (keyed states) or the
 * address's slice owner (FREE, BACKUP); anywhere else it changes nothing. */
static void fo_peer_runs_on_its_worker_only(void **state)
{
	struct env *v = *state;
	uint32_t a1 = addr_of(v, 1), a0 = addr_of(v, 0);
	uint16_t mac1 = client_of(v, 1, 500);

	assert_int_equal(peer_op(v, 0, a1, BT_BACKUP, 0), -EAGAIN);
	assert_null(bt_lookup_addr(v->table, a1));
	assert_int_equal(peer_op(v, 1, a1, BT_BACKUP, 0), 0);
	assert_int_equal(bt_lookup_addr(v->table, a1)->owner, 1);
	assert_true(dp_slice_queued(v->pools, 1, 0, a1));
	/* A client of worker 1 on an address of worker 0's slice. */
	assert_int_equal(peer_op(v, 0, a0, BT_ACTIVE, mac1), -EAGAIN);
	assert_int_equal(peer_op(v, 1, a0, BT_ACTIVE, mac1), 0);
	assert_int_equal(peer_op(v, 0, a0, BT_FREE, 0), -EAGAIN);	/* worker 1 wrote it */
	assert_int_equal(peer_op(v, 1, a0, BT_FREE, 0), 0);
	assert_null(bt_lookup_addr(v->table, a0));
	assert_int_equal(deliver(v, T0), 1);	/* handed to its slice owner once durable */
	assert_true(dp_slice_queued(v->pools, 0, 0, a0));
}

/* A BACKUP record has no client: the slice owner takes it whoever wrote it. */
static void fo_backup_of_another_writer_is_taken_by_the_slice_owner(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 1);

	v->view.primary = false;
	assert_int_equal(add_lease(v, 0, mac0, a), 0);
	/* The lease went back to the secondary as BACKUP: run by its writer, worker 0. */
	assert_int_equal(peer_op(v, 0, a, BT_BACKUP, 0), 0);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	assert_int_equal(deliver(v, T0), 1);		/* DP_CMD_REQUEUE to worker 1 */
	assert_true(dp_slice_queued(v->pools, 1, 0, a));
	assert_int_equal(dora(v, 1, mac1, T0 + 1), a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 1);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 0);
}

/*
 * Failover's move of a binding between writers (fo_run_ops.c): the partner's client is worker
 * 1's, the address's BACKUP record worker 0's. Without `take` worker 1 refuses (-EAGAIN); with
 * it, it waits (-EBUSY) while worker 0's change is not durable, then replaces the record in
 * one step: one change, on ring 1, no FREE on ring 0, so the store goes from BACKUP straight
 * to the client's binding and a crash in between leaves the BACKUP (not a free address). A
 * take on a worker that is not the new binding's writer is still -EAGAIN, and a FREE is never
 * taken over.
 */
static void fo_peer_take_moves_in_one_change(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 0);
	struct dp_lease_op op = {.kind = DP_OP_PEER, .addr = a, .state = BT_ACTIVE,
				 .key = key_of(mac1), .start = T0 + 5, .ends = T0 + 900,
				 .from_peer = true, .take = true};
	const struct bt_binding *b;
	uint64_t posted0, posted1;

	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
		h.cap[i] = dp_commit_mem_ops.durable(&v->mem, i);
	}
	h.hold = true;
	assert_int_equal(peer_op(v, 0, a, BT_BACKUP, 0), 0);	/* not durable yet */
	posted0 = held_posted(&h, 0);
	posted1 = held_posted(&h, 1);
	b = bt_lookup_addr(v->table, a);
	op.expect = true;
	op.expect_state = BT_BACKUP;
	op.expect_owner = 0;
	op.expect_seq = b->seq;
	op.expect_start = b->start;

	assert_int_equal(peer_op(v, 1, a, BT_ACTIVE, mac1), -EAGAIN);	/* no take */
	dp_engine_apply_op(&v->e[0], v->cfg, &op, T0 + 5);	/* not the key's owner */
	assert_int_equal(op.result, -EAGAIN);
	atomic_store(&op.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 5);
	assert_int_equal(op.result, -EBUSY);	/* worker 0's BACKUP is on its way */
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	assert_int_equal(held_posted(&h, 1), posted1);

	h.hold = false;
	atomic_store(&op.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 5);
	assert_int_equal(op.result, 0);
	b = bt_lookup_addr(v->table, a);
	assert_int_equal(b->owner, 1);
	assert_int_equal(b->state, BT_ACTIVE);
	assert_true(bt_lookup_key(v->table, &op.key) == b);
	assert_int_equal(held_posted(&h, 0), posted0);		/* no FREE on worker 0 */
	assert_int_equal(held_posted(&h, 1), posted1 + 1);	/* one change */
	assert_int_equal(op.seq, posted1 + 1);

	/* A FREE runs on the record's writer only, take or not. */
	op = (struct dp_lease_op){.kind = DP_OP_PEER, .addr = a, .state = BT_FREE,
				  .from_peer = true, .take = true};
	dp_engine_apply_op(&v->e[0], v->cfg, &op, T0 + 6);
	assert_int_equal(op.result, -EAGAIN);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 1);
}

/*
 * A move over a record never posted (seq 0: an offer, or what an untaken offer restored):
 * "everything its writer posted is durable" may never hold while that writer is busy with
 * other clients. The control thread names the sequence that covers the record (settle_seq:
 * the writer's posted sequence once it saw the record); the take waits for that only.
 */
static void fo_peer_take_over_an_unposted_record(void **state)
{
	struct env *v = *state;
	struct held_sink h = {.mem = &v->mem};
	struct dp_commit c = {.ops = &held_ops, .ctx = &h};
	uint16_t mac0 = client_of(v, 0, 10), mac1 = client_of(v, 1, 500);
	uint32_t a = addr_of(v, 0), other = a + 1, third;
	struct dp_lease_op op = {.kind = DP_OP_PEER, .addr = a, .state = BT_ACTIVE,
				 .key = key_of(mac1), .start = T0 + 5, .ends = T0 + 900,
				 .from_peer = true, .take = true, .expect = true,
				 .expect_state = BT_BACKUP, .expect_owner = 0, .expect_seq = 0,
				 .expect_start = T0};
	struct bt_binding *b;
	uint64_t settled;

	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].commit = c;
	}
	/* Worker 0 leased another address (durable); its unposted BACKUP record of .a; then a
	 * change of a third address that is not durable yet (worker 0 is busy). */
	while (addr_of(v, 0) == other || bt_lookup_addr(v->table, other) != NULL) {
		other++;
	}
	third = other + 1;
	while (third == a || bt_lookup_addr(v->table, third) != NULL) {
		third++;
	}
	assert_int_equal(add_lease(v, 0, mac0, other), 0);
	b = bt_record_get(&v->e[0].writer);
	assert_non_null(b);
	b->addr = a;
	b->state = BT_BACKUP;
	b->start = b->ends = T0;
	b->seq = 0;
	assert_int_equal(bt_publish(&v->e[0].writer, NULL, b), 0);
	settled = held_posted(&h, 0);
	h.cap[0] = settled;
	h.cap[1] = dp_commit_mem_ops.durable(&v->mem, 1);
	h.hold = true;
	assert_true(settled > 0);
	assert_int_equal(peer_op(v, 0, third, BT_BACKUP, 0), 0);
	assert_true(held_posted(&h, 0) > settled);

	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 5);
	assert_int_equal(op.result, -EBUSY);	/* without settle_seq: all worker 0 posted */
	op.settle_seq = held_posted(&h, 0);	/* beyond what is durable: waits too */
	atomic_store(&op.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 5);
	assert_int_equal(op.result, -EBUSY);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);
	op.settle_seq = settled;
	atomic_store(&op.done, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 5);
	assert_int_equal(op.result, 0);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 1);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_ACTIVE);
}

/*
 * A take leaves the old writer's flood counts right (issue 11 item 4). Worker 0 counts its
 * offers against its share of offer-holds; when worker 1 takes the offered address over (a
 * failover move: the partner's client holds it), worker 0's offer is gone, so is its hold:
 * its next new client gets an offer again (before, worker 0 counted the taken offer for as
 * long as the snapshot lived, and at the cap refused every new client: drop_offer_holds_full).
 */
static void take_gives_the_old_writers_offer_hold_back(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac0b = client_of(v, 0, mac0 + 1);
	uint16_t mac1 = client_of(v, 1, 500);
	struct dp_lease_op op = {.kind = DP_OP_PEER, .state = BT_ACTIVE, .key = key_of(mac1),
				 .start = T0 + 1, .ends = T0 + 900, .from_peer = true,
				 .take = true, .expect = true, .expect_state = BT_OFFERED,
				 .expect_owner = 0};
	struct dp_client_key k0 = key_of(mac0);
	const struct bt_binding *b;
	struct dp_decision d;
	struct reqbuf r;

	v->cfg->flood.offer_holds_percent = 25;		/* 8 * 25 % / 2 workers: 1 each */
	rb_begin(&r, mac0, 1);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_true(handle(v, 0, &r, T0, &d));
	assert_int_equal(d.reply, DHCP4_OFFER);
	rb_begin(&r, mac0b, 2);
	rb_type(&r, DHCP4_DISCOVER);
	rb_end(&r);
	assert_false(handle(v, 0, &r, T0, &d));			/* worker 0's share is held */
	assert_int_equal(v->ctr[0].drop[DP_DROP_OFFER_HOLDS_FULL], 1);

	b = bt_lookup_key(v->table, &k0);
	assert_non_null(b);
	op.addr = b->addr;
	op.expect_start = b->start;
	op.settle_seq = dp_commit_mem_ops.posted(&v->mem, 0);
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 1);
	assert_int_equal(op.result, 0);
	assert_int_equal(bt_lookup_addr(v->table, op.addr)->owner, 1);
	deliver(v, T0 + 1);

	assert_true(handle(v, 0, &r, T0 + 1, &d));		/* the hold was given back */
	assert_int_equal(d.reply, DHCP4_OFFER);
	assert_int_equal(v->ctr[0].drop[DP_DROP_OFFER_HOLDS_FULL], 1);
}

/* A relayed request of @p mac with option 82 circuit id @p circuit. */
static void relayed(struct reqbuf *r, uint16_t mac, uint32_t xid, uint8_t type, uint8_t circuit)
{
	const uint8_t o82[] = {1, 1, circuit};

	rb_begin(r, mac, xid);
	rb_giaddr(r, IP4(198, 18, 0, 2));
	rb_type(r, type);
	rb_opt(r, 82, o82, sizeof(o82));
}

/* The same for a circuit's binding: worker 0's client of circuit 7 holds an address, which a
 * failover move gives to worker 1's client; worker 0's next client of circuit 7 is served
 * (before, circuit 7 stayed full on worker 0: drop_circuit_cap). */
static void take_gives_the_old_writers_circuit_back(void **state)
{
	struct env *v = *state;
	uint16_t mac0 = client_of(v, 0, 10), mac0b = client_of(v, 0, mac0 + 1);
	uint16_t mac1 = client_of(v, 1, 500);
	struct dp_lease_op op = {.kind = DP_OP_PEER, .state = BT_ACTIVE, .key = key_of(mac1),
				 .start = T0 + 1, .ends = T0 + 900, .from_peer = true,
				 .take = true, .expect = true, .expect_state = BT_ACTIVE,
				 .expect_owner = 0};
	struct dp_client_key k0 = key_of(mac0);
	const struct bt_binding *b;
	struct dp_decision d;
	struct reqbuf r;

	v->cfg->flood.circuit_bindings = 2;		/* 1 per worker */
	relayed(&r, mac0, 1, DHCP4_DISCOVER, 7);
	rb_end(&r);
	assert_true(handle(v, 0, &r, T0, &d));
	relayed(&r, mac0, 2, DHCP4_REQUEST, 7);
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, d.yiaddr);
	rb_end(&r);
	assert_true(handle(v, 0, &r, T0, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	relayed(&r, mac0b, 3, DHCP4_DISCOVER, 7);
	rb_end(&r);
	assert_false(handle(v, 0, &r, T0, &d));			/* circuit 7 is full here */
	assert_int_equal(v->ctr[0].drop[DP_DROP_CIRCUIT_CAP], 1);

	b = bt_lookup_key(v->table, &k0);
	assert_non_null(b);
	op.addr = b->addr;
	op.expect_seq = b->seq;
	op.expect_start = b->start;
	dp_engine_apply_op(&v->e[1], v->cfg, &op, T0 + 1);
	assert_int_equal(op.result, 0);
	assert_int_equal(bt_lookup_addr(v->table, op.addr)->owner, 1);
	deliver(v, T0 + 1);

	assert_true(handle(v, 0, &r, T0 + 1, &d));		/* its place was given back */
	assert_int_equal(d.reply, DHCP4_OFFER);
	assert_int_equal(v->ctr[0].drop[DP_DROP_CIRCUIT_CAP], 1);
}

/* --- reservations over leases (issue 11 item 3) ------------------------------------- */

/* Publish a new configuration: the base one with @p res_json as the scope's reservations
 * (as reservation-add / -del do, through a new snapshot with its own pools). */
static void reconfigure(struct env *v, const char *res_json)
{
	char json[2048], err[256];
	struct dp_config *c;
	struct dp_pools *p;

	snprintf(json, sizeof(json),
		 "{\"server\": {\"workers\": 2},"
		 " \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
		 "   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
		 " \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
		 "   \"pools\": [\"198.18.0.100 - 198.18.0.107\"], \"lease-time\": 600,"
		 "   \"reservations\": [%s]}]}", res_json);
	c = cp_config_parse(json, err, sizeof(err));
	if (c == NULL) {
		fail_msg("config: %s", err);
	}
	p = dp_pools_new(c, 2);
	assert_non_null(p);
	for (uint32_t i = 0; i < 2; i++) {
		v->e[i].pools = p;
	}
	dp_pools_free(v->pools);
	dp_config_free(v->cfg);
	v->cfg = c;
	v->pools = p;
}

/* The worker a request is steered to (worker.c: the owner of dp_engine_client_key()). */
static uint32_t steer(struct env *v, struct reqbuf *r)
{
	struct dp_client_key k;

	assert_int_equal(dhcp4_parse(&v->msg, r->b, r->len), DHCP4_OK);
	assert_int_equal(dp_engine_client_key(v->cfg, &v->msg, 0, &k), 0);
	return bt_key_owner(v->table, &k, 2);
}

/* A RENEWING request (unicast to us, ciaddr) of @p mac for @p a, with option 61 @p id
 * (NULL: none), steered like the worker loop does. */
static bool renew(struct env *v, uint16_t mac, const uint8_t *id, uint8_t id_len, uint32_t a,
		  uint64_t now, struct dp_decision *d)
{
	struct dp_ingress in = {.cfg = v->cfg, .frame = &v->frame, .msg = &v->msg, .iface = 0,
				.now = now};
	struct reqbuf r;
	uint32_t w;

	rb_begin(&r, mac, 7);
	rb_ciaddr(&r, a);
	rb_type(&r, DHCP4_REQUEST);
	if (id != NULL) {
		rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, id_len);
	}
	rb_end(&r);
	w = steer(v, &r);
	memset(&v->frame, 0, sizeof(v->frame));
	v->frame.ip_dst = SRV;
	return dp_engine_handle(&v->e[w], &in, d);
}

/* DISCOVER then SELECTING REQUEST of @p mac with option 61 @p id (NULL: none), steered.
 * @return the address ACKed, 0 when none. */
static uint32_t dora_id(struct env *v, uint16_t mac, const uint8_t *id, uint8_t id_len,
			uint64_t now)
{
	struct dp_decision d;
	struct reqbuf r;
	uint32_t a;

	rb_begin(&r, mac, 8);
	rb_type(&r, DHCP4_DISCOVER);
	if (id != NULL) {
		rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, id_len);
	}
	rb_end(&r);
	if (!handle(v, steer(v, &r), &r, now, &d) || d.reply != DHCP4_OFFER) {
		return 0;
	}
	a = d.yiaddr;
	rb_begin(&r, mac, 9);
	rb_type(&r, DHCP4_REQUEST);
	if (id != NULL) {
		rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, id_len);
	}
	rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
	rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
	rb_end(&r);
	if (!handle(v, steer(v, &r), &r, now, &d) || d.reply != DHCP4_ACK) {
		return 0;
	}
	return a;
}

/*
 * A client that sends option 61 holds a lease (filed under its client id, written by that
 * key's worker); the operator reserves that address for its hardware address, which files
 * the client under the reservation's key, owned by the other worker. The renewal is ACKed
 * with the same address (before: NAKed as "in use by another client", and the reserved
 * client's worker could never write the record, restarts included: persist.c loads it on the
 * key's worker again). The client is then filed under the reservation and keeps it.
 */
static void reserving_a_leased_clients_address_keeps_it(void **state)
{
	struct env *v = *state;
	uint8_t id[] = {0xff, 0, 0, 0, 1};
	struct dp_client_key cid = {.type = DP_KEY_CLIENT_ID, .len = sizeof(id)}, hw;
	struct dp_decision d;
	struct reqbuf r;
	char res[128];
	uint16_t mac = 10;
	uint32_t a, w_old, w_new;

	/* A client whose client id and hardware address belong to different workers. */
	for (;; mac++) {
		memcpy(cid.data, id, sizeof(id));
		hw = key_of(mac);
		if (bt_key_owner(v->table, &cid, 2) != bt_key_owner(v->table, &hw, 2)) {
			break;
		}
		id[4]++;
	}
	w_old = bt_key_owner(v->table, &cid, 2);
	w_new = bt_key_owner(v->table, &hw, 2);
	a = dora_id(v, mac, id, sizeof(id), T0);
	assert_int_not_equal(a, 0);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, w_old);

	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"%s\"}", mac >> 8, mac & 0xff, lw_ip4_fmt(a).s);
	reconfigure(v, res);

	/* A DISCOVER (a reboot) is offered the address, and the lease is left as it is. */
	rb_begin(&r, mac, 11);
	rb_type(&r, DHCP4_DISCOVER);
	rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, sizeof(id));
	rb_end(&r);
	assert_true(handle(v, steer(v, &r), &r, T0 + 200, &d));
	assert_int_equal(d.reply, DHCP4_OFFER);
	assert_int_equal(d.yiaddr, a);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_ACTIVE);
	assert_true(bt_key_equal(&bt_lookup_addr(v->table, a)->key, &cid));

	assert_true(renew(v, mac, id, sizeof(id), a, T0 + 300, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	assert_int_equal(d.yiaddr, a);
	assert_true(bt_key_equal(&bt_lookup_addr(v->table, a)->key, &hw));
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, w_new);
	assert_null(bt_lookup_key(v->table, &cid));	/* one client, one key */
	assert_int_equal(v->ctr[w_new].drop[DP_DROP_WRITE_CONFLICT], 0);
	/* And from now on: renewals, and a new DORA after the lease ended. */
	assert_true(renew(v, mac, id, sizeof(id), a, T0 + 600, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	assert_int_equal(d.yiaddr, a);
	assert_int_equal(dora_id(v, mac, id, sizeof(id), T0 + 5000), a);
}

/* The record is still the old key's worker's (not renewed before the reservation, or loaded
 * so after a restart) and has ended: the client's DORA gets its address back. */
static void reserved_client_gets_its_ended_lease_back(void **state)
{
	struct env *v = *state;
	uint8_t id[] = {0xff, 0, 0, 0, 1};
	struct dp_client_key cid = {.type = DP_KEY_CLIENT_ID, .len = sizeof(id)}, hw;
	char res[128];
	uint16_t mac = 10;
	uint32_t a, w_old;

	for (;; mac++) {
		memcpy(cid.data, id, sizeof(id));
		hw = key_of(mac);
		if (bt_key_owner(v->table, &cid, 2) != bt_key_owner(v->table, &hw, 2)) {
			break;
		}
		id[4]++;
	}
	w_old = bt_key_owner(v->table, &cid, 2);
	a = dora_id(v, mac, id, sizeof(id), T0);
	assert_int_not_equal(a, 0);
	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"%s\"}", mac >> 8, mac & 0xff, lw_ip4_fmt(a).s);
	reconfigure(v, res);
	assert_true(dp_engine_reclaim(&v->e[w_old], v->cfg, a, T0 + 601));	/* EXPIRED */
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, w_old);
	assert_int_equal(dora_id(v, mac, id, sizeof(id), T0 + 700), a);
	assert_true(bt_key_equal(&bt_lookup_addr(v->table, a)->key, &hw));
	/* Without option 61 too (the same NIC, another OS). */
	assert_int_equal(dora_id(v, mac, NULL, 0, T0 + 800), a);
}

/*
 * The operator moves a reservation from client X to client Y, whose keys belong to different
 * workers. X is NAKed at its renewal and its binding ends; Y then gets the address (its
 * worker takes the record over once X's change is durable). Before: X's renewals were ACKed
 * forever, and Y's worker could never write X's worker's record.
 */
static void moving_a_reservation_hands_the_address_over(void **state)
{
	struct env *v = *state;
	uint16_t x = client_of(v, 0, 10), y = client_of(v, 1, 500);
	struct dp_decision d;
	char res[128];
	uint32_t a = IP4(198, 18, 0, 103);

	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"198.18.0.103\"}", x >> 8, x & 0xff);
	reconfigure(v, res);
	assert_int_equal(dora_id(v, x, NULL, 0, T0), a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 0);

	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"198.18.0.103\"}", y >> 8, y & 0xff);
	reconfigure(v, res);
	/* Y asks while X still holds it: nothing yet (X has not been told). */
	assert_int_equal(dora_id(v, y, NULL, 0, T0 + 10), 0);
	assert_int_equal(v->ctr[1].drop[DP_DROP_RESERVED_IN_USE], 1);

	assert_true(renew(v, x, NULL, 0, a, T0 + 300, &d));
	assert_int_equal(d.reply, DHCP4_NAK);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_EXPIRED);

	assert_int_equal(dora_id(v, y, NULL, 0, T0 + 301), a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 1);
	assert_int_equal(v->ctr[1].drop[DP_DROP_WRITE_CONFLICT], 0);
	/* X goes elsewhere. */
	assert_int_not_equal(dora_id(v, x, NULL, 0, T0 + 302), a);
	assert_true(renew(v, y, NULL, 0, a, T0 + 400, &d));
	assert_int_equal(d.reply, DHCP4_ACK);
	assert_int_equal(d.yiaddr, a);
}

/*
 * The same with a client that sends option 61: under its reservation by hardware address it
 * was filed under the MAC (that key's worker wrote the record); once the reservation moves,
 * it is filed under its client id, on the other worker. Its renewal is NAKed there, and the
 * record's writer is told to end the binding (DP_CMD_END_MOVED); then Y gets the address.
 */
static void moving_a_reservation_from_a_client_with_an_id(void **state)
{
	struct env *v = *state;
	uint8_t id[] = {0xff, 0, 0, 0, 1};
	struct dp_client_key cid = {.type = DP_KEY_CLIENT_ID, .len = sizeof(id)}, hw;
	struct dp_decision d;
	char res[128];
	uint16_t x = 10, y;
	uint32_t a = IP4(198, 18, 0, 103), w_hw;

	for (;; x++) {
		memcpy(cid.data, id, sizeof(id));
		hw = key_of(x);
		if (bt_key_owner(v->table, &cid, 2) != bt_key_owner(v->table, &hw, 2)) {
			break;
		}
		id[4]++;
	}
	w_hw = bt_key_owner(v->table, &hw, 2);
	y = client_of(v, 1 - w_hw, 500);
	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"198.18.0.103\"}", x >> 8, x & 0xff);
	reconfigure(v, res);
	assert_int_equal(dora_id(v, x, id, sizeof(id), T0), a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, w_hw);

	snprintf(res, sizeof(res), "{\"hw-address\": \"02:00:00:00:%02x:%02x\","
		 " \"ip-address\": \"198.18.0.103\"}", y >> 8, y & 0xff);
	reconfigure(v, res);
	assert_true(renew(v, x, id, sizeof(id), a, T0 + 300, &d));
	assert_int_equal(d.reply, DHCP4_NAK);
	assert_int_equal(v->nq, 1);
	assert_int_equal(v->q[0].type, DP_CMD_END_MOVED);
	assert_int_equal(v->q[0].worker, w_hw);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_ACTIVE);
	deliver(v, T0 + 300);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_EXPIRED);

	assert_int_equal(dora_id(v, y, NULL, 0, T0 + 301), a);
	assert_int_equal(bt_lookup_addr(v->table, a)->owner, 1 - w_hw);
	/* A stale command (the binding is the reserved client's now) changes nothing. */
	dp_engine_end_moved(&v->e[1 - w_hw], v->cfg, a, T0 + 302);
	assert_int_equal(bt_lookup_addr(v->table, a)->state, BT_ACTIVE);
	assert_int_not_equal(dora_id(v, x, id, sizeof(id), T0 + 303), a);
}

/*
 * Redundant relays (issue 12 item 9, seed 003): two routers of the client's subnet relay each
 * of its broadcasts, the copies differing in giaddr (and the frame's source). However they
 * arrive at the workers (the NIC spreads them by the relay's address), both are steered to the
 * one worker that owns the client, whose key does not depend on the giaddr: with or without
 * option 61, with a reservation by hardware address. There the second copy of a REQUEST is
 * answered with the first one's lease and posts nothing.
 */
static void duplicate_relays_meet_on_one_worker(void **state)
{
	static const uint8_t id[] = {0, 'r', 'e', 'l', 'a', 'y'};
	static const uint32_t relays[] = {IP4(198, 18, 0, 2), IP4(198, 18, 0, 3), 0};
	struct env *v = *state;
	struct dp_decision d;
	struct reqbuf r;
	uint32_t w, a;
	uint64_t posted;

	reconfigure(v, "{\"hw-address\": \"02:00:00:00:00:33\", \"ip-address\": \"198.18.0.33\"}");
	for (uint16_t mac = 0x30; mac < 0x35; mac++) {
		bool with_id = mac == 0x31;

		rb_begin(&r, mac, 0x700 + mac);
		rb_type(&r, DHCP4_DISCOVER);
		if (with_id) {
			rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, sizeof(id));
		}
		rb_end(&r);
		rb_giaddr(&r, relays[0]);
		w = steer(v, &r);
		for (uint32_t i = 1; i < 3; i++) {
			rb_giaddr(&r, relays[i]);
			assert_int_equal(steer(v, &r), w);
		}
		/* The copies of the DISCOVER: one offer. */
		rb_giaddr(&r, relays[0]);
		assert_true(handle(v, w, &r, T0, &d));
		a = d.yiaddr;
		rb_giaddr(&r, relays[1]);
		assert_true(handle(v, w, &r, T0, &d));
		assert_int_equal(d.yiaddr, a);
		if (mac == 0x33) {
			assert_int_equal(a, IP4(198, 18, 0, 33));
		}
		/* The copies of the REQUEST: one change, the same lease. */
		rb_begin(&r, mac, 0x700 + mac);
		rb_type(&r, DHCP4_REQUEST);
		if (with_id) {
			rb_opt(&r, DHCP4_OPT_CLIENT_ID, id, sizeof(id));
		}
		rb_opt_u32(&r, DHCP4_OPT_SERVER_ID, SRV);
		rb_opt_u32(&r, DHCP4_OPT_REQUESTED_IP, a);
		rb_end(&r);
		rb_giaddr(&r, relays[1]);
		assert_int_equal(steer(v, &r), w);
		assert_true(handle(v, w, &r, T0, &d));
		assert_int_equal(d.reply, DHCP4_ACK);
		posted = dp_commit_mem_ops.posted(&v->mem, w);
		rb_giaddr(&r, relays[0]);
		assert_int_equal(steer(v, &r), w);
		assert_true(handle(v, w, &r, T0 + 1, &d));
		assert_int_equal(d.reply, DHCP4_ACK);
		assert_int_equal(d.yiaddr, a);
		assert_int_equal(T0 + 1 + d.lease, T0 + 600);
		assert_int_equal(dp_commit_mem_ops.posted(&v->mem, w), posted);
		assert_int_equal(bt_lookup_addr(v->table, a)->ends, T0 + 600);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define FO(f) cmocka_unit_test_setup_teardown(f, setup_fo, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(owner_allocates_from_its_slice),
		T(freed_address_goes_back_to_its_slice_owner),
		T(ended_binding_of_another_writer_is_handed_over),
		T(no_worker_overwrites_another_workers_binding),
		T(handoff_overflow_is_counted_and_reported),
		T(dry_share_borrows_from_the_other_worker),
		T(undelivered_loan_returns_to_the_lender),
		T(lending_keeps_the_free_list_in_order),
		T(free_mark_survives_a_configuration_swap),
		T(free_mark_outside_the_ranges_survives_a_swap),
		T(free_mark_of_a_range_shrunk_survives_a_swap),
		T(free_during_the_grace_period_reaches_the_new_pools),
		T(set_takes_over_another_writers_binding_in_one_step),
		T(write_waits_for_another_writers_free),
		T(old_free_stays_settled),
		T(reserving_a_leased_clients_address_keeps_it),
		T(reserved_client_gets_its_ended_lease_back),
		T(moving_a_reservation_hands_the_address_over),
		T(moving_a_reservation_from_a_client_with_an_id),
		FO(fo_peer_runs_on_its_worker_only),
		FO(fo_backup_of_another_writer_is_taken_by_the_slice_owner),
		FO(fo_peer_take_moves_in_one_change),
		FO(fo_peer_take_over_an_unposted_record),
		T(take_gives_the_old_writers_offer_hold_back),
		T(carry_keeps_a_mark_written_meanwhile),
		T(take_gives_the_old_writers_circuit_back),
		T(duplicate_relays_meet_on_one_worker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
