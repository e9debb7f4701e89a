/*
 * pool: which addresses each worker may hand out, and in what order.
 *
 * Every dynamic address of a scope has a rank: its position in the scope's ranges (sorted).
 * The address belongs to worker (rank % n_workers): workers own interleaved slices, so each
 * allocates with no coordination at all, and a pool is spread evenly whatever its shape.
 * Reserved and excluded addresses have a rank but never enter a slice.
 *
 * Each worker keeps, per scope, a FIFO of candidate free addresses of its slice. Allocation
 * pops from the front; an address that becomes free again (expired, released, offer not
 * taken, decline hold over) is pushed at the back, so the addresses clients held most
 * recently are reused last and a returning client usually finds its old address still free.
 * The FIFO is a hint list: the engine checks the binding table before using a popped address,
 * and a bitmap keeps any address from being queued twice.
 *
 * Threads: struct dp_pool (ranks) is immutable after dp_pools_new() and read by anyone; a
 * struct dp_slice is touched only by its worker. Built on the control thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dp_config.h"

/** Rank table of one scope's dynamic ranges. */
struct dp_pool {
	const struct dp_scope *scope;	/**< the snapshot it was built from */
	uint32_t n_ranges;
	const struct dp_range *ranges;	/**< the scope's, sorted */
	uint64_t *before;		/**< addresses in ranges[0..i) */
	uint64_t total;
	/**
	 * Failover scopes only (scope->fo_rel != 0), else NULL: per rank, the latest
	 * potential-expiration time the partner knows for the address (it acked ours, or sent
	 * its own), unix seconds, 0 = nothing. Written by the control thread (relaxed atomic
	 * stores), read by workers for the MCLT rule. A new snapshot starts from 0 again,
	 * which only makes leases shorter (MCLT) until the next acks.
	 */
	_Atomic uint32_t *peer_pet;
	/**
	 * Failover scopes only, else NULL: per rank, non-zero while the control thread moves
	 * the address's binding from one writer to another (a FREE on the old writer, then
	 * the binding on the new one): no worker takes or renews the address meanwhile.
	 * Written by the control thread (release), read by workers (acquire).
	 */
	_Atomic uint8_t *fo_hold;
};

/** One worker's free-address FIFO for one scope. */
struct dp_slice {
	uint32_t *fifo;
	uint32_t cap, head, count;
	uint64_t *queued;		/**< bit per slice index: address is in the FIFO */
	uint32_t size;			/**< addresses of the scope owned by this worker */
};

struct dp_pools {
	uint32_t n_workers, n_scopes;
	struct dp_pool *pools;		/**< [n_scopes] */
	struct dp_slice *slices;	/**< [n_workers * n_scopes], worker-major */
};

/**
 * Build ranks and slices for every scope of @p c, with every allocatable address queued
 * (not excluded, not reserved), and peer_pet (all 0) for failover scopes. Control thread.
 * @return NULL on allocation failure.
 */
struct dp_pools *dp_pools_new(const struct dp_config *c, uint32_t n_workers);

struct bt_table;

/**
 * Rebuild every free list from the binding table (after bindings were loaded from the store):
 * addresses with no binding or a BACKUP one (a failover secondary's free addresses) first, in
 * address order; then those whose binding has ended for good (EXPIRED, RELEASED), the
 * longest-ended first, so returning clients find theirs. Bound, offered and abandoned
 * addresses are left out (they re-enter when reclaimed).
 * Control thread, before the workers start, RCU read side online.
 * @return 0 or -ENOMEM.
 */
int dp_pools_requeue(struct dp_pools *p, struct bt_table *t);

/** Free. NULL is a no-op. After the workers have stopped. */
void dp_pools_free(struct dp_pools *p);

/** The slice of worker @p w for scope @p scope. */
static inline struct dp_slice *dp_pools_slice(struct dp_pools *p, uint32_t w, uint32_t scope)
{
	return &p->slices[(uint64_t)w * p->n_scopes + scope];
}

/**
 * Rank of @p addr in the scope's ranges.
 * @return true and *rank, or false when the address is in no range.
 */
bool dp_pool_rank(const struct dp_pool *p, uint32_t addr, uint64_t *rank);

/** Owner worker of a dynamic address, or -1 when it is in no range of the scope. */
int dp_pool_owner(const struct dp_pools *p, uint32_t scope, uint32_t addr);

/** Pop the oldest candidate. @return true and *addr, false when the FIFO is empty. */
bool dp_slice_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr);

/**
 * Queue @p addr (which must be owned by @p w in @p scope) unless already queued.
 * @return true when queued now.
 */
bool dp_slice_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/**
 * Is @p addr queued in its owner's slice? Any thread; from another thread than the owner the
 * answer may be stale (relaxed read of the owner's bitmap).
 */
bool dp_slice_queued(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/** Addresses currently queued as free candidates in @p w's slice of @p scope. */
static inline uint32_t dp_slice_count(struct dp_pools *p, uint32_t w, uint32_t scope)
{
	return dp_pools_slice(p, w, scope)->count;
}
