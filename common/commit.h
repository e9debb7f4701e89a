/*
 * commit: how a worker hands binding changes to durable storage, and learns when they are
 * durable.
 *
 * Every change a worker makes to a binding (ACK of a new, renewed, rebound or init-reboot
 * lease; RELEASE; DECLINE; expiry) is posted as a struct dp_change carrying the worker's own
 * sequence number, strictly increasing per worker. The sink (the LMDB committer, or the
 * in-memory sink below) publishes, per worker, the highest sequence number that is durable.
 * A reply that commits a binding is parked by the worker and transmitted only once the
 * durable sequence has reached its change (worker.c).
 *
 * Threads: post() is called by the worker that owns the change, and must not block, lock or
 * allocate; durable() is read by that worker once per poll loop.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lease.h"

/** One binding change, as it will be written. Plain data, copied into the sink's ring. */
struct dp_change {
	uint64_t seq;			/**< the worker's sequence number, from 1 */
	uint32_t addr;
	uint32_t scope;
	uint8_t state;			/**< enum bt_state */
	uint8_t worker;
	uint64_t start, ends;
	struct dp_client_key key;	/**< len 0 for FREE and BACKUP */
	uint8_t flags;			/**< DP_CHANGE_* */
	uint8_t hw_len;			/**< bytes of hw; 0 = unknown */
	uint8_t hw[DP_HW_MAX];		/**< htype + chaddr of the client (failover option 5) */
	struct dp_client_info info;	/**< what the binding remembers of its client; all
					 *   lengths 0 when nothing is known */
	uint32_t pet;			/**< failover: the address's partner-known potential
					 *   expiration time (dp_pool.peer_pet, unix seconds;
					 *   0 = none), kept with the binding so that a restart
					 *   knows it (doc/failover.md, "The partner-known PET") */
};

/** The address is in a failover scope and the change is ours: the partner must hear of it
 *  (the committer records it as unacked and hands it to the control thread once durable). */
#define DP_CHANGE_FO	0x01
/** The change applies the partner's binding update: never sent back to it. */
#define DP_CHANGE_PEER	0x02

/** A change sink (vtable): the LMDB committer implements it in lmdb-store/. */
struct dp_commit_ops {
	/**
	 * Queue one change. Worker thread; must not block.
	 * @return 0, or -ENOBUFS when the sink cannot take it now (the caller drops the request
	 *         and answers nothing).
	 */
	int (*post)(void *ctx, const struct dp_change *c);
	/** Highest durable sequence of @p worker. Any thread. */
	uint64_t (*durable)(void *ctx, uint32_t worker);
	/** Highest sequence @p worker has posted (durable or not). Any thread. */
	uint64_t (*posted)(void *ctx, uint32_t worker);
	/** Would post() from @p worker succeed now (for a valid change)? That worker only:
	 *  it is the ring's single producer, so the answer holds until its next post. */
	bool (*room)(void *ctx, uint32_t worker);
};

struct dp_commit {
	const struct dp_commit_ops *ops;
	void *ctx;
};

/**
 * The in-memory sink: changes are "durable" the moment they are posted. Used when no store
 * is configured (labs, tests). It keeps no copy of the change.
 */
struct dp_commit_mem {
	_Alignas(64) _Atomic uint64_t durable[DP_MAX_WORKERS];
	_Atomic uint64_t posted_total;
};

extern const struct dp_commit_ops dp_commit_mem_ops;
