/*
 * ctl_cmds: the control socket's commands (doc/control-protocol.md), behind ctl.h's
 * transport.
 *
 * Handlers read the lease tables on the RCU read side and never write them: a lease change is
 * a lease operation (leaseop.h) executed by the owner worker, answered on its connection once
 * it is done and durable. Configuration changes go through cp_apply_config(). A command that
 * reads every binding answers once its walk of the table is done, which may take several
 * control-loop turns (cp_cmd_progress()).
 *
 * Threads: control thread only (ctl_server_poll() calls the dispatcher there).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "leaseop.h"

struct cp_apply;
struct cp_fo;
struct cp_mgmt;
struct cp_persist;
struct cp_stats;
struct ctl_conn;
struct dp_runtime;

/** What the commands work on: kept (not owned), must outlive the struct cp_cmds. */
struct cp_cmds_env {
	struct dp_runtime *rt;
	struct cp_persist *persist;
	struct cp_apply *apply;
	struct cp_stats *stats;
	struct cp_fo *fo;		/**< NULL: no failover relationship */
	struct cp_mgmt *mgmt;		/**< the management channel (mgmt_run.h) */
	const char *config_path;	/**< NULL when running the built-in configuration */
	const char *config_dir;		/**< where config-write may write (realpath) */
	uint64_t started;		/**< unix seconds */
	struct cp_leaseop_sink sink;	/**< where lease changes go (the owner workers) */
	/** Addresses a command that reads every binding (lease4-get-all, lease4-wipe,
	 *  statistics, scope-list, scope-del) looks up per control-loop turn; 0: 65536. */
	uint64_t walk_slice;
};

/** The command handlers' state (opaque). */
struct cp_cmds;

/** @return the commands over @p env, or NULL when out of memory. Free with cp_cmds_free(). */
struct cp_cmds *cp_cmds_new(const struct cp_cmds_env *env);

/** Drop the lease changes in flight (their connections close without an answer: call it
 *  after the workers stopped) and free @p c. NULL: no-op. */
void cp_cmds_free(struct cp_cmds *c);

/** Control-socket dispatch (ctl_dispatch_fn); @p arg is the struct cp_cmds. */
json_t *cp_cmd_dispatch(void *arg, struct ctl_conn *conn, json_t *req);

/**
 * Go on with the commands in progress: one slice of each table walk (a command that reads
 * every binding walks the table by address, walk_slice lookups per call, online only during
 * the slice, with quiescent states inside: issue 11 item 10), then answer the walks that are
 * done, cancel those whose client hung up, and answer the lease changes that are done and
 * durable. Call once per control-loop turn, offline.
 * @return true while some are in flight (the caller should come back soon).
 */
bool cp_cmd_progress(struct cp_cmds *c);

/** Table-walk slices run and quiescent states they reported since cp_cmds_new() (for tests
 *  and diagnostics). */
void cp_cmds_walk_counts(const struct cp_cmds *c, uint64_t *slices, uint64_t *qs);

/** Has a shutdown command been given? Then *exit_value is its exit value. */
bool cp_cmds_shutdown(const struct cp_cmds *c, int *exit_value);
