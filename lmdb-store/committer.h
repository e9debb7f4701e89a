/*
 * committer: group commit of binding changes from the workers into the store.
 *
 * Each worker owns a single-producer/single-consumer ring of struct dp_change. post() (called
 * by the worker, through struct dp_commit_ops) copies the change into the ring or reports
 * -ENOBUFS when it is full; it never blocks, locks or allocates. One committer thread drains
 * every ring into one batch, writes the batch in ONE LMDB write transaction, commits (with
 * fsync in strict mode), and only then publishes, per worker, the highest sequence number now
 * durable. Workers release the replies parked behind those sequence numbers.
 *
 * So an fsync is paid per batch, not per lease: under load batches grow by themselves (every
 * change that arrives while a commit is in flight joins the next batch), and at low load a
 * change waits at most one idle poll plus one commit.
 *
 * When a batch fails to commit nothing is published: the parked replies stay parked, and the
 * committer retries the same batch with back-off until it succeeds or the daemon stops. A
 * reply is never sent for a change that is not durable. The stats say an outage is on
 * (failing) and why (full_failures: the map is at its limit, which raising it with
 * store_set_max_map_size() cures; io_failures: the disk, which the store survives, reopening
 * its environment if LMDB gave it up); the control thread turns them into events.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "commit.h"
#include "lw_attr.h"
#include "store.h"

struct committer_opts {
	uint32_t n_workers;
	uint32_t ring_size;	/**< changes per worker ring, power of two; 0 = 65536 */
	uint32_t max_batch;	/**< changes per transaction at most; 0 = 16384 */
	uint32_t idle_us;	/**< poll interval when every ring is empty; 0 = 20 */
};

/**
 * Histogram buckets (fixed, cumulative-free: bucket i counts the events that fell in it).
 * Commit latency (store write to publish, so what a parked reply waits at least once its change
 * is in a batch): bucket i < 2^i * 16 us for i < COMMITTER_HIST_BUCKETS - 1, the last bucket
 * the rest (>= 2^14 * 16 us = 262 ms). Batch size: bucket i <= 2^i changes (1, 2, 4, ...),
 * the last bucket the rest (> 16384).
 */
#define COMMITTER_HIST_BUCKETS	16
/** Upper bound of latency bucket @p i in microseconds (exclusive); the last bucket has none. */
#define COMMITTER_LAT_US(i)	(16ull << (i))
/** Upper bound of batch-size bucket @p i in changes (inclusive); the last bucket has none. */
#define COMMITTER_BATCH_MAX(i)	(1ull << (i))

/** The bound of bucket i of each histogram member, by member name (LW_STORE_HIST_TABLE). */
#define COMMITTER_BOUND_commit_hist(i)	COMMITTER_LAT_US(i)
#define COMMITTER_BOUND_batch_hist(i)	COMMITTER_BATCH_MAX(i)

/** Counters, written by the committer thread, read by anyone (relaxed). */
struct committer_stats {
	_Atomic uint64_t batches;
	_Atomic uint64_t changes;
	_Atomic uint64_t failures;		/**< batches that failed and were retried */
	_Atomic uint64_t full_failures;		/**< of which STORE_E_FULL (map at its limit) */
	_Atomic uint64_t io_failures;		/**< of which any other error (EIO, ENOSPC...) */
	_Atomic uint64_t store_reopens;		/**< store_reopens(), as of the last round */
	_Atomic bool failing;			/**< the last write failed: an outage is on */
	_Atomic uint64_t commit_ns_total;	/**< wall time spent in store_write_batch */
	_Atomic uint64_t apply_ns_total;	/**< of which applying changes (B-tree work) */
	_Atomic uint64_t cpu_ns_total;		/**< committer thread CPU time in busy rounds */
	_Atomic uint64_t max_batch_seen;
	_Atomic int last_error;			/**< last store error, 0 if none */
	_Atomic uint64_t commit_hist[COMMITTER_HIST_BUCKETS];	/**< commit latency */
	_Atomic uint64_t batch_hist[COMMITTER_HIST_BUCKETS];	/**< changes per batch */
};

struct committer;

/** The dp_commit_ops of a committer (ctx = struct committer *). */
extern const struct dp_commit_ops committer_ops;

/**
 * Create the committer over an open store (not owned). Control thread.
 * @return NULL on allocation failure or bad options.
 */
struct committer *committer_new(struct store *s, const struct committer_opts *o);

/** Start the thread. @return 0 or negative errno. */
_mustcheck_
int committer_start(struct committer *c);

/**
 * Stop the thread after committing everything already posted (bounded: it gives up when the
 * store keeps failing for @p max_ms milliseconds). Call after the workers have stopped.
 * @return 0 when everything posted is durable, else the last store error.
 */
int committer_stop(struct committer *c, unsigned max_ms);

/** Free. NULL is a no-op. After committer_stop(). */
void committer_free(struct committer *c);

/** The committer's counters. */
const struct committer_stats *committer_stats(const struct committer *c);

/**
 * The failover tap: after a batch is durable, the address of every change in it flagged
 * DP_CHANGE_FO is pushed to a single-producer/single-consumer ring that the control thread
 * drains (it then sends the address's current binding to the partner). Enable before
 * committer_start(). When the ring is full the address is not pushed and the lost counter
 * grows: the control thread must then resend every binding of its failover scopes (the
 * store's unacked set still has them, so nothing is forgotten across a restart either).
 * A change flagged DP_CHANGE_PEER is never pushed (even with DP_CHANGE_FO set too), exactly
 * as the store leaves it out of "unacked". The ring is allocated here and freed by
 * committer_free(); the committer thread never allocates for it. Calling it again before
 * the start replaces the ring. Control thread.
 * @param size  ring entries, power of two. @return 0, -EINVAL, -ENOMEM, -EBUSY (started).
 */
_mustcheck_
int committer_tap_enable(struct committer *c, uint32_t size);

/** Pop up to @p max addresses into @p addrs (caller's array), oldest first; each was
 *  durable (and its sequence published) before it was pushed. @p gens (caller's array of
 *  @p max, or NULL) gets the generation the change wrote into the address's unacked mark
 *  (store_write_batch_gen()): acknowledging it deletes that mark only (store_unacked_del()).
 *  Control thread only (the single consumer). @return how many; 0 when the tap is off. */
size_t committer_tap_drain(struct committer *c, uint32_t *addrs, uint64_t *gens, size_t max);

/** Addresses the tap could not take (ring full) since the start; any thread. */
uint64_t committer_tap_lost(const struct committer *c);

/**
 * Run one drain-write-publish round on the calling thread (tests, and the thread's loop).
 * @return changes made durable, 0 when there was nothing to do, or a negative store error
 *         (nothing published).
 */
int committer_round(struct committer *c);
