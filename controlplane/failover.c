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

#include "bindings.h"
#include "daemon_impl.h"
#include "failover.h"
#include "fo_hash.h"
#include "fo_lease.h"
#include "fo_link.h"
#include "fo_msg.h"
#include "fo_state.h"
#include "log.h"
#include "pool.h"
#include "worker.h"

#define F_DIRTY		0x01
#define F_INFLIGHT	0x02
#define F_UNACKED	0x04
#define F_BUSY		0x08
#define F_TOFREE	0x10	/* acked as ended: to return to the primary's pool */

#define OUT_MAX		256	/* BNDUPDs in flight at most (and the partner's window) */
#define IN_MAX		512	/* partner's BNDUPDs queued at most */
#define OPS_MAX		256	/* worker ops in flight at most */
#define EV_MAX		16
#define UNACK_DEL_MAX	1024
#define REC_VERSION	1
#define REC_LEN		40
#define PERSIST_EVERY	30	/* seconds: last_op moves while serving */
#define TAP_BATCH	1024
#define BALANCE_EVERY	60	/* seconds: ISC min-balance */
#define SLACK		65	/* ISC accepts received times up to 65 s ahead (skew) */

struct fo_scope {
	uint32_t scope;
	uint64_t base, total;
};

/* One BNDUPD of ours waiting for its BNDACK. */
struct fo_out {
	bool used;
	uint32_t xid;
	uint32_t idx;
	uint8_t status;
	uint32_t pet;
};

/* One received BNDUPD, copied out of the link's buffer. */
struct fo_upd {
	uint32_t xid;
	uint32_t addr;
	uint64_t idx;			/* UINT64_MAX: not one of ours */
	uint8_t status;
	uint16_t ip_flags;
	uint64_t cltt, ends, pet, stos;
	bool has_cid, has_hw;
	uint8_t cid_len, hw_len;
	uint8_t cid[DP_KEY_MAX];
	uint8_t hw[DP_HW_MAX];
};

enum op_kind {
	OPK_INBOUND = 1,	/* the partner's update: BNDACK when durable */
	OPK_LOCAL,		/* our own conversion: the tap reports it */
};

struct fo_op {
	bool used, submitted;
	enum op_kind kind;
	struct rel *rel;
	uint64_t idx;
	uint32_t addr, xid, pet, worker;
	uint8_t tries;
	bool first_step;		/* op is the FREE on the old writer; then `want` */
	bool no_ack;			/* OPK_INBOUND whose link went down: no BNDACK */
	_Atomic uint8_t *hold;		/* dp_pool.fo_hold slot set for a two-step move */
	struct dp_lease_op op;
	struct dp_lease_op want;	/* the binding to make */
	struct fo_upd upd;		/* OPK_INBOUND: the update, decided again on -ESTALE */
};

struct rel_stats {
	uint64_t bndupd_tx, bndupd_rx, bndack_tx, bndack_rx, reject_tx, reject_rx;
	uint64_t updreq_rx, updreqall_rx, upddone_tx, upddone_rx, poolreq_rx, poolresp_rx;
	uint64_t pool_given, to_free, tap_lost_resends, op_failures, in_overflow;
};

struct rel {
	uint32_t index;			/* in dp_config.relationships */
	char name[DP_NAME_MAX];
	enum fo_role role;
	enum fo_mode mode;
	uint8_t hba[FO_HBA_LEN];	/* the primary's buckets */
	struct fo_link *link;
	struct fo_state st;
	bool published_pp;		/* partner_pool in the published view */
	enum fo_service published_svc;
	uint64_t last_persist;

	struct fo_scope *scopes;
	uint32_t n_scopes;
	uint64_t n_addr;
	uint8_t *af;			/* [n_addr] flags */
	uint64_t *dirtyq;		/* [n_addr] ring of indexes */
	uint64_t dq_head, dq_count;
	uint64_t *tofree;		/* [n_addr] ring: F_TOFREE addresses */
	uint64_t tf_head, tf_count;

	struct fo_out out[OUT_MAX];
	uint32_t n_out, window;
	int32_t skew;			/* partner clock - ours, seconds (from CONNECT) */
	uint32_t updreq_xid;		/* the partner's UPDREQ(ALL) we are answering */
	bool answering;
	uint32_t my_updreq_xid;		/* our UPDREQ(ALL) waiting for UPDDONE */
	bool my_updreq;

	struct fo_upd *inq;		/* [IN_MAX] FIFO */
	uint32_t in_head, in_count;
	uint32_t pool_pending;		/* POOLREQ being answered: addresses still to give */
	uint64_t last_balance;		/* primary: last pool_balance(), unix seconds */
	uint64_t pool_cursor;		/* pool_progress() goes on from here */

	uint32_t unack_del[UNACK_DEL_MAX];
	uint32_t n_unack_del;
	struct rel_stats s;
};

struct cp_failover {
	struct rel *rels;
	uint32_t n;
	struct fo_op ops[OPS_MAX];
	uint32_t n_ops;
	uint64_t tap_lost_seen;
	struct fo_link_event ev[EV_MAX];
};

static struct cp_failover *FO;	/* one daemon per process */

/* --- time ----------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint32_t clamp32(uint64_t t)
{
	return t > FO_LEASE_TIME_MAX ? (uint32_t)FO_LEASE_TIME_MAX : (uint32_t)t;
}

static const char *ip_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

/* --- address index -------------------------------------------------------------------- */

static const struct dp_pool *rel_pool(struct cp_daemon *d, const struct rel *r, uint32_t k)
{
	return &d->rt.snap->pools->pools[r->scopes[k].scope];
}

/* Index of @p addr in @p r, or UINT64_MAX. */
static uint64_t addr_index(struct cp_daemon *d, const struct rel *r, uint32_t addr)
{
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		uint64_t rank;

		if (dp_pool_rank(rel_pool(d, r, k), addr, &rank)) {
			return r->scopes[k].base + rank;
		}
	}
	return UINT64_MAX;
}

/* Address and scope of index @p idx. */
/* Position in r->scopes of the scope holding index @p idx. */
static uint32_t idx_scope(const struct rel *r, uint64_t idx)
{
	uint32_t k = 0;

	while (k + 1 < r->n_scopes && idx >= r->scopes[k + 1].base) {
		k++;
	}
	return k;
}

static uint32_t index_addr(struct cp_daemon *d, const struct rel *r, uint64_t idx, uint32_t *k)
{
	const struct dp_pool *p;
	uint64_t rank;

	*k = idx_scope(r, idx);
	p = rel_pool(d, r, *k);
	rank = idx - r->scopes[*k].base;
	for (uint32_t i = 0; i < p->n_ranges; i++) {
		if (rank < p->before[i] + (uint64_t)(p->ranges[i].last - p->ranges[i].first) + 1) {
			return p->ranges[i].first + (uint32_t)(rank - p->before[i]);
		}
	}
	return 0;
}

static _Atomic uint32_t *peer_pet_slot(struct cp_daemon *d, const struct rel *r, uint64_t idx)
{
	uint32_t k = idx_scope(r, idx);
	const struct dp_pool *p = rel_pool(d, r, k);

	return p->peer_pet == NULL ? NULL : &p->peer_pet[idx - r->scopes[k].base];
}

static _Atomic uint8_t *hold_slot(struct cp_daemon *d, const struct rel *r, uint64_t idx)
{
	uint32_t k = idx_scope(r, idx);
	const struct dp_pool *p = rel_pool(d, r, k);

	return p->fo_hold == NULL ? NULL : &p->fo_hold[idx - r->scopes[k].base];
}

static void peer_pet_raise(struct cp_daemon *d, const struct rel *r, uint64_t idx, uint64_t pet)
{
	_Atomic uint32_t *slot = peer_pet_slot(d, r, idx);

	if (slot != NULL && pet > atomic_load_explicit(slot, memory_order_relaxed)) {
		atomic_store_explicit(slot, clamp32(pet), memory_order_relaxed);
	}
}

static void mark_dirty(struct rel *r, uint64_t idx)
{
	r->af[idx] |= F_UNACKED;
	if (r->af[idx] & F_DIRTY) {
		return;
	}
	r->af[idx] |= F_DIRTY;
	r->dirtyq[(r->dq_head + r->dq_count) % r->n_addr] = idx;
	r->dq_count++;
}

static void mark_all_dirty(struct rel *r, uint8_t only)
{
	for (uint64_t i = 0; i < r->n_addr; i++) {
		if (only == 0 || (r->af[i] & only)) {
			mark_dirty(r, i);
		}
	}
}

static int unacked_flush(struct cp_daemon *d, struct rel *r);
static void drain_tap(struct cp_daemon *d);

/* The partner acked everything of @p idx: forget it in the store's unacked set. */
static void unacked_forget(struct cp_daemon *d, struct rel *r, uint64_t idx)
{
	uint32_t k;

	if (r->af[idx] & (F_DIRTY | F_INFLIGHT)) {
		return;
	}
	r->af[idx] &= (uint8_t)~F_UNACKED;
	if (r->n_unack_del == UNACK_DEL_MAX && unacked_flush(d, r) != 0) {
		return;	/* kept in the store: resent after a restart, harmless */
	}
	r->unack_del[r->n_unack_del++] = index_addr(d, r, idx, &k);
}

/*
 * Remove the acknowledged addresses from the store's unacked set. A newer change of one of
 * them may have been committed (with its mark) since: drain the tap first and keep every
 * address that is unacked again. (A change committed between this drain and the delete can
 * still lose its mark; it is sent anyway, only a crash in that window forgets it.)
 */
static int unacked_flush(struct cp_daemon *d, struct rel *r)
{
	uint32_t n = 0;
	int rc;

	drain_tap(d);
	for (uint32_t i = 0; i < r->n_unack_del; i++) {
		uint64_t idx = addr_index(d, r, r->unack_del[i]);

		if (idx == UINT64_MAX || !(r->af[idx] & F_UNACKED)) {
			r->unack_del[n++] = r->unack_del[i];
		}
	}
	r->n_unack_del = n;
	if (n == 0) {
		return 0;
	}
	rc = store_unacked_del(d->persist.store, r->unack_del, n);
	if (rc == 0) {
		r->n_unack_del = 0;
	}
	return rc;
}

/* --- views ---------------------------------------------------------------------------- */

static void view_free(struct rcu_head *h)
{
	free(caa_container_of(h, struct dp_fo_view, rcu));
}

static void publish_view(struct cp_daemon *d, struct rel *r)
{
	const struct dp_relationship *c = &d->rt.snap->cfg->relationships[r->index];
	struct dp_fo_view *v = calloc(1, sizeof(*v)), *old;
	uint64_t now = wall_s();

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
	old = d->rt.fo[r->index];
	rcu_assign_pointer(d->rt.fo[r->index], v);
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
		cp_requeue_all(d, "failover partner pool");
	}
	r->published_svc = (enum fo_service)v->service;
	r->published_pp = v->partner_pool;
}

/* --- persistence of the state record ------------------------------------------------- */

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

static void persist_state(struct cp_daemon *d, struct rel *r)
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
	b[5] = (uint8_t)(rec.mclt >> 24);
	b[6] = (uint8_t)(rec.mclt >> 16);
	b[7] = (uint8_t)(rec.mclt >> 8);
	b[8] = (uint8_t)rec.mclt;
	put_u64(b + 16, rec.stos);
	put_u64(b + 24, rec.last_op);
	put_u64(b + 32, rec.partner_stos);
	rc = store_fo_put(d->persist.store, r->name, b, sizeof(b));
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "failover %s: cannot save the state: %s", r->name,
		       store_strerror(rc));
	}
	r->last_persist = wall_s();
}

/* @return 1 and *rec, 0 when none is stored, -1 on an unreadable record. */
static int load_state(struct cp_daemon *d, struct rel *r, struct fo_state_record *rec)
{
	uint8_t b[REC_LEN];
	size_t len = 0;
	int rc = store_fo_get(d->persist.store, r->name, b, sizeof(b), &len);

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
	rec->mclt = (uint32_t)b[5] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 8 | b[8];
	rec->stos = get_u64(b + 16);
	rec->last_op = get_u64(b + 24);
	rec->partner_stos = get_u64(b + 32);
	return 1;
}

/* --- sending ------------------------------------------------------------------------ */

static void send_or_log(struct rel *r, struct fo_msg *m, bool xid_given, uint32_t xid)
{
	int rc = xid_given ? fo_link_send_xid(r->link, m, xid) : fo_link_send(r->link, m);

	if (rc != 0 && rc != -ENOTCONN) {
		cp_log(CP_LOG_WARN, "failover %s: sending %s: %s", r->name,
		       fo_msg_type_str(m->type), rc < -1000 ? fo_err_str(rc) : strerror(-rc));
	}
}

static void send_simple(struct rel *r, uint8_t type, uint32_t *xid_out)
{
	struct fo_msg m;

	fo_msg_init(&m, type, 0, 0);
	send_or_log(r, &m, false, 0);
	if (xid_out != NULL) {
		*xid_out = m.xid;
	}
}

static void send_bndack(struct rel *r, uint32_t xid, uint32_t addr, uint8_t reject,
			const char *text)
{
	struct fo_msg m;

	fo_msg_init(&m, FO_MSG_BNDACK, 0, 0);
	m.assigned_addr = addr;
	m.present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS);
	if (reject != 0) {
		m.reject_reason = reject;
		m.message.ptr = (const uint8_t *)text;
		m.message.len = (uint16_t)strlen(text);
		m.present |= FO_BIT(FO_OPT_REJECT_REASON) | FO_BIT(FO_OPT_MESSAGE);
		r->s.reject_tx++;
	}
	r->s.bndack_tx++;
	send_or_log(r, &m, true, xid);
}

/*
 * The binding status the partner must know for record @p b (NULL: none). An offer commits
 * nothing: it stands for what it covers (bt_binding.under): nothing or another client's
 * ended lease -> FREE, the secondary's address -> BACKUP, the same client's ended lease ->
 * that state.
 */
static uint8_t stored_status(const struct bt_binding *b)
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

/* Fill a BNDUPD for address @p addr from its current binding. RCU online. */
static void build_bndupd(struct cp_daemon *d, struct rel *r, uint32_t addr, uint32_t k,
			 struct fo_msg *m, uint8_t *status_out, uint32_t *pet_out)
{
	const struct bt_binding *b = bt_lookup_addr(d->rt.table, addr);
	const struct dp_scope *s = &d->rt.snap->cfg->scopes[r->scopes[k].scope];
	uint64_t now = wall_s();
	uint8_t status;

	fo_msg_init(m, FO_MSG_BNDUPD, 0, 0);
	m->assigned_addr = addr;
	m->present |= FO_BIT(FO_OPT_ASSIGNED_IP_ADDRESS) | FO_BIT(FO_OPT_BINDING_STATUS);
	*pet_out = 0;
	status = stored_status(b);
	m->binding_status = status;
	if (status == FO_LEASE_FREE || status == FO_LEASE_BACKUP) {
		m->stos = clamp32(b != NULL && b->state == BT_BACKUP ? b->start : now);
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
	m->stos = clamp32(b->start);
	m->cltt = clamp32(b->start);
	m->present |= FO_BIT(FO_OPT_STOS) | FO_BIT(FO_OPT_CLTT);
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
		m->lease_expiry = clamp32(b->ends);
		m->potential_expiry = clamp32(pet);
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
static void send_updates(struct cp_daemon *d, struct rel *r)
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
			mark_dirty(r, idx);
			continue;
		}
		addr = index_addr(d, r, idx, &k);
		for (uint32_t i = 0; i < OUT_MAX; i++) {
			if (!r->out[i].used) {
				o = &r->out[i];
				break;
			}
		}
		build_bndupd(d, r, addr, k, &m, &o->status, &o->pet);
		if (fo_link_send(r->link, &m) != 0) {
			mark_dirty(r, idx);	/* the link went down: the next one resends */
			break;
		}
		o->used = true;
		o->xid = m.xid;
		o->idx = (uint32_t)idx;
		r->af[idx] |= F_INFLIGHT;
		r->n_out++;
		r->s.bndupd_tx++;
	}
	urcu_qsbr_thread_offline();
}

/* The link is gone: every update in flight is sent again on the next one. */
static void out_reset(struct rel *r)
{
	for (uint32_t i = 0; i < OUT_MAX; i++) {
		if (r->out[i].used) {
			r->af[r->out[i].idx] &= (uint8_t)~F_INFLIGHT;
			mark_dirty(r, r->out[i].idx);
			r->out[i].used = false;
		}
	}
	r->n_out = 0;
	r->answering = false;
	r->my_updreq = false;
}

/* --- worker ops --------------------------------------------------------------------- */

static void in_reset(struct rel *r);

static struct fo_op *op_new(struct cp_failover *f)
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

static void op_end(struct cp_failover *f, struct fo_op *o)
{
	if (o->hold != NULL) {
		atomic_store_explicit(o->hold, 0, memory_order_release);
		o->hold = NULL;
	}
	o->rel->af[o->idx] &= (uint8_t)~F_BUSY;
	o->used = false;
	f->n_ops--;
}

/*
 * Choose the worker for o->want and set o->op: the writer of the current record; when the
 * binding must move to another writer, first a FREE there. RCU online.
 * @return 0, or 1 when nothing has to change (the binding already is what we want).
 */
static int op_route(struct cp_daemon *d, struct fo_op *o)
{
	const struct bt_binding *cur = bt_lookup_addr(d->rt.table, o->addr);
	const struct dp_lease_op *w = &o->want;
	uint32_t target;
	int own;

	if (w->state == BT_FREE) {
		if (cur == NULL) {
			return 1;
		}
		target = cur->owner;
	} else if (w->state == BT_BACKUP) {
		own = dp_pool_owner(d->rt.snap->pools, dp_config_scope_of(d->rt.snap->cfg,
							  o->addr)->index, o->addr);
		target = own < 0 ? 0 : (uint32_t)own;
		if (cur != NULL && cur->state == BT_BACKUP && cur->owner == target) {
			return 1;
		}
	} else {
		target = bt_key_owner(d->rt.table, &w->key, d->rt.n_workers);
	}
	o->op = *w;
	o->first_step = false;
	if (cur != NULL && cur->owner != target) {
		/* Another worker wrote the address: it frees it first (single writer). Until the
		 * new writer has written it, no worker may take the address (fo_hold). */
		memset(&o->op, 0, sizeof(o->op));
		o->op.kind = DP_OP_PEER;
		o->op.addr = o->addr;
		o->op.state = BT_FREE;
		o->op.from_peer = w->from_peer;
		o->first_step = true;
		target = cur->owner;
		if (o->hold == NULL) {
			o->hold = hold_slot(d, o->rel, o->idx);
			if (o->hold != NULL) {
				atomic_store_explicit(o->hold, 1, memory_order_release);
			}
		}
	}
	/* The worker applies the op only to the record decided against (-ESTALE else). */
	o->op.expect = true;
	o->op.expect_none = cur == NULL;
	if (cur != NULL) {
		o->op.expect_state = cur->state;
		o->op.expect_owner = cur->owner;
		o->op.expect_seq = cur->seq;
		o->op.expect_start = cur->start;
	}
	o->worker = target;
	atomic_store(&o->op.done, 0);
	o->submitted = false;
	return 0;
}

static void op_submit(struct cp_daemon *d, struct fo_op *o)
{
	if (!o->submitted &&
	    dp_worker_op(&d->rt.workers[o->worker], &o->op) == 0) {
		o->submitted = true;
	}
}

/* Start an op making the binding of @p idx o->want. @return 0 started, 1 nothing to do,
 * -1 no op slot. */
static int op_start(struct cp_daemon *d, struct rel *r, uint64_t idx, uint32_t addr,
		    enum op_kind kind, const struct dp_lease_op *want, const struct fo_upd *u)
{
	uint32_t xid = u != NULL ? u->xid : 0, pet = u != NULL ? (uint32_t)u->pet : 0;
	struct cp_failover *f = FO;
	struct fo_op *o = op_new(f);
	int rc;

	if (o == NULL) {
		return -1;
	}
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
	urcu_qsbr_thread_online();
	rc = op_route(d, o);
	urcu_qsbr_thread_offline();
	if (rc == 1) {
		o->used = false;
		f->n_ops--;
		return 1;
	}
	r->af[idx] |= F_BUSY;
	op_submit(d, o);
	return 0;
}

static void op_finish(struct cp_daemon *d, struct fo_op *o, int result)
{
	struct rel *r = o->rel;
	char ip[16];

	if (o->kind == OPK_INBOUND && o->no_ack) {
		if (result == 0) {
			peer_pet_raise(d, r, o->idx, o->pet);
		}
	} else if (o->kind == OPK_INBOUND) {
		if (result == 0) {
			peer_pet_raise(d, r, o->idx, o->pet);
			send_bndack(r, o->xid, o->addr, 0, NULL);
		} else {
			cp_log(CP_LOG_WARN, "failover %s: update of %s from the partner not applied: "
			       "%s", r->name, ip_str(o->addr, ip), strerror(-result));
			send_bndack(r, o->xid, o->addr, FO_RR_MISC_REJECT,
				    "binding could not be stored");
		}
	} else if (result != 0) {
		cp_log(CP_LOG_WARN, "failover %s: %s of %s not done: %s", r->name,
		       bt_state_str(o->want.state), ip_str(o->addr, ip), strerror(-result));
	}
	if (result != 0) {
		r->s.op_failures++;
	}
	op_end(FO, o);
}

/* Route @p o again from the table as it is now, and submit (or finish: nothing to do). */
static void op_reroute(struct cp_daemon *d, struct fo_op *o)
{
	int rc;

	urcu_qsbr_thread_online();
	rc = op_route(d, o);
	urcu_qsbr_thread_offline();
	if (rc == 1) {
		op_finish(d, o, 0);
	} else {
		op_submit(d, o);
	}
}

/*
 * A client changed the address between our decision and the worker's turn (-ESTALE): an
 * inbound update is decided again, first in the queue; our own conversion is dropped (the
 * client's change is what the partner hears next).
 */
static void op_stale(struct cp_daemon *d, struct fo_op *o)
{
	struct rel *r = o->rel;
	struct fo_upd u = o->upd;
	bool inbound = o->kind == OPK_INBOUND && !o->no_ack;

	(void)d;
	op_end(FO, o);
	if (!inbound) {
		return;
	}
	if (r->in_count < IN_MAX) {
		r->in_head = (r->in_head + IN_MAX - 1) % IN_MAX;
		r->inq[r->in_head] = u;
		r->in_count++;
	} else {
		send_bndack(r, u.xid, u.addr, FO_RR_MISC_REJECT, "binding changed meanwhile");
	}
}

/* Progress every op: submit, wait done, wait durable, second step, answer. */
static void ops_progress(struct cp_daemon *d)
{
	struct cp_failover *f = FO;
	const struct dp_commit *c = &d->rt.commit;

	for (uint32_t i = 0; i < OPS_MAX && f->n_ops > 0; i++) {
		struct fo_op *o = &f->ops[i];
		int res;

		if (!o->used) {
			continue;
		}
		op_submit(d, o);
		if (!o->submitted || !atomic_load_explicit(&o->op.done, memory_order_acquire)) {
			continue;
		}
		res = o->op.result;
		if (res == -ESTALE) {
			op_stale(d, o);
			continue;
		}
		if (res == -EAGAIN && o->tries++ < 3) {
			op_reroute(d, o);	/* the writer changed under us: route again */
			continue;
		}
		if (res != 0) {
			op_finish(d, o, res);
			continue;
		}
		if (o->op.seq != 0 && c->ops->durable(c->ctx, o->worker) < o->op.seq) {
			continue;
		}
		if (o->first_step) {
			op_reroute(d, o);	/* the old writer freed it: now the new one */
			continue;
		}
		op_finish(d, o, 0);
	}
}

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
static void local_binding(struct cp_daemon *d, uint32_t addr, bool in_pool,
			  struct fo_lease_binding *lb, struct dp_client_key *key_copy,
			  uint8_t *hw_copy, size_t *hw_len)
{
	const struct bt_binding *b = bt_lookup_addr(d->rt.table, addr);

	memset(lb, 0, sizeof(*lb));
	lb->in_pool = in_pool;
	*hw_len = 0;
	lb->status = stored_status(b);
	if (lb->status == FO_LEASE_FREE || lb->status == FO_LEASE_BACKUP) {
		return;
	}
	lb->stos = b->start;
	lb->cltt = b->start;
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

/* Decide and start one queued update. @return false when it must wait (busy, no slot). */
static bool handle_update(struct cp_daemon *d, struct rel *r, const struct fo_upd *u)
{
	struct fo_lease_update_ctx ctx = {
		.role = r->role, .now = wall_s(), .slack = SLACK,
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
	char ip[16];
	int rc;

	if (u->idx != UINT64_MAX && (r->af[u->idx] & F_BUSY)) {
		return false;
	}
	if (FO->n_ops == OPS_MAX) {
		return false;
	}
	up.client.id = u->has_cid ? u->cid : NULL;
	up.client.id_len = u->cid_len;
	up.client.hw = u->has_hw ? u->hw : NULL;
	up.client.hw_len = u->hw_len;
	ctx.outgoing_unacked = u->idx != UINT64_MAX && (r->af[u->idx] & F_INFLIGHT);
	urcu_qsbr_thread_online();
	local_binding(d, u->addr, u->idx != UINT64_MAX, &lb, &lkey, lhw, &lhw_len);
	v = fo_lease_check_update(&ctx, &lb, &up);
	urcu_qsbr_thread_offline();
	if (!v.accept) {
		cp_log(CP_LOG_INFO, "failover %s: BNDUPD %s %s rejected: %s (rule %s)", r->name,
		       ip_str(u->addr, ip), fo_lease_status_str(u->status),
		       fo_reject_reason_str(v.reject_reason), fo_lease_rule_str(v.rule));
		send_bndack(r, u->xid, u->addr, v.reject_reason, fo_reject_reason_str(
				    v.reject_reason));
		return true;
	}
	memset(&want, 0, sizeof(want));
	want.from_peer = true;
	want.start = u->stos ? u->stos : u->cltt ? u->cltt : ctx.now;
	switch (u->status) {
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
			send_bndack(r, u->xid, u->addr, 0, NULL);
			return true;
		}
		want.state = u->status;
		want.ends = u->status == FO_LEASE_ACTIVE ?
			    (u->ends >= FO_LEASE_TIME_MAX ? BT_INFINITE : u->ends) : want.start;
		if (u->has_hw && u->hw_len <= DP_HW_MAX) {
			want.hw_len = u->hw_len;
			memcpy(want.hw, u->hw, u->hw_len);
		}
		break;
	}
	rc = op_start(d, r, u->idx, u->addr, OPK_INBOUND, &want, u);
	if (rc < 0) {
		return false;
	}
	if (rc == 1) {
		peer_pet_raise(d, r, u->idx, u->pet);
		send_bndack(r, u->xid, u->addr, 0, NULL);
	}
	return true;
}

/* The link is gone: queued updates are dropped (the partner sends them again), and the
 * ones being applied finish without a BNDACK (their xids belonged to the old connection). */
static void in_reset(struct rel *r)
{
	r->in_head = 0;
	r->in_count = 0;
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		if (FO->ops[i].used && FO->ops[i].rel == r && FO->ops[i].kind == OPK_INBOUND) {
			FO->ops[i].no_ack = true;
		}
	}
}

static void inq_progress(struct cp_daemon *d, struct rel *r)
{
	while (r->in_count > 0) {
		struct fo_upd *u = &r->inq[r->in_head];

		if (u->idx == UINT64_MAX) {
			char ip[16];

			/* Not in our pools: reject 1 (D12 §7.1.3), whatever our table says. */
			cp_log(CP_LOG_INFO, "failover %s: BNDUPD for %s, not in this relationship's "
			       "pools: rejected", r->name, ip_str(u->addr, ip));
			send_bndack(r, u->xid, u->addr, FO_RR_ILLEGAL_IP_ADDR,
				    fo_reject_reason_str(FO_RR_ILLEGAL_IP_ADDR));
		} else if (!handle_update(d, r, u)) {
			break;
		}
		r->in_head = (r->in_head + 1) % IN_MAX;
		r->in_count--;
	}
}

/* A time option as the partner's clock says it, moved onto ours (D12 §8.4); 0 = absent. */
static uint64_t their_time(const struct rel *r, const struct fo_msg *m, unsigned opt,
			   uint32_t v)
{
	int64_t t;

	if (!fo_msg_has(m, opt) || v == 0) {
		return 0;
	}
	if (v == UINT32_MAX) {
		return FO_LEASE_TIME_MAX;
	}
	t = (int64_t)v - r->skew;
	return t > 0 ? (uint64_t)t : 1;
}

static void on_bndupd(struct cp_daemon *d, struct rel *r, const struct fo_msg *m)
{
	struct fo_upd *u;

	r->s.bndupd_rx++;
	if (!fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) || !fo_msg_has(m, FO_OPT_BINDING_STATUS)) {
		if (fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS)) {
			send_bndack(r, m->xid, m->assigned_addr, FO_RR_MISSING_BINDINFO,
				    "missing binding-status");
		} else {
			cp_log(CP_LOG_WARN, "failover %s: BNDUPD without an address: ignored",
			       r->name);
		}
		return;
	}
	if (r->in_count == IN_MAX) {
		r->s.in_overflow++;
		send_bndack(r, m->xid, m->assigned_addr, FO_RR_MISC_REJECT,
			    "too many outstanding updates (max-unacked exceeded)");
		return;
	}
	u = &r->inq[(r->in_head + r->in_count) % IN_MAX];
	memset(u, 0, sizeof(*u));
	u->xid = m->xid;
	u->addr = m->assigned_addr;
	u->idx = addr_index(d, r, m->assigned_addr);
	u->status = m->binding_status;
	u->ip_flags = fo_msg_has(m, FO_OPT_IP_FLAGS) ? m->ip_flags : 0;
	/* Times as the partner's clock says them, moved onto ours (D12 §8.4). */
	u->cltt = their_time(r, m, FO_OPT_CLTT, m->cltt);
	u->stos = their_time(r, m, FO_OPT_STOS, m->stos);
	u->pet = their_time(r, m, FO_OPT_POTENTIAL_EXPIRY, m->potential_expiry);
	u->ends = their_time(r, m, FO_OPT_LEASE_EXPIRY, m->lease_expiry);
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
	r->in_count++;
}

static void on_bndack(struct cp_daemon *d, struct rel *r, const struct fo_msg *m)
{
	struct fo_out *o = out_slot(r, m->xid);
	uint64_t idx;
	char ip[16];

	r->s.bndack_rx++;
	if (o == NULL) {
		cp_log(CP_LOG_INFO, "failover %s: BNDACK xid %u matches no update in flight: "
		       "ignored", r->name, m->xid);
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
		       ip_str(fo_msg_has(m, FO_OPT_ASSIGNED_IP_ADDRESS) ? m->assigned_addr : 0, ip),
		       fo_reject_reason_str(m->reject_reason),
		       fo_msg_has(m, FO_OPT_MESSAGE) ? ": " : "",
		       fo_msg_has(m, FO_OPT_MESSAGE) ? cp_log_esc(text, sizeof(text),
								    (const char *)m->message.ptr,
								    m->message.len) : "");
		/* D12 §7.2: log, do not resend at once; the partner's own update follows. */
		unacked_forget(d, r, idx);
		return;
	}
	peer_pet_raise(d, r, idx, o->pet);
	unacked_forget(d, r, idx);
	if ((o->status == FO_LEASE_EXPIRED || o->status == FO_LEASE_RELEASED ||
	     o->status == FO_LEASE_RESET) && !(r->af[idx] & F_TOFREE)) {
		/* Both agree the client is gone: the address returns to the primary's pool
		 * (D12 §5.4), by tofree_progress(). */
		r->af[idx] |= F_TOFREE;
		r->tofree[(r->tf_head + r->tf_count) % r->n_addr] = idx;
		r->tf_count++;
	}
}

/*
 * Return acknowledged EXPIRED/RELEASED/RESET addresses to the primary's pool (FREE), each
 * once it is neither busy nor about to be sent again, and only if it is still in an ended
 * state (its client may have come back: then it is not freed). An offer over it waits.
 */
static void tofree_progress(struct cp_daemon *d, struct rel *r)
{
	static const struct dp_lease_op want = {.state = BT_FREE};

	for (uint64_t left = r->tf_count; left > 0 && FO->n_ops < OPS_MAX; left--) {
		uint64_t idx = r->tofree[r->tf_head];
		const struct bt_binding *b;
		uint32_t k, addr = index_addr(d, r, idx, &k);
		uint8_t st;

		r->tf_head = (r->tf_head + 1) % r->n_addr;
		r->tf_count--;
		urcu_qsbr_thread_online();
		b = bt_lookup_addr(d->rt.table, addr);
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
		    op_start(d, r, idx, addr, OPK_LOCAL, &want, NULL) == 0) {
			r->s.to_free++;
		}
	}
}

/* --- pools -------------------------------------------------------------------------- */

/* Index @p i as an address (*addr) that pool balancing counts and may give: in a dynamic
 * range, not excluded, not reserved. */
static bool balance_addr(struct cp_daemon *d, const struct rel *r, uint64_t i, uint32_t *addr)
{
	uint32_t k;
	const struct dp_scope *s;

	*addr = index_addr(d, r, i, &k);
	s = &d->rt.snap->cfg->scopes[r->scopes[k].scope];
	return dp_scope_in_pool(s, *addr) && dp_scope_find_reservation_addr(s, *addr) == NULL;
}

/* Primary: give the secondary BACKUP addresses up to its share. */
static void pool_balance(struct cp_daemon *d, struct rel *r)
{
	const struct dp_relationship *c = &d->rt.snap->cfg->relationships[r->index];
	uint64_t n_free = 0, n_backup = 0, target;

	urcu_qsbr_thread_online();
	for (uint64_t i = 0; i < r->n_addr; i++) {
		const struct bt_binding *b;
		uint32_t addr;

		if ((i & 1023) == 0) {
			urcu_qsbr_quiescent_state();	/* no record is held across addresses */
		}
		if (!balance_addr(d, r, i, &addr)) {
			continue;
		}
		b = bt_lookup_addr(d->rt.table, addr);
		n_free += b == NULL;
		n_backup += b != NULL && b->state == BT_BACKUP;
	}
	/* FREE -> BACKUP conversions still on their way to the table are given already (a
	 * POOLREQ right after our own balance on entering NORMAL must not give them again). */
	for (uint32_t i = 0; i < OPS_MAX; i++) {
		const struct fo_op *o = &FO->ops[i];

		if (o->used && o->rel == r && o->kind == OPK_LOCAL && o->want.state == BT_BACKUP &&
		    bt_lookup_addr(d->rt.table, o->addr) == NULL && n_free > 0) {
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
static void pool_progress(struct cp_daemon *d, struct rel *r)
{
	static const struct dp_lease_op backup = {.state = BT_BACKUP};

	for (uint64_t i = r->pool_cursor; i < r->n_addr && r->pool_pending > 0;
	     r->pool_cursor = ++i) {
		uint32_t addr;
		bool free_now;

		if ((r->af[i] & F_BUSY) || !balance_addr(d, r, i, &addr)) {
			continue;
		}
		urcu_qsbr_thread_online();
		free_now = bt_lookup_addr(d->rt.table, addr) == NULL;
		urcu_qsbr_thread_offline();
		if (!free_now) {
			continue;
		}
		if (op_start(d, r, i, addr, OPK_LOCAL, &backup, NULL) < 0) {
			return;	/* no op slot: go on at the next poll */
		}
		r->pool_pending--;
		r->s.pool_given++;
	}
	r->pool_pending = 0;
}

/* --- the state machine's actions ---------------------------------------------------- */

static void log_transitions(struct rel *r, const struct fo_state_output *out)
{
	for (unsigned i = 0; i < out->n_transitions; i++) {
		const struct fo_state_transition *t = &out->transitions[i];

		cp_log(CP_LOG_INFO, "event=failover-state relationship=%s from=%s to=%s reason=%s "
		       "partner=%s", r->name, fo_state_str(t->from), fo_state_str(t->to),
		       fo_state_reason_str(t->reason), fo_state_str(r->st.partner));
	}
	if (out->overflow) {
		cp_log(CP_LOG_ERR, "failover %s: state machine output overflow (a bug)", r->name);
	}
}

static void run_actions(struct cp_daemon *d, struct rel *r, const struct fo_state_output *out)
{
	bool service = false;

	log_transitions(r, out);
	for (unsigned i = 0; i < out->n_actions; i++) {
		const struct fo_state_action *a = &out->actions[i];
		struct fo_msg m;

		switch (a->type) {
		case FO_ACT_PERSIST:
			persist_state(d, r);
			break;
		case FO_ACT_SEND_STATE:
			fo_msg_init(&m, FO_MSG_STATE, 0, 0);
			m.server_state = a->wire_state;
			m.server_flags = a->flags;
			m.stos = a->stos;
			m.present |= FO_BIT(FO_OPT_SERVER_STATE) | FO_BIT(FO_OPT_SERVER_FLAGS) |
				     FO_BIT(FO_OPT_STOS);
			send_or_log(r, &m, false, 0);
			break;
		case FO_ACT_SEND_UPDREQ:
		case FO_ACT_SEND_UPDREQALL:
			send_simple(r, a->type == FO_ACT_SEND_UPDREQ ? FO_MSG_UPDREQ :
				    FO_MSG_UPDREQALL, &r->my_updreq_xid);
			r->my_updreq = true;
			break;
		case FO_ACT_SEND_UPDATES:
			mark_all_dirty(r, F_UNACKED);
			break;
		case FO_ACT_SEND_POOLREQ:
			send_simple(r, FO_MSG_POOLREQ, NULL);
			break;
		case FO_ACT_SEND_DISCONNECT:
			fo_link_disconnect(r->link, a->reject_reason, "failover state machine");
			break;
		case FO_ACT_CLOSE_LINK:
			fo_link_disconnect(r->link, 0, "failover state machine");
			break;
		case FO_ACT_SERVICE:
			service = true;
			break;
		case FO_ACT_ALARM:
			cp_log(CP_LOG_WARN, "event=failover-alarm relationship=%s state=%s partner=%s: "
			       "operator attention needed", r->name, fo_state_str(r->st.state),
			       fo_state_str(r->st.partner));
			break;
		case FO_ACT_SEND_CONNECT:	/* fo_link does the handshake */
		case FO_ACT_SEND_CONTACT:	/* and the keepalives */
		default:
			break;
		}
	}
	if (service || out->n_transitions > 0) {
		publish_view(d, r);
	}
	for (unsigned i = 0; i < out->n_transitions; i++) {
		if (out->transitions[i].to == FO_STATE_NORMAL && r->role == FO_ROLE_PRIMARY) {
			/* ISC's primary balances its pools on entering NORMAL, then now and
			 * then; a POOLREQ from the secondary asks for the same. */
			pool_balance(d, r);
			r->last_balance = wall_s();
		}
	}
}

static void feed(struct cp_daemon *d, struct rel *r, const struct fo_state_event *ev)
{
	struct fo_state_output out;
	int rc = fo_state_handle(&r->st, ev, &out);

	if (rc != 0 && rc != -EALREADY && rc != -ENOTCONN) {
		cp_log(CP_LOG_INFO, "failover %s: event %s ignored in %s: %s", r->name,
		       fo_state_event_str(ev->type), fo_state_str(r->st.state), strerror(-rc));
		return;
	}
	run_actions(d, r, &out);
}

/* --- link events -------------------------------------------------------------------- */

static void on_message(struct cp_daemon *d, struct rel *r, const struct fo_msg *m)
{
	struct fo_state_event ev = {.now = wall_s()};

	ev.type = FO_EV_MSG_RECEIVED;
	feed(d, r, &ev);
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
		ev.stos = fo_msg_has(m, FO_OPT_STOS) && m->stos != 0 ?
			  (uint64_t)((int64_t)m->stos - r->skew) : ev.now;
		feed(d, r, &ev);
		break;
	case FO_MSG_BNDUPD:
		on_bndupd(d, r, m);
		break;
	case FO_MSG_BNDACK:
		on_bndack(d, r, m);
		break;
	case FO_MSG_UPDREQALL:
	case FO_MSG_UPDREQ:
		if (m->type == FO_MSG_UPDREQALL) {
			r->s.updreqall_rx++;
			mark_all_dirty(r, 0);
		} else {
			r->s.updreq_rx++;
			mark_all_dirty(r, F_UNACKED);
		}
		r->answering = true;
		r->updreq_xid = m->xid;
		break;
	case FO_MSG_UPDDONE:
		r->s.upddone_rx++;
		if (!r->my_updreq || m->xid != r->my_updreq_xid) {
			cp_log(CP_LOG_INFO, "failover %s: UPDDONE xid %u answers no request of ours: "
			       "ignored", r->name, m->xid);
			break;
		}
		r->my_updreq = false;
		ev.type = FO_EV_UPDDONE_RECEIVED;
		feed(d, r, &ev);
		break;
	case FO_MSG_POOLREQ:
		r->s.poolreq_rx++;
		if (r->role == FO_ROLE_PRIMARY) {
			struct fo_msg resp;

			pool_balance(d, r);
			fo_msg_init(&resp, FO_MSG_POOLRESP, 0, 0);
			resp.addresses_transferred = r->pool_pending;
			resp.present |= FO_BIT(FO_OPT_ADDRESSES_TRANSFERRED);
			send_or_log(r, &resp, true, m->xid);
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

static void on_link_event(struct cp_daemon *d, struct rel *r, const struct fo_link_event *e)
{
	char text[CP_LOG_ESC_SIZE(FO_LINK_REASON_MAX)];	/* partner's text, escaped */
	struct fo_state_event ev = {.now = wall_s()};

	switch (e->type) {
	case FO_LINK_UP:
		r->skew = e->skew;
		r->window = e->partner_max_unacked == 0 ? 1 : e->partner_max_unacked;
		if (r->window > OUT_MAX) {
			r->window = OUT_MAX;
		}
		if (r->role == FO_ROLE_SECONDARY && e->partner_has_hba) {
			memcpy(r->hba, e->partner_hba, FO_HBA_LEN);
		}
		cp_log(CP_LOG_INFO, "event=failover-link relationship=%s link=up "
		       "partner-vendor=\"%s\" partner-receive-timer=%u partner-max-unacked=%u "
		       "skew=%d", r->name, cp_log_esc(text, sizeof(text), e->reason,
						       sizeof(e->reason)),
		       e->partner_receive_timer, e->partner_max_unacked, e->skew);
		ev.type = FO_EV_LINK_UP;
		feed(d, r, &ev);
		ev.type = FO_EV_CONNECT_OK;
		ev.partner_receive_timer = e->partner_receive_timer;
		ev.mclt = r->role == FO_ROLE_SECONDARY ? e->partner_mclt : 0;
		feed(d, r, &ev);
		break;
	case FO_LINK_DOWN:
		cp_log(CP_LOG_WARN, "event=failover-link relationship=%s link=down reason=\"%s\"",
		       r->name, cp_log_esc(text, sizeof(text), e->reason, sizeof(e->reason)));
		out_reset(r);
		in_reset(r);
		ev.type = FO_EV_LINK_DOWN;
		feed(d, r, &ev);
		break;
	case FO_LINK_REJECTED:
		cp_log(CP_LOG_WARN, "event=failover-link relationship=%s link=rejected by=%s "
		       "reason=%u message=\"%s\"", r->name, e->local ? "us" : "partner",
		       e->reject_reason, cp_log_esc(text, sizeof(text), e->reason,
						    sizeof(e->reason)));
		break;
	case FO_LINK_MESSAGE:
		on_message(d, r, &e->msg);
		break;
	}
}

/* Every address is done and acked: answer the partner's UPDREQ(ALL). */
static void maybe_upddone(struct cp_daemon *d, struct rel *r)
{
	struct fo_state_event ev = {.now = wall_s(), .type = FO_EV_UPDDONE_SENT};
	struct fo_msg m;

	if (!r->answering || r->dq_count > 0 || r->n_out > 0 || !fo_link_is_up(r->link)) {
		return;
	}
	fo_msg_init(&m, FO_MSG_UPDDONE, 0, 0);
	send_or_log(r, &m, true, r->updreq_xid);
	r->answering = false;
	r->s.upddone_tx++;
	feed(d, r, &ev);
}

/* --- start, stop, poll -------------------------------------------------------------- */

static int rel_start(struct cp_daemon *d, struct rel *r, uint32_t index)
{
	const struct dp_config *cfg = d->rt.snap->cfg;
	const struct dp_relationship *c = &cfg->relationships[index];
	struct fo_state_config sc = {
		.role = c->role == DP_FO_PRIMARY ? FO_ROLE_PRIMARY : FO_ROLE_SECONDARY,
		.mode = c->mode == DP_FO_HOT_STANDBY ? FO_MODE_HOT_STANDBY : FO_MODE_LOAD_BALANCE,
		.mclt = c->mclt,
		.safe_period = c->auto_state_transition ? c->state_switch_interval : 0,
		.max_response_delay = c->max_response_delay,
		.startup_time = FO_STATE_DEFAULT_STARTUP_TIME,
		.shutdown_persists = true,
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
	/* The primary's buckets: its load-balance share, or all/none in hot standby. */
	if (sc.mode == FO_MODE_HOT_STANDBY) {
		split = (sc.role == FO_ROLE_PRIMARY) == !c->standby ? 256 : 0;
	} else {
		unsigned mine = (c->load_balance_percent * 256u + 50) / 100;

		split = sc.role == FO_ROLE_PRIMARY ? mine : 256 - mine;
	}
	fo_hash_hba_from_split(r->hba, split);
	memcpy(lc.hba, r->hba, FO_HBA_LEN);
	r->scopes = calloc(c->n_scopes, sizeof(*r->scopes));
	if (r->scopes == NULL) {
		return -1;
	}
	r->n_scopes = c->n_scopes;
	for (uint32_t k = 0; k < c->n_scopes; k++) {
		r->scopes[k].scope = c->scopes[k];
		r->scopes[k].base = r->n_addr;
		r->scopes[k].total = d->rt.snap->pools->pools[c->scopes[k]].total;
		r->n_addr += r->scopes[k].total;
	}
	r->af = calloc(r->n_addr ? r->n_addr : 1, 1);
	r->dirtyq = calloc(r->n_addr ? r->n_addr : 1, sizeof(*r->dirtyq));
	r->tofree = calloc(r->n_addr ? r->n_addr : 1, sizeof(*r->tofree));
	r->inq = calloc(IN_MAX, sizeof(*r->inq));
	if (r->af == NULL || r->dirtyq == NULL || r->tofree == NULL || r->inq == NULL) {
		cp_log(CP_LOG_ERR, "failover %s: out of memory for %" PRIu64 " addresses", r->name,
		       r->n_addr);
		return -1;
	}
	r->link = fo_link_new(&lc, err, sizeof(err));
	if (r->link == NULL) {
		cp_log(CP_LOG_ERR, "relationships[%u] (%s): %s", index, r->name, err);
		return -1;
	}
	have = load_state(d, r, &rec);
	if (have < 0) {
		return -1;
	}
	if (fo_state_init(&r->st, &sc, have ? &rec : NULL, wall_s(), &out) != 0) {
		cp_log(CP_LOG_ERR, "failover %s: the stored state is not valid; remove it with "
		       "care (the server then starts as RECOVER)", r->name);
		return -1;
	}
	r->published_svc = FO_SERVICE_NONE;
	cp_log(CP_LOG_INFO, "failover %s: %s, %s, %u scope(s), %" PRIu64 " addresses, MCLT %us, "
	       "partner %u.%u.%u.%u:%u, %s", r->name, fo_role_str(sc.role), fo_mode_str(sc.mode),
	       r->n_scopes, r->n_addr, sc.mclt, c->partner_addr >> 24,
	       (c->partner_addr >> 16) & 255, (c->partner_addr >> 8) & 255,
	       c->partner_addr & 255, c->partner_port,
	       have ? "state restored" : "no stored state (first start, or storage lost)");
	run_actions(d, r, &out);
	publish_view(d, r);
	persist_state(d, r);
	return 0;
}

static int unacked_cb(uint32_t addr, void *arg)
{
	struct cp_daemon *d = arg;
	const struct dp_scope *s = dp_config_scope_of(d->rt.snap->cfg, addr);

	if (s != NULL && s->fo_rel != 0) {
		for (uint32_t i = 0; i < FO->n; i++) {
			struct rel *r = &FO->rels[i];
			uint64_t idx;

			if (r->index + 1 == s->fo_rel &&
			    (idx = addr_index(d, r, addr)) != UINT64_MAX) {
				mark_dirty(r, idx);
			}
		}
	}
	return 0;
}

int cp_fo_start(struct cp_daemon *d)
{
	const struct dp_config *cfg = d->rt.snap->cfg;
	int rc;

	if (cfg->n_relationships == 0) {
		return 0;
	}
	FO = calloc(1, sizeof(*FO));
	if (FO == NULL || (FO->rels = calloc(cfg->n_relationships, sizeof(*FO->rels))) == NULL) {
		cp_log(CP_LOG_ERR, "failover: out of memory");
		return -1;
	}
	FO->n = cfg->n_relationships;
	for (uint32_t i = 0; i < FO->n; i++) {
		if (rel_start(d, &FO->rels[i], i) != 0) {
			return -1;
		}
	}
	rc = store_unacked_load(d->persist.store, unacked_cb, d);
	if (rc != 0) {
		cp_log(CP_LOG_ERR, "failover: cannot read the unacked updates: %s",
		       store_strerror(rc));
		return -1;
	}
	for (uint32_t i = 0; i < FO->n; i++) {
		if (FO->rels[i].dq_count > 0) {
			cp_log(CP_LOG_INFO, "failover %s: %" PRIu64 " update(s) the partner has not "
			       "acknowledged will be sent again", FO->rels[i].name,
			       FO->rels[i].dq_count);
		}
	}
	return 0;
}

void cp_fo_stop(struct cp_daemon *d)
{
	if (FO == NULL) {
		return;
	}
	for (uint32_t i = 0; i < FO->n; i++) {
		struct rel *r = &FO->rels[i];

		if (r->af != NULL && r->link != NULL) {
			persist_state(d, r);
		}
		if (r->n_unack_del > 0) {
			(void)unacked_flush(d, r);
		}
		fo_link_free(r->link);
		free(r->scopes);
		free(r->af);
		free(r->dirtyq);
		free(r->tofree);
		free(r->inq);
		if (d->rt.fo[r->index] != NULL) {
			struct dp_fo_view *v = d->rt.fo[r->index];

			rcu_assign_pointer(d->rt.fo[r->index], NULL);
			urcu_qsbr_call_rcu(&v->rcu, view_free);
		}
	}
	free(FO->rels);
	free(FO);
	FO = NULL;
}

bool cp_fo_active(const struct cp_daemon *d)
{
	(void)d;
	return FO != NULL;
}

int cp_fo_fds(struct cp_daemon *d, struct pollfd *out, int max)
{
	int n = 0;

	(void)d;
	for (uint32_t i = 0; FO != NULL && i < FO->n && n < max; i++) {
		n += fo_link_fds(FO->rels[i].link, out + n, max - n);
	}
	return n;
}

int cp_fo_timeout_ms(struct cp_daemon *d)
{
	uint64_t now = mono_ms(), w = wall_s();
	int t = -1;

	(void)d;
	for (uint32_t i = 0; FO != NULL && i < FO->n; i++) {
		struct rel *r = &FO->rels[i];
		uint64_t dl = fo_state_next_deadline(&r->st);
		int lt = fo_link_timeout_ms(r->link, now);

		if (dl != UINT64_MAX) {
			int st = dl <= w ? 0 : dl - w > 60 ? 60000 : (int)(dl - w) * 1000;

			lt = st < lt ? st : lt;
		}
		if ((r->dq_count > 0 && r->st.comm_ok && r->n_out < r->window) ||
		    r->in_count > 0 || r->pool_pending > 0 || FO->n_ops > 0) {
			lt = 1;
		}
		t = t < 0 || lt < t ? lt : t;
	}
	return t;
}

static void drain_tap(struct cp_daemon *d)
{
	uint32_t addrs[TAP_BATCH];
	uint64_t lost = committer_tap_lost(d->persist.committer);
	size_t n;

	if (lost != FO->tap_lost_seen) {
		FO->tap_lost_seen = lost;
		for (uint32_t i = 0; i < FO->n; i++) {
			cp_log(CP_LOG_WARN, "failover %s: the committer's tap overflowed: sending "
			       "every binding again", FO->rels[i].name);
			FO->rels[i].s.tap_lost_resends++;
			mark_all_dirty(&FO->rels[i], 0);
		}
	}
	while ((n = committer_tap_drain(d->persist.committer, addrs, TAP_BATCH)) > 0) {
		for (size_t j = 0; j < n; j++) {
			(void)unacked_cb(addrs[j], d);
		}
	}
}

void cp_fo_poll(struct cp_daemon *d)
{
	uint64_t now_ms, now;

	if (FO == NULL) {
		return;
	}
	drain_tap(d);
	ops_progress(d);
	now_ms = mono_ms();
	now = wall_s();
	for (uint32_t i = 0; i < FO->n; i++) {
		struct rel *r = &FO->rels[i];
		struct fo_state_output out;
		int n;

		/* Bounded: a partner streaming messages must not starve the rest of the loop
		 * (the socket keeps what is left for the next poll). */
		for (int round = 0; round < 8; round++) {
			n = fo_link_poll(r->link, now_ms, (uint32_t)now, FO->ev, EV_MAX);
			for (int j = 0; j < n; j++) {
				on_link_event(d, r, &FO->ev[j]);
			}
			if (n < EV_MAX) {
				break;
			}
		}
		fo_state_tick(&r->st, now, &out);
		run_actions(d, r, &out);
		if (fo_state_may_use_partner_pool(&r->st, now) != r->published_pp) {
			publish_view(d, r);
		}
		inq_progress(d, r);
		tofree_progress(d, r);
		if (r->role == FO_ROLE_PRIMARY && r->st.state == FO_STATE_NORMAL &&
		    r->pool_pending == 0 && now >= r->last_balance + BALANCE_EVERY) {
			pool_balance(d, r);
			r->last_balance = now;
		}
		if (r->pool_pending > 0) {
			pool_progress(d, r);
		}
		send_updates(d, r);
		maybe_upddone(d, r);
		if (r->n_unack_del > 0) {
			(void)unacked_flush(d, r);
		}
		if (now >= r->last_persist + PERSIST_EVERY) {
			persist_state(d, r);
		}
	}
}

/* --- operator ----------------------------------------------------------------------- */

static struct rel *rel_by_name(const char *name)
{
	for (uint32_t i = 0; FO != NULL && i < FO->n; i++) {
		if (strcmp(FO->rels[i].name, name) == 0) {
			return &FO->rels[i];
		}
	}
	return NULL;
}

int cp_fo_command(struct cp_daemon *d, const char *name, enum cp_fo_cmd cmd, char *err,
		  size_t errlen)
{
	struct rel *r = rel_by_name(name);
	struct fo_state_event ev = {.now = wall_s()};
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
		mark_all_dirty(r, 0);
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
	run_actions(d, r, &out);
	return 0;
}

static json_t *rel_status(struct cp_daemon *d, struct rel *r)
{
	const struct fo_link_stats *ls = fo_link_stats(r->link);
	uint64_t unacked = 0;

	(void)d;
	for (uint64_t i = 0; i < r->n_addr; i++) {
		unacked += (r->af[i] & F_UNACKED) != 0;
	}
	return json_pack(
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
				      "s:I}",
				      "bndupd-sent", (json_int_t)r->s.bndupd_tx,
				      "bndupd-received", (json_int_t)r->s.bndupd_rx,
				      "bndack-sent", (json_int_t)r->s.bndack_tx,
				      "bndack-received", (json_int_t)r->s.bndack_rx,
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
}

json_t *cp_fo_status(struct cp_daemon *d, const char *name)
{
	json_t *l = json_array();

	for (uint32_t i = 0; FO != NULL && i < FO->n; i++) {
		if (name == NULL || strcmp(name, FO->rels[i].name) == 0) {
			json_array_append_new(l, rel_status(d, &FO->rels[i]));
		}
	}
	if (name != NULL && json_array_size(l) == 0) {
		json_decref(l);
		return NULL;
	}
	return l;
}
