/*
 * walk: the control thread's resumable walk over the binding table, in address order.
 *
 * The tables are hashes (bindings.h): a cds_lfht iteration cannot be resumed after a
 * quiescent state (the node it stands on may be freed), so a whole-table walk held the RCU
 * read side for the whole table, which stalls the workers' record recycling (call_rcu waits
 * for the control thread) on /8-sized pools. This walk goes by address instead: it looks up
 * each address of the configured scopes' subnets (which do not overlap), in increasing order,
 * from a cursor. Between lookups no record pointer is held, so it reports a quiescent state
 * every CP_WALK_QS lookups, and it stops after a budget of lookups, to go on from its cursor
 * at the next control-loop tick.
 *
 * Cost: O(addresses of the subnets walked), whatever the number of bindings; a page of
 * bindings from an address costs O(page + the free addresses between them). Bindings of
 * addresses in no configured scope (left over from a removed subnet) are not seen.
 *
 * Threads: control thread, registered with QSBR and ONLINE for cp_walk_step(); the callback
 * runs inside the read side and must not keep the record past its return (copy it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bindings.h"
#include "dp_config.h"

#define CP_WALK_QS	1024			/**< lookups between two quiescent states */
#define CP_WALK_END	((uint64_t)1 << 32)	/**< cursor past the last address */

struct cp_walk {
	uint64_t next;			/**< next address to look up; CP_WALK_END: done */
	/** The scopes walked, NULL-terminated; NULL: all. */
	const struct dp_scope *const *only;
	uint64_t qs;			/**< quiescent states reported so far */
	uint64_t lookups;		/**< addresses looked up so far */
};

/** Start a walk at address @p from (inclusive) over the scopes @p only (NULL: all). */
void cp_walk_init(struct cp_walk *w, uint64_t from, const struct dp_scope *const *only);

/** @return true when the walk has passed the last address. */
static inline bool cp_walk_done(const struct cp_walk *w)
{
	return w->next >= CP_WALK_END;
}

/**
 * Go on with the walk for at most @p budget lookups: call @p cb for each binding met, in
 * address order. When @p cb returns false the walk stops there, and the next step starts at
 * that binding's address again. Reports a quiescent state (urcu_qsbr_quiescent_state) every
 * CP_WALK_QS lookups. @p cfg is the snapshot in force (scopes may change between steps: the
 * cursor is an address). Control thread, online.
 * @return true when the walk is done (cp_walk_done()).
 */
bool cp_walk_step(struct cp_walk *w, const struct dp_config *cfg, struct bt_table *t,
		  uint64_t budget, bool (*cb)(const struct bt_binding *b, void *arg), void *arg);
