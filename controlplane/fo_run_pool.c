/*
 * fo_run_pool.c: pool balancing (D12 §5.4). The primary gives the secondary BACKUP addresses
 * up to its share (half of the available ones in load balance, reserve-percent in hot
 * standby) as local FREE -> BACKUP conversions; acknowledged EXPIRED/RELEASED/RESET addresses
 * go back to the primary's pool (FREE).
 *
 * Balance groups: each range of a scope policy (issue 14) is balanced on its own, and so are
 * the scope's addresses outside every policy range. A policy's clients take addresses from
 * its ranges only, so a secondary holding its share of the whole pool but none of a policy
 * range would answer none of that policy's clients (drop_policy_range_exhausted) while the
 * primary holds every free address there. Per group the share is the same (half in load
 * balance, reserve-percent in hot standby), rounded down for the rest of a scope as before
 * (without policies nothing changes) and up for a policy range, so that a range of two
 * addresses or more has one on each server; in hot standby never up to a whole range (a
 * range of one address stays the active server's: the standby leases nothing in NORMAL).
 * A secondary holding more than its share of a group keeps it (draft-12 has no way back but
 * expiry).
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

/* The balance group of address @p addr of the relationship's scope @p k (balance() made
 * pool_goff). */
static uint32_t group_of(struct cp_fo *f, const struct rel *r, uint32_t k, uint32_t addr)
{
	const struct dp_scope *s = &f->rt->snap->cfg->scopes[r->scopes[k].scope];
	int64_t g = s->n_pol_ranges != 0 ? dp_range_find(s->pol_ranges, s->n_pol_ranges, addr)
					 : -1;

	return r->pool_goff[k] + (uint32_t)(g + 1);
}

uint64_t fo_run_pool_sig(struct cp_fo *f, const struct rel *r)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (uint32_t k = 0; k < r->n_scopes; k++) {
		const struct dp_scope *s = &cfg->scopes[r->scopes[k].scope];
		uint32_t v[3] = {k, 0, s->n_pol_ranges};

		for (uint32_t j = 0; j <= s->n_pol_ranges; j++) {
			if (j > 0) {
				v[0] = s->pol_ranges[j - 1].first;
				v[1] = s->pol_ranges[j - 1].last;
			}
			for (size_t b = 0; b < sizeof(v); b++) {
				h = (h ^ ((const uint8_t *)v)[b]) * 1099511628211ull;
			}
		}
	}
	return h;
}

static void groups_free(struct rel *r)
{
	free(r->pool_gpending);
	free(r->pool_goff);
	r->pool_gpending = NULL;
	r->pool_goff = NULL;
	r->n_pool_groups = 0;
	r->pool_pending = 0;
}

/* The secondary's share of a group of @p total addresses. */
static uint64_t share(const struct rel *r, const struct dp_relationship *c, uint64_t total,
		      bool pol)
{
	uint64_t t;

	if (r->mode == FO_MODE_HOT_STANDBY) {
		t = (total * c->reserve_percent + (pol ? 99 : 0)) / 100;
		if (pol && t == total && total > 0 && c->reserve_percent < 100) {
			/* Rounded up to the whole range (one address): the active server, the
			 * only one that leases in NORMAL, keeps it. */
			t--;
		}
		if (c->standby) {
			/* We are the standby primary: the active secondary serves, we keep the
			 * reserve; it gets the rest. */
			t = total - t;
		}
		return t;
	}
	return (total + (pol ? 1 : 0)) / 2;	/* ISC: balance free against backup */
}

/* Primary: give the secondary BACKUP addresses up to its share of each balance group. */
void fo_run_pool_balance(struct cp_fo *f, struct rel *r)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	const struct dp_relationship *c = &cfg->relationships[r->index];
	uint64_t n_free = 0, n_backup = 0, *gfree = NULL, *gbackup = NULL, pending = 0;
	uint32_t n = 0;

	groups_free(r);
	r->pool_cursor = 0;
	r->pool_sig = fo_run_pool_sig(f, r);
	r->pool_goff = calloc(r->n_scopes + 1u, sizeof(*r->pool_goff));
	if (r->pool_goff == NULL) {
		goto nomem;
	}
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		r->pool_goff[k] = n;
		n += 1 + cfg->scopes[r->scopes[k].scope].n_pol_ranges;
	}
	r->pool_goff[r->n_scopes] = n;
	r->pool_gpending = calloc(n, sizeof(*r->pool_gpending));
	gfree = calloc(n, sizeof(*gfree));
	gbackup = calloc(n, sizeof(*gbackup));
	if (r->pool_gpending == NULL || gfree == NULL || gbackup == NULL) {
		goto nomem;
	}
	r->n_pool_groups = n;
	urcu_qsbr_thread_online();
	for (uint64_t i = 0; i < r->n_addr; i++) {
		const struct bt_binding *b;
		uint32_t addr, k;

		if ((i & 1023) == 0) {
			urcu_qsbr_quiescent_state();	/* no record is held across addresses */
		}
		if (!balance_addr(f, r, i, &addr)) {
			continue;
		}
		(void)fo_run_index_addr(f, r, i, &k);
		b = bt_lookup_addr(f->rt->table, addr);
		gfree[group_of(f, r, k, addr)] += b == NULL;
		gbackup[group_of(f, r, k, addr)] += b != NULL && b->state == BT_BACKUP;
	}
	/* FREE -> BACKUP conversions still on their way to the table are given already (a
	 * POOLREQ right after our own balance on entering NORMAL must not give them again). */
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		const struct fo_op *o = &f->ops[i];
		uint32_t k, g;

		if (!o->used || o->rel != r || o->kind != OPK_LOCAL || o->idx >= r->n_addr ||
		    o->want.state != BT_BACKUP || bt_lookup_addr(f->rt->table, o->addr) != NULL) {
			continue;
		}
		(void)fo_run_index_addr(f, r, o->idx, &k);
		g = group_of(f, r, k, o->addr);
		if (gfree[g] > 0) {
			gfree[g]--;
			gbackup[g]++;
		}
	}
	urcu_qsbr_thread_offline();
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		for (uint32_t g = r->pool_goff[k]; g < r->pool_goff[k + 1]; g++) {
			uint64_t t = share(r, c, gfree[g] + gbackup[g], g != r->pool_goff[k]);

			r->pool_gpending[g] = t > gbackup[g] ? (uint32_t)(t - gbackup[g]) : 0;
			pending += r->pool_gpending[g];
			n_free += gfree[g];
			n_backup += gbackup[g];
		}
	}
	free(gfree);
	free(gbackup);
	r->pool_pending = (uint32_t)pending;
	if (r->pool_pending == 0) {
		groups_free(r);
		return;
	}
	cp_log(CP_LOG_INFO, "failover %s: pool balance: %" PRIu64 " free, %" PRIu64 " backup, "
	       "giving the secondary %u", r->name, n_free, n_backup, r->pool_pending);
	return;
nomem:
	free(gfree);
	free(gbackup);
	groups_free(r);
	cp_log(CP_LOG_ERR, "failover %s: pool balance: out of memory (again at the next one)",
	       r->name);
}

/* Continue giving addresses (a few per poll, bounded by the op slots). */
void fo_run_pool_progress(struct cp_fo *f, struct rel *r)
{
	static const struct dp_lease_op backup = {.state = BT_BACKUP};

	if (r->pool_sig != fo_run_pool_sig(f, r)) {
		/* The policy ranges changed since the balance: its groups are not these any
		 * more. cp_fo_poll() makes a new balance. */
		groups_free(r);
		return;
	}
	for (uint64_t i = r->pool_cursor; i < r->n_addr && r->pool_pending > 0;
	     r->pool_cursor = ++i) {
		uint32_t addr, k, g;
		bool free_now;

		if ((r->af[i] & F_BUSY) || !balance_addr(f, r, i, &addr)) {
			continue;
		}
		(void)fo_run_index_addr(f, r, i, &k);
		g = group_of(f, r, k, addr);
		if (r->pool_gpending[g] == 0) {
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
		r->pool_gpending[g]--;
		r->pool_pending--;
		r->s.pool_given++;
	}
	groups_free(r);
}
