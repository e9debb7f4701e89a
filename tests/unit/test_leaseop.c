/*
 * Unit tests of controlplane/leaseop: the lease-operation engine with a fake worker sink.
 *
 * The fake sink records what is handed to which worker, refuses when told its ring is full,
 * and plays the worker by hand: the test writes an op's result and seq and sets done, and
 * moves each worker's durable sequence. Nothing runs in another thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "leaseop.h"

#define SUB_MAX 16

struct fake_sink {
	bool full;			/* the next submits fail (-ENOBUFS) */
	unsigned n_sub;
	uint32_t sub_worker[SUB_MAX];
	struct dp_lease_op *sub_op[SUB_MAX];
	uint64_t durable[4];
};

static int fake_submit(void *ctx, uint32_t worker, struct dp_lease_op *op)
{
	struct fake_sink *f = ctx;

	if (f->full) {
		return -ENOBUFS;
	}
	assert_true(f->n_sub < SUB_MAX);
	f->sub_worker[f->n_sub] = worker;
	f->sub_op[f->n_sub++] = op;
	return 0;
}

static bool fake_done(void *ctx, const struct dp_lease_op *op)
{
	(void)ctx;
	return atomic_load(&op->done) != 0;
}

static uint64_t fake_durable(void *ctx, uint32_t worker)
{
	return ((struct fake_sink *)ctx)->durable[worker];
}

static const struct cp_leaseop_sink_ops fake_ops = {
	.submit = fake_submit, .done = fake_done, .durable = fake_durable,
};

/* The worker finishes @p op. */
static void work(struct dp_lease_op *op, int result, uint64_t seq)
{
	op->result = result;
	op->seq = seq;
	atomic_store(&op->done, 1);
}

/* A user of the engine: counts callbacks, chains one second step when asked. */
struct user {
	struct cp_leaseop lo;
	unsigned finished, aborted;
	int last_result;
	bool chain;			/* on success, go on with a SET on worker 2 */
	bool chained;
};

static enum cp_leaseop_next user_finished(struct cp_leaseop *o, int result)
{
	struct user *u = (struct user *)o;

	u->finished++;
	u->last_result = result;
	if (result == 0 && u->chain && !u->chained) {
		u->chained = true;
		/* Only the fields of the step: done, result and seq are the first step's. */
		u->lo.op.kind = DP_OP_SET;
		u->lo.op.addr = 0xc6120064;
		u->lo.worker = 2;
		return CP_LEASEOP_NEXT;
	}
	return CP_LEASEOP_END;
}

static void user_aborted(struct cp_leaseop *o)
{
	((struct user *)o)->aborted++;
}

static const struct cp_leaseop_cb user_cb = {
	.finished = user_finished, .aborted = user_aborted,
};

static void setup_one(struct cp_leaseop_engine *e, struct fake_sink *f, struct user *u,
		      uint32_t worker)
{
	memset(u, 0, sizeof(*u));
	u->lo.op.kind = DP_OP_DEL;
	u->lo.worker = worker;
	u->lo.cb = &user_cb;
	cp_leaseop_init(e, (struct cp_leaseop_sink){.ops = &fake_ops, .ctx = f});
}

/* start hands the op to its worker; nothing finishes before the worker is done. */
static void test_submit_and_done(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u;

	(void)state;
	setup_one(&e, &f, &u, 1);
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	assert_int_equal(f.n_sub, 1);
	assert_int_equal(f.sub_worker[0], 1);
	assert_ptr_equal(f.sub_op[0], &u.lo.op);
	assert_true(cp_leaseop_busy(&e));
	assert_int_equal(cp_leaseop_poll(&e), 0);
	assert_int_equal(u.finished, 0);
	work(&u.lo.op, 0, 0);
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 1);
	assert_int_equal(u.last_result, 0);
	assert_false(cp_leaseop_busy(&e));
	assert_int_equal(f.n_sub, 1);
}

/* A successful change is finished only once its worker's durable sequence has reached it;
 * a failed one at once (nothing was posted to wait for). */
static void test_durable_ordering(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u, v;

	(void)state;
	setup_one(&e, &f, &u, 1);
	v = u;
	v.lo.worker = 0;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	assert_int_equal(cp_leaseop_start(&e, &v.lo), 0);
	f.durable[1] = 4;
	f.durable[0] = 0;
	work(&u.lo.op, 0, 5);
	work(&v.lo.op, -EEXIST, 7);
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 0);
	assert_int_equal(v.finished, 1);
	assert_int_equal(v.last_result, -EEXIST);
	/* Another worker's durability does not count. */
	f.durable[0] = 9;
	assert_int_equal(cp_leaseop_poll(&e), 0);
	assert_int_equal(u.finished, 0);
	f.durable[1] = 5;
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 1);
	assert_int_equal(u.last_result, 0);
	assert_false(cp_leaseop_busy(&e));
}

/* A callback's next step goes to its own worker, and finishes on its own durability. */
static void test_two_step_chain(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u;

	(void)state;
	setup_one(&e, &f, &u, 1);
	u.chain = true;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	work(&u.lo.op, 0, 0);	/* a DEL that found nothing: no change, nothing to wait for */
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 1);
	assert_true(cp_leaseop_busy(&e));
	assert_int_equal(f.n_sub, 2);
	assert_int_equal(f.sub_worker[1], 2);
	assert_int_equal(f.sub_op[1]->kind, DP_OP_SET);
	/* The second step starts not done, whatever the first left in the op. */
	assert_int_equal(cp_leaseop_poll(&e), 0);
	work(&u.lo.op, 0, 8);
	f.durable[2] = 7;
	assert_int_equal(cp_leaseop_poll(&e), 0);
	f.durable[2] = 8;
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 2);
	assert_false(cp_leaseop_busy(&e));
}

/* A first step that fails ends the chain: no second step is handed over. */
static void test_chain_stops_on_failure(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u;

	(void)state;
	setup_one(&e, &f, &u, 1);
	u.chain = true;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	work(&u.lo.op, -ENOENT, 0);
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.last_result, -ENOENT);
	assert_false(u.chained);
	assert_int_equal(f.n_sub, 1);
	assert_false(cp_leaseop_busy(&e));
}

/* -ESTALE (the record changed before the worker's turn) reaches the callback at once, even
 * when the op carries a sequence that is not durable. */
static void test_estale(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u;

	(void)state;
	setup_one(&e, &f, &u, 0);
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	work(&u.lo.op, -ESTALE, 12);
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.last_result, -ESTALE);
	assert_false(cp_leaseop_busy(&e));
}

/* A full ring: refused at once, or kept and handed over when there is room (RETRY); a next
 * step that finds the ring full reaches the callback as CP_LEASEOP_E_RING. */
static void test_ring_full(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u;

	(void)state;
	setup_one(&e, &f, &u, 1);
	f.full = true;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), CP_LEASEOP_E_RING);
	assert_false(cp_leaseop_busy(&e));

	u.lo.flags = CP_LEASEOP_RETRY;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	assert_true(cp_leaseop_busy(&e));
	assert_int_equal(cp_leaseop_poll(&e), 0);
	assert_int_equal(f.n_sub, 0);
	f.full = false;
	assert_int_equal(cp_leaseop_poll(&e), 0);
	assert_int_equal(f.n_sub, 1);
	work(&u.lo.op, 0, 0);
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_false(cp_leaseop_busy(&e));

	setup_one(&e, &f, &u, 1);
	u.chain = true;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	work(&u.lo.op, 0, 0);
	f.full = true;
	assert_int_equal(cp_leaseop_poll(&e), 1);
	assert_int_equal(u.finished, 2);
	assert_int_equal(u.last_result, CP_LEASEOP_E_RING);
	assert_false(cp_leaseop_busy(&e));
}

/* Abort hands every op in flight to its aborted callback, and nothing finishes after. */
static void test_abort(void **state)
{
	struct fake_sink f = {0};
	struct cp_leaseop_engine e;
	struct user u, v;

	(void)state;
	setup_one(&e, &f, &u, 0);
	v = u;
	assert_int_equal(cp_leaseop_start(&e, &u.lo), 0);
	assert_int_equal(cp_leaseop_start(&e, &v.lo), 0);
	work(&v.lo.op, 0, 1);
	cp_leaseop_abort_all(&e);
	assert_int_equal(u.aborted, 1);
	assert_int_equal(v.aborted, 1);
	assert_false(cp_leaseop_busy(&e));
	f.durable[0] = 5;
	assert_int_equal(cp_leaseop_poll(&e), 0);
	assert_int_equal(v.finished, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_and_done),
		cmocka_unit_test(test_durable_ordering),
		cmocka_unit_test(test_two_step_chain),
		cmocka_unit_test(test_chain_stops_on_failure),
		cmocka_unit_test(test_estale),
		cmocka_unit_test(test_ring_full),
		cmocka_unit_test(test_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
