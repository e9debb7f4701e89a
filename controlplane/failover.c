/*
 * failover: running the relationships of leasewired on the control thread.
 *
 * How it works
 * ------------
 * Each relationship (struct rel) owns an fo_link, an fo_state and an index of its addresses:
 * the dynamic ranges of its scopes, flattened (scope k's rank r is index base[k] + r). Every
 * address has four flag bits:
 *
 *   DIRTY     queued to be sent to the partner (in dirtyq, at most once);
 *   INFLIGHT  a BNDUPD of it waits for its BNDACK (in the out[] window);
 *   UNACKED   the partner may not know its latest state (mirrors the store's "unacked" set);
 *   BUSY      a worker op on it is in flight (inbound update or local conversion).
 *
 * Out: a change of a failover scope is written by the committer together with its address in
 * the store's "unacked" set, and, once durable, pushed to the committer's tap. We drain the tap,
 * mark the address DIRTY|UNACKED, and while the link is up and the partner's window
 * (max-unacked) has room, pop dirty addresses and send the address's CURRENT binding as a
 * BNDUPD (so a burst of changes to one address costs one update). A BNDACK clears INFLIGHT;
 * when the address is neither DIRTY nor INFLIGHT any more it leaves the unacked set (batched
 * deletes in the store), and the PET it carried becomes the partner-acked PET the workers use
 * for the MCLT rule (dp_pool.peer_pet). On a restart, the store's unacked set comes back as
 * DIRTY. A tap overflow marks every address DIRTY (a full resend is always correct).
 *
 * In: a BNDUPD is queued (bounded by the max-unacked we announced), then decided with
 * fo_lease_check_update() against our binding at the moment we handle it. A reject is
 * answered at once. An accepted update that changes nothing is acked at once; otherwise it
 * becomes a DP_OP_PEER for the worker that writes the address (two steps when the address
 * moves between writers: FREE on the old, then the new binding on the new), and the BNDACK
 * leaves only when the worker's change is durable (D12 §7.1: never ack before stable
 * storage).
 *
 * Recovery: UPDREQALL marks every address DIRTY, UPDREQ every UNACKED one; UPDDONE goes out
 * when nothing is dirty or in flight any more (as ISC: after the last BNDACK).
 *
 * Pools (D12 §5.4): a primary answers POOLREQ by giving the secondary BACKUP addresses up to
 * its share (half of the available ones in load balance, as ISC; reserve-percent in hot
 * standby), as local DP_OP_PEER conversions FREE -> BACKUP; their BNDUPDs follow through the
 * tap like any change. After the partner acks an EXPIRED/RELEASED/RESET of ours, the address
 * goes back to the primary's pool (FREE), which is itself a change the partner hears of.
 *
 * The state machine's SERVICE actions, the HBA and the MCLT in force are published to the
 * workers as a dp_fo_view (RCU).
 *
 * Threads: control thread only. It goes RCU-online only around table lookups.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "apply.h"
#include "failover.h"
#include "byteorder.h"
#include "fmt.h"
#include "fo_digest.h"
#include "fo_run.h"
#include "log.h"

/* --- time ----------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- views ---------------------------------------------------------------------------- */

static void view_free(struct rcu_head *h)
{
	free(caa_container_of(h, struct dp_fo_view, rcu));
}

static void publish_view(struct cp_fo *f, struct rel *r)
{
	const struct dp_relationship *c = &f->rt->snap->cfg->relationships[r->index];
	struct dp_fo_view *v = calloc(1, sizeof(*v)), *old;
	uint64_t now = fo_run_wall_s();

	if (v == NULL) {
		cp_log(CP_LOG_ERR, "failover %s: out of memory publishing the service level",
		       r->name);
		return;
	}
	v->service = (uint8_t)fo_state_service(&r->st);
	v->primary = r->role == FO_ROLE_PRIMARY;
	v->partner_pool = fo_state_may_use_partner_pool(&r->st, now);
	for (unsigned i = 0; i < FO_HBA_LEN; i++) {
		v->hba[i] = r->role == FO_ROLE_PRIMARY ? r->hba[i] : (uint8_t)~r->hba[i];
	}
	v->lb_max_secs = c->load_balance_max_seconds;
	v->mclt = r->st.mclt;
	old = f->rt->fo[r->index];
	rcu_assign_pointer(f->rt->fo[r->index], v);
	if (old != NULL) {
		urcu_qsbr_call_rcu(&old->rcu, view_free);
	}
	if (v->service != r->published_svc || v->partner_pool != r->published_pp) {
		cp_log(CP_LOG_INFO, "event=failover-service relationship=%s service=%s%s",
		       r->name, fo_service_str(v->service),
		       v->partner_pool ? " partner-pool=yes" : "");
	}
	if (v->partner_pool && !r->published_pp) {
		/* The workers dropped the partner's addresses from their free lists when they
		 * popped them: give them back now that they may be used. */
		cp_requeue_all(f->apply, "failover partner pool");
	}
	r->published_svc = (enum fo_service)v->service;
	r->published_pp = v->partner_pool;
}

/* --- persistence of the state record ------------------------------------------------- */

static void persist_state(struct cp_fo *f, struct rel *r)
{
	struct fo_state_record rec;
	uint8_t b[REC_LEN] = {0};
	int rc;

	fo_state_record(&r->st, &rec);
	b[0] = REC_VERSION;
	b[1] = (uint8_t)rec.state;
	b[2] = (uint8_t)rec.restart_state;
	b[3] = (uint8_t)rec.partner;
	b[4] = rec.storage_lost;
	lw_put32(b + 5, rec.mclt);
	/* Bytes 9..15, zero in records of before: the clock steps (fo_run_in.c), so that a
	 * restart still sees a step of either clock made since, or seen before, it. */
	fo_run_steps_save(f, r, b + 9);
	lw_put64(b + 16, rec.stos);
	lw_put64(b + 24, rec.last_op);
	lw_put64(b + 32, rec.partner_stos);
	rc = store_fo_put(f->store, r->name, b, sizeof(b));
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "failover %s: cannot save the state: %s", r->name,
		       store_strerror(rc));
	}
	r->last_persist = fo_run_wall_s();
}

/* @return 1 and *rec, 0 when none is stored, -1 on an unreadable record. */
static int load_state(struct cp_fo *f, struct rel *r, struct fo_state_record *rec)
{
	uint8_t b[REC_LEN];
	size_t len = 0;
	int rc = store_fo_get(f->store, r->name, b, sizeof(b), &len);

	if (rc == -ENOENT) {
		return 0;
	}
	if (rc != 0 || len != REC_LEN || b[0] != REC_VERSION) {
		cp_log(CP_LOG_ERR, "failover %s: stored state unreadable (%s, %zu bytes, version "
		       "%u)", r->name, rc ? store_strerror(rc) : "ok", len, len ? b[0] : 0);
		return -1;
	}
	memset(rec, 0, sizeof(*rec));
	rec->state = b[1];
	rec->restart_state = b[2];
	rec->partner = b[3];
	rec->storage_lost = b[4] != 0;
	rec->mclt = lw_get32(b + 5);
	rec->stos = lw_get64(b + 16);
	rec->last_op = lw_get64(b + 24);
	rec->partner_stos = lw_get64(b + 32);
	fo_run_steps_load(r, b + 9, fo_run_wall_s());
	return 1;
}

/* --- the state machine's actions ---------------------------------------------------- */

/* Windows' levels for a state change (event 20252): error on leaving NORMAL or entering
 * PARTNER-DOWN, information on entering NORMAL, warning otherwise. */
static enum cp_log_level transition_level(enum fo_endpoint_state from,
					  enum fo_endpoint_state to)
{
	if (from == FO_STATE_NORMAL || to == FO_STATE_PARTNER_DOWN) {
		return CP_LOG_ERR;
	}
	return to == FO_STATE_NORMAL ? CP_LOG_INFO : CP_LOG_WARN;
}

static void log_transitions(struct cp_fo *f, struct rel *r, const struct fo_state_output *out)
{
	const struct dp_relationship *c = &f->rt->snap->cfg->relationships[r->index];

	for (unsigned i = 0; i < out->n_transitions; i++) {
		const struct fo_state_transition *t = &out->transitions[i];

		r->s.to_comm_int += t->to == FO_STATE_COMM_INT;
		r->s.to_partner_down += t->to == FO_STATE_PARTNER_DOWN;
		r->s.to_recover += t->to == FO_STATE_RECOVER;
		cp_log(transition_level(t->from, t->to), "event=failover-state relationship=%s "
		       "server=local from=%s to=%s reason=%s partner=%s", r->name,
		       fo_state_str(t->from), fo_state_str(t->to),
		       fo_state_reason_str(t->reason), fo_state_str(r->st.partner));
	}
	if (r->st.partner != r->partner_logged) {
		/* The partner's own change, as its STATE told us (Windows logs both servers'). */
		cp_log(transition_level(r->partner_logged, r->st.partner),
		       "event=failover-partner-state relationship=%s server=partner "
		       "partner-address=%s from=%s to=%s", r->name,
		       lw_ip4_fmt(c->partner_addr).s, fo_state_str(r->partner_logged),
		       fo_state_str(r->st.partner));
		r->partner_logged = r->st.partner;
	}
	if (out->overflow) {
		cp_log(CP_LOG_ERR, "failover %s: state machine output overflow (a bug)", r->name);
	}
}

/* The effects of the state machine's actions on a relationship (fo_act.h); ctx: struct act. */
struct act {
	struct cp_fo *f;
	struct rel *r;
};

static void act_persist(void *ctx)
{
	struct act *a = ctx;

	persist_state(a->f, a->r);
}

static void act_send(void *ctx, struct fo_msg *m)
{
	fo_run_send_or_log(((struct act *)ctx)->r, m, false, 0);
}

static void act_send_updates(void *ctx)
{
	fo_run_mark_all_dirty(((struct act *)ctx)->r, F_UNACKED);
}

static void act_disconnect(void *ctx, uint8_t reject_reason)
{
	fo_link_disconnect(((struct act *)ctx)->r->link, reject_reason, "failover state machine");
}

static void act_alarm(void *ctx)
{
	const struct rel *r = ((struct act *)ctx)->r;

	cp_log(CP_LOG_WARN, "event=failover-alarm relationship=%s state=%s partner=%s: "
	       "operator attention needed", r->name, fo_state_str(r->st.state),
	       fo_state_str(r->st.partner));
}

static const struct fo_act_ops act_ops = {
	.persist = act_persist,
	.send = act_send,
	.send_updates = act_send_updates,
	.disconnect = act_disconnect,
	.alarm = act_alarm,
};

static void run_actions(struct cp_fo *f, struct rel *r, const struct fo_state_output *out)
{
	struct act ctx = {.f = f, .r = r};
	bool service;

	log_transitions(f, r, out);
	service = fo_act_run(out, &act_ops, &ctx, &r->my_updreq);
	if (service || out->n_transitions > 0) {
		publish_view(f, r);
	}
	for (unsigned i = 0; i < out->n_transitions; i++) {
		if (out->transitions[i].to == FO_STATE_NORMAL && r->role == FO_ROLE_PRIMARY) {
			/* ISC's primary balances its pools on entering NORMAL, then now and
			 * then; a POOLREQ from the secondary asks for the same. */
			fo_run_pool_balance(f, r);
			r->last_balance = fo_run_wall_s();
		}
	}
}

static void feed(struct cp_fo *f, struct rel *r, const struct fo_state_event *ev)
{
	struct fo_state_output out;
	int rc = fo_state_handle(&r->st, ev, &out);

	if (rc != 0 && rc != -EALREADY && rc != -ENOTCONN) {
		cp_log(CP_LOG_INFO, "failover %s: event %s ignored in %s: %s", r->name,
		       fo_state_event_str(ev->type), fo_state_str(r->st.state), strerror(-rc));
		return;
	}
	run_actions(f, r, &out);
}

/* --- link events -------------------------------------------------------------------- */

static void on_message(struct cp_fo *f, struct rel *r, const struct fo_msg *m)
{
	struct fo_state_event ev = {.now = fo_run_wall_s()};

	ev.type = FO_EV_MSG_RECEIVED;
	feed(f, r, &ev);
	switch (m->type) {
	case FO_MSG_STATE:
		if (!fo_msg_has(m, FO_OPT_SERVER_STATE)) {
			cp_log(CP_LOG_WARN, "failover %s: STATE without server-state: ignored",
			       r->name);
			break;
		}
		ev.type = FO_EV_PARTNER_STATE;
		ev.wire_state = m->server_state;
		ev.flags = fo_msg_has(m, FO_OPT_SERVER_FLAGS) ? m->server_flags : 0;
		/* Never wrapped below 0 (issue 11 item 11): a start time before our epoch is
		 * the earliest, which picks POTENTIAL-CONFLICT over RECOVER, the safe side. */
		ev.stos = fo_msg_has(m, FO_OPT_STOS) && m->stos != 0 ?
			  fo_run_partner_time(r, m->stos) : ev.now;
		feed(f, r, &ev);
		break;
	case FO_MSG_BNDUPD:
		fo_run_on_bndupd(f, r, m);
		break;
	case FO_MSG_BNDACK:
		fo_run_on_bndack(f, r, m);
		break;
	case FO_MSG_UPDREQALL:
	case FO_MSG_UPDREQ:
		if (m->type == FO_MSG_UPDREQALL) {
			r->s.updreqall_rx++;
			fo_run_mark_all_dirty(r, 0);
		} else {
			r->s.updreq_rx++;
			fo_run_mark_all_dirty(r, F_UNACKED);
		}
		r->answering = true;
		r->updreq_xid = m->xid;
		break;
	case FO_MSG_UPDDONE:
		r->s.upddone_rx++;
		if (!r->my_updreq.pending || m->xid != r->my_updreq.xid) {
			cp_log(CP_LOG_INFO, "failover %s: UPDDONE xid %u answers no request of ours: "
			       "ignored", r->name, m->xid);
			break;
		}
		r->my_updreq.pending = false;
		fo_link_skew(r->link, &r->sk);
		if (r->sk.out_of_sync && r->st.state == FO_STATE_RECOVER) {
			/* The link rejected the partner's BNDUPDs (reason 4) while the clocks
			 * disagree: this UPDDONE does not mean we have them. Stay in RECOVER and
			 * ask again once the clocks agree (skew_release()). */
			r->recover_redo = true;
			r->s.upddone_deferred++;
			cp_log(CP_LOG_WARN, "failover %s: UPDDONE received while out of time "
			       "synchronization (skew %d s): not complete, asked again when the "
			       "clocks agree", r->name, r->sk.skew);
			break;
		}
		ev.type = FO_EV_UPDDONE_RECEIVED;
		feed(f, r, &ev);
		break;
	case FO_MSG_POOLREQ:
		r->s.poolreq_rx++;
		if (r->role == FO_ROLE_PRIMARY) {
			struct fo_msg resp;

			fo_run_pool_balance(f, r);
			fo_msg_init(&resp, FO_MSG_POOLRESP, 0, 0);
			resp.addresses_transferred = r->pool_pending;
			resp.present |= FO_BIT(FO_OPT_ADDRESSES_TRANSFERRED);
			fo_run_send_or_log(r, &resp, true, m->xid);
		} else {
			cp_log(CP_LOG_WARN, "failover %s: POOLREQ to a secondary: ignored", r->name);
		}
		break;
	case FO_MSG_POOLRESP:
		r->s.poolresp_rx++;
		cp_log(CP_LOG_INFO, "failover %s: the primary gives us %u addresses", r->name,
		       fo_msg_has(m, FO_OPT_ADDRESSES_TRANSFERRED) ? m->addresses_transferred : 0);
		break;
	default:
		break;	/* CONTACT: the link has restarted its timer */
	}
}

/* Secondary in hot standby: the primary's HBA gives every bucket to the server it thinks
 * active. Two servers that both think themselves active (or standby) serve everyone (or
 * no one): say so loudly, the configuration must be fixed on one side. */
static void hba_role_check(struct rel *r)
{
	unsigned primary = fo_hash_hba_count(r->hba);
	bool we_active = fo_state_active(&r->st.cfg);

	if (r->mode != FO_MODE_HOT_STANDBY) {
		return;
	}
	if ((we_active && primary == 256) || (!we_active && primary == 0)) {
		cp_log(CP_LOG_ERR, "failover %s: the primary's hash split says it is %s, and "
		       "this server is %s too: set server-role \"active\" on one server and "
		       "\"standby\" on the other", r->name, primary ? "active" : "standby",
		       we_active ? "active" : "standby");
	}
}

/* A message's skew (fo_run_skew_seen()); a clock step it shows is saved at once (at most
 * once a second: a partner whose clock flaps costs one store write a second at most). */
static void skew_seen(struct cp_fo *f, struct rel *r, int32_t skew, uint64_t now)
{
	uint32_t n = r->n_steps;
	int32_t ref = r->skew_ref;
	bool set = r->skew_ref_set;

	fo_run_skew_seen(r, skew, now);
	if ((n != r->n_steps || ref != r->skew_ref || set != r->skew_ref_set) &&
	    now != r->last_persist) {
		persist_state(f, r);
	}
}

static void on_link_event(struct cp_fo *f, struct rel *r, const struct fo_link_event *e)
{
	char text[CP_LOG_ESC_SIZE(FO_LINK_REASON_MAX)];	/* partner's text, escaped */
	struct fo_state_event ev = {.now = fo_run_wall_s()};

	switch (e->type) {
	case FO_LINK_UP:
		skew_seen(f, r, e->skew, ev.now);
		r->window = e->partner_max_unacked == 0 ? 1 : e->partner_max_unacked;
		if (r->window > OUT_MAX) {
			r->window = OUT_MAX;
		}
		if (r->role == FO_ROLE_SECONDARY && e->partner_has_hba) {
			memcpy(r->hba, e->partner_hba, FO_HBA_LEN);
			hba_role_check(r);
		}
		cp_log(CP_LOG_INFO, "event=failover-link relationship=%s link=up "
		       "partner-vendor=\"%s\" partner-receive-timer=%u partner-max-unacked=%u "
		       "skew=%d", r->name, cp_log_esc(text, sizeof(text), e->reason,
						       sizeof(e->reason)),
		       e->partner_receive_timer, e->partner_max_unacked, e->skew);
		ev.type = FO_EV_LINK_UP;
		feed(f, r, &ev);
		ev.type = FO_EV_CONNECT_OK;
		ev.partner_receive_timer = e->partner_receive_timer;
		ev.mclt = r->role == FO_ROLE_SECONDARY ? e->partner_mclt : 0;
		feed(f, r, &ev);
		break;
	case FO_LINK_DOWN:
		cp_log(CP_LOG_WARN, "event=failover-link relationship=%s link=down reason=\"%s\"",
		       r->name, cp_log_esc(text, sizeof(text), e->reason, sizeof(e->reason)));
		fo_run_out_reset(r);
		fo_run_in_reset(f, r);
		ev.type = FO_EV_LINK_DOWN;
		feed(f, r, &ev);
		break;
	case FO_LINK_REJECTED:
		cp_log(CP_LOG_WARN, "event=failover-link relationship=%s link=rejected by=%s "
		       "reason=%u message=\"%s\"", r->name, e->local ? "us" : "partner",
		       e->reject_reason, cp_log_esc(text, sizeof(text), e->reason,
						    sizeof(e->reason)));
		break;
	case FO_LINK_MESSAGE:
		/* The skew of this message converts the times it carries (fo_run_in.c). */
		skew_seen(f, r, e->skew, ev.now);
		on_message(f, r, &e->msg);
		break;
	}
}

/* Every address is done and acked: answer the partner's UPDREQ(ALL). */
static void maybe_upddone(struct cp_fo *f, struct rel *r)
{
	struct fo_state_event ev = {.now = fo_run_wall_s(), .type = FO_EV_UPDDONE_SENT};
	struct fo_msg m;

	if (!r->answering || r->dq_count > 0 || r->n_out > 0 || !fo_link_is_up(r->link)) {
		return;
	}
	fo_msg_init(&m, FO_MSG_UPDDONE, 0, 0);
	fo_run_send_or_log(r, &m, true, r->updreq_xid);
	r->answering = false;
	r->s.upddone_tx++;
	feed(f, r, &ev);
}

/* --- start, stop, poll -------------------------------------------------------------- */

/* The listener of c's address:port, created for the first relationship there. */
static int listener_attach(struct cp_fo *f, struct rel *r, const struct dp_relationship *c)
{
	struct fo_lsock *l = NULL;
	char err[256];
	int rc;

	for (uint32_t i = 0; i < f->n_lsock; i++) {
		if (f->lsock[i].addr == c->local_addr && f->lsock[i].port == c->port) {
			l = &f->lsock[i];
		}
	}
	if (l == NULL) {
		struct in_addr a = {.s_addr = htonl(c->local_addr)};

		if (f->n_lsock == DP_MAX_RELATIONSHIPS) {
			return -1;	/* cannot be: one per relationship at most */
		}
		l = &f->lsock[f->n_lsock];
		l->ls = fo_listener_new(a, c->port, 0, err, sizeof(err));
		if (l->ls == NULL) {
			cp_log(CP_LOG_ERR, "relationships[%u] (%s): %s", r->index, r->name, err);
			return -1;
		}
		l->addr = c->local_addr;
		l->port = c->port;
		f->n_lsock++;
	}
	rc = fo_listener_add(l->ls, r->link);
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "relationships[%u] (%s): cannot share the listener on %s:%u: "
		       "%s", r->index, r->name, lw_ip4_fmt(c->local_addr).s, c->port,
		       rc == -EEXIST ? "a relationship of that name listens there already" :
		       strerror(-rc));
		return -1;
	}
	r->ls = l->ls;
	l->n_rels++;
	return 0;
}

static struct fo_lsock *lsock_of(struct cp_fo *f, const struct fo_listener *ls)
{
	for (uint32_t i = 0; i < f->n_lsock; i++) {
		if (f->lsock[i].ls == ls) {
			return &f->lsock[i];
		}
	}
	return NULL;
}

static int rel_start(struct cp_fo *f, struct rel *r, uint32_t index, bool restore)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	const struct dp_relationship *c = &cfg->relationships[index];
	struct fo_state_config sc = {
		.role = c->role == DP_FO_PRIMARY ? FO_ROLE_PRIMARY : FO_ROLE_SECONDARY,
		.mode = c->mode == DP_FO_HOT_STANDBY ? FO_MODE_HOT_STANDBY : FO_MODE_LOAD_BALANCE,
		.mclt = c->mclt,
		.safe_period = c->auto_state_transition ? c->state_switch_interval : 0,
		.max_response_delay = c->max_response_delay,
		.startup_time = FO_STATE_DEFAULT_STARTUP_TIME,
		.shutdown_persists = true,
		/* Hot standby: the configured part, whichever side is primary (the default
		 * "active" keeps the old meaning for a config that only sets "standby"). */
		.server_role = c->mode != DP_FO_HOT_STANDBY ? FO_SERVER_ROLE_DEFAULT :
			       c->standby ? FO_SERVER_ROLE_STANDBY : FO_SERVER_ROLE_ACTIVE,
	};
	struct fo_link_cfg lc = {
		.name = c->name,
		.role = c->role == DP_FO_PRIMARY ? FO_LINK_PRIMARY : FO_LINK_SECONDARY,
		.local_addr = {.s_addr = htonl(c->local_addr)},
		.local_port = c->port,
		.partner_addr = {.s_addr = htonl(c->partner_addr)},
		.partner_port = c->partner_port,
		.receive_timer = c->max_response_delay,
		.max_unacked = c->max_unacked < IN_MAX ? c->max_unacked : IN_MAX,
		.mclt = c->mclt,
		.shared_secret = c->shared_secret,
		.digest = c->digest == DP_FO_DIGEST_HMAC_MD5 ? FO_DIGEST_HMAC_MD5 :
			  FO_DIGEST_HMAC_SHA256,
		.shared_listener = true,
	};
	struct fo_state_record rec;
	struct fo_state_output out;
	char err[256];
	unsigned split;
	int have;

	r->index = index;
	snprintf(r->name, sizeof(r->name), "%s", c->name);
	r->role = sc.role;
	r->mode = sc.mode;
	/* The primary's buckets: its load-balance share, or all/none in hot standby (all to
	 * the active server). The secondary takes the primary's from its CONNECT. */
	if (sc.mode == FO_MODE_HOT_STANDBY) {
		split = (sc.role == FO_ROLE_PRIMARY) == fo_state_active(&sc) ? 256 : 0;
	} else {
		split = fo_hash_split_from_percent(sc.role, c->load_balance_percent);
	}
	fo_hash_hba_from_split(r->hba, split);
	memcpy(lc.hba, r->hba, FO_HBA_LEN);
	r->scopes = calloc(c->n_scopes ? c->n_scopes : 1, sizeof(*r->scopes));
	if (r->scopes == NULL) {
		return -1;
	}
	r->n_scopes = c->n_scopes;
	for (uint32_t k = 0; k < c->n_scopes; k++) {
		r->scopes[k].scope = c->scopes[k];
		r->scopes[k].base = r->n_addr;
		r->scopes[k].total = f->rt->snap->pools->pools[c->scopes[k]].total;
		r->n_addr += r->scopes[k].total;
	}
	r->af = calloc(r->n_addr ? r->n_addr : 1, 1);
	r->dirtyq = calloc(r->n_addr ? r->n_addr : 1, sizeof(*r->dirtyq));
	r->tofree = calloc(r->n_addr ? r->n_addr : 1, sizeof(*r->tofree));
	r->ugen = calloc(r->n_addr ? r->n_addr : 1, sizeof(*r->ugen));
	r->inq = calloc(IN_MAX, sizeof(*r->inq));
	if (r->af == NULL || r->dirtyq == NULL || r->tofree == NULL || r->ugen == NULL ||
	    r->inq == NULL) {
		cp_log(CP_LOG_ERR, "failover %s: out of memory for %" PRIu64 " addresses", r->name,
		       r->n_addr);
		return -1;
	}
	r->link = fo_link_new(&lc, err, sizeof(err));
	if (r->link == NULL) {
		cp_log(CP_LOG_ERR, "relationships[%u] (%s): %s", index, r->name, err);
		return -1;
	}
	if (listener_attach(f, r, c) != 0) {
		return -1;
	}
	/* A relationship created live starts fresh, whatever a namesake of the past left. */
	have = restore ? load_state(f, r, &rec) : 0;
	if (have < 0) {
		return -1;
	}
	if (fo_state_init(&r->st, &sc, have ? &rec : NULL, fo_run_wall_s(), &out) != 0) {
		cp_log(CP_LOG_ERR, "failover %s: the stored state is not valid; remove it with "
		       "care (the server then starts as RECOVER)", r->name);
		return -1;
	}
	r->published_svc = FO_SERVICE_NONE;
	cp_log(CP_LOG_INFO, "failover %s: %s, %s, %u scope(s), %" PRIu64 " addresses, MCLT %us, "
	       "partner %s:%u, %s", r->name, fo_role_str(sc.role), fo_mode_str(sc.mode),
	       r->n_scopes, r->n_addr, sc.mclt, lw_ip4_fmt(c->partner_addr).s, c->partner_port,
	       have ? "state restored" : "no stored state (first start, or storage lost)");
	run_actions(f, r, &out);
	publish_view(f, r);
	persist_state(f, r);
	return 0;
}

/* Let go of @p r: state saved (unless @p removed), link closed, view withdrawn, memory freed.
 * No op of r may be in flight (the workers stopped, or cp_fo_prepare() drained them). */
/* Stop and free @p r, which must no longer be in f->rels: its flush drains the tap, and
 * fo_run_unacked_cb() looks each address up in every relationship listed. */
static void rel_stop(struct cp_fo *f, struct rel *r, bool removed)
{
	if (r->af != NULL && r->link != NULL && !removed) {
		persist_state(f, r);
	}
	if (r->n_unack_del > 0 || r->n_pet_put > 0) {
		(void)fo_run_unacked_flush(f, r);
	}
	if (r->ls != NULL) {
		struct fo_lsock *l = lsock_of(f, r->ls);

		fo_listener_remove(r->ls, r->link);
		if (l != NULL && l->n_rels > 0) {
			l->n_rels--;
		}
	}
	fo_link_free(r->link);
	free(r->scopes);
	free(r->af);
	free(r->pool_gpending);
	free(r->pool_goff);
	free(r->dirtyq);
	free(r->tofree);
	free(r->ugen);
	free(r->inq);
	if (r->index < DP_MAX_RELATIONSHIPS && f->rt->fo[r->index] != NULL) {
		struct dp_fo_view *v = f->rt->fo[r->index];

		rcu_assign_pointer(f->rt->fo[r->index], NULL);
		urcu_qsbr_call_rcu(&v->rcu, view_free);
	}
	free(r);
}

/* Listeners no relationship uses any more are closed (their address:port may go). */
static void lsock_gc(struct cp_fo *f)
{
	for (uint32_t i = 0; i < f->n_lsock;) {
		if (f->lsock[i].n_rels == 0) {
			fo_listener_free(f->lsock[i].ls);
			f->lsock[i] = f->lsock[--f->n_lsock];
		} else {
			i++;
		}
	}
}

/* The store's unacked marks of the relationships (re)started live (reload_unacked). */
static int reload_cb(uint32_t addr, uint64_t gen, void *arg)
{
	struct cp_fo *f = arg;
	const struct dp_scope *s = dp_config_scope_of(f->rt->snap->cfg, addr);

	for (uint32_t i = 0; s != NULL && s->fo_rel != 0 && i < f->n; i++) {
		struct rel *r = f->rels[i];
		uint64_t idx;

		if (r->reload_unacked && r->index + 1 == s->fo_rel &&
		    (idx = fo_run_addr_index(f, r, addr)) != UINT64_MAX) {
			r->ugen[idx] = gen;
			fo_run_mark_dirty(r, idx);
		}
	}
	return 0;
}

int cp_fo_start(const struct cp_fo_env *env, struct cp_fo **out)
{
	const struct dp_config *cfg = env->rt->snap->cfg;
	struct cp_fo *f;
	int rc;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		cp_log(CP_LOG_ERR, "failover: out of memory");
		return -1;
	}
	*out = f;	/* from here on, a failure leaves it to cp_fo_stop() */
	f->rt = env->rt;
	f->store = env->store;
	f->committer = env->committer;
	f->apply = env->apply;
	cp_leaseop_init(&f->lops, env->sink);
	for (uint32_t i = 0; i < cfg->n_relationships; i++) {
		f->rels[i] = calloc(1, sizeof(*f->rels[i]));
		if (f->rels[i] == NULL) {
			cp_log(CP_LOG_ERR, "failover: out of memory");
			return -1;
		}
		f->n = i + 1;
		if (rel_start(f, f->rels[i], i, true) != 0) {
			return -1;
		}
	}
	if (f->n == 0) {
		return 0;
	}
	rc = store_unacked_load(f->store, fo_run_unacked_cb, f);
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "failover: cannot read the unacked updates: %s",
		       store_strerror(rc));
		return -1;
	}
	for (uint32_t i = 0; i < f->n; i++) {
		if (f->rels[i]->dq_count > 0) {
			cp_log(CP_LOG_INFO, "failover %s: %" PRIu64 " update(s) the partner has not "
			       "acknowledged will be sent again", f->rels[i]->name,
			       f->rels[i]->dq_count);
		}
	}
	return 0;
}

void cp_fo_stop(struct cp_fo *f)
{
	if (f == NULL) {
		return;
	}
	cp_leaseop_abort_all(&f->lops);	/* the workers have stopped */
	/* Each leaves the list before it stops: its last flush drains the tap, whose addresses
	 * are looked up in every relationship listed (rel_stop()). */
	while (f->n > 0) {
		rel_stop(f, f->rels[--f->n], false);
	}
	for (uint32_t i = 0; i < f->n_lsock; i++) {
		fo_listener_free(f->lsock[i].ls);	/* after every link it served */
	}
	free(f);
}

bool cp_fo_active(const struct cp_fo *f)
{
	return f != NULL && f->n > 0;
}

/* --- live changes ------------------------------------------------------------------- */

static struct rel *rel_by_name(struct cp_fo *f, const char *name);

/* Does relationship @p a of @p ca run exactly as @p b of @p cb (every setting, the same
 * scopes by name, in order)? */
static bool rel_same(const struct dp_config *ca, const struct dp_relationship *a,
		     const struct dp_config *cb, const struct dp_relationship *b)
{
	if (memcmp(a, b, offsetof(struct dp_relationship, scopes)) != 0 ||
	    a->n_scopes != b->n_scopes) {
		return false;
	}
	for (uint32_t k = 0; k < a->n_scopes; k++) {
		if (strcmp(ca->scopes[a->scopes[k]].name, cb->scopes[b->scopes[k]].name) != 0) {
			return false;
		}
	}
	return true;
}

static const struct dp_relationship *rel_cfg_named(const struct dp_config *c, const char *name,
						   uint32_t *index)
{
	for (uint32_t i = 0; i < c->n_relationships; i++) {
		if (strcmp(c->relationships[i].name, name) == 0) {
			*index = i;
			return &c->relationships[i];
		}
	}
	return NULL;
}

/* Is an op of a relationship that is not kept still in flight? */
static bool ops_of_stopping(const struct cp_fo *f)
{
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		if (f->ops[i].used && f->ops[i].rel != NULL && !f->ops[i].rel->keep) {
			return true;
		}
	}
	return false;
}

int cp_fo_prepare(struct cp_fo *f, const struct dp_config *nc, char *err, size_t errlen)
{
	const struct dp_config *cur = f->rt->snap->cfg;
	struct rel *stop[DP_MAX_RELATIONSHIPS];
	uint32_t n = 0, n_stop = 0, idx = 0;

	f->n_restarting = 0;
	for (uint32_t i = 0; i < f->n; i++) {
		struct rel *r = f->rels[i];
		const struct dp_relationship *b = rel_cfg_named(nc, r->name, &idx);

		r->keep = b != NULL && rel_same(cur, &cur->relationships[r->index], nc, b);
		if (b != NULL && !r->keep) {
			snprintf(f->restarting[f->n_restarting++], DP_NAME_MAX, "%s", r->name);
		}
	}
	/*
	 * A stopped relationship's worker ops must end first (an op holds its rel, and its
	 * BNDACK is owed only once the change is durable). They are short: the worker's step
	 * and the store's commit. Bounded; refused rather than waiting on a stuck store.
	 */
	for (unsigned ms = 0; ops_of_stopping(f); ms++) {
		if (ms >= 3000) {
			for (uint32_t i = 0; i < f->n; i++) {
				f->rels[i]->keep = true;
			}
			f->n_restarting = 0;
			snprintf(err, errlen, "failover: binding changes of the relationships to "
				 "change are still in flight after 3 s (is the store stuck?); "
				 "nothing changed, try again");
			return -1;
		}
		(void)cp_leaseop_poll(&f->lops);
		fo_run_ops_progress(f);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000L};

		nanosleep(&ts, NULL);
	}
	for (uint32_t i = 0; i < f->n; i++) {
		struct rel *r = f->rels[i];

		if (!r->keep) {
			stop[n_stop++] = r;
			continue;
		}
		/* Kept, maybe at another index: the workers read views by the index of the
		 * snapshot they hold, so a moving view is withdrawn until commit publishes it at
		 * its new place (its scopes answer nobody for that instant). */
		(void)rel_cfg_named(nc, r->name, &idx);
		if (idx != r->index && f->rt->fo[r->index] != NULL) {
			struct dp_fo_view *v = f->rt->fo[r->index];

			rcu_assign_pointer(f->rt->fo[r->index], NULL);
			urcu_qsbr_call_rcu(&v->rcu, view_free);
		}
		f->rels[n++] = r;
	}
	f->n = n;
	/* Off the list before they stop (rel_stop()). */
	for (uint32_t i = 0; i < n_stop; i++) {
		struct rel *r = stop[i];
		bool removed = rel_cfg_named(nc, r->name, &idx) == NULL;

		cp_log(CP_LOG_INFO, "failover %s: %s", r->name, removed ?
		       "removed: link closed, its scopes serve alone" :
		       "settings changed: link closed, restarts from its saved state");
		rel_stop(f, r, removed);
	}
	lsock_gc(f);
	return 0;
}

void cp_fo_commit(struct cp_fo *f)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	struct rel *next[DP_MAX_RELATIONSHIPS] = {0};
	bool reload = false;
	uint32_t n = 0;

	for (uint32_t i = 0; i < cfg->n_relationships; i++) {
		const struct dp_relationship *c = &cfg->relationships[i];
		struct rel *r = rel_by_name(f, c->name);
		bool restore = false;

		if (r != NULL) {
			r->index = i;
			for (uint32_t k = 0; k < r->n_scopes && k < c->n_scopes; k++) {
				r->scopes[k].scope = c->scopes[k];
			}
			next[n++] = r;
			continue;
		}
		for (uint32_t j = 0; j < f->n_restarting; j++) {
			restore |= strcmp(f->restarting[j], c->name) == 0;
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL || rel_start(f, r, i, restore) != 0) {
			cp_log(CP_LOG_ERR, "event=failover-start-failed relationship=%s: its scopes "
			       "answer no client until the next change or restart", c->name);
			if (r != NULL) {
				rel_stop(f, r, true);
			}
			continue;
		}
		r->reload_unacked = true;
		reload = true;
		next[n++] = r;
	}
	memcpy(f->rels, next, sizeof(next));
	f->n = n;
	f->n_restarting = 0;
	for (uint32_t i = 0; i < f->n; i++) {
		f->rels[i]->keep = false;
		publish_view(f, f->rels[i]);
	}
	if (reload && store_unacked_load(f->store, reload_cb, f) != 0) {
		cp_log(CP_LOG_ERR, "failover: cannot read the unacked updates: the partner "
		       "learns of them at its next UPDREQ");
	}
	for (uint32_t i = 0; i < f->n; i++) {
		f->rels[i]->reload_unacked = false;
	}
	lsock_gc(f);
}

int cp_fo_fds(struct cp_fo *f, struct pollfd *out, int max)
{
	int n = 0;

	for (uint32_t i = 0; f != NULL && i < f->n_lsock && n < max; i++) {
		n += fo_listener_fds(f->lsock[i].ls, out + n, max - n);
	}
	for (uint32_t i = 0; f != NULL && i < f->n && n < max; i++) {
		n += fo_link_fds(f->rels[i]->link, out + n, max - n);
	}
	return n;
}

int cp_fo_timeout_ms(struct cp_fo *f)
{
	uint64_t now = mono_ms(), w = fo_run_wall_s();
	int t = -1;

	for (uint32_t i = 0; f != NULL && i < f->n_lsock; i++) {
		int lt = fo_listener_timeout_ms(f->lsock[i].ls, now);

		t = t < 0 || lt < t ? lt : t;
	}
	for (uint32_t i = 0; f != NULL && i < f->n; i++) {
		struct rel *r = f->rels[i];
		uint64_t dl = fo_state_next_deadline(&r->st);
		int lt = fo_link_timeout_ms(r->link, now);

		if (dl != UINT64_MAX) {
			int st = dl <= w ? 0 : dl - w > 60 ? 60000 : (int)(dl - w) * 1000;

			lt = st < lt ? st : lt;
		}
		if ((r->dq_count > 0 && r->st.comm_ok && r->n_out < r->window) ||
		    r->in_count > 0 || r->pool_pending > 0 || f->n_ops > 0) {
			lt = 1;
		}
		t = t < 0 || lt < t ? lt : t;
	}
	return t;
}

static void listener_poll(struct cp_fo *f, struct fo_lsock *l, uint64_t now_ms, uint64_t now)
{
	char name[CP_LOG_ESC_SIZE(FO_LINK_NAME_MAX)], text[CP_LOG_ESC_SIZE(FO_LINK_REASON_MAX)];
	int n = fo_listener_poll(l->ls, now_ms, (uint32_t)now, f->lev, EV_MAX);

	for (int j = 0; j < n; j++) {
		const struct fo_listener_event *e = &f->lev[j];
		char from[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &e->from, from, sizeof(from));
		cp_log(CP_LOG_WARN, "event=failover-link listener=%s:%u link=refused from=%s "
		       "name=\"%s\" reason=%u message=\"%s\"", lw_ip4_fmt(l->addr).s, l->port,
		       from, cp_log_esc(name, sizeof(name), e->name, sizeof(e->name)),
		       e->reject_reason, cp_log_esc(text, sizeof(text), e->reason,
						    sizeof(e->reason)));
	}
}

/* Held updates go out again, and an interrupted RECOVER asks again (the clocks agree). */
static void skew_release(struct cp_fo *f, struct rel *r, uint64_t now)
{
	r->skew_retry = now + FO_LINK_MAX_SKEW / 2;
	if (r->n_skewheld > 0) {
		for (uint64_t i = 0; i < r->n_addr; i++) {
			if (r->af[i] & F_SKEWHELD) {
				r->af[i] &= (uint8_t)~F_SKEWHELD;
				fo_run_mark_dirty(r, i);
			}
		}
		r->n_skewheld = 0;
	}
	if (r->recover_redo && fo_link_is_up(r->link) && !r->my_updreq.pending) {
		struct act ctx = {.f = f, .r = r};

		r->recover_redo = false;
		if (r->st.state == FO_STATE_RECOVER) {
			fo_act_send_updreq(r->my_updreq.type ? r->my_updreq.type :
					   FO_MSG_UPDREQALL, &act_ops, &ctx, &r->my_updreq);
		}
	}
}

/*
 * The link's clock-skew condition (fo_link.h): a new episode is a critical event naming the
 * skew (Windows event 20253); its end is information. Nothing here touches the state
 * machine: skew must never change the failover state (seed 003).
 */
static void skew_check(struct cp_fo *f, struct rel *r, uint64_t now)
{
	struct fo_link_skew k;
	bool began;

	fo_link_skew(r->link, &k);
	began = k.episodes != r->sk.episodes;
	if (began) {
		cp_log(CP_LOG_CRIT, "event=failover-time-out-of-sync relationship=%s skew=%d "
		       "partner-address=%s: out of time synchronization with the failover partner "
		       "by %d s (limit %d): its binding updates are rejected until the clocks "
		       "agree", r->name, k.skew,
		       lw_ip4_fmt(f->rt->snap->cfg->relationships[r->index].partner_addr).s,
		       k.skew, FO_LINK_MAX_SKEW);
	}
	if (!k.out_of_sync && (r->sk.out_of_sync || began)) {
		cp_log(CP_LOG_INFO, "event=failover-time-in-sync relationship=%s skew=%d worst=%d "
		       "rejected=%" PRIu64, r->name, k.skew, k.worst, k.rejected);
	}
	r->skew = k.skew;
	r->sk = k;
	if (!k.out_of_sync && (r->n_skewheld > 0 || r->recover_redo) && now >= r->skew_retry) {
		skew_release(f, r, now);
	}
}

/* Windows' "binding update queue at 90 % of its size": our outbound queue holds one slot per
 * address of the relationship. Counted on each rise past 90 %. */
static void queue_check(struct rel *r)
{
	bool high = r->n_addr > 0 && r->dq_count * 10 >= r->n_addr * 9;

	if (high && !r->queue_high_now) {
		r->s.queue_high++;
	}
	r->queue_high_now = high;
}

void cp_fo_clock_step(struct cp_fo *f, int64_t step)
{
	if (f == NULL || step == 0) {
		return;
	}
	/* (The pacing of pool balance, persistence and held-update release stays on the wall
	 * clock: a step only brings them forward or delays them.) */
	for (uint32_t i = 0; i < f->n; i++) {
		fo_state_clock_step(&f->rels[i]->st, step);
		/* Our records stamped before the step: fo_run_in.c, "Stamps across a clock
		 * step". */
		fo_run_own_step(f->rels[i], step, fo_run_wall_s());
		persist_state(f, f->rels[i]);
	}
}

void cp_fo_poll(struct cp_fo *f)
{
	uint64_t now_ms, now;

	if (f == NULL) {
		return;
	}
	fo_run_drain_tap(f);
	(void)cp_leaseop_poll(&f->lops);
	fo_run_ops_progress(f);
	now_ms = mono_ms();
	now = fo_run_wall_s();
	/* Listeners first: a CONNECT they hand over is answered by its link below. */
	for (uint32_t i = 0; i < f->n_lsock; i++) {
		listener_poll(f, &f->lsock[i], now_ms, now);
	}
	for (uint32_t i = 0; i < f->n; i++) {
		struct rel *r = f->rels[i];
		struct fo_state_output out;
		int n;

		/* Bounded: a partner streaming messages must not starve the rest of the loop
		 * (the socket keeps what is left for the next poll). */
		for (int round = 0; round < 8; round++) {
			n = fo_link_poll(r->link, now_ms, (uint32_t)now, f->ev, EV_MAX);
			for (int j = 0; j < n; j++) {
				on_link_event(f, r, &f->ev[j]);
			}
			if (n < EV_MAX) {
				break;
			}
		}
		skew_check(f, r, now);
		fo_state_tick(&r->st, now, &out);
		run_actions(f, r, &out);
		if (fo_state_may_use_partner_pool(&r->st, now) != r->published_pp) {
			publish_view(f, r);
		}
		fo_run_inq_progress(f, r);
		fo_run_tofree_progress(f, r);
		if (r->role == FO_ROLE_PRIMARY && r->st.state == FO_STATE_NORMAL &&
		    r->pool_pending == 0 && (now >= r->last_balance + BALANCE_EVERY ||
					     fo_run_pool_sig(f, r) != r->pool_sig)) {
			/* Now and then, and at once when its scopes' policy ranges changed (a
			 * policy added here or replicated from the partner): each range must
			 * hold the secondary's share (fo_run_pool.c). */
			fo_run_pool_balance(f, r);
			r->last_balance = now;
		}
		if (r->pool_pending > 0) {
			fo_run_pool_progress(f, r);
		}
		fo_run_send_updates(f, r);
		queue_check(r);
		maybe_upddone(f, r);
		if (r->n_unack_del > 0 || r->n_pet_put > 0) {
			(void)fo_run_unacked_flush(f, r);
		}
		if (now >= r->last_persist + PERSIST_EVERY) {
			persist_state(f, r);
		}
	}
}

/* --- operator ----------------------------------------------------------------------- */

static struct rel *rel_by_name(struct cp_fo *f, const char *name)
{
	for (uint32_t i = 0; f != NULL && i < f->n; i++) {
		if (strcmp(f->rels[i]->name, name) == 0) {
			return f->rels[i];
		}
	}
	return NULL;
}

int cp_fo_command(struct cp_fo *f, const char *name, enum cp_fo_cmd cmd, char *err,
		  size_t errlen)
{
	struct rel *r = rel_by_name(f, name);
	struct fo_state_event ev = {.now = fo_run_wall_s()};
	struct fo_state_output out;
	enum fo_endpoint_state before;
	int rc;

	if (r == NULL) {
		snprintf(err, errlen, "no failover relationship \"%s\"", name);
		return -1;
	}
	before = r->st.state;
	switch (cmd) {
	case CP_FO_CMD_PARTNER_DOWN:
		ev.type = FO_EV_CMD_PARTNER_DOWN;
		break;
	case CP_FO_CMD_SHUTDOWN:
		ev.type = FO_EV_CMD_SHUTDOWN;
		break;
	case CP_FO_CMD_RECOVER:
		ev.type = FO_EV_CMD_RECOVER;
		ev.updates_pending = false;
		for (uint64_t i = 0; i < r->n_addr && !ev.updates_pending; i++) {
			ev.updates_pending = (r->af[i] & F_UNACKED) != 0;
		}
		break;
	case CP_FO_CMD_RESYNC:
		fo_run_mark_all_dirty(r, 0);
		cp_log(CP_LOG_INFO, "event=failover-resync relationship=%s addresses=%" PRIu64,
		       r->name, r->n_addr);
		return 0;
	}
	rc = fo_state_handle(&r->st, &ev, &out);
	if (rc == -EPERM) {
		snprintf(err, errlen, "relationship \"%s\" is in state %s: %s is not allowed there",
			 name, fo_state_str(r->st.state), fo_state_event_str(ev.type));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return -1;
	}
	cp_log(CP_LOG_INFO, "event=failover-command relationship=%s command=%s from=%s to=%s",
	       name, fo_state_event_str(ev.type), fo_state_str(before),
	       fo_state_str(r->st.state));
	run_actions(f, r, &out);
	return 0;
}

/* Is the client of @b answered by this server in NORMAL (the relationship's HBA)? */
static bool used_by_us(const struct rel *r, bool we_active, const struct bt_binding *b)
{
	uint8_t bucket;

	if (r->mode == FO_MODE_HOT_STANDBY) {
		return we_active;
	}
	if (b->key.type == DP_KEY_CLIENT_ID) {
		bucket = fo_hash_client_bucket(b->key.data, b->key.len, NULL, 0);
	} else {
		bucket = fo_hash_client_bucket(NULL, 0, b->hw_len > 1 ? b->hw + 1 : NULL,
					       b->hw_len > 1 ? (size_t)b->hw_len - 1 : 0);
	}
	return fo_hash_hba_primary(r->hba, bucket) == (r->role == FO_ROLE_PRIMARY);
}

/*
 * Per scope, Windows' DHCP_FAILOVER_STATISTICS: free addresses are the primary's (FREE, no
 * binding) or the secondary's (BACKUP, D12 §5.4); addresses in use (ACTIVE, OFFERED) count
 * for the server that answers their client in NORMAL (the hash split; the active server in
 * hot standby). One scan of the relationship's addresses, RCU online by pieces.
 */
static json_t *scope_stats(struct cp_fo *f, struct rel *r)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	bool we_active = fo_state_active(&r->st.cfg);
	json_t *l = json_array();

	urcu_qsbr_thread_online();
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		uint64_t free_p = 0, free_s = 0, used_me = 0, used_partner = 0, other = 0;
		const struct fo_scope *sc = &r->scopes[k];

		for (uint64_t i = 0; i < sc->total; i++) {
			uint32_t kk, addr = fo_run_index_addr(f, r, sc->base + i, &kk);
			const struct bt_binding *b;

			if ((i & 1023) == 0) {
				urcu_qsbr_quiescent_state();
			}
			b = bt_lookup_addr(f->rt->table, addr);
			if (b == NULL || b->state == BT_FREE) {
				free_p++;
			} else if (b->state == BT_BACKUP) {
				free_s++;
			} else if (b->state == BT_ACTIVE || b->state == BT_OFFERED) {
				if (used_by_us(r, we_active, b)) {
					used_me++;
				} else {
					used_partner++;
				}
			} else {
				other++;	/* EXPIRED, RELEASED, ABANDONED, RESET */
			}
		}
		bool prim = r->role == FO_ROLE_PRIMARY;

		json_array_append_new(l, json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"scope", cfg->scopes[sc->scope].name,
			"addresses", (json_int_t)sc->total,
			"free", (json_int_t)free_p + (json_int_t)free_s,
			"in-use", (json_int_t)used_me + (json_int_t)used_partner,
			"this-free", (json_int_t)(prim ? free_p : free_s),
			"partner-free", (json_int_t)(prim ? free_s : free_p),
			"this-in-use", (json_int_t)used_me,
			"partner-in-use", (json_int_t)used_partner,
			"other", (json_int_t)other));
	}
	urcu_qsbr_thread_offline();
	return l;
}

static json_t *rel_status(struct cp_fo *f, struct rel *r)
{
	const struct dp_config *cfg = f->rt->snap->cfg;
	const struct dp_relationship *c = &cfg->relationships[r->index];
	const struct fo_link_stats *ls = fo_link_stats(r->link);
	const struct fo_lsock *lk = lsock_of(f, r->ls);
	const struct fo_listener_stats *lst = r->ls != NULL ? fo_listener_stats(r->ls) : NULL;
	uint64_t unacked = 0;
	json_t *o, *scopes = json_array();
	bool hs = r->mode == FO_MODE_HOT_STANDBY;

	for (uint64_t i = 0; i < r->n_addr; i++) {
		unacked += (r->af[i] & F_UNACKED) != 0;
	}
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		json_array_append_new(scopes, json_string(cfg->scopes[r->scopes[k].scope].name));
	}
	o = json_pack(
		"{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:b, s:s, s:i, s:i, s:I, s:I, s:I, s:I, "
		"s:i, s:o, s:o}",
		"name", r->name,
		"role", fo_role_str(r->role),
		"mode", fo_mode_str(r->mode),
		"state", fo_state_str(r->st.state),
		"state-since", (json_int_t)r->st.stos,
		"partner-state", fo_state_str(r->st.partner),
		"partner-state-since", (json_int_t)r->st.partner_stos,
		"link", !fo_link_is_up(r->link) ? "down" : r->st.comm_ok ? "up" : "connecting",
		"communications-ok", r->st.comm_ok,
		"service", fo_service_str(fo_state_service(&r->st)),
		"mclt", (int)r->st.mclt,
		"skew", (int)r->skew,
		"addresses", (json_int_t)r->n_addr,
		"unacked", (json_int_t)unacked,
		"queued", (json_int_t)r->dq_count,
		"in-flight", (json_int_t)r->n_out,
		"window", (int)r->window,
		"messages", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				      "s:I, s:I}",
				      "bndupd-sent", (json_int_t)r->s.bndupd_tx,
				      "bndupd-received", (json_int_t)r->s.bndupd_rx,
				      "bndack-sent", (json_int_t)r->s.bndack_tx,
				      "bndack-received", (json_int_t)r->s.bndack_rx,
				      "bndack-mismatched", (json_int_t)r->s.bndack_mismatch,
				      "rejects-sent", (json_int_t)r->s.reject_tx,
				      "rejects-received", (json_int_t)r->s.reject_rx,
				      "updreqall-received", (json_int_t)r->s.updreqall_rx,
				      "updreq-received", (json_int_t)r->s.updreq_rx,
				      "upddone-sent", (json_int_t)r->s.upddone_tx,
				      "upddone-received", (json_int_t)r->s.upddone_rx,
				      "poolreq-received", (json_int_t)r->s.poolreq_rx,
				      "addresses-given", (json_int_t)r->s.pool_given,
				      "returned-to-pool", (json_int_t)r->s.to_free),
		"link-counters", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					   "connects", (json_int_t)ls->connects,
					   "accepts", (json_int_t)ls->accepts,
					   "refused-source", (json_int_t)ls->refused_src,
					   "refused-duplicate", (json_int_t)ls->refused_dup,
					   "startup-timeouts", (json_int_t)ls->startup_timeouts,
					   "messages-received", (json_int_t)ls->rx_msgs,
					   "messages-sent", (json_int_t)ls->tx_msgs,
					   "authentication-failures", (json_int_t)ls->auth_failed,
					   "replays", (json_int_t)ls->replayed));
	if (o == NULL) {
		json_decref(scopes);
		return NULL;
	}
	/* What Get-DhcpServerv4Failover shows (never the secret). */
	json_object_set_new(o, "partner-address", json_string(lw_ip4_fmt(c->partner_addr).s));
	json_object_set_new(o, "partner-port", json_integer(c->partner_port));
	json_object_set_new(o, "local-address", json_string(lw_ip4_fmt(c->local_addr).s));
	json_object_set_new(o, "port", json_integer(c->port));
	json_object_set_new(o, "server-role", hs ? json_string(fo_state_active(&r->st.cfg) ?
							       "active" : "standby") : json_null());
	json_object_set_new(o, "load-balance-percent",
			    hs ? json_null() : json_integer(c->load_balance_percent));
	json_object_set_new(o, "partner-load-balance-percent",
			    hs ? json_null() : json_integer(100 - c->load_balance_percent));
	json_object_set_new(o, "reserve-percent", hs ? json_integer(c->reserve_percent) :
			    json_null());
	json_object_set_new(o, "split", json_integer(fo_hash_hba_count(r->hba)));
	json_object_set_new(o, "state-switch-interval", c->auto_state_transition ?
			    json_integer(c->state_switch_interval) : json_null());
	json_object_set_new(o, "auto-state-transition", json_boolean(c->auto_state_transition));
	json_object_set_new(o, "authentication", json_boolean(c->shared_secret[0] != '\0'));
	json_object_set_new(o, "authentication-algorithm", c->shared_secret[0] == '\0' ?
			    json_null() : json_string(c->digest == DP_FO_DIGEST_HMAC_MD5 ?
						      "hmac-md5" : "hmac-sha256"));
	json_object_set_new(o, "scopes", scopes);
	json_object_set_new(o, "time-out-of-sync", json_boolean(r->sk.out_of_sync));
	json_object_set_new(o, "pending", json_integer((json_int_t)r->dq_count + (json_int_t)r->n_out));
	json_object_set_new(o, "scope-statistics", scope_stats(f, r));
	/* Windows' failover counters (reference/windows-failover.md §5), monotonic. */
	json_object_set_new(o, "counters", json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"transitions-communications-interrupted", (json_int_t)r->s.to_comm_int,
		"transitions-partner-down", (json_int_t)r->s.to_partner_down,
		"transitions-recover", (json_int_t)r->s.to_recover,
		"bndupd-queue-high", (json_int_t)r->s.queue_high,
		"bndupd-dropped", (json_int_t)r->s.in_overflow,
		"time-out-of-sync-episodes", (json_int_t)r->sk.episodes,
		"bndupd-rejected-time", (json_int_t)r->sk.rejected,
		"bndupd-held-time", (json_int_t)r->s.skew_held,
		"upddone-deferred-time", (json_int_t)r->s.upddone_deferred,
		"moves-no-room", (json_int_t)r->s.move_no_room));
	if (lk != NULL && lst != NULL) {
		json_object_set_new(o, "listener", json_pack(
			"{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"address", lw_ip4_fmt(lk->addr).s, "port", (int)lk->port,
			"relationships", (int)lk->n_rels,
			"accepts", (json_int_t)lst->accepts,
			"handed", (json_int_t)lst->handed,
			"refused-source", (json_int_t)lst->refused_src,
			"refused-name", (json_int_t)lst->refused_name,
			"refused-address", (json_int_t)lst->refused_addr,
			"refused-busy", (json_int_t)lst->refused_busy,
			"garbage", (json_int_t)lst->garbage,
			"timeouts", (json_int_t)lst->timeouts));
	}
	return o;
}

json_t *cp_fo_status(struct cp_fo *f, const char *name)
{
	json_t *l = json_array();

	for (uint32_t i = 0; f != NULL && i < f->n; i++) {
		if (name == NULL || strcmp(name, f->rels[i]->name) == 0) {
			json_array_append_new(l, rel_status(f, f->rels[i]));
		}
	}
	if (name != NULL && json_array_size(l) == 0) {
		json_decref(l);
		return NULL;
	}
	return l;
}

/* --- apply's follower ----------------------------------------------------------------- */

static int follower_prepare(void *ctx, const struct dp_config *nc, char *err, size_t errlen)
{
	return cp_fo_prepare(ctx, nc, err, errlen);
}

static void follower_commit(void *ctx)
{
	cp_fo_commit(ctx);
}

const struct cp_apply_follower_ops cp_fo_follower = {
	.prepare = follower_prepare,
	.commit = follower_commit,
};
