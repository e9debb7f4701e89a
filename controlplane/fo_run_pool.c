/*
 * fo_run_pool.c: pool balancing (D12 §5.4). The primary gives the secondary BACKUP addresses
 * up to its share (half of the available ones in load balance, reserve-percent in hot
 * standby) as local FREE -> BACKUP conversions; acknowledged EXPIRED/RELEASED/RESET addresses
 * go back to the primary's pool (FREE).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fo_run.h"
#include "log.h"

/*
 * Return acknowledged EXPIRED/RELEASED/RESET addresses to the primary's pool (FREE), each
 * once it is neither busy nor about to be sent again, and only if it is still in an ended
 * state (its client may have come back: then it is not freed). An offer over it waits.
 */
void fo_run_tofree_progress(struct cp_fo *f, struct rel *r)
{
	static const struct dp_lease_op want = {.state = BT_FREE};

	for (uint64_t left = r->tf_count; left > 0 && f->n_ops < OPS_MAX; left--) {
		uint64_t idx = r->tofree[r->tf_head];
		const struct bt_binding *b;
		uint32_t k, addr = fo_run_index_addr(f, r, idx, &k);
		uint8_t st;

		r->tf_head = (r->tf_head + 1) % r->n_addr;
		r->tf_count--;
		urcu_qsbr_thread_online();
		b = bt_lookup_addr(f->rt->table, addr);
		st = b == NULL ? BT_FREE : b->state;
		urcu_qsbr_thread_offline();
		if (st == BT_OFFERED || (r->af[idx] & (F_DIRTY | F_BUSY | F_INFLIGHT))) {
			/* Not now: again later (at the end of the queue). */
			r->tofree[(r->tf_head + r->tf_count) % r->n_addr] = idx;
			r->tf_count++;
			continue;
		}
		r->af[idx] &= (uint8_t)~F_TOFREE;
		if ((st == BT_EXPIRED || st == BT_RELEASED || st == BT_RESET) &&
		    fo_run_op_start(f, r, idx, addr, OPK_LOCAL, &want, NULL) == 0) {
			r->s.to_free++;
		}
	}
}

/* --- pools -------------------------------------------------------------------------- */

/* Index @p i as an address (*addr) that pool balancing counts and may give: in a dynamic
 * range, not excluded, not reserved. */
static bool balance_addr(struct cp_fo *f, const struct rel *r, uint64_t i, uint32_t *addr)
{
	uint32_t k;
	const struct dp_scope *s;

	*addr = fo_run_index_addr(f, r, i, &k);
	s = &f->rt->snap->cfg->scopes[r->scopes[k].scope];
	return dp_scope_in_pool(s, *addr) && dp_scope_find_reservation_addr(s, *addr) == NULL;
}

/* Primary: give the secondary BACKUP addresses up to its share. */
void fo_run_pool_balance(struct cp_fo *f, struct rel *r)
{
	const struct dp_relationship *c = &f->rt->snap->cfg->relationships[r->index];
	uint64_t n_free = 0, n_backup = 0, target;

	urcu_qsbr_thread_online();
	for (uint64_t i = 0; i < r->n_addr; i++) {
		const struct bt_binding *b;
		uint32_t addr;

		if ((i & 1023) == 0) {
			urcu_qsbr_quiescent_state();	/* no record is held across addresses */
		}
		if (!balance_addr(f, r, i, &addr)) {
			continue;
		}
		b = bt_lookup_addr(f->rt->table, addr);
		n_free += b == NULL;
		n_backup += b != NULL && b->state == BT_BACKUP;
	}
	/* FREE -> BACKUP conversions still on their way to the table are given already (a
	 * POOLREQ right after our own balance on entering NORMAL must not give them again). */
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		const struct fo_op *o = &f->ops[i];

		if (o->used && o->rel == r && o->kind == OPK_LOCAL && o->want.state == BT_BACKUP &&
		    bt_lookup_addr(f->rt->table, o->addr) == NULL && n_free > 0) {
			n_free--;
			n_backup++;
		}
	}
	urcu_qsbr_thread_offline();
	if (r->mode == FO_MODE_HOT_STANDBY) {
		target = (n_free + n_backup) * c->reserve_percent / 100;
		if (c->standby) {
			/* We are the standby primary: the active secondary serves, we keep the
			 * reserve; it gets the rest. */
			target = n_free + n_backup - target;
		}
	} else {
		target = (n_free + n_backup) / 2;	/* ISC: balance free against backup */
	}
	r->pool_pending = target > n_backup ? (uint32_t)(target - n_backup) : 0;
	r->pool_cursor = 0;
	if (r->pool_pending == 0) {
		return;
	}
	cp_log(CP_LOG_INFO, "failover %s: pool balance: %" PRIu64 " free, %" PRIu64 " backup, "
	       "giving the secondary %u", r->name, n_free, n_backup, r->pool_pending);
}

/* Continue giving addresses (a few per poll, bounded by the op slots). */
void fo_run_pool_progress(struct cp_fo *f, struct rel *r)
{
	static const struct dp_lease_op backup = {.state = BT_BACKUP};

	for (uint64_t i = r->pool_cursor; i < r->n_addr && r->pool_pending > 0;
	     r->pool_cursor = ++i) {
		uint32_t addr;
		bool free_now;

		if ((r->af[i] & F_BUSY) || !balance_addr(f, r, i, &addr)) {
			continue;
		}
		urcu_qsbr_thread_online();
		free_now = bt_lookup_addr(f->rt->table, addr) == NULL;
		urcu_qsbr_thread_offline();
		if (!free_now) {
			continue;
		}
		if (fo_run_op_start(f, r, i, addr, OPK_LOCAL, &backup, NULL) < 0) {
			return;	/* no op slot: go on at the next poll */
		}
		r->pool_pending--;
		r->s.pool_given++;
	}
	r->pool_pending = 0;
}
