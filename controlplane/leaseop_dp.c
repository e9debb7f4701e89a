#include <stdatomic.h>

#include "leaseop_dp.h"
#include "worker.h"

static int dp_submit(void *ctx, uint32_t worker, struct dp_lease_op *op)
{
	struct dp_runtime *rt = ctx;

	return dp_worker_op(&rt->workers[worker], op);
}

static bool dp_done(void *ctx, const struct dp_lease_op *op)
{
	(void)ctx;
	return atomic_load_explicit(&op->done, memory_order_acquire) != 0;
}

static uint64_t dp_durable(void *ctx, uint32_t worker)
{
	struct dp_runtime *rt = ctx;

	return rt->commit.ops->durable(rt->commit.ctx, worker);
}

static const struct cp_leaseop_sink_ops dp_sink_ops = {
	.submit = dp_submit,
	.done = dp_done,
	.durable = dp_durable,
};

struct cp_leaseop_sink cp_leaseop_dp_sink(struct dp_runtime *rt)
{
	return (struct cp_leaseop_sink){.ops = &dp_sink_ops, .ctx = rt};
}
