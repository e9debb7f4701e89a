/*
 * persist: where the daemon's binding changes go, and what it loads at start.
 *
 * With server.store set: the LMDB store and its committer (group commit; strict durability
 * through the store's journal and the applier thread, or relaxed); every binding in the store is loaded into the RCU tables before any port
 * starts, and bindings that ended while the daemon was down are reclaimed and written back.
 * Without it: the in-memory sink, loudly logged.
 *
 * Control thread only.
 */
#pragma once

#include <stdbool.h>

#include "commit.h"
#include "committer.h"
#include "store.h"
#include "worker.h"

/** Where cp_persist_load() calls its test hook (struct cp_persist, @c load_hook). */
enum cp_load_at {
	/** The loading thread, before the store walk starts (no lock held). */
	CP_LOAD_AT_WALK,
	/** The load helper, after it made a chunk a writer's and before it hands the chunk
	 *  to the walk (no lock held). */
	CP_LOAD_AT_LINKED,
	/** The loading thread found a writer's stock empty and no room for another chunk
	 *  while the helper still has records on their way to a stock: it waits for them (the
	 *  load's lock held: the hook must not block). */
	CP_LOAD_AT_WAIT,
};

struct cp_persist {
	struct store *store;
	struct committer *committer;
	struct dp_commit_mem mem;	/**< the sink when there is no store */
	struct dp_commit sink;		/**< what the workers post to */
	uint64_t file_fingerprint;	/**< of the configuration file (or built-in text) */
	uint64_t failures_seen;		/**< committer failures already logged */
	uint64_t reopens_seen;		/**< store reopens already logged */
	uint64_t prefills_seen;		/**< prefill extensions already logged */
	uint64_t prefill_failures_seen;	/**< prefill failures already logged */
	uint64_t prefill_failure_logged_ms;	/**< CLOCK_MONOTONIC ms of the last
					 *   event=store-prefill-failed; 0 none */
	bool outage;			/**< event=store-unavailable logged, not yet recovered */
	uint64_t outage_failures;	/**< failures at the start of the outage */
	uint64_t outage_start_ms;	/**< CLOCK_MONOTONIC, ms */
	uint64_t outage_logged_ms;	/**< last reminder of the outage */
	uint64_t slow_ms;		/**< a commit running this long is logged
					 *   (event=store-commit-slow); 0 = CP_PERSIST_SLOW_MS */
	uint64_t slow_logged;		/**< busy_since_ns of the slow commit logged, 0 none */
	uint32_t n_workers;		/**< workers posting to the committer */
	/** Per worker, the oldest change seen posted and not yet durable: the newest sequence
	 *  posted when it was first seen (0: none pending), when (CLOCK_MONOTONIC ns), the
	 *  committer's round count then, and whether event=store-durable-slow was logged. */
	struct cp_persist_wait {
		uint64_t seq;
		uint64_t since_ns;
		uint64_t rounds;	/**< the committer's rounds then */
		bool logged;
	} wait[DP_MAX_WORKERS];
	/** Tests only (NULL in the daemon): called by cp_persist_load() at each point of
	 *  enum cp_load_at, on the thread it names. */
	void (*load_hook)(void *arg, enum cp_load_at at);
	void *load_hook_arg;
};

/** Default of cp_persist.slow_ms: a store call on the ACK path running this long is logged
 *  with the step it is in, so that a stalled disk and a stuck lock can be told apart. */
#define CP_PERSIST_SLOW_MS 2000

/** Strict mode: bytes of zeros the journal's data file is kept written ahead of its use, and
 *  the least the bindings' file is (store_opts.prefill_ahead; doc/durable-path.md). */
#define CP_PERSIST_PREFILL_AHEAD (16ull << 20)

/**
 * Open the store named by @p cfg (if any) and set up the sink. Before dp_workers_init().
 * @return 0, or -1 after logging why.
 */
int cp_persist_open(struct cp_persist *p, const struct dp_config *cfg);

/**
 * Choose the configuration to run. Changes made through the control socket are saved in the
 * store with the fingerprint of the file they were made on top of: when the file (or the
 * built-in text, for --default) still has that fingerprint, the saved configuration wins;
 * otherwise the file wins and a warning says the socket's changes were superseded. The
 * choice is saved back. After cp_persist_open().
 * @param cfg   in: parsed from @p path (NULL path: the built-in configuration); out: the one
 *              to run (the other is freed).
 * @return 0, or -1 after logging why.
 */
int cp_persist_pick_config(struct cp_persist *p, struct dp_config **cfg, const char *path);

/**
 * Load every stored binding into @p rt's tables (owner: the client's worker), reclaim what
 * ended while we were down (written back at once), and rebuild the free lists. After
 * dp_workers_init(), before the workers and the committer start. RCU: the calling thread
 * must be registered; it goes online inside. A clock grace the store kept (a forward step of
 * the wall clock before this start, cp_persist_clock_grace) that lasts beyond @p now is put
 * back into @p rt, and ends are judged by dp_runtime_reclaim_now(): the restart takes no
 * live lease for an ended one.
 * @return 0, or -1 after logging why (a store that does not decode stops the start).
 */
int cp_persist_load(struct cp_persist *p, struct dp_runtime *rt, uint64_t now);

/**
 * Keep @p rt's clock grace in the store (store_clock_grace_put), after a forward step of the
 * wall clock (dp_runtime_clock_tick). No-op without a store; a failure is logged (a restart
 * before the grace ends would then judge by the wall clock alone). Control thread.
 */
void cp_persist_clock_grace(struct cp_persist *p, const struct dp_runtime *rt);

/**
 * Save @p cfg as the running configuration, with the current file fingerprint. No-op
 * without a store. @return 0, or -1 (logged) when it could not be saved.
 */
int cp_persist_save_config(struct cp_persist *p, const struct dp_config *cfg);

/** Fingerprint the configuration file at @p path (NULL: the built-in text) as it is now;
 *  later saves are tied to it. */
void cp_persist_fingerprint(struct cp_persist *p, const char *path);

/** Start the committer thread (no-op without a store). @return 0 or -1 (logged). */
int cp_persist_start(struct cp_persist *p);

/** Commit what is still queued, stop the committer, log its figures, close the store. */
void cp_persist_close(struct cp_persist *p);

/**
 * Turn the committer's state into events (control loop, every iteration; the watchdogs'
 * times are as precise as the iterations are frequent):
 * "event=store-unavailable reason=full|io error=... message=..." (error level) when commits
 * start failing, a reminder every 60 s while they do, "event=store-recovered" with the
 * outage's length and failed commits when one succeeds again, "event=store-reopened" when
 * the store had to reopen its environment (LMDB gave it up after a failed meta write).
 * Two watchdogs, each logged once per stall with the committer thread's scheduler state
 * and wait channel (/proc): "event=store-commit-slow" when one store call on the ACK path
 * runs slow_ms, with its step; "event=store-durable-slow" when a change a worker posted
 * slow_ms ago is still not durable, whatever the committer is doing (a store call, asleep
 * between rounds, starved of CPU, not running at all): what a parked reply waits for.
 * Each has a "-ended" event when the stall is over.
 */
void cp_persist_check(struct cp_persist *p);

/**
 * Apply the live part of a new configuration to the store: server.store-max-size (raising it
 * ends a "store full" outage: the held batch grows the map). No-op without a store. Control
 * thread.
 */
void cp_persist_reconfigure(struct cp_persist *p, const struct dp_config *cfg);
