/*
 * fo_run_base.c: what every part of the control plane's failover uses: the clock, the index
 * of a relationship's addresses (scope k's rank r is index base[k] + r) with the per-address
 * slots the workers read (peer_pet, fo_hold), and sending a message or a BNDACK.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fo_run.h"
#include "log.h"

uint64_t fo_run_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

uint32_t fo_run_clamp32(uint64_t t)
{
	return t > FO_LEASE_TIME_MAX ? (uint32_t)FO_LEASE_TIME_MAX : (uint32_t)t;
}

static const struct dp_pool *rel_pool(struct cp_fo *f, const struct rel *r, uint32_t k)
{
	return &f->rt->snap->pools->pools[r->scopes[k].scope];
}

/* Index of @p addr in @p r, or UINT64_MAX. */
uint64_t fo_run_addr_index(struct cp_fo *f, const struct rel *r, uint32_t addr)
{
	for (uint32_t k = 0; k < r->n_scopes; k++) {
		uint64_t rank;

		if (dp_pool_rank(rel_pool(f, r, k), addr, &rank)) {
			return r->scopes[k].base + rank;
		}
	}
	return UINT64_MAX;
}

/* Position in r->scopes of the scope holding index @p idx. */
static uint32_t idx_scope(const struct rel *r, uint64_t idx)
{
	uint32_t k = 0;

	while (k + 1 < r->n_scopes && idx >= r->scopes[k + 1].base) {
		k++;
	}
	return k;
}

/* Address and scope of index @p idx. */
uint32_t fo_run_index_addr(struct cp_fo *f, const struct rel *r, uint64_t idx, uint32_t *k)
{
	const struct dp_pool *p;
	uint64_t rank;

	*k = idx_scope(r, idx);
	p = rel_pool(f, r, *k);
	rank = idx - r->scopes[*k].base;
	for (uint32_t i = 0; i < p->n_ranges; i++) {
		if (rank < p->before[i] + (uint64_t)(p->ranges[i].last - p->ranges[i].first) + 1) {
			return p->ranges[i].first + (uint32_t)(rank - p->before[i]);
		}
	}
	return 0;
}

static _Atomic uint32_t *peer_pet_slot(struct cp_fo *f, const struct rel *r, uint64_t idx)
{
	uint32_t k = idx_scope(r, idx);
	const struct dp_pool *p = rel_pool(f, r, k);

	return p->peer_pet == NULL ? NULL : &p->peer_pet[idx - r->scopes[k].base];
}

_Atomic uint8_t *fo_run_hold_slot(struct cp_fo *f, uint32_t addr)
{
	const struct dp_snapshot *snap = f->rt->snap;
	const struct dp_scope *s = dp_config_scope_of(snap->cfg, addr);
	const struct dp_pool *p;
	uint64_t rank;

	if (s == NULL || s->index >= snap->pools->n_scopes) {
		return NULL;
	}
	p = &snap->pools->pools[s->index];
	return p->fo_hold != NULL && dp_pool_rank(p, addr, &rank) ? &p->fo_hold[rank] : NULL;
}

bool fo_run_peer_pet_raise(struct cp_fo *f, const struct rel *r, uint64_t idx, uint64_t pet)
{
	_Atomic uint32_t *slot = peer_pet_slot(f, r, idx);

	if (slot != NULL && pet > atomic_load_explicit(slot, memory_order_relaxed)) {
		atomic_store_explicit(slot, fo_run_clamp32(pet), memory_order_relaxed);
		return true;
	}
	return false;
}

void fo_run_peer_pet_clear(struct cp_fo *f, const struct rel *r, uint64_t idx)
{
	_Atomic uint32_t *slot = peer_pet_slot(f, r, idx);

	if (slot != NULL) {
		atomic_store_explicit(slot, 0, memory_order_relaxed);
	}
}

void fo_run_send_or_log(struct rel *r, struct fo_msg *m, bool xid_given, uint32_t xid)
{
	int rc = xid_given ? fo_link_send_xid(r->link, m, xid) : fo_link_send(r->link, m);

	if (rc != 0 && rc != -ENOTCONN) {
		cp_log(CP_LOG_WARN, "failover %s: sending %s: %s", r->name,
		       fo_msg_type_str(m->type), rc < -1000 ? fo_err_str(rc) : strerror(-rc));
	}
}

void fo_run_send_bndack(struct rel *r, uint32_t xid, uint32_t addr, uint8_t reject,
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
	fo_run_send_or_log(r, &m, true, xid);
}
