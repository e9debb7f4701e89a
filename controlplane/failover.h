/*
 * failover: the failover relationships of a running leasewired (draft-ietf-dhc-failover-12
 * on TCP/647, as ISC dhcpd 4.4 speaks it), on the control thread.
 *
 * Per relationship: one fo_link (the partner connection), one fo_state (the server state
 * machine), the relationship's addresses (the dynamic ranges of its scopes) with a few flag
 * bits each, and the binding updates in flight in both directions. See failover.c for how
 * updates flow; in one line: our durable changes come from the committer's tap and go out as
 * BNDUPD within the partner's window; the partner's BNDUPDs are decided with fo_lease, applied
 * by the owner worker (DP_OP_PEER) and acked once durable.
 *
 * Workers learn the relationship's service level, HBA and MCLT from a dp_fo_view published
 * over RCU (dataplane/fo_view.h); until the first is published a shared scope answers nobody.
 *
 * Threads: everything here runs on the control thread (the only caller). The state lives in
 * the struct cp_fo handle the daemon holds; nothing is global.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "leaseop.h"
#include "lw_attr.h"

struct cp_apply;
struct cp_apply_follower_ops;
struct dp_config;
struct committer;
struct dp_runtime;
struct store;

/** The failover relationships of a daemon (opaque; failover.c). */
struct cp_fo;

/** What the relationships run on: kept (not owned), must outlive the struct cp_fo. */
struct cp_fo_env {
	struct dp_runtime *rt;		/**< snapshot, binding table, failover views */
	struct store *store;		/**< state records and the unacked set */
	struct committer *committer;	/**< its tap: our durable changes of shared scopes */
	struct cp_apply *apply;		/**< requeue when the partner's pool becomes usable */
	struct cp_leaseop_sink sink;	/**< where binding changes go (the owner workers) */
};

/** Operator commands (control socket). */
enum cp_fo_cmd {
	CP_FO_CMD_PARTNER_DOWN = 1,	/**< the partner is down: take over (D12 §9.4) */
	CP_FO_CMD_SHUTDOWN,		/**< stop serving the shared scopes (D12 §9.14) */
	CP_FO_CMD_RECOVER,		/**< leave SHUTDOWN/PAUSED: RECOVER (then resync) */
	CP_FO_CMD_RESYNC,		/**< send every binding to the partner again */
};

/**
 * Create the relationships of the running configuration: links listen, states start from the
 * store's records, unacked addresses are queued again, the views are published. After the
 * bindings are loaded, before the workers run.
 * @param out  the relationships (free with cp_fo_stop(), also after a failure); made even
 *             when the configuration has none, so that they can be added live. Every
 *             function below takes NULL as "none".
 * @return 0, or -1 after logging why (the daemon does not start).
 */
_mustcheck_
int cp_fo_start(const struct cp_fo_env *env, struct cp_fo **out);

/** Persist the states, close every link (no DISCONNECT: a restart is not a failure), drop
 *  the worker ops in flight (the workers have stopped) and free @p f. NULL: no-op. */
void cp_fo_stop(struct cp_fo *f);

/** Descriptors to wait on besides the control socket; at most @p max. */
int cp_fo_fds(struct cp_fo *f, struct pollfd *out, int max);

/** How long the control loop may sleep, milliseconds (-1: no relationship). */
int cp_fo_timeout_ms(struct cp_fo *f);

/** Do everything due: link I/O, state timers, worker ops, updates out and in. Never blocks. */
void cp_fo_poll(struct cp_fo *f);

/**
 * The wall clock stepped by @p step seconds (cp_loop_run, from dp_runtime_clock_tick()): every
 * relationship's elapsed-time timers move with it (fo_state_clock_step()), so that a step of
 * the local clock changes no failover state. Control thread, before the next cp_fo_poll().
 * NULL or 0: no-op.
 */
void cp_fo_clock_step(struct cp_fo *f, int64_t step);

/** Status of one relationship (@p name) or all (NULL): a JSON list; NULL if no such name. */
json_t *cp_fo_status(struct cp_fo *f, const char *name);

/**
 * Run an operator command on relationship @p name.
 * @return 0, or -1 with a message in @p err (unknown name; not allowed in this state).
 */
int cp_fo_command(struct cp_fo *f, const char *name, enum cp_fo_cmd cmd, char *err,
		  size_t errlen);

/**
 * A new configuration @p nc is about to replace the running one (apply.c, before its
 * snapshot swap): stop every relationship that @p nc removes or changes (a changed one's
 * state is saved; it restarts from it in cp_fo_commit()), after its worker ops in flight
 * have ended, and withdraw the views of kept relationships whose index moves. Kept ones run
 * on untouched (their links stay up).
 * @return 0, or -1 with @p err (ops still in flight after 3 s): nothing was stopped.
 * @note RCU offline. cp_fo_commit() must follow, whether the swap happened or not.
 */
_mustcheck_
int cp_fo_prepare(struct cp_fo *f, const struct dp_config *nc, char *err, size_t errlen);

/**
 * Run the relationships of the running configuration (after the swap, or after a swap that
 * failed): kept ones take their new index and scope positions, the others start (fresh, or
 * from their saved state when cp_fo_prepare() stopped them for a change), and every view is
 * published again. A relationship that cannot start (its port taken) is logged; its scopes
 * answer no client.
 */
void cp_fo_commit(struct cp_fo *f);

/** cp_fo_prepare() and cp_fo_commit() as apply's follower (apply.h); its ctx is the struct
 *  cp_fo. */
extern const struct cp_apply_follower_ops cp_fo_follower;

/** Does the running daemon have relationships? */
bool cp_fo_active(const struct cp_fo *f);
