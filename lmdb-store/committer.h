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
 *
 * Journal mode (committer_opts.journal, over a store opened with a journal): the batch is
 * appended to the store's journal instead (store_journal_append(): one pwrite of
 * checksummed records and one fdatasync of the segment file, no B-tree work on the binding
 * database). A group is durable when its append returns, and its sequences are published
 * right then: an ACK waits for the gathering of its group and one flush.
 * A second thread, the applier, brings the binding database up to date from the journal in
 * large groups (store_journal_apply(), synced), and only then feeds the failover tap, since
 * the unacked generations are assigned there. When the applier falls max_lag entries
 * behind, the committer stops draining the rings until it catches up (lag_stalls), so the
 * workers see full rings and drop requests rather than the journal growing without bound.
 *
 * Sizes (doc/durable-path.md, "Sizing"): a worker has at most rate x (commit latency + the
 * gathering time of the group before it) replies parked, which is what DP_PARK_MAX covers;
 * each parked reply has one change in the ring or the batch, and changes that need no reply
 * (releases, declines) come on top, so a ring of twice the park (rounded to a power of two)
 * never drops a change whose reply could have been parked: committer_ring_size().
 *
 * Placement: both threads are created with the affinity of committer_opts.cpus when pin is
 * set (the daemon's server.committer-cpus), otherwise with the creating thread's (the control
 * lcore's CPU). Neither should share a CPU with a busy-polling worker: the commit latency
 * then becomes the scheduler's time slice.
 */
#pragma once

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "commit.h"
#include "lw_attr.h"
#include "store.h"

/**
 * The applier's default pause after a transaction that took less than apply_max changes: 50 ms.
 * Its transactions then hold what the workers journaled meanwhile, and the disk work per change
 * falls with their size (leasewire-store-bench --apply, lwbench's 100 000 clients, per 1 000
 * changes: groups of 256: 43.8 writes, 169 KiB, 7.8 flushes; 4 096: 7.6, 65 KiB, 0.49; 16 384:
 * 4.4, 60 KiB, 0.13), which leaves the disk to the journal's flushes, the ones ACKs wait for.
 * At 5 ms (before) a daemon at 1 000 leases a second made 200 transactions and 400 flushes a
 * second of them. What waits for an apply: the failover partner's updates (the tap is fed
 * after it: up to this much later), control-thread store calls (an apply transaction holds
 * the store's lock: ~350 ns a change, so up to ~23 ms at apply_max), and nothing on the ACK
 * path (store_journal_append() does not take that lock). A restart replays the lag: 50 ms of
 * changes.
 */
#define COMMITTER_APPLY_GAP_US	50000

struct committer_opts {
	uint32_t n_workers;
	uint32_t ring_size;	/**< changes per worker ring, power of two; 0 = 65536 */
	uint32_t max_batch;	/**< changes per transaction at most; 0 = 16384 */
	uint32_t idle_us;	/**< poll interval when every ring is empty; 0 = 20 */
	bool journal;		/**< journal mode (the store must have a journal) */
	uint32_t max_lag;	/**< journal mode: entries the applier may lag; 0 = 1 M */
	uint32_t apply_max;	/**< journal mode: changes per apply transaction; 0 = 65536 */
	uint32_t apply_gap_us;	/**< journal mode: the applier's pause after a partial group,
				 *   so that groups grow; 0 = COMMITTER_APPLY_GAP_US */
	bool pin;		/**< create the threads with affinity @c cpus */
	cpu_set_t cpus;
};

/** The ring size for a park of @p park replies per worker: 2 x park, a power of two, at
 *  least 1024 (see "Sizes" above). Pure. */
static inline uint32_t committer_ring_size(uint32_t park)
{
	uint32_t r = 1024;

	while (r < 2 * park && r < (1u << 30)) {
		r <<= 1;
	}
	return r;
}

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
	_Atomic bool apply_failing;		/**< journal mode: the applier's last apply
						 * failed (counted in failures and its kind) */
	_Atomic uint64_t commit_ns_total;	/**< wall time spent in store_write_batch */
	_Atomic uint64_t apply_ns_total;	/**< of which applying changes (B-tree work) */
	_Atomic uint64_t cpu_ns_total;		/**< committer thread CPU time in busy rounds */
	_Atomic uint64_t max_batch_seen;
	_Atomic uint64_t busy_since_ns;		/**< CLOCK_MONOTONIC ns when the store call on
						 * the ACK path now running (append, write or
						 * flush) began; 0 when none runs (a watchdog:
						 * cp_persist_check, store_commit_phase()) */
	_Atomic int tid;			/**< the committer thread (gettid) from its
						 * start, or the thread of the last store call
						 * on the ACK path (committer_round() run by a
						 * test); 0 before either: the watchdog reads
						 * its state */
	_Atomic uint64_t rounds;		/**< committer_round() calls (idle polls too):
						 * a watchdog tells a committer that loops
						 * from one that does not get to run */
	_Atomic int last_error;			/**< last store error, 0 if none */
	_Atomic uint64_t commit_hist[COMMITTER_HIST_BUCKETS];	/**< commit latency */
	_Atomic uint64_t batch_hist[COMMITTER_HIST_BUCKETS];	/**< changes per batch */
	/* journal mode: commit_* and batch_hist are the journal's appends; apply_ns_total is
	 * the applier's B-tree time */
	_Atomic uint64_t apply_rounds;		/**< applier transactions committed */
	_Atomic uint64_t applied;		/**< changes written to the bindings by them */
	_Atomic uint64_t apply_wall_ns_total;	/**< wall time in store_journal_apply */
	_Atomic uint64_t apply_cpu_ns_total;	/**< applier thread CPU time */
	_Atomic uint64_t apply_failures;	/**< applier transactions that failed */
	_Atomic uint64_t journal_lag_max;	/**< most entries journaled and not applied */
	_Atomic uint64_t lag_stalls;		/**< committer rounds held back by max_lag */
	/* journal mode: store_prefill() (store.h), run by the applier before each of its
	 * rounds; copied from store_prefill_stats() after each */
	_Atomic uint64_t prefill_extensions;	/**< data files extended with zeros */
	_Atomic uint64_t prefill_bytes;		/**< zeros written */
	_Atomic uint64_t prefill_ns;		/**< wall time of the extensions */
	_Atomic uint64_t prefill_failures;	/**< extensions that failed */
	_Atomic int prefill_error;		/**< the last failure's store error, 0 none */
};

struct committer;

/** The dp_commit_ops of a committer (ctx = struct committer *). */
extern const struct dp_commit_ops committer_ops;

/**
 * Create the committer over an open store (not owned). Control thread.
 * @return NULL on allocation failure or bad options.
 */
struct committer *committer_new(struct store *s, const struct committer_opts *o);

/** Start the thread (and the applier in journal mode). @return 0 or negative errno. */
_mustcheck_
int committer_start(struct committer *c);

/**
 * Stop the thread after committing everything already posted (bounded: it gives up when the
 * store keeps failing for @p max_ms milliseconds); in journal mode, then the applier after
 * applying everything journaled (bounded the same way, and without preparing a spare
 * journal segment or extending the data files: nothing will use them), and trim the
 * journal. On a committer whose threads were never started it only marks the stop: the
 * committer_apply_round() calls that follow drain as the applier's would. Call after the
 * workers have stopped.
 * @return 0 when everything posted is durable, else the last store error.
 */
int committer_stop(struct committer *c, unsigned max_ms);

/** Free. NULL is a no-op. After committer_stop(). */
void committer_free(struct committer *c);

/** The committer's counters. */
const struct committer_stats *committer_stats(const struct committer *c);

/**
 * The failover tap: after a batch is durable (journal mode: once the applier has written it
 * to the bindings, where its unacked generation is assigned), the address of every change in
 * it flagged DP_CHANGE_FO is pushed to a single-producer/single-consumer ring that the control thread
 * drains (it then sends the address's current binding to the partner). Enable before
 * committer_start(). When the ring is full the address is not pushed and the lost counter
 * grows: the control thread must then resend every binding of its failover scopes (the
 * store's unacked set still has them, so nothing is forgotten across a restart either; in
 * journal mode the replay at the next start writes the marks of what was only journaled).
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

/**
 * Journal mode: run one applier round on the calling thread (tests, and the applier's loop):
 * keep the data files written ahead (store_prefill(), at most STORE_PREFILL_STEP per file;
 * a failure is counted in prefill_failures and is not this call's error; skipped once
 * committer_stop() has begun the applier's stop), then apply up to
 * apply_max journaled changes to the bindings, then push the failover tap.
 * @return changes applied, 0 when the bindings were up to date (or not journal mode), or a
 *         negative store error (nothing applied, the tap untouched).
 */
long committer_apply_round(struct committer *c);
