/*
 * dp_config: lookups over one immutable configuration snapshot.
 *
 * Everything here reads a snapshot that controlplane/config.c built and validated, so the
 * invariants documented in dp_config.h hold (sorted ranges, exclusions inside ranges,
 * reservations sorted by key, res_by_addr sorted by address, options sorted by code). No
 * function allocates except dp_config_free() releasing memory, and every lookup is safe to
 * call from any worker under the snapshot's RCU read side.
 *
 * Scope selection is linear in the number of scopes. That is fine for the handful of scopes
 * a lab or a branch office has, but it runs per packet: the plan for large sites is to build,
 * at load time, one array of all scope subnets sorted by network address (subnets never
 * overlap, so a binary search finds the only candidate) plus one sorted array of every relay
 * address with its scope index, and a per-interface bound-scope index in struct dp_iface.
 * That needs new snapshot fields, so it waits until a profile shows the scan.
 */
#include "dp_config.h"

#include <stdlib.h>
#include <string.h>

static void optlist_free(struct dp_optlist *l)
{
	if (l->v == NULL) {
		return;
	}
	for (uint32_t i = 0; i < l->n; i++) {
		free(l->v[i].data);
	}
	free(l->v);
}

static void policies_free(struct dp_policy *v, uint32_t n)
{
	if (v == NULL) {
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t k = 0; v[i].conds != NULL && k < v[i].n_conds; k++) {
			free(v[i].conds[k].values);
		}
		free(v[i].conds);
		free(v[i].ranges);
		optlist_free(&v[i].opts);
	}
	free(v);
}

/* Tolerates a half-built scope: the parser sets every count together with its array. */
static void scope_free(struct dp_scope *s)
{
	free(s->ranges);
	free(s->exclusions);
	if (s->reservations != NULL) {
		for (uint32_t i = 0; i < s->n_reservations; i++) {
			optlist_free(&s->reservations[i].opts);
		}
		free(s->reservations);
	}
	free(s->res_by_addr);
	free(s->relays);
	optlist_free(&s->opts);
	policies_free(s->policies, s->n_policies);
	free(s->pol_ranges);
	free(s->pol_of_range);
}

void dp_config_free(struct dp_config *c)
{
	if (c == NULL) {
		return;
	}
	if (c->scopes != NULL) {
		for (uint32_t i = 0; i < c->n_scopes; i++) {
			scope_free(&c->scopes[i]);
		}
		free(c->scopes);
	}
	for (uint32_t i = 0; c->relationships != NULL && i < c->n_relationships; i++) {
		free(c->relationships[i].scopes);
	}
	free(c->relationships);
	for (uint32_t i = 0; c->superscopes != NULL && i < c->n_superscopes; i++) {
		free(c->superscopes[i].members);
	}
	free(c->superscopes);
	free(c->mgmt_partners);
	optlist_free(&c->opts);
	policies_free(c->policies, c->n_policies);
	free(c->mac_allow);
	free(c->mac_deny);
	free(c->relay_allow);
	free(c->ports);
	free(c->ifaces);
	free(c);
}

int64_t dp_range_find(const struct dp_range *v, uint32_t n, uint32_t addr)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (addr < v[mid].first) {
			hi = mid;
		} else if (addr > v[mid].last) {
			lo = mid + 1;
		} else {
			return mid;
		}
	}
	return -1;
}

static bool range_search(const struct dp_range *v, uint32_t n, uint32_t addr)
{
	return dp_range_find(v, n, addr) >= 0;
}

bool dp_config_relay_allowed(const struct dp_config *c, uint32_t src)
{
	return c->n_relay_allow == 0 || range_search(c->relay_allow, c->n_relay_allow, src);
}

uint64_t dp_config_capacity(const struct dp_config *c)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		const struct dp_scope *s = &c->scopes[i];

		for (uint32_t j = 0; j < s->n_ranges; j++) {
			n += (uint64_t)s->ranges[j].last - s->ranges[j].first + 1;
		}
		/* Exclusions lie inside the ranges and are never bound. */
		for (uint32_t j = 0; j < s->n_exclusions; j++) {
			n -= (uint64_t)s->exclusions[j].last - s->exclusions[j].first + 1;
		}
		/* A reserved address inside a range is already counted (it is never excluded). */
		for (uint32_t j = 0; j < s->n_reservations; j++) {
			if (!range_search(s->ranges, s->n_ranges, s->reservations[j].addr)) {
				n++;
			}
		}
	}
	return n;
}

bool dp_scope_in_pool(const struct dp_scope *s, uint32_t addr)
{
	return range_search(s->ranges, s->n_ranges, addr) &&
	       !range_search(s->exclusions, s->n_exclusions, addr);
}

bool dp_scope_contains(const struct dp_scope *s, uint32_t addr)
{
	if ((addr & s->mask) != s->subnet) {
		return false;
	}
	return addr != s->subnet && addr != (s->subnet | ~s->mask);
}

int dp_client_key_cmp(const struct dp_client_key *a, const struct dp_client_key *b)
{
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	if (a->len != b->len) {
		return a->len < b->len ? -1 : 1;
	}
	return memcmp(a->data, b->data, a->len);
}

const struct dp_reservation *dp_scope_find_reservation_key(const struct dp_scope *s,
							   const struct dp_client_key *key)
{
	uint32_t lo = 0, hi = s->n_reservations;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = dp_client_key_cmp(key, &s->reservations[mid].key);

		if (r < 0) {
			hi = mid;
		} else if (r > 0) {
			lo = mid + 1;
		} else {
			return &s->reservations[mid];
		}
	}
	return NULL;
}

const struct dp_reservation *dp_scope_find_reservation_addr(const struct dp_scope *s,
							    uint32_t addr)
{
	uint32_t lo = 0, hi = s->n_reservations;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct dp_reservation *r = &s->reservations[s->res_by_addr[mid]];

		if (addr < r->addr) {
			hi = mid;
		} else if (addr > r->addr) {
			lo = mid + 1;
		} else {
			return r;
		}
	}
	return NULL;
}

const struct dp_option *dp_optlist_find(const struct dp_optlist *l, uint8_t code)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (code < l->v[mid].code) {
			hi = mid;
		} else if (code > l->v[mid].code) {
			lo = mid + 1;
		} else {
			return &l->v[mid];
		}
	}
	return NULL;
}

static bool u32_search(const uint32_t *v, uint32_t n, uint32_t x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (x < v[mid]) {
			hi = mid;
		} else if (x > v[mid]) {
			lo = mid + 1;
		} else {
			return true;
		}
	}
	return false;
}

/*
 * An explicit relay address wins over subnet containment: a relay agent (or perfdhcp) often
 * sources its giaddr from an address that lies inside some other served subnet, and the
 * operator listed it precisely to steer those requests. The parser guarantees that a relay
 * address is listed by at most one scope and that subnets do not overlap, so the answer is
 * unique either way. Linear for now; see the plan at the top of this file.
 */
const struct dp_scope *dp_config_scope_by_relay(const struct dp_config *c, uint32_t giaddr)
{
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		const struct dp_scope *s = &c->scopes[i];

		if (s->n_relays != 0 && u32_search(s->relays, s->n_relays, giaddr)) {
			return s;
		}
	}
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		const struct dp_scope *s = &c->scopes[i];

		if ((giaddr & s->mask) == s->subnet) {
			return s;
		}
	}
	return NULL;
}

/* dp_config_scope_by_iface() by a scan of the scopes (@p iface < c->n_ifaces). */
static const struct dp_scope *scope_by_iface_scan(const struct dp_config *c, uint32_t iface)
{
	uint32_t addr;

	for (uint32_t i = 0; i < c->n_scopes; i++) {
		if (c->scopes[i].interface == (int32_t)iface) {
			return &c->scopes[i];
		}
	}
	addr = c->ifaces[iface].addr;
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		const struct dp_scope *s = &c->scopes[i];

		if ((addr & s->mask) == s->subnet) {
			return s;
		}
	}
	return NULL;
}

const struct dp_scope *dp_config_scope_by_iface(const struct dp_config *c, uint32_t iface)
{
	if (iface >= c->n_ifaces) {
		return NULL;
	}
	if (c->generation != 0) {
		return c->iface_scope[iface] >= 0 ? &c->scopes[c->iface_scope[iface]] : NULL;
	}
	return scope_by_iface_scan(c, iface);
}

void dp_config_index(struct dp_config *c)
{
	for (uint32_t i = 0; i < DP_MAX_IFACES; i++) {
		const struct dp_scope *s = i < c->n_ifaces ? scope_by_iface_scan(c, i) : NULL;

		c->iface_scope[i] = s != NULL ? (int32_t)(s - c->scopes) : -1;
	}
}

/* At most DP_MAX_IFACES entries, usually a few: a scan beats any index here. */
int dp_config_iface_find(const struct dp_config *c, uint16_t port, uint16_t vlan)
{
	for (uint32_t i = 0; i < c->n_ifaces; i++) {
		if (c->ifaces[i].port == port && c->ifaces[i].vlan == vlan) {
			return (int)i;
		}
	}
	return -1;
}

const struct dp_scope *dp_config_scope_of(const struct dp_config *c, uint32_t addr)
{
	/* Subnets never overlap (validated), so the first match is the only one. */
	for (uint32_t i = 0; i < c->n_scopes; i++) {
		if ((addr & c->scopes[i].mask) == c->scopes[i].subnet) {
			return &c->scopes[i];
		}
	}
	return NULL;
}
