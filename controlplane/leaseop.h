/*
 * leaseop: the control thread's engine for lease operations executed by the workers.
 *
 * A binding has a single writer, the worker that owns it, so every change the control thread
 * wants (an operator's lease4-add/update/del/wipe, a partner's binding update, a failover pool
 * conversion) is a struct dp_lease_op handed to that worker. The engine does what every such
 * change needs, once:
 *
 *   start      hand the op to its worker through the sink (the worker's command ring); when
 *              the ring is full either refuse at once or, with CP_LEASEOP_RETRY, keep it and
 *              hand it over again at every poll;
 *   poll       wait until the worker is done with it, then, when it succeeded, until the
 *              worker's durable sequence has reached the change it posted (op.seq): nothing is
 *              answered or acknowledged before the change is on stable storage;
 *   finish     call the op's `finished` callback with the result. The callback either ends
 *              the operation (it may free the op) or refills o->op / o->worker with a next
 *              step (a DEL on the old writer before the SET on the new one, one DEL per worker
 *              for a wipe, a re-route after -ESTALE or -EAGAIN), which the engine hands over;
 *   abort      at stop (the workers are gone): every op still in the engine is handed to its
 *              `aborted` callback, nothing more completes.
 *
 * The worker side is a vtable (struct cp_leaseop_sink_ops): leaseop_dp.c implements it on the
 * dataplane's worker rings and commit sink; the unit tests implement it with a fake.
 *
 * Memory: a struct cp_leaseop is owned by the caller (embed it and use caa_container_of or a
 * cast); the engine only links it while it is in flight, from cp_leaseop_start() until its
 * callback returns CP_LEASEOP_END or it is aborted. The dp_lease_op inside it must not move
 * while it is in flight (the worker writes it).
 *
 * Threads: one engine belongs to one thread (the control thread). The sink's worker side runs
 * on the workers; the engine touches op->done only through the sink's done().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "lw_attr.h"

/** Result given to a callback when the worker's command ring refused a next step (an op
 *  without CP_LEASEOP_RETRY). A project code: the workers never return it. */
#define CP_LEASEOP_E_RING (-1200)

/** cp_leaseop.flags: when the worker's ring is full, keep the op and try again at every
 *  cp_leaseop_poll() instead of failing. */
#define CP_LEASEOP_RETRY 0x01

/** What a `finished` callback tells the engine. */
enum cp_leaseop_next {
	CP_LEASEOP_END = 0,	/**< the operation is over: the engine forgets the op */
	CP_LEASEOP_NEXT,	/**< o->op and o->worker hold the next step: hand it over */
};

struct cp_leaseop;

/** The worker side (vtable). Every function is called on the engine's thread. */
struct cp_leaseop_sink_ops {
	/**
	 * Hand @p op to worker @p worker. The op stays the caller's; the worker writes its
	 * result fields and sets done last.
	 * @return 0, or -ENOBUFS when the worker cannot take it now.
	 */
	int (*submit)(void *ctx, uint32_t worker, struct dp_lease_op *op);
	/** Has the worker finished @p op (its result, count and seq may be read now)? */
	bool (*done)(void *ctx, const struct dp_lease_op *op);
	/** Highest durable change sequence of worker @p worker. */
	uint64_t (*durable)(void *ctx, uint32_t worker);
};

struct cp_leaseop_sink {
	const struct cp_leaseop_sink_ops *ops;
	void *ctx;
};

/** What the user of an op does when it ends (vtable, usually static const). */
struct cp_leaseop_cb {
	/**
	 * The step in flight has finished: the worker is done and, when @p result is 0, the
	 * change is durable. @p result is o->op.result, or CP_LEASEOP_E_RING when the next
	 * step could not be handed over. Return CP_LEASEOP_NEXT after filling o->op and
	 * o->worker with the next step (the engine resets o->op.done and submits it), or
	 * CP_LEASEOP_END; after END the callback may have freed @p o. The callback may call
	 * cp_leaseop_start() for other ops, never cp_leaseop_abort_all().
	 */
	enum cp_leaseop_next (*finished)(struct cp_leaseop *o, int result);
	/** Engine teardown: @p o will never finish (its worker has stopped). May free @p o.
	 *  NULL: nothing to do. */
	void (*aborted)(struct cp_leaseop *o);
};

/** One lease operation. The caller fills op, worker, cb (and flags) before starting it. */
struct cp_leaseop {
	struct dp_lease_op op;		/**< the step in flight */
	uint32_t worker;		/**< who executes it: the writer of the binding(s) */
	unsigned flags;			/**< CP_LEASEOP_* */
	const struct cp_leaseop_cb *cb;
	/* The engine's; zero before the first start. */
	bool submitted;			/**< the worker has it */
	struct cp_leaseop *prev, *next;
};

/** The engine: a list of ops in flight. Zero-initialise, then cp_leaseop_init(). */
struct cp_leaseop_engine {
	struct cp_leaseop_sink sink;
	struct cp_leaseop *head, *tail;
	uint32_t n;			/**< ops in flight */
};

/** Make an empty engine that hands its ops to @p sink. */
void cp_leaseop_init(struct cp_leaseop_engine *e, struct cp_leaseop_sink sink);

/**
 * Start @p o: hand o->op to o->worker now. On success the engine holds @p o until its
 * callback returns CP_LEASEOP_END (or it is aborted).
 * @return 0 (handed over, or kept for a retry with CP_LEASEOP_RETRY), or CP_LEASEOP_E_RING:
 *         the ring is full and the op is NOT kept (the caller still owns it; no callback).
 */
_mustcheck_
int cp_leaseop_start(struct cp_leaseop_engine *e, struct cp_leaseop *o);

/**
 * Make progress: hand over what waits for room, and finish every op whose worker is done and
 * whose change is durable (or that failed), calling its callback. Never blocks.
 * @return the number of callbacks called.
 */
unsigned cp_leaseop_poll(struct cp_leaseop_engine *e);

/** Does the engine hold ops in flight (the caller should poll again soon)? */
static inline bool cp_leaseop_busy(const struct cp_leaseop_engine *e)
{
	return e->n != 0;
}

/** Drop every op in flight (after the workers stopped), calling its `aborted` callback. */
void cp_leaseop_abort_all(struct cp_leaseop_engine *e);
