/*
 * leaseop.c: the lease-operation engine (see leaseop.h). A doubly linked list of ops in
 * flight, in the order they were started; a poll walks it once. A callback may start new ops
 * (they go to the tail and may be seen by the same walk), so the walk keeps the next op before
 * it calls one.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "leaseop.h"

void cp_leaseop_init(struct cp_leaseop_engine *e, struct cp_leaseop_sink sink)
{
	e->sink = sink;
	e->head = e->tail = NULL;
	e->n = 0;
}

static void link_tail(struct cp_leaseop_engine *e, struct cp_leaseop *o)
{
	o->next = NULL;
	o->prev = e->tail;
	if (e->tail != NULL) {
		e->tail->next = o;
	} else {
		e->head = o;
	}
	e->tail = o;
	e->n++;
}

static void unlink_op(struct cp_leaseop_engine *e, struct cp_leaseop *o)
{
	if (o->prev != NULL) {
		o->prev->next = o->next;
	} else {
		e->head = o->next;
	}
	if (o->next != NULL) {
		o->next->prev = o->prev;
	} else {
		e->tail = o->prev;
	}
	o->prev = o->next = NULL;
	e->n--;
}

/* Hand the step in o->op to its worker. @return 0 or -ENOBUFS. */
static int submit(struct cp_leaseop_engine *e, struct cp_leaseop *o)
{
	atomic_store_explicit(&o->op.done, 0, memory_order_relaxed);
	o->submitted = e->sink.ops->submit(e->sink.ctx, o->worker, &o->op) == 0;
	return o->submitted ? 0 : -ENOBUFS;
}

int cp_leaseop_start(struct cp_leaseop_engine *e, struct cp_leaseop *o)
{
	o->submitted = false;
	if (submit(e, o) != 0 && !(o->flags & CP_LEASEOP_RETRY)) {
		return CP_LEASEOP_E_RING;
	}
	link_tail(e, o);
	return 0;
}

/* The step of @p o has finished with @p result: let its owner end it or chain the next. */
static void finish(struct cp_leaseop_engine *e, struct cp_leaseop *o, int result)
{
	for (;;) {
		if (o->cb->finished(o, result) == CP_LEASEOP_END) {
			return;
		}
		if (submit(e, o) == 0 || (o->flags & CP_LEASEOP_RETRY)) {
			link_tail(e, o);
			return;
		}
		result = CP_LEASEOP_E_RING;
	}
}

unsigned cp_leaseop_poll(struct cp_leaseop_engine *e)
{
	const struct cp_leaseop_sink *s = &e->sink;
	struct cp_leaseop *o, *next;
	unsigned calls = 0;
	uint32_t n = e->n;

	/* Only the ops in flight when the poll began: a chained step waits for the next poll
	 * even when it lands at the tail. */
	for (o = e->head; o != NULL && n > 0; o = next, n--) {
		next = o->next;
		if (!o->submitted && submit(e, o) != 0) {
			continue;	/* CP_LEASEOP_RETRY: the ring is still full */
		}
		if (!s->ops->done(s->ctx, &o->op)) {
			continue;
		}
		if (o->op.result == 0 && s->ops->durable(s->ctx, o->worker) < o->op.seq) {
			continue;	/* done, not yet durable */
		}
		unlink_op(e, o);
		calls++;
		finish(e, o, o->op.result);
	}
	return calls;
}

void cp_leaseop_abort_all(struct cp_leaseop_engine *e)
{
	while (e->head != NULL) {
		struct cp_leaseop *o = e->head;

		unlink_op(e, o);
		if (o->cb->aborted != NULL) {
			o->cb->aborted(o);
		}
	}
}
