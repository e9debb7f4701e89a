/*
 * loop: the control thread's loop, from "leasewired ready" to the stop request.
 *
 * Each round sleeps until the control socket or a failover link has work, or the next tick
 * (100 ms; 1 ms while lease commands are in flight), then: serves the socket, runs failover,
 * answers the lease commands that are durable, and does what is due: committer health,
 * reclaim scan of ended bindings (server.reclaim-interval), requeue of lost free addresses,
 * the counters line and the pool-exhaustion warning (server.log-interval).
 *
 * Threads: the control thread (the EAL main lcore), RCU-registered and offline; it goes
 * online only around table scans.
 */
#pragma once

struct cp_apply;
struct cp_cmds;
struct cp_fo;
struct cp_mgmt;
struct cp_persist;
struct cp_stats;
struct ctl_server;
struct dp_runtime;

/** What the loop drives: kept, not owned. ctl, cmds and fo may be NULL. */
struct cp_loop_env {
	struct dp_runtime *rt;
	struct cp_persist *persist;
	struct ctl_server *ctl;
	struct cp_cmds *cmds;
	struct cp_fo *fo;
	struct cp_mgmt *mgmt;		/**< the management channel (NULL: none) */
	struct cp_stats *stats;
	struct cp_apply *apply;
	double run_seconds;		/**< stop by itself after this long; 0 = until told */
};

/**
 * Catch SIGINT and SIGTERM: the loop stops at its next round. The flag the handler sets is
 * the one global of the control plane (a volatile sig_atomic_t, as a handler requires).
 */
void cp_loop_catch_signals(void);

/** Run until a signal, a shutdown command or run_seconds; logs why it stopped. */
void cp_loop_run(const struct cp_loop_env *env);
