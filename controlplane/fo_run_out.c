/*
 * fo_run_out.c: our binding updates to the partner (see failover.c for the flow): the
 * committer's tap marks addresses DIRTY|UNACKED, send_updates() sends each address's current
 * binding as a BNDUPD while the partner's window has room, a BNDACK clears INFLIGHT and, when
 * nothing newer is queued, the address leaves the store's unacked set.
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

void fo_run_mark_dirty(struct rel *r, uint64_t idx)
{
	r->af[idx] |= F_UNACKED;
	if (r->af[idx] & F_DIRTY) {
		return;
	}
	r->af[idx] |= F_DIRTY;
	r->dirtyq[(r->dq_head + r->dq_count) % r->n_addr] = idx;
	r->dq_count++;
}

void fo_run_mark_all_dirty(struct rel *r, uint8_t only)
{
	for (uint64_t i = 0; i < r->n_addr; i++) {
		if (only == 0 || (r->af[i] & only)) {
			fo_run_mark_dirty(r, i);
		}
	}
}


/* The partner acked everything of @p idx: forget it in the store's unacked set. */
static void unacked_forget(struct cp_fo *f, struct rel *r, uint64_t idx)
{
	uint32_t k;

	if (r->af[idx] & (F_DIRTY | F_INFLIGHT)) {
		return;
	}
	r->af[idx] &= (uint8_t)~F_UNACKED;
	if (r->n_unack_del == UNACK_DEL_MAX && fo_run_unacked_flush(f, r) != 0) {
		return;	/* kept in the store: resent after a restart, harmless */
	}
	/* What was sent (after the tap's last word on the address) covers the mark of
	 * generation ugen: that mark, and no newer one, may go. */
	r->unack_gen[r->n_unack_del] = r->ugen[idx];
	r->unack_del[r->n_unack_del++] = fo_run_index_addr(f, r, idx, &k);
}

void fo_run_pet_keep(struct cp_fo *f, struct rel *r, uint64_t idx, uint64_t pet)
{
	uint32_t k;

	if (!fo_run_peer_pet_raise(f, r, idx, pet)) {
		return;	/* no higher than what the address had: durable, or queued, already */
	}
	if (r->n_pet_put == UNACK_DEL_MAX && fo_run_unacked_flush(f, r) != 0) {
		return;	/* the store fails: memory only, as before the store kept PETs */
	}
	r->pet_put[r->n_pet_put].addr = fo_run_index_addr(f, r, idx, &k);
	r->pet_put[r->n_pet_put++].pet = fo_run_clamp32(pet);
}

/*
 * Remove the acknowledged addresses from the store's unacked set, each only while its mark
 * still has the acknowledged generation (compare-and-delete in one store transaction): a
 * change committed since, even between this tap drain and the delete, wrote a newer
 * generation and keeps its mark. The tap is drained first only to spare deletes that could
 * not succeed (addresses unacked again). The PETs fo_run_pet_keep() queued are raised in
 * the same transaction (a binding written since kept them: store.h).
 */
int fo_run_unacked_flush(struct cp_fo *f, struct rel *r)
{
	uint32_t n = 0;
	int rc;

	fo_run_drain_tap(f);
	for (uint32_t i = 0; i < r->n_unack_del; i++) {
		uint64_t idx = fo_run_addr_index(f, r, r->unack_del[i]);

		if (idx == UINT64_MAX || !(r->af[idx] & F_UNACKED)) {
			r->unack_gen[n] = r->unack_gen[i];
			r->unack_del[n++] = r->unack_del[i];
		}
	}
	r->n_unack_del = n;
	if (n == 0 && r->n_pet_put == 0) {
		return 0;
	}
	rc = store_unacked_del_pet(f->store, r->unack_del, r->unack_gen, n, r->pet_put,
				   r->n_pet_put);
	if (rc == 0) {
		r->n_unack_del = 0;
		r->n_pet_put = 0;
	}
	return rc;
}

/*
 * The binding status the partner must know for record @p b (NULL: none). An offer commits
 * nothing: it stands for what it covers (bt_binding.under): nothing or another client's
 * ended lease -> FREE, the secondary's address -> BACKUP, the same client's ended lease ->
 * that state.
 */
uint8_t fo_run_stored_status(const struct bt_binding *b)
{
	uint8_t st;

	if (b == NULL) {
		return FO_LEASE_FREE;
	}
	st = b->state == BT_OFFERED ? b->under : b->state;
	if (st == 0 || st == BT_FREE) {
		return FO_LEASE_FREE;
	}
	if (st == BT_BACKUP || b->key.len == 0) {
		return FO_LEASE_BACKUP;
	}
	return st;
}

/* Fill a BNDUPD for address @p addr from its current binding; @p ropt (FO_LEASE_INFO_MAX
 * bytes) holds its client-request-options until it is sent. RCU online. */
static void build_bndupd(struct cp_fo *f, struct rel *r, uint32_t addr, uint32_t k,
			 struct fo_msg *m, uint8_t *ropt, uint8_t *status_out, uint32_t *pet_out)
{
	const struct bt_binding *b = bt_lookup_addr(f->rt->table, addr);
	const struct dp_scope *s = &f->rt->snap->cfg->scopes[r->scopes[k].scope];
	uint64_t now = fo_run_wall_s();
	uint8_t status;

	fo_msg_init(m, FO_MSG_BNDUPD, 0, 0);
	m->assigned_addr = addr;
	m->present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS);
	*pet_out = 0;
	status = fo_run_stored_status(b);
	m->binding_status = status;
	if (status == FO_LEASE_FREE || status == FO_LEASE_BACKUP) {
		m->stos = fo_run_clamp32(b != NULL && b->state == BT_BACKUP ? b->start : now);
		m->present |= FO_BIT(FO_OPT_STOS);
		*status_out = status;
		return;
	}
	if (b->key.type == DP_KEY_CLIENT_ID && b->key.len > 0) {
		m->client_id.ptr = b->key.data;
		m->client_id.len = b->key.len;
		m->present |= FO_BIT(FO_OPT_CLIENT_IDENTIFIER);
		if (b->hw_len > 0) {
			m->chaddr.ptr = b->hw;
			m->chaddr.len = b->hw_len;
			m->present |= FO_BIT(FO_OPT_CHADDR);
		}
	} else if (b->key.len > 0 && status != FO_LEASE_ABANDONED) {
		m->chaddr.ptr = b->key.data;
		m->chaddr.len = b->key.len;
		m->present |= FO_BIT(FO_OPT_CHADDR);
	}
	m->stos = fo_run_clamp32(b->start);
	m->cltt = fo_run_clamp32(b->start);
	m->present |= FO_BIT(FO_OPT_STOS) | FO_BIT(FO_OPT_CLTT);
	if (b->key.len > 0 && status != FO_LEASE_ABANDONED) {
		struct dp_client_info in;

		/* What the binding remembers of its client (fo_lease.h): the partner shows it
		 * too. ISC parses option 8 and drops it. */
		bt_info_get(b, &in);
		m->request_options.len = fo_lease_info_encode(&in, ropt);
		if (m->request_options.len > 0) {
			m->request_options.ptr = ropt;
			m->present |= FO_BIT(FO_OPT_REQUEST_OPTIONS);
		}
	}
	if (status == FO_LEASE_ACTIVE) {
		uint64_t granted = b->ends == BT_INFINITE ? FO_LEASE_INFINITE :
				   b->ends > b->start ? b->ends - b->start : 0;
		uint32_t desired = s->max_lease_time > s->lease_time ? s->max_lease_time :
				   s->lease_time;
		uint64_t pet = fo_lease_pet(b->start, desired, granted > UINT32_MAX ?
					    UINT32_MAX : (uint32_t)granted);

		if (b->ends != BT_INFINITE && pet < b->ends) {
			pet = b->ends;
		}
		m->lease_expiry = fo_run_clamp32(b->ends);
		m->potential_expiry = fo_run_clamp32(pet);
		m->present |= FO_BIT(FO_OPT_LEASE_EXPIRY) | FO_BIT(FO_OPT_POTENTIAL_EXPIRY);
		*pet_out = m->potential_expiry;
	}
	(void)now;
	*status_out = status;
}

static struct fo_out *out_slot(struct rel *r, uint32_t xid)
{
	for (uint32_t i = 0; i < OUT_MAX; i++) {
		if (r->out[i].used && r->out[i].xid == xid) {
			return &r->out[i];
		}
	}
	return NULL;
}

/* Send dirty addresses while the partner's window has room. */
void fo_run_send_updates(struct cp_fo *f, struct rel *r)
{
	if (!r->st.comm_ok || !fo_link_is_up(r->link)) {
		return;
	}
	urcu_qsbr_thread_online();
	/* Each queued address is looked at once per call at most. */
	for (uint64_t left = r->dq_count; left > 0 && r->dq_count > 0 && r->n_out < r->window;
	     left--) {
		uint64_t idx = r->dirtyq[r->dq_head];
		struct fo_out *o = NULL;
		struct fo_msg m;
		uint8_t ropt[FO_LEASE_INFO_MAX];
		uint32_t k, addr;

		if (r->af[idx] & F_BUSY) {
			break;	/* a worker is changing it: send the result, not this */
		}
		r->dq_head = (r->dq_head + 1) % r->n_addr;
		r->dq_count--;
		r->af[idx] &= (uint8_t)~F_DIRTY;
		if (r->af[idx] & F_INFLIGHT) {
			/* One update per address in flight: its BNDACK must not clear the mark of
			 * a newer one. Back to the end of the queue. */
			fo_run_mark_dirty(r, idx);
			continue;
		}
		addr = fo_run_index_addr(f, r, idx, &k);
		for (uint32_t i = 0; i < OUT_MAX; i++) {
			if (!r->out[i].used) {
				o = &r->out[i];
				break;
			}
		}
		build_bndupd(f, r, addr, k, &m, ropt, &o->status, &o->pet);
		if (fo_link_send(r->link, &m) != 0) {
			/* The link went down: the next one resends. */
			fo_run_mark_dirty(r, idx);
			break;
		}
		o->used = true;
		o->xid = m.xid;
		o->addr = addr;
		o->idx = (uint32_t)idx;
		r->af[idx] |= F_INFLIGHT;
		r->n_out++;
		r->s.bndupd_tx++;
	}
	urcu_qsbr_thread_offline();
}

/* The link is gone: every update in flight is sent again on the next one. */
void fo_run_out_reset(struct rel *r)
{
	for (uint32_t i = 0; i < OUT_MAX; i++) {
		if (r->out[i].used) {
			r->af[r->out[i].idx] &= (uint8_t)~F_INFLIGHT;
			fo_run_mark_dirty(r, r->out[i].idx);
			r->out[i].used = false;
		}
	}
	r->n_out = 0;
	r->answering = false;
	r->my_updreq.pending = false;
}

void fo_run_on_bndack(struct cp_fo *f, struct rel *r, const struct fo_msg *m)
{
	struct fo_out *o = out_slot(r, m->xid);
	uint64_t idx;

	r->s.bndack_rx++;
	if (o == NULL) {
		cp_log(CP_LOG_INFO, "failover %s: BNDACK xid %u matches no update in flight: "
		       "ignored", r->name, m->xid);
		return;
	}
	if (!fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) || m->assigned_addr != o->addr) {
		/*
		 * D12 §7.2: a BNDACK carries the address of the update it answers. xids restart
		 * with each connection, so a BNDACK of a recorded earlier session (or a confused
		 * partner) may carry the xid of one of ours: acking it would clear the unacked
		 * mark, and lift the MCLT cap, of a binding the partner never saw (issue 11
		 * item 9). Counted and ignored; the update stays in flight (resent on the next
		 * connection if no true answer comes).
		 */
		char text[CP_LOG_ESC_SIZE(256)];

		r->s.bndack_mismatch++;
		cp_log(CP_LOG_WARN, "failover %s: BNDACK xid %u for %s answers our update of %s: "
		       "ignored%s%s", r->name, m->xid,
		       fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) ?
		       lw_ip4_fmt(m->assigned_addr).s : "no address", lw_ip4_fmt(o->addr).s,
		       fo_msg_has(m, FO_OPT_MESSAGE) ? ": " : "",
		       fo_msg_has(m, FO_OPT_MESSAGE) ? cp_log_esc(text, sizeof(text),
								    (const char *)m->message.ptr,
								    m->message.len) : "");
		return;
	}
	idx = o->idx;
	o->used = false;
	r->n_out--;
	r->af[idx] &= (uint8_t)~F_INFLIGHT;
	if (fo_msg_has(m, FO_OPT_REJECT_REASON)) {
		char text[CP_LOG_ESC_SIZE(256)];	/* the partner's text, escaped */

		r->s.reject_rx++;
		cp_log(CP_LOG_WARN, "failover %s: partner rejected our %s of %s: %s%s%s",
		       r->name, fo_lease_status_str(o->status),
		       lw_ip4_fmt(fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) ?
				  m->assigned_addr : 0).s,
		       fo_reject_reason_str(m->reject_reason),
		       fo_msg_has(m, FO_OPT_MESSAGE) ? ": " : "",
		       fo_msg_has(m, FO_OPT_MESSAGE) ? cp_log_esc(text, sizeof(text),
								    (const char *)m->message.ptr,
								    m->message.len) : "");
		if (m->reject_reason == FO_RR_TIMEMISMATCH) {
			/* The partner's clock disagrees with ours: the binding was never compared,
			 * so keep it unacked and send it again once the clocks agree (failover.c
			 * skew_release()). */
			r->s.skew_held++;
			if (!(r->af[idx] & F_SKEWHELD)) {
				r->af[idx] |= F_SKEWHELD;
				r->n_skewheld++;
			}
			return;
		}
		/* D12 §7.2: log, do not resend at once; the partner's own update follows. */
		unacked_forget(f, r, idx);
		return;
	}
	fo_run_pet_keep(f, r, idx, o->pet);
	unacked_forget(f, r, idx);
	if ((o->status == FO_LEASE_EXPIRED || o->status == FO_LEASE_RELEASED ||
	     o->status == FO_LEASE_RESET) && !(r->af[idx] & F_TOFREE)) {
		/* Both agree the client is gone: the address returns to the primary's pool
		 * (D12 §5.4), by fo_run_tofree_progress(). */
		r->af[idx] |= F_TOFREE;
		r->tofree[(r->tf_head + r->tf_count) % r->n_addr] = idx;
		r->tf_count++;
	}
}

int fo_run_unacked_cb(uint32_t addr, uint64_t gen, void *arg)
{
	struct cp_fo *f = arg;
	const struct dp_scope *s = dp_config_scope_of(f->rt->snap->cfg, addr);

	if (s != NULL && s->fo_rel != 0) {
		for (uint32_t i = 0; i < f->n; i++) {
			struct rel *r = f->rels[i];
			uint64_t idx;

			if (r->index + 1 == s->fo_rel &&
			    (idx = fo_run_addr_index(f, r, addr)) != UINT64_MAX) {
				r->ugen[idx] = gen;
				fo_run_mark_dirty(r, idx);
			}
		}
	}
	return 0;
}

void fo_run_drain_tap(struct cp_fo *f)
{
	uint32_t addrs[TAP_BATCH];
	uint64_t gens[TAP_BATCH];
	uint64_t lost;
	size_t n;

	if (f->committer == NULL) {
		return;		/* no store: no relationship can exist (config.c) */
	}
	lost = committer_tap_lost(f->committer);
	if (lost != f->tap_lost_seen) {
		f->tap_lost_seen = lost;
		for (uint32_t i = 0; i < f->n; i++) {
			cp_log(CP_LOG_WARN, "failover %s: the committer's tap overflowed: sending "
			       "every binding again", f->rels[i]->name);
			f->rels[i]->s.tap_lost_resends++;
			fo_run_mark_all_dirty(f->rels[i], 0);
		}
	}
	while ((n = committer_tap_drain(f->committer, addrs, gens, TAP_BATCH)) > 0) {
		for (size_t j = 0; j < n; j++) {
			(void)fo_run_unacked_cb(addrs[j], gens[j], f);
		}
	}
}
