/*
 * daemon_impl.h: the control thread's state, shared by daemon.c, apply.c and ctl_cmds.c.
 * Never included outside controlplane/. Control thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "leaseop.h"
#include "daemon.h"
#include "persist.h"
#include "worker.h"

struct cp_daemon {
	struct dp_runtime rt;
	struct cp_persist persist;
	struct ctl_server *ctl;
	const char *config_path;	/**< NULL when running the built-in configuration */
	char config_dir[4096];		/**< where config-write may write (realpath) */
	uint64_t started, applied;	/**< unix seconds: start, last configuration applied */
	uint64_t reloads;
	struct dp_counters baseline;	/**< statistic-reset subtracts this */
	struct cp_leaseop_engine lops;	/**< lease commands in flight (ctl_cmds.c) */
	bool shutdown;
	int exit_value;
	uint64_t requeue_lost_seen;	/**< rt.requeue_lost at the last requeue scan */
};

/**
 * When workers reported freed addresses they could not hand to their owner (a full command
 * ring), scan the pools and queue every free address no free list holds. Control thread,
 * called on the reclaim tick; cheap when nothing was lost.
 */
void cp_requeue_lost(struct cp_daemon *d);

/**
 * Queue every free address (no binding, ended, or BACKUP) that no free list holds, now
 * (failover: the partner's pool became usable in PARTNER-DOWN). @p why is logged.
 */
void cp_requeue_all(struct cp_daemon *d, const char *why);

/** Sum of the workers' counters (minus the statistic-reset baseline when @p reset). */
void cp_counters(const struct cp_daemon *d, struct dp_counters *sum, bool since_reset);

/** Log a counters line ("counters"/"final"). */
void cp_log_counters(const char *what, const struct dp_counters *c);

/**
 * Validate @p cfg against the running daemon and make it the running configuration (RCU
 * swap; ownership of @p cfg passes). Changes that need a restart are refused.
 * @param source  for the event log ("config-set", "config-reload", "scope-add", ...)
 * @return 0, or -1 with a message in @p err (the running configuration is untouched and
 *         @p cfg is freed).
 */
int cp_apply_config(struct cp_daemon *d, struct dp_config *cfg, const char *source, char *err,
		    size_t errlen);

/** Return value of cp_apply_config(): applied, but it could not be saved in the store (the
 *  message says why); it will not survive a restart. */
#define CP_APPLIED_NOT_SAVED 1

/** Control-socket dispatch (ctl_dispatch_fn). */
json_t *cp_cmd_dispatch(void *arg, struct ctl_conn *conn, json_t *req);

/** Answer the pending lease operations that are done and durable. */
void cp_cmd_progress(struct cp_daemon *d);

/** Drop pending operations at stop (their connections are closed without an answer). */
void cp_cmd_abort_all(struct cp_daemon *d);
