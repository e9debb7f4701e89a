/*
 * fo_run_in.c: the partner's binding updates (see failover.c for the flow): queued on
 * receipt (bounded), decided with fo_lease_check_update() against our binding when their
 * turn comes, applied by the owner worker (fo_run_ops.c) and acknowledged once durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byteorder.h"
#include "fmt.h"
#include "fo_run.h"
#include "log.h"

/* --- received binding updates ------------------------------------------------------- */

static void key_of_update(const struct fo_upd *u, struct dp_client_key *k)
{
	memset(k, 0, sizeof(*k));
	if (u->has_cid && u->cid_len > 0) {
		k->type = DP_KEY_CLIENT_ID;
		k->len = u->cid_len;
		memcpy(k->data, u->cid, u->cid_len);
	} else if (u->has_hw && u->hw_len > 0) {
		k->type = DP_KEY_HWADDR;
		k->len = u->hw_len;
		memcpy(k->data, u->hw, u->hw_len);
	}
}

/* Our view of the address, for fo_lease_check_update(). RCU online. */
static void local_binding(struct cp_fo *f, uint32_t addr, bool in_pool,
			  struct fo_lease_binding *lb, struct dp_client_key *key_copy,
			  uint8_t *hw_copy, size_t *hw_len)
{
	const struct bt_binding *b = bt_lookup_addr(f->rt->table, addr);

	memset(lb, 0, sizeof(*lb));
	lb->in_pool = in_pool;
	*hw_len = 0;
	lb->status = fo_run_stored_status(b);
	if (lb->status == FO_LEASE_FREE || lb->status == FO_LEASE_BACKUP) {
		return;
	}
	lb->stos = b->start;
	/*
	 * A record's start is when its state began. For ACTIVE and RELEASED that is the
	 * client's last transaction; an EXPIRED record starts when the lease ran out
	 * (engine.c, persist.c), which is no client transaction: its CLTT is unknown, so a
	 * partner's ACTIVE that carries one is later (D12 §7.1.3, time(1)). Taking the expiry
	 * as the CLTT rejected a renewal the partner made while we were cut off (its CLTT is
	 * before our expiry), and the client's live lease was lost.
	 */
	lb->cltt = lb->status == FO_LEASE_EXPIRED ? 0 : b->start;
	lb->ends = b->ends == BT_INFINITE ? FO_LEASE_TIME_MAX : b->ends;
	*key_copy = b->key;
	if (b->key.type == DP_KEY_CLIENT_ID && b->key.len > 0) {
		lb->client.id = key_copy->data;
		lb->client.id_len = key_copy->len;
		memcpy(hw_copy, b->hw, b->hw_len);
		*hw_len = b->hw_len;
		lb->client.hw = *hw_len ? hw_copy : NULL;
		lb->client.hw_len = *hw_len;
	} else if (b->key.len > 0) {
		lb->client.hw = key_copy->data;
		lb->client.hw_len = key_copy->len;
	}
}

/* The oldest time a decision on @p up against @p lb compares (0: one is unknown). */
static uint64_t oldest_stamp(const struct fo_lease_binding *lb, const struct fo_lease_update *up)
{
	const uint64_t t[4] = {lb->cltt, lb->stos, up->cltt, up->stos};
	uint64_t m = UINT64_MAX;

	for (unsigned i = 0; i < 4; i++) {
		if (t[i] != 0 && t[i] < m) {
			m = t[i];
		}
	}
	return m == UINT64_MAX ? 0 : m;
}

/* Decide and start one queued update. @return false when it must wait (busy, no slot). */
static bool handle_update(struct cp_fo *f, struct rel *r, const struct fo_upd *u)
{
	/*
	 * No slack in time(2) (D12): "now" and our lease end are both our clock, so the
	 * partner's skew has no part in it. ISC's 65 s let a partner's EXPIRED or FREE end a
	 * lease of ours with up to 65 s still to run, e.g. one renewed while the link was down
	 * that the partner never saw: the address went back to the pool under its client.
	 */
	uint64_t wall = fo_run_wall_s();
	/* "now" as the reclaims judge lease ends: our forward-step grace (worker.h, "Time"). */
	struct fo_lease_update_ctx ctx = {
		.role = r->role, .now = dp_runtime_reclaim_now(f->rt, wall), .slack = 0,
	};
	struct fo_lease_update up = {
		.status = u->status, .ip_flags = u->ip_flags, .cltt = u->cltt, .ends = u->ends,
		.pet = u->pet, .stos = u->stos,
	};
	struct fo_lease_binding lb;
	struct fo_lease_verdict v;
	struct dp_client_key lkey;
	struct dp_lease_op want;
	uint8_t lhw[DP_HW_MAX];
	size_t lhw_len;
	uint8_t status;
	int rc;

	if (u->idx != UINT64_MAX && (r->af[u->idx] & F_BUSY)) {
		return false;
	}
	if (f->n_ops == OPS_MAX) {
		return false;
	}
	up.client.id = u->has_cid ? u->cid : NULL;
	up.client.id_len = u->cid_len;
	up.client.hw = u->has_hw ? u->hw : NULL;
	up.client.hw_len = u->hw_len;
	ctx.outgoing_unacked = u->idx != UINT64_MAX && (r->af[u->idx] & F_INFLIGHT);
	urcu_qsbr_thread_online();
	local_binding(f, u->addr, u->idx != UINT64_MAX, &lb, &lkey, lhw, &lhw_len);
	ctx.stamp_margin = fo_run_stamp_margin(f, r, oldest_stamp(&lb, &up), wall);
	v = fo_lease_check_update(&ctx, &lb, &up);
	urcu_qsbr_thread_offline();
	if (!v.accept) {
		cp_log(CP_LOG_INFO, "failover %s: BNDUPD %s %s rejected: %s (rule %s)", r->name,
		       lw_ip4_fmt(u->addr).s, fo_lease_status_str(u->status),
		       fo_reject_reason_str(v.reject_reason), fo_lease_rule_str(v.rule));
		fo_run_send_bndack(r, u->xid, u->addr, v.reject_reason, fo_reject_reason_str(
				    v.reject_reason));
		return true;
	}
	memset(&want, 0, sizeof(want));
	want.from_peer = true;
	want.start = u->stos ? u->stos : u->cltt ? u->cltt : ctx.now;
	status = u->status;
	if (r->role == FO_ROLE_SECONDARY &&
	    (status == FO_LEASE_EXPIRED || status == FO_LEASE_RELEASED)) {
		/*
		 * D12 §5.4, §5.11: the primary's EXPIRED or RELEASED, once we ack it, is FREE,
		 * the primary's to give: it frees the address on our BNDACK (fo_run_on_bndack,
		 * F_TOFREE) and may give it to any client at once. Kept as the client's ended
		 * lease here, the engine gave it back to that client (its own ended lease,
		 * engine.c fo_free_for) in NORMAL and, cut off, for the whole partition: one
		 * address leased by both servers, and the primary's ACTIVE for its new client
		 * then overwrote the lease we had ACKed (a secondary accepts the primary's
		 * ACTIVE for another client, D12 §7.1.3).
		 */
		status = FO_LEASE_FREE;
	}
	switch (status) {
	case FO_LEASE_FREE:
		want.state = BT_FREE;
		break;
	case FO_LEASE_BACKUP:
		want.state = BT_BACKUP;
		break;
	case FO_LEASE_RESET:
		/* D12 §5.11: RESET becomes FREE once acked: nothing of the client stays. */
		want.state = BT_FREE;
		break;
	default:
		key_of_update(u, &want.key);
		if (want.key.len == 0) {
			/* ABANDONED with no client (D12 forbids chaddr there): we keep no
			 * record of it; the address stays out of our pool only while ours is. */
			fo_run_send_bndack(r, u->xid, u->addr, 0, NULL);
			return true;
		}
		want.state = u->status;
		want.ends = u->status == FO_LEASE_ACTIVE ?
			    (u->ends >= FO_LEASE_TIME_MAX ? BT_INFINITE : u->ends) : want.start;
		if (u->has_hw && u->hw_len <= DP_HW_MAX) {
			want.hw_len = u->hw_len;
			memcpy(want.hw, u->hw, u->hw_len);
		}
		want.info = u->info;
		break;
	}
	rc = fo_run_op_start(f, r, u->idx, u->addr, OPK_INBOUND, &want, u);
	if (rc < 0) {
		return false;
	}
	if (rc == 1 && (want.state == BT_FREE || want.state == BT_BACKUP)) {
		/* Nothing to write, and no client's lease for a PET to stretch (review17). */
		fo_run_peer_pet_clear(f, r, u->idx);
		fo_run_send_bndack(r, u->xid, u->addr, 0, NULL);
	} else if (rc == 1) {
		/* Nothing to write: the PET goes to the store with the next unacked flush. */
		fo_run_pet_keep(f, r, u->idx, u->pet);
		fo_run_send_bndack(r, u->xid, u->addr, 0, NULL);
	}
	return true;
}

/* The link is gone: queued updates are dropped (the partner sends them again), and the
 * ones being applied finish without a BNDACK (their xids belonged to the old connection). */
void fo_run_in_reset(struct cp_fo *f, struct rel *r)
{
	r->in_head = 0;
	r->in_count = 0;
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		if (f->ops[i].used && f->ops[i].rel == r && f->ops[i].kind == OPK_INBOUND) {
			f->ops[i].no_ack = true;
		}
	}
}

void fo_run_inq_progress(struct cp_fo *f, struct rel *r)
{
	while (r->in_count > 0) {
		struct fo_upd *u = &r->inq[r->in_head];

		if (u->idx == UINT64_MAX) {

			/* Not in our pools: reject 1 (D12 §7.1.3), whatever our table says. */
			cp_log(CP_LOG_INFO, "failover %s: BNDUPD for %s, not in this relationship's "
			       "pools: rejected", r->name, lw_ip4_fmt(u->addr).s);
			fo_run_send_bndack(r, u->xid, u->addr, FO_RR_ILLEGAL_IP_ADDR,
				    fo_reject_reason_str(FO_RR_ILLEGAL_IP_ADDR));
		} else if (!handle_update(f, r, u)) {
			break;
		}
		r->in_head = (r->in_head + 1) % IN_MAX;
		r->in_count--;
	}
}

/*
 * Stamps across a clock step (chaos soak finding 3)
 * -------------------------------------------------
 * A binding's times (CLTT, start of state, lease end, potential expiry) are absolute unix
 * seconds by the clock of the server that wrote them, when it wrote them. The partner's
 * times are moved onto our clock by the skew measured on the very message that carries
 * them (D12 §8.4; fo_run_skew_seen() runs before the message is handled). That is exact
 * for a record stamped since the partner's clock last stepped, and wrong by the step for
 * one stamped before it and sent after (a partition, an update not yet acked, a resend);
 * our own records stamped before a step of ours are wrong by it in the same way. Neither
 * server knows which of its records predate a step (the workers' clock slews after a
 * backward step, worker.h), so stamps are not corrected: the comparisons give way instead.
 *
 * Every step either side makes shows as a change of the measured skew (partner clock -
 * ours) of its size; a change of STEP_MIN s or more is logged with the time we saw it
 * (ours are logged by cp_fo_clock_step() at once, and the reference skew moves with them
 * so they are not counted twice). A time may predate step i only if it is at most
 * at_i + size_i (later stamps were written after it, in either direction), and step i can
 * matter only while a lease stamped before it may still run (now <= at_i + size_i + the
 * longest lease + MCLT). The margin of a comparison is the sum of the sizes of the steps
 * its oldest stamp may predate. With it:
 *   - time(1)/(3): a received ACTIVE wins unless ours is later by more than the margin;
 *     anything else received ends our ACTIVE only if later by more than the margin;
 *   - time(2): the partner's EXPIRED/FREE ends our ACTIVE only once its end plus the
 *     margin has passed (and "now" is the reclaims' one: our forward-step grace applies);
 *   - an ACTIVE accepted keeps the address until its end plus the margin of its stamp,
 *     and the potential expiry it lends our MCLT cap is lowered by that margin.
 * So a step never makes a live lease look ended nor a released one look live to the
 * partner: the cost is a lease held up to the margin longer, or a release (or another
 * client's binding) refused until the partner's newer update or the lease end. Never an
 * ACKed lease lost, never an address bound twice.
 *
 * Restarts: the stored state record keeps the reference skew and the margin still
 * relevant (fo_run_steps_save()); a restart takes that margin as one step seen at its start
 * and compares the first skew it measures with the reference, so a step of either clock
 * made while it was down counts too. Not covered: an ISC partner applies no margin to our
 * stale stamps, and a server whose stored state is lost starts with no reference.
 */
static void step_log_add(struct rel *r, uint64_t at, uint64_t size)
{
	if (r->n_steps == STEP_LOG_MAX) {
		/* Full: the two oldest become one, seen at the later time with both sizes (a
		 * wider margin for more stamps: never less safe). */
		r->steps[1].size += r->steps[0].size;
		memmove(&r->steps[0], &r->steps[1], (STEP_LOG_MAX - 1) * sizeof(r->steps[0]));
		r->n_steps--;
	}
	r->steps[r->n_steps].at = at;
	r->steps[r->n_steps].size = size;
	r->n_steps++;
}

void fo_run_skew_seen(struct rel *r, int32_t skew, uint64_t now)
{
	int64_t d = (int64_t)skew - r->skew_ref;

	r->skew = skew;
	if (!r->skew_ref_set) {
		r->skew_ref = skew;
		r->skew_ref_set = true;
		return;
	}
	if (d > -STEP_MIN && d < STEP_MIN) {
		return;
	}
	r->skew_ref = skew;
	step_log_add(r, now, (uint64_t)(d < 0 ? -d : d));
}

void fo_run_own_step(struct rel *r, int64_t step, uint64_t now)
{
	/* The times of the steps seen so far were read on our clock before this step. */
	for (uint32_t i = 0; i < r->n_steps; i++) {
		int64_t at = (int64_t)r->steps[i].at + step;

		r->steps[i].at = at > 0 ? (uint64_t)at : 0;
	}
	if (r->skew_ref_set) {
		/* Logged here, not again when the partner's next message shows it. */
		int64_t ref = (int64_t)r->skew_ref - step;

		r->skew_ref = ref > INT32_MAX ? INT32_MAX : ref < INT32_MIN ? INT32_MIN :
			      (int32_t)ref;
	}
	step_log_add(r, now, step < 0 ? (uint64_t)0 - (uint64_t)step : (uint64_t)step);
}

/* The longest a lease of @p r may run past its stamp: the longest lease time of its scopes
 * plus the MCLT. */
static uint64_t longest_lease(struct cp_fo *f, const struct rel *r)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	uint64_t l = 0;

	for (uint32_t k = 0; k < r->n_scopes; k++) {
		const struct dp_scope *s = &cfg->scopes[r->scopes[k].scope];
		uint64_t v = s->max_lease_time > s->lease_time ? s->max_lease_time : s->lease_time;

		l = v > l ? v : l;
	}
	return l + r->st.mclt;
}

uint64_t fo_run_stamp_margin(struct cp_fo *f, const struct rel *r, uint64_t stamp,
			     uint64_t now)
{
	uint64_t m = 0, life;

	if (r->n_steps == 0) {
		return 0;
	}
	life = longest_lease(f, r);
	for (uint32_t i = 0; i < r->n_steps; i++) {
		uint64_t seen = r->steps[i].at + r->steps[i].size;

		if (stamp <= seen && now <= seen + life) {
			m += r->steps[i].size;
		}
	}
	return m < FO_LEASE_TIME_MAX ? m : FO_LEASE_TIME_MAX;
}

void fo_run_steps_save(struct cp_fo *f, const struct rel *r, uint8_t b[7])
{
	uint64_t now = fo_run_wall_s(), life = longest_lease(f, r), m = 0;

	for (uint32_t i = 0; i < r->n_steps; i++) {
		if (now <= r->steps[i].at + r->steps[i].size + life) {
			m += r->steps[i].size;
		}
	}
	lw_put32(b, (uint32_t)r->skew_ref);
	b[4] = r->skew_ref_set ? 1 : 0;
	lw_put16(b + 5, m < UINT16_MAX ? (uint16_t)m : UINT16_MAX);
}

void fo_run_steps_load(struct rel *r, const uint8_t b[7], uint64_t now)
{
	uint16_t m = lw_get16(b + 5);

	/* Before the restart, the steps were seen at various times: all of them now is a
	 * margin for more stamps (never less safe). */
	r->skew_ref = (int32_t)lw_get32(b);
	r->skew_ref_set = b[4] & 1;
	r->n_steps = 0;
	if (m > 0) {
		step_log_add(r, now, m);
	}
}

uint64_t fo_run_partner_time(const struct rel *r, uint32_t v)
{
	int64_t t = (int64_t)v - r->skew;

	return t > 0 ? (uint64_t)t : 1;
}

/* A time option as the partner's clock says it, moved onto ours (D12 §8.4); 0 = absent. */
static uint64_t their_time(const struct rel *r, const struct fo_msg *m, unsigned opt,
			   uint32_t v)
{
	if (!fo_msg_has(m, opt) || v == 0) {
		return 0;
	}
	if (v == UINT32_MAX) {
		return FO_LEASE_TIME_MAX;
	}
	return fo_run_partner_time(r, v);
}

void fo_run_on_bndupd(struct cp_fo *f, struct rel *r, const struct fo_msg *m)
{
	struct fo_upd *u;
	uint64_t margin;

	r->s.bndupd_rx++;
	if (!fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) || !fo_msg_has(m, FO_OPT_BINDING_STATUS)) {
		if (fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS)) {
			fo_run_send_bndack(r, m->xid, m->assigned_addr, FO_RR_MISSING_BINDINFO,
				    "missing binding-status");
		} else {
			cp_log(CP_LOG_WARN, "failover %s: BNDUPD without an address: ignored",
			       r->name);
		}
		return;
	}
	if (r->in_count == IN_MAX) {
		r->s.in_overflow++;
		if ((r->s.in_overflow & (r->s.in_overflow - 1)) == 0) {
			/* Logged at the 1st, 2nd, 4th, 8th... rejection: a partner past our
			 * max-unacked cannot flood the log. */
			cp_log(CP_LOG_WARN, "event=failover-updates-rejected relationship=%s "
			       "reason=queue-full rejected=%" PRIu64 " (the partner sends more "
			       "binding updates than our max-unacked while ours wait for the store)",
			       r->name, r->s.in_overflow);
		}
		fo_run_send_bndack(r, m->xid, m->assigned_addr, FO_RR_MISC_REJECT,
			    "too many outstanding updates (max-unacked exceeded)");
		return;
	}
	u = &r->inq[(r->in_head + r->in_count) % IN_MAX];
	memset(u, 0, sizeof(*u));
	u->xid = m->xid;
	u->addr = m->assigned_addr;
	u->idx = fo_run_addr_index(f, r, m->assigned_addr);
	u->status = m->binding_status;
	u->ip_flags = fo_msg_has(m, FO_OPT_IP_FLAGS) ? m->ip_flags : 0;
	/* Times as the partner's clock says them, moved onto ours (D12 §8.4). */
	u->cltt = their_time(r, m, FO_OPT_CLTT, m->cltt);
	u->stos = their_time(r, m, FO_OPT_STOS, m->stos);
	u->pet = their_time(r, m, FO_OPT_POTENTIAL_EXPIRY, m->potential_expiry);
	u->ends = their_time(r, m, FO_OPT_LEASE_EXPIRY, m->lease_expiry);
	/* Stamped before a clock step, the times may be early or late by the margin (above,
	 * "Stamps across a clock step"): keep the address to the latest end they may mean,
	 * and lend the MCLT cap no more than the earliest potential expiry. */
	margin = fo_run_stamp_margin(f, r, u->cltt ? u->cltt : u->stos, fo_run_wall_s());
	if (margin > 0 && u->ends != 0 && u->ends < FO_LEASE_TIME_MAX) {
		u->ends = u->ends + margin < FO_LEASE_TIME_MAX ? u->ends + margin :
			  FO_LEASE_TIME_MAX - 1;
	}
	if (margin > 0 && u->pet != 0 && u->pet < FO_LEASE_TIME_MAX) {
		u->pet = u->pet > margin ? u->pet - margin : 1;
	}
	if (fo_msg_has(m, FO_OPT_CLIENT_IDENTIFIER) && m->client_id.len > 0 &&
	    m->client_id.len <= DP_KEY_MAX) {
		u->has_cid = true;
		u->cid_len = (uint8_t)m->client_id.len;
		memcpy(u->cid, m->client_id.ptr, m->client_id.len);
	}
	if (fo_msg_has(m, FO_OPT_CHADDR) && m->chaddr.len > 0 && m->chaddr.len <= DP_HW_MAX) {
		u->has_hw = true;
		u->hw_len = (uint8_t)m->chaddr.len;
		memcpy(u->hw, m->chaddr.ptr, m->chaddr.len);
	}
	if (fo_msg_has(m, FO_OPT_REQUEST_OPTIONS)) {
		fo_lease_info_decode(m->request_options.ptr, m->request_options.len, &u->info);
	}
	r->in_count++;
}
