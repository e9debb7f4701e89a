/*
 * pool: which addresses each worker may hand out, and in what order.
 *
 * Every dynamic address of a scope has a rank: its position in the scope's ranges (sorted).
 * The address belongs to worker (rank % n_workers): workers own interleaved slices, so each
 * allocates with no coordination at all, and a pool is spread evenly whatever its shape.
 * Reserved and excluded addresses have a rank but are never handed out from a slice. Within
 * its slice an address has an index, rank / n_workers.
 *
 * Memory grows with the addresses in use, not with the size of the pool (issue 13 item 6):
 * a /8 costs a few hundred bytes at start. Each worker's slice of a scope hands out, in
 * this order:
 *   1. "holes": free addresses below the cursor, in address order (only after a restart or
 *      a new snapshot: the addresses the loaded bindings left free), and at their front the
 *      addresses a worker popped and gave back (dp_slice_unpop);
 *   2. the cursor: every allocatable index at or above it has never been handed out since
 *      the pools were built, so it is free by construction and costs nothing to hold; the
 *      scope's allocatable ranks (ranges minus exclusions and reserved addresses) are kept
 *      as a short list of runs the cursor walks;
 *   3. "back": addresses that became free again (expired, released, offer not taken,
 *      decline hold over), in the order they came back, so the addresses clients held most
 *      recently are reused last and a returning client usually finds its old address free.
 * Holes and back are FIFOs linked through one array of the slice (link, 4 bytes per
 * index), which also says whether an index is queued (no address is queued twice). That
 * array and the per-address arrays of struct dp_pool below are anonymous mappings the
 * kernel fills with zero pages on first write: only the pages of addresses that were ever
 * in use take memory. (The first write to such a page is a page fault on the worker, once
 * per 1024 or 512 addresses; no malloc.) This is the same order the one FIFO of every
 * address gave before, and the lists are hints as before: the engine checks the binding
 * table before using a popped address.
 *
 * Borrowing: a worker whose share runs low asks the worker with the most queued addresses
 * of the scope to lend it some (engine.c). The lender pops them from its own slice, marks them
 * lent (dp_pool.lent) and hands them over like a freed address, once its own changes so far
 * are durable; the borrower keeps them in its slice's borrowed list and allocates from there
 * when its own slice is empty. The address still belongs to its slice owner: when freed it
 * goes back there. A lent address counts as queued for the control thread's requeue scan.
 *
 * Threads: struct dp_pool (ranks, runs) is immutable after dp_pools_new() and read by
 * anyone, except the atomic arrays it documents; a struct dp_slice is written only by its
 * worker (count, next and link are also read, relaxed, by other threads: count by workers
 * choosing whom to borrow from, next and link by the control thread's dp_slice_queued()).
 * Built on the control thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "dp_config.h"
#include "lw_attr.h"

/** Allocatable ranks [first, last] of one range (none excluded, none reserved). */
struct dp_rank_run {
	uint64_t first, last;
	uint32_t addr;			/**< the address of rank first */
};

/**
 * Rank table of one scope's dynamic ranges. The per-address arrays (peer_pet, fo_hold,
 * lent, freed_by) are indexed by rank and take memory only where written (see above).
 */
struct dp_pool {
	const struct dp_scope *scope;	/**< the snapshot it was built from */
	uint32_t n_ranges;
	const struct dp_range *ranges;	/**< the scope's, sorted */
	uint64_t *before;		/**< addresses in ranges[0..i) */
	uint64_t total;
	struct dp_rank_run *runs;	/**< allocatable ranks, in rank order */
	uint32_t n_runs;
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
	/**
	 * Bit per rank: the address is lent to another worker than its slice owner (set by the
	 * owner when it lends it, cleared by the borrower when it takes it out of its borrowed
	 * list, or by the owner when the hand-over fails). Atomic read-modify-writes, any
	 * worker; relaxed reads by the control thread (dp_slice_queued).
	 */
	_Atomic uint64_t *lent;
	/**
	 * Per rank: the last FREE of the address a worker posted, as (worker + 1) <<
	 * DP_FREED_SEQ_BITS | its sequence number (56 bits: never wraps); 0 = none. A FREE leaves no record behind, so this is
	 * how another worker about to write the address learns that it must wait until that
	 * FREE is durable (engine.c free_settled()): rings are not ordered between workers, and
	 * a FREE committed after its ACK would delete an acknowledged lease. Relaxed atomics:
	 * written by the worker that freed the address, read by any worker.
	 */
	_Atomic uint64_t *freed_by;
	/**
	 * The same for addresses outside the ranges (reservations there, operators' leases):
	 * [DP_FREED_OTHER buckets by address hash][n_workers], each the sequence number of the
	 * last FREE the worker posted of an address of the bucket (0 = none). A writer waits
	 * until every other worker's entry in the address's bucket is durable: sometimes longer
	 * than needed (another address of the bucket), never too short. Relaxed atomics, as
	 * freed_by.
	 */
	_Atomic uint64_t *freed_other;
};

/** Buckets of dp_pool.freed_other (a power of 2). */
#define DP_FREED_OTHER 64

/** The bucket of dp_pool.freed_other that remembers the FREEs of @p addr. */
static inline uint32_t dp_freed_other_bucket(uint32_t addr)
{
	return (addr * 0x9e3779b1u) >> 26;	/* DP_FREED_OTHER = 64 = 2^6 */
}

/** dp_pool.freed_by: the low bits hold the FREE's sequence number, the high the worker + 1. */
#define DP_FREED_SEQ_BITS 56
#define DP_FREED_SEQ_MASK ((1ULL << DP_FREED_SEQ_BITS) - 1)

/** A FIFO of slice indexes linked through dp_slice.link. */
struct dp_slice_list {
	uint32_t head, tail, count;
};

/** One worker's free addresses of one scope (see the top of this file). */
struct dp_slice {
	uint32_t size;			/**< addresses of the scope owned by this worker */
	uint32_t count;			/**< queued: holes + left + back (relaxed atomic) */
	uint32_t next;			/**< cursor: no index >= next was handed out */
	uint32_t run;			/**< dp_pool.runs entry the cursor is in or before */
	uint32_t left;			/**< allocatable indexes >= next */
	struct dp_slice_list holes;	/**< free indexes below the cursor, in order */
	struct dp_slice_list back;	/**< indexes freed again, oldest first */
	/** Per index: 0 when in no list, else the next index in its list + 1, or
	 *  DP_SLICE_END for the last one. Lazily backed (size * 4 bytes of address space). */
	uint32_t *link;
	/* Addresses of other workers' slices lent to this one (FIFO), and the borrowing
	 * state (engine.c). */
	uint32_t *borrowed;
	uint32_t b_head, b_count;
	uint32_t ask_wait;		/**< allocations since the lend request went out */
	bool asking;			/**< a lend request is out, no answer yet */
};

/** dp_slice.link of the last index of a list. */
#define DP_SLICE_END UINT32_MAX

/** Size of each slice's borrowed list; a lender lends at most half of it at once. */
#define DP_BORROW_MAX 128

struct dp_pools {
	uint32_t n_workers, n_scopes;
	struct dp_pool *pools;		/**< [n_scopes] */
	struct dp_slice *slices;	/**< [n_workers * n_scopes], worker-major */
	/** The pools of the snapshot about to replace these (dp_pools_set_next()), or NULL:
	 *  a FREE a worker posts on these is remembered there too. */
	_Atomic(struct dp_pools *) next;
};

/**
 * Build ranks and slices for every scope of @p c, with every allocatable address queued
 * (not excluded, not reserved: each slice's cursor at 0), and peer_pet (all 0) for
 * failover scopes. Costs memory for the ranges, exclusions and reservations only, whatever
 * the size of the pools. Control thread. @return NULL on allocation failure.
 */
struct dp_pools *dp_pools_new(const struct dp_config *c, uint32_t n_workers);

struct bt_table;

/**
 * Rebuild every free list from the binding table (after bindings were loaded from the store;
 * borrowed lists and lent marks are cleared):
 * addresses with no binding or a BACKUP one (a failover secondary's free addresses) first, in
 * address order; then those whose binding has ended for good (EXPIRED, RELEASED, RESET), the
 * longest-ended first, so returning clients find theirs. Bound, offered and abandoned
 * addresses are left out (they re-enter when reclaimed).
 * Each slice's cursor goes just past its highest address that has a binding other than
 * BACKUP, and only the free addresses below it are linked (holes). A temporary bitmap of the
 * pool (1 bit per address) is freed on return. It looks up every allocatable address (a
 * walk of the bindings could not report a quiescent state; at start, where the store walk
 * gives the bindings, use dp_requeue_begin() instead), so it may run while the workers
 * serve: it reports a quiescent state every 1024 addresses and keeps no record pointer
 * across them (issue 11 item 10).
 * Control thread, on pools no worker uses yet, registered with QSBR and online.
 * @return 0 or -ENOMEM.
 */
int dp_pools_requeue(struct dp_pools *p, struct bt_table *t);

struct dp_requeue;

/**
 * dp_pools_requeue() with the bindings given one by one (dp_requeue_add), for a caller that
 * walks them anyway (loading from the store) and need not look them up again. Control
 * thread, on pools no worker uses yet. Owns a bitmap of each pool (1 bit per address) until
 * dp_requeue_end(). @return NULL on allocation failure.
 */
struct dp_requeue *dp_requeue_begin(struct dp_pools *p);

/** One binding: its address, enum bt_state and end. Outside every pool: ignored. */
void dp_requeue_add(struct dp_requeue *rq, uint32_t addr, uint8_t state, uint64_t ends);

/**
 * dp_pools_requeue()'s table lookups in slices (a configuration change on a big pool, issue 11
 * item 10): look up at most @p budget allocatable addresses of the pools, in rank order from
 * where the last call stopped, and dp_requeue_add() each one that has a binding. Reports a
 * quiescent state every 1024 lookups (counted in *@p qs when not NULL) and keeps no record
 * pointer across addresses or calls, so the caller may go offline between calls while the
 * workers change the table: a binding changed after its address was looked up is seen as it
 * was (the engine checks the table before it uses a queued address, and the requeue scan
 * finds a free address the lists missed). Control thread, registered and online.
 * @return true when every address has been looked up (then dp_requeue_end()).
 */
bool dp_requeue_scan(struct dp_requeue *rq, struct bt_table *t, uint64_t budget, uint64_t *qs);

/**
 * The first part of dp_requeue_end() in slices (after the last dp_requeue_add() or
 * dp_requeue_scan()): reset each slice and link its free indexes below its new cursor,
 * looking at most @p budget ranks per call, in order of scope and worker from where the last
 * call stopped. The pools must not be in use by any worker yet. Control thread, any RCU state.
 * The ended addresses are then sorted (at once) and queued, @p budget per call too.
 * @return true when all is done (dp_requeue_end() then only frees @p rq).
 */
bool dp_requeue_build(struct dp_requeue *rq, uint64_t budget);

/** Rebuild the free lists from what was added (what dp_requeue_build() has not done yet, then
 *  the ended addresses, the longest-ended first), and free @p rq.
 *  @return 0, or -ENOMEM (also when an add ran out of memory; the lists are then as before). */
_mustcheck_
int dp_requeue_end(struct dp_requeue *rq);

/** Free @p rq, leaving the free lists as they are. NULL is a no-op. */
void dp_requeue_abort(struct dp_requeue *rq);

/**
 * Put @p p back as dp_pools_new() built it (every allocatable address queued at the cursor,
 * no list, nothing lent nor borrowed, every per-address array zero) without unmapping and
 * mapping its arrays again: for a test harness that runs one input after another on the same
 * configuration. Small arrays are cleared by a write, big ones given back to the kernel as in
 * the requeue. Control thread, while no worker uses @p p (after the workers have stopped).
 */
void dp_pools_reset(struct dp_pools *p);

/** Free. NULL is a no-op. After the workers have stopped. */
void dp_pools_free(struct dp_pools *p);

struct dp_commit;

/**
 * Carry the FREE marks (dp_pool.freed_by) that are not durable yet from @p from to the same
 * addresses in @p to, a new snapshot's pools (review of issue 11 item 2: a FREE posted just
 * before a configuration change must still be waited for). A mark already in @p to is kept
 * unless it is durable, and so is one a worker writes there while the carry runs (a
 * compare-and-swap: dp_pools_mark_next() of a later FREE, which waited for this one). Run it before publishing @p to, and again once no worker uses
 * @p from (after the grace period) for the FREEs posted meanwhile; when both pools hold a
 * FREE not yet durable for one address (freed twice within the swap), the one in @p to stays.
 * The FREEs of addresses outside the ranges (dp_pool.freed_other) not yet durable go to the
 * same bucket of every scope of @p to (a scope's buckets may make a write wait for an
 * unrelated FREE, never less than needed), and so does a mark of an address that @p to has
 * outside its ranges (a range shrunk). Not carried: an out-of-range FREE of an address that
 * @p to puts in a range (freed_by holds one worker per address, a bucket many).
 * Control thread; @p c tells what is durable. O(addresses of @p from's ranges).
 */
void dp_pools_carry_freed(struct dp_pools *to, const struct dp_pools *from,
			  const struct dp_commit *c);

/**
 * Make @p to (NULL: none) the pools that replace @p from, before they are published: from
 * then on a worker still on @p from that posts a FREE remembers it in @p to as well
 * (dp_pools_mark_next()), so that a worker already on @p to does not write the address before
 * that FREE is durable (the carry after the grace period comes too late for such a write).
 * Set it before the first dp_pools_carry_freed() (a FREE posted before it is carried). @p to
 * must outlive every worker's use of @p from: when it is not published after all, set NULL
 * and wait for a grace period before freeing it. Control thread.
 */
void dp_pools_set_next(struct dp_pools *from, struct dp_pools *to);

/**
 * Remember in @p to, the pools that replace the caller's (dp_pools.next), that worker @p w
 * posted a FREE of @p addr with sequence @p seq: as dp_pools_carry_freed() would carry it.
 * The worker's thread (engine.c).
 */
void dp_pools_mark_next(struct dp_pools *to, uint32_t addr, uint32_t w, uint64_t seq);

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

/** Pop the next candidate (holes, cursor, back: see above). Worker @p w only.
 *  @return true and *addr, false when the slice holds none. */
bool dp_slice_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr);

/**
 * Queue @p addr (which must be owned by @p w in @p scope) at the back unless already queued
 * (an allocatable address at or above the cursor always is). Worker @p w only (or the
 * control thread on pools no worker uses yet).
 * @return true when queued now.
 */
bool dp_slice_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/**
 * Put @p addr (owned by @p w in @p scope, just popped) back at the front, unless already
 * queued: a worker that popped addresses it then keeps gives them back in reverse order of
 * popping, so the FIFO's order is as before (engine.c lending). Worker @p w only.
 * @return true when queued now.
 */
bool dp_slice_unpop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/**
 * Is @p addr queued in its owner's slice, or lent to another worker (dp_pool.lent)? Any
 * thread; from another thread than the owner the answer may be stale (relaxed reads).
 */
bool dp_slice_queued(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/** Addresses currently queued as free candidates in @p w's slice of @p scope. Any thread
 *  (relaxed: from another thread than @p w a recent value, not an exact one). */
static inline uint32_t dp_slice_count(struct dp_pools *p, uint32_t w, uint32_t scope)
{
	return __atomic_load_n(&dp_pools_slice(p, w, scope)->count, __ATOMIC_RELAXED);
}

/**
 * Mark @p addr of @p scope lent (@p on) or not. Any worker. @return the previous mark;
 * false also when the address is in no range of the scope.
 */
bool dp_pool_set_lent(struct dp_pools *p, uint32_t scope, uint32_t addr, bool on);

/** Is @p addr of @p scope marked lent? Any thread (relaxed). */
bool dp_pool_lent(const struct dp_pools *p, uint32_t scope, uint32_t addr);

/** Queue an address lent to @p w in its borrowed list. Worker @p w only.
 *  @return false when the list is full. */
bool dp_slice_borrow_push(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t addr);

/** Take the oldest borrowed address. Worker @p w only. @return false when there is none. */
bool dp_slice_borrow_pop(struct dp_pools *p, uint32_t w, uint32_t scope, uint32_t *addr);
