/*
 * The control commands' lease changes on the lease-op engine (ctl_cmds.c), with no worker and
 * no DPDK: a fake sink plays the workers and can refuse an op as a full command ring would.
 *
 * lease4-update of a binding another worker wrote is two steps: a DEL on that worker, then
 * the SET on the client's worker. Once the DEL is durable the lease is gone from the store:
 * a full ring for the SET must delay it, never drop it (the client would keep an address the
 * store says is free, and the next client would be given it).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config.h"
#include "ctl_cmds.h"
#include "leaseop.h"
#include "worker.h"

#define ADDR(x)	(0xc6120000u | (x))	/* 198.18.0.x */

static const char *cfg_json =
	"{\"server\": {\"workers\": 2},"
	" \"ports\": [{\"name\": \"p0\", \"device\": \"net_ring0\","
	"   \"interfaces\": [{\"address\": \"198.18.0.1/24\"}]}],"
	" \"scopes\": [{\"name\": \"lab\", \"subnet\": \"198.18.0.0/24\","
	"   \"pools\": [\"198.18.0.100 - 198.18.0.109\"], \"lease-time\": 600}]}";

struct fake_sink {
	bool refuse;			/* the ring is full */
	unsigned n_sub;
	struct dp_lease_op *sub[8];
	uint32_t sub_worker[8];
	uint64_t durable;
};

static int fake_submit(void *ctx, uint32_t worker, struct dp_lease_op *op)
{
	struct fake_sink *s = ctx;

	if (s->refuse) {
		return -ENOBUFS;
	}
	assert_true(s->n_sub < 8);
	s->sub_worker[s->n_sub] = worker;
	s->sub[s->n_sub++] = op;
	return 0;
}

static bool fake_done(void *ctx, const struct dp_lease_op *op)
{
	(void)ctx;
	return atomic_load(&op->done) != 0;
}

static uint64_t fake_durable(void *ctx, uint32_t worker)
{
	(void)worker;
	return ((struct fake_sink *)ctx)->durable;
}

static const struct cp_leaseop_sink_ops fake_ops = {
	.submit = fake_submit, .done = fake_done, .durable = fake_durable,
};

/* The worker did @p op: it posted change @p seq, durable at once. */
static void work(struct fake_sink *s, struct dp_lease_op *op, uint64_t seq)
{
	op->result = 0;
	op->count = 1;
	op->seq = seq;
	s->durable = seq;
	atomic_store(&op->done, 1);
}

static void update_second_step_waits_for_a_full_ring(void **state)
{
	struct dp_snapshot snap = {0};
	struct dp_runtime rt = {0};
	struct fake_sink sink = {0};
	struct bt_writer wr;
	struct bt_binding *nb;
	struct dp_client_key k = {.type = DP_KEY_HWADDR, .len = 7,
				  .data = {1, 2, 0, 0, 0, 0, 7}};
	struct cp_cmds *c;
	json_t *req, *answer;
	uint32_t other;
	char err[256];

	(void)state;
	urcu_qsbr_register_thread();
	snap.cfg = cp_config_parse(cfg_json, err, sizeof(err));
	assert_non_null(snap.cfg);
	rt.snap = &snap;
	rt.n_workers = 2;
	rt.table = bt_table_new(dp_config_capacity(snap.cfg));
	assert_non_null(rt.table);
	/* The client's lease, written by the worker that is not its key's owner (as after a
	 * restart: the key hash is seeded per start). */
	other = 1 - bt_key_owner(rt.table, &k, 2);
	assert_int_equal(bt_writer_init(&wr, rt.table, (uint8_t)other, 4), 0);
	nb = bt_record_get(&wr);
	assert_non_null(nb);
	nb->addr = ADDR(100);
	nb->key = k;
	nb->state = BT_ACTIVE;
	nb->start = (uint64_t)time(NULL);
	nb->ends = nb->start + 600;
	assert_int_equal(bt_publish(&wr, NULL, nb), 0);
	urcu_qsbr_thread_offline();	/* as the control thread: online around table reads */

	c = cp_cmds_new(&(struct cp_cmds_env){.rt = &rt,
			.sink = {.ops = &fake_ops, .ctx = &sink}});
	assert_non_null(c);
	req = json_pack("{s:s, s:{s:s, s:s, s:s}}", "command", "lease4-update", "arguments",
			"ip-address", "198.18.0.100", "hw-address", "02:00:00:00:00:07",
			"state", "active");
	answer = cp_cmd_dispatch(c, NULL, req);
	json_decref(req);
	assert_null(answer);			/* answered when durable */
	assert_int_equal(sink.n_sub, 1);	/* the DEL, on the record's writer */
	assert_int_equal(sink.sub[0]->kind, DP_OP_DEL);
	assert_int_equal(sink.sub_worker[0], other);

	/* The DEL is done and durable; the client's worker's ring is full meanwhile. */
	work(&sink, sink.sub[0], 1);
	sink.refuse = true;
	for (int i = 0; i < 3; i++) {
		assert_true(cp_cmd_progress(c));	/* the SET is kept, not given up */
	}
	sink.refuse = false;
	assert_true(cp_cmd_progress(c));
	assert_int_equal(sink.n_sub, 2);
	assert_int_equal(sink.sub[1]->kind, DP_OP_SET);
	assert_int_equal(sink.sub_worker[1], 1 - other);
	work(&sink, sink.sub[1], 2);
	assert_false(cp_cmd_progress(c));

	cp_cmds_free(c);
	urcu_qsbr_barrier();
	urcu_qsbr_thread_online();
	bt_table_free(rt.table);
	bt_writer_deinit(&wr);
	dp_config_free(snap.cfg);
	urcu_qsbr_unregister_thread();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(update_second_step_waits_for_a_full_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
