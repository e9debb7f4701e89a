#include "commit.h"

static int mem_post(void *ctx, const struct dp_change *c)
{
	struct dp_commit_mem *m = ctx;

	atomic_fetch_add_explicit(&m->posted_total, 1, memory_order_relaxed);
	atomic_store_explicit(&m->durable[c->worker], c->seq, memory_order_release);
	return 0;
}

static uint64_t mem_durable(void *ctx, uint32_t worker)
{
	struct dp_commit_mem *m = ctx;

	return atomic_load_explicit(&m->durable[worker], memory_order_acquire);
}

static bool mem_room(void *ctx, uint32_t worker)
{
	(void)ctx;
	(void)worker;
	return true;
}

const struct dp_commit_ops dp_commit_mem_ops = {
	.post = mem_post,
	.durable = mem_durable,
	.posted = mem_durable,	/* durable the moment it is posted */
	.room = mem_room,
};
