/*
 * apply: the running configuration of leasewired, and the free lists that follow from it.
 *
 * cp_apply_config() makes a new configuration the running one with no restart and no lost
 * lease (apply.c explains how); the requeue scans give the workers back free addresses that
 * their free lists lost (a full command ring, or the partner's pool becoming usable).
 *
 * Threads: control thread only. The RCU read side is entered inside (the caller is
 * registered and offline).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_config.h"
#include "lw_attr.h"

struct dp_runtime;
struct cp_persist;
struct cp_requeue;
struct cp_rebuild;

/**
 * What runs on the relationships of the configuration and follows their changes live (the
 * failover runtime: failover.h cp_fo_prepare() / cp_fo_commit()). Both run on the control
 * thread, RCU offline.
 */
struct cp_apply_follower_ops {
	/** Before the swap to @p nc: let go of what @p nc removes or changes. @return 0, or -1
	 *  with @p err: the change is refused, nothing was stopped. */
	int (*prepare)(void *ctx, const struct dp_config *nc, char *err, size_t errlen);
	/** After prepare() succeeded, once the swap is done or has failed: run what the
	 *  running configuration holds. */
	void (*commit)(void *ctx);
};

/** The configuration's owner. Fill rt and persist (both kept, not owned); zero the rest. */
struct cp_apply {
	struct dp_runtime *rt;
	struct cp_persist *persist;	/**< where an applied configuration is saved */
	/** NULL: adding, removing or changing a relationship needs a restart. Else called
	 *  around every swap whose relationships differ (kept, not owned). */
	const struct cp_apply_follower_ops *follower;
	void *follower_ctx;
	uint64_t applied;		/**< unix seconds of the last configuration applied */
	uint64_t reloads;		/**< configurations applied since start */
	uint64_t requeue_lost_seen;	/**< rt->requeue_lost at the last requeue scan */
	struct cp_requeue *rq;		/**< the requeue scan (apply.c); NULL until the first */
	uint64_t requeue_slice;		/**< addresses per requeue slice; 0: 65536 */
	struct cp_rebuild *rb;		/**< the pool rebuild of a change being applied, or NULL */
	uint64_t rebuild_slice;		/**< addresses per rebuild slice; 0: 65536 */
	uint64_t rb_slices, rb_qs;	/**< rebuild slices run, quiescent states reported */
};

/**
 * Whether the packet pool (server.mbufs) of @p cfg covers what its workers may hold at once
 * when a scope has conflict detection or an offer-delay on: the probe table and the delay
 * queue hold mbufs on top of the parks (at their cap), the descriptor rings and the caches
 * (dp_mbuf_need(); the steering rings, a worst case of several workers, only draw the start-up
 * warning). leasewired refuses to start with such a configuration, and cp_apply_config()
 * refuses to turn the features on live (server.mbufs needs a restart). Pure; any thread.
 * @return 0, or -1 with the reason in @p err ("server.mbufs: ...").
 */
_mustcheck_
int cp_apply_check_mbufs(const struct dp_config *cfg, char *err, size_t errlen);

/** Return value of cp_apply_config(): applied, but it could not be saved in the store (the
 *  message says why); it will not survive a restart. */
#define CP_APPLIED_NOT_SAVED 1

/** Return value of cp_apply_config_start(): the pools are being built over the control loop's
 *  next turns; the done callback tells the outcome. */
#define CP_APPLY_PENDING 2

/**
 * How a change started by cp_apply_config_start() ended: @p rc as cp_apply_config() returns
 * it, @p err the message (borrowed for the call). Control thread, RCU offline; it may start
 * another change.
 */
typedef void (*cp_apply_done_fn)(void *ctx, int rc, const char *err);

/**
 * Validate @p cfg against the running daemon and make it the running configuration (RCU
 * swap, then a grace period; ownership of @p cfg passes). Changes that need a restart are
 * refused. A change of relationships goes through the follower (stopped before the swap,
 * started after it) and is logged as audit events (fo_audit.h).
 *
 * The new pools are built from the lease tables by looking up every allocatable address, in
 * slices of rebuild_slice lookups (issue 11 item 10: apply.c says how packets meanwhile are
 * handled). The first slice runs in this call: a configuration whose pools fit in it is
 * applied (or refused) before the return. A bigger one goes on over the control loop's next
 * turns (cp_apply_progress()), the running configuration in force meanwhile, and @p done is
 * called once, from cp_apply_progress() (or cp_apply_settle(), cp_apply_deinit()), when it
 * is published or refused. One change at a time: while one is being built (cp_apply_busy())
 * another is refused; derive the next configuration only after it ended.
 * @param source  for the event log ("config-set", "config-reload", "scope-add", ...)
 * @return 0, CP_APPLIED_NOT_SAVED (message in @p err), -1 with a message in @p err (the
 *         running configuration is untouched and @p cfg is freed), or CP_APPLY_PENDING
 *         (@p done will tell; @p err is not used).
 */
_mustcheck_
int cp_apply_config_start(struct cp_apply *a, struct dp_config *cfg, const char *source,
			  cp_apply_done_fn done, void *ctx, char *err, size_t errlen);

/**
 * cp_apply_config_start() carried to its end in this call, whatever the size of the pools
 * (the whole rebuild in one control-loop turn: for callers that must answer at once, a
 * failover partner's request). Refused (-1) while another change is being built: call
 * cp_apply_settle() before deriving @p cfg from the running configuration.
 * @return 0, CP_APPLIED_NOT_SAVED (message in @p err), or -1 with a message in @p err.
 */
_mustcheck_
int cp_apply_config(struct cp_apply *a, struct dp_config *cfg, const char *source, char *err,
		    size_t errlen);

/** Is a change's pool rebuild under way (cp_apply_config_start() returned
 *  CP_APPLY_PENDING and its done callback has not run)? */
bool cp_apply_busy(const struct cp_apply *a);

/** Carry a change being built to its end now (its done callback runs), so that the running
 *  configuration is final. Control thread, offline. No-op when none is. */
void cp_apply_settle(struct cp_apply *a);

/** Give up a change being built (its done callback runs with -1; the running configuration
 *  stays). The daemon's stop. No-op when none is. */
void cp_apply_abort(struct cp_apply *a);

/** Rebuild slices run and quiescent states they reported since start (tests). */
void cp_apply_rebuild_counts(const struct cp_apply *a, uint64_t *slices, uint64_t *qs);

/**
 * When workers reported freed addresses they could not hand to their owner (a full command
 * ring), start a requeue scan: queue every free address no free list holds. Called on the
 * reclaim tick; cheap when nothing was lost.
 */
void cp_requeue_lost(struct cp_apply *a);

/**
 * Start a requeue scan: queue every free address (no binding, ended, or BACKUP) that no free
 * list holds (failover: the partner's pool became usable in PARTNER-DOWN). @p why (a static
 * string) is logged when the scan ends. A scan asked for while one runs runs again after it.
 */
void cp_requeue_all(struct cp_apply *a, const char *why);

/**
 * Go on with the pool rebuild of a change being applied (cp_apply_config_start()): one slice
 * of rebuild_slice lookups per call, online only during it, then nothing else in that call.
 * Otherwise go on with the requeue scan, if one runs (started by cp_requeue_lost(),
 * cp_requeue_all() or cp_apply_config()): one slice per call, at most requeue_slice
 * addresses looked up or queued, online only during the slice and with a quiescent state
 * every 1024 lookups (issue 11 item 10: a /8 pool holds neither the workers' record recycling
 * nor the control loop). It never sleeps: it waits for the workers' changes to be durable by
 * coming back. Control thread, offline; call once per control-loop turn.
 * @return true while the rebuild or the scan runs (the caller should come back soon).
 */
bool cp_apply_progress(struct cp_apply *a);

/** Slices (of lookups: collecting or sending) the requeue scans ran and quiescent states they
 *  reported (tests, diagnostics). */
void cp_apply_requeue_counts(const struct cp_apply *a, uint64_t *slices, uint64_t *qs);

/** Free the requeue scan's state, and give up a change being built (its done callback runs
 *  with -1). After the control loop; NULL rq is fine. */
void cp_apply_deinit(struct cp_apply *a);
