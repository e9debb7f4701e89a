/*
 * fo_run_ops.c: failover's worker ops on the lease-op engine (leaseop.h). An op makes one
 * address's binding what failover decided (o->want), routed to the worker that writes it and
 * applied only to the record decided against (-ESTALE otherwise: an inbound update is decided
 * again). The BNDACK of an inbound update leaves when the change is durable.
 *
 * A move between writers. When the binding must change writer (the partner's client is
 * another worker's than the record's writer, or a BACKUP record goes back to its slice
 * owner), the new writer takes the record over in one step (DP_OP_PEER with `take`): once
 * everything the old writer posted for the address is durable (-EBUSY before that), it
 * replaces the record in one compare-and-swap and posts one change, which the store applies
 * over the old record (the store is keyed by address). So the store goes from the old
 * binding straight to the new one, through the new writer's ring only after the old
 * writer's changes are durable (the commit order of issue 11 item 2), and the partner hears
 * one change. A crash at any point restarts with either binding, never with the address
 * free: a FREE on the old writer first, then the binding on the new one, left the store
 * without a record of the address between the two, and a crash there made it a free address
 * of the primary's pool while the partner's client held it (the partner resends only once
 * the link is up again, and we could lease the address before that). While the move is in
 * flight the address is held (dp_pool.fo_hold, looked up in the running snapshot each time)
 * so that no worker changes the record under it.
 *
 * A move the new writer has no room for (-ENOBUFS: its commit ring full, no record, no spill
 * record) or that must wait for the old writer's changes (-EBUSY) changed nothing; it is
 * handed over again, never dropped: a rejected update is forgotten by the partner (D12
 * §7.2), whose client would keep an address our store gives to our pool's side. The retry
 * backs off (1 ms, doubling up to one control-loop tick); each -ENOBUFS is counted
 * (rel_stats.move_no_room, `moves-no-room` in the failover counters) and logged as
 * event=failover-move-no-room the first time and then at most every MOVE_LOG_MS.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "fo_run.h"
#include "log.h"

/* A move handed back waits this long before it is handed over again, doubling up to
 * MOVE_RETRY_MAX_MS (the control loop's tick). */
#define MOVE_RETRY_MIN_MS 1
#define MOVE_RETRY_MAX_MS 100
/* event=failover-move-no-room: the first, then at most one per relationship this often. */
#define MOVE_LOG_MS 10000

/* --- worker ops --------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct fo_op *op_new(struct cp_fo *f)
{
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		if (!f->ops[i].used) {
			memset(&f->ops[i], 0, sizeof(f->ops[i]));
			f->ops[i].used = true;
			f->n_ops++;
			return &f->ops[i];
		}
	}
	return NULL;
}

static void op_end(struct cp_fo *f, struct fo_op *o)
{
	if (o->held) {
		_Atomic uint8_t *hold = fo_run_hold_slot(f, o->addr);

		if (hold != NULL) {
			atomic_store_explicit(hold, 0, memory_order_release);
		}
		o->held = false;
	}
	o->rel->af[o->idx] &= (uint8_t)~F_BUSY;
	o->used = false;
	f->n_ops--;
}

/*
 * Choose the worker for o->want and set the step (o->lo.op, o->lo.worker): the writer of the
 * current record, or, when the binding must move to another writer, that writer, taking the
 * record over (take; the address held meanwhile). RCU online.
 * @return 0, or 1 when nothing has to change (the binding already is what we want).
 */
static int op_route(struct cp_fo *f, struct fo_op *o)
{
	const struct bt_binding *cur = bt_lookup_addr(f->rt->table, o->addr);
	const struct dp_lease_op *w = &o->want;
	uint32_t target;
	int own;

	if (w->state == BT_FREE) {
		if (cur == NULL) {
			return 1;
		}
		target = cur->owner;
	} else if (w->state == BT_BACKUP) {
		own = dp_pool_owner(f->rt->snap->pools, dp_config_scope_of(f->rt->snap->cfg,
							  o->addr)->index, o->addr);
		target = own < 0 ? 0 : (uint32_t)own;
		if (cur != NULL && cur->state == BT_BACKUP && cur->owner == target) {
			return 1;
		}
	} else {
		target = bt_key_owner(f->rt->table, &w->key, f->rt->n_workers);
	}
	o->lo.op = *w;
	o->lo.op.take = cur != NULL && cur->owner != target;
	if (o->lo.op.take && cur->seq == 0 && f->committer != NULL) {
		/* A record never posted (an offer, or what an untaken one restored): its
		 * writer's changes to the address all came before it, so before what the writer
		 * has posted by now (engine.h settle_seq). Without a committer all is durable. */
		o->lo.op.settle_seq = committer_ops.posted(f->committer, cur->owner);
	}
	if (o->lo.op.take && !o->held) {
		/* Another worker wrote the address: the new writer takes the record over once
		 * that one's changes are durable. Until then no worker may change it. */
		_Atomic uint8_t *hold = fo_run_hold_slot(f, o->addr);

		if (hold != NULL) {
			atomic_store_explicit(hold, 1, memory_order_release);
			o->held = true;
		}
	}
	/* The worker applies the op only to the record decided against (-ESTALE else). */
	o->lo.op.expect = true;
	o->lo.op.expect_none = cur == NULL;
	if (cur != NULL) {
		o->lo.op.expect_state = cur->state;
		o->lo.op.expect_owner = cur->owner;
		o->lo.op.expect_seq = cur->seq;
		o->lo.op.expect_start = cur->start;
	}
	o->lo.worker = target;
	return 0;
}

static const struct cp_leaseop_cb op_cb;

/* Start an op making the binding of @p idx o->want. @return 0 started, 1 nothing to do,
 * -1 no op slot. */
int fo_run_op_start(struct cp_fo *f, struct rel *r, uint64_t idx, uint32_t addr,
		    enum op_kind kind, const struct dp_lease_op *want, const struct fo_upd *u)
{
	uint32_t xid = u != NULL ? u->xid : 0, pet = u != NULL ? (uint32_t)u->pet : 0;
	struct fo_op *o = op_new(f);
	int rc;

	if (o == NULL) {
		return -1;
	}
	o->lo.cb = &op_cb;
	o->lo.flags = CP_LEASEOP_RETRY;	/* a full ring delays an update, never drops it */
	o->f = f;
	o->kind = kind;
	o->rel = r;
	o->idx = idx;
	o->addr = addr;
	o->xid = xid;
	o->pet = pet;
	if (u != NULL) {
		o->upd = *u;
	}
	o->want = *want;
	o->want.kind = DP_OP_PEER;
	o->want.addr = addr;
	o->want.pet = pet;	/* durable with the binding before op_finish() acks it */
	urcu_qsbr_thread_online();
	rc = op_route(f, o);
	urcu_qsbr_thread_offline();
	if (rc == 1) {
		o->used = false;
		f->n_ops--;
		return 1;
	}
	r->af[idx] |= F_BUSY;
	if (cp_leaseop_start(&f->lops, &o->lo) != 0) {
		op_end(f, o);	/* not with CP_LEASEOP_RETRY */
		return -1;
	}
	return 0;
}

/* The op's change is durable: the partner-known PET of its address. A FREE or a BACKUP
 * leaves it to no client: 0, whatever the partner sent (review17: the next client's renewal
 * took the ended lease's PET, far ahead, as the partner's word on its own lease). */
static void op_pet(struct cp_fo *f, const struct fo_op *o)
{
	if (o->want.state == BT_FREE || o->want.state == BT_BACKUP) {
		fo_run_peer_pet_clear(f, o->rel, o->idx);
	} else {
		fo_run_peer_pet_raise(f, o->rel, o->idx, o->pet);
	}
}

static void op_finish(struct cp_fo *f, struct fo_op *o, int result)
{
	struct rel *r = o->rel;

	if (result == 0) {
		op_pet(f, o);
	}
	if (o->kind == OPK_INBOUND && o->no_ack) {
		/* The link that brought it is gone: no BNDACK. */
	} else if (o->kind == OPK_INBOUND) {
		if (result == 0) {
			fo_run_send_bndack(r, o->xid, o->addr, 0, NULL);
		} else {
			cp_log(CP_LOG_WARN, "failover %s: update of %s from the partner not applied: "
			       "%s", r->name, lw_ip4_fmt(o->addr).s, strerror(-result));
			fo_run_send_bndack(r, o->xid, o->addr, FO_RR_MISC_REJECT,
				    "binding could not be stored");
		}
	} else if (result != 0) {
		cp_log(CP_LOG_WARN, "failover %s: %s of %s not done: %s", r->name,
		       bt_state_str(o->want.state), lw_ip4_fmt(o->addr).s, strerror(-result));
	}
	if (result != 0) {
		r->s.op_failures++;
	}
	op_end(f, o);
}

/* Route @p o again from the table as it is now: its next step (or finish: nothing to do). */
static enum cp_leaseop_next op_reroute(struct cp_fo *f, struct fo_op *o)
{
	int rc;

	urcu_qsbr_thread_online();
	rc = op_route(f, o);
	urcu_qsbr_thread_offline();
	if (rc == 1) {
		op_finish(f, o, 0);
		return CP_LEASEOP_END;
	}
	return CP_LEASEOP_NEXT;
}

/*
 * A client changed the address between our decision and the worker's turn (-ESTALE): an
 * inbound update is decided again, first in the queue; our own conversion is dropped (the
 * client's change is what the partner hears next).
 */
static void op_stale(struct cp_fo *f, struct fo_op *o)
{
	struct rel *r = o->rel;
	struct fo_upd u = o->upd;
	bool inbound = o->kind == OPK_INBOUND && !o->no_ack;

	op_end(f, o);
	if (!inbound) {
		return;
	}
	if (r->in_count < IN_MAX) {
		r->in_head = (r->in_head + IN_MAX - 1) % IN_MAX;
		r->inq[r->in_head] = u;
		r->in_count++;
	} else {
		fo_run_send_bndack(r, u.xid, u.addr, FO_RR_MISC_REJECT,
				   "binding changed meanwhile");
	}
}

/*
 * Is the address's record still the one the step was routed against (o->lo.op.expect_*)?
 * A worker answers -EAGAIN when another writer holds the address: either the routing was
 * wrong for an unchanged record (the slice or key owner moved: route again), or a client of
 * another worker wrote the address meanwhile. Then the decision was made against a record
 * that is gone, as with -ESTALE: routed again, the op took its expectation from the new
 * record and overwrote, unjudged, the binding a client was just ACKed.
 */
static bool routed_record_kept(struct cp_fo *f, const struct fo_op *o)
{
	const struct dp_lease_op *op = &o->lo.op;
	const struct bt_binding *cur;
	bool kept;

	urcu_qsbr_thread_online();
	cur = bt_lookup_addr(f->rt->table, o->addr);
	kept = op->expect_none ? cur == NULL :
	       cur != NULL && cur->state == op->expect_state && cur->owner == op->expect_owner &&
	       cur->seq == op->expect_seq && cur->start == op->expect_start;
	urcu_qsbr_thread_offline();
	return kept;
}

/*
 * A move that changed nothing waits (o->retry_at) and is handed over again by
 * fo_run_ops_progress(). -ENOBUFS is counted and logged, rate-limited per relationship.
 */
static void op_wait(struct cp_fo *f, struct fo_op *o, int res)
{
	struct rel *r = o->rel;
	uint64_t now = mono_ms();

	o->backoff_ms = o->backoff_ms == 0 ? MOVE_RETRY_MIN_MS :
			o->backoff_ms * 2 > MOVE_RETRY_MAX_MS ? MOVE_RETRY_MAX_MS :
			o->backoff_ms * 2;
	o->retry_at = now + o->backoff_ms;
	o->waiting = true;
	f->n_waiting++;
	if (res != -ENOBUFS) {
		return;
	}
	r->s.move_no_room++;
	if (!r->move_logged || now >= r->move_log_ms + MOVE_LOG_MS) {
		cp_log(CP_LOG_WARN, "event=failover-move-no-room relationship=%s ip-address=%s "
		       "worker=%u total=%" PRIu64 " (the worker that must write the binding has no "
		       "room: commit ring full or no record; retried, %s)", r->name,
		       lw_ip4_fmt(o->addr).s, o->lo.worker, r->s.move_no_room,
		       o->kind == OPK_INBOUND && !o->no_ack ? "the BNDACK waits" :
		       "the old binding stays");
		r->move_logged = true;
		r->move_log_ms = now;
	}
}

void fo_run_ops_progress(struct cp_fo *f)
{
	uint64_t now;

	if (f->n_waiting == 0) {
		return;
	}
	now = mono_ms();
	for (uint32_t i = 0; i < OPS_MAX && f->n_waiting > 0; i++) {
		struct fo_op *o = &f->ops[i];

		if (!o->used || !o->waiting || now < o->retry_at) {
			continue;
		}
		o->waiting = false;
		f->n_waiting--;
		/* The same step: the worker still checks it against the record decided on. */
		if (cp_leaseop_start(&f->lops, &o->lo) != 0) {
			op_finish(f, o, CP_LEASEOP_E_RING);	/* not with CP_LEASEOP_RETRY */
		}
	}
}

/* A step is done, and durable when it succeeded (leaseop.h): the end, or the step again. */
static enum cp_leaseop_next op_finished(struct cp_leaseop *lo, int res)
{
	struct fo_op *o = (struct fo_op *)lo;
	struct cp_fo *f = o->f;

	if (res == -ESTALE) {
		op_stale(f, o);
		return CP_LEASEOP_END;
	}
	if (res == -EAGAIN && !routed_record_kept(f, o)) {
		op_stale(f, o);		/* a client wrote it since the decision */
		return CP_LEASEOP_END;
	}
	if (res == -EAGAIN && o->tries++ < 3) {
		return op_reroute(f, o);	/* the writer changed under us: route again */
	}
	if ((res == -ENOBUFS || res == -EBUSY) && o->lo.op.take) {
		/*
		 * A move the new writer could not make yet: no room (its commit ring full, no
		 * record, no spill record), or the old writer's last change not durable yet.
		 * Nothing changed: the old binding is in memory and in the store. Rejected, the
		 * update would be forgotten by the partner (D12 §7.2) while its client uses the
		 * address: the same step later, the address still held, the BNDACK withheld.
		 */
		op_wait(f, o, res);
		return CP_LEASEOP_END;	/* out of the engine until fo_run_ops_progress() */
	}
	if (res != 0) {
		op_finish(f, o, res);
		return CP_LEASEOP_END;
	}
	op_finish(f, o, 0);
	return CP_LEASEOP_END;
}

static const struct cp_leaseop_cb op_cb = {.finished = op_finished};
